import CGit2
import Foundation

/// The repository's index (staging area). Owns its handle.
public final class Index {
    let pointer: OpaquePointer
    let repository: Repository

    init(pointer: OpaquePointer, repository: Repository) {
        self.pointer = pointer
        self.repository = repository
    }

    deinit { git_index_free(pointer) }

    /// Number of entries.
    public var count: Int { git_index_entrycount(pointer) }

    /// Re-reads the index file from disk (`force`: even if it looks unchanged).
    public func read(force: Bool = true) throws {
        try check(git_index_read(pointer, force ? 1 : 0), "git_index_read")
    }

    /// Stages every change in the working tree matching `pathspecs` (new, modified and deleted files), like `git add -A`.
    public func addAll(_ pathspecs: [String] = []) throws {
        try withStrArray(pathspecs) { spec in
            var s = spec
            try check(git_index_add_all(pointer, &s, GIT_INDEX_ADD_DEFAULT.rawValue, nil, nil), "git_index_add_all")
            try check(git_index_update_all(pointer, &s, nil, nil), "git_index_update_all")
        }
    }

    /// Stages the working-tree file at `path`.
    public func add(path: String) throws {
        try check(git_index_add_bypath(pointer, path), "git_index_add_bypath")
    }

    /// Unstages `path` (a missing entry is not an error).
    public func remove(path: String) throws {
        let rc = git_index_remove_bypath(pointer, path)
        if rc == GIT_ENOTFOUND.rawValue { git_error_clear(); return }
        try check(rc, "git_index_remove_bypath")
    }

    /// Replaces the index content with tree `oid` (stat data is lost, so the next status re-hashes files).
    public func readTree(_ oid: OID) throws {
        var raw = oid.raw
        var tree: OpaquePointer? = nil
        try check(git_tree_lookup(&tree, repository.pointer, &raw), "git_tree_lookup")
        defer { git_tree_free(tree) }
        try check(git_index_read_tree(pointer, tree), "git_index_read_tree")
    }

    /// Writes the index to disk atomically (lock file + rename).
    public func write() throws {
        try check(git_index_write(pointer), "git_index_write")
    }

    /// Writes the index content as a tree and returns its id.
    public func writeTree() throws -> OID {
        var out = git_oid()
        try check(git_index_write_tree(&out, pointer), "git_index_write_tree")
        return OID(out)
    }

    /// The blob id staged at `path`, or nil.
    public func entry(path: String) -> OID? {
        guard let e = git_index_get_bypath(pointer, path, 0) else { return nil }
        return OID(e.pointee.id)
    }

    /// True when the index holds conflicts.
    public var hasConflicts: Bool { git_index_has_conflicts(pointer) == 1 }

    /// Paths with conflicts.
    public func conflictedPaths() throws -> [String] {
        var iter: OpaquePointer? = nil
        try check(git_index_conflict_iterator_new(&iter, pointer), "git_index_conflict_iterator_new")
        defer { git_index_conflict_iterator_free(iter) }
        var out: [String] = []
        while true {
            var a: UnsafePointer<git_index_entry>? = nil, o: UnsafePointer<git_index_entry>? = nil, t: UnsafePointer<git_index_entry>? = nil
            let rc = git_index_conflict_next(&a, &o, &t, iter)
            if rc == GIT_ITEROVER.rawValue { git_error_clear(); break }
            try check(rc, "git_index_conflict_next")
            if let p = (o ?? t ?? a)?.pointee.path { out.append(String(cString: p)) }
        }
        return out
    }

    /// Writes this (in-memory) index's content as a tree in `repository`.
    public func writeTree(to repository: Repository) throws -> OID {
        var out = git_oid()
        try check(git_index_write_tree_to(&out, pointer, repository.pointer), "git_index_write_tree_to")
        return OID(out)
    }
}

extension Repository {
    /// The repository's index, read from disk.
    public func index() throws -> Index {
        var out: OpaquePointer? = nil
        try check(git_repository_index(&out, pointer), "git_repository_index")
        guard let out else { throw GitError(code: -1, message: "no index", function: "git_repository_index") }
        return Index(pointer: out, repository: self)
    }

    /// A fresh in-memory index holding `tree`, attached to nothing on disk.
    public func inMemoryIndex(tree: OID?) throws -> Index {
        var out: OpaquePointer? = nil
        try check(git_index_new(&out), "git_index_new")
        guard let out else { throw GitError(code: -1, message: "no index", function: "git_index_new") }
        let index = Index(pointer: out, repository: self)
        if let tree { try index.readTree(tree) }
        return index
    }
}
