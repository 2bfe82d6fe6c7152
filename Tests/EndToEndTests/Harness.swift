import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

// End-to-end harness: runs the built `cairn` binary as a subprocess in a throwaway folder and judges what
// it wrote with the real git CLI. Every subprocess gets a hermetic environment (isolated HOME and global
// git config, fixed clock, no color), so commit ids and output are stable.

/// What a finished subprocess produced.
struct CommandResult: CustomStringConvertible {
    let status: Int32
    /// True when the process died from a signal (a crash, or the harness's timeout) rather than exiting.
    let signaled: Bool
    let stdoutData: Data
    let stderrData: Data

    var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
    var stderr: String { String(decoding: stderrData, as: UTF8.self) }
    /// Both streams, for "the user was told X somewhere" checks.
    var output: String { stdout + stderr }

    var description: String {
        "exit \(status)\(signaled ? " (signal)" : "")\n--- stdout:\n\(stdout)\n--- stderr:\n\(stderr)"
    }
}

/// Where the binaries are.
enum Binaries {
    /// The package root, found from this file (`Tests/EndToEndTests/Harness.swift`).
    static let packageRoot: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    /// `$CAIRN_BIN`, else `cairn` next to the test bundle, else `.build/debug/cairn` in the package.
    static let cairn: String? = {
        let fm = FileManager.default
        if let v = ProcessInfo.processInfo.environment["CAIRN_BIN"], !v.isEmpty { return v }
        var candidates: [String] = []
        if let first = CommandLine.arguments.first {
            candidates.append(URL(fileURLWithPath: first).deletingLastPathComponent().appendingPathComponent("cairn").path)
        }
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("cairn").path)
        candidates.append(Bundle.main.bundleURL.appendingPathComponent("cairn").path)
        candidates.append(packageRoot + "/.build/debug/cairn")
        return candidates.first { fm.isExecutableFile(atPath: $0) }
    }()

    /// `git` from `PATH`.
    static let git: String = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(dir)/git") {
            return "\(dir)/git"
        }
        return "/usr/bin/git"
    }()
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
}

/// A unique temporary folder with an isolated home and git identity; removed when the value goes away.
///
/// Layout: `root/home` (HOME, `gitconfig`), `root/work` (where tests put vaults), `root/io` (captured output).
final class Sandbox {
    let root: String
    let home: String
    let work: String
    private let io: String
    /// TMPDIR of every command (agents' work folders go there, and are removed with the sandbox).
    var tmp: String { root + "/tmp" }
    var gitConfig: String { home + "/gitconfig" }

    static let now = "2026-03-01T09:00:00Z"
    static let gitDate = "2026-02-01T08:00:00Z"
    static let operatorName = "Ada Operator"
    static let operatorEmail = "ada@example.com"

    /// - Parameter identity: write user.name/user.email into the global git config (false: an empty file).
    init(identity: Bool = true) throws {
        guard let bin = Binaries.cairn, FileManager.default.isExecutableFile(atPath: bin) else {
            throw HarnessError(description: "the cairn binary was not found; build it and set CAIRN_BIN (tried \(Binaries.cairn ?? "next to the tests and .build/debug"))")
        }
        root = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-e2e-\(UUID().uuidString)").path
        home = root + "/home"
        work = root + "/work"
        io = root + "/io"
        for dir in [home, work, io, tmp] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let config = identity ? "[user]\n\tname = \(Self.operatorName)\n\temail = \(Self.operatorEmail)\n" : ""
        try Data(config.utf8).write(to: URL(fileURLWithPath: gitConfig))
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// The hermetic base environment; `extra` adds or (with nil) removes variables.
    func environment(_ extra: [String: String?] = [:]) -> [String: String] {
        var env: [String: String] = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": home,
            "XDG_CONFIG_HOME": home + "/.config",
            "GIT_CONFIG_GLOBAL": gitConfig,
            "GIT_CONFIG_NOSYSTEM": "1",
            "TMPDIR": tmp,
            "CAIRN_NOW": Self.now,
            "NO_COLOR": "1",
            "LANG": "C.UTF-8",
            "TZ": "UTC",
        ]
        for (k, v) in extra { env[k] = v }
        return env
    }

    /// Runs the built `cairn` with `args` in `cwd` (default: the work folder).
    func runCairn(_ args: [String], cwd: String? = nil, env extra: [String: String?] = [:]) -> CommandResult {
        run(Binaries.cairn ?? "cairn", args, cwd: cwd ?? work, env: environment(extra))
    }

    /// Runs the real git CLI, the independent judge (fixed dates; never takes optional locks, so reading
    /// commands such as `git status` never rewrite the index).
    func git(_ args: [String], cwd: String, stdin: Data? = nil) -> CommandResult {
        run(Binaries.git, args, cwd: cwd, stdin: stdin, env: environment([
            "GIT_AUTHOR_DATE": Self.gitDate, "GIT_COMMITTER_DATE": Self.gitDate, "GIT_OPTIONAL_LOCKS": "0",
        ]))
    }

    /// Runs git and requires success; returns stdout without the trailing newline.
    @discardableResult
    func gitOK(_ args: [String], cwd: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let r = git(args, cwd: cwd)
        try #require(r.status == 0, "git \(args.joined(separator: " ")) failed: \(r)", sourceLocation: sourceLocation)
        var out = r.stdout
        while out.hasSuffix("\n") { out.removeLast() }
        return out
    }

    /// git output split into lines (no empty trailing line).
    func gitLines(_ args: [String], cwd: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        let out = try gitOK(args, cwd: cwd, sourceLocation: sourceLocation)
        return out.isEmpty ? [] : out.components(separatedBy: "\n")
    }

    /// `cairn init NAME` in the work folder; requires success and returns the vault's path.
    @discardableResult
    /// A new vault with the example business's notes (`cairn init --example`), which many tests use.
    func makeVault(_ name: String = "vault", _ extraArgs: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let r = runCairn(["init", "--example", name] + extraArgs)
        try #require(r.status == 0, "cairn init failed: \(r)", sourceLocation: sourceLocation)
        return work + "/" + name
    }

    /// A plain git repository made with the git CLI, on `branch`.
    @discardableResult
    func makeGitRepo(_ name: String, branch: String = "main", sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let path = work + "/" + name
        try gitOK(["init", "-q", "-b", branch, path], cwd: work, sourceLocation: sourceLocation)
        return path
    }

    /// Commits everything in `repo` with the git CLI; returns the new commit id.
    @discardableResult
    func commitAll(_ repo: String, _ message: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        try gitOK(["add", "-A"], cwd: repo, sourceLocation: sourceLocation)
        try gitOK(["commit", "-q", "-m", message], cwd: repo, sourceLocation: sourceLocation)
        return try gitOK(["rev-parse", "HEAD"], cwd: repo, sourceLocation: sourceLocation)
    }

    func run(_ executable: String, _ args: [String], cwd: String, stdin: Data? = nil, env: [String: String],
             timeout: TimeInterval = 300) -> CommandResult {
        start(executable, args, cwd: cwd, stdin: stdin, env: env).finish(timeout: timeout)
    }

    /// Starts `cairn` without waiting, for concurrency tests; `finish()` waits for it.
    func startCairn(_ args: [String], cwd: String? = nil, env extra: [String: String?] = [:]) -> RunningCommand {
        start(Binaries.cairn ?? "cairn", args, cwd: cwd ?? work, stdin: nil, env: environment(extra))
    }

    func start(_ executable: String, _ args: [String], cwd: String, stdin: Data?, env: [String: String]) -> RunningCommand {
        let id = UUID().uuidString
        let command = RunningCommand(outPath: io + "/\(id).out", errPath: io + "/\(id).err", inPath: io + "/\(id).in")
        _ = FileManager.default.createFile(atPath: command.outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: command.errPath, contents: nil)
        _ = FileManager.default.createFile(atPath: command.inPath, contents: stdin ?? Data())
        guard let out = FileHandle(forWritingAtPath: command.outPath), let err = FileHandle(forWritingAtPath: command.errPath),
              let input = FileHandle(forReadingAtPath: command.inPath) else {
            command.failure = "harness: cannot open capture files"
            return command
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: cwd)
        process.environment = env
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        command.handles = [out, err, input]
        do {
            try process.run()
            command.process = process
        } catch {
            command.failure = "harness: cannot start \(executable): \(error)"
        }
        return command
    }
}

/// A subprocess that may still be running; its output goes to files (no pipe can fill up and block it).
final class RunningCommand {
    let outPath: String, errPath: String, inPath: String
    var process: Process?
    var handles: [FileHandle] = []
    var failure: String?

    init(outPath: String, errPath: String, inPath: String) {
        self.outPath = outPath
        self.errPath = errPath
        self.inPath = inPath
    }

    /// Waits for the process (killing it after `timeout` seconds) and collects its output.
    func finish(timeout: TimeInterval = 300) -> CommandResult {
        defer {
            for h in handles { try? h.close() }
            for p in [outPath, errPath, inPath] { try? FileManager.default.removeItem(atPath: p) }
        }
        guard let process else {
            return CommandResult(status: -1, signaled: false, stdoutData: Data(), stderrData: Data((failure ?? "not started").utf8))
        }
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        process.waitUntilExit()
        watchdog.cancel()
        return CommandResult(status: process.terminationStatus,
                             signaled: process.terminationReason == .uncaughtSignal,
                             stdoutData: FileManager.default.contents(atPath: outPath) ?? Data(),
                             stderrData: FileManager.default.contents(atPath: errPath) ?? Data())
    }
}

// MARK: - Files

extension Sandbox {
    /// Writes `text` to `path` (absolute), creating parent folders.
    func write(_ path: String, _ text: String) throws { try write(path, Data(text.utf8)) }

    func write(_ path: String, _ data: Data) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: path))
    }

    func read(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    func readText(_ path: String) -> String? { read(path).map { String(decoding: $0, as: UTF8.self) } }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }
}

/// A file's bytes and whether it is executable: what git records for a regular file.
struct FileEntry: Equatable {
    let data: Data
    let executable: Bool
}

/// Regular files under `root` (no `.git` folder), by relative path.
func workingFiles(_ root: String) -> [String: FileEntry] {
    var out: [String: FileEntry] = [:]
    guard let e = FileManager.default.enumerator(atPath: root) else { return out }
    while let rel = e.nextObject() as? String {
        if rel == ".git" { e.skipDescendants(); continue }
        var st = stat()
        guard lstat(root + "/" + rel, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
        out[rel] = FileEntry(data: FileManager.default.contents(atPath: root + "/" + rel) ?? Data(),
                             executable: st.st_mode & 0o100 != 0)
    }
    return out
}

/// The files of the vault-template folder (what `cairn init` copies).
func templateFiles() -> [String: FileEntry] {
    workingFiles(Binaries.packageRoot + "/vault-template").mapValues { FileEntry(data: $0.data, executable: false) }
}

/// `vault-template/` with `vault-example/` laid over it, less the two folder READMEs the example's notes make
/// unnecessary: what `cairn init --example` writes.
func exampleTemplateFiles() -> [String: FileEntry] {
    templateFiles().filter { !["memory/knowledge/README.md", "memory/projects/README.md"].contains($0.key) }
        .merging(workingFiles(Binaries.packageRoot + "/vault-example").mapValues { FileEntry(data: $0.data, executable: false) }) { _, example in example }
}

extension Sandbox {
    /// Every file of `rev`'s tree with its content, read through `git ls-tree` and `git cat-file --batch`.
    func committedFiles(_ repo: String, rev: String = "HEAD", sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: FileEntry] {
        let ls = git(["ls-tree", "-r", "-z", rev], cwd: repo)
        try #require(ls.status == 0, "git ls-tree failed: \(ls)", sourceLocation: sourceLocation)
        var entries: [(path: String, mode: String, oid: String)] = []
        for record in ls.stdoutData.split(separator: 0) {
            // "<mode> <type> <oid>\t<path>"
            guard let tab = record.firstIndex(of: 0x09) else { continue }
            let meta = String(decoding: record[record.startIndex..<tab], as: UTF8.self).split(separator: " ")
            let path = String(decoding: record[record.index(after: tab)...], as: UTF8.self)
            try #require(meta.count == 3, "unexpected ls-tree line", sourceLocation: sourceLocation)
            entries.append((path, String(meta[0]), String(meta[2])))
        }
        let input = Data(entries.map { $0.oid + "\n" }.joined().utf8)
        let cat = git(["cat-file", "--batch"], cwd: repo, stdin: input)
        try #require(cat.status == 0, "git cat-file failed: \(cat)", sourceLocation: sourceLocation)
        let bytes = [UInt8](cat.stdoutData)
        var i = 0
        var out: [String: FileEntry] = [:]
        for entry in entries {
            guard let nl = bytes[i...].firstIndex(of: 0x0A) else { throw HarnessError(description: "short cat-file output") }
            let header = String(decoding: bytes[i..<nl], as: UTF8.self).split(separator: " ")
            guard header.count == 3, let size = Int(header[2]) else { throw HarnessError(description: "bad cat-file header \(header)") }
            let start = nl + 1
            out[entry.path] = FileEntry(data: Data(bytes[start..<start + size]), executable: entry.mode == "100755")
            i = start + size + 1
        }
        return out
    }

    /// Working-tree files that `.gitignore` excludes.
    func ignoredFiles(_ repo: String) throws -> Set<String> {
        Set(try gitOK(["ls-files", "-z", "--others", "--ignored", "--exclude-standard"], cwd: repo)
            .split(separator: "\0").map(String.init))
    }

    /// `git fsck --strict` finds nothing.
    func expectFsckClean(_ repo: String, sourceLocation: SourceLocation = #_sourceLocation) {
        // Dangling objects (an intermediate tree, say) are harmless and left for `git gc`; anything else fails.
        let r = git(["fsck", "--strict", "--no-dangling", "--no-progress"], cwd: repo)
        #expect(r.status == 0 && r.stdout.isEmpty && r.stderr.isEmpty, "git fsck --strict: \(r)", sourceLocation: sourceLocation)
    }

    /// A fresh `git clone` of `repo` checks out exactly `repo`'s working tree (ignored files aside).
    func expectCloneReproduces(_ repo: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let clone = root + "/clone-\(UUID().uuidString)"
        try gitOK(["clone", "-q", "--no-hardlinks", repo, clone], cwd: work, sourceLocation: sourceLocation)
        defer { try? FileManager.default.removeItem(atPath: clone) }
        let ignored = try ignoredFiles(repo)
        let original = workingFiles(repo).filter { !ignored.contains($0.key) }
        expectSameFiles(workingFiles(clone), original, "fresh clone", "working tree", sourceLocation: sourceLocation)
    }
}

/// Two file maps are equal, by path bytes, content and executable bit; names the paths that differ.
func expectSameFiles(_ a: [String: FileEntry], _ b: [String: FileEntry], _ aName: String, _ bName: String,
                     sourceLocation: SourceLocation = #_sourceLocation) {
    // Compare path bytes too: String equality is canonical-equivalence, which would hide NFC/NFD changes.
    let aBytes = Set(a.keys.map { Array($0.utf8) }), bBytes = Set(b.keys.map { Array($0.utf8) })
    let onlyA = aBytes.subtracting(bBytes).map { String(decoding: $0, as: UTF8.self) }.sorted()
    let onlyB = bBytes.subtracting(aBytes).map { String(decoding: $0, as: UTF8.self) }.sorted()
    #expect(onlyA.isEmpty, "only in \(aName): \(onlyA.prefix(20))", sourceLocation: sourceLocation)
    #expect(onlyB.isEmpty, "only in \(bName): \(onlyB.prefix(20))", sourceLocation: sourceLocation)
    let differing = a.keys.filter { b[$0] != nil && b[$0] != a[$0] }.sorted()
    #expect(differing.isEmpty, "content or mode differs between \(aName) and \(bName): \(differing.prefix(20))",
            sourceLocation: sourceLocation)
    #expect(a.count == b.count, "\(aName) has \(a.count) files, \(bName) \(b.count)", sourceLocation: sourceLocation)
}

// MARK: - "Nothing was written"

/// Everything observable about a folder and the repository in it: each file's type, mode, size, mtime and
/// content hash (including `.git/` — refs, objects, index, HEAD), plus `git for-each-ref` and `git status`.
///
/// `.git/cairn/` is left out: it holds cairn's process lock and derived caches, which are never committed and
/// may be created by any command (DESIGN.md, "Derived caches live in .git/cairn/").
struct FolderState: Equatable, CustomStringConvertible {
    let lines: [String]
    var description: String { lines.joined(separator: "\n") }

    /// What changed from `self` to `other`, for failure messages.
    func difference(to other: FolderState) -> String {
        let a = Set(lines), b = Set(other.lines)
        let removed = lines.filter { !b.contains($0) }.map { "- " + $0 }
        let added = other.lines.filter { !a.contains($0) }.map { "+ " + $0 }
        return (removed + added).prefix(40).joined(separator: "\n")
    }
}

extension Sandbox {
    func state(of dir: String) -> FolderState {
        var lines: [String] = []
        var st = stat()
        guard lstat(dir, &st) == 0 else { return FolderState(lines: ["missing \(dir)"]) }
        lines.append(describe(dir, "", st))
        if (st.st_mode & S_IFMT) == S_IFDIR, let e = FileManager.default.enumerator(atPath: dir) {
            var paths: [String] = []
            while let rel = e.nextObject() as? String {
                if rel == ".git/cairn" || rel.hasPrefix(".git/cairn/") { e.skipDescendants(); continue }
                paths.append(rel)
            }
            for rel in paths.sorted() {
                var s = stat()
                if lstat(dir + "/" + rel, &s) == 0 { lines.append(describe(dir + "/" + rel, rel, s)) }
            }
            let gitDir = FileManager.default.fileExists(atPath: dir + "/.git") || FileManager.default.fileExists(atPath: dir + "/HEAD")
            if gitDir {
                let refs = git(["for-each-ref", "--format=%(refname) %(objectname)"], cwd: dir)
                lines.append("for-each-ref [\(refs.status)]: " + refs.stdout.replacingOccurrences(of: "\n", with: " | "))
                let status = git(["status", "--porcelain=v1", "-uall", "-z"], cwd: dir)
                lines.append("status [\(status.status)]: " + status.stdout.replacingOccurrences(of: "\0", with: " | "))
            }
        }
        return FolderState(lines: lines)
    }

    private func describe(_ full: String, _ rel: String, _ st: stat) -> String {
        let mode = String(st.st_mode, radix: 8)
        let mtime = "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
        switch st.st_mode & S_IFMT {
        case S_IFDIR:
            return "dir \(rel) \(mode)"
        case S_IFLNK:
            let target = (try? FileManager.default.destinationOfSymbolicLink(atPath: full)) ?? "?"
            return "link \(rel) -> \(target)"
        default:
            // Hash the content of ordinary files; for huge ones size and mtime tell a rewrite apart.
            let hash = st.st_size <= 8 << 20 ? fnv1a(FileManager.default.contents(atPath: full) ?? Data()) : "large"
            return "file \(rel) \(mode) \(st.st_size) \(mtime) \(hash)"
        }
    }

    /// Requires `dir` to look exactly as it did in `before`.
    func expectUnchanged(_ dir: String, since before: FolderState, sourceLocation: SourceLocation = #_sourceLocation) {
        let after = state(of: dir)
        #expect(after == before, "\(dir) changed:\n\(before.difference(to: after))", sourceLocation: sourceLocation)
    }
}

/// A 64-bit FNV-1a hash of `data`, as hex (enough to tell a changed file from an unchanged one).
func fnv1a(_ data: Data) -> String {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    data.withUnsafeBytes { raw in
        for b in raw { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    }
    return String(h, radix: 16)
}

/// The modification time of a file, for "was not rewritten" checks.
func modificationTime(_ path: String) -> String? {
    var st = stat()
    guard lstat(path, &st) == 0 else { return nil }
    return "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
}

/// Parses JSON output, requiring it to be valid.
func parseJSON(_ data: Data, sourceLocation: SourceLocation = #_sourceLocation) throws -> Any {
    do {
        return try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
    } catch {
        Issue.record("not valid JSON: \(error)\n\(String(decoding: data, as: UTF8.self))", sourceLocation: sourceLocation)
        throw error
    }
}

/// Parses a JSON object (from a file or output), requiring both the data and the object.
func jsonObject(_ data: Data?, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    let bytes = try #require(data, "no data", sourceLocation: sourceLocation)
    let value = try parseJSON(bytes, sourceLocation: sourceLocation)
    return try #require(value as? [String: Any], "not a JSON object", sourceLocation: sourceLocation)
}

/// Parses a JSON array of objects.
func jsonArray(_ data: Data?, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
    let bytes = try #require(data, "no data", sourceLocation: sourceLocation)
    let value = try parseJSON(bytes, sourceLocation: sourceLocation)
    return try #require(value as? [[String: Any]], "not a JSON array of objects", sourceLocation: sourceLocation)
}
