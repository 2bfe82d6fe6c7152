import CGit2Support
import CairnGit
import Foundation

/// Talks to a vault's change watcher (`cairn watch`, see `VaultWatcher`) over its Unix socket.
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
        /// Searches the watcher ran for the `cairn` front end since it started.
        public var served: Int
    }

    /// The protocol's first field; a watcher of another version is treated as absent.
    static let magic = CAIRN_WATCH_MAGIC

    /// The socket's address: abstract (no file to go stale, no path-length limit), named by this user
    /// and the resolved git directory (`cairn_watch_socket_name`, shared with the C front end
    /// `launcher/cairn.c`). The peer's user id is checked on both ends.
    static func address(gitDir: String) -> (sockaddr_un, socklen_t) {
        let resolved = realpath(gitDir, nil).map { p -> String in defer { free(p) }; return String(cString: p) } ?? gitDir
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let nameLength = withUnsafeMutableBytes(of: &addr.sun_path) { buf -> Int in
            buf[0] = 0  // abstract namespace
            let name = buf.baseAddress!.advanced(by: 1).assumingMemoryBound(to: CChar.self)
            return cairn_watch_socket_name(resolved, UInt32(getuid()), name, buf.count - 1)
        }
        return (addr, socklen_t(MemoryLayout<sa_family_t>.size + 1 + nameLength))
    }

    /// Asks the vault's watcher for the changes since `token` (nil: none known). Returns nil when no
    /// watcher answers for this vault (none running, another user's, or no answer within `timeout`).
    public static func sync(gitDir: String, root: String, since token: String?, timeout: Double = 5) -> Sync? {
        guard let fields = request("sync \(token ?? "-")", gitDir: gitDir, root: root, timeout: timeout),
              fields.count >= 2 else { return nil }
        switch fields[1] {
        case "changes": return .changes(token: fields[0], paths: Array(fields.dropFirst(2)))
        case "rescan": return .rescan(token: fields[0])
        default: return nil
        }
    }

    /// The running watcher's state, or nil when none answers.
    public static func status(gitDir: String, root: String, timeout: Double = 5) -> Status? {
        guard let fields = request("status", gitDir: gitDir, root: root, timeout: timeout), fields.count >= 2,
              fields[1] == "status" else { return nil }
        var values: [String: String] = [:]
        for field in fields.dropFirst(2) {
            guard let eq = field.firstIndex(of: "=") else { continue }
            values[String(field[..<eq])] = String(field[field.index(after: eq)...])
        }
        return Status(pid: Int(values["pid"] ?? "") ?? 0, root: root, token: fields[0],
                      folders: Int(values["folders"] ?? "") ?? 0, pending: Int(values["pending"] ?? "") ?? 0,
                      startedAt: values["started"] ?? "", served: Int(values["served"] ?? "") ?? 0)
    }

    /// Asks the watcher to stop; true when one answered.
    @discardableResult
    public static func stop(gitDir: String, root: String, timeout: Double = 5) -> Bool {
        request("stop", gitDir: gitDir, root: root, timeout: timeout) != nil
    }

    /// Sends one request line and reads the answer to the end: the magic, the watcher's root (checked
    /// against `root`), then the fields, all NUL-terminated. Returns the fields after the root.
    static func request(_ line: String, gitDir: String, root: String, timeout: Double) -> [String]? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var (addr, length) = address(gitDir: gitDir)
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) }
        }
        guard connected == 0, cairn_peer_uid(fd) == Int(getuid()) else { return nil }
        setTimeout(fd, seconds: timeout)
        guard writeAll(fd, Array((line + "\n").utf8)) else { return nil }
        var answer = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
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
