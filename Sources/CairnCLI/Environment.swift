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

/// Where a command's output and errors go: the process's stdout and stderr, or, for a search the watcher
/// runs for the `cairn` front end, a capture the watcher then writes to the client's descriptors (on a
/// thread of its own, so a slow reader never holds up the watcher).
struct Streams {
    let capture: Capture?

    /// Output in the order written: (1 for stdout or 2 for stderr, bytes).
    final class Capture {
        var chunks: [(stream: Int32, data: Data)] = []
    }

    static var standard: Streams { Streams(capture: nil) }

    func writeOutput(_ data: Data) { put(STDOUT_FILENO, data) }
    func writeError(_ data: Data) { put(STDERR_FILENO, data) }

    private func put(_ stream: Int32, _ data: Data) {
        if let capture { capture.chunks.append((stream, data)) } else { Descriptor.writeAll(stream, data) }
    }
}
