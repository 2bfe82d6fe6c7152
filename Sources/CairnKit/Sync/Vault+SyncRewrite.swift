import CairnGit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Vault {
    /// History rewrites travel before anything else in a sync round, so that the old history is neither fetched
    /// back nor pushed back:
    /// - the remote has rewrite records this machine lacks (`refs/cairn/rewrites`): fetch, then follow them
    ///   (`followRewritesLocked`): local references move onto the new history, this machine's own commits are
    ///   rebuilt on it without the forgotten paths, old objects are deleted; remote references still on the old
    ///   history (another machine's commits pushed before it followed) are rebuilt the same way and pushed with
    ///   compare-and-swap;
    /// - this machine has records the remote lacks (it pruned or forgot): every remote reference still holding a
    ///   value the records rewrote is set to its new value, and the records pushed, all with compare-and-swap
    ///   against what the remote was just seen to hold; nothing is fetched first, so the old history is never
    ///   downloaded again;
    /// - both rewrote history independently: refused (`RetentionError.concurrentRewrites`), nothing changed.
    /// When both have the same records this does nothing but connect and list the remote's references, and returns
    /// that open connection for the round's fetch (one `git upload-pack` or ssh session per round); the objects
    /// are downloaded only after the check, on the same connection, so the listing decides what is fetched.
    /// Returns nil when a rewrite travelled (the round fetches anew).
    func syncRewrites(remote: RemoteInfo, options: SyncOptions, notices: inout [String]) throws -> RemoteConnection? {
        for _ in 1...3 {
            let connection = try repository.connect(remote: remote.name, credentials: options.credentials)
            var advertised: [String: OID] = [:]
            for r in connection.refs
            where r.name.hasPrefix("refs/heads/") || r.name.hasPrefix("refs/cairn/") && !Self.machineLocalRefs.contains(r.name) {
                advertised[r.name] = r.target
            }
            let local = try repository.referenceTarget(RewriteRecord.reference)
            if advertised[RewriteRecord.reference] == local { return connection }
            // Nothing is downloaded over this connection: the rewrite work below opens its own.
            connection.close()
            if try syncRewritesOnce(remote: remote, advertised: advertised, local: local, options: options, notices: &notices) { return nil }
        }
        throw SyncError.remoteKeepsMoving(remote: remote.name, attempts: 3)
    }

    /// One attempt with the remote's references as just listed; false when the remote moved between reading and
    /// pushing (try again).
    private func syncRewritesOnce(remote: RemoteInfo, advertised: [String: OID], local: OID?, options: SyncOptions,
                                  notices: inout [String]) throws -> Bool {
        let theirs = advertised[RewriteRecord.reference]
        if theirs == local { return true }
        let tracking = Self.cairnTrackingPrefix(remote.name) + "rewrites"

        if let theirs, try !hasCommit(theirs) || local == nil || !(try repository.isAncestor(theirs, of: local!)) {
            // The remote knows rewrites this machine does not.
            if try !hasCommit(theirs) {
                _ = try repository.fetch(remote: remote.name, refspecs: ["+\(RewriteRecord.reference):\(tracking)"],
                                         credentials: options.credentials, progress: options.progress.map { p in { p($0) } })
            }
            if let local, try !repository.isAncestor(local, of: theirs) {
                throw RetentionError.concurrentRewrites(remote: remote.name)
            }
            let fetched = try fetchRemote(remote, options: options)
            guard fetched[RewriteRecord.reference] == theirs else { return false }
            let before = try trackingValues(remote.name)
            let followed = try followRewritesLocked(to: theirs)
            if !followed.records.isEmpty {
                notices.append("followed \(followed.records.count) history rewrite\(followed.records.count == 1 ? "" : "s") made on another machine"
                               + (followed.commitsMoved.isEmpty ? "" : "; \(followed.commitsMoved.count) commit\(followed.commitsMoved.count == 1 ? "" : "s") "
                                  + "made here moved onto the new history"))
            }
            // Remote references still on the old history: their rebuilt values, compare-and-swap.
            let after = try trackingValues(remote.name)
            var updates: [LeasedPush] = []
            for (name, old) in before where after[name] != old {
                if let new = after[name] { updates.append(LeasedPush(name: name, new: new, expected: old)) }
            }
            return try pushLeased(updates, remote: remote, options: options)
        }

        // This machine has rewrites the remote lacks: publish them.
        guard let local else { return true }
        let all = try RewriteRecord.load(from: repository, tip: local)
        let published = Set(try theirs.map { try RewriteRecord.load(from: repository, tip: $0).compactMap(\.id) } ?? [])
        let unpublished = all.filter { !published.contains($0.id!) }
        let map = RewriteFollower.combinedMap(unpublished)
        var recorded: [String: RewriteRecord.ReferenceChange] = [:]
        for record in unpublished {
            for change in record.references { recorded[change.name] = .init(name: change.name, old: recorded[change.name]?.old ?? change.old, new: change.new) }
        }
        var updates: [LeasedPush] = [LeasedPush(name: RewriteRecord.reference, new: local, expected: theirs)]
        var unknown: [String] = []
        for (name, value) in advertised.sorted(by: { $0.key < $1.key }) where name != RewriteRecord.reference {
            if let change = recorded[name], change.old == value {
                updates.append(LeasedPush(name: name, new: change.new, expected: value))
            } else if let mapped = map[value] {
                updates.append(LeasedPush(name: name, new: mapped, expected: value))
            } else if try !hasCommit(value) {
                unknown.append(name)
            }
        }
        if !unknown.isEmpty {
            // Commits another machine pushed on the old history after this rewrite. Fetching them brings the old
            // history back for a moment: rebuild them on the new history (as that machine would when it follows),
            // push, then pack what is reachable and delete the rest, as a prune does.
            let fetched = try fetchRemote(remote, options: options)
            let tips = unknown.compactMap { fetched[$0] }
            guard tips.count == unknown.count else { return false }
            let rebuilt = try RewriteFollower.follow(all, tips: tips, in: repository)
            for name in unknown {
                guard let old = fetched[name] else { continue }
                let new = rebuilt[old] ?? .some(old)
                if new != old { updates.append(LeasedPush(name: name, new: new, expected: advertised[name])) }
            }
            notices.append("\(unknown.joined(separator: ", ")) had commits made on the old history since this rewrite; they were moved onto the new history")
        }
        let pushed = try pushLeased(updates, remote: remote, options: options)
        if !unknown.isEmpty { try compactObjects() }
        if pushed {
            notices.append("pushed \(unpublished.count) history rewrite\(unpublished.count == 1 ? "" : "s"): \(updates.count - 1) "
                           + "reference\(updates.count == 2 ? "" : "s") on \(remote.name) replaced (compare-and-swap)")
        }
        return pushed
    }

    /// Packs everything the references and the index reach and deletes every other object (old packs, loose
    /// objects older than now), with the prune's journal and crash safety.
    private func compactObjects() throws {
        let startMarker = gitDir + "cairn/prune-start"
        FileManager.default.createFile(atPath: startMarker, contents: Data())
        var st = stat()
        let startedAt = stat(startMarker, &st) == 0 ? Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9 : 0
        var commits: [OID] = [], others: [OID] = []
        for ref in try repository.references(withPrefix: "refs/") {
            if try hasCommit(ref.target) { commits.append(ref.target) } else { others.append(ref.target) }
        }
        _ = try switchAndCompact(changes: [], packedTips: commits, otherTips: others, removeFromWorkingTree: [:], startedAt: startedAt,
                                 objects: repository, memory: nil, progress: { _ in })
    }

    /// What this machine last saw of the remote's references, by the remote's names.
    private func trackingValues(_ remote: String) throws -> [String: OID] {
        var out: [String: OID] = [:]
        let heads = Self.headsTrackingPrefix(remote), cairn = Self.cairnTrackingPrefix(remote)
        for r in try repository.references(withPrefix: heads) where !r.name.hasSuffix("/HEAD") { out["refs/heads/" + r.name.dropFirst(heads.count)] = r.target }
        for r in try repository.references(withPrefix: cairn) { out["refs/cairn/" + r.name.dropFirst(cairn.count)] = r.target }
        return out
    }

    private func trackingName(_ remote: String, _ name: String) -> String? {
        if name.hasPrefix("refs/heads/") { return Self.headsTrackingPrefix(remote) + name.dropFirst("refs/heads/".count) }
        if name.hasPrefix("refs/cairn/") { return Self.cairnTrackingPrefix(remote) + name.dropFirst("refs/cairn/".count) }
        return nil
    }

    /// Pushes `updates` with leases and records the result in the tracking references; false when a lease failed
    /// (the remote moved: read it again).
    private func pushLeased(_ updates: [LeasedPush], remote: RemoteInfo, options: SyncOptions) throws -> Bool {
        guard !updates.isEmpty else { return true }
        let results = try repository.pushWithLease(remote: remote.name, updates: updates, credentials: options.credentials,
                                                   progress: options.progress.map { p in { p($0) } })
        let rejected = results.filter { $0.rejection != nil }
        if rejected.contains(where: { ($0.rejection ?? "").contains("stale") || ($0.rejection ?? "").contains("not sent") }) { return false }
        if !rejected.isEmpty {
            throw SyncError.pushRejected(remote: remote.name, reasons: rejected.map { "\($0.reference): \($0.rejection ?? "")" })
        }
        for u in updates {
            guard let name = trackingName(remote.name, u.name) else { continue }
            let current = try repository.referenceTarget(name)
            if let new = u.new {
                if current != new { try repository.updateReference(name, to: new, expected: current, message: "cairn sync: rewrite pushed") }
            } else if let current {
                try repository.deleteReference(name, expected: current)
            }
        }
        return true
    }

    private func hasCommit(_ id: OID) throws -> Bool { try repository.objectHeader(id)?.kind == .commit }
}
