import CairnGit
import Foundation

/// The index cairn works with, and whether it had to be rebuilt.
struct UsableIndex {
    let index: Index
    /// Set when `.git/index` could not be read and a replacement built from `HEAD` is in use;
    /// explains what happened and how to avoid the slow path next time.
    let warning: String?
    /// Where the rebuilt index must be moved to replace `.git/index` after a successful write.
    let replaces: String?
}

extension Vault {
    /// Opens the repository's index, rebuilding it in a side file from `HEAD` when a newer git wrote it
    /// in a format libgit2 1.5 cannot read (`index.skipHash`, split index). A sparse checkout is refused:
    /// files outside the sparse cone would look deleted.
    func usableIndex() throws -> UsableIndex {
        if try repository.configBool("core.sparseCheckout") == true || (try repository.configBool("index.sparse")) == true {
            throw VaultError.unsupportedIndex(
                reason: "this repository uses a sparse checkout, so files outside the checkout would look deleted",
                fix: "run `git sparse-checkout disable` in \(root)")
        }
        do {
            let index = try repository.index()
            return UsableIndex(index: index, warning: nil, replaces: nil)
        } catch {
            let indexPath = gitDir + "index"
            let why = Self.describeIndexFormat(path: indexPath) ?? "\(error)"
            let side = gitDir + "cairn/index.rebuilt"
            try? FileManager.default.createDirectory(atPath: gitDir + "cairn", withIntermediateDirectories: true)
            try? FileManager.default.removeItem(atPath: side)
            let index = try Index.open(path: side, repository: repository)
            if let head = try head() { try index.readTree(try repository.commit(head).tree) }
            try repository.setIndex(index)
            let newerFormat = ["skipHash", "split index", "sparse index"].contains { why.contains($0) }
            let warning = newerFormat
                ? newerFormatWarning(why)
                : "the index (.git/index) is damaged (\(why)); cairn rebuilt it from \(branch) — your files are untouched, only git's cache of them"
            return UsableIndex(index: index, warning: warning, replaces: indexPath)
        }
    }

    func newerFormatWarning(_ why: String) -> String {
        "\(why); cairn rebuilt the index from \(branch) (every file is re-read, so this is slower). "
            + "To keep a format cairn reads directly: `git config index.skipHash false; git config core.splitIndex false; git config --unset feature.manyFiles; git update-index --no-split-index`"
    }

    /// What `status` says about `.git/index` without reading its entries (it does not use the index):
    /// the index.skipHash format, which a snapshot will have to rebuild, seen from the file's last bytes.
    func indexFormatWarning() -> String? {
        guard let handle = FileHandle(forReadingAtPath: gitDir + "index") else { return nil }
        defer { try? handle.close() }
        guard let end = try? handle.seekToEnd(), end >= 32, (try? handle.seek(toOffset: end - 20)) != nil,
              let tail = try? handle.read(upToCount: 20), tail.count == 20, tail.allSatisfy({ $0 == 0 }) else { return nil }
        return newerFormatWarning("the index was written with index.skipHash (set by feature.manyFiles in newer git)")
    }

    /// Moves a rebuilt index over `.git/index` once it has been written.
    func installRebuiltIndex(_ usable: UsableIndex) throws {
        guard let target = usable.replaces, let source = usable.index.filePath else { return }
        try usable.index.write()
        guard rename(source, target) == 0 else {
            throw VaultError.brokenRepository(path: target, reason: "could not replace the index (\(String(cString: strerror(errno))))")
        }
    }

    /// Names the index feature that makes `.git/index` unreadable to libgit2, from its bytes.
    static func describeIndexFormat(path: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path), data.count >= 32 else {
            return "the index file is missing or truncated"
        }
        let bytes = [UInt8](data)
        guard bytes[0..<4] == [0x44, 0x49, 0x52, 0x43] else { return "the index file is not a git index (bad signature)" }
        if bytes.suffix(20).allSatisfy({ $0 == 0 }) {
            return "the index was written with index.skipHash (set by feature.manyFiles in newer git)"
        }
        if data.range(of: Data("link".utf8)) != nil { return "the index is a split index (core.splitIndex)" }
        if data.range(of: Data("sdir".utf8)) != nil { return "the index is a sparse index" }
        return nil
    }
}
