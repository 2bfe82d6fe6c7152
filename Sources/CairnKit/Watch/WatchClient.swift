import CSystemCalls
import CairnGit
import Foundation

/// Talks to a vault's change watcher (`cairn watch`, see `VaultWatcher`) over its Unix socket
/// `.git/cairn/watch/socket`. Every wait is bounded: a watcher that is stopped, stuck or gone costs a
/// command at most the timeout, after which it checks the working tree itself.
///
/// The watcher hands out tokens (`epoch:sequence`). `sync(since:)` answers with the working-tree paths
/// that changed after the token was handed out, and a new token; or with `rescan` when it cannot (no
/// token, a token of another watcher run, or events were lost): the caller then checks everything.
/// Before answering, the watcher creates a cookie file and waits for its own event, so every change
/// that finished before the request is in the answer.
public enum WatchClient {
    /// What a sync returned.
    public enum Sync: Equatable, Sendable {
        /// The paths (relative to the working tree, files or folders, possibly gone) changed since the token.
        case changes(token: String, paths: [String])
        /// Everything must be checked; changes after `token` will be reported from the next sync on.
        case rescan(token: String)
    }

    /// A running watcher's state (`cairn watch status`).
    public struct Status: Codable, Equatable, Sendable {
        public var pid: Int
        public var root: String
        public var token: String
        public var folders: Int
        public var pending: Int
        public var startedAt: String
    }

    /// The protocol's first field; a watcher of another version is treated as absent.
    static let magic = "cairn-watch 3"

    /// How long a command waits for the watcher's answer before checking everything itself. The
    /// watcher answers a sync within milliseconds; one that is stopped (SIGSTOP), stuck or flooded
    /// with events is not worth waiting for longer than a full check of a large vault takes.
    public static let syncTimeout = 1.0

    /// The watcher's folder, `.git/cairn/watch/` (mode 0700: only this user reaches the socket).
    static func folder(gitDir: String) -> String { gitDir + "cairn/watch" }

    /// The socket file.
    static func socketPath(gitDir: String) -> String { folder(gitDir: gitDir) + "/socket" }

    /// Creates `path` (and its parents) with mode 0700, or makes an existing one 0700; refuses a folder
    /// that belongs to another user.
    static func makePrivateFolder(_ path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        var st = stat()
        guard lstat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR, st.st_uid == getuid() else {
            throw VaultWatcher.Failure(description: "\(path) is not a folder of this user")
        }
        if st.st_mode & 0o777 != 0o700 { chmod(path, 0o700) }
    }

    /// Calls `body` with the socket address of the file at `path`. A path longer than a socket address
    /// holds (108 bytes) is reached through its folder's descriptor (`/proc/self/fd/N/socket`).
    static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        var name = path
        var dirfd: Int32 = -1
        defer { if dirfd >= 0 { close(dirfd) } }
        if path.utf8.count >= capacity, let slash = path.lastIndex(of: "/") {
            dirfd = open(String(path[..<slash]), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard dirfd >= 0 else { return -1 }
            name = "/proc/self/fd/\(dirfd)/" + path[path.index(after: slash)...]
        }
        let bytes = Array(name.utf8)
        guard bytes.count < capacity else { errno = ENAMETOOLONG; return -1 }
        withUnsafeMutableBytes(of: &addr.sun_path) { buf in
            buf.copyBytes(from: bytes)
            buf[bytes.count] = 0
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
    }

    /// Asks the vault's watcher for the changes since `token` (nil: none known). Returns nil when no
    /// watcher answers for this vault (none running, another user's, or no answer within `timeout`).
    public static func sync(gitDir: String, root: String, since token: String?, timeout: Double = syncTimeout) -> Sync? {
        guard let fields = request("sync \(token ?? "-")", gitDir: gitDir, root: root, timeout: timeout),
              fields.count >= 2 else { return nil }
        switch fields[1] {
        case "changes": return .changes(token: fields[0], paths: Array(fields.dropFirst(2)))
        case "rescan": return .rescan(token: fields[0])
        default: return nil
        }
    }

    /// The running watcher's state, or nil when none answers.
    public static func status(gitDir: String, root: String, timeout: Double = 2) -> Status? {
        guard let fields = request("status", gitDir: gitDir, root: root, timeout: timeout), fields.count >= 2,
              fields[1] == "status" else { return nil }
        var values: [String: String] = [:]
        for field in fields.dropFirst(2) {
            guard let eq = field.firstIndex(of: "=") else { continue }
            values[String(field[..<eq])] = String(field[field.index(after: eq)...])
        }
        return Status(pid: Int(values["pid"] ?? "") ?? 0, root: root, token: fields[0],
                      folders: Int(values["folders"] ?? "") ?? 0, pending: Int(values["pending"] ?? "") ?? 0,
                      startedAt: values["started"] ?? "")
    }

    /// Asks the watcher to stop; true when one answered.
    @discardableResult
    public static func stop(gitDir: String, root: String, timeout: Double = 2) -> Bool {
        request("stop", gitDir: gitDir, root: root, timeout: timeout) != nil
    }

    /// Sends one request line and reads the answer to the end: the magic, the watcher's root (checked
    /// against `root`), then the fields, all NUL-terminated. Returns the fields after the root, or nil
    /// when no watcher of this user answered within `timeout` seconds (connecting, sending and reading
    /// all count against it).
    static func request(_ line: String, gitDir: String, root: String, timeout: Double) -> [String]? {
        let path = socketPath(gitDir: gitDir)
        guard access(path, F_OK) == 0 else { return nil }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        // A full backlog (a stopped watcher accepts nothing) would block connect: the send timeout bounds it.
        setTimeout(fd, seconds: timeout)
        let connected = withAddress(path) { connect(fd, $0, $1) }
        guard connected == 0, cairn_peer_uid(fd) == Int(getuid()) else { return nil }
        let deadline = Date().addingTimeInterval(timeout)
        guard writeAll(fd, Array((line + "\n").utf8)) else { return nil }
        var answer = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR {
                guard Date() < deadline else { return nil }
                continue
            }
            guard n >= 0 else { return nil }  // timed out or failed
            if n == 0 { break }
            answer.append(contentsOf: buffer[0..<n])
        }
        guard answer.last == 0 else { return nil }
        var fields = answer.dropLast().split(separator: 0, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        guard fields.count >= 2, fields[0] == magic, fields[1] == normalizedRoot(root) else { return nil }
        fields.removeFirst(2)
        return fields
    }

    /// The working tree root as the watcher reports it (resolved, without a trailing slash).
    public static func normalizedRoot(_ root: String) -> String {
        let resolved = realpath(root, nil).map { p -> String in defer { free(p) }; return String(cString: p) } ?? root
        return resolved.count > 1 && resolved.hasSuffix("/") ? String(resolved.dropLast()) : resolved
    }

    static func setTimeout(_ fd: Int32, seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            sent += n
        }
        return true
    }
}
