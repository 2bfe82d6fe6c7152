import CGit2
import Foundation

extension Repository {
    /// Deletes the reflog of reference `name` (`HEAD` included); a reference without one is not an error.
    ///
    /// Reflogs keep old commits reachable for git (`git fsck`, `git gc`): a history rewrite that removes
    /// objects must expire them first, like `git reflog expire --expire=now --all`.
    public func deleteReflog(_ name: String) throws {
        let rc = git_reflog_delete(pointer, name)
        if rc == GIT_ENOTFOUND.rawValue { git_error_clear(); return }
        try check(rc, "git_reflog_delete")
    }

    /// The commits the reflog of `name` mentions (old and new sides), for checking what it keeps alive.
    public func reflogCommits(_ name: String) throws -> [OID] {
        var log: OpaquePointer? = nil
        let rc = git_reflog_read(&log, pointer, name)
        if rc == GIT_ENOTFOUND.rawValue { git_error_clear(); return [] }
        try check(rc, "git_reflog_read")
        defer { git_reflog_free(log) }
        var out: [OID] = []
        for i in 0..<git_reflog_entrycount(log) {
            guard let entry = git_reflog_entry_byindex(log, i) else { continue }
            for id in [git_reflog_entry_id_old(entry), git_reflog_entry_id_new(entry)] {
                if let id, let oid = Optional(OID(id.pointee)), oid.bytes.contains(where: { $0 != 0 }) { out.append(oid) }
            }
        }
        return out
    }
}
