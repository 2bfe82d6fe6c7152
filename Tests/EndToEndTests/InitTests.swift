import Foundation
import Testing

/// `cairn init`: a new vault, adopting a folder of notes or a git repository, and every refusal.
@Suite struct InitTests {
    // MARK: A new vault

    @Test func createsAVaultWithOneOperatorCommitOnMain() throws {
        let sb = try Sandbox()
        let r = sb.runCairn(["init", "vault"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("Created a Cairn vault in \(sb.work)/vault"), "\(r)")
        let v = sb.work + "/vault"
        sb.expectFsckClean(v)
        #expect(try sb.gitLines(["log", "--format=%an <%ae>|%s"], cwd: v) == ["Ada Operator <ada@example.com>|Create Cairn vault"])
        #expect(try sb.gitOK(["log", "-1", "--format=%(trailers:key=Cairn-Operation,valueonly)"], cwd: v) == "init")
        #expect(try sb.gitOK(["log", "-1", "--format=%aI"], cwd: v) == "2026-03-01T09:00:00+00:00")
        #expect(try sb.gitOK(["symbolic-ref", "HEAD"], cwd: v) == "refs/heads/main")
        #expect(try sb.gitLines(["for-each-ref", "--format=%(refname)"], cwd: v) == ["refs/heads/main"])
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v) == "")
    }

    @Test func copiesEveryTemplateFileByteForByte() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let template = exampleTemplateFiles()
        try #require(template.count >= 10, "vault-template/ not found at \(Binaries.packageRoot)")
        let working = workingFiles(v)
        expectSameFiles(working, template, "new vault", "vault-template/")
        expectSameFiles(try sb.committedFiles(v), template, "first commit", "vault-template/")
    }

    @Test func freshCloneReproducesTheNewVault() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.expectCloneReproduces(v)
    }

    // MARK: Adopting a folder of notes

    @Test func adoptingAFolderKeepsEveryFileAndCommitsIt() throws {
        let sb = try Sandbox()
        let notes = sb.work + "/notes"
        let mine: [String: String] = [
            "README.md": "# My own readme\n\nNot the template's.\n",
            "ideas.md": "---\ntitle: Ideas\n---\n\n- sell more coffee\n",
            "meeting notes/2026-02-27 kickoff.md": "# Kickoff\n\nAttendees: me\n",
            "café/idée.md": "Une idée.\n",
            "日本/メモ.md": "メモです。\n",
            "plain.txt": "no trailing newline",
        ]
        for (path, text) in mine { try sb.write(notes + "/" + path, text) }
        let mtimes = Dictionary(uniqueKeysWithValues: mine.keys.map { ($0, modificationTime(notes + "/" + $0)) })

        let r = sb.runCairn(["init", "notes"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("Adopted \(notes)"), "\(r)")
        #expect(r.stdout.contains("Kept your existing README.md"), "\(r)")

        let committed = try sb.committedFiles(notes)
        for (path, text) in mine {
            #expect(sb.read(notes + "/" + path) == Data(text.utf8), "\(path) changed on disk")
            #expect(modificationTime(notes + "/" + path) == mtimes[path], "\(path) was rewritten")
            #expect(committed[path]?.data == Data(text.utf8), "\(path) not committed as it was")
        }
        // Scaffolding: every template file except the README the operator already had.
        for (path, file) in templateFiles() where path != "README.md" {
            #expect(committed[path]?.data == file.data, "scaffolding \(path) missing from the commit")
        }
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: notes) == "")
        #expect(try sb.gitLines(["log", "--format=%an <%ae>|%s"], cwd: notes) == ["Ada Operator <ada@example.com>|Adopt this folder as a Cairn vault"])
        #expect(try sb.gitOK(["symbolic-ref", "HEAD"], cwd: notes) == "refs/heads/main")
        sb.expectFsckClean(notes)
        try sb.expectCloneReproduces(notes)
    }

    // MARK: Adopting a git repository

    /// A repository with three commits, an uncommitted edit and an untracked file.
    private func repoWithHistory(_ sb: Sandbox, branch: String = "main") throws -> (path: String, commits: [String]) {
        let repo = try sb.makeGitRepo("repo", branch: branch)
        try sb.write(repo + "/README.md", "# Team notes\n\nOur own README.\n")
        let c1 = try sb.commitAll(repo, "First notes")
        try sb.write(repo + "/notes/plan.md", "# Plan\n\nv1\n")
        let c2 = try sb.commitAll(repo, "Add the plan")
        try sb.write(repo + "/notes/plan.md", "# Plan\n\nv2\n")
        try sb.write(repo + "/todo.txt", "call the bank\n")
        let c3 = try sb.commitAll(repo, "Revise the plan")
        try sb.write(repo + "/notes/plan.md", "# Plan\n\nv2\nan edit I have not committed\n")
        try sb.write(repo + "/scratch.txt", "untracked scratch\n")
        return (repo, [c1, c2, c3])
    }

    @Test func adoptingARepositoryKeepsHistoryAndAddsOneScaffoldingCommit() throws {
        let sb = try Sandbox()
        let (repo, commits) = try repoWithHistory(sb)
        let r = sb.runCairn(["init", "repo"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("Adopted the git repository \(repo)"), "\(r)")

        for c in commits {
            #expect(sb.git(["merge-base", "--is-ancestor", c, "HEAD"], cwd: repo).status == 0, "old commit \(c) lost")
        }
        #expect(try sb.gitOK(["rev-parse", "HEAD^"], cwd: repo) == commits[2])
        #expect(try sb.gitOK(["rev-list", "--count", "HEAD"], cwd: repo) == "4")
        #expect(try sb.gitOK(["log", "-1", "--format=%an <%ae>|%s"], cwd: repo) == "Ada Operator <ada@example.com>|Add Cairn scaffolding")
        #expect(try sb.gitOK(["log", "-1", "--format=%(trailers:key=Cairn-Operation,valueonly)"], cwd: repo) == "init")

        // The new commit only adds scaffolding: every template path the repository did not have, nothing else.
        let diff = try sb.gitLines(["diff", "--no-renames", "--name-status", "HEAD^", "HEAD"], cwd: repo)
        let expected = Set(templateFiles().keys).subtracting(["README.md"])
        #expect(Set(diff) == Set(expected.map { "A\t\($0)" }), "scaffolding commit: \(diff)")
        sb.expectFsckClean(repo)
    }

    @Test func adoptingARepositoryLeavesUncommittedWorkUntouched() throws {
        let sb = try Sandbox()
        let (repo, _) = try repoWithHistory(sb)
        let planBefore = sb.read(repo + "/notes/plan.md"), scratchBefore = sb.read(repo + "/scratch.txt")
        let readmeBefore = sb.read(repo + "/README.md")
        let mtimes = ["notes/plan.md", "scratch.txt", "README.md"].map { modificationTime(repo + "/" + $0) }

        let r = sb.runCairn(["init", "repo"])
        #expect(r.status == 0, "\(r)")
        #expect(try sb.gitLines(["status", "--porcelain=v1", "-uall"], cwd: repo) == [" M notes/plan.md", "?? scratch.txt"])
        #expect(sb.read(repo + "/notes/plan.md") == planBefore)
        #expect(sb.read(repo + "/scratch.txt") == scratchBefore)
        #expect(sb.read(repo + "/README.md") == readmeBefore, "README.md overwritten")
        #expect(["notes/plan.md", "scratch.txt", "README.md"].map { modificationTime(repo + "/" + $0) } == mtimes)
        #expect(try sb.gitOK(["show", "HEAD:notes/plan.md"], cwd: repo) == "# Plan\n\nv2", "uncommitted edit was committed")
        #expect(try sb.gitOK(["show", "HEAD:README.md"], cwd: repo) == "# Team notes\n\nOur own README.")
    }

    @Test func adoptingARepositoryKeepsStagedChangesStagedAndOutOfTheCommit() throws {
        let sb = try Sandbox()
        let (repo, _) = try repoWithHistory(sb)
        try sb.write(repo + "/staged.md", "staged but not committed\n")
        try sb.gitOK(["add", "staged.md"], cwd: repo)
        let r = sb.runCairn(["init", "repo"])
        #expect(r.status == 0, "\(r)")
        #expect(sb.git(["cat-file", "-e", "HEAD:staged.md"], cwd: repo).status != 0, "staged file was committed")
        #expect(Set(try sb.gitLines(["status", "--porcelain=v1", "-uall"], cwd: repo)) == ["A  staged.md", " M notes/plan.md", "?? scratch.txt"])
    }

    @Test func adoptingARepositoryOnMasterRecordsTheBranchAndSnapshotsThere() throws {
        let sb = try Sandbox()
        let repo = try sb.makeGitRepo("repo", branch: "master")
        try sb.write(repo + "/notes.md", "# Notes\n")
        try sb.commitAll(repo, "Start")
        let r = sb.runCairn(["init", "repo"])
        #expect(r.status == 0, "\(r)")
        let config = try jsonObject(sb.read(repo + "/.cairn/config.json"))
        #expect(config["branch"] as? String == "master")
        #expect(try sb.gitOK(["symbolic-ref", "HEAD"], cwd: repo) == "refs/heads/master")

        try sb.write(repo + "/notes.md", "# Notes\n\nmore\n")
        let before = try sb.gitOK(["rev-parse", "master"], cwd: repo)
        let s = sb.runCairn(["snapshot"], cwd: repo)
        #expect(s.status == 0, "\(s)")
        #expect(try sb.gitOK(["rev-parse", "master^"], cwd: repo) == before)
        #expect(try sb.gitOK(["log", "-1", "--format=%s", "master"], cwd: repo) == "Edit notes.md")
        #expect(try sb.gitLines(["for-each-ref", "--format=%(refname)", "refs/heads"], cwd: repo) == ["refs/heads/master"])
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: repo) == "")
    }

    // MARK: Refusals: a clear message, exit 1, nothing written

    @Test func refusesABareRepository() throws {
        let sb = try Sandbox()
        let bare = sb.work + "/shared.git"
        try sb.gitOK(["init", "-q", "--bare", bare], cwd: sb.work)
        let before = sb.state(of: bare)
        let r = sb.runCairn(["init", "shared.git"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("bare repository"), "\(r)")
        #expect(r.stderr.contains("git clone"), "should say how to get a working tree: \(r)")
        sb.expectUnchanged(bare, since: before)
    }

    @Test func refusesAFolderInsideAnotherRepository() throws {
        let sb = try Sandbox()
        let outer = try sb.makeGitRepo("outer")
        try sb.write(outer + "/sub/note.md", "# Inside\n")
        try sb.commitAll(outer, "Outer")
        let before = sb.state(of: outer)
        let r = sb.runCairn(["init", "outer/sub"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("inside the git repository at \(outer)"), "\(r)")
        sb.expectUnchanged(outer, since: before)
    }

    @Test func refusesARepositoryInTheMiddleOfAMerge() throws {
        let sb = try Sandbox()
        let repo = try sb.makeGitRepo("repo")
        try sb.write(repo + "/plan.md", "base\n")
        try sb.commitAll(repo, "Base")
        try sb.gitOK(["switch", "-q", "-c", "other"], cwd: repo)
        try sb.write(repo + "/plan.md", "theirs\n")
        try sb.commitAll(repo, "Theirs")
        try sb.gitOK(["switch", "-q", "main"], cwd: repo)
        try sb.write(repo + "/plan.md", "ours\n")
        try sb.commitAll(repo, "Ours")
        let merge = sb.git(["merge", "other"], cwd: repo)
        try #require(merge.status != 0 && sb.exists(repo + "/.git/MERGE_HEAD"), "expected a conflict: \(merge)")

        let before = sb.state(of: repo)
        let r = sb.runCairn(["init", "repo"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("merge"), "\(r)")
        #expect(r.stderr.contains("in progress"), "\(r)")
        sb.expectUnchanged(repo, since: before)
    }

    @Test func refusesAPathThatIsAFile() throws {
        let sb = try Sandbox()
        try sb.write(sb.work + "/notes.txt", "just a file\n")
        let before = sb.state(of: sb.work)
        let r = sb.runCairn(["init", "notes.txt"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("\(sb.work)/notes.txt"), "\(r)")
        #expect(r.stderr.contains("it is a file"), "\(r)")
        sb.expectUnchanged(sb.work, since: before)
    }

    @Test func initTwiceSaysAlreadyAndWritesNothing() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/working/draft.md", "an edit not yet committed\n")
        let before = sb.state(of: v)
        let r = sb.runCairn(["init", "vault"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("already a Cairn vault"), "\(r)")
        sb.expectUnchanged(v, since: before)
    }

    // MARK: Identity

    @Test func nameAndEmailAreStoredInConfigAndUsedAsAuthor() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault("vault", ["--name", "Grace Hopper", "--email", "grace@example.com"])
        let config = try jsonObject(sb.read(v + "/.cairn/config.json"))
        let op = try #require(config["operator"] as? [String: Any])
        #expect(op["name"] as? String == "Grace Hopper")
        #expect(op["email"] as? String == "grace@example.com")
        #expect(try sb.gitOK(["log", "--format=%an <%ae>|%cn <%ce>"], cwd: v) == "Grace Hopper <grace@example.com>|Grace Hopper <grace@example.com>")
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v) == "")

        // Later snapshots use the vault's operator, not the global git identity (Ada).
        try sb.write(v + "/memory/working/today.md", "# Today\n")
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        #expect(try sb.gitOK(["log", "-1", "--format=%an <%ae>"], cwd: v) == "Grace Hopper <grace@example.com>")
    }

    @Test func withoutAnIdentityRefusesAndCreatesNoFolder() throws {
        let sb = try Sandbox(identity: false)
        let before = sb.state(of: sb.work)
        let r = sb.runCairn(["init", "vault"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("no operator identity"), "\(r)")
        #expect(r.stderr.contains("--name"), "should say how to fix it: \(r)")
        #expect(!sb.exists(sb.work + "/vault"))
        sb.expectUnchanged(sb.work, since: before)
    }

    @Test func withoutAnIdentityLeavesAFolderOfNotesAsItWas() throws {
        let sb = try Sandbox(identity: false)
        try sb.write(sb.work + "/notes/a.md", "# A\n")
        let before = sb.state(of: sb.work + "/notes")
        let r = sb.runCairn(["init", "notes"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("no operator identity"), "\(r)")
        sb.expectUnchanged(sb.work + "/notes", since: before)
    }
}
