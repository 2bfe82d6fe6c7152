import CairnGit
import Foundation

/// A pending proposal, as `cairn proposals` lists it.
public struct ProposalSummary: Sendable, Codable {
    public let id: String
    public let agent: String
    public let subject: String
    public let commit: String
    public let base: String
    public let createdAt: Date
    /// Files the proposal changes (the run record excluded).
    public let changes: [FileChange]
    public let stats: DiffStats
    /// Files main changed since the base that the proposal changes too: non-empty means approve will refuse.
    public let stalePaths: [String]
    /// Why policy wants the operator to look (size, core budget…).
    public let needsReview: [String]
}

/// A proposal with its diff and run record.
public struct ProposalReview: Sendable, Codable {
    public let proposal: ProposalSummary
    public let patch: String
    public let record: RunRecord?
}

/// What approve or reject did.
public struct DecisionResult: Sendable, Codable {
    public let id: String
    public let decision: ApprovalRecord.Decision
    /// The new commit on main.
    public let commit: String
    public let approvalRecord: String
    /// Working-tree files updated to the merged content.
    public let updatedFiles: [String]
    /// Files left alone because the operator had edited them (their edit is kept).
    public let keptOperatorEdits: [String]
    /// The snapshot of operator edits committed first, if any.
    public let snapshotCommit: String?
}

extension Vault {
    public static let failedPrefix = "refs/cairn/failed/"
    public static let archivePrefix = "refs/cairn/archive/"

    /// Pending proposals, oldest first.
    public func proposals() throws -> [ProposalSummary] {
        let mainTree = try head().map { try repository.commit($0).tree }
        var out: [ProposalSummary] = []
        for (name, target) in try repository.references(withPrefix: Self.proposalPrefix) {
            let id = String(name.dropFirst(Self.proposalPrefix.count))
            // Decided already (a crash between the decision and archiving the ref): not pending.
            if let mainTree, try repository.entry(at: ApprovalRecord.path(runID: id), in: mainTree) != nil { continue }
            out.append(try summary(id: id, commit: target))
        }
        return out.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    /// Resolves an id, a unique prefix or suffix of one, or nil for the oldest pending proposal.
    ///
    /// An id whose proposal was already decided throws `alreadyDecided` (or `conflictingDecision` when
    /// `requested` is the other decision).
    public func resolveProposal(_ id: String?, requested: ApprovalRecord.Decision? = nil) throws -> (id: String, commit: OID) {
        let refs = try repository.references(withPrefix: Self.proposalPrefix).map { (String($0.name.dropFirst(Self.proposalPrefix.count)), $0.target) }
        guard let id else {
            guard let oldest = try proposals().first, let oid = OID(hex: oldest.commit) else { throw ProposalError.nonePending }
            return (oldest.id, oid)
        }
        if let exact = refs.first(where: { $0.0 == id }) { return exact }
        if RunID.isValid(id), try repository.referenceTarget(Self.archivePrefix + id) != nil, let recorded = try decision(on: id) {
            try Self.throwDecided(id, recorded: recorded?.decision, requested: requested ?? recorded?.decision ?? .approved)
        }
        var matches = refs.filter { $0.0.hasPrefix(id) || $0.0.hasSuffix(id) }
        if matches.isEmpty {
            // An agent's name picks its one pending proposal.
            matches = refs.filter { (try? repository.commit($0.1).trailer("Cairn-Agent")) == id }
        }
        if matches.count == 1, let m = matches.first { return m }
        if matches.count > 1 { throw ProposalError.ambiguous(id, matches.map(\.0)) }
        throw ProposalError.unknown(id)
    }

    /// A proposal's diff against its base, and its run record.
    public func review(_ id: String?) throws -> ProposalReview {
        let (rid, commit) = try resolveProposal(id)
        let c = try repository.commit(commit)
        let base = try c.parents.first.map { try repository.commit($0).tree }
        let diff = try repository.diff(from: base, to: c.tree)
        // The run record is summarized separately; keep its JSON out of the patch.
        let patch = Self.dropFiles(from: try diff.patch(), paths: [RunRecord.path(runID: rid)])
        return ProposalReview(proposal: try summary(id: rid, commit: commit), patch: patch, record: try runRecord(id: rid, in: c.tree))
    }

    /// A unified patch without the sections of `paths`.
    static func dropFiles(from patch: String, paths: Set<String>) -> String {
        var out = ""
        var keep = true
        for line in patch.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("diff --git ") {
                keep = !paths.contains { line.hasSuffix(" b/\($0)") }
            }
            if keep { out += line + "\n" }
        }
        return out.hasSuffix("\n\n") ? String(out.dropLast()) : out
    }

    /// The run record stored in `tree`, nil when absent or unreadable.
    func runRecord(id: String, in tree: OID) throws -> RunRecord? {
        guard let e = try repository.entry(at: RunRecord.path(runID: id), in: tree) else { return nil }
        return try? RunRecord.decode(try repository.blob(e.oid))
    }

    func summary(id: String, commit: OID) throws -> ProposalSummary {
        let c = try repository.commit(commit)
        guard let baseID = c.parents.first else { throw ProposalError.malformed(id: id, reason: "the commit has no parent") }
        let baseTree = try repository.commit(baseID).tree
        let diff = try repository.diff(from: baseTree, to: c.tree)
        let recordPath = RunRecord.path(runID: id)
        let changes = Self.changes(of: diff).filter { $0.path != recordPath }
        let counts = try diff.lineCounts().filter { $0.path != recordPath }
        let stats = DiffStats(filesChanged: counts.count, insertions: counts.reduce(0) { $0 + $1.insertions },
                              deletions: counts.reduce(0) { $0 + $1.deletions })
        let record = try runRecord(id: id, in: c.tree)
        return ProposalSummary(id: id, agent: c.trailer("Cairn-Agent") ?? record?.agent ?? "?", subject: c.summary,
                               commit: commit.hex, base: baseID.hex, createdAt: c.committer.time, changes: changes,
                               stats: stats, stalePaths: try stalePaths(base: baseID, changes: changes),
                               needsReview: record?.policy?.needsReview.map(\.message) ?? [])
    }

    /// Paths the proposal changes that main also changed since `base`.
    func stalePaths(base: OID, changes: [FileChange]) throws -> [String] {
        guard let main = try head(), main != base else { return [] }
        let mainDiff = try repository.diff(from: try repository.commit(base).tree, to: try repository.commit(main).tree)
        var touched = Set<String>()
        for d in mainDiff.deltas { touched.insert(d.oldPath); touched.insert(d.newPath) }
        var out: [String] = []
        for c in changes {
            if touched.contains(c.path) || c.oldPath.map(touched.contains) == true { out.append(c.path) }
        }
        return out.sorted()
    }

    /// Merges a proposal into main with an approval record; the working tree follows without touching operator edits.
    ///
    /// Snapshots the operator's edits first. Refuses (writing nothing but that snapshot) when main changed the same
    /// files since the agent's base or the merge conflicts. The merge commit has the proposal as second parent,
    /// so `git log --first-parent main` lists only operator decisions and snapshots.
    public func approve(_ id: String, note: String?, author: OperatorIdentity, now: Date,
                        autoRule: String? = nil) throws -> DecisionResult {
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        try prepareForWrite(now: now)
        return try approveLocked(id, note: note, author: author, now: now, autoRule: autoRule)
    }

    func approveLocked(_ id: String, note: String?, author: OperatorIdentity, now: Date, autoRule: String?) throws -> DecisionResult {
        // Resolve first: an unknown or ambiguous id must write nothing, not even a snapshot.
        let (rid, proposal) = try resolveProposal(id, requested: .approved)
        try finishIfDecided(rid, commit: proposal, requested: .approved)
        let snap = try snapshotLocked(SnapshotOptions(), author: author, now: now)
        let p = try repository.commit(proposal)
        guard let baseID = p.parents.first else { throw ProposalError.malformed(id: rid, reason: "the commit has no parent") }
        guard let main = try head() else { throw ProposalError.malformed(id: rid, reason: "main has no commit") }
        let summary = try self.summary(id: rid, commit: proposal)
        if !summary.stalePaths.isEmpty { throw ProposalError.stale(id: rid, paths: summary.stalePaths, conflict: false) }
        let mainCommit = try repository.commit(main)
        var merged: OID
        let baseTree = try repository.commit(baseID).tree
        switch try repository.mergeTrees(ancestor: baseTree, ours: mainCommit.tree, theirs: p.tree) {
        case .merged(let tree): merged = tree
        case .conflicts(let paths): throw ProposalError.stale(id: rid, paths: paths, conflict: true)
        }
        // Links main gained since the base that lead to a file the proposal renames follow it too.
        let lateLinks = try linkUpdatesOnApproval(baseTree: baseTree, proposalTree: p.tree, merged: merged, mainMoved: main != baseID,
                                                  policy: (try? loadPolicy()) ?? .default)  // a broken policy.json never blocks a decision
        if let lateLinks { merged = lateLinks.tree }
        let decision: ApprovalRecord.Decision = autoRule == nil ? .approved : .autoApproved
        let record = ApprovalRecord(run: rid, agent: summary.agent, decision: decision, note: note,
                                    decidedBy: autoRule == nil ? "\(author.name) <\(author.email)>" : "policy",
                                    decidedAt: ISOTime.string(now), proposal: proposal.hex, base: baseID.hex,
                                    rule: autoRule, files: summary.changes.map(\.path), machine: machine)
        let recordPath = ApprovalRecord.path(runID: rid)
        let tree = try repository.updateTree(base: merged, changes: [
            .upsert(path: recordPath, oid: try repository.writeBlob(try record.encoded()), mode: TreeChange.fileMode)])
        let subject = (autoRule == nil ? "Approve " : "Auto-merge ") + Self.proposalTopic(p.summary)
        var trailers = [Trailer("Cairn-Operation", autoRule == nil ? "approve" : "auto-merge"), Trailer("Cairn-Run", rid),
                        Trailer("Cairn-Agent", summary.agent), Trailer("Cairn-Proposal", proposal.hex)]
        if let autoRule { trailers.append(Trailer("Cairn-Policy-Rule", autoRule)) }
        let body = [note ?? "", Self.linkUpdatesParagraph(lateLinks?.links ?? [], title: "Links updated on approval (written on \(branch) since the proposal's base)")]
            .filter { !$0.isEmpty }.joined(separator: "\n\n")
        let message = Trailer.message(subject: subject, body: body, trailers: trailers)
        let sig = Signature(name: author.name, email: author.email, time: now)
        let commit = try repository.createCommit(tree: tree, parents: [main, proposal], author: sig, committer: sig, message: message)
        let (updated, kept) = try moveMain(from: mainCommit, to: commit, newTree: tree, message: "cairn approve \(rid)", as: .approve)
        try archive(rid, commit: proposal, from: Self.proposalPrefix)
        return DecisionResult(id: rid, decision: decision, commit: commit.hex, approvalRecord: recordPath,
                              updatedFiles: updated, keptOperatorEdits: kept, snapshotCommit: snap.commit)
    }

    /// Records the operator's rejection on main and archives the proposal; its changes never reach main.
    public func reject(_ id: String, note: String?, author: OperatorIdentity, now: Date) throws -> DecisionResult {
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        try prepareForWrite(now: now)
        let (rid, proposal) = try resolveProposal(id, requested: .rejected)
        try finishIfDecided(rid, commit: proposal, requested: .rejected)
        let p = try repository.commit(proposal)
        guard let main = try head() else { throw ProposalError.malformed(id: rid, reason: "main has no commit") }
        let summary = try self.summary(id: rid, commit: proposal)
        let record = ApprovalRecord(run: rid, agent: summary.agent, decision: .rejected, note: note,
                                    decidedBy: "\(author.name) <\(author.email)>", decidedAt: ISOTime.string(now),
                                    proposal: proposal.hex, base: summary.base, rule: nil, files: summary.changes.map(\.path),
                                    machine: machine)
        let recordPath = ApprovalRecord.path(runID: rid)
        let mainCommit = try repository.commit(main)
        let tree = try repository.updateTree(base: mainCommit.tree, changes: [
            .upsert(path: recordPath, oid: try repository.writeBlob(try record.encoded()), mode: TreeChange.fileMode)])
        let message = Trailer.message(subject: "Reject " + Self.proposalTopic(p.summary), body: note ?? "",
                                      trailers: [Trailer("Cairn-Operation", "reject"), Trailer("Cairn-Run", rid),
                                                 Trailer("Cairn-Agent", summary.agent), Trailer("Cairn-Proposal", proposal.hex)])
        let sig = Signature(name: author.name, email: author.email, time: now)
        let commit = try repository.createCommit(tree: tree, parents: [main], author: sig, committer: sig, message: message)
        let (updated, kept) = try moveMain(from: mainCommit, to: commit, newTree: tree, message: "cairn reject \(rid)", as: .reject)
        try archive(rid, commit: proposal, from: Self.proposalPrefix)
        return DecisionResult(id: rid, decision: .rejected, commit: commit.hex, approvalRecord: recordPath,
                              updatedFiles: updated, keptOperatorEdits: kept, snapshotCommit: nil)
    }

    /// When main already holds the decision on `id` (a crash hit between recording it and archiving the
    /// branch), archives the branch and throws `alreadyDecided`.
    func finishIfDecided(_ id: String, commit: OID, requested: ApprovalRecord.Decision) throws {
        guard let recorded = try decision(on: id) else { return }
        try archive(id, commit: commit, from: Self.proposalPrefix)
        try Self.throwDecided(id, recorded: recorded?.decision, requested: requested)
    }

    /// The decision recorded on main for run `id`: nil when there is none; `.some(nil)` when a record exists
    /// but cannot be read (still decided, so it is never decided twice).
    func decision(on id: String, mainTree: OID? = nil) throws -> ApprovalRecord?? {
        guard let tree = try mainTree ?? head().map({ try repository.commit($0).tree }),
              let e = try repository.entry(at: ApprovalRecord.path(runID: id), in: tree) else { return nil }
        return .some(try? JSONDecoder().decode(ApprovalRecord.self, from: try repository.blob(e.oid)))
    }

    /// `alreadyDecided` when the recorded decision is the one asked for, `conflictingDecision` otherwise.
    static func throwDecided(_ id: String, recorded: ApprovalRecord.Decision?, requested: ApprovalRecord.Decision) throws -> Never {
        let name = recorded?.rawValue ?? "decided"
        let same = recorded == nil || (recorded == .rejected) == (requested == .rejected)
        if same { throw ProposalError.alreadyDecided(id: id, decision: name) }
        throw ProposalError.conflictingDecision(id: id, decision: name)
    }

    /// "Propose: archive 3 notes" → "archive 3 notes".
    static func proposalTopic(_ subject: String) -> String {
        subject.hasPrefix("Propose: ") ? String(subject.dropFirst("Propose: ".count)) : subject
    }

    /// Moves the proposal ref under `refs/cairn/archive/`.
    func archive(_ id: String, commit: OID, from prefix: String) throws {
        let archived = Self.archivePrefix + id
        if try repository.referenceTarget(archived) == nil {
            try repository.updateReference(archived, to: commit, expected: nil, message: "cairn: archive \(id)")
        }
        try repository.deleteReference(prefix + id, expected: commit)
    }
}
