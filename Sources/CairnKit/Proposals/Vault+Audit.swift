import CairnGit
import Foundation

/// One commit on main and how it is accounted for.
public struct AuditEntry: Sendable, Codable {
    public enum Verdict: String, Sendable, Codable {
        /// Written by cairn for the operator (init, snapshot, approve, reject).
        case `operator`
        /// An agent's commit that reached main through an approval (or a policy rule) recorded on main.
        case approvedAgent = "approved-agent"
        /// History from before the vault adopted the repository.
        case preVault = "pre-vault"
        /// Nothing accounts for it.
        case unattributed
    }
    public let commit: String
    public let summary: String
    public let author: String
    public let verdict: Verdict
    public let reason: String
}

/// The result of `cairn audit`.
public struct AuditReport: Sendable, Codable {
    public let checked: Int
    public let entries: [AuditEntry]
    public var problems: [AuditEntry] { entries.filter { $0.verdict == .unattributed } }
    public var clean: Bool { problems.isEmpty }
}

extension Vault {
    /// Walks main's history and proves every commit is attributable: an operator commit made through cairn,
    /// an agent run merged with its approval record (or the policy rule that allowed it), or history older than
    /// the vault. Anything else — a commit made by hand with git, an agent commit fast-forwarded into main — is
    /// reported. Reads only.
    public func audit(limit: Int = .max) throws -> AuditReport {
        guard let tip = try head() else { return AuditReport(checked: 0, entries: []) }
        // Agent commits that a decision on main let in: proposal commit → (run, decision).
        // Records name the proposal commit as it was when decided; a prune or forget since may have changed its id.
        var approvedProposals: [OID: String] = [:]
        let rewritten = try rewrittenIDs()
        for r in try approvalRecords() where r.decision != .rejected {
            if let recorded = OID(hex: r.proposal), let oid = rewritten.current(recorded) { approvedProposals[oid] = "\(r.decision.rawValue) in \(ApprovalRecord.path(runID: r.run))" + (r.rule.map { " (rule: \($0))" } ?? "") }
        }
        // The adoption point: the oldest commit with `Cairn-Operation: init`; older commits are pre-vault.
        var entries: [AuditEntry] = []
        let walk = try RevWalk(repository)
        try walk.push(tip)
        var seenInit = false
        var commits: [Commit] = []
        while let oid = try walk.next(), commits.count < limit { commits.append(try repository.commit(oid)) }
        let obsidianGit = ObsidianGitCommits(root: root, commits: commits)
        // Walk oldest first so we know whether the vault existed yet.
        for c in commits.reversed() {
            let op = c.trailer("Cairn-Operation")
            let run = c.trailer("Cairn-Run")
            let author = "\(c.author.name) <\(c.author.email)>"
            let verdict: AuditEntry.Verdict
            let reason: String
            if op == "init" {
                seenInit = true
                verdict = .operator; reason = "vault created or adopted by cairn init"
            } else if !seenInit {
                verdict = .preVault; reason = "history from before the vault was adopted"
            } else if op == "squash" {
                verdict = .operator
                reason = "\(c.trailer("Cairn-Squashed") ?? "?") agent and tick commits of \(c.trailer("Cairn-Day") ?? "one day") squashed by retention "
                    + "(their approval records are in the files)"
            } else if op == "outbox", let id = c.trailer("Cairn-Outbox"),
                      try repository.entry(at: OutboxItem.folder + "/" + id + ".md", in: c.tree) == nil {
                // A send is accounted for only by its item on main, which got there through an approval or a snapshot.
                verdict = .unattributed; reason = "outbox \(id) \(c.trailer("Cairn-Outbox-State") ?? "") for an item that is not on \(branch) (never approved)"
            } else if let op, ["snapshot", "workflow-task", "emit", "tick", "connector", "outbox", "sync", "move"].contains(op) {
                verdict = .operator
                reason = ["snapshot": "operator snapshot", "workflow-task": "task note for the operator from a workflow run",
                          "emit": "event recorded by cairn emit", "tick": "digest written by cairn tick",
                          "connector": "items pulled by connector \(c.trailer("Cairn-Connector") ?? "?")",
                          "outbox": "outbox \(c.trailer("Cairn-Outbox") ?? "?") \(c.trailer("Cairn-Outbox-State") ?? "")",
                          "sync": "merge of another machine's history by cairn sync",
                          "move": "file moved by the operator with cairn mv, links updated"][op] ?? op
            } else if let op, ["approve", "auto-merge", "reject"].contains(op) {
                let recordPath = run.map { ApprovalRecord.path(runID: $0) }
                let hasRecord = try recordPath.map { try repository.entry(at: $0, in: c.tree) != nil } ?? false
                if !hasRecord {
                    verdict = .unattributed; reason = "\(op) commit without its approval record"
                } else if op != "reject", c.parents.count == 2, let p = c.parents.last, approvedProposals[p] == nil {
                    verdict = .unattributed; reason = "merges \(p.short()) which no approval record names"
                } else {
                    verdict = .operator; reason = op == "auto-merge" ? "merged by policy, recorded in \(recordPath ?? "")" : "operator decision, recorded in \(recordPath ?? "")"
                }
            } else if op == nil, run == nil, let kind = obsidianGit.kind(of: c) {
                verdict = .operator
                reason = kind == .backup ? "backup commit by Obsidian's git plugin (obsidian-git), authored by the operator"
                    : "merge of a pull by Obsidian's git plugin (obsidian-git), authored by the operator"
            } else if run != nil, let why = approvedProposals[c.oid] {
                verdict = .approvedAgent; reason = "agent run \(run ?? ""), \(why)"
            } else if run != nil {
                verdict = .unattributed; reason = "agent run \(run ?? "") reached \(branch) without an approval record"
            } else {
                verdict = .unattributed; reason = "made outside cairn (no Cairn trailers); commit edits with `cairn snapshot`"
            }
            entries.append(AuditEntry(commit: c.oid.hex, summary: c.summary, author: author, verdict: verdict, reason: reason))
        }
        return AuditReport(checked: entries.count, entries: entries.reversed())
    }
}
