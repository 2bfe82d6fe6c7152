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
