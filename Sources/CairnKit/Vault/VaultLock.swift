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
    public convenience init(gitDir: String, timeout: TimeInterval = 30) throws {
        guard let fd = try Self.take(gitDir: gitDir, file: "vault.lock", timeout: timeout) else {
            throw VaultError.locked(path: Self.path(gitDir, "vault.lock"),
                                    reason: "another cairn process is writing to this vault; try again when it finishes")
        }
        self.init(fd: fd, path: Self.path(gitDir, "vault.lock"))
    }

    /// Takes `.git/cairn/<file>` without waiting, or returns nil when another process holds it (for locks whose
    /// holder does the work for everyone, like `cairn tick`'s).
    public static func attempt(gitDir: String, file: String) throws -> VaultLock? {
        try take(gitDir: gitDir, file: file, timeout: 0).map { VaultLock(fd: $0, path: path(gitDir, file)) }
    }

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    private static func path(_ gitDir: String, _ file: String) -> String {
        ((gitDir as NSString).appendingPathComponent("cairn") as NSString).appendingPathComponent(file)
    }

    /// `flock(2)` on `.git/cairn/<file>`, retried until `timeout`; the descriptor, or nil when still held.
    private static func take(gitDir: String, file: String, timeout: TimeInterval) throws -> Int32? {
        let dir = (gitDir as NSString).appendingPathComponent("cairn")
        let path = path(gitDir, file)
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw VaultError.cannotWrite(path: dir, reason: String(cString: strerror(errno)))
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw VaultError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
        let deadline = Date().addingTimeInterval(timeout)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno != EWOULDBLOCK && errno != EINTR {
                let reason = String(cString: strerror(errno))
                close(fd)
                throw VaultError.locked(path: path, reason: reason)
            }
            if errno == EWOULDBLOCK && Date() >= deadline {
                close(fd)
                return nil
            }
            if errno == EWOULDBLOCK { usleep(20_000) }
        }
        let pid = "\(getpid())\n"
        _ = ftruncate(fd, 0)
        _ = pid.withCString { write(fd, $0, strlen($0)) }
        return fd
    }

    deinit {
        _ = flock(fd, LOCK_UN)
        close(fd)
    }
}
