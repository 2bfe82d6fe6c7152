import CGit2
import Foundation

/// The files of a repository's object store (`objects/`): packs and loose objects, for removing what a new
/// pack made redundant. Knows nothing about reachability: the caller decides what may go.
public struct ObjectStoreFiles {
    /// The `objects/` folder, with a trailing slash.
    public let objects: String

    public init(_ repository: Repository) { objects = repository.objectsDirectory }

    /// The packs present, by name (`pack-<hash>`), each counted by its index file.
    public func packs() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: objects + "pack")) ?? []
        return names.filter { $0.hasPrefix("pack-") && $0.hasSuffix(".idx") }.map { String($0.dropLast(4)) }.sorted()
    }

    /// Bytes used by packs and loose objects (what `git count-objects -v` calls size and size-pack).
    public func diskUsage() -> Int {
        var total = 0
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: objects + "pack")) ?? [] {
            total += (try? fm.attributesOfItem(atPath: objects + "pack/" + name)[.size] as? Int) ?? 0
        }
        forEachLooseObject { _, st in total += Int(st.st_size) }
        return total
    }

    /// Calls `body` with the path and `stat` of every loose object file.
    public func forEachLooseObject(_ body: (String, stat) -> Void) {
        let fm = FileManager.default
        for folder in (try? fm.contentsOfDirectory(atPath: objects)) ?? [] where folder.utf8.count == 2 && folder.allSatisfy(\.isHexDigit) {
            let dir = objects + folder
            for name in (try? fm.contentsOfDirectory(atPath: dir)) ?? [] where name.utf8.count == 38 && name.allSatisfy(\.isHexDigit) {
                let path = dir + "/" + name
                var st = stat()
                if lstat(path, &st) == 0 { body(path, st) }
            }
        }
    }

    /// Removes the packs named (index first, so no reader finds an index whose pack is gone) and every loose
    /// object last modified before `cutoff` — objects a writer created since then are kept (the grace period).
    /// Also removes the commit-graph and multi-pack-index files, which name objects that may be gone.
    /// Returns how many files were removed. `beforeEach` runs before each removal (crash tests hook it).
    @discardableResult
    public func remove(packs: [String], looseObjectsOlderThan cutoff: Date, beforeEach: () -> Void = {}) -> Int {
        var removed = 0
        func unlinkFile(_ path: String) {
            beforeEach()
            if unlink(path) == 0 { removed += 1 }
        }
        for name in ["info/commit-graph", "info/multi-pack-index", "pack/multi-pack-index"] where access(objects + name, F_OK) == 0 {
            unlinkFile(objects + name)
        }
        if let chain = try? FileManager.default.contentsOfDirectory(atPath: objects + "info/commit-graphs") {
            for name in chain { unlinkFile(objects + "info/commit-graphs/" + name) }
        }
        for pack in packs {
            for ext in [".idx", ".pack", ".rev", ".bitmap", ".promisor"] where access(objects + "pack/" + pack + ext, F_OK) == 0 {
                unlinkFile(objects + "pack/" + pack + ext)
            }
        }
        let limit = cutoff.timeIntervalSince1970
        var folders = Set<String>()
        forEachLooseObject { path, st in
            guard Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9 < limit else { return }
            unlinkFile(path)
            folders.insert((path as NSString).deletingLastPathComponent)
        }
        for folder in folders { rmdir(folder) } // only when empty
        return removed
    }
}
