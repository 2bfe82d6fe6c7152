import CGit2
import CGit2Helpers
import CLooseObjectCheck

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
        // Packs first, then the loose-object check, then loose objects (see `Repository.guardLooseObjects`).
        _ = cairn_git_set_odb_priorities(packedPriority, loosePriority)
        return true
    }()

    /// Backend priorities of every object database (libgit2 asks the highest first); the loose-object check sits
    /// between the two defaults libgit2 would use (packed 2, loose 1).
    static let packedPriority: Int32 = 3
    static let looseCheckPriority: Int32 = 2
    static let loosePriority: Int32 = 1

    /// Ensures `git_libgit2_init` has run. Cheap after the first call.
    @inline(__always)
    static func ensureInitialized() { _ = initialized }

    /// Turns fsync of the git directory on or off for the whole process (on by default).
    public static func setFsync(_ enabled: Bool) {
        ensureInitialized()
        _ = cairn_git_set_fsync(enabled ? 1 : 0)
        fsyncEnabled = enabled
    }

    /// Caps what libgit2 keeps in memory for the whole process: the pack windows it maps (`mappedBytes`; the
    /// default lets a 64-bit process map every pack whole, which a rewrite of a large history touches entirely)
    /// and its cache of parsed objects (`cacheBytes`). A history rewrite and its repack set them.
    ///
    /// `windowBytes` sets the size of each mapped window (1 GB by default on 64-bit: one window holds a whole
    /// pack, so the mapped limit cannot drop any of it).
    public static func limitMemory(mappedBytes: Int, cacheBytes: Int, windowBytes: Int? = nil) {
        ensureInitialized()
        if let windowBytes { _ = cairn_git_set_mwindow_size(max(1 << 20, windowBytes)) }
        _ = cairn_git_set_mwindow_mapped_limit(max(1 << 20, mappedBytes))
        _ = cairn_git_set_cache_max_size(max(1 << 20, cacheBytes))
    }

    /// Turns libgit2's cache of objects read (commits and trees, and raw object bodies, kept by id) on or off for the
    /// whole process.
    ///
    /// A history walk reads each commit and folder once (`PathLookup` remembers its answers itself), so keeping
    /// them all only costs: a walk over 40,000 commits takes 13 % less CPU without it. `log` and `why` turn it off.
    public static func setObjectCaching(_ enabled: Bool) {
        ensureInitialized()
        _ = cairn_git_enable_caching(enabled ? 1 : 0)
    }

    /// Whether objects cairn writes itself (see `Repository.writeStoredLooseObject`) are fsynced, as libgit2's are.
    nonisolated(unsafe) public private(set) static var fsyncEnabled = true

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

    /// Loads the CA bundle libgit2 asked for at start-up, so HTTPS remotes can be verified.
    ///
    /// Parsing the system CA bundle is most of `git_libgit2_init`'s cost, and no local command needs it, so the
    /// bundle is loaded on first use (see CGit2Helpers). Anything that opens a TLS connection through libgit2
    /// (fetch, push, clone over HTTPS) must call this first; until then the trusted chain is empty and every TLS
    /// handshake fails verification.
    public static func enableTLS() throws {
        ensureInitialized()
        _ = try check(cairn_tls_enable(), "load the CA certificates")
    }

    /// Trusts the certificates in `file` (PEM) for HTTPS remotes; the real parser must be on (`enableTLS`).
    public static func setCALocations(file: String) throws {
        try enableTLS()
        _ = try check(cairn_git_set_ssl_cert_file(file), "load CA certificates from \(file)")
    }

    /// The CA file whose loading was deferred at start-up, if any (for `cairn doctor` and tests).
    public static var deferredCAFile: String? {
        ensureInitialized()
        return cairn_tls_deferred_ca_file().map { String(cString: $0) }
    }

    /// How many CA files have been parsed for real (0 until `enableTLS`).
    public static var loadedCAFileCount: Int { Int(cairn_tls_real_parse_count()) }

    /// Whether file:// remotes (and remotes named by a local path) go through `git upload-pack` / `git receive-pack`
    /// over pipes, set up on first use: true when `git` is on PATH. libgit2's own local transport builds the pack
    /// in process and recomputes every delta (no reuse of the remote's), which made a clone of a 100k-note vault
    /// several times slower than `git clone file://` (bench/RESULTS.md, "Sync after the timeout"). Only the
    /// transport changes; without git, libgit2's local transport is used.
    public static let gitForFileRemotes: Bool = {
        ensureInitialized()
        return cairn_use_git_for_file_remotes() == 1
    }()

    /// The linked libgit2 version, for `cairn doctor`.
    public static var version: String {
        var major: Int32 = 0, minor: Int32 = 0, rev: Int32 = 0
        git_libgit2_version(&major, &minor, &rev)
        return "\(major).\(minor).\(rev)"
    }
}
