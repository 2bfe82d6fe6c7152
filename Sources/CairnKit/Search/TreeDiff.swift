import CairnGit
import Foundation

/// The files that differ between two trees of `main`, for the index's incremental update.
///
/// Walks both trees together and never enters a subtree whose id is the same on both sides, so it
/// reads only the trees on changed paths: a commit of 10 notes reads about 20 trees of a 100k-note
/// vault. (libgit2's tree-to-tree diff iterates every entry of both trees, loading every subtree.)
enum TreeDiff {
    /// One changed path. `old`/`new` are the file entries on each side (nil: no file there — absent,
    /// a folder, or a submodule). Never both nil, never equal.
    struct Change: Sendable {
        let path: String
        let old: TreeEntry?
        let new: TreeEntry?
    }

    /// The changed files between `old` and `new` (nil: the empty tree), in no particular order.
    static func changes(_ repository: Repository, from old: OID?, to new: OID?) throws -> [Change] {
        var out: [Change] = []
        try compareTrees(repository, prefix: "", old, new, into: &out)
        return out
    }

    private static func compareTrees(_ repository: Repository, prefix: String, _ old: OID?, _ new: OID?,
                                     into out: inout [Change]) throws {
        guard old != new else { return }
        let oldEntries = try old.map { try repository.tree($0).entries } ?? []
        let newEntries = try new.map { try repository.tree($0).entries } ?? []
        // Both lists are in git's tree order: one merge pass, no lookup table.
        var i = 0, j = 0
        while i < oldEntries.count || j < newEntries.count {
            let order = i == oldEntries.count ? 1 : j == newEntries.count ? -1 : gitOrder(oldEntries[i], newEntries[j])
            if order < 0 {
                try compareEntries(repository, path: prefix + oldEntries[i].name, oldEntries[i], nil, into: &out)
                i += 1
            } else if order > 0 {
                try compareEntries(repository, path: prefix + newEntries[j].name, nil, newEntries[j], into: &out)
                j += 1
            } else {
                if oldEntries[i] != newEntries[j] {
                    try compareEntries(repository, path: prefix + newEntries[j].name, oldEntries[i], newEntries[j], into: &out)
                }
                i += 1
                j += 1
            }
        }
    }

    /// Git's order of tree entries: by name bytes, a folder's name compared as if it ended in `/`.
    /// Entries of the same name compare equal (a file replaced by a folder is one change).
    static func gitOrder(_ a: TreeEntry, _ b: TreeEntry) -> Int {
        a.nameBytes.withUnsafeBufferPointer { x in
            b.nameBytes.withUnsafeBufferPointer { y in
                let n = min(x.count, y.count)
                for k in 0..<n where x[k] != y[k] { return x[k] < y[k] ? -1 : 1 }
                if x.count == y.count { return 0 }
                // One name is a prefix of the other: the next byte is the longer name's, or `/` for a folder.
                let nextA: UInt8 = x.count > n ? x[n] : (a.kind == .tree ? 0x2f : 0)
                let nextB: UInt8 = y.count > n ? y[n] : (b.kind == .tree ? 0x2f : 0)
                return nextA < nextB ? -1 : nextA > nextB ? 1 : (x.count < y.count ? -1 : 1)
            }
        }
    }

    private static func compareEntries(_ repository: Repository, path: String, _ old: TreeEntry?, _ new: TreeEntry?,
                                       into out: inout [Change]) throws {
        let oldTree = old?.kind == .tree ? old?.oid : nil
        let newTree = new?.kind == .tree ? new?.oid : nil
        if oldTree != nil || newTree != nil {
            try compareTrees(repository, prefix: path + "/", oldTree, newTree, into: &out)
        }
        let oldFile = old.flatMap { $0.kind == .tree || $0.kind == .submodule ? nil : $0 }
        let newFile = new.flatMap { $0.kind == .tree || $0.kind == .submodule ? nil : $0 }
        if oldFile != newFile { out.append(Change(path: path, old: oldFile, new: newFile)) }
    }
}
