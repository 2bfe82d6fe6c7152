import CairnGit
import Foundation

extension Vault {
    /// Refs under `refs/cairn/` that are one machine's own (never pushed, never taken from a remote).
    static let machineLocalRefs: Set<String> = [tickRef]

    /// Snapshot → fetch → integrate → push, with one remote.
    ///
    /// Guarantees: every local edit is committed before anything else (a snapshot); main moves only by
    /// fast-forward or a merge commit that keeps both sides; a conflict stops before committing with markers in
    /// the files (`continueSync` / `abortSync`); a push that loses a race fetches and integrates again, at most
    /// `options.maxAttempts` times; every step can be re-run after a crash (kill -9) and finishes the job.
    /// What travels: main, `proposals/*` and everything under `refs/cairn/` except this machine's own refs.
    public func sync(remote name: String?, options: SyncOptions, now: Date) throws -> SyncReport {
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        try prepareForWrite(now: now)
        if let pending = loadPendingMerge() { throw SyncError.conflictsPending(paths: pending.conflicts) }
        let remote = try chooseRemote(name)
        let snap = try snapshotLocked(SnapshotOptions(message: nil), author: options.author, now: now)
        return try syncRounds(remote: remote, options: options, now: now, snapshotCommit: snap.commit, notices: [], integration: nil)
    }

    /// Finishes a sync that stopped on conflicts, once the operator removed the markers.
    public func continueSync(options: SyncOptions, now: Date) throws -> SyncReport {
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        try prepareForWrite(now: now)
        guard let pending = loadPendingMerge(), let ours = OID(hex: pending.ours), let theirs = OID(hex: pending.theirs),
              let tree = OID(hex: pending.tree) else { throw SyncError.nothingToContinue }
        guard try head() == ours else { throw SyncError.mainMovedDuringConflict }
        var changes: [TreeChange] = []
        var remaining: [String] = []
        for path in pending.conflicts {
            let full = absolutePath(path)
            guard let data = FileManager.default.contents(atPath: full) else { changes.append(.remove(path: path)); continue }
            if ConflictMarkers.present(in: data) { remaining.append(path); continue }
            let mode = (try repository.entry(at: path, in: tree)?.mode) ?? TreeChange.fileMode
            changes.append(.upsert(path: path, oid: try repository.writeBlob(data), mode: mode))
        }
        if !remaining.isEmpty { throw SyncError.markersRemain(paths: remaining) }
        let resolved = try repository.updateTree(base: tree, changes: changes)
        let remote = try chooseRemote(pending.remote)
        _ = try commitSyncMerge(remote: remote.name, ours: try repository.commit(ours), theirs: theirs, tree: resolved,
                                author: options.author, now: now)
        // The resolved files already hold the merged content; bring the index along.
        try repository.checkout(tree: resolved, paths: pending.conflicts.filter { FileManager.default.fileExists(atPath: absolutePath($0)) }, force: true)
        try? FileManager.default.removeItem(atPath: PendingSyncMerge.path(gitDir: gitDir))
        return try syncRounds(remote: remote, options: options, now: now, snapshotCommit: pending.snapshotCommit,
                              notices: pending.notices, integration: "merged")
    }

    /// Gives up a sync that stopped on conflicts: conflicted files go back to this machine's version; main never moved.
    public func abortSync(now: Date) throws -> SyncReport {
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        guard let pending = loadPendingMerge(), let ours = OID(hex: pending.ours) else { throw SyncError.nothingToContinue }
        let oursTree = try repository.commit(ours).tree
        for path in pending.conflicts {
            if let e = try repository.entry(at: path, in: oursTree) {
                let data = try repository.blob(e.oid)
                try data.write(to: URL(fileURLWithPath: absolutePath(path)), options: .atomic)
            } else {
                try? FileManager.default.removeItem(atPath: absolutePath(path))
            }
        }
        try? FileManager.default.removeItem(atPath: PendingSyncMerge.path(gitDir: gitDir))
        return SyncReport(remote: pending.remote, outcome: .aborted, snapshotCommit: pending.snapshotCommit, integration: "aborted",
                          main: try head()?.hex, pushed: [], received: [], conflicts: pending.conflicts, notices: [], attempts: 0)
    }

    /// Files a stopped sync left with conflict markers (for `status` and `doctor`), empty when none.
    public func syncConflicts() -> [String] { loadPendingMerge()?.conflicts ?? [] }

    func loadPendingMerge() -> PendingSyncMerge? {
        guard let data = FileManager.default.contents(atPath: PendingSyncMerge.path(gitDir: gitDir)) else { return nil }
        return try? JSONDecoder().decode(PendingSyncMerge.self, from: data)
    }

    /// Fetch, integrate, push; again when the remote moved meanwhile.
    private func syncRounds(remote: RemoteInfo, options: SyncOptions, now: Date, snapshotCommit: String?,
                            notices initial: [String], integration initialIntegration: String?) throws -> SyncReport {
        var notices = initial
        var received: [String] = []
        var integration = initialIntegration
        for attempt in 1...max(1, options.maxAttempts) {
            // One connection serves the rewrite check's listing and this round's fetch, unless a rewrite travelled.
            let connection = try syncRewrites(remote: remote, options: options, notices: &notices)
            let advertised = try fetchRemote(remote, options: options, over: connection)
            let step = try integrateMain(remote: remote, theirs: advertised[branchRef], author: options.author, now: now, notices: &notices)
            if case .conflicts(var pending) = step {
                pending.snapshotCommit = snapshotCommit
                try writePendingMerge(pending)
                return SyncReport(remote: remote.name, outcome: .conflicts, snapshotCommit: snapshotCommit, integration: "conflicts",
                                  main: try head()?.hex, pushed: [], received: received, conflicts: pending.conflicts,
                                  notices: pending.notices, attempts: attempt)
            }
            if integration == nil || step.description != "up to date" && step.description != "pushed" { integration = step.description }
            if integration == "pushed", case .upToDate = step { integration = "up to date" }
            var plan = try reconcileRefs(remote: remote, advertised: advertised, notices: &notices)
            received += plan.received
            if let main = try head(), advertised[branchRef] != main { plan.pushes.insert("\(branchRef):\(branchRef)", at: 0) }
            CrashPoints.hit(.syncBeforePush)
            let moved: Bool
            do {
                let updates = try repository.push(remote: remote.name, refspecs: plan.pushes, credentials: options.credentials,
                                                  progress: options.progress.map { p in { p($0) } })
                let rejected = updates.filter { $0.rejection != nil }
                if rejected.isEmpty {
                    try recordPushed(remote: remote, refspecs: plan.pushes)
                    try stampSync(remote: remote.name, now: now)
                    return SyncReport(remote: remote.name, outcome: .synced, snapshotCommit: snapshotCommit,
                                      integration: integration ?? "up to date", main: try head()?.hex,
                                      pushed: plan.pushes.map { $0.hasPrefix(":") ? "delete " + String($0.dropFirst()) : String($0.split(separator: ":").last ?? "") },
                                      received: received, conflicts: [], notices: notices, attempts: attempt)
                }
                let reasons = rejected.map { "\($0.reference): \($0.rejection ?? "")" }
                let raced = rejected.allSatisfy { r in
                    let why = (r.rejection ?? "").lowercased()
                    return ["non-fast-forward", "fetch first", "stale", "failed to update", "failed to lock", "cannot lock", "already exists"].contains { why.contains($0) }
                }
                if !raced { throw SyncError.pushRejected(remote: remote.name, reasons: reasons) }
                moved = true
            } catch where isNonFastForward(error) {
                moved = true
            }
            if moved && attempt == options.maxAttempts { throw SyncError.remoteKeepsMoving(remote: remote.name, attempts: attempt) }
        }
        throw SyncError.remoteKeepsMoving(remote: remote.name, attempts: options.maxAttempts)
    }

    /// Fetches main, proposals and vault state into this machine's tracking refs and returns what the remote has
    /// (refs that are not vault state left out). Tracking refs of things the remote no longer has are dropped.
    /// Over `connection` when given (its listing is what gets fetched), else over a new one.
    func fetchRemote(_ remote: RemoteInfo, options: SyncOptions, over connection: RemoteConnection? = nil) throws -> [String: OID] {
        let heads = Self.headsTrackingPrefix(remote.name), cairn = Self.cairnTrackingPrefix(remote.name)
        let open = try connection ?? repository.connect(remote: remote.name, credentials: options.credentials)
        defer { open.close() }
        try open.fetch(refspecs: ["+refs/heads/*:\(heads)*", "+refs/cairn/*:\(cairn)*"], progress: options.progress.map { p in { p($0) } })
        let refs = open.refs
        var advertised: [String: OID] = [:]
        for r in refs where r.name.hasPrefix("refs/heads/") || r.name.hasPrefix("refs/cairn/") { advertised[r.name] = r.target }
        // Drop tracking refs the remote no longer has (git fetch --prune).
        for t in try repository.references(withPrefix: heads) where advertised["refs/heads/" + t.name.dropFirst(heads.count)] == nil {
            if t.name.hasSuffix("/HEAD") { continue }
            try? repository.deleteReference(t.name, expected: t.target)
        }
        for t in try repository.references(withPrefix: cairn) where advertised["refs/cairn/" + t.name.dropFirst(cairn.count)] == nil {
            try? repository.deleteReference(t.name, expected: t.target)
        }
        return advertised
    }

    /// After a successful push, the tracking refs say what the remote now has.
    private func recordPushed(remote: RemoteInfo, refspecs: [String]) throws {
        for spec in refspecs {
            let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count == 2 else { continue }
            let dst = parts[1]
            let tracking: String
            if dst.hasPrefix("refs/heads/") { tracking = Self.headsTrackingPrefix(remote.name) + dst.dropFirst("refs/heads/".count) }
            else if dst.hasPrefix("refs/cairn/") { tracking = Self.cairnTrackingPrefix(remote.name) + dst.dropFirst("refs/cairn/".count) }
            else { continue }
            let current = try repository.referenceTarget(tracking)
            if parts[0].isEmpty {
                if let current { try? repository.deleteReference(tracking, expected: current) }
            } else if let target = try repository.referenceTarget(parts[0]), target != current {
                try? repository.updateReference(tracking, to: target, expected: current, message: "cairn sync: pushed")
            }
        }
    }

    private func stampSync(remote: String, now: Date) throws {
        let path = SyncStamp.path(gitDir: gitDir, remote: remote)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try JSONEncoder().encode(SyncStamp(at: ISOTime.string(now), main: try head()?.hex)).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    private func writePendingMerge(_ pending: PendingSyncMerge) throws {
        guard let tree = OID(hex: pending.tree) else { return }
        // Markers go into the working tree first: a crash before the state file leaves edits the next snapshot refuses.
        for path in pending.conflicts {
            guard let e = try repository.entry(at: path, in: tree) else { continue }
            let full = absolutePath(path)
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try repository.blob(e.oid).write(to: URL(fileURLWithPath: full), options: .atomic)
        }
        try FileManager.default.createDirectory(atPath: gitDir + "cairn", withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(pending).write(to: URL(fileURLWithPath: PendingSyncMerge.path(gitDir: gitDir)), options: .atomic)
    }
}
