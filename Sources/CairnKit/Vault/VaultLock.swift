import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An exclusive lock on a vault, held by one cairn process at a time for every write.
///
/// Uses `flock(2)` on `.git/cairn/vault.lock`: the kernel releases it when the process dies,
/// so a crashed cairn never leaves a lock that blocks the next one.
public final class VaultLock {
    private let fd: Int32
    public let path: String

    /// Waits up to `timeout` seconds for the lock.
    public init(gitDir: String, timeout: TimeInterval = 30) throws {
        let dir = (gitDir as NSString).appendingPathComponent("cairn")
        path = (dir as NSString).appendingPathComponent("vault.lock")
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw VaultError.cannotWrite(path: dir, reason: String(cString: strerror(errno)))
        }
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw VaultError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
        let deadline = Date().addingTimeInterval(timeout)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno != EWOULDBLOCK && errno != EINTR {
                close(fd)
                throw VaultError.locked(path: path, reason: String(cString: strerror(errno)))
            }
            if Date() >= deadline {
                close(fd)
                throw VaultError.locked(path: path, reason: "another cairn process is writing to this vault; try again when it finishes")
            }
            usleep(20_000)
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
