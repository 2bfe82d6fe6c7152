import CairnGit
import Foundation

/// A working-tree update that must finish even if cairn dies: written before main moves, removed after.
struct CheckoutJournal: Codable {
    /// The commit main moves to; the journal applies only once main has it.
    let commit: String
    let fromTree: String
    let toTree: String
    let paths: [String]

    static func path(gitDir: String) -> String { gitDir + "cairn/checkout-journal.json" }
}

extension Vault {
    /// Moves main from `old` to `new` by compare-and-swap and brings the working tree along for the paths
    /// that changed, never touching a file the operator edited (those are returned as kept).
    ///
    /// Crash-safe: a journal written before the ref moves lets `finishInterruptedCheckout` complete the
    /// working-tree update, so an approved change is never silently reverted by the next snapshot.
    func moveMain(from old: Commit, to new: OID, newTree: OID, message: String, as move: MainMove) throws -> (updated: [String], kept: [String]) {
        let diff = try repository.diff(from: old.tree, to: newTree, options: { var o = DiffOptions(); o.detectRenames = false; return o }())
        var paths = Set<String>()
        // Paths only: no blob is loaded to decide whether it is binary (that read every changed file and the index).
        for d in diff.deltas(checkingBinary: false) { paths.insert(d.oldPath); paths.insert(d.newPath) }
        let journal = CheckoutJournal(commit: new.hex, fromTree: old.tree.hex, toTree: newTree.hex, paths: paths.sorted())
        let journalPath = CheckoutJournal.path(gitDir: gitDir)
        try? FileManager.default.createDirectory(atPath: gitDir + "cairn", withIntermediateDirectories: true)
        try JSONEncoder().encode(journal).write(to: URL(fileURLWithPath: journalPath), options: .atomic)
        CrashPoints.hit(move.beforeRef)
        do {
            try repository.updateReference(branchRef, to: new, expected: old.oid, message: message)
        } catch {
            try? FileManager.default.removeItem(atPath: journalPath)
            if case GitError.modified = error { throw VaultError.concurrentUpdate(ref: branchRef) }
            throw error
        }
        CrashPoints.hit(move.afterRef)
        let result = try applyCheckout(journal)
        CrashPoints.hit(move.afterCheckout)
        try? FileManager.default.removeItem(atPath: journalPath)
        return result
    }

    func applyCheckout(_ journal: CheckoutJournal) throws -> (updated: [String], kept: [String]) {
        guard let to = OID(hex: journal.toTree), let from = OID(hex: journal.fromTree) else { return ([], []) }
        let usable = try usableIndex()
        let result = try repository.checkout(tree: to, paths: journal.paths, baseline: from)
        if usable.replaces != nil { try installRebuiltIndex(usable) }
        return (result.updated, result.skipped)
    }

    /// Completes a working-tree update that a crash interrupted (see `moveMain`). Safe to call any time.
    func finishInterruptedCheckout() throws {
        let journalPath = CheckoutJournal.path(gitDir: gitDir)
        guard let data = FileManager.default.contents(atPath: journalPath) else { return }
        defer { try? FileManager.default.removeItem(atPath: journalPath) }
        guard let journal = try? JSONDecoder().decode(CheckoutJournal.self, from: data),
              let commit = OID(hex: journal.commit), let main = try head(),
              try repository.isAncestor(commit, of: main) else { return }
        if let to = OID(hex: journal.toTree) { try removeHalfWrittenFiles(journal.paths, target: to) }
        _ = try applyCheckout(journal)
    }

    /// git's checkout writes each file in place (open with truncation, then write), so a kill can leave a
    /// file empty or cut short, or whole but not yet in the index. The safe checkout would take any of those
    /// for an operator edit and keep it, and the next snapshot would commit it, undoing the change. A file
    /// whose bytes are a prefix of (or equal to) the version being checked out is that half-done work:
    /// it is removed so the checkout writes it again. Anything else is the operator's and is kept.
    func removeHalfWrittenFiles(_ paths: [String], target: OID) throws {
        for path in paths {
            guard let entry = try repository.entry(at: path, in: target),
                  entry.mode == 0o100644 || entry.mode == 0o100755 else { continue }
            let full = root + "/" + path
            var st = stat()
            guard lstat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            let wanted = try repository.blob(entry.oid)
            guard st.st_size <= wanted.count, let have = FileManager.default.contents(atPath: full),
                  have.count <= wanted.count, wanted.prefix(have.count) == have else { continue }
            unlink(full)
        }
    }
}
