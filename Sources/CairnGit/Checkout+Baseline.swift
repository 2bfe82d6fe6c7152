import CGit2
import Foundation

extension Repository {
    /// Updates the working tree and index for `paths` from tree `target`, treating `baseline` as what the
    /// working tree is expected to hold.
    ///
    /// A file whose working-tree content differs from `baseline` (an operator edit) is left untouched and
    /// returned in `skipped`; every other path is updated (created, replaced or removed).
    public func checkout(tree target: OID, paths: [String], baseline: OID?) throws -> (updated: [String], skipped: [String]) {
        guard !paths.isEmpty else { return ([], []) }
        do {
            try checkoutOnce(target, paths, baseline)
            return (paths, [])
        } catch GitError.conflict {
            // Find the paths that conflict one by one; update the rest.
            var updated: [String] = [], skipped: [String] = []
            for path in paths {
                do {
                    try checkoutOnce(target, [path], baseline)
                    updated.append(path)
                } catch GitError.conflict {
                    skipped.append(path)
                }
            }
            return (updated, skipped)
        }
    }

    private func checkoutOnce(_ target: OID, _ paths: [String], _ baseline: OID?) throws {
        var raw = target.raw
        var tree: OpaquePointer? = nil
        try check(git_object_lookup(&tree, pointer, &raw, GIT_OBJECT_TREE), "git_object_lookup")
        defer { git_object_free(tree) }
        var baseTree: OpaquePointer? = nil
        if let baseline {
            var b = baseline.raw
            try check(git_tree_lookup(&baseTree, pointer, &b), "git_tree_lookup")
        }
        defer { git_tree_free(baseTree) }
        var opts = git_checkout_options()
        try check(cairn_git_checkout_options_init(&opts), "git_checkout_options_init")
        opts.checkout_strategy = GIT_CHECKOUT_SAFE.rawValue | GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH.rawValue
            | GIT_CHECKOUT_RECREATE_MISSING.rawValue
        opts.baseline = baseTree
        try withStrArray(paths) { spec in
            opts.paths = spec
            try check(git_checkout_tree(pointer, tree, &opts), "git_checkout_tree")
        }
    }
}
