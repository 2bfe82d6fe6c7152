import Foundation
import Testing
@testable import CairnGit

@Suite struct TreeTests {
    /// `git ls-tree -r` of `tree`: "mode type oid\tpath" lines, paths unquoted.
    func lsTree(_ t: TestRepo, _ tree: OID) throws -> [String] {
        try t.git("-c", "core.quotePath=false", "ls-tree", "-r", tree.hex).lines
    }

    func blob(_ t: TestRepo, _ text: String) throws -> OID { try t.repo.writeBlob(Data(text.utf8)) }

    @Test func updateTreeFromNilBaseBuildsATree() throws {
        let t = try TestRepo()
        let a = try blob(t, "a\n")
        let tree = try t.repo.updateTree(base: nil, changes: [.upsert(path: "a.md", oid: a, mode: TreeChange.fileMode)])
        #expect(try lsTree(t, tree) == ["100644 blob \(a.hex)\ta.md"])
        #expect(try t.git("cat-file", "-t", tree.hex) == "tree")
        t.expectFsckClean()
    }

    @Test func makeFlatTreeWritesOnlyTheTree() throws {
        let t = try TestRepo()
        let a = try blob(t, "a\n"), b = try blob(t, "b\n")
        let tree = try t.repo.makeFlatTree([("z.json", a), ("a.md", b)])
        #expect(try lsTree(t, tree) == ["100644 blob \(b.hex)\ta.md", "100644 blob \(a.hex)\tz.json"])
        // No empty tree or other object besides the two blobs and the tree.
        #expect(try t.git("count-objects", "-v").lines.first == "count: 3")
        t.expectFsckClean()
    }

    @Test func updateTreeWithNoChangesIsTheBase() throws {
        let t = try TestRepo()
        #expect(try t.repo.updateTree(base: nil, changes: []) == OID.emptyTree)
        #expect(try t.git("cat-file", "-t", OID.emptyTree.hex) == "tree")
        let a = try blob(t, "a\n")
        let tree = try t.repo.updateTree(base: nil, changes: [.upsert(path: "a.md", oid: a, mode: TreeChange.fileMode)])
        #expect(try t.repo.updateTree(base: tree, changes: []) == tree)
    }

    @Test func nestedPathsCreateSubtrees() throws {
        let t = try TestRepo()
        let a = try blob(t, "a\n"), b = try blob(t, "b\n"), c = try blob(t, "c\n")
        let tree = try t.repo.updateTree(base: nil, changes: [
            .upsert(path: "notes/2024/jan.md", oid: a, mode: TreeChange.fileMode),
            .upsert(path: "notes/feb.md", oid: b, mode: TreeChange.fileMode),
            .upsert(path: "top.md", oid: c, mode: TreeChange.executableMode),
        ])
        #expect(try lsTree(t, tree) == [
            "100644 blob \(a.hex)\tnotes/2024/jan.md",
            "100644 blob \(b.hex)\tnotes/feb.md",
            "100755 blob \(c.hex)\ttop.md",
        ])
        // Same content through git's own index gives the same tree id.
        try t.git("update-index", "--add", "--cacheinfo", "100644,\(a.hex),notes/2024/jan.md")
        try t.git("update-index", "--add", "--cacheinfo", "100644,\(b.hex),notes/feb.md")
        try t.git("update-index", "--add", "--cacheinfo", "100755,\(c.hex),top.md")
        #expect(try t.git("write-tree") == tree.hex)
        t.expectFsckClean()
    }

    @Test func upsertReplacesAnExistingFileAndKeepsItsSiblings() throws {
        let t = try TestRepo()
        let v1 = try blob(t, "v1\n"), v2 = try blob(t, "v2\n"), other = try blob(t, "other\n")
        let base = try t.repo.updateTree(base: nil, changes: [
            .upsert(path: "n/a.md", oid: v1, mode: TreeChange.fileMode),
            .upsert(path: "n/b.md", oid: other, mode: TreeChange.fileMode),
        ])
        let updated = try t.repo.updateTree(base: base, changes: [.upsert(path: "n/a.md", oid: v2, mode: TreeChange.fileMode)])
        #expect(try lsTree(t, updated) == ["100644 blob \(v2.hex)\tn/a.md", "100644 blob \(other.hex)\tn/b.md"])
        // The base is untouched (trees are immutable).
        #expect(try lsTree(t, base) == ["100644 blob \(v1.hex)\tn/a.md", "100644 blob \(other.hex)\tn/b.md"])
    }

    @Test func removingTheOnlyFileInAFolderRemovesTheFolder() throws {
        let t = try TestRepo()
        let a = try blob(t, "a\n"), b = try blob(t, "b\n")
        let base = try t.repo.updateTree(base: nil, changes: [
            .upsert(path: "keep.md", oid: a, mode: TreeChange.fileMode),
            .upsert(path: "lonely/deeper/only.md", oid: b, mode: TreeChange.fileMode),
        ])
        let updated = try t.repo.updateTree(base: base, changes: [.remove(path: "lonely/deeper/only.md")])
        #expect(try lsTree(t, updated) == ["100644 blob \(a.hex)\tkeep.md"])
        #expect(try t.git("ls-tree", "--name-only", updated.hex) == "keep.md") // no empty "lonely" tree
        #expect(try t.repo.tree(updated).entries.map(\.name) == ["keep.md"])
        // A commit of it passes git's strictest check (empty trees would not be written by git).
        let commit = try t.repo.createCommit(tree: updated, parents: [], author: TestRepo.signature, committer: TestRepo.signature, message: "m\n")
        try t.repo.updateReference("refs/heads/main", to: commit, expected: nil, message: "m")
        t.expectFsckClean()
    }

    @Test func removingEveryFileGivesTheEmptyTree() throws {
        let t = try TestRepo()
        let a = try blob(t, "a\n")
        let base = try t.repo.updateTree(base: nil, changes: [.upsert(path: "x/y.md", oid: a, mode: TreeChange.fileMode)])
        let updated = try t.repo.updateTree(base: base, changes: [.remove(path: "x/y.md")])
        #expect(updated == OID.emptyTree)
    }

    @Test func removingAFolderPathRemovesEverythingUnderIt() throws {
        let t = try TestRepo()
        let a = try blob(t, "a\n"), b = try blob(t, "b\n")
        let base = try t.repo.updateTree(base: nil, changes: [
            .upsert(path: "dir/one.md", oid: a, mode: TreeChange.fileMode),
            .upsert(path: "dir/sub/two.md", oid: b, mode: TreeChange.fileMode),
            .upsert(path: "other.md", oid: b, mode: TreeChange.fileMode),
        ])
        let updated = try t.repo.updateTree(base: base, changes: [.remove(path: "dir")])
        #expect(try lsTree(t, updated) == ["100644 blob \(b.hex)\tother.md"])
    }

    @Test func replacingAFileByAFolder() throws {
        let t = try TestRepo()
        let a = try blob(t, "a\n"), b = try blob(t, "b\n")
        let base = try t.repo.updateTree(base: nil, changes: [.upsert(path: "thing", oid: a, mode: TreeChange.fileMode)])
        let updated = try t.repo.updateTree(base: base, changes: [
            .upsert(path: "thing/inside.md", oid: b, mode: TreeChange.fileMode),
            .remove(path: "thing"),
        ])
        #expect(try lsTree(t, updated) == ["100644 blob \(b.hex)\tthing/inside.md"])
        let commit = try t.repo.createCommit(tree: updated, parents: [], author: TestRepo.signature, committer: TestRepo.signature, message: "m\n")
        try t.repo.updateReference("refs/heads/main", to: commit, expected: nil, message: "m")
        t.expectFsckClean()
    }

    @Test func replacingAFolderByAFile() throws {
        let t = try TestRepo()
        let a = try blob(t, "a\n"), b = try blob(t, "b\n")
        let base = try t.repo.updateTree(base: nil, changes: [
            .upsert(path: "thing/inside.md", oid: a, mode: TreeChange.fileMode),
            .upsert(path: "thing/sub/deep.md", oid: a, mode: TreeChange.fileMode),
        ])
        let updated = try t.repo.updateTree(base: base, changes: [
            .remove(path: "thing/inside.md"),
            .remove(path: "thing/sub/deep.md"),
            .upsert(path: "thing", oid: b, mode: TreeChange.fileMode),
        ])
        #expect(try lsTree(t, updated) == ["100644 blob \(b.hex)\tthing"])
        let commit = try t.repo.createCommit(tree: updated, parents: [], author: TestRepo.signature, committer: TestRepo.signature, message: "m\n")
        try t.repo.updateReference("refs/heads/main", to: commit, expected: nil, message: "m")
        t.expectFsckClean()
    }

    @Test func unicodeAndSpacesInNames() throws {
        let t = try TestRepo()
        let a = try blob(t, "a\n"), b = try blob(t, "b\n"), c = try blob(t, "c\n")
        let names = ["notes/été 2024/compte rendu.md", "日本語/ファイル.md", "with space.md"]
        let tree = try t.repo.updateTree(base: nil, changes: [
            .upsert(path: names[0], oid: a, mode: TreeChange.fileMode),
            .upsert(path: names[1], oid: b, mode: TreeChange.fileMode),
            .upsert(path: names[2], oid: c, mode: TreeChange.fileMode),
        ])
        let gitNames = try t.gitRaw(["ls-tree", "-r", "-z", "--name-only", tree.hex]).split(separator: "\0").map(String.init)
        #expect(Set(gitNames) == Set(names))
        #expect(try t.repo.files(in: tree).map(\.path) == gitNames)
        #expect(try t.repo.entry(at: names[0], in: tree)?.oid == a)
        #expect(try t.repo.entry(at: names[1], in: tree)?.name == "ファイル.md")
        #expect(try t.git("cat-file", "-p", "\(tree.hex):\(names[1])") == "b")
        t.expectFsckClean()
    }

    @Test func invalidPathsAreRejected() throws {
        let t = try TestRepo()
        let a = try blob(t, "a\n")
        for bad in [".git/config", "../escape.md", "a/../b.md", "/absolute.md", "x/.git/hooks/pre-commit"] {
            #expect(throws: GitError.self, "\(bad) was accepted") {
                _ = try t.repo.updateTree(base: nil, changes: [.upsert(path: bad, oid: a, mode: TreeChange.fileMode)])
            }
        }
    }

    @Test func filesListsEveryFileInGitsOrder() throws {
        let t = try TestRepo()
        _ = try t.commit([
            "b.md": "b\n", "a/z.md": "z\n", "a/b/c.md": "c\n", "a.md": "a0\n", "a-b.md": "ab\n", "c/d/e/f.md": "f\n",
        ])
        let tree = try t.repo.commit(try t.revParse("HEAD")).tree
        let files = try t.repo.files(in: tree)
        let gitOrder = try t.git("ls-tree", "-r", "--name-only", tree.hex).lines
        #expect(files.map(\.path) == gitOrder)
        #expect(files.count == 6)
        let gitIDs = try t.git("ls-tree", "-r", "--format=%(objectname)", tree.hex).lines
        #expect(files.map(\.oid.hex) == gitIDs)
        #expect(files.allSatisfy { $0.mode == TreeChange.fileMode })
    }

    @Test func filesUnderAPrefix() throws {
        let t = try TestRepo()
        _ = try t.commit(["a/one.md": "1\n", "a/sub/two.md": "2\n", "ab/three.md": "3\n", "top.md": "t\n"])
        let tree = try t.repo.commit(try t.revParse("HEAD")).tree
        #expect(try t.repo.files(in: tree, under: "a").map(\.path) == ["a/one.md", "a/sub/two.md"])
        #expect(try t.repo.files(in: tree, under: "a/").map(\.path) == ["a/one.md", "a/sub/two.md"])
        #expect(try t.repo.files(in: tree, under: "a/sub").map(\.path) == ["a/sub/two.md"])
        #expect(try t.git("ls-tree", "-r", "--name-only", tree.hex, "--", "a/").lines == ["a/one.md", "a/sub/two.md"])
        #expect(try t.repo.files(in: tree, under: "missing").isEmpty)
        #expect(try t.repo.files(in: tree, under: "top.md").isEmpty) // a file is not a folder
    }

    @Test func filesSkipsSubmodulesAndKeepsModes() throws {
        let t = try TestRepo()
        let a = try blob(t, "#!/bin/sh\n"), link = try blob(t, "target.md")
        let fakeCommit = try #require(OID(hex: String(repeating: "1", count: 40)))
        let tree = try t.repo.updateTree(base: nil, changes: [
            .upsert(path: "run.sh", oid: a, mode: TreeChange.executableMode),
            .upsert(path: "link.md", oid: link, mode: TreeChange.symlinkMode),
            .upsert(path: "vendor/sub", oid: fakeCommit, mode: 0o160000),
        ])
        let files = try t.repo.files(in: tree)
        #expect(files.map(\.path) == ["link.md", "run.sh"])
        #expect(files.map(\.mode) == [TreeChange.symlinkMode, TreeChange.executableMode])
        let entries = try t.repo.tree(tree).entries
        #expect(entries.map(\.kind) == [.symlink, .executable, .tree])
        #expect(try t.repo.entry(at: "vendor/sub", in: tree)?.kind == .submodule)
        #expect(try t.git("ls-tree", tree.hex, "vendor/sub") == "160000 commit \(fakeCommit.hex)\tvendor/sub")
    }

    @Test func entryAtPathFindsFilesAndFolders() throws {
        let t = try TestRepo()
        _ = try t.commit(["notes/2024/jan.md": "jan\n", "top.md": "t\n"])
        let tree = try t.repo.commit(try t.revParse("HEAD")).tree
        let file = try #require(try t.repo.entry(at: "notes/2024/jan.md", in: tree))
        #expect(file.name == "jan.md")
        #expect(file.kind == .blob)
        #expect(file.mode == 0o100644)
        #expect(file.oid == (try t.revParse("HEAD:notes/2024/jan.md")))
        let folder = try #require(try t.repo.entry(at: "notes/2024", in: tree))
        #expect(folder.kind == .tree)
        #expect(folder.oid == (try t.revParse("HEAD:notes/2024")))
        #expect(folder.description == "40000 \(folder.oid) 2024")
        #expect(try t.repo.entry(at: "notes/missing.md", in: tree) == nil)
        #expect(try t.repo.entry(at: "top.md/below", in: tree) == nil)
    }

    @Test func treeReadsEntriesAndEntryNamed() throws {
        let t = try TestRepo()
        _ = try t.commit(["b.md": "b\n", "a/x.md": "x\n"])
        let root = try t.repo.tree(try t.repo.commit(try t.revParse("HEAD")).tree)
        #expect(root.entries.map(\.name) == ["a", "b.md"])
        #expect(root.entry(named: "b.md")?.oid == (try t.revParse("HEAD:b.md")))
        #expect(root.entry(named: "a")?.kind == .tree)
        #expect(root.entry(named: "x.md") == nil) // not recursive
    }

    @Test func treeOfAMissingIdThrows() throws {
        let t = try TestRepo()
        let missing = try #require(OID(hex: String(repeating: "cd", count: 20)))
        #expect(throws: GitError.self) { _ = try t.repo.tree(missing) }
        #expect(throws: GitError.self) { _ = try t.repo.updateTree(base: missing, changes: []) }
        #expect(throws: GitError.self) { _ = try t.repo.entry(at: "a", in: missing) }
    }
}
