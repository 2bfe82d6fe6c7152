import CSystemCalls
import CairnGit
import Foundation

/// A change feed for the working tree: watches every folder with inotify and records which paths
/// changed, so the working-tree check (`WorktreeChanges`) looks only at those instead of statting every
/// file. Runs as `cairn watch run` (started in the background by `cairn watch start`). It is optional:
/// every command is correct without it, and one that gets no answer in time checks everything itself.
///
/// - Clients connect to a Unix socket file, `.git/cairn/watch/socket`, in a folder only the user can
///   enter (0700); a peer of another user is refused. A lock file in that folder, held while the watcher
///   runs, keeps a second watcher from starting. Deleting the socket (or `.git/cairn/`) stops the watcher.
/// - Each recorded change gets the next sequence number; a token is `epoch:sequence`, the epoch being
///   random per run and renewed whenever events may have been lost (the kernel's queue overflowed, a
///   folder was moved, the record grew too large). A token of another epoch gets `rescan`.
/// - A sync request is answered only after the watcher has seen the event of a cookie file it creates
///   in `.git/cairn/watch/cookies/` on receiving the request: inotify queues events in order, so every
///   change that finished before the request has been read by then.
/// - New folders are watched as they appear and their contents recorded (files may be written before the
///   watch is in place). `.git` and nested repositories are not watched; symbolic links are not followed.
/// - The watcher exits when asked (`stop`), on SIGTERM or SIGINT, or when the working tree, its `.git` or
///   its socket disappears.
public final class VaultWatcher {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    let root: String
    let gitDir: String
    /// `.git/cairn/watch/`: the socket, the lock and the cookie folder (mode 0700).
    let watchDir: String
    let cookieDir: String
    private var inotify: Int32 = -1
    private var listener: Int32 = -1
    private var folders: [Int32: String] = [:]  // watch descriptor → folder relative to root ("" is root)
    private var rootWatch: Int32 = -1
    private var cookieWatch: Int32 = -1
    private var epoch = VaultWatcher.newEpoch()
    private var sequence: UInt64 = 0
    /// The lowest sequence a token may have and still be answered from `changed` (older: rescan).
    private var floor: UInt64 = 0
    private var changed: [String: UInt64] = [:]
    private var cookies = 0
    private var stopping = false
    private var lockFile: Int32 = -1
    /// The socket file's inode once bound, to notice it deleted or replaced.
    private var socketInode: UInt64 = 0
    private let started = ISOTime.string(Date())
    /// Paths recorded beyond this many renew the epoch (memory stays bounded; clients rescan once).
    static let maxRecorded = 1_000_000
    static let folderMask: UInt32 = UInt32(IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE
        | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF) | UInt32(IN_DONT_FOLLOW) | UInt32(IN_ONLYDIR) | UInt32(IN_EXCL_UNLINK)

    /// Whether `run` leaves the process's working directory alone. A watcher of its own process (`cairn watch run`)
    /// moves out of the vault, since a working directory inside it would keep the root alive after an `rm -r` and
    /// the kernel reports a deletion only once the last reference goes; one running inside a longer-lived process
    /// (`cairn mcp`) must not change that process's directory, and notices a deleted vault by its two-second check.
    public var keepsWorkingDirectory = false

    /// A watcher for the vault (not started: see `run`).
    public init(vault: Vault) {
        root = WatchClient.normalizedRoot(vault.root)
        gitDir = vault.gitDir
        watchDir = WatchClient.folder(gitDir: vault.gitDir)
        cookieDir = watchDir + "/cookies"
    }

    /// Watches until stopped. Throws when another watcher runs for this vault, or when the folders
    /// cannot be watched (for example the kernel's limit on inotify watches is reached).
    /// `ready` is called once every folder is watched and requests are being answered.
    public func run(ready: () -> Void = {}) throws {
        if !keepsWorkingDirectory && FileManager.default.currentDirectoryPath.hasPrefix(root) { _ = chdir("/") }
        inotify = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard inotify >= 0 else { throw Failure(description: "cannot start inotify: \(String(cString: strerror(errno)))") }
        defer { close(inotify) }
        try listen()
        defer {
            close(listener)
            if socketIsOurs() { unlink(WatchClient.socketPath(gitDir: gitDir)) }
            close(lockFile)
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: cookieDir)) ?? [] {
            unlink(cookieDir + "/" + name)
        }
        try watchCookieDir()
        try watchAll()
        _ = vaultGone()
        ready()
        signal(SIGPIPE, SIG_IGN)
        let signals = cairn_termination_signal_fd()
        defer { close(signals) }

        while !stopping {
            var fds = [pollfd(fd: inotify, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, nfds_t(fds.count), 2000)
            if n < 0 { if errno == EINTR { continue }; throw Failure(description: "poll: \(String(cString: strerror(errno)))") }
            // The kernel reports a deleted folder only when nothing pins it, and a file still open below it
            // (this watcher's own log, an editor's) does: so whether the vault is still there is also checked
            // every two seconds.
            if vaultGone() || !socketIsOurs() { break }
            if fds[2].revents != 0 { break }
            if fds[0].revents != 0 { try readEvents() }
            if fds[1].revents != 0 { try serve() }
        }
    }

    // MARK: - Watching

    /// The root identity at start (device and inode), to notice a vault deleted or replaced.
    private var rootIdentity: (UInt64, UInt64)? = nil

    private func vaultGone() -> Bool {
        var st = stat()
        guard lstat(root, &st) == 0, access(gitDir + "HEAD", F_OK) == 0 else { return true }
        let identity = (UInt64(st.st_dev), UInt64(st.st_ino))
        if rootIdentity == nil { rootIdentity = identity }
        return rootIdentity! != identity
    }

    /// Creates `.git/cairn/watch/cookies/` when missing and watches it for cookies.
    private func watchCookieDir() throws {
        try FileManager.default.createDirectory(atPath: cookieDir, withIntermediateDirectories: true)
        cookieWatch = inotify_add_watch(inotify, cookieDir, UInt32(IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF) | UInt32(IN_ONLYDIR))
        guard cookieWatch >= 0 else { throw Failure(description: "cannot watch \(cookieDir): \(String(cString: strerror(errno)))") }
    }

    /// The cookie folder went away: `.git` or `.git/cairn/` was deleted (derived data), taking the
    /// socket with it, so nothing can reach this watcher any more and it stops.
    private func cookieDirLost() {
        cookieWatch = -1
        stopping = true
    }

    /// Watches every folder of the working tree (again: after a lost event, a moved folder), renewing the epoch.
    private func watchAll() throws {
        let before = folders
        folders = [:]
        rootWatch = -1
        try watchTree("", record: false)
        for (wd, _) in before where folders[wd] == nil { inotify_rm_watch(inotify, wd) }
        epoch = Self.newEpoch()
        changed = [:]
        floor = sequence
    }

    /// Watches the folder `dir` and the folders under it; with `record`, records every path found.
    private func watchTree(_ dir: String, record: Bool) throws {
        var pending = [dir]
        while let current = pending.popLast() {
            let full = current.isEmpty ? root : root + "/" + current
            let wd = inotify_add_watch(inotify, full, Self.folderMask)
            if wd < 0 {
                if errno == ENOSPC {
                    throw Failure(description: "the kernel's limit on inotify watches is reached while watching \(full) "
                        + "(raise fs.inotify.max_user_watches)")
                }
                if current.isEmpty { throw Failure(description: "cannot watch \(full): \(String(cString: strerror(errno)))") }
                continue  // gone already, or not a folder any more: its parent's event covers it
            }
            folders[wd] = current
            if current.isEmpty { rootWatch = wd }
            guard let handle = opendir(full) else { continue }
            defer { closedir(handle) }
            while let e = readdir(handle) {
                let name = withUnsafePointer(to: &e.pointee.d_name) {
                    String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
                }
                if name == "." || name == ".." || name == ".git" { continue }
                let path = current.isEmpty ? name : current + "/" + name
                if record { self.record(path) }
                var type = e.pointee.d_type
                if type == UInt8(DT_UNKNOWN) {
                    var st = stat()
                    guard lstat(full + "/" + name, &st) == 0 else { continue }
                    type = (st.st_mode & S_IFMT) == S_IFDIR ? UInt8(DT_DIR) : UInt8(DT_REG)
                }
                guard type == UInt8(DT_DIR), access(full + "/" + name + "/.git", F_OK) != 0 else { continue }
                pending.append(path)
            }
        }
    }

    private func record(_ path: String) {
        sequence += 1
        changed[path] = sequence
        if changed.count > Self.maxRecorded { changed = [:]; epoch = Self.newEpoch(); floor = sequence }
    }

    /// Reads every queued event. Returns the names of cookies seen.
    @discardableResult
    private func readEvents() throws -> Set<String> {
        var cookiesSeen = Set<String>()
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN { return cookiesSeen }
                throw Failure(description: "reading inotify events: \(String(cString: strerror(errno)))")
            }
            if n == 0 { return cookiesSeen }
            var resync = false
            var lostCookieDir = false
            try buffer.withUnsafeBytes { buf in
                var p = 0
                let header = MemoryLayout<inotify_event>.size
                while p + header <= n {
                    let wd = buf.loadUnaligned(fromByteOffset: p, as: Int32.self)
                    let mask = buf.loadUnaligned(fromByteOffset: p + 4, as: UInt32.self)
                    let length = Int(buf.loadUnaligned(fromByteOffset: p + 12, as: UInt32.self))
                    let nameBytes = UnsafeRawBufferPointer(rebasing: buf[(p + header)..<min(n, p + header + length)])
                    let name = String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self)
                    p += header + length
                    if mask & UInt32(IN_Q_OVERFLOW) != 0 { resync = true; continue }
                    if wd == cookieWatch {
                        if mask & UInt32(IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF) != 0 { lostCookieDir = true }
                        if mask & UInt32(IN_CREATE) != 0 { cookiesSeen.insert(name) }
                        continue
                    }
                    if mask & UInt32(IN_IGNORED) != 0 {
                        folders[wd] = nil
                        if wd == rootWatch { stopping = true }
                        continue
                    }
                    guard let dir = folders[wd] else { continue }
                    if wd == rootWatch && mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF) != 0 { stopping = true; continue }
                    if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF) != 0 { continue }  // its parent reports it
                    guard !name.isEmpty, !(dir.isEmpty && name == ".git") else { continue }
                    let path = dir.isEmpty ? name : dir + "/" + name
                    record(path)
                    if mask & UInt32(IN_ISDIR) != 0 {
                        if mask & UInt32(IN_MOVED_FROM | IN_MOVED_TO) != 0 {
                            resync = true  // the moved folder's watches now name other paths
                        } else if mask & UInt32(IN_CREATE) != 0, access(root + "/" + path + "/.git", F_OK) != 0 {
                            try watchTree(path, record: true)
                        }
                    }
                }
            }
            if lostCookieDir { cookieDirLost() }
            if resync { try watchAll() }
        }
    }

    // MARK: - Serving

    /// Makes the 0700 folder, takes its lock (another watcher holding it: refused) and binds the socket,
    /// replacing a stale one left by a watcher that was killed.
    private func listen() throws {
        try WatchClient.makePrivateFolder(watchDir)
        lockFile = open(watchDir + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFile >= 0 else { throw Failure(description: "cannot open \(watchDir)/lock: \(String(cString: strerror(errno)))") }
        guard flock(lockFile, LOCK_EX | LOCK_NB) == 0 else {
            let pid = WatchClient.status(gitDir: gitDir, root: root)?.pid
            throw Failure(description: "a watcher is already running for \(root)" + (pid.map { " (pid \($0))" } ?? ""))
        }
        let path = WatchClient.socketPath(gitDir: gitDir)
        unlink(path)
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw Failure(description: "cannot create a socket: \(String(cString: strerror(errno)))") }
        let bound = WatchClient.withAddress(path) { bind(listener, $0, $1) }
        guard bound == 0 else { throw Failure(description: "cannot bind \(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        guard lstat(path, &st) == 0 else { throw Failure(description: "the socket \(path) vanished") }
        socketInode = UInt64(st.st_ino)
        guard Glibc.listen(listener, 64) == 0 else { throw Failure(description: "listen: \(String(cString: strerror(errno)))") }
    }

    /// True while the socket file is the one this watcher bound (not deleted with `.git/cairn/`, not replaced).
    private func socketIsOurs() -> Bool {
        var st = stat()
        return lstat(WatchClient.socketPath(gitDir: gitDir), &st) == 0 && UInt64(st.st_ino) == socketInode
    }

    /// Answers one client. A client of another user, or one that sends nothing within a second, is dropped.
    private func serve() throws {
        let fd = accept(listener, nil, nil)
        guard fd >= 0 else { return }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        defer { close(fd) }
        guard cairn_peer_uid(fd) == Int(getuid()) else { return }
        WatchClient.setTimeout(fd, seconds: 1)
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        var lineEnd: Int? = nil
        while lineEnd == nil && data.count < 4096 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            data += buffer[0..<n]
            lineEnd = data.firstIndex(of: UInt8(ascii: "\n"))
        }
        guard let lineEnd else { return }
        let request = String(decoding: data[..<lineEnd], as: UTF8.self)
        var fields = [WatchClient.magic, root]
        if request == "status" {
            fields += [token, "status", "pid=\(getpid())", "folders=\(folders.count)", "pending=\(changed.count)", "started=\(started)"]
        } else if request == "stop" {
            fields += [token, "stopping"]
            stopping = true
        } else if request.hasPrefix("sync ") {
            try waitForCookie()
            guard !stopping else { return }  // no answer: the client checks everything itself
            fields += answer(since: String(request.dropFirst(5)))
        } else {
            return
        }
        var out = [UInt8]()
        for field in fields { out += Array(field.utf8); out.append(0) }
        _ = WatchClient.writeAll(fd, out)
    }

    private var token: String { "\(epoch):\(sequence)" }

    /// The fields of a sync answer: the current token, then `changes` and the paths changed after
    /// `since`, or `rescan`.
    private func answer(since: String) -> [String] {
        let parts = since.split(separator: ":")
        guard parts.count == 2, String(parts[0]) == epoch, let from = UInt64(parts[1]), from >= floor, from <= sequence else {
            return [token, "rescan"]
        }
        var paths: [String] = []
        for (path, seq) in changed where seq > from { paths.append(path) }
        // Entries at or before a token a client asked with are not needed again by that client; keep
        // the record small when it grows (an older token then gets `rescan`).
        if changed.count > 10_000 {
            changed = changed.filter { $0.value > from }
            floor = from
        }
        return [token, "changes"] + paths
    }

    /// Creates a cookie file and reads events until its creation is seen, so every change that finished
    /// before the request has been recorded.
    private func waitForCookie() throws {
        cookies += 1
        let name = "cookie-\(getpid())-\(cookies)"
        let path = cookieDir + "/" + name
        if cookieWatch < 0 || access(cookieDir, F_OK) != 0 {
            try readEvents()  // lets the loss of the folder be seen and handled first
            guard access(gitDir + "HEAD", F_OK) == 0, socketIsOurs() else { stopping = true; return }
            if cookieWatch < 0 { try watchCookieDir() }
        }
        let fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
        close(fd)
        defer { unlink(path) }
        let deadline = DispatchTime.now().uptimeNanoseconds + 5_000_000_000
        while !stopping {
            if try readEvents().contains(name) { return }
            let left = Int64(deadline) - Int64(DispatchTime.now().uptimeNanoseconds)
            guard left > 0 else { throw Failure(description: "the cookie \(path) was not reported within 5 s") }
            var pfd = pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)
            _ = poll(&pfd, 1, Int32(max(1, left / 1_000_000)))
        }
    }

    static func newEpoch() -> String {
        var bytes = [UInt8](repeating: 0, count: 8)
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255) }
        return bytes.map { String(format: "%02x", $0) }.joined()
    }
}

extension VaultWatcher {
    /// Starts `executable arguments…` (a `cairn watch run` for this vault) as a daemon with its output
    /// appended to `.git/cairn/watch.log`, and waits until it answers (at most `timeout` seconds).
    /// Returns its status; throws with the log's last lines when it exited or did not answer.
    public static func spawn(vault: Vault, executable: String, arguments: [String], environment: [String: String],
                             timeout: Double = 30) throws -> WatchClient.Status {
        let pid = try start(vault: vault, executable: executable, arguments: arguments, environment: environment)
        let log = vault.gitDir + "cairn/watch.log"
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = WatchClient.status(gitDir: vault.gitDir, root: vault.root, timeout: 2) { return status }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                throw Failure(description: "the watcher exited at start: " + lastLines(of: log))
            }
            usleep(10_000)
        }
        throw Failure(description: "the watcher (pid \(pid)) did not answer within \(Int(timeout)) s: " + lastLines(of: log))
    }

    /// This program's file, to run again as `cairn watch run`.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// Starts `executable arguments…` as a daemon (a session of its own, no terminal, output appended to
    /// `.git/cairn/watch.log`) and returns its pid without waiting for it to answer.
    @discardableResult
    static func start(vault: Vault, executable: String, arguments: [String], environment: [String: String]) throws -> pid_t {
        let log = vault.gitDir + "cairn/watch.log"
        try WatchClient.makePrivateFolder(WatchClient.folder(gitDir: vault.gitDir))
        let out = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard out >= 0 else { throw Failure(description: "cannot open \(log): \(String(cString: strerror(errno)))") }
        defer { close(out) }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        let pid = cairn_spawn_detached(executable, argv, envp, out)
        guard pid > 0 else { throw Failure(description: "cannot start \(executable): \(String(cString: strerror(-pid)))") }
        return pid_t(pid)
    }

    static func lastLines(of path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").suffix(3)
        return lines.isEmpty ? "(\(path) is empty)" : lines.joined(separator: "; ")
    }
}
