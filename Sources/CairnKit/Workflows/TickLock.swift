/// The lock that lets only one `cairn tick` (or `cairn emit` starting workflows) decide what is due at a time.
///
/// `flock(2)` on `.git/cairn/tick.lock` (the vault lock's mechanism, on another file), taken without waiting: the
/// kernel drops it when its holder dies, so a crashed tick never blocks the next one, and a tick that finds it held
/// simply leaves the work to the holder. Separate from the vault lock, which the workflow engine takes and
/// releases around each write.
public enum TickLock {
    /// Takes the lock, or returns nil when another process holds it; held until the result is released.
    public static func attempt(gitDir: String) throws -> VaultLock? {
        try VaultLock.attempt(gitDir: gitDir, file: "tick.lock")
    }
}
