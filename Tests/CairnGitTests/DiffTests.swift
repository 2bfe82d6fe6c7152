import Foundation
import Testing
@testable import CairnGit

@Suite struct DiffTests {
    static let ten = (1...10).map { "line \($0)" }.joined(separator: "\n") + "\n"

    /// Two commits: the second edits line 5 of a.md, deletes gone.md and adds n/new.md.
    func twoCommits() throws -> (TestRepo, OID, OID) {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": Self.ten, "gone.md": "bye\nbye\n", "same.md": "same\n"])
        let c2 = try t.commit(["a.md": Self.ten.replacingOccurrences(of: "line 5\n", with: "line five\n"), "gone.md": nil, "n/new.md": "new 1\nnew 2\nnew 3\n"])
        return (t, try t.repo.commit(c1).tree, try t.repo.commit(c2).tree)
    }

    /// Parses `git diff --shortstat` output.
    func shortstat(_ text: String) -> DiffStats {
        func number(before word: String) -> Int {
            guard let range = text.range(of: " \(word)") else { return 0 }
            let prefix = text[..<range.lowerBound]
            return Int(prefix.split(separator: " ").last ?? "0") ?? 0
        }
        return DiffStats(filesChanged: number(before: "file"), insertions: number(before: "insertion"), deletions: number(before: "deletion"))
    }

    @Test func treeToTreeDeltas() throws {
        let (t, old, new) = try twoCommits()
        let deltas = try t.repo.diff(from: old, to: new).deltas
        #expect(deltas.map { "\($0.kind) \($0.path)" } == ["modified a.md", "deleted gone.md", "added n/new.md"])
        let gitSays = try t.git("diff", "--name-status", old.hex, new.hex).lines
        #expect(gitSays == ["M\ta.md", "D\tgone.md", "A\tn/new.md"])
        let deleted = try #require(deltas.first { $0.kind == .deleted })
        #expect(deleted.oldOID == (try t.revParse("HEAD~1:gone.md")))
        #expect(deleted.newOID.bytes.allSatisfy { $0 == 0 })
        #expect(deltas.allSatisfy { !$0.isBinary })
    }

    @Test func patchTextHasTheExpectedHunks() throws {
        let (t, old, new) = try twoCommits()
        let patch = try t.repo.diff(from: old, to: new).patch()
        #expect(patch.contains("diff --git a/a.md b/a.md\n"))
        #expect(patch.contains("@@ -2,7 +2,7 @@ line 1\n line 2\n line 3\n line 4\n-line 5\n+line five\n line 6\n"))
        #expect(patch.contains("deleted file mode 100644\n"))
        #expect(patch.contains("@@ -0,0 +1,3 @@\n+new 1\n+new 2\n+new 3\n"))
        #expect(!patch.contains("same.md"))
        // Identical to git's own patch, byte for byte.
        #expect(patch == (try t.gitRaw(["diff", "--no-color", "--no-renames", old.hex, new.hex])))
    }

    @Test func contextLinesAreHonoured() throws {
        let (t, old, new) = try twoCommits()
        var options = DiffOptions()
        options.contextLines = 0
        options.paths = ["a.md"]
        let patch = try t.repo.diff(from: old, to: new, options: options).patch()
        #expect(patch.contains("@@ -5 +5 @@ line 4\n-line 5\n+line five\n"))
        #expect(!patch.contains("\n line 4\n")) // no context lines, only the hunk header's
        #expect(!patch.contains("\n line 6\n"))
        #expect(patch == (try t.gitRaw(["diff", "--no-color", "-U0", old.hex, new.hex, "--", "a.md"])))
    }

    @Test func statsMatchGitShortstat() throws {
        let (t, old, new) = try twoCommits()
        let stats = try t.repo.diff(from: old, to: new).stats()
        #expect(stats == DiffStats(filesChanged: 3, insertions: 4, deletions: 3))
        #expect(stats == shortstat(try t.git("diff", "--shortstat", old.hex, new.hex)))
    }

    @Test func lineCountsMatchGitNumstat() throws {
        let (t, old, new) = try twoCommits()
        let counts = try t.repo.diff(from: old, to: new).lineCounts()
        let ours = counts.map { "\($0.insertions)\t\($0.deletions)\t\($0.path)" }
        #expect(ours == (try t.git("diff", "--numstat", old.hex, new.hex).lines))
        #expect(ours == ["1\t1\ta.md", "0\t2\tgone.md", "3\t0\tn/new.md"])
    }

    @Test func renameIsDetected() throws {
        let t = try TestRepo()
        let body = (1...20).map { "paragraph \($0)" }.joined(separator: "\n") + "\n"
        let c1 = try t.commit(["inbox/idea.md": body])
        let c2 = try t.commit(["inbox/idea.md": nil, "projects/idea.md": body + "one more\n"])
        let old = try t.repo.commit(c1).tree, new = try t.repo.commit(c2).tree
        let deltas = try t.repo.diff(from: old, to: new).deltas
        #expect(deltas.count == 1)
        #expect(deltas.first?.kind == .renamed)
        #expect(deltas.first?.oldPath == "inbox/idea.md")
        #expect(deltas.first?.newPath == "projects/idea.md")
        #expect(try t.git("diff", "-M", "--name-status", old.hex, new.hex).hasPrefix("R"))
        let stats = try t.repo.diff(from: old, to: new).stats()
        #expect(stats == shortstat(try t.git("diff", "-M", "--shortstat", old.hex, new.hex)))
        #expect(stats == DiffStats(filesChanged: 1, insertions: 1, deletions: 0))
        var options = DiffOptions()
        options.detectRenames = false
        #expect(try t.repo.diff(from: old, to: new, options: options).deltas.map(\.kind) == [.deleted, .added])
    }

    @Test func nilTreesAreTheEmptyTree() throws {
        let (t, old, _) = try twoCommits()
        let added = try t.repo.diff(from: nil, to: old)
        #expect(added.deltas.allSatisfy { $0.kind == .added })
        #expect(added.deltas.map(\.path) == ["a.md", "gone.md", "same.md"])
        #expect(try added.stats() == shortstat(try t.git("diff", "--shortstat", OID.emptyTree.hex, old.hex)))
        let removed = try t.repo.diff(from: old, to: nil)
        #expect(removed.deltas.allSatisfy { $0.kind == .deleted })
        #expect(try removed.stats().deletions == 13)
    }

    @Test func pathsFilterTakesExactPathsAndFolders() throws {
        let (t, old, new) = try twoCommits()
        var options = DiffOptions()
        options.paths = ["n"]
        #expect(try t.repo.diff(from: old, to: new, options: options).deltas.map(\.path) == ["n/new.md"])
        options.paths = ["gone.md", "a.md"]
        #expect(try t.repo.diff(from: old, to: new, options: options).deltas.map(\.path) == ["a.md", "gone.md"])
        options.paths = ["*.md"]
        #expect(try t.repo.diff(from: old, to: new, options: options).deltas.isEmpty)
    }

    @Test func binaryFilesAreFlagged() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["t.md": "t\n"])
        let blob = try t.repo.writeBlob(Data([0, 1, 2, 3, 0, 255]))
        let tree2 = try t.repo.updateTree(base: try t.repo.commit(c1).tree, changes: [.upsert(path: "img.bin", oid: blob, mode: TreeChange.fileMode)])
        let diff = try t.repo.diff(from: try t.repo.commit(c1).tree, to: tree2)
        #expect(diff.deltas.map(\.isBinary) == [true])
        #expect(try diff.patch().contains("Binary files /dev/null and b/img.bin differ"))
        #expect(try diff.lineCounts().map(\.insertions) == [0])
    }

    @Test func workdirDiffIncludesUntrackedAndStaged() throws {
        let t = try TestRepo()
        try t.write("a.md", Self.ten)
        try t.write("b.md", "b\n")
        let head = try t.commitAllWithCLI("base")
        try t.write("a.md", Self.ten + "line 11\n")
        try t.write("new/deep/u.md", "u1\nu2\n")
        try t.write("staged.md", "s\n")
        try t.git("add", "staged.md")
        let tree = try t.repo.commit(head).tree
        let diff = try t.repo.diffToWorkdir(from: tree)
        #expect(diff.deltas.map { "\($0.kind) \($0.path)" } == ["modified a.md", "added new/deep/u.md", "added staged.md"])
        #expect(try diff.lineCounts().map { "\($0.path) +\($0.insertions) -\($0.deletions)" } == ["a.md +1 -0", "new/deep/u.md +2 -0", "staged.md +1 -0"])
        var options = DiffOptions()
        options.includeUntracked = false
        let tracked = try t.repo.diffToWorkdir(from: tree, options: options)
        #expect(tracked.deltas.map(\.path) == ["a.md", "staged.md"])
        // Without untracked files, this is exactly `git diff HEAD`.
        #expect(try tracked.stats() == shortstat(try t.git("diff", "--shortstat", "HEAD")))
        #expect(try tracked.patch() == (try t.gitRaw(["diff", "--no-color", "--no-renames", "HEAD"])))
    }

    @Test func workdirDiffSeesADeletedFileAndAWorkdirRename() throws {
        let t = try TestRepo()
        let body = (1...20).map { "row \($0)" }.joined(separator: "\n") + "\n"
        try t.write("old.md", body)
        try t.write("doomed.md", "d\n")
        let head = try t.commitAllWithCLI("base")
        try FileManager.default.moveItem(atPath: t.path + "/old.md", toPath: t.path + "/new.md")
        try t.delete("doomed.md")
        let deltas = try t.repo.diffToWorkdir(from: try t.repo.commit(head).tree).deltas
        #expect(deltas.map { "\($0.kind) \($0.oldPath) \($0.newPath)" }.sorted() == ["deleted doomed.md doomed.md", "renamed old.md new.md"])
    }

    @Test func workdirDiffFromNilShowsEverythingAdded() throws {
        let t = try TestRepo()
        try t.write("a.md", "a\n")
        try t.write("d/b.md", "b\n")
        let diff = try t.repo.diffToWorkdir(from: nil)
        #expect(diff.deltas.map { "\($0.kind) \($0.path)" } == ["added a.md", "added d/b.md"])
        #expect(try diff.stats() == DiffStats(filesChanged: 2, insertions: 2, deletions: 0))
    }

    @Test func unicodePathsInPatchAndDeltas() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["notes/été 2024.md": "old\n"])
        let c2 = try t.commit(["notes/été 2024.md": "new\n"])
        let old = try t.repo.commit(c1).tree, new = try t.repo.commit(c2).tree
        let diff = try t.repo.diff(from: old, to: new)
        #expect(diff.deltas.map(\.path) == ["notes/été 2024.md"])
        let ours = try diff.patch()
        // Non-ASCII paths are C-quoted, as git does by default (core.quotePath=true).
        #expect(ours.contains("--- \"a/notes/\\303\\251t\\303\\251 2024.md\"\n"))
        // git ends ---/+++ lines of a path with a space with a tab; libgit2 does not. Otherwise identical.
        let git = try t.gitRaw(["diff", "--no-color", old.hex, new.hex]).replacingOccurrences(of: "\"\t\n", with: "\"\n")
        #expect(ours == git)
    }

    @Test func emptyDiff() throws {
        let (t, old, _) = try twoCommits()
        let diff = try t.repo.diff(from: old, to: old)
        #expect(diff.deltas.isEmpty)
        #expect(try diff.patch() == "")
        #expect(try diff.stats() == DiffStats(filesChanged: 0, insertions: 0, deletions: 0))
        #expect(try diff.lineCounts().isEmpty)
    }
}
