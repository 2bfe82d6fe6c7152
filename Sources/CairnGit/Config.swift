import CGit2
import Foundation

extension Repository {
    /// A configuration value as git resolves it (repository, then global, XDG and system files); nil when unset.
    public func configString(_ key: String) throws -> String? {
        var cfg: OpaquePointer? = nil
        try check(git_repository_config_snapshot(&cfg, pointer), "git_repository_config_snapshot")
        defer { git_config_free(cfg) }
        var value: UnsafePointer<CChar>? = nil
        let rc = git_config_get_string(&value, cfg, key)
        if rc == GIT_ENOTFOUND.rawValue { git_error_clear(); return nil }
        try check(rc, "git_config_get_string")
        return value.map { String(cString: $0) }
    }

    /// A boolean configuration value; nil when unset.
    public func configBool(_ key: String) throws -> Bool? {
        var cfg: OpaquePointer? = nil
        try check(git_repository_config_snapshot(&cfg, pointer), "git_repository_config_snapshot")
        defer { git_config_free(cfg) }
        var value: Int32 = 0
        let rc = git_config_get_bool(&value, cfg, key)
        if rc == GIT_ENOTFOUND.rawValue { git_error_clear(); return nil }
        try check(rc, "git_config_get_bool")
        return value != 0
    }

    /// Sets `key` in the repository's own `.git/config`.
    public func setConfig(_ key: String, _ value: String) throws {
        var cfg: OpaquePointer? = nil
        try check(git_repository_config(&cfg, pointer), "git_repository_config")
        defer { git_config_free(cfg) }
        var local: OpaquePointer? = nil
        try check(git_config_open_level(&local, cfg, GIT_CONFIG_LEVEL_LOCAL), "git_config_open_level")
        defer { git_config_free(local) }
        try check(git_config_set_string(local, key, value), "git_config_set_string")
    }
}
