import CGit2
import Foundation

extension Repository {
    /// Writes every file of tree `oid` into the working tree and the index (a fresh clone's checkout).
    /// Refuses to overwrite a file already there.
    public func checkoutAll(tree oid: OID) throws {
        var raw = oid.raw
        var tree: OpaquePointer? = nil
        try check(git_object_lookup(&tree, pointer, &raw, GIT_OBJECT_TREE), "git_object_lookup")
        defer { git_object_free(tree) }
        var opts = git_checkout_options()
        try check(cairn_git_checkout_options_init(&opts), "git_checkout_options_init")
        opts.checkout_strategy = GIT_CHECKOUT_SAFE.rawValue | GIT_CHECKOUT_RECREATE_MISSING.rawValue
        try check(git_checkout_tree(pointer, tree, &opts), "git_checkout_tree")
    }
}

extension Repository {
    /// Commits `local` has that `upstream` lacks, and the reverse (`git rev-list --left-right --count`).
    public func aheadBehind(local: OID, upstream: OID) throws -> (ahead: Int, behind: Int) {
        var l = local.raw, u = upstream.raw
        var ahead = 0, behind = 0
        try check(git_graph_ahead_behind(&ahead, &behind, pointer, &l, &u), "git_graph_ahead_behind")
        return (ahead, behind)
    }
}
