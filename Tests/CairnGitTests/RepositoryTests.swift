import Foundation
import Testing
@testable import CairnGit

@Suite struct RepositoryTests {
    @Test func createMakesAWorkingTreeRepositoryGitAccepts() throws {
        let t = try TestRepo()
        #expect(t.repo.workdir == t.path + "/")
        #expect(t.repo.gitDir == t.path + "/.git/")
        #expect(!t.repo.isBare)
        #expect(try t.git("rev-parse", "--is-inside-work-tree") == "true")
        #expect(try t.git("rev-parse", "--is-bare-repository") == "false")
        #expect(try t.git("symbolic-ref", "HEAD") == "refs/heads/main")
        t.expectFsckClean()
    }

    @Test func createHonoursTheInitialBranch() throws {
        let t = try TestRepo(initialBranch: "trunk")
        #expect(try t.repo.headReferenceName() == "refs/heads/trunk")
        #expect(try t.git("symbolic-ref", "HEAD") == "refs/heads/trunk")
    }

    @Test func createRefusesToReinitialiseAnExistingRepository() throws {
        let t = try TestRepo()
        #expect(throws: GitError.self) { _ = try Repository.create(at: t.path) }
    }

    @Test func createMakesMissingParentFolders() throws {
        let t = try TestRepo()
        let nested = t.root + "/a/b/c"
        let r = try Repository.create(at: nested)
        #expect(r.workdir == nested + "/")
        #expect(FileManager.default.fileExists(atPath: nested + "/.git/HEAD"))
    }

    @Test func bareRepositoryHasNoWorkingTree() throws {
        let t = try TestRepo(bare: true)
        #expect(t.repo.isBare)
        #expect(t.repo.workdir == nil)
        #expect(t.repo.gitDir == t.path + "/")
        #expect(try t.git("rev-parse", "--is-bare-repository") == "true")
        #expect(!FileManager.default.fileExists(atPath: t.path + "/.git"))
        // Writing objects and moving refs works without a working tree.
        let commit = try t.commit(["a.md": "a\n"])
        #expect(try t.revParse("refs/heads/main") == commit)
        t.expectFsckClean()
    }

    @Test func openFindsARepositoryMadeByGit() throws {
        let t = try TestRepo(cli: ())
        let opened = try Repository(at: t.path)
        #expect(opened.workdir == t.path + "/")
        #expect(opened.isHeadUnborn)
        #expect(try opened.headReferenceName() == "refs/heads/main")
    }

    @Test func openAcceptsTheGitDirectory() throws {
        let t = try TestRepo()
        let opened = try Repository(at: t.path + "/.git")
        #expect(opened.workdir == t.path + "/")
    }

    @Test func openDoesNotSearchUpward() throws {
        let t = try TestRepo()
        try t.write("notes/deep/file.md", "x\n")
        #expect(throws: GitError.self) { _ = try Repository(at: t.path + "/notes/deep") }
    }

    @Test func discoverFindsTheGitDirectoryFromASubfolder() throws {
        let t = try TestRepo()
        try t.write("notes/deep/file.md", "x\n")
        #expect(Repository.discover(from: t.path + "/notes/deep") == t.path + "/.git/")
        #expect(Repository.discover(from: t.path) == t.path + "/.git/")
        let viaGit = try t.git("-C", "notes/deep", "rev-parse", "--absolute-git-dir")
        #expect(Repository.discover(from: t.path + "/notes/deep") == viaGit + "/")
    }

    @Test func discoverReturnsNilOutsideAnyRepository() throws {
        let t = try TestRepo()
        let outside = t.root + "/elsewhere"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        // /tmp itself is not inside a repository on a sane machine; check with git first.
        let gitSays = TestRepo.runGit(["rev-parse", "--git-dir"], cwd: outside, home: t.home, input: nil)
        try #require(gitSays.status != 0, "the temporary folder is inside a repository: \(gitSays.stdout)")
        #expect(Repository.discover(from: outside) == nil)
    }

    @Test func unbornHeadHasANameButNoTarget() throws {
        let t = try TestRepo()
        #expect(t.repo.isHeadUnborn)
        #expect(try t.repo.headReferenceName() == "refs/heads/main")
        #expect(try t.repo.referenceTarget("HEAD") == nil)
        #expect(try t.repo.referenceTarget("refs/heads/main") == nil)
        let commit = try t.commit(["a.md": "a\n"])
        #expect(!t.repo.isHeadUnborn)
        #expect(try t.repo.referenceTarget("HEAD") == commit)
        #expect(try t.revParse("HEAD") == commit)
    }

    @Test func headReferenceNameIsNilWhenDetached() throws {
        let t = try TestRepo()
        let commit = try t.commit(["a.md": "a\n"])
        try t.git("checkout", "-q", "--detach", commit.hex)
        #expect(try t.repo.headReferenceName() == nil)
        #expect(try t.repo.referenceTarget("HEAD") == commit)
    }

    @Test func setHeadPointsHeadAtABranchThatNeedNotExist() throws {
        let t = try TestRepo()
        try t.repo.setHead("refs/heads/proposals/x")
        #expect(try t.repo.headReferenceName() == "refs/heads/proposals/x")
        #expect(try t.git("symbolic-ref", "HEAD") == "refs/heads/proposals/x")
        #expect(t.repo.isHeadUnborn)
    }

    @Test func setHeadToAnExistingBranch() throws {
        let t = try TestRepo()
        let first = try t.commit(["a.md": "a\n"])
        try t.repo.updateReference("refs/heads/other", to: first, expected: nil, message: "branch")
        _ = try t.commit(["b.md": "b\n"])
        try t.repo.setHead("refs/heads/other")
        #expect(try t.git("symbolic-ref", "HEAD") == "refs/heads/other")
        #expect(try t.repo.resolveCommit("HEAD") == first)
    }

    @Test func stateInProgressIsNilForACleanRepository() throws {
        let t = try TestRepo()
        _ = try t.commit(["a.md": "a\n"])
        #expect(t.repo.stateInProgress == nil)
    }

    @Test(arguments: [
        ("MERGE_HEAD", "merge"),
        ("REVERT_HEAD", "revert"),
        ("CHERRY_PICK_HEAD", "cherry-pick"),
        ("BISECT_LOG", "bisect"),
        ("rebase-merge/", "rebase"),
        ("rebase-apply/applying", "am"),
    ])
    func stateInProgressNamesTheOperation(file: String, expected: String) throws {
        let t = try TestRepo()
        let commit = try t.commit(["a.md": "a\n"])
        let marker = t.path + "/.git/" + file
        if file.hasSuffix("/") {
            try FileManager.default.createDirectory(atPath: marker, withIntermediateDirectories: true)
        } else {
            try FileManager.default.createDirectory(atPath: (marker as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try (commit.hex + "\n").write(toFile: marker, atomically: true, encoding: .utf8)
        }
        #expect(t.repo.stateInProgress == expected)
    }

    @Test func stateInProgressSeesARealConflictedMerge() throws {
        let t = try TestRepo(cli: ())
        try t.write("a.md", "base\n")
        try t.commitAllWithCLI("base")
        try t.git("checkout", "-q", "-b", "side")
        try t.write("a.md", "side\n")
        try t.commitAllWithCLI("side")
        try t.git("checkout", "-q", "main")
        try t.write("a.md", "main\n")
        try t.commitAllWithCLI("main")
        #expect(t.run(["merge", "-q", "side"]).status != 0)
        #expect(t.repo.stateInProgress == "merge")
        try t.git("merge", "--abort")
        #expect(t.repo.stateInProgress == nil)
    }

    @Test func resolveCommitMatchesRevParse() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        let c2 = try t.commit(["a.md": "2\n"])
        let c3 = try t.commit(["a.md": "3\n"])
        #expect(try t.repo.resolveCommit("HEAD") == c3)
        #expect(try t.repo.resolveCommit("main") == c3)
        #expect(try t.repo.resolveCommit("HEAD~1") == c2)
        #expect(try t.repo.resolveCommit("main^^") == c1)
        #expect(try t.repo.resolveCommit(c2.short(8)) == c2)
        for spec in ["HEAD", "HEAD~1", "HEAD~2"] {
            #expect(try t.repo.resolveCommit(spec) == t.revParse(spec))
        }
    }

    @Test func resolveCommitPeelsAnnotatedTags() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        try t.git("tag", "-a", "-m", "release", "v1", c1.hex)
        #expect(try t.repo.resolveCommit("v1") == c1)
        #expect(try t.revParse("v1") != c1) // the tag object itself
    }

    @Test func resolveCommitRejectsNonCommitsAndUnknownNames() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        let tree = try t.repo.commit(c1).tree
        #expect(throws: GitError.self) { _ = try t.repo.resolveCommit(tree.hex) }
        #expect(throws: GitError.self) { _ = try t.repo.resolveCommit("no-such-branch") }
        #expect(throws: GitError.self) { _ = try t.repo.resolveCommit("HEAD~5") }
    }

    @Test func containsKnowsWhichObjectsAreStored() throws {
        let t = try TestRepo()
        let blob = try t.repo.writeBlob(Data("stored\n".utf8))
        let notStored = try Repository.hashBlob(Data("never stored\n".utf8))
        #expect(try t.repo.contains(blob))
        #expect(try !t.repo.contains(notStored))
        #expect(t.run(["cat-file", "-e", notStored.hex]).status != 0)
    }

    @Test func verifyReachableObjectsHonoursTheLimit() throws {
        let t = try TestRepo()
        _ = try t.commit(["a.md": "1\n"])
        _ = try t.commit(["a.md": "2\n"])
        let tip = try t.commit(["a.md": "3\n"])
        #expect(try t.repo.verifyReachableObjects(from: [tip], limit: 2).checked == 2)
        #expect(try t.repo.verifyReachableObjects(from: [tip], limit: 0).checked == 0)
        #expect(try t.repo.verifyReachableObjects(from: [tip]).checked == 3)
    }

    @Test func verifyReachableObjectsPassesOnAHealthyHistory() throws {
        let t = try TestRepo()
        _ = try t.commit(["a.md": "1\n", "n/b.md": "b\n"])
        let tip = try t.commit(["a.md": "2\n"])
        let result = try t.repo.verifyReachableObjects(from: [tip])
        #expect(result.checked == 2)
        #expect(result.broken.isEmpty)
    }

    /// Each folder version is compared with the one checked before it: a blob missing only from an older version of a
    /// folder, or only from an older version of a subfolder, is still found, and one missing from every version is
    /// reported once.
    @Test func verifyReachableObjectsFindsMissingBlobsOfOlderFolderVersions() throws {
        let t = try TestRepo()
        _ = try t.commit(["n/a.md": "old a\n", "n/b.md": "shared b\n", "n/sub/c.md": "old c\n", "top.md": "t\n"])
        _ = try t.commit(["n/a.md": "new a\n"])
        let tip = try t.commit(["n/sub/c.md": "new c\n", "n/d.md": "d\n"])
        for content in ["old a\n", "old c\n", "shared b\n"] {
            let hex = try Repository.hashBlob(Data(content.utf8)).hex
            try FileManager.default.removeItem(atPath: "\(t.path)/.git/objects/\(hex.prefix(2))/\(hex.dropFirst(2))")
        }
        let result = try t.repo.verifyReachableObjects(from: [tip])
        #expect(result.checked == 3)
        #expect(result.broken.count == 3, "\(result.broken)")
        #expect(result.broken.filter { $0.contains("(a.md)") }.count == 1)
        #expect(result.broken.filter { $0.contains("(b.md)") }.count == 1)
        #expect(result.broken.filter { $0.contains("(c.md)") }.count == 1)
        #expect(t.run(["fsck", "--strict"]).status != 0)
    }

    @Test(arguments: [TreeChange.fileMode, TreeChange.executableMode, TreeChange.symlinkMode])
    func verifyReachableObjectsReportsAMissingBlob(mode: UInt32) throws {
        let t = try TestRepo()
        let blob = try t.repo.writeBlob(Data("doomed\n".utf8))
        let tree = try t.repo.updateTree(base: nil, changes: [.upsert(path: "n/doomed.md", oid: blob, mode: mode)])
        let commit = try t.repo.createCommit(tree: tree, parents: [], author: TestRepo.signature, committer: TestRepo.signature, message: "m\n")
        try t.repo.updateReference("refs/heads/main", to: commit, expected: nil, message: "m")
        let hex = blob.hex
        try FileManager.default.removeItem(atPath: "\(t.path)/.git/objects/\(hex.prefix(2))/\(hex.dropFirst(2))")
        #expect(t.run(["fsck", "--strict"]).status != 0) // git agrees it is broken
        let result = try t.repo.verifyReachableObjects(from: [commit])
        #expect(result.checked == 1)
        #expect(result.broken.count == 1)
        #expect(result.broken.first?.contains(hex) == true)
        #expect(result.broken.first?.contains("doomed.md") == true)
    }
}
