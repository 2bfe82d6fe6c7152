import Foundation
import Testing
@testable import CairnGit

@Suite struct MergeTests {
    static let ten = (1...10).map { "line \($0)" }.joined(separator: "\n") + "\n"

    /// base → ours (on main) and base → theirs (on side), each from `files` edits.
    func fork(ours: [String: String?], theirs: [String: String?]) throws -> (TestRepo, base: OID, ours: OID, theirs: OID) {
        let t = try TestRepo()
        let base = try t.commit(["a.md": Self.ten, "b.md": "b\n"], message: "base")
        let theirsCommit = try t.commit(theirs, message: "theirs", parents: [base], ref: "refs/heads/side")
        let oursCommit = try t.commit(ours, message: "ours")
        return (t, base, oursCommit, theirsCommit)
    }

    func tree(_ t: TestRepo, _ commit: OID) throws -> OID { try t.repo.commit(commit).tree }

    @Test func mergeBaseMatchesGit() throws {
        let (t, base, ours, theirs) = try fork(ours: ["b.md": "b ours\n"], theirs: ["c.md": "c\n"])
        #expect(try t.repo.mergeBase(ours, theirs) == base)
        #expect(try t.repo.mergeBase(ours, theirs) == t.revParse(try t.git("merge-base", "main", "side")))
        #expect(try t.repo.mergeBase(ours, base) == base)
    }

    @Test func mergeBaseOfUnrelatedHistoriesIsNil() throws {
        let t = try TestRepo()
        let a = try t.commit(["a.md": "a\n"])
        let b = try t.commit(["b.md": "b\n"], parents: [], ref: "refs/heads/orphan")
        #expect(try t.repo.mergeBase(a, b) == nil)
        #expect(t.run(["merge-base", "main", "orphan"]).status != 0)
    }

    @Test func isAncestorAgreesWithGit() throws {
        let (t, base, ours, theirs) = try fork(ours: ["b.md": "b ours\n"], theirs: ["c.md": "c\n"])
        let cases: [(OID, OID, Bool)] = [(base, ours, true), (base, theirs, true), (ours, base, false), (ours, theirs, false), (ours, ours, true)]
        for (ancestor, descendant, expected) in cases {
            #expect(try t.repo.isAncestor(ancestor, of: descendant) == expected)
            let git = t.run(["merge-base", "--is-ancestor", ancestor.hex, descendant.hex]).status == 0
            #expect(git == expected)
        }
    }

    @Test func disjointEditsMergeCleanly() throws {
        let (t, base, ours, theirs) = try fork(ours: ["b.md": "b ours\n", "ours-only.md": "o\n"], theirs: ["c.md": "c theirs\n"])
        let result = try t.repo.mergeTrees(ancestor: try tree(t, base), ours: try tree(t, ours), theirs: try tree(t, theirs))
        guard case .merged(let merged) = result else {
            Issue.record("expected a clean merge, got \(result)")
            return
        }
        #expect(try t.git("ls-tree", "-r", "--name-only", merged.hex).lines == ["a.md", "b.md", "c.md", "ours-only.md"])
        #expect(try t.git("cat-file", "-p", "\(merged.hex):b.md") == "b ours")
        #expect(try t.git("cat-file", "-p", "\(merged.hex):c.md") == "c theirs")
        // git's own merge of the same commits gives the same tree.
        #expect(try t.git("merge-tree", "--write-tree", "main", "side") == merged.hex)
        #expect(try t.git("cat-file", "-t", merged.hex) == "tree")
    }

    @Test func editsToDifferentPartsOfOneFileMergeCleanly() throws {
        let top = Self.ten.replacingOccurrences(of: "line 1\n", with: "line one\n")
        let bottom = Self.ten.replacingOccurrences(of: "line 10\n", with: "line ten\n")
        let (t, base, ours, theirs) = try fork(ours: ["a.md": top], theirs: ["a.md": bottom])
        let result = try t.repo.mergeTrees(ancestor: try tree(t, base), ours: try tree(t, ours), theirs: try tree(t, theirs))
        guard case .merged(let merged) = result else {
            Issue.record("expected a clean merge, got \(result)")
            return
        }
        let content = try t.gitRaw(["cat-file", "-p", "\(merged.hex):a.md"])
        #expect(content.hasPrefix("line one\n"))
        #expect(content.hasSuffix("line ten\n"))
        #expect(try t.git("merge-tree", "--write-tree", "main", "side") == merged.hex)
    }

    @Test func conflictingEditsReportThePath() throws {
        let (t, base, ours, theirs) = try fork(
            ours: ["a.md": Self.ten.replacingOccurrences(of: "line 5\n", with: "ours 5\n"), "b.md": "b ours\n"],
            theirs: ["a.md": Self.ten.replacingOccurrences(of: "line 5\n", with: "theirs 5\n"), "c.md": "c\n"])
        let result = try t.repo.mergeTrees(ancestor: try tree(t, base), ours: try tree(t, ours), theirs: try tree(t, theirs))
        #expect(result == .conflicts(["a.md"]))
        let git = t.run(["merge-tree", "--write-tree", "--name-only", "main", "side"])
        #expect(git.status == 1)
        #expect(git.stdout.lines.dropFirst().first == "a.md")
    }

    @Test func modifyDeleteIsAConflict() throws {
        let (t, base, ours, theirs) = try fork(ours: ["b.md": "b changed\n"], theirs: ["b.md": nil])
        let result = try t.repo.mergeTrees(ancestor: try tree(t, base), ours: try tree(t, ours), theirs: try tree(t, theirs))
        #expect(result == .conflicts(["b.md"]))
        #expect(t.run(["merge-tree", "--write-tree", "main", "side"]).status == 1)
    }

    @Test func renameOnOneSideAndEditOnTheOtherMerges() throws {
        let t = try TestRepo()
        let body = (1...20).map { "para \($0)" }.joined(separator: "\n") + "\n"
        let base = try t.commit(["inbox/note.md": body])
        let theirs = try t.commit(["inbox/note.md": body.replacingOccurrences(of: "para 3\n", with: "para three\n")], parents: [base], ref: "refs/heads/side")
        let ours = try t.commit(["inbox/note.md": nil, "archive/note.md": body])
        let result = try t.repo.mergeTrees(ancestor: try tree(t, base), ours: try tree(t, ours), theirs: try tree(t, theirs))
        guard case .merged(let merged) = result else {
            Issue.record("expected a clean merge, got \(result)")
            return
        }
        #expect(try t.git("ls-tree", "-r", "--name-only", merged.hex) == "archive/note.md")
        #expect(try t.gitRaw(["cat-file", "-p", "\(merged.hex):archive/note.md"]).contains("para three\n"))
    }

    @Test func nilAncestorMergesAdditions() throws {
        let t = try TestRepo()
        let ours = try t.commit(["a.md": "a\n"])
        let theirs = try t.commit(["b.md": "b\n"], parents: [], ref: "refs/heads/orphan")
        let result = try t.repo.mergeTrees(ancestor: nil, ours: try tree(t, ours), theirs: try tree(t, theirs))
        guard case .merged(let merged) = result else {
            Issue.record("expected a clean merge, got \(result)")
            return
        }
        #expect(try t.git("ls-tree", "-r", "--name-only", merged.hex).lines == ["a.md", "b.md"])
        let clash = try t.commit(["a.md": "different\n"], parents: [], ref: "refs/heads/clash")
        #expect(try t.repo.mergeTrees(ancestor: nil, ours: try tree(t, ours), theirs: try tree(t, clash)) == .conflicts(["a.md"]))
    }

    @Test func identicalSidesMergeToThatTree() throws {
        let (t, base, ours, _) = try fork(ours: ["b.md": "b ours\n"], theirs: ["c.md": "c\n"])
        #expect(try t.repo.mergeTrees(ancestor: try tree(t, base), ours: try tree(t, ours), theirs: try tree(t, ours)) == .merged(try tree(t, ours)))
    }
}
