import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The lock that lets only one `cairn tick` (or `cairn emit` starting workflows) decide what is due at a time.
///
/// `flock(2)` on `.git/cairn/tick.lock`, taken without waiting: the kernel drops it when its holder dies, so a
/// crashed tick never blocks the next one, and a tick that finds it held simply leaves the work to the holder.
/// Separate from the vault lock, which the workflow engine takes and releases around each write.
public final class TickLock {
    private let fd: Int32
    public let path: String

    /// Takes the lock, or returns nil when another process holds it.
    public init?(gitDir: String) throws {
        let dir = (gitDir as NSString).appendingPathComponent("cairn")
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        path = (dir as NSString).appendingPathComponent("tick.lock")
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw VaultError.locked(path: path, reason: "cannot open the tick lock (\(String(cString: strerror(errno))))")
        }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let busy = errno == EWOULDBLOCK
            let reason = String(cString: strerror(errno))
            close(fd)
            if busy { return nil }
            throw VaultError.locked(path: path, reason: reason)
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { write(fd, $0, strlen($0)) }
    }

    deinit {
        _ = flock(fd, LOCK_UN)
        close(fd)
    }
}
