import Foundation
import Testing
@testable import CairnGit

@Suite struct CommitTests {
    func treeWith(_ t: TestRepo, _ files: [String: String]) throws -> OID {
        try t.repo.updateTree(base: nil, changes: files.sorted { $0.key < $1.key }.map {
            .upsert(path: $0.key, oid: try t.repo.writeBlob(Data($0.value.utf8)), mode: TreeChange.fileMode)
        })
    }

    @Test func createCommitThenUpdateReferenceIsWhatGitSees() throws {
        let t = try TestRepo()
        let tree = try treeWith(t, ["notes/a.md": "a\n"])
        let sig = TestRepo.signature
        let commit = try t.repo.createCommit(tree: tree, parents: [], author: sig, committer: sig, message: "First note\n")
        #expect(t.run(["rev-parse", "--verify", "-q", "refs/heads/main"]).status != 0) // no ref moved yet
        try t.repo.updateReference("refs/heads/main", to: commit, expected: nil, message: "commit (initial): First note")
        #expect(try t.revParse("HEAD") == commit)
        #expect(try t.git("log", "--format=%H|%T|%P|%an|%ae|%at|%cn|%ce|%ct|%s") ==
                "\(commit.hex)|\(tree.hex)||Cairn Test|test@cairn.invalid|1700000000|Cairn Test|test@cairn.invalid|1700000000|First note")
        #expect(try t.git("cat-file", "-t", commit.hex) == "commit")
        t.expectFsckClean()
    }

    @Test func commitIdEqualsGitCommitTree() throws {
        let t = try TestRepo()
        let tree = try treeWith(t, ["a.md": "a\n", "dir/b.md": "b\n"])
        let message = "Subject line\n\nBody paragraph.\n\nCairn-Run: 42\n"
        let sig = TestRepo.signature
        let first = try t.repo.createCommit(tree: tree, parents: [], author: sig, committer: sig, message: message)
        let gitFirst = try t.git("commit-tree", tree.hex, "-F", "-", input: message)
        #expect(first.hex == gitFirst)
        let tree2 = try t.repo.updateTree(base: tree, changes: [.remove(path: "a.md")])
        let second = try t.repo.createCommit(tree: tree2, parents: [first], author: sig, committer: sig, message: "Second\n")
        let gitSecond = try t.git("commit-tree", tree2.hex, "-p", first.hex, "-F", "-", input: "Second\n")
        #expect(second.hex == gitSecond)
        // And the raw object has no extra headers (such as an encoding line) git would not write.
        #expect(try t.gitRaw(["cat-file", "commit", second.hex]) ==
                "tree \(tree2.hex)\nparent \(first.hex)\nauthor Cairn Test <test@cairn.invalid> 1700000000 +0000\ncommitter Cairn Test <test@cairn.invalid> 1700000000 +0000\n\nSecond\n")
    }

    @Test func commitIdsAreStableAcrossRepositories() throws {
        let t1 = try TestRepo(), t2 = try TestRepo(cli: ())
        let c1 = try t1.commit(["a.md": "a\n"], message: "same\n")
        let c2 = try t2.commit(["a.md": "a\n"], message: "same\n")
        #expect(c1 == c2)
    }

    @Test func commitReadsBackEveryField() throws {
        let t = try TestRepo()
        let tree = try treeWith(t, ["a.md": "a\n"])
        let author = Signature(name: "Ada Agent", email: "ada@agents.invalid", time: Date(timeIntervalSince1970: 1_600_000_000.75), offsetMinutes: 120)
        let committer = Signature(name: "Cairn", email: "cairn@local.invalid", time: Date(timeIntervalSince1970: 1_600_000_100), offsetMinutes: -330)
        let parent = try t.repo.createCommit(tree: tree, parents: [], author: author, committer: committer, message: "p\n")
        let message = "Summary here\n\nFirst body line.\nSecond body line.\n"
        let oid = try t.repo.createCommit(tree: tree, parents: [parent], author: author, committer: committer, message: message)
        let c = try t.repo.commit(oid)
        #expect(c.oid == oid)
        #expect(c.tree == tree)
        #expect(c.parents == [parent])
        #expect(c.author.name == "Ada Agent")
        #expect(c.author.email == "ada@agents.invalid")
        #expect(c.author.time == Date(timeIntervalSince1970: 1_600_000_000)) // whole seconds
        #expect(c.author.offsetMinutes == 120)
        #expect(c.committer.offsetMinutes == -330)
        #expect(c.committer.description == "Cairn <cairn@local.invalid>")
        #expect(c.message == message)
        #expect(c.summary == "Summary here")
        #expect(c.body == "First body line.\nSecond body line.")
        // git reads the same values.
        #expect(try t.git("log", "-1", "--format=%an <%ae> %at %ai|%cn %ct %ci|%P", oid.hex) ==
                "Ada Agent <ada@agents.invalid> 1600000000 2020-09-13 14:26:40 +0200|Cairn 1600000100 2020-09-13 06:58:20 -0530|\(parent.hex)")
        #expect(try t.git("log", "-1", "--format=%s", oid.hex) == c.summary)
        #expect(try t.git("log", "-1", "--format=%b", oid.hex) == c.body)
    }

    @Test func mergeCommitKeepsParentOrder() throws {
        let t = try TestRepo()
        let base = try t.commit(["a.md": "a\n"])
        let left = try t.commit(["l.md": "l\n"], parents: [base], ref: nil)
        let right = try t.commit(["r.md": "r\n"], parents: [base], ref: nil)
        let tree = try treeWith(t, ["a.md": "a\n", "l.md": "l\n", "r.md": "r\n"])
        let merge = try t.repo.createCommit(tree: tree, parents: [left, right], author: TestRepo.signature, committer: TestRepo.signature, message: "Merge\n")
        try t.repo.updateReference("refs/heads/main", to: merge, expected: base, message: "merge")
        #expect(try t.repo.commit(merge).parents == [left, right])
        #expect(try t.git("rev-list", "--parents", "-1", "HEAD") == "\(merge.hex) \(left.hex) \(right.hex)")
        t.expectFsckClean()
    }

    @Test func summaryAndBodyOfOneLineMessage() throws {
        let t = try TestRepo()
        let c = try t.repo.commit(try t.commit(["a.md": "a\n"], message: "Only a subject\n"))
        #expect(c.summary == "Only a subject")
        #expect(c.body == "")
        #expect(c.trailers.isEmpty)
    }

    @Test func createCommitRejectsMissingTreeOrParent() throws {
        let t = try TestRepo()
        let tree = try treeWith(t, ["a.md": "a\n"])
        let missing = try #require(OID(hex: String(repeating: "ef", count: 20)))
        let sig = TestRepo.signature
        #expect(throws: GitError.self) { _ = try t.repo.createCommit(tree: missing, parents: [], author: sig, committer: sig, message: "m\n") }
        #expect(throws: GitError.self) { _ = try t.repo.createCommit(tree: tree, parents: [missing], author: sig, committer: sig, message: "m\n") }
        #expect(throws: GitError.self) { _ = try t.repo.createCommit(tree: tree, parents: [tree], author: sig, committer: sig, message: "m\n") }
    }

    @Test func commitOfANonCommitIdThrows() throws {
        let t = try TestRepo()
        let blob = try t.repo.writeBlob(Data("x".utf8))
        #expect(throws: GitError.self) { _ = try t.repo.commit(blob) }
    }

    // MARK: trailers

    /// `git interpret-trailers --parse` of `message`, as trailers.
    func gitTrailers(_ t: TestRepo, _ message: String) throws -> [Trailer] {
        try t.git("interpret-trailers", "--parse", input: message).lines.map { line in
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return Trailer(parts[0], parts.count > 1 ? parts[1] : "")
        }
    }

    @Test(arguments: [
        "Subject\n\nBody.\n\nCairn-Run: 2024-01-01-abc\nCairn-Agent: librarian\nSigned-off-by: A <a@b.c>\n",
        "Subject\n\nCairn-Run: only-trailers-paragraph\n",
        "Subject\n\nBody mentions Key: value inside a sentence.\n",
        "Subject\n\nFirst paragraph.\n\nNot a trailer line\nKey: value\n",
        "Subject\n\nBody\n\nKey: value with  spaces  inside\nOther-Key:no-space\n",
        "Subject only Key: value\n",
        "Subject\n\nBody\n\nSigned-off-by: A <a@b.c>\n(cherry picked from commit 1234)\n",
    ])
    func trailersParseLikeGitInterpretTrailers(message: String) throws {
        let t = try TestRepo()
        #expect(Trailer.parse(message) == (try gitTrailers(t, message)))
    }

    @Test func trailersOfACommit() throws {
        let t = try TestRepo()
        let message = "Approve note\n\nLonger explanation.\n\nCairn-Run: r-1\nCairn-Agent: scout\nCairn-Run: r-2\n"
        let c = try t.repo.commit(try t.commit(["a.md": "a\n"], message: message))
        #expect(c.trailers == [Trailer("Cairn-Run", "r-1"), Trailer("Cairn-Agent", "scout"), Trailer("Cairn-Run", "r-2")])
        #expect(c.trailer("Cairn-Run") == "r-1")
        #expect(c.trailer("Cairn-Agent") == "scout")
        #expect(c.trailer("Missing") == nil)
        #expect(try t.git("log", "-1", "--format=%(trailers:key=Cairn-Agent,valueonly)") == "scout")
    }

    @Test func trailerMessageLayout() {
        let full = Trailer.message(subject: "  Subject  ", body: "\nBody line 1\nBody line 2\n\n", trailers: [Trailer("Cairn-Run", "x"), Trailer("Cairn-Agent", "y")])
        #expect(full == "Subject\n\nBody line 1\nBody line 2\n\nCairn-Run: x\nCairn-Agent: y\n")
        #expect(Trailer.message(subject: "S", trailers: [Trailer("K", "v")]) == "S\n\nK: v\n")
        #expect(Trailer.message(subject: "S", body: "B", trailers: []) == "S\n\nB\n")
        #expect(Trailer.message(subject: "S", body: "   ", trailers: []) == "S\n")
        #expect(Trailer("K", "v").description == "K: v")
    }

    @Test func trailerMessageRoundTripsThroughGit() throws {
        let t = try TestRepo()
        let trailers = [Trailer("Cairn-Run", "2024-05-01-7f3a"), Trailer("Cairn-Agent", "librarian"), Trailer("Cairn-Tool", "write_note")]
        let message = Trailer.message(subject: "Add reading list", body: "Three new books.", trailers: trailers)
        #expect(Trailer.parse(message) == trailers)
        #expect(try gitTrailers(t, message) == trailers)
        let commit = try t.commit(["a.md": "a\n"], message: message)
        #expect(try t.repo.commit(commit).trailers == trailers)
        #expect(try t.gitRaw(["log", "-1", "--format=%B", commit.hex]) == message + "\n")
        // git's own stripspace leaves the message as it is: it is already in git's layout.
        #expect(try t.gitRaw(["stripspace"], input: message) == message)
    }
}
