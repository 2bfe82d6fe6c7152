import CGit2
import Foundation

/// A walk over commit history. Owns its handle.
public final class RevWalk {
    let pointer: OpaquePointer
    let repository: Repository

    /// Starts an empty walk in `repository`, newest first (topological, then time).
    public init(_ repository: Repository, firstParentOnly: Bool = false, reverse: Bool = false) throws {
        var out: OpaquePointer? = nil
        try check(git_revwalk_new(&out, repository.pointer), "git_revwalk_new")
        guard let out else { throw GitError(code: -1, message: "no revwalk", function: "git_revwalk_new") }
        self.pointer = out
        self.repository = repository
        var mode = GIT_SORT_TOPOLOGICAL.rawValue | GIT_SORT_TIME.rawValue
        if reverse { mode |= GIT_SORT_REVERSE.rawValue }
        try check(git_revwalk_sorting(out, mode), "git_revwalk_sorting")
        if firstParentOnly { try check(git_revwalk_simplify_first_parent(out), "git_revwalk_simplify_first_parent") }
    }

    deinit { git_revwalk_free(pointer) }

    /// Adds a starting commit.
    public func push(_ oid: OID) throws {
        var raw = oid.raw
        try check(git_revwalk_push(pointer, &raw), "git_revwalk_push")
    }

    /// Excludes `oid` and its ancestors.
    public func hide(_ oid: OID) throws {
        var raw = oid.raw
        try check(git_revwalk_hide(pointer, &raw), "git_revwalk_hide")
    }

    /// The next commit id, or nil at the end.
    public func next() throws -> OID? {
        var out = git_oid()
        let rc = git_revwalk_next(&out, pointer)
        if rc == GIT_ITEROVER.rawValue { git_error_clear(); return nil }
        try check(rc, "git_revwalk_next")
        return OID(out)
    }
}
