import CairnGit
import Foundation

/// Remembers that `.git/index` matched the branch's tree when cairn last wrote both, so status can skip
/// comparing HEAD with the index (a full walk of every tree) and compare only the index with the working tree.
///
/// The stamp pairs the index file's trailing checksum with the tree id. Any change to the index by anyone
/// (`git add`, a checkout) changes its checksum, and any commit changes the tree, so a stale stamp is never
/// trusted: status then falls back to the full comparison. Derived data in `.git/cairn/`; deleting it is safe.
extension Vault {
    var indexStampPath: String { gitDir + "cairn/index-stamp" }

    /// The checksum at the end of `.git/index`, nil when unreadable or written without one (`index.skipHash`).
    func indexChecksum() -> String? {
        guard let handle = FileHandle(forReadingAtPath: gitDir + "index") else { return nil }
        defer { try? handle.close() }
        guard let end = try? handle.seekToEnd(), end >= 32 else { return nil }
        try? handle.seek(toOffset: end - 20)
        guard let bytes = try? handle.read(upToCount: 20), bytes.count == 20, bytes.contains(where: { $0 != 0 }) else { return nil }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }

    /// Records that the index now matches the branch's tree. Call only right after writing both.
    func stampIndexMatchesHead() {
        guard let sum = indexChecksum(), let head = try? head(), let tree = try? repository.commit(head).tree else { return }
        try? FileManager.default.createDirectory(atPath: gitDir + "cairn", withIntermediateDirectories: true)
        try? Data("\(sum) \(tree.hex)\n".utf8).write(to: URL(fileURLWithPath: indexStampPath), options: .atomic)
    }

    /// True when the stamp proves the index still matches the branch's tree.
    func indexKnownToMatchHead() -> Bool {
        guard let text = try? String(contentsOfFile: indexStampPath, encoding: .utf8) else { return false }
        let parts = text.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard parts.count == 2, let sum = indexChecksum(), parts[0] == sum,
              let head = try? head(), let tree = try? repository.commit(head).tree else { return false }
        return parts[1] == tree.hex
    }

    /// Working-tree changes against the branch, taking the fast path when the index is known to match it.
    func workingTreeStatus(_ usable: UsableIndex, paths: [String] = []) throws -> [StatusEntry] {
        var options = StatusOptions()
        options.paths = paths
        options.workdirOnly = usable.replaces == nil && indexKnownToMatchHead()
        return try repository.status(options)
    }
}
