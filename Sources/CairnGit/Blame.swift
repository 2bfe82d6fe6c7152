import CGit2
import Foundation

/// Where one line of a file came from.
public struct BlameLine: Hashable, Sendable {
    /// The commit that last changed the line.
    public let commit: OID
    /// The path of the file in that commit (differs after a rename).
    public let path: String
    /// The line number in that commit's version of the file.
    public let originalLine: Int
}

extension Repository {
    /// The commit that last changed line `line` (1-based) of `path` as of commit `newest`.
    public func blame(path: String, line: Int, newest: OID) throws -> BlameLine? {
        var opts = git_blame_options()
        try check(git_blame_options_init(&opts, UInt32(GIT_BLAME_OPTIONS_VERSION)), "git_blame_options_init")
        opts.newest_commit = newest.raw
        opts.min_line = line
        opts.max_line = line
        var blame: OpaquePointer? = nil
        try check(git_blame_file(&blame, pointer, path, &opts), "git_blame_file")
        defer { git_blame_free(blame) }
        guard let hunk = git_blame_get_hunk_byline(blame, line)?.pointee else { return nil }
        let origPath = hunk.orig_path.map { String(cString: $0) } ?? path
        return BlameLine(commit: OID(hunk.final_commit_id), path: origPath,
                         originalLine: Int(hunk.orig_start_line_number) + (line - Int(hunk.final_start_line_number)))
    }
}
