import CairnGit
import Foundation

/// The links a proposal's renames called for: what `commitRun` adds to the proposal besides the agent's edits.
struct ProposalLinkUpdates {
    /// Files rewritten (only the path part of links changed), in path order.
    var rewrites: [Vault.LinkRewrite] = []
    /// Why the operator should look: links left in protected notes, more notes than `review.max_files`.
    var findings: [PolicyFinding] = []
}

extension Vault {
    /// The link rewrites for the renames and moves in a proposal, as `cairn mv` makes them (`linkRewrites`).
    ///
    /// A rename is a file of `base` the proposal deletes and a file it writes with at least half the same content
    /// (git's rename rule, `git diff -M`), so an agent that renames a note and edits it at once is followed too.
    /// `edited` is `base` with the agent's edits. The rewrites may fall outside the agent's `writes:` — they are
    /// cairn's, not the agent's, and are listed apart — but never touch a protected path: a link left in one is
    /// a finding for review, as is a rename that rewrites more notes than `review.max_files`. Empty when the policy
    /// turns it off (`links.update_on_rename: false`) or nothing was renamed.
    func proposalLinkUpdates(base: OID, edited: OID, policy: Policy) throws -> ProposalLinkUpdates {
        guard policy.links.updateOnRename, base != edited else { return ProposalLinkUpdates() }
        var moves: [String: String] = [:]
        for d in try repository.diff(from: base, to: edited).deltas(checkingBinary: false) where d.kind == .renamed {
            moves[d.oldPath] = d.newPath
        }
        guard !moves.isEmpty else { return ProposalLinkUpdates() }
        var out = ProposalLinkUpdates()
        let gate = PolicyGate(policy: policy)
        for rewrite in try linkRewrites(before: base, after: edited, moves: moves) {
            if let pattern = gate.protectedPattern(for: rewrite.path) {
                let n = rewrite.links.count
                out.findings.append(PolicyFinding(rule: PolicyFinding.Rule.links, path: rewrite.path,
                    message: "\(n) link\(n == 1 ? "" : "s") here to a renamed file left as \(n == 1 ? "it was" : "they were") "
                        + "(protected by policy ('\(pattern)')); update \(n == 1 ? "it" : "them") yourself after approving"))
                continue
            }
            out.rewrites.append(rewrite)
        }
        if out.rewrites.count > policy.review.maxFiles {
            out.findings.append(PolicyFinding(rule: PolicyFinding.Rule.links, path: nil,
                message: "renaming updates links in \(out.rewrites.count) notes, more than review.max_files (\(policy.review.maxFiles))"))
        }
        return out
    }

    /// The links that main gained since a proposal's base and that lead to a file the proposal renames, rewritten in
    /// `merged` (the three-way merge of main and the proposal), so approving a rename never leaves a link behind that
    /// the proposal could not see. Protected notes are left as they are; nil when nothing changes (main did not move,
    /// the policy turns it off, or the proposal renames nothing).
    func linkUpdatesOnApproval(baseTree: OID, proposalTree: OID, merged: OID, mainMoved: Bool,
                               policy: Policy) throws -> (tree: OID, links: [LinkUpdate])? {
        guard mainMoved, policy.links.updateOnRename else { return nil }
        var moves: [String: String] = [:]
        for d in try repository.diff(from: baseTree, to: proposalTree).deltas(checkingBinary: false) where d.kind == .renamed {
            moves[d.oldPath] = d.newPath
        }
        guard !moves.isEmpty else { return nil }
        let gate = PolicyGate(policy: policy)
        let rewrites = try linkRewrites(before: merged, after: merged, moves: moves).filter { gate.protectedPattern(for: $0.path) == nil }
        guard !rewrites.isEmpty else { return nil }
        let tree = try repository.updateTree(base: merged, changes: rewrites.map { .upsert(path: $0.path, oid: $0.blob, mode: $0.mode) })
        return (tree, rewrites.flatMap(\.links))
    }

    /// The "Links updated:" paragraph of a proposal's commit message: one line per link (the first 50).
    static func linkUpdatesParagraph(_ links: [LinkUpdate], title: String = "Links updated") -> String {
        guard !links.isEmpty else { return "" }
        let notes = Set(links.map(\.path)).count
        var lines = ["\(title): \(links.count) in \(notes) note\(notes == 1 ? "" : "s")"]
        for l in links.prefix(50) { lines.append("  \(l.path):\(l.line): \(l.old) -> \(l.new)") }
        if links.count > 50 { lines.append("  … and \(links.count - 50) more (see the run record)") }
        return lines.joined(separator: "\n")
    }
}
