import CairnGit
import CSystemCalls
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one run of a command agent produced: its proposed edits, or why there are none.
public struct ExecutionOutcome: Sendable {
    /// What the agent changed, relative to what it was shown; always empty when `failure` is set.
    public var edits: [ProposedEdit]
    /// Captured standard output: the first 64 KiB, then a note of how many bytes were dropped.
    public var stdout: String
    /// Captured standard error, capped like `stdout`.
    public var stderr: String
    /// The exit status; nil when the agent was killed by a signal or could not start.
    public var exitStatus: Int32?
    /// Nil on success; otherwise one line saying what went wrong ("exited with status 3", "timed out after 2s", …).
    public var failure: String?
    public var duration: TimeInterval
    /// Vault-relative paths materialized for the agent.
    public var filesShown: [String]
    /// The shown files the agent left as they were written (a reused work folder keeps them for the next run).
    var untouched: [String: CommandAgentExecutor.ShownFile] = [:]

    public init(edits: [ProposedEdit], stdout: String, stderr: String, exitStatus: Int32?, failure: String?,
                duration: TimeInterval, filesShown: [String]) {
        self.edits = edits
        self.stdout = stdout
        self.stderr = stderr
        self.exitStatus = exitStatus
        self.failure = failure
        self.duration = duration
        self.filesShown = filesShown
    }

    /// True when the agent exited 0 and its changes were collected.
    public var succeeded: Bool { failure == nil }
}

/// A problem of ours (not the agent's) while preparing or collecting a run.
public enum CommandAgentError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The work directory could not be prepared.
    case workDirectory(path: String, reason: String)
    /// A file of the base could not be materialized.
    case materialize(path: String, reason: String)
    /// The agent's output or files could not be read back.
    case collect(path: String, reason: String)

    public var description: String {
        switch self {
        case .workDirectory(let path, let reason): return "cannot prepare the agent's work directory \(path): \(reason)"
        case .materialize(let path, let reason): return "cannot materialize \(path) for the agent: \(reason)"
        case .collect(let path, let reason): return "cannot read back \(path) after the agent ran: \(reason)"
        }
    }
}

/// Runs `kind: command` agents: shows them the files they may read, runs them, and turns what they
/// changed into `ProposedEdit`s.
///
/// A run never touches the vault's working tree or repository: files come from the base commit's
/// blobs and go into a fresh `workDir/files/`; the edits are returned for the orchestrator to
/// validate (`PathGuard`, write globs, policy) and commit.
///
/// How the command is found and run:
/// - The working directory is `workDir/files` (the materialized read scope), so relative data paths
///   such as `inbox/x.md` refer to the copies the agent may change.
/// - `argv[0]` with a `/` that is relative (`agents/triage.sh`) is resolved against the vault root;
///   an absolute one is used as is; one without a `/` (`python3`) is searched in the `PATH` of
///   `environment` (not in this process's environment).
/// - Any later argument whose first component is `agents/` and that names an existing file under the
///   vault root (`["python3", "agents/triage.py"]`, `["sh", "agents/x.sh"]`) is rewritten to that
///   file's absolute path, so scripts are invoked as written in the agent definition.
/// - The environment is exactly `environment` plus `CAIRN_RUN_ID`, `CAIRN_AGENT`, `CAIRN_BASE` (the
///   commit materialized), `CAIRN_CONTEXT` (absolute path of `context.json`), `CAIRN_FILES` (absolute
///   path of the files folder), `CAIRN_NOW`, and `CAIRN_INPUT_<KEY>` per input (key
///   upper-cased, every character other than an ASCII letter or digit replaced by `_`).
/// - Standard input is `/dev/null`; standard output and error go to `workDir/stdout.log` and
///   `workDir/stderr.log` (files, so a flooding agent can never block on us).
/// - The agent leads its own session and process group. On timeout the group gets SIGTERM, then SIGKILL one second
///   later; over the output limit it gets SIGKILL at once. After the agent exits, whatever it left
///   running in its group is killed before its changes are read, so nothing writes while we collect.
public struct CommandAgentExecutor: Sendable {
    /// stdout plus stderr beyond this kills the agent.
    public let maxOutputBytes: Int
    /// A new or changed file larger than this fails the run.
    public let maxFileBytes: Int
    /// New and changed files together larger than this fail the run (bounds memory).
    public let maxTotalBytes: Int
    /// How much of stdout and of stderr is kept in the outcome.
    public static let capturedOutputBytes = 64 << 10
    /// Deeper folders in the agent's output fail the run (the walk holds one descriptor per level).
    public static let maxFolderDepth = 128
    /// Grace period between SIGTERM and SIGKILL on timeout.
    public static let terminationGrace: TimeInterval = 1

    /// When set, the command runs under bubblewrap with only its work folder writable (see AgentSandbox).
    public let sandbox: AgentSandbox?

    public init(maxOutputBytes: Int = 1 << 20, maxFileBytes: Int = 10 << 20, maxTotalBytes: Int = 100 << 20,
                sandbox: AgentSandbox? = nil) {
        self.sandbox = sandbox
        self.maxOutputBytes = maxOutputBytes
        self.maxFileBytes = maxFileBytes
        self.maxTotalBytes = maxTotalBytes
    }

    /// Materializes the files of `base` matching the agent's `reads` globs (only those) into a fresh
    /// `workDir/files/`, writes `workDir/context.json` (the context as pretty JSON with sorted keys),
    /// runs `agent.command` there for at most `agent.timeout` seconds, then collects the changes.
    ///
    /// Agent misbehaviour (non-zero exit, signal, timeout, output flood, symlinks or special files,
    /// oversized files, undecodable names, a command that cannot start) is reported in
    /// `ExecutionOutcome.failure` with no edits. Throws `CommandAgentError` or `GitError` only for
    /// our own failures: `workDir/files` already exists or cannot be created, the base cannot be read.
    /// Symlinks of the base tree are not materialized; paths that `PathGuard` would not accept as
    /// they are (hostile or non-UTF-8 names from a foreign repository) are not materialized either.
    ///
    /// `previous` is what `workDir/files/` already holds when the folder is reused (`AgentWorkFolder`): those files
    /// are kept where their stamp is as recorded and their blob is still the base's, the rest is removed or written.
    public func run(agent: AgentDefinition, base: BaseSnapshot, context: AgentContext, workDir: String, vaultRoot: String,
                    environment: [String: String]) throws -> ExecutionOutcome {
        try run(agent: agent, base: base, context: context, workDir: workDir, vaultRoot: vaultRoot, environment: environment,
                scopeFiles: base.files(matching: agent.reads.map(Glob.init)), previous: nil)
    }

    /// `run`, given the files of `base` the agent's `reads` match (`BaseSnapshot.files(matching:)`).
    /// `progress` hears how the writing of the agent's files is getting on when there are many.
    func run(agent: AgentDefinition, base: BaseSnapshot, context: AgentContext, workDir: String, vaultRoot: String,
             environment: [String: String], scopeFiles: [TreeFile], previous: [String: ShownFile]?,
             progress: ProgressHandler? = nil) throws -> ExecutionOutcome {
        let clock = ContinuousClock()
        let started = clock.now
        let workDir = URL(fileURLWithPath: workDir).standardizedFileURL.path
        let vaultRoot = URL(fileURLWithPath: vaultRoot).standardizedFileURL.path
        let filesDir = workDir + "/files"
        let contextPath = workDir + "/context.json"

        do {
            try FileManager.default.createDirectory(atPath: workDir, withIntermediateDirectories: true)
        } catch {
            throw CommandAgentError.workDirectory(path: workDir, reason: "\(error.localizedDescription)")
        }
        guard mkdir(filesDir, 0o755) == 0 || (errno == EEXIST && previous != nil) else {
            let reason = errno == EEXIST ? "it already exists; every run needs a fresh folder" : errnoText()
            throw CommandAgentError.workDirectory(path: filesDir, reason: reason)
        }

        let shown = try materialize(base: base, files: scopeFiles, into: filesDir, vaultRoot: vaultRoot, previous: previous,
                                    progress: progress)
        let filesShown = shown.keys.sorted()

        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // The file system's clock after the last file was shown (the context is written after them, in the same
        // file system): a file the agent changes gets a change time at or after it.
        var materialized = timespec()
        do {
            // A fresh file in a throwaway folder: written once, never renamed or synced (Foundation's writer fsyncs).
            let json = try encoder.encode(context)
            let fd = open(contextPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw CommandAgentError.workDirectory(path: contextPath, reason: errnoText()) }
            defer { close(fd) }
            if let reason = Self.writeAll(fd, json) { throw CommandAgentError.workDirectory(path: contextPath, reason: reason) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw CommandAgentError.workDirectory(path: contextPath, reason: errnoText()) }
            materialized = st.st_ctim
        } catch let error as CommandAgentError {
            throw error
        } catch {
            throw CommandAgentError.workDirectory(path: contextPath, reason: "\(error.localizedDescription)")
        }

        var env = environment
        env["CAIRN_RUN_ID"] = context.runID
        env["CAIRN_AGENT"] = context.agent
        env["CAIRN_BASE"] = base.commit.hex
        env["CAIRN_CONTEXT"] = contextPath
        env["CAIRN_FILES"] = filesDir
        env["CAIRN_NOW"] = context.now
        if sandbox != nil {
            // In the sandbox the operator's home and temp folder do not exist: both point into the work folder.
            for (key, name) in [("TMPDIR", "tmp"), ("HOME", "home")] {
                let folder = workDir + "/" + name
                guard mkdir(folder, 0o700) == 0 else { throw CommandAgentError.workDirectory(path: folder, reason: errnoText()) }
                env[key] = folder
            }
        }
        for key in context.input.keys.sorted() { env["CAIRN_INPUT_" + Self.environmentKey(key)] = context.input[key] }

        func outcome(_ failure: String?, exit: Int32? = nil, edits: [ProposedEdit] = [], out: String = "", err: String = "",
                     untouched: [String: ShownFile] = [:]) -> ExecutionOutcome {
            let elapsed = clock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            var result = ExecutionOutcome(edits: failure == nil ? edits : [], stdout: out, stderr: err, exitStatus: exit,
                                          failure: failure, duration: seconds, filesShown: filesShown)
            result.untouched = untouched
            return result
        }

        guard let program = agent.command.first, !program.isEmpty else { return outcome("the agent has no command to run") }
        let executable: String
        // In the sandbox only the system folders exist: a program found there (`python3` → /usr/bin/python3) runs as
        // it would inside, not a copy in the operator's home (a pyenv shim) that could not find its own files.
        let systemPath = environment["PATH"].map { $0.split(separator: ":").map(String.init).filter(AgentSandbox.isSystemPath) }
        if sandbox != nil, !program.contains("/"), let systemPath, !systemPath.isEmpty,
           case .success(let path) = Self.resolveExecutable(program, vaultRoot: vaultRoot, path: systemPath.joined(separator: ":")) {
            executable = path
        } else {
            switch Self.resolveExecutable(program, vaultRoot: vaultRoot, path: environment["PATH"]) {
            case .success(let path): executable = path
            case .failure(let reason): return outcome("cannot start `\(program)`: \(reason.text)")
            }
        }
        let arguments = agent.command.dropFirst().map { Self.resolveArgument($0, vaultRoot: vaultRoot) }
        let argv = [program] + arguments

        let stdoutPath = workDir + "/stdout.log", stderrPath = workDir + "/stderr.log"
        let outFD = open(stdoutPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard outFD >= 0 else { throw CommandAgentError.workDirectory(path: stdoutPath, reason: errnoText()) }
        defer { close(outFD) }
        let errFD = open(stderrPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard errFD >= 0 else { throw CommandAgentError.workDirectory(path: stderrPath, reason: errnoText()) }
        defer { close(errFD) }

        let pid: pid_t
        let launch: (executable: String, argv: [String])
        if let sandbox {
            let program = AgentSandbox.program(executable: executable, arguments: arguments, vaultRoot: vaultRoot, workDir: workDir)
            launch = sandbox.wrap(executable: program.executable, argv: [program.executable] + program.arguments, workDir: workDir,
                                  directory: filesDir, network: agent.network, readOnly: program.mounts)
        } else {
            launch = (executable, argv)
        }
        switch Self.spawn(executable: launch.executable, argv: launch.argv, environment: env, directory: filesDir, stdout: outFD, stderr: errFD) {
        case .success(let p): pid = p
        case .failure(let reason): return outcome("cannot start `\(program)`: \(reason.text)")
        }

        let stop = supervise(pid: pid, timeout: agent.timeout, outputFDs: [outFD, errFD])
        // Whatever the agent left behind in its group dies before we reap it (its pid, and so the
        // group id, stays reserved until then) and before we read its files.
        kill(-pid, SIGKILL)
        let status = Self.reap(pid)

        let out = try Self.capturedText(stdoutPath), err = try Self.capturedText(stderrPath)
        let exitCode: Int32? = status.signal == nil ? status.code : nil
        let failure: String?
        switch stop {
        case .timedOut: failure = "timed out after \(Self.formatSeconds(agent.timeout))"
        case .outputLimit: failure = "output limit exceeded (more than \(maxOutputBytes) bytes on stdout and stderr)"
        case .exited:
            if let signal = status.signal {
                failure = "killed by signal \(signal)\(Self.signalName(signal).map { " (\($0))" } ?? "")"
            } else if status.code > 128, status.code < 128 + 65, sandbox != nil {
                // bubblewrap reports a signalled agent as 128 + the signal.
                let signal = status.code - 128
                failure = "exited with status \(status.code) (in the sandbox: killed by signal \(signal)"
                    + "\(Self.signalName(signal).map { " (\($0))" } ?? ""), or that exit status)"
            } else if status.code != 0 {
                failure = "exited with status \(status.code)"
            } else {
                failure = nil
            }
        }
        guard failure == nil else { return outcome(failure, exit: exitCode, out: out, err: err) }

        // The file system's clock now that the agent is gone: a shown file read back unchanged whose stamp is as
        // written and whose change time is before this cannot change later without a new stamp.
        var collecting = stat()
        guard futimens(outFD, nil) == 0, fstat(outFD, &collecting) == 0 else {
            throw CommandAgentError.collect(path: stdoutPath, reason: errnoText())
        }
        switch try collect(filesDir: filesDir, shown: shown, materialized: materialized, collecting: collecting.st_ctim) {
        case .success(let (edits, untouched)): return outcome(nil, exit: exitCode, edits: edits, out: out, err: err, untouched: untouched)
        case .failure(let reason): return outcome(reason.text, exit: exitCode, out: out, err: err)
        }
    }

    // MARK: - Materializing

    /// What a materialized file was, to tell later whether the agent changed it.
    struct ShownFile {
        let oid: OID
        let size: Int
        let executable: Bool
        /// The file as written (inode, modification and change times), to find it unchanged without reading it.
        let stamp: Stamp
    }

    /// The stat fields that change whenever a file's content or identity does.
    struct Stamp: Equatable {
        let inode: UInt64
        let mtime: timespec
        let ctime: timespec

        init(_ st: stat) {
            inode = UInt64(st.st_ino)
            mtime = st.st_mtim
            ctime = st.st_ctim
        }

        init(inode: UInt64, mtime: timespec, ctime: timespec) {
            self.inode = inode
            self.mtime = mtime
            self.ctime = ctime
        }

        static func == (a: Stamp, b: Stamp) -> Bool {
            a.inode == b.inode && a.mtime.tv_sec == b.mtime.tv_sec && a.mtime.tv_nsec == b.mtime.tv_nsec
                && a.ctime.tv_sec == b.ctime.tv_sec && a.ctime.tv_nsec == b.ctime.tv_nsec
        }

        /// True when this change time is strictly before `t`.
        func changedBefore(_ t: timespec) -> Bool {
            ctime.tv_sec < t.tv_sec || (ctime.tv_sec == t.tv_sec && ctime.tv_nsec < t.tv_nsec)
        }
    }

    /// Writes `files` (of `base`) under `filesDir`; returns what each one was. With `previous` (a
    /// reused folder), the files already there as recorded and still the base's are kept, and everything else in the
    /// folder is removed first; if that cannot be done (a folder the agent made read-only), the folder is emptied.
    private func materialize(base: BaseSnapshot, files: [TreeFile], into filesDir: String, vaultRoot: String,
                             previous: [String: ShownFile]?, progress: ProgressHandler? = nil) throws -> [String: ShownFile] {
        let order = files.filter { file in
            file.mode != TreeChange.symlinkMode && (try? PathGuard.normalize(file.path)) == file.path
        }
        var shown: [String: ShownFile] = [:]
        var folders = Set<String>()  // created so far (relative), so each is made once and never stat'ed
        if let previous {
            var keeper = WorkFolderKeeper(wanted: Dictionary(order.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a }),
                                          previous: previous)
            if keeper.sweep(filesDir) {
                shown = keeper.kept
                folders = keeper.folders
            } else {
                Self.removeWorkFolder(filesDir)
                guard mkdir(filesDir, 0o755) == 0 else { throw CommandAgentError.workDirectory(path: filesDir, reason: errnoText()) }
            }
        }
        // Filling a folder for a large scope takes a while the first time (20k files: seconds on a disk).
        let toWrite = order.count - shown.count
        let report = toWrite >= 1000 ? progress : nil
        var written = 0
        for file in order where shown[file.path] == nil {
            if let report, written % 500 == 0 { report(WorkProgress(task: "writing the agent's files", done: written, total: toWrite)) }
            written += 1
            let data = try Self.workingTreeCopy(of: file, vaultRoot: vaultRoot) ?? base.repository.blob(file.oid)
            let executable = file.mode == TreeChange.executableMode
            let full = filesDir + "/" + file.path
            var parents: [String] = []
            var parent = (file.path as NSString).deletingLastPathComponent
            while !parent.isEmpty, !folders.contains(parent) {
                parents.append(parent)
                parent = (parent as NSString).deletingLastPathComponent
            }
            for folder in parents.reversed() {
                guard mkdir(filesDir + "/" + folder, 0o755) == 0 || errno == EEXIST else {
                    throw CommandAgentError.materialize(path: file.path, reason: errnoText())
                }
                folders.insert(folder)
            }
            let mode: mode_t = executable ? 0o755 : 0o644
            let fd = open(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
            // EEXIST: a case-insensitive file system folded two names together; show only the first.
            if fd < 0, errno == EEXIST { continue }
            guard fd >= 0 else { throw CommandAgentError.materialize(path: file.path, reason: errnoText()) }
            defer { close(fd) }
            if let reason = Self.writeAll(fd, data) { throw CommandAgentError.materialize(path: file.path, reason: reason) }
            var st = stat()
            guard fchmod(fd, mode) == 0, fstat(fd, &st) == 0 else { throw CommandAgentError.materialize(path: file.path, reason: errnoText()) }
            shown[file.path] = ShownFile(oid: file.oid, size: data.count, executable: executable, stamp: Stamp(st))
        }
        report?(WorkProgress(task: "writing the agent's files", done: toWrite, total: toWrite))  // the line's end
        return shown
    }

    /// The bytes of `file` read from the vault's working tree, when they are exactly the base's (same blob id);
    /// nil otherwise (an edit since the pre-run snapshot, a missing or unreadable file). The run has just
    /// snapshotted its scope, so this is the common case, and it is several times cheaper than inflating the
    /// blob (and its delta chain) from a pack. What the agent is shown is the base either way.
    static func workingTreeCopy(of file: TreeFile, vaultRoot: String) -> Data? {
        guard let (_, data) = WorktreeChanges.readFile(vaultRoot + "/" + file.path),
              let oid = try? Repository.hashBlob(data), oid == file.oid else { return nil }
        return data
    }

    /// Writes all of `data` to `fd`; the reason when it could not.
    static func writeAll(_ fd: Int32, _ data: Data) -> String? {
        data.withUnsafeBytes { buf -> String? in
            var offset = 0
            while offset < buf.count {
                let n = write(fd, buf.baseAddress! + offset, buf.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errnoText()
                }
                offset += n
            }
            return nil
        }
    }

    // MARK: - Resolving the command

    /// The absolute path to run for `program`, or why there is none.
    static func resolveExecutable(_ program: String, vaultRoot: String, path: String?) -> Result<String, StartFailure> {
        func check(_ candidate: String) -> Int32? {
            var st = stat()
            guard stat(candidate, &st) == 0 else { return errno }
            if st.st_mode & 0o170000 == 0o040000 { return EISDIR }
            return access(candidate, X_OK) == 0 ? nil : errno
        }
        if program.contains("/") {
            let full = program.hasPrefix("/") ? program : vaultRoot + "/" + program
            if let e = check(full) { return .failure(StartFailure(String(cString: strerror(e)))) }
            return .success(full)
        }
        let searchPath = path ?? "/usr/bin:/bin"
        var firstError: Int32? = nil
        for dir in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (dir.isEmpty ? "." : String(dir)) + "/" + program
            guard let e = check(candidate) else { return .success(candidate) }
            if e != ENOENT && e != ENOTDIR && firstError == nil { firstError = e }
        }
        return .failure(StartFailure(String(cString: strerror(firstError ?? ENOENT))))
    }

    /// `agents/x.py` → `<vault>/agents/x.py` when that file exists; any other argument unchanged.
    static func resolveArgument(_ argument: String, vaultRoot: String) -> String {
        let parts = argument.split(separator: "/", omittingEmptySubsequences: true)
        guard !argument.hasPrefix("/"), parts.count >= 2, parts.first == "agents", !parts.contains("..") else { return argument }
        let full = vaultRoot + "/" + argument
        var st = stat()
        guard stat(full, &st) == 0, st.st_mode & 0o170000 == 0o100000 else { return argument }
        return full
    }

    /// `lead-id` → `LEAD_ID`: ASCII letters upper-cased, digits kept, anything else `_`.
    static func environmentKey(_ key: String) -> String {
        String(key.unicodeScalars.map { s -> Character in
            switch s.value {
            case 0x61...0x7A: return Character(Unicode.Scalar(s.value - 0x20)!)
            case 0x41...0x5A, 0x30...0x39: return Character(s)
            default: return "_"
            }
        })
    }

    struct StartFailure: Error {
        let text: String
        init(_ text: String) { self.text = text }
    }

    // MARK: - Running

    /// Starts the agent in a process group of its own, with default signal dispositions and an empty
    /// signal mask (a test runner or a daemon may have left SIGTERM ignored or blocked).
    static func spawn(executable: String, argv: [String], environment: [String: String], directory: String,
                      stdout: Int32, stderr: Int32) -> Result<pid_t, StartFailure> {
        #if canImport(Darwin)
        var attr: posix_spawnattr_t? = nil
        var actions: posix_spawn_file_actions_t? = nil
        #else
        var attr = posix_spawnattr_t()
        var actions = posix_spawn_file_actions_t()
        #endif
        guard posix_spawnattr_init(&attr) == 0 else { return .failure(StartFailure(errnoText())) }
        defer { posix_spawnattr_destroy(&attr) }
        guard posix_spawn_file_actions_init(&actions) == 0 else { return .failure(StartFailure(errnoText())) }
        defer { posix_spawn_file_actions_destroy(&actions) }

        var flags = Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETSIGMASK)
        #if canImport(Darwin)
        flags |= Int32(POSIX_SPAWN_CLOEXEC_DEFAULT) | Int32(POSIX_SPAWN_SETPGROUP)
        #else
        // A session of its own (its process group id is its pid, as with a group of its own): without a
        // controlling terminal, the agent cannot read the operator's terminal or push keystrokes into it (TIOCSTI).
        flags |= 0x80 // POSIX_SPAWN_SETSID, declared only under _GNU_SOURCE
        #endif
        var defaults = sigset_t(), mask = sigset_t()
        sigemptyset(&defaults)
        sigemptyset(&mask)
        for s in [SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM, SIGALRM, SIGCHLD, SIGUSR1, SIGUSR2, SIGTSTP, SIGTTIN, SIGTTOU, SIGXFSZ] {
            sigaddset(&defaults, s)
        }
        var rc = posix_spawnattr_setflags(&attr, Int16(flags))
        #if canImport(Darwin)
        if rc == 0 { rc = posix_spawnattr_setpgroup(&attr, 0) }
        #endif
        if rc == 0 { rc = posix_spawnattr_setsigdefault(&attr, &defaults) }
        if rc == 0 { rc = posix_spawnattr_setsigmask(&attr, &mask) }
        if rc == 0 { rc = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
        if rc == 0 { rc = posix_spawn_file_actions_adddup2(&actions, stdout, 1) }
        if rc == 0 { rc = posix_spawn_file_actions_adddup2(&actions, stderr, 2) }
        #if canImport(Darwin)
        if rc == 0 { rc = posix_spawn_file_actions_addchdir_np(&actions, directory) }
        #else
        // Glibc declares these only under _GNU_SOURCE, which Swift's Glibc module does not set.
        if rc == 0 {
            guard let addchdir = GlibcSpawnExtensions.addchdir else {
                return .failure(StartFailure("this C library lacks posix_spawn_file_actions_addchdir_np (glibc 2.29 or later is needed)"))
            }
            rc = addchdir(&actions, directory)
        }
        if rc == 0, let addclosefrom = GlibcSpawnExtensions.addclosefrom { rc = addclosefrom(&actions, 3) }
        #endif
        guard rc == 0 else { return .failure(StartFailure(String(cString: strerror(rc)))) }

        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        let cEnv = environment.sorted { $0.key < $1.key }
            .filter { !$0.key.isEmpty && !$0.key.contains("=") }
            .map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cEnv.forEach { free($0) } }

        var pid: pid_t = 0
        // ETXTBSY: the script was just written and a child spawned meanwhile by another thread still
        // holds the writing descriptor until its exec; that clears within milliseconds.
        for attempt in 1...20 {
            rc = posix_spawn(&pid, executable, &actions, &attr, cArgs, cEnv)
            guard rc == ETXTBSY else { break }
            usleep(useconds_t(attempt) * 5_000)
        }
        guard rc == 0 else { return .failure(StartFailure(String(cString: strerror(rc)))) }
        return .success(pid)
    }

    /// A new, empty folder `cairn-run-<id>-XXXXXX` under `root` for one run. The random tail keeps it fresh even when
    /// a run killed earlier left a folder of the same id behind (two runs in one second under a fixed clock).
    public static func makeWorkFolder(in root: String, runID: String) throws -> String {
        var template = Array((root + "/cairn-run-" + runID + "-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw CommandAgentError.workDirectory(path: root, reason: errnoText())
        }
        return String(cString: made)
    }

    /// Work folders older than any run can last (the longest timeout is 24 h) belong to runs that were killed
    /// before they could clean up, and kept folders (`AgentWorkFolder`) that long unused to agents that no longer
    /// run: they hold copies of vault notes, so they are removed. Only this user's `cairn-run-*` and `cairn-work-*`
    /// folders are touched, a kept folder only when no run holds it; failures are ignored.
    static func removeAbandonedWorkFolders(in root: String, now: Date = Date(), olderThan age: TimeInterval = 48 * 3600) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: root) else { return }
        for name in names where name.hasPrefix("cairn-run-") || name.hasPrefix(AgentWorkFolder.prefix) {
            let path = (root as NSString).appendingPathComponent(name)
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR, st.st_uid == getuid(),
                  now.timeIntervalSince1970 - TimeInterval(st.st_mtim.tv_sec) > age else { continue }
            if name.hasPrefix(AgentWorkFolder.prefix) {
                AgentWorkFolder.removeIfUnused(path)
            } else {
                makeRemovable(path)
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }

    /// Removes a run's work folder. Walks it with the entry types `readdir` reports, so an unchanged tree of many
    /// shown files costs one `unlink` each and no `stat`; anything it cannot remove that way (a folder the agent made
    /// read-only) is left to `FileManager`.
    public static func removeWorkFolder(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return }
        let emptied = removeContents(fd)
        close(fd)
        if emptied && rmdir(path) == 0 { return }
        makeRemovable(path)
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Removes everything in the folder `dirFD` (not the folder itself); false when something could not be removed.
    static func removeContents(_ dirFD: Int32) -> Bool {
        guard let names = entryNames(dirFD, withTypes: true) else { return false }
        var ok = true
        for (name, isFolder) in names {
            if isFolder {
                let child = openat(dirFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { ok = false; continue }
                let emptied = removeContents(child)
                close(child)
                if !emptied || unlinkat(dirFD, name, AT_REMOVEDIR) != 0 { ok = false }
            } else if unlinkat(dirFD, name, 0) != 0 {
                ok = false
            }
        }
        return ok
    }

    /// The names in the folder `dirFD` (NUL-terminated, without `.` and `..`); nil when it cannot be read.
    static func entryNames(_ dirFD: Int32) -> [[CChar]]? {
        entryNames(dirFD, withTypes: false)?.map(\.name)
    }

    /// The names in the folder `dirFD`, each with whether `readdir` says it is a folder.
    private static func entryNames(_ dirFD: Int32, withTypes: Bool) -> [(name: [CChar], isFolder: Bool)]? {
        let copy = dup(dirFD)
        guard copy >= 0, let dir = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            return nil
        }
        defer { closedir(dir) }
        rewinddir(dir)
        var names: [(name: [CChar], isFolder: Bool)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { raw -> [CChar] in
                raw.prefix { $0 != 0 }.map { CChar(bitPattern: $0) } + [0]
            }
            if name == [46, 0] || name == [46, 46, 0] { continue }
            names.append((name, entry.pointee.d_type == UInt8(DT_DIR)))
        }
        return names
    }

    /// An agent may leave read-only folders behind; give the owner write access so they can be removed.
    private static func makeRemovable(_ path: String) {
        guard let walker = FileManager.default.enumerator(atPath: path) else { return }
        chmod(path, 0o700)
        while let rel = walker.nextObject() as? String {
            let full = path + "/" + rel
            var st = stat()
            if lstat(full, &st) == 0, st.st_mode & S_IFMT == S_IFDIR { chmod(full, 0o700) }
        }
    }

    enum Stop { case exited, timedOut, outputLimit }

    /// Waits for the agent to exit, enforcing the timeout and the output limit. Leaves the agent
    /// unreaped (a zombie at worst), so its process group id cannot be reused before we kill it.
    private func supervise(pid: pid_t, timeout: TimeInterval, outputFDs: [Int32]) -> Stop {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(max(0, timeout) * 1000))
        var pause = 5_000 as useconds_t
        var lastSize = -1
        // Woken the moment the agent exits (an agent typically takes a few milliseconds; sleeping in 5–50 ms
        // steps added up to ten milliseconds to every run), else after `pause` to check output and deadline.
        let exitFD = cairn_pidfd_open(pid)
        defer { if exitFD >= 0 { close(exitFD) } }
        while true {
            if Self.hasExited(pid) { return .exited }
            let size = outputFDs.reduce(0) { total, fd in
                var st = stat()
                return total + (fstat(fd, &st) == 0 ? Int(st.st_size) : 0)
            }
            if size > maxOutputBytes {
                kill(-pid, SIGKILL)
                Self.waitForExit(pid, until: nil)
                return .outputLimit
            }
            if clock.now >= deadline {
                kill(-pid, SIGTERM)
                if !Self.waitForExit(pid, until: clock.now + .milliseconds(Int64(Self.terminationGrace * 1000))) {
                    kill(-pid, SIGKILL)
                    Self.waitForExit(pid, until: nil)
                }
                return .timedOut
            }
            // Poll fast while output grows (a flood overshoots the limit by one interval at most).
            pause = size != lastSize ? 5_000 : min(pause * 3 / 2, 50_000)
            lastSize = size
            Self.wait(exitFD, microseconds: pause)
        }
    }

    /// Sleeps `microseconds`, or less when `exitFD` (a pidfd, -1 for none) reports the process's exit.
    private static func wait(_ exitFD: Int32, microseconds: useconds_t) {
        guard exitFD >= 0 else { usleep(microseconds); return }
        var entry = pollfd(fd: exitFD, events: Int16(POLLIN), revents: 0)
        _ = poll(&entry, 1, Int32(max(1, microseconds / 1000)))
    }

    /// True once `pid` has exited; does not reap it.
    private static func hasExited(_ pid: pid_t) -> Bool {
        var info = siginfo_t()
        while true {
            memset(&info, 0, MemoryLayout<siginfo_t>.size)
            let rc = waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT)
            if rc == 0 { return info.si_signo == SIGCHLD }
            if errno == EINTR { continue }
            return true // ECHILD: nothing left to wait for
        }
    }

    /// Polls until `pid` has exited or `deadline` passes; true when it exited.
    @discardableResult
    private static func waitForExit(_ pid: pid_t, until deadline: ContinuousClock.Instant?) -> Bool {
        let clock = ContinuousClock()
        let exitFD = cairn_pidfd_open(pid)
        defer { if exitFD >= 0 { close(exitFD) } }
        while !hasExited(pid) {
            if let deadline, clock.now >= deadline { return false }
            wait(exitFD, microseconds: 5_000)
        }
        return true
    }

    /// Reaps `pid`; `code` is the exit status, `signal` the terminating signal if any.
    static func reap(_ pid: pid_t) -> (code: Int32, signal: Int32?) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return (-1, nil) }
        }
        let low = status & 0x7F
        if low == 0 { return ((status >> 8) & 0xFF, nil) }
        return (-1, low)
    }

    static func signalName(_ signal: Int32) -> String? {
        let names: [Int32: String] = [SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGABRT: "SIGABRT",
                                      SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGSEGV: "SIGSEGV", SIGPIPE: "SIGPIPE",
                                      SIGALRM: "SIGALRM", SIGTERM: "SIGTERM", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ",
                                      SIGUSR1: "SIGUSR1", SIGUSR2: "SIGUSR2"]
        return names[signal]
    }

    static func formatSeconds(_ t: TimeInterval) -> String {
        t == t.rounded() && t < 1e9 ? "\(Int(t))s" : String(format: "%.3gs", t)
    }

    /// The first `capturedOutputBytes` of the file (cut at a character boundary), plus a note of what was dropped.
    static func capturedText(_ path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CommandAgentError.collect(path: path, reason: "cannot open the captured output")
        }
        defer { try? handle.close() }
        let total = Int((try? handle.seekToEnd()) ?? 0)
        try? handle.seek(toOffset: 0)
        let head = (try? handle.read(upToCount: capturedOutputBytes)) ?? Data()
        return capped(head, total: total)
    }

    static func capped(_ head: Data, total: Int) -> String {
        var bytes = [UInt8](head)
        guard total > bytes.count else { return String(decoding: bytes, as: UTF8.self) }
        // Do not split a multi-byte character: drop a trailing incomplete sequence.
        var start = bytes.count
        while start > 0, bytes.count - start < 4, bytes[start - 1] & 0xC0 == 0x80 { start -= 1 }
        if start > 0 {
            let lead = bytes[start - 1]
            let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
            if length > 1, bytes.count - (start - 1) < length { bytes.removeSubrange((start - 1)...) }
        }
        return String(decoding: bytes, as: UTF8.self) + "\n[… \(total - bytes.count) bytes truncated]"
    }

    // MARK: - Collecting

    struct AgentFault: Error {
        let text: String
        init(_ text: String) { self.text = text }
    }

    /// Walks `filesDir` without following symlinks and diffs it against what was shown.
    ///
    /// A shown file whose inode, size, mode, modification and change times are as written, and whose change time is
    /// before `materialized`, is unchanged without being read: every change the agent makes (writing, truncating,
    /// renaming or linking another file over it, `touch -d`) sets the change time to the clock at that moment, at or
    /// after `materialized`. A file whose change time is not before it (written in the same clock tick) is read and
    /// hashed, as git re-reads a "racily clean" file.
    ///
    /// The files found unchanged are returned too, for a kept work folder's manifest: those found by their stamp, and
    /// those read back unchanged whose stamp is as written and whose change time is before `collecting` (so a write
    /// after this would give them a new one).
    private func collect(filesDir: String, shown: [String: ShownFile], materialized: timespec, collecting: timespec) throws
        -> Result<([ProposedEdit], [String: ShownFile]), AgentFault> {
        let root = open(filesDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard root >= 0 else {
            if errno == ELOOP || errno == ENOTDIR { return .failure(AgentFault("replaced its files folder with a symlink or file")) }
            if errno == ENOENT { return .failure(AgentFault("removed its files folder")) }
            throw CommandAgentError.collect(path: filesDir, reason: errnoText())
        }
        defer { close(root) }
        var walker = Walker(shown: shown, materialized: materialized, collecting: collecting, maxFileBytes: maxFileBytes, maxTotalBytes: maxTotalBytes,
                            filesDir: filesDir)
        do {
            try walker.walk(root, prefix: [], depth: 0)
        } catch let fault as AgentFault {
            return .failure(fault)
        }
        var edits = walker.edits
        for path in shown.keys where !walker.seen.contains(path) { edits.append(.delete(path)) }
        return .success((edits.sorted { $0.path < $1.path }, walker.untouched))
    }

    private struct Walker {
        let shown: [String: ShownFile]
        let materialized: timespec
        let collecting: timespec
        let maxFileBytes: Int
        let maxTotalBytes: Int
        let filesDir: String
        var seen: Set<String> = []
        /// Shown files found exactly as written (by their stamp).
        var untouched: [String: ShownFile] = [:]
        var edits: [ProposedEdit] = []
        var totalBytes = 0

        mutating func walk(_ dirFD: Int32, prefix: [UInt8], depth: Int) throws {
            let display = { (name: [UInt8]) in Self.display(prefix + name) }
            for name in try Self.names(in: dirFD, path: filesDir + "/" + Self.display(prefix)) {
                var st = stat()
                guard fstatat(dirFD, name.map { CChar(bitPattern: $0) } + [0], &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                    if errno == ENOENT { continue }
                    throw CommandAgentError.collect(path: display(name), reason: errnoText())
                }
                let type = st.st_mode & 0o170000
                if type == 0o120000 { throw AgentFault("wrote a symlink: \(display(name))") }
                if type != 0o040000 && type != 0o100000 {
                    throw AgentFault("wrote a special file (\(Self.typeName(type))): \(display(name))")
                }
                guard let text = Self.utf8(name) else {
                    throw AgentFault("wrote a name that is not valid UTF-8: \(display(name))")
                }
                let path = (prefix.isEmpty ? "" : String(decoding: prefix, as: UTF8.self)) + text
                if type == 0o040000 {
                    guard depth < CommandAgentExecutor.maxFolderDepth else {
                        throw AgentFault("nested folders more than \(CommandAgentExecutor.maxFolderDepth) deep: \(path)")
                    }
                    let child = openat(dirFD, text, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard child >= 0 else {
                        if errno == ELOOP || errno == ENOTDIR { throw AgentFault("wrote a symlink: \(path)") }
                        throw CommandAgentError.collect(path: path, reason: errnoText())
                    }
                    defer { close(child) }
                    try walk(child, prefix: Array((path + "/").utf8), depth: depth + 1)
                } else if let before = shown[path], before.size == Int(st.st_size), before.executable == (st.st_mode & 0o100 != 0),
                          Stamp(st) == before.stamp, before.stamp.changedBefore(materialized) {
                    seen.insert(path)
                    untouched[path] = before
                } else {
                    try file(dirFD, name: text, path: path)
                }
            }
        }

        mutating func file(_ dirFD: Int32, name: String, path: String) throws {
            let fd = openat(dirFD, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
            guard fd >= 0 else {
                if errno == ELOOP { throw AgentFault("wrote a symlink: \(path)") }
                throw CommandAgentError.collect(path: path, reason: errnoText())
            }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw CommandAgentError.collect(path: path, reason: errnoText()) }
            guard st.st_mode & 0o170000 == 0o100000 else { throw AgentFault("wrote a special file: \(path)") }
            let size = Int(st.st_size)
            let executable = st.st_mode & 0o100 != 0
            let before = shown[path]
            if let before, before.size == size, before.executable == executable {
                let data = try Self.read(fd, size: size, path: path)
                if try Repository.hashBlob(data) == before.oid {
                    seen.insert(path)
                    if Stamp(st) == before.stamp, before.stamp.changedBefore(collecting) { untouched[path] = before }
                    return
                }
            }
            guard size <= maxFileBytes else { throw AgentFault("file too large: \(path) (\(size) bytes, limit \(maxFileBytes))") }
            totalBytes += size
            guard totalBytes <= maxTotalBytes else {
                throw AgentFault("changes too large: more than \(maxTotalBytes) bytes of new or changed files (at \(path))")
            }
            let data = try Self.read(fd, size: size, path: path)
            if before != nil { seen.insert(path) }
            edits.append(ProposedEdit(path: path, action: .write, content: data, executable: executable))
        }

        /// Reads the whole file from offset 0 (`size` is a hint; a file still growing is read as it is now, up to the limit).
        static func read(_ fd: Int32, size: Int, path: String) throws -> Data {
            var out = Data(count: size)
            var offset = 0
            while offset < out.count {
                let n = out.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + offset, $0.count - offset, off_t(offset)) }
                if n < 0 {
                    if errno == EINTR { continue }
                    throw CommandAgentError.collect(path: path, reason: errnoText())
                }
                if n == 0 { out.count = offset; break }
                offset += n
            }
            return out
        }

        /// The entry names of an open folder (without `.` and `..`), sorted bytewise.
        static func names(in dirFD: Int32, path: String) throws -> [[UInt8]] {
            guard let names = CommandAgentExecutor.entryNames(dirFD) else { throw CommandAgentError.collect(path: path, reason: errnoText()) }
            return names.map { $0.dropLast().map { UInt8(bitPattern: $0) } }.sorted { $0.lexicographicallyPrecedes($1) }
        }

        /// The bytes as a string when they are valid UTF-8 (`String(validating:)` needs macOS 15).
        static func utf8(_ bytes: [UInt8]) -> String? {
            let s = String(decoding: bytes, as: UTF8.self)
            return s.utf8.elementsEqual(bytes) ? s : nil
        }

        /// A path for messages: valid UTF-8 as is, other bytes as `\xNN`.
        static func display(_ bytes: [UInt8]) -> String {
            if let s = utf8(bytes) { return s }
            return bytes.map { b in
                (0x20..<0x7F).contains(b) && b != 0x5C ? String(UnicodeScalar(b)) : String(format: "\\x%02X", b)
            }.joined()
        }

        static func typeName(_ type: mode_t) -> String {
            switch type {
            case 0o010000: return "FIFO"
            case 0o140000: return "socket"
            case 0o020000: return "character device"
            case 0o060000: return "block device"
            default: return "mode \(String(type, radix: 8))"
            }
        }
    }
}

#if !canImport(Darwin)
/// glibc's GNU extensions to posix_spawn, looked up at run time (their declarations need _GNU_SOURCE).
private enum GlibcSpawnExtensions {
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    static let addchdir: AddChdir? = symbol("posix_spawn_file_actions_addchdir_np")
    static let addclosefrom: AddClosefrom? = symbol("posix_spawn_file_actions_addclosefrom_np")

    private static func symbol<F>(_ name: String) -> F? {
        guard let handle = dlopen(nil, RTLD_NOW), let sym = dlsym(handle, name) else { return nil }
        return unsafeBitCast(sym, to: F.self)
    }
}
#endif

private func errnoText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }
