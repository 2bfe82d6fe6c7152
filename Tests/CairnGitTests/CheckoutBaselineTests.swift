import Foundation
import Testing
@testable import CairnGit

@Suite struct CheckoutBaselineTests {
    /// v1 then v2 of a.md and b.md (CLI commits); the working tree is at v2.
    func history() throws -> (TestRepo, v1: OID, v2: OID) {
        let t = try TestRepo()
        try t.write("a.md", "a v1\n")
        try t.write("b.md", "b v1\n")
        let c1 = try t.commitAllWithCLI("v1")
        try t.write("a.md", "a v2\n")
        try t.write("b.md", "b v2\n")
        try t.write("new.md", "new in v2\n")
        let c2 = try t.commitAllWithCLI("v2")
        return (t, try t.repo.commit(c1).tree, try t.repo.commit(c2).tree)
    }

    @Test func updatesEveryPathWhenNothingWasEdited() throws {
        let (t, v1, v2) = try history()
        let result = try t.repo.checkout(tree: v1, paths: ["a.md", "b.md", "new.md"], baseline: v2)
        #expect(result.updated == ["a.md", "b.md", "new.md"])
        #expect(result.skipped.isEmpty)
        #expect(t.read("a.md") == "a v1\n")
        #expect(t.read("b.md") == "b v1\n")
        #expect(!t.exists("new.md"))
        #expect(try t.git("diff", "--name-only").isEmpty) // index follows the working tree
    }

    @Test func anEditedFileIsSkippedAndTheRestUpdated() throws {
        let (t, v1, v2) = try history()
        try t.write("a.md", "operator edit\n")
        let result = try t.repo.checkout(tree: v1, paths: ["a.md", "b.md"], baseline: v2)
        #expect(result.updated == ["b.md"])
        #expect(result.skipped == ["a.md"])
        #expect(t.read("a.md") == "operator edit\n")
        #expect(t.read("b.md") == "b v1\n")
    }

    @Test func baselineDecidesWhatCountsAsAnEdit() throws {
        let (t, v1, v2) = try history()
        let v3 = try t.repo.updateTree(base: v2, changes: [
            .upsert(path: "a.md", oid: try t.repo.writeBlob(Data("a v3\n".utf8)), mode: TreeChange.fileMode),
        ])
        // The working tree holds v1's a.md: against a v2 baseline that is an edit, kept and skipped…
        try t.write("a.md", "a v1\n")
        let asEdit = try t.repo.checkout(tree: v3, paths: ["a.md"], baseline: v2)
        #expect(asEdit.skipped == ["a.md"])
        #expect(t.read("a.md") == "a v1\n")
        // …against a v1 baseline it is not, and the file is updated.
        let notEdit = try t.repo.checkout(tree: v3, paths: ["a.md"], baseline: v1)
        #expect(notEdit.updated == ["a.md"])
        #expect(t.read("a.md") == "a v3\n")
    }

    @Test func emptyPathsDoNothing() throws {
        let (t, v1, v2) = try history()
        let result = try t.repo.checkout(tree: v1, paths: [], baseline: v2)
        #expect(result.updated.isEmpty && result.skipped.isEmpty)
        #expect(t.read("a.md") == "a v2\n")
    }

    // MARK: libgit2's filters apply to a checkout

    @Test func checkoutWritesLineEndingsAsAutocrlfSays() throws {
        let (t, v1, v2) = try history()
        _ = try t.repo.checkout(tree: v1, paths: ["a.md"], baseline: v2)
        #expect(t.read("a.md") == "a v1\n")
        // core.autocrlf=true writes CRLF.
        _ = try t.git("config", "core.autocrlf", "true")
        let crlf = try Repository(at: t.path)
        _ = try crlf.checkout(tree: v2, paths: ["a.md"], baseline: v1)
        #expect(t.read("a.md") == "a v2\r\n")
    }

    @Test func anAttributesFileInAFolderAboveThePathApplies() throws {
        let (t, v1, v2) = try history()
        // In the working tree, in a folder above the path: its eol=crlf is applied.
        try t.write(".gitattributes", "*.md text eol=crlf\n")
        _ = try t.repo.checkout(tree: v1, paths: ["a.md"], baseline: v2)
        #expect(t.read("a.md") == "a v1\r\n")
    }
}
