import Foundation
import Testing
@testable import CairnGit

@Suite struct RevWalkTests {
    func drain(_ walk: RevWalk) throws -> [OID] {
        var out: [OID] = []
        while let next = try walk.next() { out.append(next) }
        return out
    }

    func revList(_ t: TestRepo, _ args: String...) throws -> [OID] {
        try t.gitRaw(["rev-list"] + args).lines.compactMap { OID(hex: $0) }
    }

    /// main: c1 - c2 - m - c5, where m merges side (c3 - c4, branched at c2).
    func mergeHistory() throws -> (TestRepo, [String: OID]) {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        let c2 = try t.commit(["a.md": "2\n"])
        let c3 = try t.commit(["s.md": "3\n"], parents: [c2], ref: "refs/heads/side")
        let c4 = try t.commit(["s.md": "4\n"], ref: "refs/heads/side")
        let mergedTree = try t.repo.updateTree(base: try t.repo.commit(c2).tree,
                                               changes: [.upsert(path: "s.md", oid: try t.repo.writeBlob(Data("4\n".utf8)), mode: TreeChange.fileMode)])
        let sig = t.nextSignature()
        let m = try t.repo.createCommit(tree: mergedTree, parents: [c2, c4], author: sig, committer: sig, message: "merge side\n")
        try t.repo.updateReference("refs/heads/main", to: m, expected: c2, message: "merge")
        let c5 = try t.commit(["a.md": "5\n"])
        return (t, ["c1": c1, "c2": c2, "c3": c3, "c4": c4, "m": m, "c5": c5])
    }

    @Test func walkIsNewestFirst() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        let c2 = try t.commit(["a.md": "2\n"])
        let c3 = try t.commit(["a.md": "3\n"])
        let walk = try RevWalk(t.repo)
        try walk.push(c3)
        let order = try drain(walk)
        #expect(order == [c3, c2, c1])
        #expect(order == (try revList(t, "HEAD")))
        #expect(try walk.next() == nil) // stays exhausted
    }

    @Test func hideExcludesAncestors() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        let c2 = try t.commit(["a.md": "2\n"])
        let c3 = try t.commit(["a.md": "3\n"])
        let walk = try RevWalk(t.repo)
        try walk.push(c3)
        try walk.hide(c1)
        #expect(try drain(walk) == [c3, c2])
        #expect(try revList(t, "\(c1.hex)..\(c3.hex)") == [c3, c2])
    }

    @Test func reverseIsOldestFirst() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        let c2 = try t.commit(["a.md": "2\n"])
        let c3 = try t.commit(["a.md": "3\n"])
        let walk = try RevWalk(t.repo, reverse: true)
        try walk.push(c3)
        #expect(try drain(walk) == [c1, c2, c3])
        #expect(try revList(t, "--reverse", "HEAD") == [c1, c2, c3])
    }

    @Test func mergeHistoryIsTopologicalAndComplete() throws {
        let (t, c) = try mergeHistory()
        let walk = try RevWalk(t.repo)
        try walk.push(c["c5"]!)
        let order = try drain(walk)
        #expect(Set(order) == Set(try revList(t, "main")))
        #expect(order.count == 6)
        #expect(order.first == c["c5"])
        #expect(order.last == c["c1"])
        // Every commit comes before its parents.
        let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        for oid in order {
            for parent in try t.repo.commit(oid).parents {
                #expect(position[oid]! < position[parent]!)
            }
        }
    }

    @Test func firstParentOnlyFollowsTheMainLine() throws {
        let (t, c) = try mergeHistory()
        let walk = try RevWalk(t.repo, firstParentOnly: true)
        try walk.push(c["c5"]!)
        let order = try drain(walk)
        #expect(order == [c["c5"]!, c["m"]!, c["c2"]!, c["c1"]!])
        #expect(order == (try revList(t, "--first-parent", "main")))
    }

    @Test func firstParentOnlyReversedWithHide() throws {
        let (t, c) = try mergeHistory()
        let walk = try RevWalk(t.repo, firstParentOnly: true, reverse: true)
        try walk.push(c["c5"]!)
        try walk.hide(c["c1"]!)
        #expect(try drain(walk) == [c["c2"]!, c["m"]!, c["c5"]!])
        #expect(try revList(t, "--first-parent", "--reverse", "\(c["c1"]!.hex)..main") == [c["c2"]!, c["m"]!, c["c5"]!])
    }

    @Test func hidingTheSideBranchLeavesMainlineCommits() throws {
        let (t, c) = try mergeHistory()
        let walk = try RevWalk(t.repo)
        try walk.push(c["c5"]!)
        try walk.hide(c["c4"]!)
        #expect(try drain(walk) == [c["c5"]!, c["m"]!])
        #expect(try revList(t, "side..main") == [c["c5"]!, c["m"]!])
    }

    @Test func emptyWalkEndsAtOnce() throws {
        let t = try TestRepo()
        let walk = try RevWalk(t.repo)
        #expect(try walk.next() == nil)
    }

    @Test func pushingAnUnknownCommitThrows() throws {
        let t = try TestRepo()
        let walk = try RevWalk(t.repo)
        let missing = try #require(OID(hex: String(repeating: "9", count: 40)))
        #expect(throws: GitError.self) { try walk.push(missing) }
    }
}
