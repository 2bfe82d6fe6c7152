import CairnGit
import Foundation

/// How local main and the remote's main came together.
enum MainIntegration {
    case upToDate
    case ahead
    case remoteEmpty
    case fastForward
    case merged(OID)
    case conflicts(PendingSyncMerge)

    var description: String {
        switch self {
        case .upToDate: return "up to date"
        case .ahead: return "pushed"
        case .remoteEmpty: return "pushed to an empty remote"
        case .fastForward: return "fast-forward"
        case .merged: return "merged"
        case .conflicts: return "conflicts"
        }
    }
}

extension Vault {
    /// Brings the remote's main into local main: fast-forward when possible, else a merge commit whose second
    /// parent is the remote's main. Decisions made on both machines are reconciled first (the remote's stands);
    /// files both sides changed merge three-way; what remains in conflict stops before committing.
    func integrateMain(remote: RemoteInfo, theirs: OID?, author: OperatorIdentity, now: Date,
                       notices: inout [String]) throws -> MainIntegration {
        guard let theirs else { return .remoteEmpty }
        guard let ours = try head() else { throw SyncError.emptyRemote(root) }
        if ours == theirs { return .upToDate }
        if try repository.isAncestor(theirs, of: ours) { return .ahead }
        let oursCommit = try repository.commit(ours)
        if try repository.isAncestor(ours, of: theirs) {
            _ = try moveMain(from: oursCommit, to: theirs, newTree: try repository.commit(theirs).tree, message: "cairn sync \(remote.name)", as: .sync)
            return .fastForward
        }
        guard let base = try repository.mergeBase(ours, theirs) else {
            // The seam for retention (history rewritten elsewhere): see `followRewrite`.
            if try followRewrite(remote: remote, ours: ours, theirs: theirs) != nil { return .upToDate }
            throw SyncError.unrelatedHistories(remote: remote.name)
        }
        let theirsCommit = try repository.commit(theirs)
        let baseTree = try repository.commit(base).tree
        let adjusted = try reconcileDecisions(remote: remote, ours: oursCommit, theirs: theirsCommit, base: base,
                                              baseTree: baseTree, notices: &notices)
        var markers: [String] = []
        let labels = (ours: "\(machine) (this machine)", theirs: "\(remote.name)/\(branch)")
        let merged = try repository.mergeTrees(ancestor: baseTree, ours: adjusted, theirs: theirsCommit.tree) { c in
            try resolveConflict(c, labels: labels, remote: remote, theirs: theirs, markers: &markers, notices: &notices)
        }
        if !markers.isEmpty {
            return .conflicts(PendingSyncMerge(remote: remote.name, ours: ours.hex, theirs: theirs.hex, tree: merged.hex,
                                               conflicts: markers.sorted(), notices: notices, snapshotCommit: nil))
        }
        let commit = try commitSyncMerge(remote: remote.name, ours: oursCommit, theirs: theirs, tree: merged, author: author, now: now)
        return .merged(commit)
    }

    /// The merge commit of a sync, attributed to the operator and marked `Cairn-Operation: sync`; main moves to it.
    func commitSyncMerge(remote: String, ours: Commit, theirs: OID, tree: OID, author: OperatorIdentity, now: Date) throws -> OID {
        let message = Trailer.message(subject: "Sync with \(remote)", body: "",
                                      trailers: [Trailer("Cairn-Operation", "sync"), Trailer("Cairn-Machine", machine)])
        let sig = Signature(name: author.name, email: author.email, time: now)
        let commit = try repository.createCommit(tree: tree, parents: [ours.oid, theirs], author: sig, committer: sig, message: message)
        _ = try moveMain(from: ours, to: commit, newTree: tree, message: "cairn sync \(remote)", as: .sync)
        return commit
    }

    /// One conflicted path: a deleted-vs-changed file keeps the changed side; notes merge front matter key by key
    /// and the body three-way; other text merges three-way. What cannot combine gets markers (listed in `markers`).
    private func resolveConflict(_ c: MergeConflict, labels: (ours: String, theirs: String), remote: RemoteInfo, theirs: OID,
                                 markers: inout [String], notices: inout [String]) throws -> MergeSide? {
        switch (c.ours, c.theirs) {
        case (nil, nil): return nil
        case (nil, let t?):
            notices.append("\(c.path): deleted here but changed on \(remote.name); the changed file is kept")
            return t
        case (let o?, nil):
            notices.append("\(c.path): deleted on \(remote.name) but changed here; the changed file is kept")
            return o
        case (let o?, let t?):
            let od = try repository.blob(o.oid), td = try repository.blob(t.oid)
            let ad = try c.ancestor.map { try repository.blob($0.oid) }
            if od.prefix(8000).contains(0) || td.prefix(8000).contains(0) {
                notices.append("\(c.path): a binary file changed on both sides; this machine's version is kept, "
                               + "\(remote.name)'s is in commit \(theirs.short()) (`git show \(theirs.short()):\(c.path)`)")
                return o
            }
            let result: TextMerge.Result
            if c.path.lowercased().hasSuffix(".md") {
                result = try TextMerge.mergeNote(ancestor: ad, ours: od, theirs: td, path: c.path, labels: labels, repository: repository)
            } else {
                let r = try repository.mergeFile(ancestor: ad, ours: od, theirs: td, path: c.path, labels: labels)
                result = TextMerge.Result(content: r.content, clean: r.clean)
            }
            if !result.clean { markers.append(c.path) }
            return MergeSide(oid: try repository.writeBlob(result.content), mode: o.mode)
        }
    }

    /// Decisions on the same proposal made on both machines before they synced: the remote's (it reached the
    /// remote first) stands at `approvals/…/<run>.json`; this machine's record is kept beside it as
    /// `<run>.from-<machine>.json`. An approval overruled by a rejection has its changes taken back. Returns the
    /// tree to merge as "ours".
    private func reconcileDecisions(remote: RemoteInfo, ours: Commit, theirs: Commit, base: OID, baseTree: OID,
                                    notices: inout [String]) throws -> OID {
        var opts = DiffOptions()
        opts.paths = ["approvals"]
        opts.detectRenames = false
        func added(_ tree: OID) throws -> [String: OID] {
            var out: [String: OID] = [:]
            for d in try repository.diff(from: baseTree, to: tree, options: opts).deltas where d.kind == .added && d.newPath.hasSuffix(".json") {
                out[d.newPath] = d.newOID
            }
            return out
        }
        let mine = try added(ours.tree), theirsAdded = try added(theirs.tree)
        var tree = ours.tree
        for (path, ourBlob) in mine.sorted(by: { $0.key < $1.key }) {
            guard let theirBlob = theirsAdded[path], theirBlob != ourBlob else { continue }
            let decoder = JSONDecoder()
            guard let mineRecord = try? decoder.decode(ApprovalRecord.self, from: try repository.blob(ourBlob)),
                  let theirRecord = try? decoder.decode(ApprovalRecord.self, from: try repository.blob(theirBlob)) else { continue }
            var keptPath = String(path.dropLast(".json".count)) + ".from-\(machine).json"
            var n = 2
            while try repository.entry(at: keptPath, in: theirs.tree) != nil {
                keptPath = String(path.dropLast(".json".count)) + ".from-\(machine)-\(n).json"; n += 1
            }
            let mineApproved = mineRecord.decision != .rejected, theirsApproved = theirRecord.decision != .rejected
            let who = "\(theirRecord.decidedBy)" + (theirRecord.machine.map { " on \($0)" } ?? " on \(remote.name)")
            if mineApproved && !theirsApproved {
                // Take the approval's changes back: revert the approve merge on our side.
                if let approve = try findDecisionCommit(run: mineRecord.run, from: ours.oid, base: base),
                   let before = approve.parents.first {
                    switch try repository.mergeTrees(ancestor: approve.tree, ours: tree, theirs: try repository.commit(before).tree) {
                    case .merged(let reverted): tree = reverted
                    case .conflicts(let paths):
                        notices.append("proposal \(mineRecord.run): could not take back its changes in \(paths.joined(separator: ", ")) "
                                       + "(edited since); they stay — review them")
                    }
                }
                notices.append("proposal \(mineRecord.run): you approved it here, but \(who) rejected it first (\(theirRecord.decidedAt)); "
                               + "the rejection stands and its changes were not merged. Your approval is kept in \(keptPath)")
            } else if !mineApproved && theirsApproved {
                notices.append("proposal \(mineRecord.run): you rejected it here, but \(who) approved it first (\(theirRecord.decidedAt)); "
                               + "the approval stands and its changes are merged. Your rejection is kept in \(keptPath)")
            } else {
                notices.append("proposal \(mineRecord.run): decided on both machines (\(theirRecord.decision.rawValue)); it counts once. "
                               + "This machine's record is kept in \(keptPath)")
            }
            var changes: [TreeChange] = [.upsert(path: keptPath, oid: ourBlob, mode: TreeChange.fileMode)]
            if try repository.entry(at: path, in: tree) != nil { changes.append(.remove(path: path)) }
            tree = try repository.updateTree(base: tree, changes: changes)
        }
        return tree
    }

    /// The approve/reject commit for `run` among main's first parents from `tip` down to `base`.
    private func findDecisionCommit(run: String, from tip: OID, base: OID) throws -> Commit? {
        var current: OID? = tip
        var steps = 0
        while let oid = current, oid != base, steps < 100_000 {
            let c = try repository.commit(oid)
            if c.trailer("Cairn-Run") == run, let op = c.trailer("Cairn-Operation"), ["approve", "auto-merge"].contains(op) { return c }
            current = c.parents.first
            steps += 1
        }
        return nil
    }

    /// History rewritten by retention on another machine is followed before each round's fetch
    /// (`syncRewrites`), so when local main and the remote's main still share no history they are unrelated:
    /// nil, and sync refuses to merge them (`SyncError.unrelatedHistories`) — the old history is never merged back.
    func followRewrite(remote: RemoteInfo, ours: OID, theirs: OID) throws -> OID? { nil }

    /// References a rewrite on this machine deleted (old decided proposals, old runs) and that are still absent
    /// here: sync does not take them back from a remote that still has them.
    func refsDroppedByRetention() throws -> Set<String> {
        var dropped: Set<String> = []
        for record in try RewriteRecord.load(from: repository) {
            for change in record.references {
                if change.new == nil { dropped.insert(change.name) } else { dropped.remove(change.name) }
            }
        }
        return try dropped.filter { try repository.referenceTarget($0) == nil }
    }
}
