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

/// Runs a command agent under bubblewrap (`bwrap`) in a file system of its own that holds only what a program
/// needs to run and its work folder:
///
/// - `/usr`, `/bin`, `/sbin`, `/lib*` read-only; `/etc` read-only with its secrets masked (`shadow`, `gshadow`,
///   ssh host keys, private TLS keys — see `maskedFiles` and `maskedFolders`);
/// - a private, empty `/tmp`, a minimal `/dev`, and a `/proc` that shows only the agent's own processes;
/// - its work folder (the files it was shown, the context, its logs, `tmp/` and `home/`, which `TMPDIR` and `HOME`
///   point at), the only writable place: writing anywhere else fails with `EROFS`, so the run fails instead of
///   leaving changes nobody reviews;
/// - the vault's `agents/` folder (the agent's own code), read-only, as `agents/` in the work folder; a program from
///   elsewhere (`~/bin/tool`), that one file read-only.
///
/// Nothing else exists inside: not the vault's working tree or `.git`, not `$HOME`, not other users' files or
/// sockets. Every namespace is private (user, pid, ipc, uts, cgroup, network), so the agent has no network — not
/// even the host's loopback or its abstract unix sockets — unless its definition says `network: true`. It has no
/// capabilities, and runs in a session of its own (started by `CommandAgentExecutor`) so it cannot type into the
/// operator's terminal. The agent keeps cairn's process group, so timeouts and output limits stop it as before.
public struct AgentSandbox: Sendable, Equatable {
    /// Absolute path of the `bwrap` executable.
    public let bwrap: String

    public init(bwrap: String) { self.bwrap = bwrap }

    /// Files under `/etc` replaced by an empty file in the sandbox (password hashes).
    public static let maskedFiles = ["/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/security/opasswd",
                                     "/etc/sudoers"]
    /// Folders under `/etc` replaced by an empty read-only folder in the sandbox (host keys, private keys, saved passwords).
    public static let maskedFolders = ["/etc/ssh", "/etc/ssl/private", "/etc/sudoers.d", "/etc/NetworkManager/system-connections",
                                       "/etc/wpa_supplicant", "/etc/letsencrypt", "/etc/dovecot/private", "/etc/cups/ssl"]
    /// System folders mounted read-only (or recreated as the symlinks they are on a merged-/usr system).
    static let systemFolders = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]

    /// What a run under this sandbox gets, in words, for the run record.
    public static func description(network: Bool) -> String {
        "bubblewrap: work folder only, " + (network ? "network on" : "no network")
    }

    /// The sandbox to use for `mode`, searching `bwrap` in `path` (a `PATH` value). `auto` without a working
    /// bubblewrap gives `.success(nil)`; `required` without one gives the reason.
    ///
    /// Whether bubblewrap works is probed by running `true` in a sandbox (a few milliseconds); a success is
    /// remembered in `probeCache` for the same `bwrap` binary, sandbox layout and boot, so later runs skip the probe.
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

    /// Changes whenever the sandbox is built differently, so a probe of an older layout is not trusted.
    static let layout = "layout 2"

    /// What a successful probe is valid for: this `bwrap` (path, size, mtime) and layout on this boot.
    func probeStamp() -> String? {
        var st = stat()
        guard stat(bwrap, &st) == 0, let boot = Self.bootID() else { return nil }
        return "\(bwrap) \(st.st_size) \(st.st_mtim.tv_sec) \(boot) \(Self.layout)\n"
    }

    /// This boot's id (`/proc/sys/kernel/random/boot_id`): what was true of files or programs before a reboot may
    /// not be after it.
    static func bootID() -> String? {
        guard let text = try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8) else { return nil }
        let id = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return id.isEmpty || id.contains(" ") ? nil : id
    }

    /// The executable and argv that run `executable argv…` inside the sandbox, in `directory`, with `workDir`
    /// writable, `readOnly` mounted, and the network only when `network` is true.
    func wrap(executable: String, argv: [String], workDir: String, directory: String, network: Bool = false,
              readOnly: [Mount] = []) -> (executable: String, argv: [String]) {
        let options = Self.options(workDir: workDir, directory: directory, network: network, readOnly: readOnly)
        return (bwrap, ["bwrap"] + options + ["--", executable] + argv.dropFirst())
    }

    /// The bubblewrap options that build the agent's namespaces and file system (see the type's documentation).
    static func options(workDir: String, directory: String, network: Bool, readOnly: [Mount]) -> [String] {
        var o = ["--unshare-all"]
        if network { o.append("--share-net") }
        o += ["--die-with-parent", "--cap-drop", "ALL"]
        for folder in systemFolders {
            switch fileType(folder) {
            case S_IFDIR: o += ["--ro-bind", folder, folder]
            case S_IFLNK:
                if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: folder) { o += ["--symlink", target, folder] }
            default: continue
            }
        }
        o += ["--ro-bind", "/etc", "/etc"]
        for file in maskedFiles where fileType(file) == S_IFREG { o += ["--ro-bind", "/dev/null", file] }
        for folder in maskedFolders where fileType(folder) == S_IFDIR { o += ["--tmpfs", folder, "--remount-ro", folder] }
        // A resolver file that is a symlink (systemd-resolved's, under /run) must exist for name lookups to work.
        if network, fileType("/etc/resolv.conf") == S_IFLNK, let target = realPath("/etc/resolv.conf"), !isSystemPath(target) {
            o += ["--ro-bind", target, target]
        }
        o += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--bind", workDir, workDir]
        for mount in readOnly { o += ["--ro-bind", mount.source, mount.destination] }
        // Writing anywhere but the work folder fails loudly (EROFS) instead of vanishing with the sandbox.
        o += ["--remount-ro", "/tmp", "--remount-ro", "/", "--chdir", directory]
        return o
    }

    /// A host file or folder shown read-only inside the sandbox at `destination`.
    struct Mount: Sendable, Equatable {
        let source: String
        let destination: String
    }

    /// Where the agent's program is inside the sandbox, and what must be mounted for it to be there. The vault's
    /// `agents/` folder (the agent's code and its helpers; agents cannot change it) appears read-only as
    /// `workDir/agents`, so the vault's own path does not exist inside; `executable` and `arguments` under it are
    /// rewritten to match. Any other program outside the system folders (a vault file elsewhere, `~/bin/tool`) is
    /// mounted alone, read-only, at its own path.
    static func program(executable: String, arguments: [String], vaultRoot: String,
                        workDir: String) -> (executable: String, arguments: [String], mounts: [Mount]) {
        let agentsFolder = vaultRoot + "/agents"
        let shownAs = workDir + "/agents"
        var mounts: [Mount] = []
        func add(_ mount: Mount) { if !mounts.contains(mount) { mounts.append(mount) } }
        func inside(_ path: String) -> String {
            guard path.hasPrefix(agentsFolder + "/") else { return path }
            add(Mount(source: agentsFolder, destination: shownAs))
            return shownAs + path.dropFirst(agentsFolder.count)
        }
        let mappedArguments = arguments.map(inside)
        let mappedExecutable = inside(executable)
        if mappedExecutable == executable, executable.hasPrefix("/") {
            if !isSystemPath(executable) { add(Mount(source: executable, destination: executable)) }
            // A program reached through a symlink (`/usr/local/bin/x` → `/opt/x/bin/x`) needs its target too.
            if let real = realPath(executable), real != executable, !isSystemPath(real) { add(Mount(source: real, destination: real)) }
        }
        // The agents folder first: a bind inside it would otherwise be hidden by it.
        mounts.sort { ($0.destination == shownAs ? 0 : 1) < ($1.destination == shownAs ? 0 : 1) }
        return (mappedExecutable, mappedArguments, mounts)
    }

    /// True for paths the sandbox already shows (system folders and `/etc`).
    static func isSystemPath(_ path: String) -> Bool {
        (systemFolders + ["/etc"]).contains { path == $0 || path.hasPrefix($0 + "/") }
    }

    private static func fileType(_ path: String) -> mode_t? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return st.st_mode & S_IFMT
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
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
