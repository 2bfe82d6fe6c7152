import CGit2
import Foundation

extension Repository {
    /// Updates the working tree and index for `paths` to their content in tree `oid`.
    ///
    /// Safe: a file whose working-tree content differs from the index is never overwritten — the
    /// call fails with `GitError.conflict` and writes nothing. Paths missing from the tree are removed
    /// only when they are unmodified. With `force`, local changes to those paths are overwritten.
    public func checkout(tree oid: OID, paths: [String], force: Bool = false) throws {
        guard !paths.isEmpty else { return }
        var raw = oid.raw
        var tree: OpaquePointer? = nil
        try check(git_object_lookup(&tree, pointer, &raw, GIT_OBJECT_TREE), "git_object_lookup")
        defer { git_object_free(tree) }
        var opts = git_checkout_options()
        try check(cairn_git_checkout_options_init(&opts), "git_checkout_options_init")
        opts.checkout_strategy = (force ? GIT_CHECKOUT_FORCE.rawValue : GIT_CHECKOUT_SAFE.rawValue)
            | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH.rawValue | GIT_CHECKOUT_RECREATE_MISSING.rawValue
        try withStrArray(paths) { spec in
            opts.paths = spec
            try check(git_checkout_tree(pointer, tree, &opts), "git_checkout_tree")
        }
    }
}
