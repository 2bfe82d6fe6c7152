import CGit2
import Foundation

/// A file that differs between two trees: its path and its entry on each side (nil: absent there).
public struct ChangedEntry: Sendable {
    public let path: String
    public let old: PathLookup.Found?
    public let new: PathLookup.Found?
}

extension Repository {
    /// The paths of the files that differ between tree `old` and tree `new` (nil: the empty tree), limited to `path`
    /// (a file or folder; "" is the whole tree), in tree order; nil when a name on the way is not UTF-8 (the caller
    /// then diffs without the list).
    ///
    /// Reads only the folders whose ids differ, as `git diff-tree -r` does. libgit2's tree-to-tree diff instead
    /// iterates every entry of both trees (10,000 entries for a commit that changed 3 of 5,000 notes); given these
    /// paths as its path list it reads only the folders that hold them. A file that became a folder (or the other
    /// way) is listed once, by the name both have: as a path list entry it also covers the files under it.
    public func changedFiles(from old: OID?, to new: OID?, under path: String = "") throws -> [String]? {
        try changedEntries(from: old, to: new, under: path)?.map(\.path)
    }

    /// `changedFiles` with each file's entry on both sides (for a file that became a folder, the folder's).
    public func changedEntries(from old: OID?, to new: OID?, under path: String = "") throws -> [ChangedEntry]? {
        typealias Node = PathLookup.Found
        var a = old.map { Node(oid: $0, mode: 0o040000) }, b = new.map { Node(oid: $0, mode: 0o040000) }
        for component in path.split(separator: "/") {
            let name = ArraySlice(Array(component.utf8))
            func child(_ node: Node?) throws -> Node? {
                guard let node, node.isTree else { return nil }
                let tree = try rawTree(node.oid)
                guard let i = tree.index(of: name) else { return nil }
                return Node(oid: tree.oid(tree.entries[i]), mode: tree.mode(tree.entries[i]))
            }
            a = try child(a)
            b = try child(b)
        }
        var out: [ChangedEntry] = []
        func collect(_ a: Node?, _ b: Node?, _ path: String) throws -> Bool {
            if let a, let b, a.oid == b.oid, a.mode == b.mode { return true }
            if a == nil, b == nil { return true }
            if a.map({ !$0.isTree }) ?? false || b.map({ !$0.isTree }) ?? false {
                out.append(ChangedEntry(path: path, old: a, new: b))
                return true
            }
            let ta = try a.map { try rawTree($0.oid) } ?? .empty, tb = try b.map { try rawTree($0.oid) } ?? .empty
            var i = 0, j = 0
            while i < ta.entries.count || j < tb.entries.count {
                let ea = i < ta.entries.count ? ta.entries[i] : nil, eb = j < tb.entries.count ? tb.entries[j] : nil
                // The same entry (mode, name and id) on both sides: nothing under it changed. Most entries are;
                // their bytes are compared in place and nothing is built for them.
                if let ea, let eb, ea.end - ea.start == eb.end - eb.start,
                   ta.bytes.withUnsafeBufferPointer({ pa in tb.bytes.withUnsafeBufferPointer { pb in
                       memcmp(pa.baseAddress! + ea.start, pb.baseAddress! + eb.start, ea.end - ea.start) == 0 } }) {
                    i += 1; j += 1
                    continue
                }
                let order: Int
                if let ea, let eb { order = RawTree.compare(ta.name(ea), ea.isTree, tb.name(eb), eb.isTree) } else { order = ea == nil ? 1 : -1 }
                let nameBytes = order <= 0 ? ta.name(ea!) : tb.name(eb!)
                guard let name = String(validating: nameBytes, as: UTF8.self) else { return false }
                let childPath = path.isEmpty ? name : path + "/" + name
                let na = order <= 0 ? Node(oid: ta.oid(ea!), mode: ta.mode(ea!)) : nil
                let nb = order >= 0 ? Node(oid: tb.oid(eb!), mode: tb.mode(eb!)) : nil
                guard try collect(na, nb, childPath) else { return false }
                if order <= 0 { i += 1 }
                if order >= 0 { j += 1 }
            }
            return true
        }
        return try collect(a, b, path) ? out : nil
    }
}

/// The changed files of commits against their parents, with line counts: what a history listing shows.
///
/// Most commits change a few notes in place. Their files come from comparing folder ids (`changedEntries`), and
/// their lines from libgit2's line diff run on the two blobs' bytes read straight from the object database
/// (`git_patch_from_buffers`): no tree diff, and no attribute lookups (for a tree diff libgit2 looks up each file's
/// diff driver, reading the folders above it and the git index). That is exactly libgit2's tree diff when no
/// attributes file applies. A commit that may hold a rename (files both added and deleted), a path that changed
/// kind (file, folder, link, submodule), or a file an attributes file may cover is diffed by libgit2 as before.
/// One differ serves a whole listing; never write through it.
public final class CommitDiffer {
    /// The changed files, and their counts; `stats` is nil when lines were not counted (more files than asked).
    public struct Result: Sendable {
        public let deltas: [DiffDelta]
        public let stats: DiffStats?
    }

    let repository: Repository
    /// A handle without a git index, made when libgit2 must diff (see `Repository.withoutIndex`).
    private var indexless: Repository?
    private var attributes: AttributeFiles?

    public init(_ repository: Repository) {
        self.repository = repository
    }

    /// Tree `old` (nil: the empty tree) against tree `new`, limited to `path` (a file or folder; nil or "" is the
    /// whole tree); lines are counted when at most `maxFilesForLineCounts` files changed.
    public func diff(from old: OID?, to new: OID?, path: String? = nil, maxFilesForLineCounts: Int) throws -> Result {
        var options = DiffOptions()
        options.paths = path.map { [$0] } ?? []
        if let changed = try repository.changedEntries(from: old, to: new, under: path ?? "") {
            if changed.isEmpty { return Result(deltas: [], stats: DiffStats(filesChanged: 0, insertions: 0, deletions: 0)) }
            if let result = try direct(changed, maxFilesForLineCounts: maxFilesForLineCounts) { return result }
            options.paths = changed.map(\.path)
        }
        if indexless == nil { indexless = try repository.withoutIndex() }
        let diff = try indexless!.diff(from: old, to: new, options: options)
        let deltas = diff.deltas(checkingBinary: false)
        return Result(deltas: deltas, stats: deltas.count <= maxFilesForLineCounts ? try diff.stats() : nil)
    }

    /// The result without libgit2's diff, or nil when the changes need it (see the type's comment).
    private func direct(_ changed: [ChangedEntry], maxFilesForLineCounts: Int) throws -> Result? {
        var added = false, deleted = false
        for c in changed {
            if let o = c.old { guard Self.isFile(o.mode) else { return nil } } else { added = true }
            if let n = c.new { guard Self.isFile(n.mode) else { return nil } } else { deleted = true }
        }
        if added && deleted { return nil }
        // libgit2 compares modes as it reads them from trees: any executable bit makes 100755, else 100644.
        let files = changed.filter { c in
            guard let o = c.old, let n = c.new else { return true }
            return o.oid != n.oid || Self.normalized(o.mode) != Self.normalized(n.mode)
        }
        let count = files.count <= maxFilesForLineCounts
        if count {
            if attributes == nil { attributes = try AttributeFiles(repository) }
            for c in files where attributes!.mayApply(to: c.path) { return nil }
        }
        var insertions = 0, deletions = 0
        var deltas: [DiffDelta] = []
        deltas.reserveCapacity(files.count)
        for c in files {
            let kind: ChangeKind = c.old == nil ? .added : c.new == nil ? .deleted : .modified
            deltas.append(DiffDelta(kind: kind, oldPath: c.path, newPath: c.path, oldOID: c.old?.oid ?? .zero,
                                    newOID: c.new?.oid ?? .zero, isBinary: false))
            if count, c.old?.oid != c.new?.oid {
                let (add, del) = try repository.lineChanges(from: c.old?.oid, to: c.new?.oid)
                insertions += add
                deletions += del
            }
        }
        return Result(deltas: deltas, stats: count ? DiffStats(filesChanged: deltas.count, insertions: insertions, deletions: deletions) : nil)
    }

    static func isFile(_ mode: UInt32) -> Bool { mode & 0o170000 == 0o100000 }
    static func normalized(_ mode: UInt32) -> UInt32 { mode & 0o111 != 0 ? 0o100755 : 0o100644 }
}

extension Repository {
    /// Lines added and removed from blob `old` to blob `new` (nil: no file), as libgit2 counts them for a diff
    /// whose files no attribute covers: none when either side has a NUL byte in its first 8,000 bytes (binary).
    public func lineChanges(from old: OID?, to new: OID?) throws -> (insertions: Int, deletions: Int) {
        try withObjectDatabase { odb in
            func read(_ oid: OID?) throws -> OpaquePointer? {
                guard var raw = oid?.raw else { return nil }
                var object: OpaquePointer? = nil
                try check(git_odb_read(&object, odb, &raw), "git_odb_read")
                guard git_odb_object_type(object) == GIT_OBJECT_BLOB else {
                    git_odb_object_free(object)
                    throw GitError(code: GIT_EINVALIDSPEC.rawValue, message: "object \(oid!) is not a blob", function: "git_odb_read")
                }
                return object
            }
            let a = try read(old)
            defer { git_odb_object_free(a) }
            let b = try read(new)
            defer { git_odb_object_free(b) }
            var opts = git_diff_options()
            try check(cairn_git_diff_options_init(&opts), "git_diff_options_init")
            opts.context_lines = 0
            var patch: OpaquePointer? = nil
            try check(git_patch_from_buffers(&patch, a.flatMap { git_odb_object_data($0) }, a.map { git_odb_object_size($0) } ?? 0, nil,
                                             b.flatMap { git_odb_object_data($0) }, b.map { git_odb_object_size($0) } ?? 0, nil, &opts),
                      "git_patch_from_buffers")
            defer { git_patch_free(patch) }
            var context = 0, add = 0, del = 0
            if patch != nil { try check(git_patch_line_stats(&context, &add, &del, patch), "git_patch_line_stats") }
            return (add, del)
        }
    }
}

/// Whether an attributes file could give a path a diff driver other than libgit2's default (then its line counts
/// may differ): the system, XDG and `core.attributesFile` files, `info/attributes`, or a `.gitattributes` in the
/// working tree in the path's folder or one above it. Vaults normally have none.
final class AttributeFiles {
    let workdir: String?
    /// An attributes file outside the working tree exists: it may cover any path.
    let global: Bool
    /// Folder (vault-relative, "" for the root) → whether it holds a `.gitattributes`.
    private var folders: [Substring: Bool] = [:]

    init(_ repository: Repository) throws {
        workdir = repository.workdir
        var candidates = [String(cString: git_repository_commondir(repository.pointer)) + "info/attributes"]
        for (level, name) in [(GIT_CONFIG_LEVEL_SYSTEM, "gitattributes"), (GIT_CONFIG_LEVEL_XDG, "attributes")] {
            var buf = git_buf()
            defer { git_buf_dispose(&buf) }
            if cairn_git_get_search_path(level.rawValue, &buf) == 0, let ptr = buf.ptr {
                for dir in String(cString: ptr).split(separator: ":") { candidates.append(dir + "/" + name) }
            } else {
                git_error_clear()
            }
        }
        global = try repository.configString("core.attributesfile") != nil || candidates.contains { access($0, F_OK) == 0 }
    }

    func mayApply(to path: String) -> Bool {
        if global { return true }
        guard let workdir else { return false }
        var folder = path[...]
        while true {
            // The folder above: "a/b/c.md" → "a/b" → "a" → "".
            folder = folder.lastIndex(of: "/").map { folder[..<$0] } ?? ""
            if let known = folders[folder] {
                if known { return true }
            } else {
                let here = access(workdir + (folder.isEmpty ? "" : folder + "/") + ".gitattributes", F_OK) == 0
                folders[folder] = here
                if here { return true }
            }
            if folder.isEmpty { return false }
        }
    }
}

extension Repository {
    /// A second handle on this repository whose git index is an empty one in memory, for diffs between commits.
    ///
    /// To count a diff's lines libgit2 looks up each changed file's attributes (its diff driver), and the first
    /// lookup loads and parses the whole git index to find `.gitattributes` files staged there: a third of
    /// `cairn log -n 20` on a 5,000-note vault. `git log` reads attributes from the working tree only, and so does
    /// a diff made through this handle. Never write through it.
    public func withoutIndex() throws -> Repository {
        let other = try Repository(at: workdir ?? gitDir)
        var index: OpaquePointer? = nil
        try check(git_index_new(&index), "git_index_new")
        defer { git_index_free(index) }
        try check(git_repository_set_index(other.pointer, index), "git_repository_set_index")
        return other
    }
}
