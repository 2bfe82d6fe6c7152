import CairnGit
import Foundation

/// One changed path, as cairn reports it.
public struct FileChange: Hashable, Sendable, Codable, CustomStringConvertible {
    public let path: String
    public let oldPath: String?
    public let kind: ChangeKind

    public var description: String {
        if let oldPath { return "\(kind.rawValue) \(oldPath) -> \(path)" }
        return "\(kind.rawValue) \(path)"
    }
}

/// What `snapshot` did.
public struct SnapshotResult: Sendable, Codable {
    /// The new commit, nil when there was nothing to commit.
    public let commit: String?
    public let message: String?
    public let changes: [FileChange]
    /// Files skipped with `force` or problems that did not block (nested repositories).
    public let warnings: [String]
}

/// Options for `snapshot`.
public struct SnapshotOptions: Sendable {
    public var message: String?
    /// Commit files even when their front matter or JSON is invalid.
    public var force = false
    /// Files larger than this are refused (git is a poor store for them).
    public var maxFileBytes = 50 * 1024 * 1024
    /// Only edits under these folders or files (vault-relative, no globs); empty: the whole vault.
    public var paths: [String] = []
    public init(message: String? = nil, force: Bool = false) {
        self.message = message
        self.force = force
    }
}

extension Vault {
    /// Commits every operator edit in the working tree (new, modified, deleted, renamed files) as one commit on
    /// the vault's branch, authored by `author`.
    ///
    /// Guarantees: the working tree is never modified; the commit is built from trees and the branch moves by
    /// compare-and-swap, so a concurrent writer is never overwritten; on any error nothing is committed; if the
    /// process dies midway, every edit is still in the working tree and the next snapshot picks it up.
    public func snapshot(_ options: SnapshotOptions = SnapshotOptions(), author: OperatorIdentity, now: Date) throws -> SnapshotResult {
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        try prepareForWrite(now: now)
        return try snapshotLocked(options, author: author, now: now)
    }

    /// `snapshot` for callers that already hold the vault lock and ran `prepareForWrite`.
    func snapshotLocked(_ options: SnapshotOptions, author: OperatorIdentity, now: Date) throws -> SnapshotResult {
        for _ in 0..<5 {
            if let result = try snapshotAttempt(options, author: author, now: now) { return result }
        }
        throw VaultError.concurrentUpdate(ref: branchRef)
    }

    /// Checks the vault can be written: stale git locks recovered, `HEAD` on the vault branch, no merge in progress.
    func prepareForWrite(now: Date) throws {
        let locks = LockFiles.recover(gitDir: gitDir, now: now)
        if let held = locks.held.first {
            throw VaultError.locked(path: gitDir + held.path, reason: held.reason + "; wait for it to finish")
        }
        if let op = repository.stateInProgress {
            throw VaultError.cannotAdopt(path: root, reason: "a git \(op) is in progress; finish or abort it with git first")
        }
        let headRef = try repository.headReferenceName()
        guard headRef == branchRef else {
            throw VaultError.wrongBranch(expected: branch, actual: headRef ?? "a detached HEAD")
        }
        try finishInterruptedCheckout()
    }

    /// One try: nil when the branch moved under us and the caller should try again.
    private func snapshotAttempt(_ options: SnapshotOptions, author: OperatorIdentity, now: Date) throws -> SnapshotResult? {
        let parent = try head()
        let parentTree = try parent.map { try repository.commit($0).tree }
        let usable = try usableIndex()
        var warnings: [String] = usable.warning.map { [$0] } ?? []
        let stampValidBefore = options.paths.isEmpty || indexKnownToMatchHead()
        let entries = try workingTreeStatus(usable, paths: options.paths)

        var problems: [FileProblem] = []
        var accepted: [StatusEntry] = []
        for entry in entries {
            if entry.path.hasSuffix("/") {
                warnings.append("\(entry.path): a nested git repository; not committed")
                continue
            }
            if let problem = validateForCommit(entry, maxFileBytes: options.maxFileBytes) {
                if problem.isFatal || !options.force {
                    problems.append(problem.problem)
                    continue
                }
                warnings.append("committed anyway: \(problem.problem)")
            }
            accepted.append(entry)
        }
        for collision in try nameCollisions(accepted, parentTree: parentTree) {
            if options.force { warnings.append("committed anyway: \(collision.problem)") } else { problems.append(collision.problem) }
        }
        if !problems.isEmpty { throw VaultError.invalidFiles(problems) }

        let index = usable.index
        var changes: [TreeChange] = []
        var vanished = Set<String>()
        for entry in accepted {
            switch entry.kind {
            case .deleted:
                try index.remove(path: entry.path)
                changes.append(.remove(path: entry.path))
            default:
                // An editor that saves by write-and-rename can make a file vanish between status and reading it:
                // such a file is left for the next snapshot (it is not an edit lost, it is not there).
                guard try addToIndex(index, entry.path) else {
                    vanished.insert(entry.path)
                    warnings.append("\(entry.path): changed or removed while the snapshot ran; the next snapshot takes it")
                    continue
                }
                if let old = entry.oldPath {
                    try index.remove(path: old)
                    changes.append(.remove(path: old))
                }
                guard let staged = index.stagedFile(path: entry.path) else { continue }
                changes.append(.upsert(path: entry.path, oid: staged.oid, mode: staged.mode))
            }
        }
        accepted.removeAll { vanished.contains($0.path) }
        let summary = accepted.map { FileChange(path: $0.path, oldPath: $0.oldPath, kind: $0.kind == .untracked ? .added : $0.kind) }
        let tree = try repository.updateTree(base: parentTree, changes: changes)
        if tree == parentTree || (parentTree == nil && changes.isEmpty) {
            // Nothing differs from the branch. With nothing staged either, the index needs no rewrite (56 ms at
            // 100k notes); otherwise (an index left stale by a crash, a rebuilt index) refresh it.
            if !accepted.isEmpty || usable.replaces != nil {
                try writeIndex(usable, stamp: stampValidBefore)
            } else if options.paths.isEmpty && entries.isEmpty {
                stampIndexMatchesHead() // a full status found nothing staged: the index matches the branch
            }
            return SnapshotResult(commit: nil, message: nil, changes: [], warnings: warnings)
        }
        let message = Trailer.message(subject: options.message ?? Self.defaultSnapshotMessage(summary),
                                      body: options.message == nil ? Self.changeList(summary) : "",
                                      trailers: [Trailer("Cairn-Operation", "snapshot")])
        let signature = Signature(name: author.name, email: author.email, time: now)
        let commit = try repository.createCommit(tree: tree, parents: parent.map { [$0] } ?? [],
                                                 author: signature, committer: signature, message: message)
        CrashPoints.hit("snapshot.before-ref")
        do {
            try repository.updateReference(branchRef, to: commit, expected: parent, message: "cairn snapshot")
        } catch GitError.modified {
            return nil
        } catch GitError.exists {
            return nil
        }
        CrashPoints.hit("snapshot.after-ref")
        // A partial snapshot leaves the index matching the branch only if it did before.
        try writeIndex(usable, stamp: stampValidBefore)
        warnings += secretWarnings(for: changes)
        return SnapshotResult(commit: commit.hex, message: message, changes: summary, warnings: warnings)
    }

    /// Stages the working-tree file at `path`; false when it no longer exists (removed or renamed away meanwhile).
    /// A read that fails because the file was replaced mid-read is tried once more.
    private func addToIndex(_ index: Index, _ path: String) throws -> Bool {
        var st = stat()
        for attempt in 0..<2 {
            do {
                try index.add(path: path)
                return true
            } catch {
                guard lstat(absolutePath(path), &st) == 0 else { return false }
                if attempt == 1 { throw error }
            }
        }
        return true
    }

    func writeIndex(_ usable: UsableIndex, stamp: Bool = true) throws {
        if usable.replaces != nil { try installRebuiltIndex(usable) } else { try usable.index.write() }
        if stamp { stampIndexMatchesHead() } else { try? FileManager.default.removeItem(atPath: indexStampPath) }
    }

    /// "Edit memory/core/x.md" for one file, "Snapshot: 2 edited, 1 added" for more.
    static func defaultSnapshotMessage(_ changes: [FileChange]) -> String {
        if changes.count == 1, let c = changes.first {
            switch c.kind {
            case .added, .untracked: return "Add \(c.path)"
            case .deleted: return "Delete \(c.path)"
            case .renamed: return "Rename \(c.oldPath ?? "?") to \(c.path)"
            default: return "Edit \(c.path)"
            }
        }
        let order: [(ChangeKind, String)] = [(.modified, "edited"), (.added, "added"), (.deleted, "deleted"), (.renamed, "renamed"), (.typechange, "changed type")]
        let parts = order.compactMap { kind, word -> String? in
            let n = changes.filter { $0.kind == kind }.count
            return n > 0 ? "\(n) \(word)" : nil
        }
        return "Snapshot: " + parts.joined(separator: ", ")
    }

    static func changeList(_ changes: [FileChange], limit: Int = 30) -> String {
        guard changes.count > 1 else { return "" }
        var lines = changes.prefix(limit).map { c -> String in
            let mark: String
            switch c.kind {
            case .added, .untracked: mark = "A"
            case .deleted: mark = "D"
            case .renamed: mark = "R"
            default: mark = "M"
            }
            return c.oldPath.map { "\(mark) \($0) -> \(c.path)" } ?? "\(mark) \(c.path)"
        }
        if changes.count > limit { lines.append("… and \(changes.count - limit) more") }
        return lines.joined(separator: "\n")
    }
}
