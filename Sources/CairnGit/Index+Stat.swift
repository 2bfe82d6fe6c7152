import CGit2
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Index {
    /// Stages blob `oid` at `path` for the working-tree file just written there, with that file's stat data as
    /// libgit2's checkout records it (`git_index_entry__init_from_stat`): git and libgit2 then trust the file
    /// without reading it again. `st` must come from the file after it was given its name (a link changes ctime).
    public func add(path: String, oid: OID, stat st: stat) throws {
        var entry = git_index_entry()
        entry.ctime.seconds = Int32(truncatingIfNeeded: st.st_ctim.tv_sec)
        entry.ctime.nanoseconds = UInt32(truncatingIfNeeded: st.st_ctim.tv_nsec)
        entry.mtime.seconds = Int32(truncatingIfNeeded: st.st_mtim.tv_sec)
        entry.mtime.nanoseconds = UInt32(truncatingIfNeeded: st.st_mtim.tv_nsec)
        entry.dev = UInt32(truncatingIfNeeded: st.st_rdev)
        entry.ino = UInt32(truncatingIfNeeded: st.st_ino)
        entry.mode = st.st_mode & 0o100 != 0 ? 0o100755 : 0o100644
        entry.uid = st.st_uid
        entry.gid = st.st_gid
        entry.file_size = UInt32(truncatingIfNeeded: st.st_size)
        entry.id = oid.raw
        try path.withCString { p in
            entry.path = p
            try check(git_index_add(pointer, &entry), "git_index_add")
        }
    }

    /// Whether some entry's path starts with `prefix` (a folder's entries, for `prefix` ending in `/`).
    public func hasEntry(withPrefix prefix: String) -> Bool {
        var position = 0
        if git_index_find_prefix(&position, pointer, prefix) == 0 { return true }
        git_error_clear()
        return false
    }
}
