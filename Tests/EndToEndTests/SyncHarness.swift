import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A free TCP port on 127.0.0.1 (bound, read, released).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw HarnessError(description: "socket failed") }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    guard bound == 0 else { throw HarnessError(description: "bind failed") }
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// True once something accepts connections on 127.0.0.1:`port`.
func waitForPort(_ port: Int, timeout: Double = 10) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        close(fd)
        if rc == 0 { return true }
        usleep(50_000)
    }
    return false
}

/// A server process the test started; killed when the value goes away.
final class ServerProcess {
    let process: Process
    let port: Int

    init(_ executable: String, _ args: [String], port: Int, env: [String: String]? = nil, cwd: String? = nil) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        if let env { process.environment = env }
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        self.port = port
        try process.run()
        guard waitForPort(port) else {
            stop()
            throw HarnessError(description: "\(executable) did not listen on port \(port)")
        }
    }

    deinit { stop() }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

extension Sandbox {
    /// A bare repository made with the git CLI (the shared remote).
    func makeBareRemote(_ name: String = "remote.git") throws -> String {
        let path = work + "/" + name
        try gitOK(["init", "-q", "--bare", "-b", "main", path], cwd: work)
        return path
    }

    /// `git daemon` serving `base` read-write on a free port of 127.0.0.1.
    func startGitDaemon(base: String) throws -> ServerProcess {
        let port = try freePort()
        let gitExec = try gitOK(["--exec-path"], cwd: work)
        return try ServerProcess(gitExec + "/git-daemon", ["--reuseaddr", "--listen=127.0.0.1", "--port=\(port)", "--export-all",
                                                            "--enable=receive-pack", "--base-path=\(base)", base],
                                 port: port, env: environment())
    }

    /// Runs cairn and requires exit 0.
    @discardableResult
    func cairnOK(_ args: [String], cwd: String, env: [String: String?] = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandResult {
        let r = runCairn(args, cwd: cwd, env: env)
        try #require(r.status == 0 && !r.signaled, "cairn \(args.joined(separator: " ")) failed: \(r)", sourceLocation: sourceLocation)
        return r
    }

    /// `cairn clone URL NAME` in the work folder, then names the machine.
    func cloneVault(_ url: String, _ name: String, machine: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try cairnOK(["clone", url, name], cwd: work, sourceLocation: sourceLocation)
        let path = work + "/" + name
        try gitOK(["config", "cairn.machine", machine], cwd: path, sourceLocation: sourceLocation)
        return path
    }

    /// Every file of `rev` with its blob id (`git ls-tree -r`), for "nothing lost" comparisons.
    func tree(_ repo: String, _ rev: String = "main") throws -> [String: String] {
        var out: [String: String] = [:]
        for line in try gitLines(["ls-tree", "-r", rev], cwd: repo) {
            let parts = line.split(separator: "\t", maxSplits: 1)
            guard parts.count == 2 else { continue }
            out[String(parts[1])] = String(parts[0].split(separator: " ").last ?? "")
        }
        return out
    }
}
