import CGit2
import Foundation

extension Libgit2 {
    /// A value from git configuration outside any repository: the file at `file` when given
    /// (as `GIT_CONFIG_GLOBAL` names one), else the global/XDG/system files libgit2 finds.
    public static func configString(_ key: String, file: String? = nil) -> String? {
        ensureInitialized()
        var cfg: OpaquePointer? = nil
        let rc: Int32
        if let file {
            rc = git_config_open_ondisk(&cfg, file)
        } else {
            rc = git_config_open_default(&cfg)
        }
        guard rc == 0, let cfg else { git_error_clear(); return nil }
        defer { git_config_free(cfg) }
        var snapshot: OpaquePointer? = nil
        guard git_config_snapshot(&snapshot, cfg) == 0, let snapshot else { git_error_clear(); return nil }
        defer { git_config_free(snapshot) }
        var value: UnsafePointer<CChar>? = nil
        guard git_config_get_string(&value, snapshot, key) == 0, let value else { git_error_clear(); return nil }
        return String(cString: value)
    }
}

extension Repository {
    /// A value from the repository's own `.git/config` only (no global or system files).
    public func localConfigString(_ key: String) throws -> String? {
        var cfg: OpaquePointer? = nil
        try check(git_repository_config_snapshot(&cfg, pointer), "git_repository_config_snapshot")
        defer { git_config_free(cfg) }
        var local: OpaquePointer? = nil
        let rc = git_config_open_level(&local, cfg, GIT_CONFIG_LEVEL_LOCAL)
        if rc == GIT_ENOTFOUND.rawValue { git_error_clear(); return nil }
        try check(rc, "git_config_open_level")
        defer { git_config_free(local) }
        var value: UnsafePointer<CChar>? = nil
        let grc = git_config_get_string(&value, local, key)
        if grc == GIT_ENOTFOUND.rawValue { git_error_clear(); return nil }
        try check(grc, "git_config_get_string")
        return value.map { String(cString: $0) }
    }
}
