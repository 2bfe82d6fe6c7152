import CairnGit
import Foundation
import Testing

/// `Repository.pushWithLease`: a forced update that the remote takes only while it still holds the expected value.
@Suite struct PushLeaseTests {
    /// A repository with two unrelated histories (`main` and `other`) pushed to a bare remote as main.
    func setUp() throws -> (local: TestRepo, remote: TestRepo, first: OID, rewritten: OID) {
        let remote = try TestRepo(bare: true)
        let local = try TestRepo()
        let first = try local.commit(["a.txt": "one\n"])
        let rewritten = try local.commit(["b.txt": "two\n"], parents: [], ref: "refs/heads/other")
        _ = try local.git("push", "-q", remote.path, "main:main")
        return (local, remote, first, rewritten)
    }

    @Test func aMatchingLeaseReplacesTheRefAndAStaleOneChangesNothing() throws {
        let (local, remote, first, rewritten) = try setUp()
        // Someone else moves the remote's main: a lease on the old value must not overwrite it.
        let theirs = try local.commit(["c.txt": "three\n"], parents: [first], ref: nil)
        _ = try local.git("push", "-q", remote.path, "\(theirs.hex):refs/heads/main")
        let stale = try local.repo.pushWithLease(remote: remote.path, updates: [
            LeasedPush(name: "refs/heads/main", new: rewritten, expected: first),
            LeasedPush(name: "refs/heads/extra", new: rewritten, expected: nil),
        ], credentials: TransportCredentials())
        #expect(stale.count == 2 && stale.allSatisfy { $0.rejection != nil }, "\(stale)")
        #expect(stale.first { $0.reference == "refs/heads/main" }?.rejection?.contains("stale info") == true)
        #expect(try remote.git("rev-parse", "main") == theirs.hex)
        #expect(remote.run(["rev-parse", "--verify", "-q", "refs/heads/extra"]).status != 0, "nothing was sent")

        // With the value the remote holds, the unrelated history replaces it (a non-fast-forward), and a delete works.
        _ = try local.git("push", "-q", remote.path, "main:refs/heads/doomed")
        let ok = try local.repo.pushWithLease(remote: remote.path, updates: [
            LeasedPush(name: "refs/heads/main", new: rewritten, expected: theirs),
            LeasedPush(name: "refs/heads/doomed", new: nil, expected: first),
        ], credentials: TransportCredentials())
        #expect(ok.allSatisfy { $0.rejection == nil }, "\(ok)")
        #expect(try remote.git("rev-parse", "main") == rewritten.hex)
        #expect(remote.run(["rev-parse", "--verify", "-q", "refs/heads/doomed"]).status != 0)
        #expect(try local.repo.references(withPrefix: Repository.pushStagingPrefix).isEmpty, "the staging refs are gone")
        remote.expectFsckClean()
    }
}
