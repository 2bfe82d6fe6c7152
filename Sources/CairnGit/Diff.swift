import CGit2
import Foundation

/// One changed file in a diff, as a plain value.
public struct DiffDelta: Hashable, Sendable {
    public let kind: ChangeKind
    public let oldPath: String
    public let newPath: String
    public let oldOID: OID
    public let newOID: OID
    public let isBinary: Bool

    /// The path to show: the new path, except for deletions.
    public var path: String { kind == .deleted ? oldPath : newPath }
}

/// Lines added and removed across a diff.
public struct DiffStats: Hashable, Sendable, Codable {
    public let filesChanged: Int
    public let insertions: Int
    public let deletions: Int

    public init(filesChanged: Int, insertions: Int, deletions: Int) {
        self.filesChanged = filesChanged
        self.insertions = insertions
        self.deletions = deletions
    }
}

/// Options for building a diff.
public struct DiffOptions: Sendable {
    /// Limit to these paths (exact paths or folder prefixes; no glob matching).
    public var paths: [String] = []
    public var contextLines: UInt32 = 3
    public var detectRenames = true
    public var includeUntracked = true
    public init() {}
}

/// A computed diff. Owns its handle.
public final class Diff {
    let pointer: OpaquePointer
    let repository: Repository

    init(pointer: OpaquePointer, repository: Repository) {
        self.pointer = pointer
        self.repository = repository
    }

    deinit { git_diff_free(pointer) }

    /// The changed files.
    public var deltas: [DiffDelta] { deltas(checkingBinary: true) }

    /// The changed files; with `checkingBinary: false`, `isBinary` is only what libgit2 already knows
    /// (no content or attributes are loaded, which for a tree-to-tree diff means no read of the git index).
    public func deltas(checkingBinary: Bool) -> [DiffDelta] {
        (0..<git_diff_num_deltas(pointer)).compactMap { i in
            guard var d = git_diff_get_delta(pointer, i)?.pointee else { return nil }
            // libgit2 decides binary-ness only once content is loaded: load it when still undecided.
            if checkingBinary, d.flags & (GIT_DIFF_FLAG_BINARY.rawValue | GIT_DIFF_FLAG_NOT_BINARY.rawValue) == 0 {
                var patch: OpaquePointer? = nil
                if git_patch_from_diff(&patch, pointer, i) == 0 { git_patch_free(patch) } else { git_error_clear() }
                d = git_diff_get_delta(pointer, i)?.pointee ?? d
            }
            let kind: ChangeKind
            switch d.status {
            case GIT_DELTA_ADDED, GIT_DELTA_UNTRACKED: kind = .added
            case GIT_DELTA_DELETED: kind = .deleted
            case GIT_DELTA_RENAMED: kind = .renamed
            case GIT_DELTA_TYPECHANGE: kind = .typechange
            case GIT_DELTA_CONFLICTED: kind = .conflicted
            default: kind = .modified
            }
            return DiffDelta(kind: kind,
                             oldPath: d.old_file.path.map { String(cString: $0) } ?? "",
                             newPath: d.new_file.path.map { String(cString: $0) } ?? "",
                             oldOID: OID(d.old_file.id), newOID: OID(d.new_file.id),
                             isBinary: d.flags & GIT_DIFF_FLAG_BINARY.rawValue != 0)
        }
    }

    /// Files changed, insertions and deletions.
    public func stats() throws -> DiffStats {
        var stats: OpaquePointer? = nil
        try check(git_diff_get_stats(&stats, pointer), "git_diff_get_stats")
        defer { git_diff_stats_free(stats) }
        return DiffStats(filesChanged: git_diff_stats_files_changed(stats),
                         insertions: git_diff_stats_insertions(stats),
                         deletions: git_diff_stats_deletions(stats))
    }

    /// The unified patch text (`git diff` format).
    public func patch() throws -> String {
        var buf = git_buf()
        defer { git_buf_dispose(&buf) }
        try check(git_diff_to_buf(&buf, pointer, GIT_DIFF_FORMAT_PATCH), "git_diff_to_buf")
        guard let ptr = buf.ptr else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: ptr, count: buf.size), as: UTF8.self)
    }

    /// Per-file insertions and deletions, in delta order.
    public func lineCounts() throws -> [(path: String, insertions: Int, deletions: Int)] {
        var out: [(String, Int, Int)] = []
        let deltas = self.deltas
        for i in 0..<deltas.count {
            var patch: OpaquePointer? = nil
            try check(git_patch_from_diff(&patch, pointer, i), "git_patch_from_diff")
            defer { git_patch_free(patch) }
            var ctx = 0, add = 0, del = 0
            if patch != nil { try check(git_patch_line_stats(&ctx, &add, &del, patch), "git_patch_line_stats") }
            out.append((deltas[i].path, add, del))
        }
        return out
    }
}

extension Repository {
    private func makeDiffOptions(_ options: DiffOptions, _ body: (inout git_diff_options) throws -> OpaquePointer?) throws -> Diff {
        var opts = git_diff_options()
        try check(cairn_git_diff_options_init(&opts), "git_diff_options_init")
        opts.context_lines = options.contextLines
        if options.includeUntracked {
            opts.flags |= GIT_DIFF_INCLUDE_UNTRACKED.rawValue | GIT_DIFF_RECURSE_UNTRACKED_DIRS.rawValue | GIT_DIFF_SHOW_UNTRACKED_CONTENT.rawValue
        }
        if !options.paths.isEmpty { opts.flags |= GIT_DIFF_DISABLE_PATHSPEC_MATCH.rawValue }
        let result: OpaquePointer? = try withStrArray(options.paths) { spec in
            opts.pathspec = spec
            return try body(&opts)
        }
        guard let result else { throw GitError(code: -1, message: "no diff", function: "git_diff") }
        let diff = Diff(pointer: result, repository: self)
        if options.detectRenames {
            var find = git_diff_find_options()
            try check(cairn_git_diff_find_options_init(&find), "git_diff_find_options_init")
            find.flags = GIT_DIFF_FIND_RENAMES.rawValue | GIT_DIFF_FIND_FOR_UNTRACKED.rawValue
            try check(git_diff_find_similar(result, &find), "git_diff_find_similar")
        }
        return diff
    }

    private func lookupTree(_ oid: OID?) throws -> OpaquePointer? {
        guard let oid else { return nil }
        var raw = oid.raw
        var tree: OpaquePointer? = nil
        try check(git_tree_lookup(&tree, pointer, &raw), "git_tree_lookup")
        return tree
    }

    /// The diff from tree `old` to tree `new` (nil: the empty tree).
    public func diff(from old: OID?, to new: OID?, options: DiffOptions = DiffOptions()) throws -> Diff {
        let a = try lookupTree(old)
        defer { git_tree_free(a) }
        let b = try lookupTree(new)
        defer { git_tree_free(b) }
        return try makeDiffOptions(options) { opts in
            var out: OpaquePointer? = nil
            try check(git_diff_tree_to_tree(&out, pointer, a, b, &opts), "git_diff_tree_to_tree")
            return out
        }
    }

    /// The diff from tree `old` (nil: the empty tree) to the working tree, seen through the index like `git diff HEAD`.
    public func diffToWorkdir(from old: OID?, options: DiffOptions = DiffOptions()) throws -> Diff {
        let a = try lookupTree(old)
        defer { git_tree_free(a) }
        return try makeDiffOptions(options) { opts in
            var out: OpaquePointer? = nil
            try check(git_diff_tree_to_workdir_with_index(&out, pointer, a, &opts), "git_diff_tree_to_workdir_with_index")
            return out
        }
    }
}
