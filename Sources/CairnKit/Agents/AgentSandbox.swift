import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a command agent is isolated (`sandbox:` in its definition).
public enum SandboxMode: String, Sendable, Codable, CaseIterable {
    /// Sandboxed when bubblewrap works on this machine, else run as the operator's user (recorded).
    case auto
    /// Sandboxed, or the run fails.
    case required
    /// Never sandboxed.
    case off
}

/// Runs a command agent under bubblewrap (`bwrap`): the whole file system is mounted read-only, `/dev` is
/// a minimal device set, and only the run's work folder (its files, the context, its logs and a `tmp/`
/// folder that `TMPDIR` points at) is writable. An agent that writes anywhere else (`../../x`, `$HOME`, the vault's
/// working tree or `.git`) gets `EROFS`, so its run fails instead of leaving changes nobody reviews.
/// The network is shared: agents may call the services they need. The agent keeps cairn's process group,
/// so timeouts and output limits stop it as before.
public struct AgentSandbox: Sendable, Equatable {
    /// Absolute path of the `bwrap` executable.
    public let bwrap: String

    public init(bwrap: String) { self.bwrap = bwrap }

    /// The sandbox to use for `mode`, searching `bwrap` in `path` (a `PATH` value). `auto` without a working
    /// bubblewrap gives `.success(nil)`; `required` without one gives the reason.
    ///
    /// Whether bubblewrap works is probed by running `true` in a sandbox (a few milliseconds); a success is
    /// remembered in `probeCache` for the same `bwrap` binary and boot, so later runs skip the probe.
    public static func resolve(_ mode: SandboxMode, path: String?, probeCache: String? = nil) -> Result<AgentSandbox?, SandboxUnavailable> {
        if mode == .off { return .success(nil) }
        guard let bwrap = find(in: path) else {
            let reason = SandboxUnavailable("bubblewrap (`bwrap`) is not installed or not on PATH; install the `bubblewrap` package")
            return mode == .required ? .failure(reason) : .success(nil)
        }
        let sandbox = AgentSandbox(bwrap: bwrap)
        let stamp = sandbox.probeStamp()
        if let probeCache, let stamp, (try? String(contentsOfFile: probeCache, encoding: .utf8)) == stamp {
            return .success(sandbox)
        }
        if let problem = sandbox.probe() {
            if let probeCache { unlink(probeCache) }
            return mode == .required ? .failure(SandboxUnavailable("bubblewrap cannot create a sandbox here: \(problem)")) : .success(nil)
        }
        if let probeCache, let stamp { try? stamp.write(toFile: probeCache, atomically: true, encoding: .utf8) }
        return .success(sandbox)
    }

    /// What a successful probe is valid for: this `bwrap` (path, size, mtime) on this boot.
    func probeStamp() -> String? {
        var st = stat()
        guard stat(bwrap, &st) == 0,
              let boot = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return nil }
        return "\(bwrap) \(st.st_size) \(st.st_mtim.tv_sec) \(boot.trimmingCharacters(in: .whitespacesAndNewlines))\n"
    }

    /// The executable and argv that run `executable argv…` inside the sandbox.
    func wrap(executable: String, argv: [String], workDir: String, directory: String) -> (executable: String, argv: [String]) {
        let options = ["--ro-bind", "/", "/", "--dev", "/dev", "--bind", workDir, workDir,
                       "--die-with-parent", "--chdir", directory, "--"]
        return (bwrap, ["bwrap"] + options + [executable] + argv.dropFirst())
    }

    /// Runs `true` in the same sandbox; nil when that works, else bubblewrap's complaint.
    func probe() -> String? {
        let dir = NSTemporaryDirectory() + "/cairn-sandbox-probe-\(getpid())"
        guard mkdir(dir, 0o700) == 0 || errno == EEXIST else { return "cannot create \(dir): \(String(cString: strerror(errno)))" }
        defer { rmdir(dir) }
        let (executable, argv) = wrap(executable: "/bin/true", argv: ["true"], workDir: dir, directory: dir)
        let errPath = dir + "/stderr"
        let errFD = open(errPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard errFD >= 0 else { return "cannot create \(errPath)" }
        defer { close(errFD); unlink(errPath) }
        switch CommandAgentExecutor.spawn(executable: executable, argv: argv, environment: ["PATH": "/usr/bin:/bin"], directory: dir,
                                          stdout: errFD, stderr: errFD) {
        case .failure(let reason): return reason.text
        case .success(let pid):
            let status = CommandAgentExecutor.reap(pid)
            if status.signal == nil && status.code == 0 { return nil }
            let text = (try? String(contentsOfFile: errPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            return text.isEmpty ? "`bwrap … true` exited with status \(status.code)" : text
        }
    }

    /// `bwrap` in `path` (the `PATH` the agent gets, like its own command).
    static func find(in path: String?) -> String? {
        let dirs = (path ?? "").split(separator: ":").map(String.init)
        for dir in dirs where !dir.isEmpty && dir.hasPrefix("/") {
            let candidate = dir + "/bwrap"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}

/// Why a required sandbox cannot be used.
public struct SandboxUnavailable: Error, Sendable, Equatable {
    public let text: String
    public init(_ text: String) { self.text = text }
}
