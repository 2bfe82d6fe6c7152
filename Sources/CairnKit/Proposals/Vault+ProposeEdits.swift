import CairnGit
import Foundation

/// One change a client asks for by hand (not computed by an agent): create, replace (all of a file or a line
/// range), append to or delete a file, optionally based on the version of the file the client read.
public struct EditRequest: Sendable, Hashable, Codable {
    public enum Action: String, Sendable, Codable, CaseIterable { case create, replace, append, delete }

    /// Vault-relative path, as the client gave it (normalized and checked by `PathGuard` and policy).
    public var path: String
    public var action: Action
    /// The new text: the whole file (create, replace), the lines that replace `lines`, or what is appended.
    public var content: String?
    /// For replace: the 1-based inclusive line range the content replaces; nil replaces the whole file.
    public var lines: ClosedRange<Int>?
    /// The blob id of the version the client read. When main has another version (or none), the proposal is
    /// made from the commit that had the one read and is therefore stale: approve refuses it. A create always
    /// expects the file to be absent.
    public var expectedBlob: String?

    public init(path: String, action: Action, content: String? = nil, lines: ClosedRange<Int>? = nil, expectedBlob: String? = nil) {
        self.path = path
        self.action = action
        self.content = content
        self.lines = lines
        self.expectedBlob = expectedBlob
    }

    /// The most text one request may carry: a note, not a data dump.
    public static let maxContentBytes = 1 << 20
}

/// A precondition that did not hold: the client read `expected` (nil: the file did not exist), main has `current`.
public struct StalePrecondition: Sendable, Hashable, Codable, CustomStringConvertible {
    public let path: String
    public let expected: String?
    public let current: String?

    /// What changed, without the path.
    public var reason: String {
        let read = expected.map { "version \($0.prefix(10))" } ?? "no such file"
        let now = current.map { "version \($0.prefix(10))" } ?? "no such file"
        return "the edit is based on \(read), but \(now) is current (it was changed meanwhile)"
    }

    public var description: String { "\(path): \(reason)" }
}

/// What `proposeEdits` did: the run (one commit, as for any agent) and the preconditions that did not hold.
public struct EditProposalResult: Sendable, Codable {
    public let run: AgentRunResult
    /// Non-empty when the proposal is stale: it is kept for the operator to see, but approve refuses it.
    public let stale: [StalePrecondition]
}

extension PolicyFinding.Rule {
    /// A precondition of an explicit edit did not hold: the file changed since the client read it. Needs review
    /// (and approve refuses the proposal, since main changed the file after its base).
    public static let stale = "stale"
}

/// Why a set of edits was refused before anything was written.
public enum EditRequestError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The request itself is wrong (no edits, missing content, a bad line range, binary or oversized content…).
    case invalid(String)
    /// Policy refuses the edits (protected path, outside the writable folders, a credential, a symbolic link…).
    case refused([PolicyFinding])
    /// The version the client read (nil: no file) was never on main in the commits looked at.
    case unknownVersion(path: String, blob: String?)

    public var description: String {
        switch self {
        case .invalid(let reason): return reason
        case .refused(let findings):
            return "refused by policy; nothing was written: " + findings.map(\.description).joined(separator: "; ")
        case .unknownVersion(let path, nil):
            return "\(path) already exists; read it (read_note) and replace it, giving the blob id read as expected_blob"
        case .unknownVersion(let path, let blob?):
            return "\(path): version \(blob) is not one that main has had; read the note again and propose from that version"
        }
    }
}

extension Vault {
    /// The agent identity a client outside the vault (an MCP client, `mcp:<client>`) proposes as: it reads every
    /// note and may write notes (`memory/`, `inbox/`); protected paths, the secret scan, size gates, quotas and the
    /// breaker apply as to any agent. Its autonomy is the policy's `autonomy.default`: advisory in a new vault;
    /// with `auto`, earned by consecutive approvals like any agent's.
    public static func clientAgent(named name: String) -> AgentDefinition {
        AgentDefinition(name: name, path: "(client \(name))", kind: .builtin, description: "edits proposed by \(name)", command: [],
                        builtin: nil, reads: ["**"], writes: ["memory/**", "inbox/**"], autonomy: .advisory,
                        autonomyIsExplicit: false, timeout: AgentDefinition.defaultTimeout, model: nil, fallbackModel: nil,
                        instructions: "")
    }

    /// Proposes `requests` as one agent run of `agent` (a `clientAgent`): snapshots the operator's edits of those
    /// files, checks quotas and policy, and records one commit on `proposals/<run-id>` with its run record and
    /// trailers, exactly as an agent run (the same commit path: `commitRun`).
    ///
    /// Requests that are malformed or that policy blocks throw and write nothing (beyond the snapshot of the
    /// operator's own edits). A request whose `expectedBlob` is not main's version is based on the newest commit
    /// that had that version: the proposal is stale, says so in its record, and approve refuses it — never an
    /// overwrite. Main and the working tree are untouched.
    public func proposeEdits(_ requests: [EditRequest], agent: AgentDefinition, summary: String?, rationale: String? = nil,
                             input: [String: String] = [:], author: OperatorIdentity,
                             clock: @escaping @Sendable () -> Date) throws -> EditProposalResult {
        // Everything that can be judged without the repository, first: nothing is written for a bad request.
        guard !requests.isEmpty else { throw EditRequestError.invalid("no edits given; give at least one") }
        var paths: [String] = []
        var pathFindings: [PolicyFinding] = []
        for r in requests {
            try Self.checkRequest(r)
            do { paths.append(try PathGuard.normalize(r.path)) } catch {
                pathFindings.append(PolicyFinding(rule: PolicyFinding.Rule.path, path: r.path, message: error.reason))
            }
        }
        if !pathFindings.isEmpty { throw EditRequestError.refused(pathFindings) }

        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        let started = clock()
        try prepareForWrite(now: started)
        let policy = try loadPolicy()
        try checkRunLimits(agent: agent.name, workflow: nil, policy: policy, now: started)
        var scoped = SnapshotOptions()
        scoped.paths = Self.scopeFolders(paths)
        _ = try snapshotLocked(scoped, author: author, now: started)
        guard let head = try head() else { throw VaultError.invalidArgument("\(branch) has no commit yet; run `cairn snapshot` first") }
        let headTree = try repository.commit(head).tree
        // Where and what may be written, judged on main first, so that a refused path or a credential is reported
        // as such whatever the preconditions say.
        let early = PolicyGate(policy: policy).evaluate(
            edits: requests.map { $0.action == .delete ? .delete($0.path) : .write($0.path, $0.content ?? "") }, agent: agent,
            base: BaseSnapshot(repository: repository, commit: head, tree: headTree))
        if early.isBlocked { throw EditRequestError.refused(early.blocked) }

        // Preconditions: the version each edit is based on, against main.
        var expected: [String: String?] = [:]  // path → blob read (nil: absent)
        var stale: [StalePrecondition] = []
        for (r, path) in zip(requests, paths) {
            let want: String?? = r.action == .create ? .some(nil) : r.expectedBlob.map { .some($0.lowercased()) }
            guard let want else { continue }
            let current = try repository.entry(at: path, in: headTree).flatMap { $0.kind == .tree ? nil : $0.oid.hex }
            if current != want { stale.append(StalePrecondition(path: path, expected: want, current: current)) }
            expected[path] = want
        }
        let baseCommit = stale.isEmpty ? head : try staleBase(head: head, expected: expected, stale: stale)
        let base = BaseSnapshot(repository: repository, commit: baseCommit, tree: try repository.commit(baseCommit).tree)

        var edits: [ProposedEdit] = []
        for (r, path) in zip(requests, paths) { edits.append(try Self.edit(for: r, path: path, base: base)) }
        let verdict = PolicyGate(policy: policy).evaluate(edits: edits, agent: agent, base: base)
        if verdict.isBlocked { throw EditRequestError.refused(verdict.blocked) }

        let runID = RunID.make(agent: agent.name, now: started)
        let record = RunRecord(run: runID, agent: agent.name, kind: "client", base: baseCommit.hex, workflow: nil,
                               startedAt: ISOTime.string(started), finishedAt: "", durationMs: 0, input: input,
                               retrieval: [], command: nil, model: nil, outcome: .failed, failure: nil, summary: "",
                               policy: nil, edits: [], ref: nil)
        let review = stale.map {
            PolicyFinding(rule: PolicyFinding.Rule.stale, path: $0.path, message: $0.reason
                          + "; approving would overwrite that change, so approve refuses — reject it and propose again")
        }
        let subject = summary.map { $0.split(separator: "\n").first.map(String.init) ?? "" }.flatMap { $0.isEmpty ? nil : $0 }
            ?? Self.describe(requests, paths: paths)
        var body = rationale ?? ""
        if !stale.isEmpty {
            body += (body.isEmpty ? "" : "\n\n") + "Stale: " + stale.map(\.description).joined(separator: "; ")
        }
        let run = try commitRun(record: record, edits: edits, summary: String(subject.prefix(200)), rationale: body, agent: agent,
                                base: base, policy: policy, workflow: nil, input: input, review: review, author: author,
                                started: started, clock: clock)
        return EditProposalResult(run: run, stale: stale)
    }

    /// Refuses what no vault state can make valid.
    static func checkRequest(_ r: EditRequest) throws {
        let name = r.path.isEmpty ? "(empty path)" : PolicyGate.display(r.path)
        switch r.action {
        case .delete:
            if r.content != nil { throw EditRequestError.invalid("\(name): a delete takes no content") }
        case .create, .replace, .append:
            guard let content = r.content else { throw EditRequestError.invalid("\(name): \(r.action.rawValue) needs content") }
            if content.utf8.count > EditRequest.maxContentBytes {
                throw EditRequestError.invalid("\(name): content is \(content.utf8.count) bytes, more than the \(EditRequest.maxContentBytes) a note may have")
            }
            if content.utf8.contains(0) { throw EditRequestError.invalid("\(name): content has NUL bytes; notes are text, not binary data") }
        }
        if let lines = r.lines {
            guard r.action == .replace else { throw EditRequestError.invalid("\(name): a line range only goes with replace") }
            guard lines.lowerBound >= 1 else { throw EditRequestError.invalid("\(name): lines start at 1") }
        }
        if let blob = r.expectedBlob, OID(hex: blob) == nil {
            throw EditRequestError.invalid("\(name): '\(blob.prefix(80))' is not a blob id (40 hex digits, as read returns)")
        }
    }

    /// The file edit `request` makes to the base version of `path`.
    static func edit(for r: EditRequest, path: String, base: BaseSnapshot) throws -> ProposedEdit {
        let content = r.content ?? ""
        switch r.action {
        case .delete:
            guard base.file(path) != nil else { throw EditRequestError.invalid("\(path): no such file to delete") }
            return .delete(r.path)
        case .create:
            return .write(r.path, content)
        case .replace where r.lines == nil:
            guard base.file(path) != nil else { throw EditRequestError.invalid("\(path): no such file to replace; use create") }
            return .write(r.path, content)
        case .replace:
            guard let old = base.file(path), let range = r.lines else { throw EditRequestError.invalid("\(path): no such file to replace lines in") }
            var lines = String(decoding: old, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            let endsWithNewline = lines.last == ""
            if endsWithNewline { lines.removeLast() }
            guard range.upperBound <= lines.count else {
                throw EditRequestError.invalid("\(path): has \(lines.count) lines; lines \(range.lowerBound)-\(range.upperBound) do not exist")
            }
            var replacement = content.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            if content.hasSuffix("\n") { replacement.removeLast() }
            lines.replaceSubrange((range.lowerBound - 1)...(range.upperBound - 1), with: replacement)
            return .write(r.path, lines.joined(separator: "\n") + (endsWithNewline || lines.isEmpty ? "\n" : ""))
        case .append:
            guard var old = base.file(path) else { throw EditRequestError.invalid("\(path): no such file to append to; use create") }
            if !old.isEmpty && old.last != 0x0A { old.append(0x0A) }
            old.append(Data(content.utf8))
            return .write(r.path, old)
        }
    }

    /// The newest commit of main's first-parent history where every stale path has the version the client read.
    /// When none of the commits looked at has them all (the client read an edit that was never committed), the
    /// commit before main last changed one of them — either way main changed the file since, so the proposal is
    /// stale. Throws when a path never changed in that history (the client's blob id is not one of its versions).
    func staleBase(head: OID, expected: [String: String?], stale: [StalePrecondition]) throws -> OID {
        let limit = 10_000
        let current = Dictionary(uniqueKeysWithValues: stale.map { ($0.path, $0.current) })
        var fallback: OID? = nil
        var oid: OID? = head
        var seen = 0
        while let c = oid, seen < limit {
            seen += 1
            let commit = try repository.commit(c)
            var all = true, anyDiffers = false
            for s in stale {
                let here = try repository.entry(at: s.path, in: commit.tree).flatMap { $0.kind == .tree ? nil : $0.oid.hex }
                if here != (expected[s.path] ?? nil) { all = false }
                if here != current[s.path] ?? nil { anyDiffers = true }
            }
            if all { return c }
            if anyDiffers && fallback == nil { fallback = c }
            oid = commit.parents.first
        }
        if let fallback { return fallback }
        let first = stale[0]
        throw EditRequestError.unknownVersion(path: first.path, blob: first.expected)
    }

    /// "create memory/a.md", "edit 3 files"…
    static func describe(_ requests: [EditRequest], paths: [String]) -> String {
        if requests.count == 1, let r = requests.first, let p = paths.first {
            switch r.action {
            case .create: return "create \(p)"
            case .replace: return r.lines.map { "replace lines \($0.lowerBound)-\($0.upperBound) of \(p)" } ?? "replace \(p)"
            case .append: return "append to \(p)"
            case .delete: return "delete \(p)"
            }
        }
        return "edit \(requests.count) files"
    }
}
