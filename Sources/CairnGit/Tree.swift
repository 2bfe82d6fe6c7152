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
    ///
    /// Reads the trees on the path as raw bytes (cached), so that a later `updateTree` on the same folders does
    /// not read them again.
    public func entry(at path: String, in root: OID) throws -> TreeEntry? {
        let components = Array(path.utf8).split(separator: 0x2F, omittingEmptySubsequences: false)
        guard !components.isEmpty, !components.contains(where: \.isEmpty) else { return try libgit2Entry(at: path, in: root) }
        var tree = try rawTree(root)
        for (i, name) in components.enumerated() {
            guard let index = tree.index(of: name) else { return nil }
            let e = tree.entries[index]
            if i == components.count - 1 { return tree.treeEntry(e) }
            guard e.isTree else { return nil }
            tree = try rawTree(tree.oid(e))
        }
        return nil
    }

    /// Throws unless `oid` names a tree in the object database (reads only the object's header).
    func requireTree(_ oid: OID) throws {
        if oid == OID.emptyTree || rawTreeCache[oid] != nil { return }
        var raw = oid.raw
        var size = 0
        var type = GIT_OBJECT_INVALID
        try withObjectDatabase { _ = try check(git_odb_read_header(&size, &type, $0, &raw), "git_odb_read_header") }
        guard type == GIT_OBJECT_TREE else {
            throw GitError(code: GIT_EINVALIDSPEC.rawValue, message: "object \(oid) is not a tree", function: "git_odb_read_header")
        }
    }

    private func libgit2Entry(at path: String, in root: OID) throws -> TreeEntry? {
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
    /// Folders emptied by removals disappear; paths are validated as libgit2's tree builder does (no `.git`,
    /// no `..`, no empty names). Removing a path that is not there is an error, as in libgit2.
    public func updateTree(base: OID?, changes: [TreeChange]) throws -> OID {
        if changes.isEmpty {
            // The empty tree may not be stored yet: write it, so that callers can look up what they get.
            guard let base else { return try writeTreeObject([]) }
            try requireTree(base)
            return base
        }

        // Removals first, then upserts, so that replacing a file by a folder (or the reverse) works.
        // A removal and an upsert on overlapping paths (a file becoming a folder) cannot share one pass over
        // the tree, so such removals go in a first pass of their own. Overlap is found in the removals' tree of
        // paths, so a large batch (a renamed folder) costs its path lengths, not removals × upserts.
        let removals = changes.filter { if case .remove = $0 { return true }; return false }
        let upserts = changes.filter { if case .upsert = $0 { return true }; return false }
        let root = TreeEditNode()
        for change in removals { try root.add(change, components: try Self.treePathComponents(change.path)) }
        let upsertPaths = try upserts.map { try Self.treePathComponents($0.path) }
        if !removals.isEmpty, upsertPaths.contains(where: root.overlaps) {
            let intermediate = try updateTree(base: base, changes: removals)
            return try updateTree(base: intermediate, changes: upserts)
        }
        for (change, components) in zip(upserts, upsertPaths) { try root.add(change, components: components) }
        return try applyEdits(root, to: base) ?? writeTreeObject([])
    }

    /// The tree `base` (nil: empty) with the edits below `node` applied; nil when the result is empty.
    ///
    /// Works on raw tree bytes: each changed name is found by binary search and the unchanged entries are copied
    /// in runs, so a change to one file in a folder of 10,000 costs a copy and a hash of that folder's tree, not a
    /// parse and re-serialization of every entry. Produces byte for byte what git writes (tested against
    /// `git write-tree`).
    private func applyEdits(_ node: TreeEditNode, to base: OID?) throws -> OID? {
        let raw = try base.map { try rawTree($0) } ?? .empty
        var removed: [Int] = []
        var inserted: [(name: [UInt8], isTree: Bool, bytes: [UInt8])] = []
        func entryBytes(_ mode: UInt32, _ name: [UInt8], _ oid: OID) -> [UInt8] {
            var b = Array(String(mode, radix: 8).utf8)
            b.append(0x20); b.append(contentsOf: name); b.append(0); b.append(contentsOf: oid.bytes)
            return b
        }
        for (name, child) in node.children {
            let index = raw.index(of: name[...])
            switch child.edit {
            case .put(let mode, let oid)?:
                if let index { removed.append(index) }
                inserted.append((name, mode == 0o040000, entryBytes(mode, name, oid)))
            case .delete(let path)?:
                guard let index else {
                    throw GitError(code: GIT_ENOTFOUND.rawValue, message: "failed to remove entry: '\(path)' isn't in the tree", function: "updateTree")
                }
                removed.append(index)
            case nil:
                // A folder: descend into it (a file of that name is replaced by the folder).
                let subBase = index.flatMap { raw.entries[$0].isTree ? raw.oid(raw.entries[$0]) : nil }
                let sub = try applyEdits(child, to: subBase)
                if let sub, sub == subBase { continue }
                if let index { removed.append(index) }
                if let sub { inserted.append((name, true, entryBytes(0o040000, name, sub))) }
            }
        }
        if removed.isEmpty && inserted.isEmpty, let base { return base }
        if removed.count == raw.entries.count && inserted.isEmpty { return nil }

        // Merge: unchanged entries in runs, each new entry at its place in git's order.
        removed.sort()
        let positioned = inserted
            .map { (at: raw.lowerBound($0.name[...], isTree: $0.isTree), entry: $0) }
            .sorted { $0.at != $1.at ? $0.at < $1.at : RawTree.compare($0.entry.name[...], $0.entry.isTree, $1.entry.name[...], $1.entry.isTree) < 0 }
        var out: [UInt8] = []
        out.reserveCapacity(raw.bytes.count + inserted.reduce(0) { $0 + $1.bytes.count })
        var removedCursor = 0
        func copyEntries(_ from: Int, _ to: Int) {
            var start = from
            while removedCursor < removed.count, removed[removedCursor] < to {
                let r = removed[removedCursor]
                if r > start { out.append(contentsOf: raw.bytes[raw.entries[start].start..<raw.entries[r - 1].end]) }
                start = r + 1
                removedCursor += 1
            }
            if start < to { out.append(contentsOf: raw.bytes[raw.entries[start].start..<raw.entries[to - 1].end]) }
        }
        var cursor = 0
        for p in positioned {
            copyEntries(cursor, p.at)
            out.append(contentsOf: p.entry.bytes)
            cursor = p.at
        }
        copyEntries(cursor, raw.entries.count)
        return try writeTreeObject(out)
    }

    /// `path` split into validated names: no empty, `.`, `..` or `.git` component (as libgit2's tree builder).
    static func treePathComponents(_ path: String) throws -> [[UInt8]] {
        let components = Array(path.utf8).split(separator: 0x2F, omittingEmptySubsequences: false).map(Array.init)
        for c in components {
            guard isValidTreeEntryName(c) else {
                throw GitError(code: GIT_EINVALIDSPEC.rawValue, message: "invalid path '\(path)' for a tree entry", function: "updateTree")
            }
        }
        return components
    }

    static func isValidTreeEntryName(_ name: [UInt8]) -> Bool {
        if name.isEmpty || name.elementsEqual(dot) || name.elementsEqual(dotDot) || name.contains(0) { return false }
        let lower = name.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 }
        // ".git", also as NTFS sees it: trailing dots and spaces ignored, the 8.3 short name "git~1".
        var trimmed = lower[...]
        while let last = trimmed.last, last == 0x2E || last == 0x20 { trimmed = trimmed.dropLast() }
        if trimmed.elementsEqual(dotGit) || trimmed.elementsEqual(gitShortName) { return false }
        if lower.starts(with: dotGitColon) { return false }
        return true
    }

    // The names `isValidTreeEntryName` looks for, made once (it runs for every component of every path changed).
    private static let dot = Array(".".utf8), dotDot = Array("..".utf8)
    private static let dotGit = Array(".git".utf8), gitShortName = Array("git~1".utf8), dotGitColon = Array(".git:".utf8)


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

/// One name in a batch of tree changes: what happens to it, or the changes below it.
private final class TreeEditNode {
    enum Edit { case put(mode: UInt32, oid: OID), delete(path: String) }
    var edit: Edit?
    var children: [[UInt8]: TreeEditNode] = [:]

    /// Records `change` at `components` below this node; a file and a folder at one path is a conflict.
    func add(_ change: TreeChange, components: [[UInt8]]) throws {
        var node = self
        for c in components {
            if node.edit != nil { throw Self.conflict(change.path) }
            if let next = node.children[c] { node = next } else {
                let next = TreeEditNode()
                node.children[c] = next
                node = next
            }
        }
        guard node.children.isEmpty else { throw Self.conflict(change.path) }
        switch change {
        case .upsert(_, let oid, let mode): node.edit = .put(mode: mode, oid: oid)
        case .remove: node.edit = .delete(path: change.path)
        }
    }

    /// True when an edit recorded here lies on, above or below the path `components`.
    func overlaps(_ components: [[UInt8]]) -> Bool {
        var node = self
        for c in components {
            if node.edit != nil { return true }
            guard let next = node.children[c] else { return false }
            node = next
        }
        return true
    }

    private static func conflict(_ path: String) -> GitError {
        GitError(code: GIT_EINVALIDSPEC.rawValue, message: "conflicting changes at '\(path)': a file and a folder in one update", function: "updateTree")
    }
}
