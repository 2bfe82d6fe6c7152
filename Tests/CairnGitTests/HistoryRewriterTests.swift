import Foundation
import Testing
@testable import CairnGit

/// A filter that drops files whose path starts with one of `prefixes`, for commits before `before` (nil: all).
private struct PrefixFilter: TreeFilter {
    var prefixes: [String]
    var before: Int64? = nil
    func rules(forCommitTime time: Int64) -> UInt64 { before.map { time < $0 ? 1 : 0 } ?? 1 }
    func folder(_ path: String, rules: UInt64) -> FolderDecision {
        if prefixes.contains(where: { path == $0 || path.hasPrefix($0 + "/") }) { return .drop }
        return prefixes.contains(where: { $0.hasPrefix(path + "/") }) ? .inspect : .keep
    }
    func keepFile(_ path: String, blob: OID, rules: UInt64) -> Bool { !prefixes.contains(path) }
}

@Suite struct HistoryRewriterTests {
    init() { TestEnvironment.setUp() }

    /// Everything after the tree and parent lines of a commit, as git prints it.
    func commitRest(_ t: TestRepo, _ id: String) throws -> String {
        try t.gitRaw(["cat-file", "commit", id]).split(separator: "\n", omittingEmptySubsequences: false)
            .drop { $0.hasPrefix("tree ") || $0.hasPrefix("parent ") }.joined(separator: "\n")
    }

    @Test func forgottenFileLeavesEveryCommitAndHeadersStayByteForByte() throws {
        let t = try TestRepo()
        try t.commit(["a.md": "1\n"], message: "first\n\nCairn-Run: r1\n")
        let leak = try t.commit(["secret.txt": "AKIA…\n", "a.md": "2\n"], message: "second\n")
        let third = try t.commit(["a.md": "3\n"], message: "third\n\nCairn-Agent: gc\n")
        let secretBlob = try t.git("rev-parse", "\(leak.hex):secret.txt")
        _ = try t.commit(["secret.txt": nil], message: "remove it\n")
        let tipBefore = try t.revParse("main")
        let treeBefore = try t.git("rev-parse", "main^{tree}")

        let rewriter = HistoryRewriter(t.repo, filter: PrefixFilter(prefixes: ["secret.txt"]))
        let map = try rewriter.rewrite(tips: [tipBefore])
        let newTip = try #require(map[tipBefore] ?? nil)
        try t.repo.updateReference("refs/heads/main", to: newTip, expected: tipBefore, message: "rewrite")

        // The commit that only removed the file became empty and left; the others kept their message, author
        // and dates byte for byte.
        #expect(rewriter.droppedCommits == [tipBefore])
        #expect(try t.git("log", "--format=%s", "main").lines == ["third", "second", "first"])
        #expect(try t.git("rev-parse", "main^{tree}") == treeBefore)
        let newThird = try #require(map[third] ?? nil)
        #expect(try commitRest(t, newThird.hex) == commitRest(t, third.hex))
        #expect(try t.git("log", "--format=%(trailers:key=Cairn-Agent,valueonly)", "-1", newThird.hex) == "gc")
        #expect(try t.git("log", "--all", "--format=%H", "--", "secret.txt").isEmpty)
        #expect(rewriter.droppedFileVersions["secret.txt"] == [try #require(OID(hex: secretBlob))])
        t.expectFsckClean()
    }

    @Test func commitsNewerThanTheCutoffAreUntouched() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["w/a.md": "old\n", "k.md": "k\n"])
        let c2 = try t.commit(["w/a.md": "new\n"])
        let cutoff = Int64(try t.repo.commit(c2).committer.time.timeIntervalSince1970)
        let map = try HistoryRewriter(t.repo, filter: PrefixFilter(prefixes: ["w"], before: cutoff)).rewrite(tips: [c2])
        let newC1 = try #require(map[c1] ?? nil)
        #expect(newC1 != c1)
        #expect(try t.git("ls-tree", "-r", "--name-only", newC1.hex).lines == ["k.md"])
        let newC2 = try #require(map[c2] ?? nil)
        #expect(try t.git("rev-parse", "\(newC2.hex)^{tree}") == t.git("rev-parse", "\(c2.hex)^{tree}"))
        #expect(try t.git("rev-parse", "\(newC2.hex)^") == newC1.hex)
    }

    @Test func mergesKeepBothParentsAndUnchangedHistoryKeepsItsIds() throws {
        let t = try TestRepo()
        let base = try t.commit(["a.md": "1\n"])
        let side = try t.commit(["s.md": "s\n", "x/secret": "k\n"], parents: [base], ref: "refs/heads/side")
        let main = try t.commit(["a.md": "2\n"])
        let tree = try t.repo.updateTree(base: try t.repo.commit(main).tree,
                                         changes: [.upsert(path: "s.md", oid: try t.repo.writeBlob(Data("s\n".utf8)), mode: TreeChange.fileMode)])
        let sig = t.nextSignature()
        let merge = try t.repo.createCommit(tree: tree, parents: [main, side], author: sig, committer: sig, message: "merge\n")
        let map = try HistoryRewriter(t.repo, filter: PrefixFilter(prefixes: ["x"])).rewrite(tips: [merge])
        #expect(map[base] == .some(base))
        #expect(map[main] == .some(main))
        let newSide = try #require(map[side] ?? nil)
        #expect(newSide != side)
        let newMerge = try #require(map[merge] ?? nil)
        #expect(try t.repo.commit(newMerge).parents == [main, newSide])
        #expect(try t.repo.commit(newMerge).tree == tree)
    }

    @Test func knownMappingMovesOnlyNewCommits() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n", "secret": "k\n"])
        let c2 = try t.commit(["a.md": "2\n"])
        let local = try t.commit(["b.md": "mine\n"], message: "local\n")
        // Another machine rewrote c1 and c2 (without `secret`).
        let first = try HistoryRewriter(t.repo, filter: PrefixFilter(prefixes: ["secret"])).rewrite(tips: [c2])
        let known = first.filter { $0.value != $0.key }
        let rewriter = HistoryRewriter(t.repo, filter: PrefixFilter(prefixes: ["secret"]))
        let map = try rewriter.rewrite(tips: [local], known: known)
        let newLocal = try #require(map[local] ?? nil)
        #expect(try t.repo.commit(newLocal).parents == [try #require(first[c2] ?? nil)])
        #expect(try t.git("ls-tree", "-r", "--name-only", newLocal.hex).lines == ["a.md", "b.md"])
        #expect(try t.repo.commit(newLocal).message == "local\n")
        _ = c1
    }

    @Test func threadsSplitTheHistoryWithTheSameResult() throws {
        let t = try TestRepo()
        var tip = try t.commit(["a.md": "0\n", "w/n0.md": "0\n", "w/sub/x.md": "x0\n"])
        for i in 1..<40 {
            // Working notes change, come and go, and come back with earlier contents; some commits touch only them.
            var files: [String: String?] = ["w/n\(i % 5).md": "\(i % 7)\n"]
            if i % 3 == 0 { files["a.md"] = "\(i)\n" }
            if i % 11 == 0 { files["w/sub/x.md"] = nil } else if i % 11 == 1 { files["w/sub/x.md"] = "x\(i % 2)\n" }
            tip = try t.commit(files)
        }
        let side = try t.commit(["w/side.md": "s\n", "b.md": "b\n"], parents: [tip], ref: "refs/heads/side")
        let sig = t.nextSignature()
        let merge = try t.repo.createCommit(tree: try t.repo.commit(side).tree, parents: [tip, side], author: sig, committer: sig, message: "merge\n")
        let filter = PrefixFilter(prefixes: ["w/sub", "w/n1.md", "w/n2.md", "w/side.md"])
        let one = HistoryRewriter(t.repo, filter: filter)
        let expected = try one.rewrite(tips: [merge])
        for threads in [2, 3, 7, 0] {
            let many = HistoryRewriter(t.repo, filter: filter)
            many.threads = threads
            #expect(try many.rewrite(tips: [merge]) == expected)
            #expect(many.droppedCommits == one.droppedCommits)
            #expect(many.droppedFolders == one.droppedFolders)
            #expect(try many.droppedFiles() == one.droppedFiles())
        }
        #expect(!one.droppedCommits.isEmpty)
        #expect(!one.droppedFolders.isEmpty)
        // A plan hashes without storing: the same ids, and the trees of new commits from the rewriter.
        let plan = HistoryRewriter(t.repo, filter: PrefixFilter(prefixes: ["w/n3.md"]))
        plan.storesObjects = false
        plan.threads = 2
        let planned = try plan.rewrite(tips: [merge])
        let newMerge = try #require(planned[merge] ?? nil)
        #expect(!(try t.repo.contains(newMerge)))
        let stored = try HistoryRewriter(t.repo, filter: PrefixFilter(prefixes: ["w/n3.md"])).rewrite(tips: [merge])
        #expect(planned == stored)
        #expect(plan.newTree(of: newMerge) == (try t.repo.commit(newMerge).tree))
    }

    /// A rewrite reads each commit once in a walk of its own, unless commits are already known (then libgit2's
    /// walk hides them and their ancestors): both walks give the same new ids, merges and several tips included.
    @Test func bothWalksGiveTheSameNewIDs() throws {
        let t = try TestRepo()
        var tip = try t.commit(["a.md": "0\n", "w/n0.md": "0\n"])
        for i in 1..<25 {
            var files: [String: String?] = ["w/n\(i % 4).md": "\(i % 6)\n"]
            if i % 5 == 0 { files["a.md"] = "\(i)\n" }
            tip = try t.commit(files)
        }
        let fork = try t.revParse("main~10")
        let side = try t.commit(["w/side.md": "s\n", "b.md": "b\n"], parents: [fork], ref: "refs/heads/side")
        let side2 = try t.commit(["w/n1.md": "side\n"], parents: [side], ref: "refs/heads/side")
        let sig = t.nextSignature()
        let merge = try t.repo.createCommit(tree: try t.repo.commit(tip).tree, parents: [tip, side2], author: sig, committer: sig, message: "merge\n")
        let later = try t.commit(["c.md": "c\n"], parents: [merge])
        let other = try t.commit(["w/n2.md": "x\n"], parents: [try t.revParse("main~3")], ref: "refs/heads/other")
        // A commit of an unrelated history: known, it sends the rewrite through libgit2's walk without hiding anything.
        let unrelated = try t.commit(["u.md": "u\n"], parents: [], ref: "refs/heads/unrelated")
        let filter = PrefixFilter(prefixes: ["w/n1.md", "w/side.md"])
        for tips in [[later, other, side2], [other, later], [fork, later]] {
            let own = HistoryRewriter(t.repo, filter: filter)
            let mine = try own.rewrite(tips: tips)
            let libgit2 = HistoryRewriter(t.repo, filter: filter)
            var theirs = try libgit2.rewrite(tips: tips, known: [unrelated: .some(unrelated)])
            theirs[unrelated] = nil
            #expect(mine == theirs)
            #expect(own.droppedCommits == libgit2.droppedCommits)
            #expect(try own.droppedFiles() == libgit2.droppedFiles())
            #expect(Set(mine.keys.map(\.hex)) == Set(try t.gitRaw(["rev-list"] + tips.map(\.hex)).lines))
            #expect(mine.contains { $0.value != nil && $0.value != $0.key })
        }
    }

    @Test func objectSizesReadPackedDeltasWithoutBuildingThem() throws {
        let t = try TestRepo()
        var blobs: [OID] = []
        let body = (0..<200).map { "line \($0) of a note that changes a little\n" }.joined()
        for i in 0..<12 {
            let c = try t.commit(["n.md": body + "edit \(i)\n", "m/\(i).md": String(repeating: "x", count: i * 300)])
            blobs.append(try t.revParse("\(c.hex):n.md"))
            blobs.append(try t.revParse("\(c.hex):m/\(i).md"))
        }
        blobs.append(try t.repo.writeBlob(Data("loose\n".utf8)))
        _ = try t.git("repack", "-a", "-d", "-f", "--depth=10")
        _ = try t.repo.writeBlob(Data("loose\n".utf8))
        try t.repo.refreshObjects()
        #expect(try t.git("verify-pack", "-v", "\(t.repo.objectsDirectory)pack/" + ObjectStoreFiles(t.repo).packs()[0] + ".idx").contains("chain length"))
        let missing = try #require(OID(hex: String(repeating: "e", count: 40)))
        let sizes = try t.repo.objectSizes(blobs + [missing])
        #expect(sizes.count == blobs.count)
        for blob in blobs { #expect(sizes[blob] == (try t.repo.objectHeader(blob)?.size)) }
    }

    @Test func rawCommitParsesHeaders() throws {
        let text = "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nparent 1111111111111111111111111111111111111111\n"
            + "author A <a@x> 100 +0000\ncommitter C <c@x> 1700000123 +0200\n\nmsg\ncommitter X <x@x> 5 +0000\n"
        let raw = try #require(RawCommit(Array(text.utf8)))
        #expect(raw.tree == OID.emptyTree)
        #expect(raw.parents.map(\.hex) == [String(repeating: "1", count: 40)])
        #expect(raw.committerTime == 1_700_000_123)
        #expect(RawCommit(Array("tree xyz\n".utf8)) == nil)
    }
}
