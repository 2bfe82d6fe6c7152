import CGit2
import Foundation

/// One side of a conflicted path: its blob and mode.
public struct MergeSide: Sendable, Hashable {
    public let oid: OID
    public let mode: UInt32
    public init(oid: OID, mode: UInt32) { self.oid = oid; self.mode = mode }
}

/// A path both sides of a merge changed in ways libgit2 could not combine.
public struct MergeConflict: Sendable {
    public let path: String
    public let ancestor: MergeSide?
    public let ours: MergeSide?
    public let theirs: MergeSide?
}

/// The three-way merge of one file's bytes.
public struct FileMergeResult: Sendable {
    /// The merged bytes; with conflict markers (`<<<<<<<`, `=======`, `>>>>>>>`) where `clean` is false.
    public let content: Data
    public let clean: Bool
}

extension Repository {
    /// Merges trees like `mergeTrees`, but asks `resolve` for every conflicted path and writes the merged tree
    /// with its answer: a blob and mode, or nil to leave the path out. Always returns a tree.
    public func mergeTrees(ancestor: OID?, ours: OID, theirs: OID,
                           resolve: (MergeConflict) throws -> MergeSide?) throws -> OID {
        let index = try mergeIndex(ancestor: ancestor, ours: ours, theirs: theirs)
        let idx = index.pointer
        guard index.hasConflicts else { return try index.writeTree(to: self) }

        var conflicts: [MergeConflict] = []
        var iter: OpaquePointer? = nil
        try check(git_index_conflict_iterator_new(&iter, idx), "git_index_conflict_iterator_new")
        func side(_ e: UnsafePointer<git_index_entry>?) -> MergeSide? {
            e.map { MergeSide(oid: OID($0.pointee.id), mode: $0.pointee.mode) }
        }
        while true {
            var anc: UnsafePointer<git_index_entry>? = nil, our: UnsafePointer<git_index_entry>? = nil, their: UnsafePointer<git_index_entry>? = nil
            let rc = git_index_conflict_next(&anc, &our, &their, iter)
            if rc == GIT_ITEROVER.rawValue { git_error_clear(); break }
            if rc < 0 { git_index_conflict_iterator_free(iter); try check(rc, "git_index_conflict_next") }
            guard let path = (our ?? their ?? anc)?.pointee.path else { continue }
            conflicts.append(MergeConflict(path: String(cString: path), ancestor: side(anc), ours: side(our), theirs: side(their)))
        }
        git_index_conflict_iterator_free(iter)
        // A rename conflict can list a path twice (once per side's name); resolve each path once.
        var done = Set<String>()
        for c in conflicts where done.insert(c.path).inserted {
            try check(git_index_conflict_remove(idx, c.path), "git_index_conflict_remove")
            guard let chosen = try resolve(c) else { continue }
            var entry = git_index_entry()
            entry.mode = chosen.mode
            entry.id = chosen.oid.raw
            try c.path.withCString { p in
                entry.path = p
                try check(git_index_add(idx, &entry), "git_index_add")
            }
        }
        return try index.writeTree(to: self)
    }

    /// Three-way merges one file's bytes (git's line merge, standard markers labelled with `labels`).
    public func mergeFile(ancestor: Data?, ours: Data, theirs: Data, path: String,
                          labels: (ours: String, theirs: String)) throws -> FileMergeResult {
        var opts = git_merge_file_options()
        try check(cairn_git_merge_file_options_init(&opts), "git_merge_file_options_init")
        var result = git_merge_file_result()
        let base = ancestor ?? Data()
        let rc: Int32 = base.withUnsafeBytes { bb in ours.withUnsafeBytes { ob in theirs.withUnsafeBytes { tb in
            path.withCString { cpath in labels.ours.withCString { ol in labels.theirs.withCString { tl in "base".withCString { al in
                var a = git_merge_file_input(), o = git_merge_file_input(), t = git_merge_file_input()
                _ = cairn_git_merge_file_input_init(&a); _ = cairn_git_merge_file_input_init(&o); _ = cairn_git_merge_file_input_init(&t)
                a.ptr = bb.baseAddress?.assumingMemoryBound(to: CChar.self); a.size = base.count; a.path = cpath; a.mode = 0o100644
                o.ptr = ob.baseAddress?.assumingMemoryBound(to: CChar.self); o.size = ours.count; o.path = cpath; o.mode = 0o100644
                t.ptr = tb.baseAddress?.assumingMemoryBound(to: CChar.self); t.size = theirs.count; t.path = cpath; t.mode = 0o100644
                opts.ancestor_label = al; opts.our_label = ol; opts.their_label = tl
                return git_merge_file(&result, &a, &o, &t, &opts)
            } } } }
        } } }
        try check(rc, "git_merge_file")
        defer { git_merge_file_result_free(&result) }
        let content = result.ptr.map { Data(bytes: $0, count: result.len) } ?? Data()
        return FileMergeResult(content: content, clean: result.automergeable != 0)
    }
}
