import Foundation
import Testing
@testable import CairnGit

@Suite struct ReferenceTests {
    @Test func createWithExpectedNilMakesTheReference() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"], ref: nil)
        try t.repo.updateReference("refs/heads/proposals/run-1", to: c1, expected: nil, message: "propose run-1")
        #expect(try t.revParse("refs/heads/proposals/run-1") == c1)
        #expect(try t.repo.referenceTarget("refs/heads/proposals/run-1") == c1)
        #expect(try t.git("reflog", "show", "--format=%gs", "refs/heads/proposals/run-1") == "propose run-1")
        t.expectFsckClean()
    }

    @Test func createWhenTheReferenceExistsThrowsAndLeavesItAlone() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        let c2 = try t.commit(["a.md": "2\n"], ref: nil)
        let error = #expect(throws: GitError.self) {
            try t.repo.updateReference("refs/heads/main", to: c2, expected: nil, message: "clobber")
        }
        #expect(error?.code == GitError.exists.rawValue)
        #expect(try t.revParse("refs/heads/main") == c1)
    }

    @Test func updateWithTheRightExpectedMovesTheReference() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        let c2 = try t.commit(["a.md": "2\n"], ref: nil)
        try t.repo.updateReference("refs/heads/main", to: c2, expected: c1, message: "advance")
        #expect(try t.revParse("refs/heads/main") == c2)
        #expect(try t.git("reflog", "show", "-1", "--format=%gs", "refs/heads/main") == "advance")
    }

    @Test func updateWithAWrongExpectedThrowsModifiedAndLeavesTheReference() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        let c2 = try t.commit(["a.md": "2\n"])
        let c3 = try t.commit(["a.md": "3\n"], ref: nil)
        do {
            try t.repo.updateReference("refs/heads/main", to: c3, expected: c1, message: "stale writer")
            Issue.record("a stale compare-and-swap succeeded")
        } catch GitError.modified {
            // expected: another writer moved main to c2 first
        }
        #expect(try t.revParse("refs/heads/main") == c2)
        #expect(try t.git("reflog", "show", "-1", "--format=%gs", "refs/heads/main") != "stale writer")
    }

    @Test func updateWithExpectedWhenTheReferenceIsMissingThrows() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        #expect(throws: GitError.self) {
            try t.repo.updateReference("refs/heads/ghost", to: c1, expected: c1, message: "x")
        }
        #expect(t.run(["rev-parse", "--verify", "-q", "refs/heads/ghost"]).status != 0)
    }

    @Test func updateWorksOnAPackedReference() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        try t.git("pack-refs", "--all")
        #expect(!FileManager.default.fileExists(atPath: t.path + "/.git/refs/heads/main"))
        let c2 = try t.commit(["a.md": "2\n"], ref: nil)
        #expect(throws: GitError.self) { try t.repo.updateReference("refs/heads/main", to: c2, expected: c2, message: "x") }
        try t.repo.updateReference("refs/heads/main", to: c2, expected: c1, message: "y")
        #expect(try t.revParse("refs/heads/main") == c2)
    }

    @Test func onlyOneOfTwoRacingWritersWins() throws {
        let t = try TestRepo()
        let base = try t.commit(["a.md": "0\n"])
        let mine = try t.commit(["a.md": "mine\n"], parents: [base], ref: nil)
        let theirs = try t.commit(["a.md": "theirs\n"], parents: [base], ref: nil)
        // A second handle on the same repository plays the other writer.
        let other = try Repository(at: t.path)
        try other.updateReference("refs/heads/main", to: theirs, expected: base, message: "theirs")
        #expect(throws: GitError.self) { try t.repo.updateReference("refs/heads/main", to: mine, expected: base, message: "mine") }
        #expect(try t.revParse("refs/heads/main") == theirs)
    }

    @Test func referenceTargetPeelsSymbolicReferences() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        #expect(try t.repo.referenceTarget("HEAD") == c1)
        #expect(try t.repo.referenceTarget("refs/heads/main") == c1)
        #expect(try t.repo.referenceTarget("refs/heads/nope") == nil)
    }

    @Test func referencesWithPrefixReturnsOnlyMatchingReferences() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        let c2 = try t.commit(["a.md": "2\n"], ref: nil)
        try t.repo.updateReference("refs/heads/proposals/b", to: c2, expected: nil, message: "b")
        try t.repo.updateReference("refs/heads/proposals/a/b", to: c1, expected: nil, message: "a/b")
        try t.repo.updateReference("refs/heads/proposals/a/c/d", to: c2, expected: nil, message: "a/c/d")
        try t.repo.updateReference("refs/heads/proposals-old", to: c1, expected: nil, message: "x")
        try t.repo.updateReference("refs/heads/decided/proposals/z", to: c1, expected: nil, message: "x")
        try t.repo.updateReference("refs/tags/proposals/t", to: c1, expected: nil, message: "x")
        let found = try t.repo.references(withPrefix: "refs/heads/proposals/")
        #expect(found.map(\.name) == ["refs/heads/proposals/a/b", "refs/heads/proposals/a/c/d", "refs/heads/proposals/b"])
        #expect(found.map(\.target) == [c1, c2, c2])
        let gitSays = try t.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/proposals/").lines
        #expect(found.map { "\($0.name) \($0.target.hex)" } == gitSays)
        #expect(try t.repo.references(withPrefix: "refs/heads/nothing/").isEmpty)
    }

    @Test func referencesWithPrefixIncludesPackedReferences() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        try t.repo.updateReference("refs/heads/proposals/packed", to: c1, expected: nil, message: "p")
        try t.git("pack-refs", "--all")
        try t.repo.updateReference("refs/heads/proposals/loose", to: c1, expected: nil, message: "l")
        #expect(try t.repo.references(withPrefix: "refs/heads/proposals/").map(\.name) ==
                ["refs/heads/proposals/loose", "refs/heads/proposals/packed"])
    }

    @Test func referencesWithPrefixSkipsSymbolicReferences() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        try t.repo.updateReference("refs/remotes/origin/main", to: c1, expected: nil, message: "fetch")
        try t.git("symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
        #expect(try t.repo.references(withPrefix: "refs/remotes/origin/").map(\.name) == ["refs/remotes/origin/main"])
    }

    @Test func deleteReferenceWithTheRightExpectedDeletes() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        try t.repo.updateReference("refs/heads/proposals/x", to: c1, expected: nil, message: "x")
        try t.repo.deleteReference("refs/heads/proposals/x", expected: c1)
        #expect(t.run(["show-ref", "--verify", "-q", "refs/heads/proposals/x"]).status != 0)
        #expect(try t.repo.referenceTarget("refs/heads/proposals/x") == nil)
        t.expectFsckClean()
    }

    @Test func deleteReferenceWithAWrongExpectedThrowsAndKeepsIt() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        let c2 = try t.commit(["a.md": "2\n"], ref: nil)
        try t.repo.updateReference("refs/heads/proposals/x", to: c2, expected: nil, message: "x")
        let error = #expect(throws: GitError.self) { try t.repo.deleteReference("refs/heads/proposals/x", expected: c1) }
        #expect(error?.code == GitError.modified.rawValue)
        #expect(try t.revParse("refs/heads/proposals/x") == c2)
    }

    @Test func deleteReferenceOfAMissingReferenceIsNotAnError() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        try t.repo.deleteReference("refs/heads/never-existed", expected: c1)
        #expect(try t.revParse("refs/heads/main") == c1)
    }

    @Test func deleteReferenceRemovesAPackedReference() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        try t.repo.updateReference("refs/heads/proposals/p", to: c1, expected: nil, message: "p")
        try t.git("pack-refs", "--all")
        try t.repo.deleteReference("refs/heads/proposals/p", expected: c1)
        #expect(t.run(["show-ref", "--verify", "-q", "refs/heads/proposals/p"]).status != 0)
        #expect(try t.revParse("refs/heads/main") == c1)
    }

    @Test func invalidReferenceNamesAreRejected() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        for bad in ["refs/heads/a..b", "refs/heads/with space", "refs/heads/x.lock", "refs/heads/trailing/"] {
            #expect(throws: GitError.self, "\(bad) was accepted") {
                try t.repo.updateReference(bad, to: c1, expected: nil, message: "x")
            }
        }
    }
}
