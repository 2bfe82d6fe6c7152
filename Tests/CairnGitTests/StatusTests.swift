import Foundation
import Testing
@testable import CairnGit

@Suite struct StatusTests {
    /// A repository with two committed files.
    func committed() throws -> TestRepo {
        let t = try TestRepo()
        try t.write("a.md", "alpha\nline two\nline three\n")
        try t.write("notes/b.md", "bravo\nsecond line\nthird line\nfourth line\n")
        try t.commitAllWithCLI("base")
        return t
    }

    func byPath(_ entries: [StatusEntry]) -> [String: StatusEntry] {
        Dictionary(uniqueKeysWithValues: entries.map { ($0.path, $0) })
    }

    @Test func cleanRepositoryHasNoChanges() throws {
        let t = try committed()
        #expect(try t.repo.status().isEmpty)
        #expect(try t.git("status", "--porcelain").isEmpty)
    }

    @Test func modifiedFileIsUnstagedThenStaged() throws {
        let t = try committed()
        try t.write("a.md", "alpha changed\nline two\nline three\n")
        let before = try t.repo.status()
        #expect(before.map(\.description) == ["modified: a.md"])
        #expect(before.first?.unstaged == true)
        #expect(before.first?.staged == false)
        #expect(try t.git("status", "--porcelain") == " M a.md")
        try t.git("add", "a.md")
        let after = try t.repo.status()
        #expect(after.first?.kind == .modified)
        #expect(after.first?.staged == true)
        #expect(after.first?.unstaged == false)
        try t.write("a.md", "alpha changed again\nline two\nline three\n")
        let both = try t.repo.status()
        #expect(both.first?.staged == true)
        #expect(both.first?.unstaged == true)
        #expect(try t.git("status", "--porcelain") == "MM a.md")
    }

    @Test func newFileIsUntrackedThenAdded() throws {
        let t = try committed()
        try t.write("new.md", "new\n")
        #expect(try t.repo.status().map(\.description) == ["untracked: new.md"])
        try t.git("add", "new.md")
        let entries = try t.repo.status()
        #expect(entries.map(\.description) == ["added: new.md"])
        #expect(entries.first?.staged == true)
        #expect(try t.git("status", "--porcelain") == "A  new.md")
    }

    @Test func addedThenDeletedFileIsNotListed() throws {
        let t = try committed()
        try t.write("temp.md", "temp\n")
        try t.git("add", "temp.md")
        try t.delete("temp.md")
        #expect(try t.repo.status().isEmpty)
    }

    @Test func deletedFileUnstagedAndStaged() throws {
        let t = try committed()
        try t.delete("notes/b.md")
        let entries = try t.repo.status()
        #expect(entries.map(\.description) == ["deleted: notes/b.md"])
        #expect(entries.first?.unstaged == true)
        try t.git("rm", "-q", "--cached", "notes/b.md")
        let staged = try t.repo.status()
        #expect(staged.map(\.description) == ["deleted: notes/b.md"])
        #expect(staged.first?.staged == true)
        #expect(try t.git("status", "--porcelain") == "D  notes/b.md")
    }

    @Test func stagedRenameIsDetected() throws {
        let t = try committed()
        try t.git("mv", "notes/b.md", "notes/renamed.md")
        let entries = try t.repo.status()
        #expect(entries.count == 1)
        #expect(entries.first?.kind == .renamed)
        #expect(entries.first?.path == "notes/renamed.md")
        #expect(entries.first?.oldPath == "notes/b.md")
        #expect(entries.first?.description == "renamed: notes/b.md -> notes/renamed.md")
        #expect(try t.git("status", "--porcelain") == "R  notes/b.md -> notes/renamed.md")
    }

    @Test func unstagedRenameIsDetectedInTheWorkingTree() throws {
        let t = try committed()
        try FileManager.default.moveItem(atPath: t.path + "/notes/b.md", toPath: t.path + "/moved.md")
        let entries = try t.repo.status()
        #expect(entries.map(\.description) == ["renamed: notes/b.md -> moved.md"])
        #expect(entries.first?.unstaged == true)
        #expect(entries.first?.staged == false)
    }

    @Test func renameDetectionCanBeTurnedOff() throws {
        let t = try committed()
        try t.git("mv", "notes/b.md", "notes/renamed.md")
        var options = StatusOptions()
        options.detectRenames = false
        let entries = try t.repo.status(options).map(\.description).sorted()
        #expect(entries == ["added: notes/renamed.md", "deleted: notes/b.md"])
    }

    @Test func gitignoreIsRespected() throws {
        let t = try committed()
        try t.write(".gitignore", "*.tmp\nbuild/\n")
        try t.write("scratch.tmp", "x\n")
        try t.write("build/out/artifact.bin", "x\n")
        try t.write("kept.md", "x\n")
        let paths = try t.repo.status().map(\.path).sorted()
        #expect(paths == [".gitignore", "kept.md"])
        let gitPaths = try t.git("status", "--porcelain", "-uall").lines.map { String($0.dropFirst(3)) }.sorted()
        #expect(paths == gitPaths)
    }

    @Test func untrackedFilesInNewNestedFoldersAreListedOneByOne() throws {
        let t = try committed()
        try t.write("inbox/2024/05/one.md", "1\n")
        try t.write("inbox/2024/two.md", "2\n")
        try t.write("inbox/three.md", "3\n")
        let entries = try t.repo.status()
        #expect(entries.map(\.path).sorted() == ["inbox/2024/05/one.md", "inbox/2024/two.md", "inbox/three.md"])
        #expect(entries.allSatisfy { $0.kind == .untracked && !$0.staged && $0.unstaged })
        #expect(try t.git("status", "--porcelain", "-uall").lines.map { String($0.dropFirst(3)) }.sorted() == entries.map(\.path).sorted())
    }

    @Test func untrackedCanBeExcluded() throws {
        let t = try committed()
        try t.write("new.md", "x\n")
        try t.write("a.md", "changed\n")
        var options = StatusOptions()
        options.includeUntracked = false
        #expect(try t.repo.status(options).map(\.description) == ["modified: a.md"])
    }

    @Test func pathsFilterLimitsToExactPathsAndFolders() throws {
        let t = try committed()
        try t.write("a.md", "changed\n")
        try t.write("notes/b.md", "changed\n")
        try t.write("notes/sub/c.md", "new\n")
        try t.write("notes-other.md", "new\n")
        var options = StatusOptions()
        options.paths = ["a.md"]
        #expect(try t.repo.status(options).map(\.path) == ["a.md"])
        options.paths = ["notes"]
        #expect(try t.repo.status(options).map(\.path).sorted() == ["notes/b.md", "notes/sub/c.md"])
        options.paths = ["*.md"] // no glob matching
        #expect(try t.repo.status(options).isEmpty)
    }

    @Test func typechangeWhenAFileBecomesASymlink() throws {
        let t = try committed()
        try t.delete("a.md")
        try FileManager.default.createSymbolicLink(atPath: t.path + "/a.md", withDestinationPath: "notes/b.md")
        #expect(try t.repo.status().map(\.description) == ["typechange: a.md"])
        #expect(try t.git("status", "--porcelain") == " T a.md")
    }

    @Test func conflictedMergeIsReported() throws {
        let t = try committed()
        try t.git("checkout", "-q", "-b", "side")
        try t.write("a.md", "side\n")
        try t.commitAllWithCLI("side")
        try t.git("checkout", "-q", "main")
        try t.write("a.md", "main\n")
        try t.commitAllWithCLI("main")
        #expect(t.run(["merge", "-q", "side"]).status != 0)
        #expect(try t.repo.status().map(\.description) == ["conflicted: a.md"])
    }

    @Test func unicodeAndSpacedPathsComeBackVerbatim() throws {
        let t = try committed()
        try t.write("notes/été 2024/compte rendu.md", "x\n")
        try t.write("日本語.md", "y\n")
        let paths = try t.repo.status().map(\.path).sorted()
        #expect(paths == ["notes/été 2024/compte rendu.md", "日本語.md"])
        let gitPaths = try t.gitRaw(["status", "--porcelain", "-z", "-uall"]).split(separator: "\0").map { String($0.dropFirst(3)) }.sorted()
        #expect(paths == gitPaths)
    }

    @Test func unbornRepositoryListsEverythingUntracked() throws {
        let t = try TestRepo()
        try t.write("a.md", "a\n")
        try t.write("d/b.md", "b\n")
        #expect(try t.repo.status().map(\.description).sorted() == ["untracked: a.md", "untracked: d/b.md"])
    }

    @Test func statusMatchesGitPorcelainForAMix() throws {
        let t = try committed()
        try t.write("a.md", "changed\n")
        try t.delete("notes/b.md")
        try t.write("n/new.md", "new\n")
        try t.write("staged.md", "s\n")
        try t.git("add", "staged.md")
        var options = StatusOptions()
        options.detectRenames = false
        let ours = Dictionary(uniqueKeysWithValues: try t.repo.status(options).map { ($0.path, $0.kind) })
        let codes: [String: ChangeKind] = [" M": .modified, " D": .deleted, "??": .untracked, "A ": .added]
        var theirs: [String: ChangeKind] = [:]
        for line in try t.git("status", "--porcelain", "-uall", "--no-renames").lines {
            theirs[String(line.dropFirst(3))] = codes[String(line.prefix(2))]
        }
        #expect(ours == theirs)
        #expect(ours.count == 4)
    }
}
