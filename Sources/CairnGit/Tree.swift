import CGit2
import Foundation

/// The kind of object a tree entry points to, from its file mode.
public enum EntryKind: Sendable, Hashable {
    case blob, executable, symlink, tree, submodule
}

/// One entry of a tree: a plain value copied out of libgit2.
public struct TreeEntry: Hashable, Sendable, CustomStringConvertible {
    /// The name as bytes (git names need not be UTF-8).
    public let nameBytes: [UInt8]
    public let oid: OID
    public let mode: UInt32

    /// The name, with invalid UTF-8 replaced.
    public var name: String { String(decoding: nameBytes, as: UTF8.self) }

    public var kind: EntryKind {
        switch mode {
        case 0o040000: return .tree
        case 0o100755: return .executable
        case 0o120000: return .symlink
        case 0o160000: return .submodule
        default: return .blob
        }
    }

    public var description: String { "\(String(mode, radix: 8)) \(oid) \(name)" }
}

/// A file in a flattened tree: its full path from the root.
public struct TreeFile: Hashable, Sendable {
    public let path: String
    public let oid: OID
    public let mode: UInt32

    public init(path: String, oid: OID, mode: UInt32) {
        self.path = path
        self.oid = oid
        self.mode = mode
    }
}

/// A git tree, read fully into memory (entries are copied out; the handle is freed at once).
public struct Tree: Sendable {
    public let oid: OID
    public let entries: [TreeEntry]

    /// The entry with this exact name in this tree (not recursive).
    public func entry(named name: String) -> TreeEntry? {
        let bytes = Array(name.utf8)
        return entries.first { $0.nameBytes == bytes }
    }
}

/// A change to apply to a tree: add or replace a file, or remove a path.
public enum TreeChange: Hashable, Sendable {
    /// Adds or replaces the file at `path` (`/`-separated) with blob `oid` and `mode`.
    case upsert(path: String, oid: OID, mode: UInt32)
    /// Removes the file at `path`; a folder left empty disappears with it.
    case remove(path: String)

    public var path: String {
        switch self {
        case .upsert(let path, _, _), .remove(let path): return path
        }
    }

    public static let fileMode: UInt32 = 0o100644
    public static let executableMode: UInt32 = 0o100755
    public static let symlinkMode: UInt32 = 0o120000
}

extension Repository {
    /// Reads the tree `oid`.
    public func tree(_ oid: OID) throws -> Tree {
        var raw = oid.raw
        var tree: OpaquePointer? = nil
        try check(git_tree_lookup(&tree, pointer, &raw), "git_tree_lookup")
        guard let tree else { throw GitError(code: GIT_ENOTFOUND.rawValue, message: "tree \(oid) not found", function: "git_tree_lookup") }
        defer { git_tree_free(tree) }
        return Tree(oid: oid, entries: Self.entries(of: tree))
    }

    static func entries(of tree: OpaquePointer) -> [TreeEntry] {
        let count = git_tree_entrycount(tree)
        var entries: [TreeEntry] = []
        entries.reserveCapacity(count)
        for i in 0..<count {
            guard let e = git_tree_entry_byindex(tree, i), let name = git_tree_entry_name(e), let id = git_tree_entry_id(e) else { continue }
            let nameBytes = Array(UnsafeBufferPointer(start: UnsafeRawPointer(name).assumingMemoryBound(to: UInt8.self), count: strlen(name)))
            entries.append(TreeEntry(nameBytes: nameBytes, oid: OID(id.pointee), mode: git_tree_entry_filemode(e).rawValue))
        }
        return entries
    }

    /// The entry at `path` (`a/b/c.md`) inside tree `root`, or nil when there is none.
    public func entry(at path: String, in root: OID) throws -> TreeEntry? {
        var raw = root.raw
        var tree: OpaquePointer? = nil
        try check(git_tree_lookup(&tree, pointer, &raw), "git_tree_lookup")
        guard let tree else { return nil }
        defer { git_tree_free(tree) }
        var entry: OpaquePointer? = nil
        let rc = git_tree_entry_bypath(&entry, tree, path)
        if rc == GIT_ENOTFOUND.rawValue { git_error_clear(); return nil }
        try check(rc, "git_tree_entry_bypath")
        guard let entry, let id = git_tree_entry_id(entry), let name = git_tree_entry_name(entry) else { return nil }
        defer { git_tree_entry_free(entry) }
        return TreeEntry(nameBytes: Array(String(cString: name).utf8), oid: OID(id.pointee), mode: git_tree_entry_filemode(entry).rawValue)
    }

    /// Every file (blob, executable, symlink) under `root`, with full paths, in git's order.
    public func files(in root: OID, under prefix: String = "") throws -> [TreeFile] {
        var out: [TreeFile] = []
        var start: [(String, OID)] = [(prefix, root)]
        if !prefix.isEmpty {
            let trimmed = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
            guard let e = try entry(at: trimmed, in: root), e.kind == .tree else { return [] }
            start = [(trimmed + "/", e.oid)]
        }
        // Depth-first in entry order, a folder's files in place of the folder (as `git ls-tree -r`).
        func walk(_ base: String, _ oid: OID) throws {
            for e in try tree(oid).entries {
                switch e.kind {
                case .tree: try walk(base + e.name + "/", e.oid)
                case .submodule: continue
                default: out.append(TreeFile(path: base + e.name, oid: e.oid, mode: e.mode))
                }
            }
        }
        for (base, oid) in start { try walk(base, oid) }
        return out
    }

    /// Builds a new tree from `base` (nil: the empty tree) plus `changes`, without an index or working tree.
    ///
    /// Cost follows the size of the trees on the changed paths, not the number of files in the vault.
    /// Folders emptied by removals disappear; paths are validated by libgit2 (no `.git`, no `..`).
    public func updateTree(base: OID?, changes: [TreeChange]) throws -> OID {
        var raw = (base ?? OID.emptyTree).raw
        var baseline: OpaquePointer? = nil
        if base == nil {
            // The empty tree may not be stored yet: write it so the lookup succeeds.
            var builder: OpaquePointer? = nil
            try check(git_treebuilder_new(&builder, pointer, nil), "git_treebuilder_new")
            defer { git_treebuilder_free(builder) }
            try check(git_treebuilder_write(&raw, builder), "git_treebuilder_write")
        }
        try check(git_tree_lookup(&baseline, pointer, &raw), "git_tree_lookup")
        defer { git_tree_free(baseline) }
        if changes.isEmpty { return OID(raw) }

        // Removals first, then upserts, so that replacing a file by a folder (or the reverse) works.
        // libgit2 sorts one batch by path and rejects a removal and an upsert on overlapping paths
        // ("D/F conflict"), so such removals go in a first pass of their own.
        let removals = changes.filter { if case .remove = $0 { return true }; return false }
        let upserts = changes.filter { if case .upsert = $0 { return true }; return false }
        func overlaps(_ a: String, _ b: String) -> Bool { a == b || a.hasPrefix(b + "/") || b.hasPrefix(a + "/") }
        if !removals.isEmpty, !upserts.isEmpty,
           removals.contains(where: { r in upserts.contains { overlaps(r.path, $0.path) } }) {
            let intermediate = try updateTree(base: base, changes: removals)
            return try updateTree(base: intermediate, changes: upserts)
        }
        let ordered = removals + upserts
        // libgit2 keeps pointers to the path strings: keep them alive for the whole call.
        let cPaths = ordered.map { strdup($0.path) }
        defer { cPaths.forEach { free($0) } }
        var updates: [git_tree_update] = []
        updates.reserveCapacity(ordered.count)
        for (i, change) in ordered.enumerated() {
            var u = git_tree_update()
            u.path = UnsafePointer(cPaths[i])
            switch change {
            case .upsert(_, let oid, let mode):
                u.action = GIT_TREE_UPDATE_UPSERT
                u.id = oid.raw
                u.filemode = git_filemode_t(mode)
            case .remove:
                u.action = GIT_TREE_UPDATE_REMOVE
            }
            updates.append(u)
        }
        var out = git_oid()
        try check(git_tree_create_updated(&out, pointer, baseline, updates.count, &updates), "git_tree_create_updated")
        return OID(out)
    }

    /// Writes a flat tree of `files` (name → blob, regular file mode), writing no other object.
    public func makeFlatTree(_ files: [(name: String, blob: OID)]) throws -> OID {
        var builder: OpaquePointer? = nil
        try check(git_treebuilder_new(&builder, pointer, nil), "git_treebuilder_new")
        defer { git_treebuilder_free(builder) }
        for f in files {
            var raw = f.blob.raw
            try check(git_treebuilder_insert(nil, builder, f.name, &raw, GIT_FILEMODE_BLOB), "git_treebuilder_insert")
        }
        var out = git_oid()
        try check(git_treebuilder_write(&out, builder), "git_treebuilder_write")
        return OID(out)
    }
}
