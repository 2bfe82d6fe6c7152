import Foundation
import Testing
@testable import CairnGit

@Suite struct CheckoutTests {
    /// Two CLI commits: v1 then v2 of a.md and b.md; v2 also adds added.md. The working tree is at v2.
    func history() throws -> (TestRepo, v1: OID, v2: OID) {
        let t = try TestRepo()
        try t.write("a.md", "a v1\n")
        try t.write("b.md", "b v1\n")
        let c1 = try t.commitAllWithCLI("v1")
        try t.write("a.md", "a v2\n")
        try t.write("b.md", "b v2\n")
        try t.write("added.md", "added in v2\n")
        let c2 = try t.commitAllWithCLI("v2")
        return (t, try t.repo.commit(c1).tree, try t.repo.commit(c2).tree)
    }

    @Test func checkoutOfGivenPathsUpdatesOnlyThoseFiles() throws {
        let (t, v1, _) = try history()
        try t.repo.checkout(tree: v1, paths: ["a.md"])
        #expect(t.read("a.md") == "a v1\n")
        #expect(t.read("b.md") == "b v2\n")
        // The index follows the working tree for that path.
        #expect(try t.git("status", "--porcelain") == "M  a.md")
        #expect(try t.git("diff", "--cached", "--name-only", "HEAD") == "a.md")
        #expect(try t.git("ls-files", "-s", "a.md").contains(try t.revParse("HEAD~1:a.md").hex))
    }

    @Test func checkoutRemovesAnUnmodifiedFileAbsentFromTheTree() throws {
        let (t, v1, _) = try history()
        try t.repo.checkout(tree: v1, paths: ["added.md"])
        #expect(!t.exists("added.md"))
        #expect(try t.git("status", "--porcelain") == "D  added.md")
    }

    @Test func checkoutRecreatesAMissingFile() throws {
        let (t, _, v2) = try history()
        try t.delete("b.md")
        try t.repo.checkout(tree: v2, paths: ["b.md"])
        #expect(t.read("b.md") == "b v2\n")
        #expect(try t.git("status", "--porcelain").isEmpty)
    }

    @Test func locallyModifiedFileIsNotOverwrittenWithoutForce() throws {
        let (t, v1, _) = try history()
        try t.write("a.md", "precious local edit\n")
        let error = #expect(throws: GitError.self) { try t.repo.checkout(tree: v1, paths: ["a.md"]) }
        #expect(error?.code == GitError.conflict.rawValue)
        #expect(t.read("a.md") == "precious local edit\n")
        #expect(try t.git("status", "--porcelain") == " M a.md")
    }

    @Test func aConflictWritesNothingAtAll() throws {
        let (t, v1, _) = try history()
        try t.write("a.md", "precious local edit\n")
        #expect(throws: GitError.self) { try t.repo.checkout(tree: v1, paths: ["b.md", "a.md"]) }
        #expect(t.read("a.md") == "precious local edit\n")
        #expect(t.read("b.md") == "b v2\n") // not half-applied
    }

    @Test func untrackedFileIsNotOverwrittenWithoutForce() throws {
        let t = try TestRepo()
        try t.write("a.md", "a\n")
        try t.commitAllWithCLI("base")
        let other = try t.commit(["new.md": "from the tree\n"], ref: nil)
        try t.write("new.md", "untracked local file\n")
        #expect(throws: GitError.self) { try t.repo.checkout(tree: try t.repo.commit(other).tree, paths: ["new.md"]) }
        #expect(t.read("new.md") == "untracked local file\n")
    }

    @Test func forceOverwritesLocalChanges() throws {
        let (t, v1, _) = try history()
        try t.write("a.md", "local edit to lose\n")
        try t.repo.checkout(tree: v1, paths: ["a.md"], force: true)
        #expect(t.read("a.md") == "a v1\n")
        #expect(try t.git("status", "--porcelain") == "M  a.md")
    }

    @Test func checkoutOfAFolderPath() throws {
        let t = try TestRepo()
        try t.write("notes/x.md", "x1\n")
        try t.write("notes/sub/y.md", "y1\n")
        try t.write("other.md", "o1\n")
        let c1 = try t.commitAllWithCLI("v1")
        try t.write("notes/x.md", "x2\n")
        try t.write("notes/sub/y.md", "y2\n")
        try t.write("other.md", "o2\n")
        try t.commitAllWithCLI("v2")
        try t.repo.checkout(tree: try t.repo.commit(c1).tree, paths: ["notes"])
        #expect(t.read("notes/x.md") == "x1\n")
        #expect(t.read("notes/sub/y.md") == "y1\n")
        #expect(t.read("other.md") == "o2\n")
    }

    @Test func emptyPathsIsANoOp() throws {
        let (t, v1, _) = try history()
        try t.write("a.md", "local\n")
        try t.repo.checkout(tree: v1, paths: [])
        #expect(t.read("a.md") == "local\n")
        #expect(t.read("b.md") == "b v2\n")
    }

    @Test func checkoutOfAMissingTreeThrows() throws {
        let (t, _, _) = try history()
        let missing = try #require(OID(hex: String(repeating: "a", count: 40)))
        #expect(throws: GitError.self) { try t.repo.checkout(tree: missing, paths: ["a.md"]) }
    }
}
