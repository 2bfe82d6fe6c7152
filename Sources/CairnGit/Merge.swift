import CGit2
import Foundation

/// The outcome of a three-way tree merge.
public enum TreeMergeResult: Hashable, Sendable {
    /// A clean merge: the merged tree.
    case merged(OID)
    /// Paths that conflict; nothing was written.
    case conflicts([String])
}

extension Repository {
    /// The best common ancestor of two commits, or nil when they share no history.
    public func mergeBase(_ a: OID, _ b: OID) throws -> OID? {
        var out = git_oid()
        var ra = a.raw, rb = b.raw
        let rc = git_merge_base(&out, pointer, &ra, &rb)
        if rc == GIT_ENOTFOUND.rawValue { git_error_clear(); return nil }
        try check(rc, "git_merge_base")
        return OID(out)
    }

    /// True when `ancestor` is reachable from `descendant` (or equal to it).
    public func isAncestor(_ ancestor: OID, of descendant: OID) throws -> Bool {
        if ancestor == descendant { return true }
        var ra = ancestor.raw, rd = descendant.raw
        return try check(git_graph_descendant_of(pointer, &rd, &ra), "git_graph_descendant_of") == 1
    }

    /// Merges trees `ours` and `theirs` against `ancestor` in memory; writes the merged tree only when clean.
    public func mergeTrees(ancestor: OID?, ours: OID, theirs: OID) throws -> TreeMergeResult {
        let index = try mergeIndex(ancestor: ancestor, ours: ours, theirs: theirs)
        if index.hasConflicts { return .conflicts(try index.conflictedPaths()) }
        return .merged(try index.writeTree(to: self))
    }

    /// The in-memory index of a three-way tree merge (renames found), conflicts included.
    func mergeIndex(ancestor: OID?, ours: OID, theirs: OID) throws -> Index {
        func lookup(_ oid: OID?) throws -> OpaquePointer? {
            guard let oid else { return nil }
            var raw = oid.raw
            var t: OpaquePointer? = nil
            try check(git_tree_lookup(&t, pointer, &raw), "git_tree_lookup")
            return t
        }
        let a = try lookup(ancestor); defer { git_tree_free(a) }
        let o = try lookup(ours); defer { git_tree_free(o) }
        let t = try lookup(theirs); defer { git_tree_free(t) }
        var opts = git_merge_options()
        try check(cairn_git_merge_options_init(&opts), "git_merge_options_init")
        opts.flags = GIT_MERGE_FIND_RENAMES.rawValue
        var idx: OpaquePointer? = nil
        try check(git_merge_trees(&idx, pointer, a, o, t, &opts), "git_merge_trees")
        guard let idx else { throw GitError(code: -1, message: "no merge index", function: "git_merge_trees") }
        return Index(pointer: idx, repository: self)
    }
}
