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

    /// How long a write waits for another git process's lock (`index.lock`, a ref lock) to go away.
    static let lockWaitSeconds: Double = 2

    /// Checks the vault can be written: stale git locks recovered, `HEAD` on the vault branch, no merge in progress.
    func prepareForWrite(now: Date) throws {
        var locks = LockFiles.recover(gitDir: gitDir, now: now)
        // Another git client (the obsidian-git plugin committing on its timer, an editor's git integration) holds
        // a lock for a moment: wait up to `lockWaitSeconds` for it to finish before saying who holds it.
        let waitUntil = ProcessInfo.processInfo.systemUptime + Self.lockWaitSeconds
        while !locks.held.isEmpty && ProcessInfo.processInfo.systemUptime < waitUntil {
            usleep(50_000)
            locks = LockFiles.recover(gitDir: gitDir, now: now)
        }
        if let held = locks.held.first {
            throw VaultError.locked(path: gitDir + held.path, reason: held.reason
                + " (still after \(Int(Self.lockWaitSeconds)) s; another git client, such as Obsidian's git plugin, may be committing); wait for it to finish")
        }
        if let op = repository.stateInProgress {
            throw VaultError.cannotAdopt(path: root, reason: "a git \(op) is in progress; finish or abort it with git first")
        }
        let headRef = try repository.headReferenceName()
        guard headRef == branchRef else {
            throw VaultError.wrongBranch(expected: branch, actual: headRef ?? "a detached HEAD")
        }
        try finishInterruptedCheckout()
        try finishInterruptedIndexUpdate()
    }

    /// Where a snapshot notes, before moving the branch, which paths git's index must follow.
    var indexJournalPath: String { gitDir + "cairn/index-journal.json" }

    /// Brings git's index up to date for the paths of a snapshot that died after moving the branch and
    /// before writing the index (see `snapshotAttempt`): those paths are staged as the branch has them,
    /// without stat data, so `git status` compares their content. Safe to call any time.
    func finishInterruptedIndexUpdate() throws {
        guard let data = FileManager.default.contents(atPath: indexJournalPath) else { return }
        defer { try? FileManager.default.removeItem(atPath: indexJournalPath) }
        guard let journal = try? JSONDecoder().decode(CheckoutJournal.self, from: data),
              let commit = OID(hex: journal.commit), let main = try head(),
              try repository.isAncestor(commit, of: main) else { return }
        let tree = try repository.commit(main).tree
        let usable = try usableIndex()
        for path in journal.paths {
            if let entry = try repository.entry(at: path, in: tree), entry.kind != .tree, entry.kind != .submodule {
                try usable.index.add(path: path, oid: entry.oid, mode: entry.mode)
            } else {
                try usable.index.remove(path: path)
            }
        }
        try writeIndex(usable)
    }

    /// One try: nil when the branch moved under us and the caller should try again.
    private func snapshotAttempt(_ options: SnapshotOptions, author: OperatorIdentity, now: Date) throws -> SnapshotResult? {
        let parent = try head()
        let parentTree = try parent.map { try repository.commit($0).tree }
        if try repository.configBool("core.sparseCheckout") == true || (try repository.configBool("index.sparse")) == true {
            _ = try usableIndex()  // refused, with the reason and the fix
        }
        var warnings: [String] = []
        let entries = try workingTreeEdits(against: parentTree, paths: options.paths)

        var problems: [FileProblem] = []
        var accepted: [StatusEntry] = []
        let templates = entries.isEmpty ? ObsidianSettings() : ObsidianSettings.read(root: root)
        for entry in entries {
            if let problem = validateForCommit(entry, maxFileBytes: options.maxFileBytes, templates: templates) {
                if !problem.blocksCommit {
                    warnings.append("\(problem.problem) (committed as it is; read as a note without front matter)")
                } else if problem.isFatal || !options.force {
                    problems.append(problem.problem)
                    continue
                } else {
                    warnings.append("committed anyway: \(problem.problem)")
                }
            }
            accepted.append(entry)
        }
        for collision in try nameCollisions(accepted, parentTree: parentTree) {
            if options.force { warnings.append("committed anyway: \(collision.problem)") } else { problems.append(collision.problem) }
        }
        if !problems.isEmpty { throw VaultError.invalidFiles(problems) }
        // Nothing to commit: git's index is left as it is (not even read).
        if accepted.isEmpty { return SnapshotResult(commit: nil, message: nil, changes: [], warnings: warnings) }

        // git's index is kept right for plain git users: the committed paths are staged with their stat, so
        // `git status` afterwards is clean and fast.
        let usable = try usableIndex()
        if let w = usable.warning { warnings.append(w) }
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
            // Nothing differs from the branch after all (the files changed back meanwhile): refresh the index.
            try writeIndex(usable)
            return SnapshotResult(commit: nil, message: nil, changes: [], warnings: warnings)
        }
        let message = Trailer.message(subject: options.message ?? Self.defaultSnapshotMessage(summary),
                                      body: options.message == nil ? Self.changeList(summary) : "",
                                      trailers: [Trailer("Cairn-Operation", "snapshot")])
        let signature = Signature(name: author.name, email: author.email, time: now)
        let commit = try repository.createCommit(tree: tree, parents: parent.map { [$0] } ?? [],
                                                 author: signature, committer: signature, message: message)
        // If cairn dies between moving the branch and writing git's index, the next write stages these paths.
        let journal = CheckoutJournal(commit: commit.hex, fromTree: parentTree?.hex ?? "", toTree: tree.hex,
                                      paths: changes.map(\.path))
        try? FileManager.default.createDirectory(atPath: gitDir + "cairn", withIntermediateDirectories: true)
        try JSONEncoder().encode(journal).write(to: URL(fileURLWithPath: indexJournalPath), options: .atomic)
        CrashPoints.hit(.snapshotBeforeRef)
        do {
            try repository.updateReference(branchRef, to: commit, expected: parent, message: "cairn snapshot")
        } catch GitError.modified {
            try? FileManager.default.removeItem(atPath: indexJournalPath)
            return nil
        } catch GitError.exists {
            try? FileManager.default.removeItem(atPath: indexJournalPath)
            return nil
        }
        CrashPoints.hit(.snapshotAfterRef)
        try writeIndex(usable)
        try? FileManager.default.removeItem(atPath: indexJournalPath)
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

    func writeIndex(_ usable: UsableIndex) throws {
        if usable.replaces != nil { try installRebuiltIndex(usable) } else { try usable.index.write() }
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
