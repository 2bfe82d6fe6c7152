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
        var oldByName: [[UInt8]: TreeEntry] = [:]
        oldByName.reserveCapacity(oldEntries.count)
        for entry in oldEntries { oldByName[entry.nameBytes] = entry }
        for entry in newEntries {
            let previous = oldByName.removeValue(forKey: entry.nameBytes)
            if previous == entry { continue }
            try compareEntries(repository, path: prefix + entry.name, previous, entry, into: &out)
        }
        for entry in oldByName.values {
            try compareEntries(repository, path: prefix + entry.name, entry, nil, into: &out)
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
