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
        if try filtersLeaveContentAsIs(paths) { opts.disable_filters = 1 }
        try withStrArray(paths) { spec in
            opts.paths = spec
            try check(git_checkout_tree(pointer, tree, &opts), "git_checkout_tree")
        }
    }

    /// Whether libgit2's checkout filters would write every file of `paths` exactly as stored, so that checking them
    /// out may skip the filters.
    ///
    /// libgit2 has two filters, `crlf` and `ident` (cairn registers none). Before writing each file it looks up the
    /// file's attributes, which costs a `realpath` of the file and a look for `.gitattributes` in every folder above
    /// it: for a pull of 1,000 messages, 16,000 failed `readlink` calls and ~15% of the pull's CPU time. Without any
    /// attributes file that could cover a path (system, XDG or `core.attributesFile`, `info/attributes`, a
    /// `.gitattributes` in the working tree or the index in the path's folder or one above it, or one among the
    /// paths themselves), `ident` never applies and `crlf` changes nothing unless `core.autocrlf` is true.
    func filtersLeaveContentAsIs(_ paths: [String]) throws -> Bool {
        if let autocrlf = try configString("core.autocrlf"),
           !["false", "no", "off", "0", "", "input"].contains(autocrlf.lowercased()) { return false }
        let attributes = try AttributeFiles(self)
        if attributes.global { return false }
        var index: OpaquePointer? = nil
        try check(git_repository_index(&index, pointer), "git_repository_index")
        defer { git_index_free(index) }
        var folders = Set<Substring>()
        for path in paths {
            if path == ".gitattributes" || path.hasSuffix("/.gitattributes") || attributes.mayApply(to: path) { return false }
            var folder = path[...]
            while let slash = folder.lastIndex(of: "/") {
                folder = folder[..<slash]
                guard folders.insert(folder).inserted else { break }  // and the folders above it were seen too
            }
        }
        folders.insert("")
        for folder in folders {
            let file = folder.isEmpty ? ".gitattributes" : folder + "/.gitattributes"
            for stage: Int32 in 0...3 where git_index_get_bypath(index, file, stage) != nil { return false }
        }
        return true
    }
}
