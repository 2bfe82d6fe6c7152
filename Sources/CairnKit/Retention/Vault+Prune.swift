import CairnGit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Vault {
    /// The references a rewrite never touches: its own records.
    static let untouchedReferences: Set<String> = [RewriteRecord.reference]

    /// Applies the retention rules of `policy` (or, with `options.forget`, forgets those paths) to the whole
    /// history: rewrites the commits, switches every reference together, expires reflogs, packs what is
    /// reachable and removes the rest from the object store, then rebuilds the caches derived from history.
    ///
    /// Guarantees:
    /// - The branch's tree after is byte for byte the tree before, unless a forget with `includeCurrent`.
    /// - Kept commits keep message, author, committer, dates and trailers; only their ids change, and the
    ///   old → new map is committed on `refs/cairn/rewrites` with the receipt (never the removed content).
    /// - The working tree is not touched, except that `includeCurrent` removes a forgotten file that has no
    ///   uncommitted edits; uncommitted edits are never touched.
    /// - Holds the vault lock throughout; objects a writer created after the start are not deleted.
    /// - Nothing reaches the disk before the new pack is written; references switch after a journal is
    ///   written, and a kill -9 at any point leaves the old history or the new one complete (git fsck clean);
    ///   the next prune finishes an interrupted one.
    /// - A dry run changes nothing and reports the same plan.
    public func prune(_ options: PruneOptions = PruneOptions(), policy: Policy, author: OperatorIdentity, now: Date,
                      progress: (PruneProgress) -> Void = { _ in }) throws -> PruneReport {
        let started = DispatchTime.now()
        var report = try pruneTimed(options, policy: policy, author: author, now: now, progress: progress)
        report.seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        return report
    }

    private func pruneTimed(_ options: PruneOptions, policy: Policy, author: OperatorIdentity, now: Date,
                            progress: (PruneProgress) -> Void) throws -> PruneReport {
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        // A rewrite reads every object of the history once: keep the mapped pack windows and the object cache
        // small (the memory budget is 500 MB for a 100k-commit vault).
        // Windows of 32 MB, so that the mapped limit can let go of parts of a large pack; no object cache (the
        // rewrite and the pack walk read each object about once).
        Libgit2.limitMemory(mappedBytes: 64 << 20, cacheBytes: 64 << 20, windowBytes: 16 << 20)
        Libgit2.setObjectCaching(false)
        defer { Libgit2.setObjectCaching(true) }
        try prepareForWrite(now: now)
        var report = PruneReport(dryRun: options.dryRun, operation: options.forget.isEmpty ? "prune" : "forget")
        if FileManager.default.fileExists(atPath: PruneJournal.path(gitDir: gitDir)) {
            if options.dryRun {
                report.warnings.append("an interrupted prune is pending; `cairn prune` finishes it")
            } else {
                try finishPruneLocked(progress: progress)
                report.resumedInterrupted = true
            }
        }

        let startMarker = gitDir + "cairn/prune-start"
        if !options.dryRun {
            FileManager.default.createFile(atPath: startMarker, contents: Data())
        }
        var st = stat()
        let startedAt = (!options.dryRun && stat(startMarker, &st) == 0) ? Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9 : now.timeIntervalSince1970

        // The rules.
        guard let mainTip = try head() else { return report }
        let mainTree = try repository.commit(mainTip).tree
        var filter = RetentionFilter(rules: [])
        var removeFromWorkingTree: [String: String] = [:]
        var referencesToDrop: [(name: String, target: OID)] = []
        var squashCutoff: Int64? = nil
        let forgotten: [String]
        if !options.forget.isEmpty {
            for path in options.forget { try Self.checkForgetPath(path) }
            let globs = RetentionFilter.forgetGlobs(options.forget)
            let current = try repository.files(in: mainTree).filter { f in globs.contains { $0.matches(f.path) } }
            if !current.isEmpty && !options.includeCurrent {
                throw RetentionError.stillCurrent(paths: current.map(\.path), branch: branch)
            }
            for f in current { removeFromWorkingTree[f.path] = f.oid.hex }
            filter.rules.append(.init(globs: globs))
            forgotten = options.forget
            report.rules.append("forget \(options.forget.joined(separator: ", "))")
        } else {
            let retention = policy.retention
            var policyForget: [String] = []
            if !retention.forget.isEmpty {
                let globs = RetentionFilter.forgetGlobs(retention.forget)
                var keep: [String: OID] = [:]
                for f in try repository.files(in: mainTree) where globs.contains(where: { $0.matches(f.path) }) { keep[f.path] = f.oid }
                if !keep.isEmpty {
                    report.warnings.append("\(keep.keys.sorted().joined(separator: ", ")) still on \(branch): its current version stays; "
                                           + "`cairn forget --include-current` removes it too")
                }
                filter.rules.append(.init(globs: globs, keep: keep))
                policyForget = retention.forget
                report.rules.append("forget \(retention.forget.joined(separator: ", ")) (policy)")
            }
            if let days = retention.keepWorkingHistoryDays {
                let globs = [Glob("memory/working/**")]
                var keep: [String: OID] = [:]
                for f in try repository.files(in: mainTree, under: "memory/working") { keep[f.path] = f.oid }
                let cutoff = Int64(now.timeIntervalSince1970) - Int64(days) * 86_400
                filter.rules.append(.init(globs: globs, before: cutoff, keep: keep))
                report.rules.append("memory/working/**: past versions older than \(days) days leave history")
            }
            let archiveCutoff = Int64(now.timeIntervalSince1970) - Int64(retention.keepArchivedProposalsDays) * 86_400
            let runCutoff = Int64(now.timeIntervalSince1970) - Int64(retention.keepRunRecordsDays) * 86_400
            for (prefix, cutoff) in [("refs/cairn/archive/", archiveCutoff), ("refs/cairn/runs/", runCutoff)] {
                for ref in try repository.references(withPrefix: prefix) {
                    guard let commit = try? repository.commit(ref.target) else { continue }
                    if Int64(commit.committer.time.timeIntervalSince1970) < cutoff { referencesToDrop.append(ref) }
                }
            }
            report.rules.append("decided proposals under refs/cairn/archive/ older than \(retention.keepArchivedProposalsDays) days are dropped")
            report.rules.append("runs under refs/cairn/runs/ older than \(retention.keepRunRecordsDays) days are dropped")
            if let days = retention.squashAgentCommitsDays {
                squashCutoff = Int64(now.timeIntervalSince1970) - Int64(days) * 86_400
                report.rules.append("agent and tick commits on \(branch) older than \(days) days are squashed into one commit per day")
            }
            forgotten = policyForget
        }

        // The rewrite, in memory.
        let dropped = Set(referencesToDrop.map(\.name))
        var tips: [(name: String, target: OID)] = []
        var otherTips: [OID] = []
        for ref in try repository.references(withPrefix: "refs/") where !Self.untouchedReferences.contains(ref.name) && !dropped.contains(ref.name) {
            if try repository.objectHeader(ref.target)?.kind == .commit { tips.append(ref) } else { otherTips.append(ref.target) }
        }
        // A handle of its own: the in-memory store stays attached to it for its lifetime (libgit2 cannot detach
        // one), and nothing written after the prune through `repository` may land in memory.
        let work = try Repository(at: gitDir)
        work.rawTreeCacheLimit = 4 << 20
        let memory = try InMemoryObjects(work)
        defer { try? memory.reset() }
        let rewriter = HistoryRewriter(work, filter: filter, memory: memory)
        rewriter.threads = options.threads
        // A plan needs the new ids, not the objects: unless the squash reads the filtered history back.
        rewriter.storesObjects = !options.dryRun || squashCutoff != nil
        var map = filter.rules.isEmpty ? [:] : try rewriter.rewrite(tips: tips.map(\.target)) { done, total in
            progress(PruneProgress(phase: .rewriting, done: done, total: total))
        }
        if let squashCutoff {
            // The squash works on the filtered history; the map then goes from the original ids to the final ones.
            var squash = HistorySquash(repository: work, cutoff: squashCutoff)
            if let filteredMain = map[mainTip] ?? .some(mainTip) { _ = try squash.squash(line: filteredMain) }
            for ref in tips { if let filtered = map[ref.target] ?? .some(ref.target) { _ = try squash.rebuild(filtered) } }
            if squash.squashed > 0 {
                if map.isEmpty {
                    map = squash.map.mapValues { .some($0) }
                } else {
                    for (old, new) in map { if let new, let final = squash.map[new] { map[old] = .some(final) } }
                }
                report.commitsSquashed = squash.squashed
                report.dayCommits = squash.days
            }
        }
        report.commitsWalked = map.count
        var changes: [RewriteRecord.ReferenceChange] = referencesToDrop.map { .init(name: $0.name, old: $0.target, new: nil) }
        var newTips: [OID] = []
        for ref in tips {
            let mapped = map[ref.target] ?? .some(ref.target)
            if let new = mapped { newTips.append(new) }
            if mapped != ref.target { changes.append(.init(name: ref.name, old: ref.target, new: mapped)) }
        }
        var commitMap: [OID: OID?] = [:]
        for (old, new) in map where new != old {
            commitMap[old] = new
            if rewriter.droppedCommits.contains(old) { report.commitsDropped += 1 } else { report.commitsRewritten += 1 }
        }
        report.commitsRewritten -= report.commitsSquashed
        for change in changes where change.name.hasPrefix(Self.proposalPrefix) {
            let id = String(change.name.dropFirst(Self.proposalPrefix.count))
            if change.new == nil || change.old.map({ rewriter.droppedCommits.contains($0) }) == true {
                report.proposalsEmptied.append(id)
            } else {
                report.proposalsRebased.append(id)
            }
        }
        report.proposalsRebased.sort()
        report.proposalsEmptied.sort()
        if !report.proposalsEmptied.isEmpty {
            report.warnings.append("nothing is left of pending proposal\(report.proposalsEmptied.count == 1 ? "" : "s") "
                                   + "\(report.proposalsEmptied.joined(separator: ", ")) after the rewrite (it only changed what is removed); "
                                   + "reject \(report.proposalsEmptied.count == 1 ? "it" : "them") with `cairn reject`")
        }
        report.referencesDeleted = changes.filter { $0.new == nil }.map(\.name).sorted()
        report.referencesRewritten = changes.filter { $0.new != nil }.map(\.name).sorted()
        if let newMain = map[mainTip] ?? .some(mainTip) {
            let newMainTree = try rewriter.newTree(of: newMain) ?? work.commit(newMain).tree
            if newMainTree != mainTree && !(options.includeCurrent && !removeFromWorkingTree.isEmpty) {
                throw RetentionError.branchTreeChanged(branch: branch)
            }
        }
        let files = try rewriter.droppedFiles()
        rewriter.releaseMemos()
        var versions = 0, bytes = 0
        var paths: [PrunedPath] = []
        // What leaves the store: the removed versions' and folders' entries as stored (a version stored as a small
        // delta frees little). The trees and commits a rewrite replaces are about the size of the new ones.
        let (sizes, stored) = try work.objectSizesAndStoredBytes(files.values.flatMap { $0 } + rewriter.droppedFolders.values.flatMap { $0 })
        for (path, blobs) in files {
            var pathBytes = 0
            for blob in blobs { pathBytes += sizes[blob] ?? 0 }
            paths.append(PrunedPath(path: path, versions: blobs.count, bytes: pathBytes))
            versions += blobs.count
            bytes += pathBytes
        }
        report.paths = paths.sorted { ($0.bytes, $1.path) > ($1.bytes, $0.path) }
        report.fileVersionsRemoved = versions
        report.contentBytesRemoved = bytes
        report.diskBytesBefore = ObjectStoreFiles(repository).diskUsage()
        report.diskBytesReclaimable = stored
        if options.dryRun || changes.isEmpty {
            if !options.dryRun { try? FileManager.default.removeItem(atPath: startMarker) }
            return report
        }

        // The record, then one pack of everything reachable afterwards.
        let receipt = RewriteReceipt(
            operation: report.operation, at: ISOTime.string(now), by: "\(author.name) <\(author.email)>", reason: options.reason,
            forgottenPaths: forgotten, rules: report.rules, commitsRewritten: report.commitsRewritten,
            commitsDropped: report.commitsDropped, referencesDeleted: report.referencesDeleted,
            fileVersionsRemoved: versions, notice: RewriteReceipt.remoteNotice)
        let previousRecord = try repository.referenceTarget(RewriteRecord.reference)
        let record = RewriteRecord(commits: commitMap, references: changes, receipt: receipt)
        let signature = Signature(name: author.name, email: author.email, time: now)
        let recordCommit = try record.write(to: work, parent: previousRecord, author: signature)
        changes.append(.init(name: RewriteRecord.reference, old: previousRecord, new: recordCommit))
        report.record = recordCommit.hex

        report.workingTreeRemoved = try switchAndCompact(
            changes: changes, packedTips: newTips + [recordCommit], otherTips: otherTips,
            removeFromWorkingTree: removeFromWorkingTree, startedAt: startedAt,
            objects: work, memory: memory, progress: progress)
        report.diskBytesAfter = ObjectStoreFiles(repository).diskUsage()
        return report
    }

    /// Writes one pack of everything reachable from `packedTips` and `otherTips` (and the index), then the
    /// journal, then applies it: references switch, reflogs expire, old packs and loose objects older than
    /// `startedAt` go, caches are rebuilt. Returns the working-tree files removed.
    func switchAndCompact(changes: [RewriteRecord.ReferenceChange], packedTips: [OID], otherTips: [OID],
                          removeFromWorkingTree: [String: String], startedAt: Double,
                          objects: Repository, memory: InMemoryObjects?, progress: (PruneProgress) -> Void) throws -> [String] {
        let oldPacks = ObjectStoreFiles(repository).packs()
        // The kept objects' entries are copied from the old packs as they are (no new delta search): most of
        // a history survives a rewrite unchanged.
        let packer = ReachablePack(objects)
        progress(PruneProgress(phase: .packing, done: 0, total: 0))
        let index = try repository.index()
        try index.read(force: true)
        var staged: [OID] = []
        for id in index.entryIDs where !removeFromWorkingTree.values.contains(id.hex) {
            if try objects.objectHeader(id) != nil { staged.append(id) }
        }
        var reachable = try packer.reachable(from: packedTips + otherTips, extra: staged)
        let pack = try packer.write(&reachable) { done, total in
            progress(PruneProgress(phase: .packing, done: done, total: total))
        }.name
        try repository.refreshObjects()
        try memory?.reset()
        CrashPoints.hit(.pruneAfterPack)

        let journal = PruneJournal(pack: pack, oldPacks: oldPacks.filter { $0 != pack }, references: changes,
                                   packedTips: (packedTips + otherTips).map(\.hex), startedAt: startedAt,
                                   removeFromWorkingTree: removeFromWorkingTree)
        try writeJournal(journal)
        CrashPoints.hit(.pruneAfterJournal)
        return try applyPruneJournal(journal, progress: progress)
    }

    /// Finishes a prune that was interrupted after its journal was written; does nothing when none was.
    public func finishInterruptedPrune(now: Date) throws {
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        try finishPruneLocked(progress: { _ in })
    }

    func finishPruneLocked(progress: (PruneProgress) -> Void) throws {
        let path = PruneJournal.path(gitDir: gitDir)
        guard let data = FileManager.default.contents(atPath: path) else { return }
        guard let journal = try? JSONDecoder().decode(PruneJournal.self, from: data) else {
            // A journal is written whole with a rename; an unreadable one was never committed to.
            try? FileManager.default.removeItem(atPath: path)
            return
        }
        _ = try applyPruneJournal(journal, progress: progress)
    }

    private func writeJournal(_ journal: PruneJournal) throws {
        let path = PruneJournal.path(gitDir: gitDir)
        let tmp = path + ".tmp"
        let data = try JSONEncoder().encode(journal)
        let fd = Glibc.open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VaultError.cannotWrite(path: tmp, reason: String(cString: strerror(errno))) }
        let ok = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) == $0.count } && fsync(fd) == 0
        close(fd)
        guard ok, rename(tmp, path) == 0 else { throw VaultError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        let dir = Glibc.open(gitDir + "cairn", O_RDONLY | O_DIRECTORY)
        if dir >= 0 { _ = fsync(dir); close(dir) }
    }

    /// Switches the references, updates the index, expires reflogs, removes the old objects and the derived
    /// caches, then the journal. Every step is idempotent, so a re-run after a crash completes it.
    /// Returns the working-tree files removed.
    private func applyPruneJournal(_ journal: PruneJournal, progress: (PruneProgress) -> Void) throws -> [String] {
        progress(PruneProgress(phase: .switching, done: 0, total: journal.references.count))
        var moved: [String] = []
        var switched = 0
        for change in journal.references {
            let current = try repository.referenceTarget(change.name)
            if current == change.new { continue }
            guard current == change.old else { moved.append(change.name); continue }
            if let new = change.new {
                try repository.updateReference(change.name, to: new, expected: change.old, message: "cairn prune: history rewritten")
            } else if let old = change.old {
                try repository.deleteReference(change.name, expected: old)
            }
            switched += 1
            if switched == 1 { CrashPoints.hit(.pruneMidRefs) }
        }
        let journalPath = PruneJournal.path(gitDir: gitDir)
        if !moved.isEmpty {
            try? FileManager.default.removeItem(atPath: journalPath)
            throw RetentionError.referencesMoved(moved)
        }

        // The index and the working tree (only for forgotten files that are still current).
        var removed: [String] = []
        if !journal.removeFromWorkingTree.isEmpty {
            let index = try repository.index()
            for (path, blob) in journal.removeFromWorkingTree.sorted(by: { $0.key < $1.key }) {
                if index.stagedFile(path: path) != nil { try index.remove(path: path) }
                let file = absolutePath(path)
                if let data = FileManager.default.contents(atPath: file), try Repository.hashBlob(data).hex == blob {
                    try FileManager.default.removeItem(atPath: file)
                    removed.append(path)
                }
            }
            try index.write()
            try? FileManager.default.removeItem(atPath: WorktreeChanges.databasePath(gitDir: gitDir))
        }

        // Reflogs and the files that name old commits, then the objects nothing reaches.
        let packed = Set(journal.packedTips)
        var unpacked: [String] = []
        for ref in try repository.references(withPrefix: "refs/") {
            try repository.deleteReflog(ref.name)
            if !packed.contains(ref.target.hex) { unpacked.append(ref.name) }
        }
        try repository.deleteReflog("HEAD")
        // Reflogs of symbolic references (refs/remotes/origin/HEAD after a clone) and of references already gone.
        let logs = gitDir + "logs/"
        if let names = FileManager.default.enumerator(atPath: logs + "refs")?.allObjects as? [String] {
            for name in names where !name.hasSuffix(".lock") {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: logs + "refs/" + name, isDirectory: &isDir), !isDir.boolValue {
                    try repository.deleteReflog("refs/" + name)
                }
            }
        }
        for name in ["ORIG_HEAD", "FETCH_HEAD", "MERGE_HEAD", "CHERRY_PICK_HEAD"] { unlink(gitDir + name) }
        if !unpacked.isEmpty {
            // A reference written outside cairn's lock during the prune: its objects may be in the old packs.
            try? FileManager.default.removeItem(atPath: journalPath)
            throw RetentionError.referencesMoved(unpacked)
        }
        CrashPoints.hit(.pruneBeforeDelete)
        progress(PruneProgress(phase: .removing, done: 0, total: journal.oldPacks.count))
        var count = 0
        ObjectStoreFiles(repository).remove(packs: journal.oldPacks, looseObjectsOlderThan: Date(timeIntervalSince1970: journal.startedAt)) {
            count += 1
            if count == 3 { CrashPoints.hit(.pruneMidDelete) }
        }
        try repository.refreshObjects()

        // Derived caches keep what was removed (the search index keeps tokens of deleted rows: SQLite 3.40's
        // FTS5 has no secure-delete): delete them; they are rebuilt from git on next use.
        progress(PruneProgress(phase: .reindexing, done: 0, total: 0))
        let cache = gitDir + "cairn/"
        let hadIndex = FileManager.default.fileExists(atPath: cache + "search.sqlite")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        where name.hasPrefix("search.sqlite") || name.hasPrefix("ledger-") || name == "tick-triggers.json" {
            try? FileManager.default.removeItem(atPath: cache + name)
        }
        if hadIndex { _ = try? rebuildIndex() }
        // So do the work folders command agents keep between runs (`AgentWorkFolder`).
        AgentWorkFolder.removeAll(in: NSTemporaryDirectory(), gitDir: gitDir, agents: agentCatalog().agents.map(\.name))
        try? FileManager.default.removeItem(atPath: cache + "prune-start")
        try FileManager.default.removeItem(atPath: journalPath)
        return removed
    }

    /// Refuses paths that cannot be vault paths.
    static func checkForgetPath(_ path: String) throws {
        if path.trimmingCharacters(in: .whitespaces).isEmpty { throw RetentionError.invalidPath(path, reason: "empty") }
        if path.hasPrefix("/") { throw RetentionError.invalidPath(path, reason: "give a path relative to the vault root") }
        if path.split(separator: "/").contains("..") { throw RetentionError.invalidPath(path, reason: "'..' leaves the vault") }
        if path == ".git" || path.hasPrefix(".git/") { throw RetentionError.invalidPath(path, reason: "the repository itself") }
        if ["*", "**", "**/*"].contains(path) { throw RetentionError.invalidPath(path, reason: "this would forget every file") }
    }
}
