import CGit2
import Foundation

extension Index {
    /// Opens (or starts, when missing) an index stored at `path`, detached from any repository's default.
    public static func open(path: String, repository: Repository) throws -> Index {
        var out: OpaquePointer? = nil
        try check(git_index_open(&out, path), "git_index_open")
        guard let out else { throw GitError(code: -1, message: "no index at \(path)", function: "git_index_open") }
        return Index(pointer: out, repository: repository)
    }

    /// The blob id and file mode staged at `path` (stage 0), or nil.
    public func stagedFile(path: String) -> (oid: OID, mode: UInt32)? {
        guard let e = git_index_get_bypath(pointer, path, 0) else { return nil }
        return (OID(e.pointee.id), e.pointee.mode)
    }

    /// Stages blob `oid` with `mode` at `path` without reading the working tree. The entry has no stat
    /// data, so git compares the file's content at its next status instead of trusting a stat.
    public func add(path: String, oid: OID, mode: UInt32) throws {
        var entry = git_index_entry()
        entry.mode = mode
        entry.id = oid.raw
        try path.withCString { p in
            entry.path = p
            try check(git_index_add(pointer, &entry), "git_index_add")
        }
    }

    /// The on-disk path of this index, nil for an in-memory one.
    public var filePath: String? { git_index_path(pointer).map { String(cString: $0) } }
}

extension Repository {
    /// Makes `index` the one this repository uses for status, diff and checkout.
    public func setIndex(_ index: Index) throws {
        try check(git_repository_set_index(pointer, index.pointer), "git_repository_set_index")
    }
}

extension Index {
    /// The object id of every entry, all stages (what `git fsck` counts as reachable from the index).
    public var entryIDs: [OID] {
        var out: [OID] = []
        for i in 0..<git_index_entrycount(pointer) {
            if let e = git_index_get_byindex(pointer, i) { out.append(OID(e.pointee.id)) }
        }
        return out
    }
}

/// A stage-0 entry of git's index with the stat data git recorded for the file (what `git status` compares a file's
/// stat with before trusting the entry's blob id).
public struct IndexStatEntry: Sendable {
    public let path: String
    public let oid: OID
    public let mode: UInt32
    /// The file's size, inode, times (nanoseconds since the epoch) as git stored them: size and inode cut to 32 bits.
    public let size: UInt32
    public let ino: UInt32
    public let mtime: Int64
    public let ctime: Int64
}

extension Index {
    /// Every stage-0 entry with its recorded stat data, in index order.
    public var statEntries: [IndexStatEntry] {
        var out: [IndexStatEntry] = []
        let count = git_index_entrycount(pointer)
        out.reserveCapacity(count)
        for i in 0..<count {
            guard let e = git_index_get_byindex(pointer, i), let path = e.pointee.path else { continue }
            // Stage bits (GIT_INDEX_ENTRY_STAGEMASK 0x3000): only merged entries describe one file.
            guard (e.pointee.flags >> 12) & 0x3 == 0 else { continue }
            let m = e.pointee.mtime, c = e.pointee.ctime
            out.append(IndexStatEntry(path: String(cString: path), oid: OID(e.pointee.id), mode: e.pointee.mode,
                                      size: e.pointee.file_size, ino: e.pointee.ino,
                                      mtime: Int64(m.seconds) * 1_000_000_000 + Int64(m.nanoseconds),
                                      ctime: Int64(c.seconds) * 1_000_000_000 + Int64(c.nanoseconds)))
        }
        return out
    }
}
