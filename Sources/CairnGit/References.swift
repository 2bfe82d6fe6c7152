import CGit2
import Foundation

extension Repository {
    /// The commit a reference points to (peeling symbolic refs), or nil when it does not exist.
    public func referenceTarget(_ name: String) throws -> OID? {
        var out = git_oid()
        let rc = git_reference_name_to_id(&out, pointer, name)
        if rc == GIT_ENOTFOUND.rawValue || rc == GIT_EUNBORNBRANCH.rawValue { git_error_clear(); return nil }
        try check(rc, "git_reference_name_to_id")
        return OID(out)
    }

    /// Points `name` at `target` only if it currently points at `expected` (nil: only if it does not exist).
    ///
    /// A compare-and-swap: throws `GitError.modified` (or `.exists`) when another writer moved the
    /// reference first, so no update is ever lost. The reflog records `message`.
    public func updateReference(_ name: String, to target: OID, expected: OID?, message: String) throws {
        var raw = target.raw
        var ref: OpaquePointer? = nil
        defer { git_reference_free(ref) }
        if var expectedRaw = expected?.raw {
            try check(git_reference_create_matching(&ref, pointer, name, &raw, 1, &expectedRaw, message), "git_reference_create_matching")
        } else {
            try check(git_reference_create(&ref, pointer, name, &raw, 0, message), "git_reference_create")
        }
    }

    /// Deletes `name` only if it currently points at `expected`; a missing reference is not an error.
    public func deleteReference(_ name: String, expected: OID) throws {
        var ref: OpaquePointer? = nil
        let rc = git_reference_lookup(&ref, pointer, name)
        if rc == GIT_ENOTFOUND.rawValue { git_error_clear(); return }
        try check(rc, "git_reference_lookup")
        guard let ref else { return }
        defer { git_reference_free(ref) }
        guard let current = git_reference_target(ref), OID(current.pointee) == expected else {
            throw GitError(code: GIT_EMODIFIED.rawValue, message: "reference \(name) moved; not deleted", function: "git_reference_delete")
        }
        try check(git_reference_delete(ref), "git_reference_delete")
    }

    /// All direct references whose full name starts with `prefix` (e.g. `refs/heads/proposals/`), sorted by name.
    public func references(withPrefix prefix: String) throws -> [(name: String, target: OID)] {
        var iter: OpaquePointer? = nil
        try check(git_reference_iterator_glob_new(&iter, pointer, prefix + "*"), "git_reference_iterator_glob_new")
        defer { git_reference_iterator_free(iter) }
        var out: [(String, OID)] = []
        while true {
            var ref: OpaquePointer? = nil
            let rc = git_reference_next(&ref, iter)
            if rc == GIT_ITEROVER.rawValue { git_error_clear(); break }
            try check(rc, "git_reference_next")
            guard let ref else { break }
            defer { git_reference_free(ref) }
            guard let name = git_reference_name(ref) else { continue }
            let full = String(cString: name)
            guard full.hasPrefix(prefix) else { continue }
            if let t = git_reference_target(ref) { out.append((full, OID(t.pointee))) }
        }
        return out.sorted { $0.0 < $1.0 }
    }
}
