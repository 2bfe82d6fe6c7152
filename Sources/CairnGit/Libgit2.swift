import CGit2

/// Process-wide libgit2 set-up, run once and lazily before the first repository is opened.
public enum Libgit2 {
    private static let initialized: Bool = {
        git_libgit2_init()
        // Durability is an invariant: fsync objects, refs and the index before renaming them
        // into place. Turned off only for benchmarks that measure its cost.
        _ = cairn_git_set_fsync(1)
        // Vault folders hold thousands of notes, so their trees are far larger than libgit2's default
        // 4 KiB cache limit; caching them lets a tree update reuse what status just read.
        _ = cairn_git_set_tree_cache_limit(16 << 20)
        return true
    }()

    /// Ensures `git_libgit2_init` has run. Cheap after the first call.
    @inline(__always)
    static func ensureInitialized() { _ = initialized }

    /// Turns fsync of the git directory on or off for the whole process (on by default).
    public static func setFsync(_ enabled: Bool) {
        ensureInitialized()
        _ = cairn_git_set_fsync(enabled ? 1 : 0)
    }

    /// Verifies every object's hash as it is read (on by default). `cairn doctor` keeps it on; everyday
    /// commands may turn it off, since git itself checks hashes only in `git fsck`.
    public static func setStrictHashVerification(_ enabled: Bool) {
        ensureInitialized()
        _ = cairn_git_set_strict_hash_verification(enabled ? 1 : 0)
    }

    /// Points libgit2's global/XDG/system config lookup at `path` (or nowhere with `nil`).
    ///
    /// Tests use this to keep the machine's git configuration out of their results.
    public static func setConfigSearchPath(_ path: String?) {
        ensureInitialized()
        for level in [GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG, GIT_CONFIG_LEVEL_GLOBAL] {
            _ = cairn_git_set_search_path(level.rawValue, path ?? "")
        }
    }

    /// The linked libgit2 version, for `cairn doctor`.
    public static var version: String {
        var major: Int32 = 0, minor: Int32 = 0, rev: Int32 = 0
        git_libgit2_version(&major, &minor, &rev)
        return "\(major).\(minor).\(rev)"
    }
}
