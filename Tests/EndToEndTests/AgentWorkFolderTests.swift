import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A command agent's work folder is kept from one run to the next (`TMPDIR/cairn-work-*`), and only what is not as
/// the last run left it is written again. Judged by what the agent itself sees: every run must be shown exactly the
/// base commit's files of its read scope (compared with `git show`), whatever the previous run did to its copies.
@Suite struct AgentWorkFolderTests {
    /// The agent prints, for every file it is shown, `seen PATH INODE:CTIME SHA1-OF-CONTENT`, and where it runs; then
    /// does what `CAIRN_INPUT_DO` says. The same inode and change time means the same file, not written again (an
    /// inode number alone may be reused for a file written in its place).
    static let script = """
        import hashlib, os, stat
        for folder, dirs, names in os.walk("."):
            dirs.sort()
            for name in sorted(names):
                path = os.path.join(folder, name)[2:]
                data = open(path, "rb").read()
                st = os.lstat(path)
                print("seen", path, "%d:%d" % (st.st_ino, st.st_ctime_ns), hashlib.sha1(data).hexdigest())
        print("cwd", os.getcwd())
        do = os.environ.get("CAIRN_INPUT_DO", "")
        if do == "mess":
            open("memory/projects/a.md", "a").write("an agent line\\n")
            open("memory/projects/new.md", "w").write("a new note\\n")
            os.remove("memory/projects/b.md")
            os.makedirs("memory/projects/empty/deeper")
            os.utime("memory/projects/c.md", (0, 0))  # same content, other times
            open("memory/projects/sub/e.md", "w").write("# E\\n")  # same size, other content
        elif do == "fail":
            open("memory/projects/a.md", "w").write("half-written\\n")
            raise SystemExit(3)
        elif do == "lock-folder":
            os.chmod("memory/projects/sub", 0o500)
        elif do == "swap-folder":
            os.rename("../files", "../files-old")
            os.symlink("/", "../files")
        """

    struct Seen {
        var files: [String: (identity: String, sha: String)] = [:]
        var cwd = ""
    }

    func vault(_ sb: Sandbox) throws -> String {
        let v = try sb.makeVault()
        for name in ["a", "b", "c", "d"] { try sb.write(v + "/memory/projects/\(name).md", "# \(name)\n\nNote \(name).\n") }
        try sb.write(v + "/memory/projects/sub/e.md", "# e\n")
        try sb.write(v + "/memory/projects/sub/deep/f.md", "# f\n")
        try sb.snapshot(v, "notes")
        try sb.addAgent(v, "look", frontMatter: """
            kind: command
            command: ["python3", "agents/look.py"]
            reads: ["memory/projects/**"]
            writes: ["memory/projects/**"]
            timeout: 30s
            """, files: ["agents/look.py": Self.script])
        return v
    }

    func run(_ sb: Sandbox, _ v: String, _ input: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (AgentRun, Seen) {
        let run = try sb.runAgent(v, "look", inputs: ["do=" + input], sourceLocation: sourceLocation)
        let record = try sb.runRecord(v, rev: run.ref, id: run.id, sourceLocation: sourceLocation)
        let stdout = (record["command"] as? [String: Any])?["stdout"] as? String ?? ""
        var seen = Seen()
        for line in stdout.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            if f.first == "seen", f.count == 4 { seen.files[f[1]] = (f[2], f[3]) }
            if f.first == "cwd", f.count == 2 { seen.cwd = f[1] }
        }
        return (run, seen)
    }

    /// What the agent must be shown: every file of its scope in main, with the sha1 of its content.
    func expected(_ sb: Sandbox, _ v: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: String] {
        var out: [String: String] = [:]
        for path in try sb.gitLines(["ls-tree", "-r", "--name-only", "main", "memory/projects/"], cwd: v, sourceLocation: sourceLocation) {
            let data = sb.git(["show", "main:" + path], cwd: v).stdoutData
            out[path] = Self.sha1(data)
        }
        return out
    }

    static func sha1(_ data: Data) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sha1sum")
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try? p.run()
        input.fileHandleForWriting.write(data)
        try? input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: out, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }

    func expectShownBase(_ sb: Sandbox, _ v: String, _ seen: Seen, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let want = try expected(sb, v, sourceLocation: sourceLocation)
        #expect(!want.isEmpty, sourceLocation: sourceLocation)
        #expect(seen.files.mapValues(\.sha) == want, "shown \(seen.files.keys.sorted()), want \(want.keys.sorted())",
                sourceLocation: sourceLocation)
    }

    func keptFolders(_ sb: Sandbox) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: sb.tmp)) ?? []).filter { $0.hasPrefix("cairn-work-") }.sorted()
    }

    @Test func eachRunIsShownExactlyTheBaseWhateverTheLastRunDidToItsCopies() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        let (first, seen1) = try run(sb, v, "mess")
        #expect(first.outcome == "proposed", "\(first)")
        try expectShownBase(sb, v, seen1)
        #expect(try Set(sb.changedFiles(v, first.ref)) == ["M\tmemory/projects/a.md", "D\tmemory/projects/b.md", "A\tmemory/projects/new.md",
                                                          "M\tmemory/projects/sub/e.md"])
        #expect(keptFolders(sb).count == 1, "\(keptFolders(sb))")

        // The proposal is still pending: the next run sees main, not the last run's edits, new note or empty folders.
        let (second, seen2) = try run(sb, v, "")
        #expect(second.outcome == "no-changes", "\(second)")
        try expectShownBase(sb, v, seen2)
        #expect(!seen2.cwd.contains("/cairn-run-") && seen2.cwd.contains("/cairn-work-"), "\(seen2.cwd)")
        // Kept, not written again: a file the last run left alone is the same file (inode); the ones it touched are not.
        #expect(seen2.files["memory/projects/d.md"]?.identity == seen1.files["memory/projects/d.md"]?.identity)
        #expect(seen2.files["memory/projects/sub/deep/f.md"]?.identity == seen1.files["memory/projects/sub/deep/f.md"]?.identity)
        #expect(seen2.files["memory/projects/a.md"]?.identity != seen1.files["memory/projects/a.md"]?.identity)
        #expect(seen2.files["memory/projects/c.md"]?.identity != seen1.files["memory/projects/c.md"]?.identity)
        #expect(!sb.exists(seen2.cwd + "/memory/projects/empty"), "the agent's empty folders are gone")

        // A copy changed after the run (by a process the agent left behind, or by hand), even to the same size:
        // found by its stamp and written again.
        let copy = seen2.cwd + "/memory/projects/c.md"
        let original = try #require(sb.readText(copy))
        let fd = open(copy, O_WRONLY)
        try #require(fd >= 0)
        let changed = original.uppercased()
        #expect(changed.utf8.count == original.utf8.count && changed != original)
        #expect(changed.withCString { write(fd, $0, strlen($0)) } == changed.utf8.count)
        close(fd)

        // The operator edits a note, and approves the first proposal: the next run sees both.
        try sb.write(v + "/memory/projects/d.md", "# d\n\nEdited by the operator.\n")
        try sb.snapshot(v)
        let approve = sb.runCairn(["approve", first.id], cwd: v)
        try #require(approve.status == 0, "\(approve)")
        let (third, seen3) = try run(sb, v, "")
        #expect(third.outcome == "no-changes", "\(third)")
        try expectShownBase(sb, v, seen3)
        #expect(seen3.files["memory/projects/new.md"] != nil && seen3.files["memory/projects/b.md"] == nil)
        #expect(seen3.files["memory/projects/sub/deep/f.md"]?.identity == seen1.files["memory/projects/sub/deep/f.md"]?.identity)
        sb.expectFsckClean(v)
    }

    @Test func aFailedRunAReadOnlyFolderOrAForeignManifestLeaveNothingBehind() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        _ = try run(sb, v, "")
        // A run that fails after changing a copy leaves no manifest: the next run writes everything again.
        let (failed, seenF) = try run(sb, v, "fail")
        #expect(failed.outcome == "failed", "\(failed)")
        let (afterFail, seen1) = try run(sb, v, "")
        #expect(afterFail.outcome == "no-changes", "\(afterFail)")
        try expectShownBase(sb, v, seen1)
        #expect(seen1.files["memory/projects/d.md"]?.identity != seenF.files["memory/projects/d.md"]?.identity)

        // A folder the agent made read-only: the next run empties the work folder and starts again.
        let (locked, _) = try run(sb, v, "lock-folder")
        #expect(locked.outcome == "no-changes", "\(locked)")
        let (afterLock, seen2) = try run(sb, v, "")
        #expect(afterLock.outcome == "no-changes", "\(afterLock)")
        try expectShownBase(sb, v, seen2)

        // An agent that put a link where its files folder was fails; the next run has a folder again.
        let (swapped, _) = try run(sb, v, "swap-folder")
        #expect(swapped.outcome == "failed" && swapped.failure.contains("files folder"), "\(swapped)")
        let (afterSwap, seen3) = try run(sb, v, "")
        #expect(afterSwap.outcome == "no-changes", "\(afterSwap)")
        try expectShownBase(sb, v, seen3)

        // A manifest from another boot, or cut short, is not trusted.
        let folder = sb.tmp + "/" + (keptFolders(sb).first ?? "none")
        for damage in ["boot", "cut"] {
            let (_, before) = try run(sb, v, "")
            let manifest = try #require(sb.read(folder + "/manifest"), "no manifest in \(folder)")
            let newline = try #require(manifest.firstIndex(of: UInt8(ascii: "\n")))
            let header = String(decoding: manifest[..<newline], as: UTF8.self)
            #expect(header.hasPrefix("cairn-work-manifest ") && header.split(separator: " ").count == 3, "\(header)")
            let damaged = damage == "boot"
                ? Data((header.split(separator: " ").dropLast().joined(separator: " ") + " 0000-another-boot").utf8) + manifest[newline...]
                : manifest.dropLast(10)
            #expect(damaged != manifest && damaged.count > 100)
            try sb.write(folder + "/manifest", damaged)
            let (after, seen) = try run(sb, v, "")
            #expect(after.outcome == "no-changes", "\(after)")
            try expectShownBase(sb, v, seen)
            #expect(seen.files["memory/projects/d.md"]?.identity != before.files["memory/projects/d.md"]?.identity, "\(damage)")
        }
        sb.expectFsckClean(v)
    }

    /// Forgetting a path rewrites history so no copy of it is left; the kept work folders hold copies of notes.
    @Test func forgettingAPathRemovesTheVaultsKeptFolders() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        let (_, seen) = try run(sb, v, "")
        #expect(sb.exists(seen.cwd + "/memory/projects/c.md"), "\(seen.cwd)")
        let r = sb.runCairn(["forget", "memory/projects/c.md", "--include-current", "--reason", "erasure request"], cwd: v)
        try #require(r.status == 0, "\(r)")
        #expect(keptFolders(sb).isEmpty, "\(keptFolders(sb))")
        let (after, seenAfter) = try run(sb, v, "")
        #expect(after.outcome == "no-changes", "\(after)")
        try expectShownBase(sb, v, seenAfter)
        #expect(seenAfter.files["memory/projects/c.md"] == nil)
    }

    @Test func aFolderInUseIsNotSharedAndAbandonedOnesAreRemoved() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        _ = try run(sb, v, "")
        let name = try #require(keptFolders(sb).first)
        let folder = sb.tmp + "/" + name
        // Held by another process (a run of the same agent in the same vault through another path, the clean-up):
        // this run takes a fresh folder of its own and removes it afterwards.
        let fd = open(folder, O_RDONLY | O_DIRECTORY)
        try #require(fd >= 0)
        try #require(flock(fd, LOCK_EX | LOCK_NB) == 0)
        let (busy, seen) = try run(sb, v, "")
        #expect(busy.outcome == "no-changes", "\(busy)")
        try expectShownBase(sb, v, seen)
        #expect(seen.cwd.contains("/cairn-run-"), "\(seen.cwd)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: sb.tmp)) ?? []).filter { $0.hasPrefix("cairn-run-") }.isEmpty)

        // Unused for longer than any run lasts: the next run of any agent removes it, unless it is held.
        var old = [timespec(tv_sec: time(nil) - 72 * 3600, tv_nsec: 0), timespec(tv_sec: time(nil) - 72 * 3600, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, folder, &old, 0) == 0)
        try sb.addAgent(v, "other", frontMatter: """
            kind: command
            command: ["python3", "-c", "pass"]
            reads: ["inbox/**"]
            writes: ["inbox/**"]
            """)
        _ = try sb.runAgent(v, "other")
        #expect(sb.exists(folder), "removed while held")
        close(fd)
        #expect(utimensat(AT_FDCWD, folder, &old, 0) == 0)
        _ = try sb.runAgent(v, "other")
        #expect(!sb.exists(folder), "an abandoned folder was kept")
        #expect(keptFolders(sb).count == 1, "other's own folder: \(keptFolders(sb))")
    }
}
