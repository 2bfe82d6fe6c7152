import Foundation
import Testing
@testable import CairnGit

/// The outcome of one run of the real git CLI.
struct GitRun {
    let status: Int32
    let stdout: String
    let stderr: String
}

/// A git CLI call that exited non-zero.
struct GitCommandFailed: Error, CustomStringConvertible {
    let args: [String]
    let run: GitRun
    var description: String { "git \(args.joined(separator: " ")) exited \(run.status): \(run.stderr)" }
}

/// Process-wide test set-up: a private, empty config search path for libgit2, so the machine's
/// global and system git configuration never reaches a test.
enum TestEnvironment {
    /// Holds a `.gitconfig` read by libgit2 as the global level (see ConfigTests).
    static let configDir: String = {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("cairn-gittests-config-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try? "[cairntest]\n\tglobal = fromglobal\n".write(toFile: dir + "/.gitconfig", atomically: true, encoding: .utf8)
        Libgit2.setConfigSearchPath(dir)
        atexit { try? FileManager.default.removeItem(atPath: TestEnvironment.configDir) }
        return dir
    }()

    static func setUp() { _ = configDir }
}

/// A throwaway repository in a unique temporary folder, removed when the value goes away.
///
/// `git(...)` runs the real git CLI against it with a hermetic environment (isolated `HOME`, no
/// global or system config, fixed author, committer and dates), as an independent judge.
final class TestRepo {
    /// The fixed time of every commit the tests write (2023-11-14T22:13:20Z).
    static let epoch: TimeInterval = 1_700_000_000
    /// The same instant in git's raw date format, for the CLI's environment.
    static let gitDate = "1700000000 +0000"
    static let name = "Cairn Test"
    static let email = "test@cairn.invalid"
    /// The signature of every commit written through the wrapper (same identity and date as the CLI's).
    static let signature = Signature(name: name, email: email, time: Date(timeIntervalSince1970: epoch), offsetMinutes: 0)

    /// The unique temporary folder holding everything.
    let root: String
    /// The repository's working tree (or, for a bare repository, its git directory), no trailing slash.
    let path: String
    let home: String
    let repo: Repository
    /// Seconds added to `epoch` for the next `commit(...)`, so history has a strict time order.
    private var clock: TimeInterval = 0

    /// Creates a repository through the wrapper (`Repository.create`).
    init(bare: Bool = false, initialBranch: String = "main") throws {
        TestEnvironment.setUp()
        root = Self.makeRoot()
        home = root + "/home"
        path = root + "/repo"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        repo = try Repository.create(at: path, initialBranch: initialBranch, bare: bare)
    }

    /// Creates a repository with `git init -b main` and opens it through the wrapper.
    init(cli: Void) throws {
        TestEnvironment.setUp()
        root = Self.makeRoot()
        home = root + "/home"
        path = root + "/repo"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let r = Self.runGit(["init", "-q", "-b", "main", path], cwd: root, home: home, input: nil)
        guard r.status == 0 else { throw GitCommandFailed(args: ["init"], run: r) }
        repo = try Repository(at: path)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    private static func makeRoot() -> String {
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("cairn-gittests-\(UUID().uuidString)").resolvingSymlinksInPath().path
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    // MARK: git CLI

    /// The hermetic environment of every git CLI call.
    static func environment(home: String) -> [String: String] {
        [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "HOME": home,
            "XDG_CONFIG_HOME": home + "/.config",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_AUTHOR_DATE": gitDate,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": gitDate,
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
            "TZ": "UTC",
        ]
    }

    static func runGit(_ args: [String], cwd: String, home: String, input: Data?) -> GitRun {
        let id = UUID().uuidString
        let tmp = FileManager.default.temporaryDirectory.path
        let outPath = "\(tmp)/cairn-gittests-out-\(id)", errPath = "\(tmp)/cairn-gittests-err-\(id)", inPath = "\(tmp)/cairn-gittests-in-\(id)"
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        _ = FileManager.default.createFile(atPath: inPath, contents: input ?? Data())
        defer { for p in [outPath, errPath, inPath] { try? FileManager.default.removeItem(atPath: p) } }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: cwd)
        process.environment = environment(home: home)
        guard let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath),
              let inp = FileHandle(forReadingAtPath: inPath) else {
            return GitRun(status: -1, stdout: "", stderr: "could not open temporary files")
        }
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        do { try process.run() } catch { return GitRun(status: -1, stdout: "", stderr: "\(error)") }
        process.waitUntilExit()
        try? out.close(); try? err.close(); try? inp.close()
        let stdout = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        return GitRun(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    /// Runs git in the repository; the full result, whatever the exit status.
    func run(_ args: [String], input: String? = nil) -> GitRun {
        Self.runGit(args, cwd: path, home: home, input: input.map { Data($0.utf8) })
    }

    /// Runs git in the repository and returns its stdout without trailing newlines; throws on a non-zero exit.
    @discardableResult
    func git(_ args: String..., input: String? = nil) throws -> String {
        try gitRaw(args, input: input).trimmingTrailingNewlines()
    }

    /// Runs git in the repository and returns its exact stdout; throws on a non-zero exit.
    func gitRaw(_ args: [String], input: String? = nil) throws -> String {
        let r = run(args, input: input)
        guard r.status == 0 else { throw GitCommandFailed(args: args, run: r) }
        return r.stdout
    }

    /// Asserts `git fsck --strict` accepts the repository.
    func expectFsckClean(sourceLocation: SourceLocation = #_sourceLocation) {
        let r = run(["fsck", "--strict", "--no-dangling", "--no-progress"])
        #expect(r.status == 0, "git fsck --strict failed: \(r.stdout)\(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("error"), "git fsck reported: \(r.stderr)", sourceLocation: sourceLocation)
    }

    /// `git rev-parse <spec>` as an OID.
    func revParse(_ spec: String) throws -> OID {
        let hex = try git("rev-parse", "--verify", "-q", spec)
        guard let oid = OID(hex: hex) else { throw GitCommandFailed(args: ["rev-parse", spec], run: GitRun(status: 0, stdout: hex, stderr: "not an id")) }
        return oid
    }

    // MARK: working tree

    /// Writes `text` to `relative` in the working tree, creating folders.
    func write(_ relative: String, _ text: String) throws {
        try write(relative, data: Data(text.utf8))
    }

    func write(_ relative: String, data: Data) throws {
        let url = URL(fileURLWithPath: path).appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: url)
    }

    func read(_ relative: String) -> String? {
        try? String(contentsOfFile: path + "/" + relative, encoding: .utf8)
    }

    func exists(_ relative: String) -> Bool {
        FileManager.default.fileExists(atPath: path + "/" + relative)
    }

    func delete(_ relative: String) throws {
        try FileManager.default.removeItem(atPath: path + "/" + relative)
    }

    // MARK: commits

    /// Stages everything with the CLI and commits it with the CLI; returns the new `HEAD`.
    @discardableResult
    func commitAllWithCLI(_ message: String) throws -> OID {
        try git("add", "-A")
        try git("commit", "-q", "--allow-empty", "-m", message)
        return try revParse("HEAD")
    }

    /// Writes a commit through the wrapper only (no working tree, no index): `files` are upserted
    /// (nil content removes the path) on top of `parent`'s tree, and `ref` is moved (compare-and-swap)
    /// when given. Each call is one second later than the previous one.
    @discardableResult
    func commit(_ files: [String: String?], message: String = "change", parents: [OID]? = nil,
                ref: String? = "refs/heads/main") throws -> OID {
        let parentIDs: [OID]
        if let parents {
            parentIDs = parents
        } else if let ref, let current = try repo.referenceTarget(ref) {
            parentIDs = [current]
        } else {
            parentIDs = []
        }
        let baseTree = try parentIDs.first.map { try repo.commit($0).tree }
        var changes: [TreeChange] = []
        for (path, content) in files.sorted(by: { $0.key < $1.key }) {
            if let content {
                changes.append(.upsert(path: path, oid: try repo.writeBlob(Data(content.utf8)), mode: TreeChange.fileMode))
            } else {
                changes.append(.remove(path: path))
            }
        }
        let tree = try repo.updateTree(base: baseTree, changes: changes)
        let sig = nextSignature()
        let oid = try repo.createCommit(tree: tree, parents: parentIDs, author: sig, committer: sig, message: message)
        if let ref {
            try repo.updateReference(ref, to: oid, expected: try repo.referenceTarget(ref), message: "test: \(message)")
        }
        return oid
    }

    /// The fixed signature, one second later on each call.
    func nextSignature() -> Signature {
        clock += 1
        var sig = Self.signature
        sig.time = Date(timeIntervalSince1970: Self.epoch + clock)
        return sig
    }
}

extension String {
    /// The lines of a command's output, without empty ones.
    var lines: [String] { split(separator: "\n").map(String.init) }
}
