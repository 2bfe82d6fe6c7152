import CairnGit
import Foundation

/// What following another machine's rewrite did.
public struct FollowReport: Codable, Sendable {
    /// The rewrite records newly followed (oldest first).
    public var records: [String] = []
    /// References moved onto the new history, and deleted.
    public var referencesMoved: [String] = []
    public var referencesDeleted: [String] = []
    /// This machine's own commits (not known to the rewrite) rebuilt on the new history, old → new.
    public var commitsMoved: [String: String] = [:]
    /// Forgotten files removed from the working tree (only those without uncommitted edits).
    public var workingTreeRemoved: [String] = []

    enum CodingKeys: String, CodingKey {
        case records
        case referencesMoved = "references_moved", referencesDeleted = "references_deleted"
        case commitsMoved = "commits_moved", workingTreeRemoved = "working_tree_removed"
    }
}

/// Moves commits onto a history that rewrite records say was rewritten: the part of "every machine follows the
/// rewrite" that needs no network. Sync calls `Vault.followRewrites(to:author:now:)` after fetching.
public enum RewriteFollower {
    /// One old → new map for a chain of records, oldest first: a commit rewritten twice maps to its latest id.
    public static func combinedMap(_ records: [RewriteRecord]) -> [OID: OID?] {
        var combined: [OID: OID?] = [:]
        for record in records {
            for (old, value) in combined {
                if let v = value, let later = record.commits[v] { combined[old] = later }
            }
            for (old, new) in record.commits where combined[old] == nil { combined[old] = new }
        }
        return combined
    }

    /// Rebuilds every commit reachable from `tips` that the records do not know (this machine's own commits)
    /// on top of the new ids, with the records' forgotten paths removed from their trees. Commits the records
    /// map are not walked. Returns old → new for every commit walked or known; objects are written through
    /// the repository (attach an `InMemoryObjects` to keep them off the disk).
    public static func follow(_ records: [RewriteRecord], tips: [OID], in repository: Repository) throws -> [OID: OID?] {
        var known = combinedMap(records)
        // The new history is known too: a tip already on it is not walked again.
        for case let new? in Array(known.values) where known[new] == nil { known[new] = .some(new) }
        let forgotten = records.flatMap(\.receipt.forgottenPaths)
        let filter = RetentionFilter(rules: forgotten.isEmpty ? [] : [.init(globs: RetentionFilter.forgetGlobs(forgotten))])
        return try HistoryRewriter(repository, filter: filter).rewrite(tips: tips, known: known)
    }
}

extension Vault {
    /// Follows the rewrites recorded on the chain ending at `recordTip` (a fetched `refs/cairn/rewrites`) that
    /// this vault has not followed yet: every local reference still on the old history moves to the new one
    /// (to the value the rewriting machine gave it, or — for commits made here — rebuilt on top of the new
    /// ids without the forgotten paths), `refs/cairn/rewrites` moves to `recordTip`, reflogs expire and the
    /// objects nothing reaches are deleted, exactly as `prune` does (same journal, same crash safety).
    ///
    /// Call it after fetching and before integrating or pushing, so pruned objects are never pushed back.
    /// Remote-tracking references still on the old history move too (sync then pushes them, compare-and-swap).
    /// Does nothing when every record is known.
    public func followRewrites(to recordTip: OID, author: OperatorIdentity, now: Date) throws -> FollowReport {
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        return try followRewritesLocked(to: recordTip)
    }

    /// `followRewrites` for a caller that holds the vault lock (sync).
    func followRewritesLocked(to recordTip: OID) throws -> FollowReport {
        try finishPruneLocked(progress: { _ in })
        var report = FollowReport()
        let local = try repository.referenceTarget(RewriteRecord.reference)
        if let local {
            if local == recordTip { return report }
            if try repository.isAncestor(recordTip, of: local) { return report }
        }
        let all = try RewriteRecord.load(from: repository, tip: recordTip)
        let known = Set(try RewriteRecord.load(from: repository).compactMap(\.id))
        let records = all.filter { !known.contains($0.id!) }
        guard !records.isEmpty else { return report }
        report.records = records.compactMap { $0.id?.hex }

        let startMarker = gitDir + "cairn/prune-start"
        FileManager.default.createFile(atPath: startMarker, contents: Data())
        var st = stat()
        let startedAt = stat(startMarker, &st) == 0 ? Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9 : 0

        // What the rewriting machine did to each reference name.
        var recorded: [String: RewriteRecord.ReferenceChange] = [:]
        for record in records {
            for change in record.references {
                if let earlier = recorded[change.name] {
                    recorded[change.name] = .init(name: change.name, old: earlier.old, new: change.new)
                } else {
                    recorded[change.name] = change
                }
            }
        }
        let work = try Repository(at: gitDir)
        let memory = try InMemoryObjects(work)
        defer { try? memory.reset() }
        var changes: [RewriteRecord.ReferenceChange] = []
        var toFollow: [(name: String, target: OID)] = []
        var otherTips: [OID] = []
        for ref in try repository.references(withPrefix: "refs/") where ref.name != RewriteRecord.reference {
            if let change = recorded[ref.name], change.old == ref.target {
                changes.append(.init(name: ref.name, old: ref.target, new: change.new))
            } else if try repository.objectHeader(ref.target)?.kind == .commit {
                toFollow.append(ref)
            } else {
                otherTips.append(ref.target)
            }
        }
        let map = try RewriteFollower.follow(records, tips: toFollow.map(\.target), in: work)
        for ref in toFollow {
            let mapped = map[ref.target] ?? .some(ref.target)
            if mapped != ref.target { changes.append(.init(name: ref.name, old: ref.target, new: mapped)) }
        }
        for (old, new) in map where new != old && RewriteFollower.combinedMap(records)[old] == nil {
            report.commitsMoved[old.hex] = new?.hex ?? String(repeating: "0", count: 40)
        }
        changes.append(.init(name: RewriteRecord.reference, old: local, new: recordTip))
        report.referencesMoved = changes.filter { $0.new != nil && $0.name != RewriteRecord.reference }.map(\.name).sorted()
        report.referencesDeleted = changes.filter { $0.new == nil }.map(\.name).sorted()

        // Forgotten files still in this machine's working tree (a forget with --include-current elsewhere).
        var removeFromWorkingTree: [String: String] = [:]
        let forgotten = RetentionFilter.forgetGlobs(records.flatMap(\.receipt.forgottenPaths))
        if !forgotten.isEmpty, let main = try head() {
            for f in try repository.files(in: try repository.commit(main).tree) where forgotten.contains(where: { $0.matches(f.path) }) {
                removeFromWorkingTree[f.path] = f.oid.hex
            }
        }
        var packed: [OID] = [recordTip]
        for ref in try repository.references(withPrefix: "refs/") where ref.name != RewriteRecord.reference {
            if let change = changes.first(where: { $0.name == ref.name }) {
                if let new = change.new { packed.append(new) }
            } else if try repository.objectHeader(ref.target)?.kind == .commit {
                packed.append(ref.target)
            }
        }
        report.workingTreeRemoved = try switchAndCompact(
            changes: changes, packedTips: packed, otherTips: otherTips.filter { !packed.contains($0) },
            removeFromWorkingTree: removeFromWorkingTree, startedAt: startedAt, objects: work, memory: memory,
            progress: { _ in })
        return report
    }
}
