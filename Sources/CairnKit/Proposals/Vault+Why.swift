import CairnGit
import Foundation

/// Where a line came from: the commit, and for agent work the run, its inputs and the approval that let it in.
public struct WhyResult: Sendable, Codable {
    public let path: String
    public let line: Int?
    public let text: String?
    public let commit: String
    public let summary: String
    public let date: Date
    public let actorKind: String
    public let actor: String
    public let run: String?
    public let agent: String?
    public let workflow: String?
    public let input: [String: String]?
    public let retrieval: [ContextItem]?
    public let model: String?
    public let approval: ApprovalRecord?
    /// For an outbox item (`outbox/<id>.md` or its record): every state it went through, with what was sent and when.
    public var outbox: OutboxRecord? = nil
}

extension Vault {
    /// Explains `path` (or one line of it) on main: blame → commit trailers → run record → approval record.
    public func why(path rawPath: String, line: Int?) throws -> WhyResult {
        let path = Self.normalizeRelative(rawPath)
        guard let main = try head() else { throw VaultError.invalidArgument("\(branch) has no commit yet") }
        let mainTree = try repository.commit(main).tree
        guard let entry = try repository.entry(at: path, in: mainTree), entry.kind != .tree else {
            throw VaultError.invalidArgument("\(path) is not a file on \(branch) (commit it first with `cairn snapshot`)")
        }
        var text: String? = nil
        let commitID: OID
        if let line {
            let content = String(decoding: try repository.blob(entry.oid), as: UTF8.self)
            let lines = content.split(separator: "\n", omittingEmptySubsequences: false)
            let count = content.hasSuffix("\n") ? lines.count - 1 : lines.count
            guard line >= 1, line <= count else {
                throw VaultError.invalidArgument("\(path) has \(count) lines; line \(line) does not exist")
            }
            text = String(lines[line - 1])
            guard let blamed = try repository.blame(path: path, line: line, newest: main) else {
                throw VaultError.invalidArgument("no history for \(path):\(line)")
            }
            commitID = blamed.commit
        } else {
            guard let last = try log(path: path, limit: 1).first, let oid = OID(hex: last.commit) else {
                throw VaultError.invalidArgument("no history for \(path)")
            }
            commitID = oid
        }
        var commit = try repository.commit(commitID)
        // A line merged by an approval came from the agent's proposal commit: explain that one (by its id after any
        // history rewrite).
        if ["approve", "auto-merge"].contains(commit.trailer("Cairn-Operation") ?? ""), let p = commit.trailer("Cairn-Proposal"),
           let recorded = OID(hex: p), let proposal = try rewrittenIDs().current(recorded), let pc = try? repository.commit(proposal),
           !path.hasPrefix("approvals/"), try repository.entry(at: path, in: pc.tree) != nil {
            commit = pc
        }
        let entryInfo = try self.entry(for: commit)
        let run = commit.trailer("Cairn-Run")
        let record = try run.flatMap { try runRecord(id: $0, in: commit.tree) }
        let approval = try run.flatMap { try decision(on: $0, mainTree: mainTree) ?? nil }
        var result = WhyResult(path: path, line: line, text: text, commit: commit.oid.hex, summary: commit.summary, date: commit.author.time,
                         actorKind: entryInfo.actorKind, actor: entryInfo.actor, run: run, agent: commit.trailer("Cairn-Agent"),
                         workflow: commit.trailer("Cairn-Workflow"), input: record?.input, retrieval: record?.retrieval,
                         model: record?.model?.model, approval: approval)
        if let id = Self.outboxID(path: path) { result.outbox = try outboxRecord(id, tree: mainTree) }
        return result
    }

    /// The outbox item id of `outbox/<id>.md` or `.cairn/outbox/<id>.json`.
    static func outboxID(path: String) -> String? {
        for (prefix, suffix) in [(OutboxItem.folder + "/", ".md"), (".cairn/outbox/", ".json")] where path.hasPrefix(prefix) && path.hasSuffix(suffix) {
            let id = String(path.dropFirst(prefix.count).dropLast(suffix.count))
            if !id.isEmpty && !id.contains("/") { return id }
        }
        return nil
    }
}
