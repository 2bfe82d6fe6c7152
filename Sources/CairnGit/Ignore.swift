import CGit2
import Foundation

extension Repository {
    /// True when `.gitignore` rules (and `info/exclude`, `core.excludesFile`) ignore the working-tree path `path`.
    public func isIgnored(_ path: String) throws -> Bool {
        var ignored: Int32 = 0
        try check(git_ignore_path_is_ignored(&ignored, pointer, path), "git_ignore_path_is_ignored")
        return ignored == 1
    }
}
