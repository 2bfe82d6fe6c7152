import Foundation
import Testing
@testable import CairnGit

@Suite struct IndexTests {
    func populate(_ t: TestRepo) throws {
        try t.write("a.md", "a\n")
        try t.write("notes/b.md", "b\n")
        try t.write("notes/deep/c.md", "c\n")
        try t.write("é space/d.md", "d\n")
        try t.write(".gitignore", "*.tmp\n")
        try t.write("ignored.tmp", "no\n")
    }

    @Test func addAllThenWriteTreeEqualsGitWriteTree() throws {
        let t = try TestRepo()
        try populate(t)
        let index = try t.repo.index()
        try index.addAll()
        let ours = try index.writeTree()
        #expect(index.count == 5)
        #expect(index.entry(path: "ignored.tmp") == nil)
        try t.git("add", "-A")
        #expect(try t.git("write-tree") == ours.hex)
    }

    @Test func addAllStagesModificationsAndDeletions() throws {
        let t = try TestRepo()
        try populate(t)
        try t.commitAllWithCLI("base")
        try t.delete("notes/b.md")
        try t.write("a.md", "a changed\n")
        try t.write("new.md", "new\n")
        let index = try t.repo.index()
        try index.addAll()
        let ours = try index.writeTree()
        #expect(index.entry(path: "notes/b.md") == nil)
        #expect(index.entry(path: "a.md") == (try Repository.hashBlob(Data("a changed\n".utf8))))
        try t.git("add", "-A")
        #expect(try t.git("write-tree") == ours.hex)
    }

    @Test func addAllWithPathspecsStagesOnlyThosePaths() throws {
        let t = try TestRepo()
        try populate(t)
        let index = try t.repo.index()
        try index.addAll(["notes"])
        #expect(index.count == 2)
        #expect(index.entry(path: "notes/deep/c.md") != nil)
        #expect(index.entry(path: "a.md") == nil)
    }

    @Test func writeThenGitStatusIsClean() throws {
        let t = try TestRepo()
        try populate(t)
        let index = try t.repo.index()
        try index.addAll()
        try index.write()
        #expect(try t.git("diff", "--name-only").isEmpty) // nothing unstaged
        #expect(try t.git("ls-files").lines.count == 5)
        let tree = try index.writeTree()
        let commit = try t.repo.createCommit(tree: tree, parents: [], author: TestRepo.signature, committer: TestRepo.signature, message: "all\n")
        try t.repo.updateReference("refs/heads/main", to: commit, expected: nil, message: "commit")
        #expect(try t.git("status", "--porcelain").isEmpty)
        #expect(try t.repo.status().isEmpty)
        t.expectFsckClean()
    }

    @Test func writtenIndexIsReadableByGitAndFresh() throws {
        let t = try TestRepo()
        try t.write("a.md", "a\n")
        let index = try t.repo.index()
        try index.add(path: "a.md")
        try index.write()
        #expect(try t.git("ls-files", "-s") == "100644 \(try Repository.hashBlob(Data("a\n".utf8)).hex) 0\ta.md")
        // After git changes the index on disk, read() picks it up.
        try t.write("b.md", "b\n")
        try t.git("add", "b.md")
        #expect(index.entry(path: "b.md") == nil)
        try index.read()
        #expect(index.entry(path: "b.md") != nil)
        #expect(index.count == 2)
    }

    @Test func addAndRemoveByPath() throws {
        let t = try TestRepo()
        try t.write("a.md", "a\n")
        try t.write("b.md", "b\n")
        let index = try t.repo.index()
        try index.add(path: "a.md")
        try index.add(path: "b.md")
        #expect(index.entry(path: "a.md")?.hex == (try t.git("hash-object", "a.md")))
        try index.remove(path: "a.md")
        try index.remove(path: "never-there.md")
        #expect(index.entry(path: "a.md") == nil)
        #expect(index.count == 1)
        #expect(throws: GitError.self) { try index.add(path: "missing.md") }
    }

    @Test func readTreeReplacesTheIndexWithATree() throws {
        let t = try TestRepo()
        try populate(t)
        let c1 = try t.commitAllWithCLI("base")
        try t.write("a.md", "a2\n")
        try t.write("extra.md", "x\n")
        try t.commitAllWithCLI("second")
        let tree1 = try t.repo.commit(c1).tree
        let index = try t.repo.index()
        try index.readTree(tree1)
        #expect(try index.writeTree() == tree1)
        try index.write()
        #expect(try t.git("diff", "--cached", "--name-status", c1.hex).isEmpty)
        #expect(try t.git("ls-files", "-s").lines.count == (try t.git("ls-tree", "-r", tree1.hex).lines.count))
        // The working tree still holds the second commit: changed and untracked against the index.
        #expect(try t.git("diff", "--name-only") == "a.md")
        #expect(try t.git("status", "--porcelain").lines.sorted() == ["D  extra.md", "MM a.md", "?? extra.md"].sorted())
    }

    @Test func inMemoryIndexHoldsATreeWithoutTouchingDisk() throws {
        let t = try TestRepo()
        let commit = try t.commit(["x/a.md": "a\n", "b.md": "b\n"])
        let tree = try t.repo.commit(commit).tree
        let index = try t.repo.inMemoryIndex(tree: tree)
        #expect(index.count == 2)
        #expect(index.entry(path: "x/a.md") == (try t.revParse("HEAD:x/a.md")))
        #expect(try index.writeTree(to: t.repo) == tree)
        #expect(!FileManager.default.fileExists(atPath: t.path + "/.git/index"))
        #expect(throws: GitError.self) { try index.write() } // no file behind it
    }

    @Test func emptyInMemoryIndexWritesTheEmptyTree() throws {
        let t = try TestRepo()
        let index = try t.repo.inMemoryIndex(tree: nil)
        #expect(index.count == 0)
        #expect(!index.hasConflicts)
        #expect(try index.conflictedPaths().isEmpty)
        let tree = try index.writeTree(to: t.repo)
        #expect(tree == OID.emptyTree)
        #expect(tree.hex == (try t.git("hash-object", "-t", "tree", "/dev/null")))
    }

    @Test func conflictsAfterAFailedMerge() throws {
        let t = try TestRepo()
        try t.write("a.md", "base\n")
        try t.write("b.md", "base\n")
        try t.commitAllWithCLI("base")
        try t.git("checkout", "-q", "-b", "side")
        try t.write("a.md", "side\n")
        try t.write("b.md", "side\n")
        try t.commitAllWithCLI("side")
        try t.git("checkout", "-q", "main")
        try t.write("a.md", "main\n")
        try t.write("b.md", "main\n")
        try t.commitAllWithCLI("main")
        #expect(t.run(["merge", "-q", "side"]).status != 0)
        let index = try t.repo.index()
        #expect(index.hasConflicts)
        #expect(try index.conflictedPaths() == ["a.md", "b.md"])
        #expect(try t.git("diff", "--name-only", "--diff-filter=U").lines == ["a.md", "b.md"])
        #expect(throws: GitError.self) { _ = try index.writeTree() }
    }
}
