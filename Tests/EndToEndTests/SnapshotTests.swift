import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `cairn snapshot`: every edit in the working tree becomes one operator commit, and none is lost.
@Suite struct SnapshotTests {
    /// Deterministic bytes covering every value, NUL and invalid UTF-8 included.
    private func binaryBytes(count: Int) -> Data {
        var state: UInt32 = 0x2545_F491
        var bytes = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            state = state &* 1_664_525 &+ 1_013_904_223
            bytes[i] = i < 256 ? UInt8(i) : UInt8(truncatingIfNeeded: state >> 24)
        }
        return Data(bytes)
    }

    private func chmod(_ path: String, _ mode: mode_t) throws {
        try #require(Glibc.chmod(path, mode) == 0, "chmod \(path)")
    }

    /// The committed tree of HEAD equals the working tree (ignored files aside), and git sees nothing to commit.
    private func expectCommittedTreeMatchesWorkingTree(_ sb: Sandbox, _ v: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ignored = try sb.ignoredFiles(v)
        let working = workingFiles(v).filter { !ignored.contains($0.key) }
        expectSameFiles(try sb.committedFiles(v), working, "HEAD", "working tree", sourceLocation: sourceLocation)
        #expect(try sb.gitOK(["status", "--porcelain=v1", "-uall"], cwd: v) == "", sourceLocation: sourceLocation)
    }

    @Test func aThousandFileVaultSnapshotLosesNoEdit() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        for i in 0..<1000 {
            try sb.write(v + "/memory/knowledge/topic-\(i % 25)/note-\(i).md", "# Note \(i)\n\nFact number \(i).\n")
        }
        let first = sb.runCairn(["snapshot", "-m", "Import 1000 notes"], cwd: v)
        #expect(first.status == 0, "\(first)")
        #expect(first.stdout.contains("Committed 1000 changes"), "\(first)")
        try expectCommittedTreeMatchesWorkingTree(sb, v)
        let base = try sb.gitOK(["rev-parse", "HEAD"], cwd: v)

        // Edit 100, delete 50, rename 30 with mv into a new folder, and add all kinds of new files.
        func note(_ i: Int) -> String { v + "/memory/knowledge/topic-\(i % 25)/note-\(i).md" }
        for i in 0..<100 {
            let handle = try #require(FileHandle(forWritingAtPath: note(i)))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data("Edited line \(i).\n".utf8))
            try handle.close()
        }
        for i in 100..<150 { try FileManager.default.removeItem(atPath: note(i)) }
        try FileManager.default.createDirectory(atPath: v + "/memory/knowledge/archive/2025", withIntermediateDirectories: true)
        let mv = sb.run("/bin/mv", (150..<180).map(note) + [v + "/memory/knowledge/archive/2025/"], cwd: v, env: sb.environment())
        try #require(mv.status == 0, "mv: \(mv)")
        let added: [String: Data] = [
            "memory/projects/acme/2026/q1/deep/plan.md": Data("# Deep plan\n".utf8),
            "memory/knowledge/café.md": Data("# Café\n\nCrème brûlée.\n".utf8),
            "日本/会議メモ.md": Data("# 会議メモ\n\n議事録。\n".utf8),
            "with space/my note.md": Data("# My note\n".utf8),
            "inbox/empty.md": Data(),
            "empty.txt": Data(),
            "assets/blob.bin": binaryBytes(count: 8192),
            "scripts/run.sh": Data("#!/bin/sh\necho hi\n".utf8),
        ]
        for (path, data) in added { try sb.write(v + "/" + path, data) }
        try chmod(v + "/scripts/run.sh", 0o755)

        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try sb.gitOK(["rev-list", "--count", "\(base)..HEAD"], cwd: v) == "1", "exactly one new commit")
        #expect(try sb.gitOK(["rev-parse", "HEAD^"], cwd: v) == base)
        #expect(try sb.gitOK(["log", "-1", "--format=%an <%ae>|%cn <%ce>"], cwd: v) == "Ada Operator <ada@example.com>|Ada Operator <ada@example.com>")
        #expect(try sb.gitOK(["log", "-1", "--format=%(trailers:key=Cairn-Operation,valueonly)"], cwd: v) == "snapshot")

        try expectCommittedTreeMatchesWorkingTree(sb, v)
        let committed = try sb.committedFiles(v)
        for (path, data) in added { #expect(committed[path]?.data == data, "\(path) not committed as written") }
        #expect(committed["scripts/run.sh"]?.executable == true)
        for i in 0..<100 { #expect(committed["memory/knowledge/topic-\(i % 25)/note-\(i).md"]?.data == sb.read(note(i))) }
        for i in 100..<150 { #expect(committed["memory/knowledge/topic-\(i % 25)/note-\(i).md"] == nil, "deleted note \(i) still committed") }
        for i in 150..<180 {
            #expect(committed["memory/knowledge/topic-\(i % 25)/note-\(i).md"] == nil)
            #expect(committed["memory/knowledge/archive/2025/note-\(i).md"]?.data == Data("# Note \(i)\n\nFact number \(i).\n".utf8))
        }
        let names = try sb.gitLines(["diff", "--name-status", "-M", "HEAD^", "HEAD"], cwd: v)
        #expect(names.filter { $0.hasPrefix("M\t") }.count == 100, "\(names.prefix(5))")
        #expect(names.filter { $0.hasPrefix("D\t") }.count == 50)
        #expect(names.filter { $0.hasPrefix("R100\t") }.count == 30)
        #expect(names.filter { $0.hasPrefix("A\t") }.count == added.count)
        sb.expectFsckClean(v)
        try sb.expectCloneReproduces(v)
    }

    @Test func nothingToCommitSaysSoAndMakesNoCommit() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let head = try sb.gitOK(["rev-parse", "HEAD"], cwd: v)
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("Nothing to commit"), "\(r)")
        #expect(try sb.gitOK(["rev-parse", "HEAD"], cwd: v) == head)
        #expect(try sb.gitLines(["for-each-ref", "--format=%(refname) %(objectname)"], cwd: v) == ["refs/heads/main \(head)"])
    }

    @Test func messageOptionBecomesTheSubjectAboveTheTrailer() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/working/today.md", "# Today\n")
        try sb.write(v + "/memory/working/tomorrow.md", "# Tomorrow\n")
        let r = sb.runCairn(["snapshot", "-m", "Plan the week"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try sb.gitOK(["log", "-1", "--format=%s"], cwd: v) == "Plan the week")
        #expect(try sb.gitOK(["log", "-1", "--format=%(trailers:key=Cairn-Operation,valueonly)"], cwd: v) == "snapshot")
    }

    @Test func defaultMessageForOneEditedFileNamesIt() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/core/business.md", "# Business\n\nRewritten.\n")
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try sb.gitOK(["log", "-1", "--format=%s"], cwd: v) == "Edit memory/core/business.md")
        #expect(r.stdout.contains("Edit memory/core/business.md"), "\(r)")
    }

    @Test func renameWithMvIsRecordedAsARename() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let mv = sb.run("/bin/mv", ["memory/projects/bluebird-coffee.md", "memory/knowledge/bluebird-coffee.md"], cwd: v, env: sb.environment())
        try #require(mv.status == 0, "\(mv)")
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try sb.gitOK(["log", "-1", "--format=%s"], cwd: v) == "Rename memory/projects/bluebird-coffee.md to memory/knowledge/bluebird-coffee.md")
        let stat = try sb.gitOK(["show", "--stat", "-M", "--format=", "HEAD"], cwd: v)
        #expect(stat.contains("memory/{projects => knowledge}/bluebird-coffee.md"), "\(stat)")
        #expect(try sb.gitLines(["diff", "--name-status", "-M", "HEAD^", "HEAD"], cwd: v)
            == ["R100\tmemory/projects/bluebird-coffee.md\tmemory/knowledge/bluebird-coffee.md"])
    }

    @Test func secondSnapshotAfterFurtherEditsMakesASecondCommit() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/working/a.md", "# A\n")
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        let firstCommit = try sb.gitOK(["rev-parse", "HEAD"], cwd: v)
        try sb.write(v + "/memory/working/a.md", "# A\n\nmore\n")
        try FileManager.default.removeItem(atPath: v + "/memory/working/this-week.md")
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try sb.gitOK(["rev-parse", "HEAD^"], cwd: v) == firstCommit)
        #expect(try sb.gitOK(["log", "-1", "--format=%s"], cwd: v) == "Snapshot: 1 edited, 1 deleted")
        #expect(try sb.gitOK(["rev-list", "--count", "HEAD"], cwd: v) == "3")
        try expectCommittedTreeMatchesWorkingTree(sb, v)
    }

    @Test func editInASubfolderIsCommittedWhenRunFromThere() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let sub = v + "/memory/projects"
        try sb.write(sub + "/client/notes.md", "# Client\n\nCalled on Monday.\n")
        let r = sb.runCairn(["snapshot"], cwd: sub)
        #expect(r.status == 0, "\(r)")
        #expect(try sb.gitOK(["show", "HEAD:memory/projects/client/notes.md"], cwd: v) == "# Client\n\nCalled on Monday.")
        #expect(try sb.gitOK(["log", "-1", "--format=%s"], cwd: v) == "Add memory/projects/client/notes.md")
        try expectCommittedTreeMatchesWorkingTree(sb, v)
    }

    @Test func ignoredFilesAreNotCommitted() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let gitignore = (sb.readText(v + "/.gitignore") ?? "") + "*.log\nprivate/\n"
        try sb.write(v + "/.gitignore", gitignore)
        try sb.write(v + "/debug.log", "noise\n")
        try sb.write(v + "/private/diary.md", "# Private\n")
        try sb.write(v + "/.cairn/cache/search.db", "derived\n")
        try sb.write(v + "/memory/working/kept.md", "# Kept\n")
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let committed = try sb.committedFiles(v)
        #expect(committed[".gitignore"]?.data == Data(gitignore.utf8))
        #expect(committed["memory/working/kept.md"] != nil)
        #expect(committed["debug.log"] == nil)
        #expect(committed["private/diary.md"] == nil)
        #expect(committed[".cairn/cache/search.db"] == nil)
        #expect(sb.exists(v + "/debug.log") && sb.exists(v + "/private/diary.md"), "ignored files must stay on disk")
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v) == "")
    }

    @Test func executableBitIsCommittedAsMode100755() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/scripts/report.sh", "#!/bin/sh\necho report\n")
        try chmod(v + "/scripts/report.sh", 0o755)
        try chmod(v + "/runs/README.md", 0o755)
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try sb.gitOK(["ls-tree", "HEAD", "scripts/report.sh"], cwd: v).hasPrefix("100755 "))
        #expect(try sb.gitOK(["ls-tree", "HEAD", "runs/README.md"], cwd: v).hasPrefix("100755 "), "mode change of a tracked file lost")
        #expect(try sb.gitOK(["ls-tree", "HEAD", "policy.json"], cwd: v).hasPrefix("100644 "))
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v) == "")
    }

    @Test func concurrentSnapshotsCommitEveryEditExactlyOnce() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let base = try sb.gitOK(["rev-parse", "HEAD"], cwd: v)
        for i in 0..<200 { try sb.write(v + "/inbox/item-\(i).md", "# Item \(i)\n") }
        let running = (0..<4).map { _ in sb.startCairn(["snapshot"], cwd: v) }
        let results = running.map { $0.finish() }
        for r in results { #expect(r.status == 0 && !r.signaled, "\(r)") }
        #expect(results.filter { $0.stdout.hasPrefix("Committed 200 changes") }.count == 1, "\(results)")
        #expect(results.filter { $0.stdout.hasPrefix("Nothing to commit") }.count == 3, "\(results)")
        #expect(try sb.gitOK(["rev-list", "--count", "\(base)..HEAD"], cwd: v) == "1")
        try expectCommittedTreeMatchesWorkingTree(sb, v)
        sb.expectFsckClean(v)
    }

    @Test func trackedFileReplacedByAFolderAndAFolderByAFile() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try FileManager.default.removeItem(atPath: v + "/inbox/README.md")
        try sb.write(v + "/inbox/README.md/inner.md", "# Now a folder\n")
        try FileManager.default.removeItem(atPath: v + "/approvals")
        try sb.write(v + "/approvals", "now a file\n")
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        try expectCommittedTreeMatchesWorkingTree(sb, v)
        sb.expectFsckClean(v)
    }

    @Test func unusualButValidFileNamesAreCommitted() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let names = ["quo\"te.md", "back\\slash.md", "-dash.md", "#hash.md", "tab\tname.md", "new\nline.md",
                     "x\u{301}-decomposed.md", String(repeating: "n", count: 250) + ".md"]
        for name in names { try sb.write(v + "/inbox/" + name, "# \(name.count)\n") }
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        try expectCommittedTreeMatchesWorkingTree(sb, v)
    }

    @Test func stagedThenEditedFileIsCommittedAsInTheWorkingTree() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/core/business.md", "staged version\n")
        try sb.gitOK(["add", "memory/core/business.md"], cwd: v)
        try sb.write(v + "/memory/core/business.md", "working tree version\n")
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try sb.gitOK(["show", "HEAD:memory/core/business.md"], cwd: v) == "working tree version")
        try expectCommittedTreeMatchesWorkingTree(sb, v)
    }
}
