import CairnKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Everything the CLI takes from the process environment, read in one place and passed to the library.
struct Environment {
    let variables: [String: String]
    let cwd: String
    let stdoutIsTerminal: Bool
    let stdinIsTerminal: Bool
    /// Where output goes: the process's own descriptors, or a client's when the watcher runs a search
    /// for the `cairn` front end (`ServedCommands`).
    var streams = Streams.standard

    static var current: Environment {
        Environment(variables: ProcessInfo.processInfo.environment,
                    cwd: FileManager.default.currentDirectoryPath,
                    stdoutIsTerminal: isatty(STDOUT_FILENO) == 1,
                    stdinIsTerminal: isatty(STDIN_FILENO) == 1)
    }

    /// The time to stamp commits with: `CAIRN_NOW` (ISO 8601 or Unix seconds) for reproducible runs, else now.
    var now: Date {
        guard let raw = variables["CAIRN_NOW"], !raw.isEmpty else { return Date() }
        if let seconds = Double(raw) { return Date(timeIntervalSince1970: seconds) }
        if let d = ISOTime.date(from: raw) { return d }
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withFullDate]
        return f.date(from: raw) ?? Date()
    }

    /// Color on a terminal only, never with `NO_COLOR` (or `TERM=dumb`).
    var useColor: Bool {
        if let v = variables["NO_COLOR"], !v.isEmpty { return false }
        if variables["TERM"] == "dumb" { return false }
        if variables["CAIRN_COLOR"] == "always" { return true }
        return stdoutIsTerminal
    }

    /// The global git config file when `GIT_CONFIG_GLOBAL` names one (libgit2 does not read that variable).
    var globalGitConfig: String? {
        guard let v = variables["GIT_CONFIG_GLOBAL"], !v.isEmpty else { return nil }
        return v
    }

    /// The operator of `vault`, from its config or git config.
    func identity(for vault: Vault) throws -> OperatorIdentity {
        try vault.operatorIdentity(globalConfigFile: globalGitConfig)
    }

    func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : cwd + "/" + path
    }
}

/// The descriptors a command writes its output and errors to.
struct Streams {
    let output: Int32
    let error: Int32

    static let standard = Streams(output: STDOUT_FILENO, error: STDERR_FILENO)

    /// Writes all of `bytes` to `fd`; a reader that went away (EPIPE) or another error drops the rest,
    /// as a closed pipe would for a plain process (SIGPIPE is ignored by the watcher that serves searches).
    static func write(_ fd: Int32, _ bytes: Data) {
        bytes.withUnsafeBytes { buf in
            guard var p = buf.baseAddress else { return }
            var left = buf.count
            while left > 0 {
                let n = Glibc.write(fd, p, left)
                if n < 0 {
                    if errno == EINTR { continue }
                    if errno == EAGAIN {  // a non-blocking descriptor: wait until it takes more
                        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                        _ = poll(&pfd, 1, 1000)
                        continue
                    }
                    return
                }
                p += n
                left -= n
            }
        }
    }
}
