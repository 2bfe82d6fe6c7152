import CairnKit
import Foundation
import Testing

/// A history rewrite (forget) on one machine reaches the shared remote and every other machine through
/// `cairn sync`: the rewrite is pushed with compare-and-swap, another machine's own commits move onto the new
/// history, and the forgotten blob is in no history of the remote and in no fresh clone of it.
@Suite struct SyncRewriteTests {
    static let secret = "GITHUB_TOKEN=ghp_nErREHQuRVfRnHxVAGQDXHsZS7NM5kgRU67b\n"

    /// A laptop vault whose history once held `notes/key.md` (committed, then deleted), synced to a bare remote,
    /// and a server cloned from it.
    func twoMachinesWithALeak(_ sb: Sandbox) throws -> (laptop: String, server: String, remote: String, blob: String) {
        let laptop = try sb.makeVault("laptop")
        try sb.gitOK(["config", "cairn.machine", "laptop"], cwd: laptop)
        try sb.write(laptop + "/memory/projects/acme.md", "# Acme\n")
        try sb.write(laptop + "/notes/key.md", Self.secret)
        try sb.cairnOK(["snapshot"], cwd: laptop)
        let blob = try sb.gitOK(["rev-parse", "HEAD:notes/key.md"], cwd: laptop)
        try FileManager.default.removeItem(atPath: laptop + "/notes/key.md")
        try sb.write(laptop + "/memory/projects/acme.md", "# Acme\nsigned\n")
        try sb.cairnOK(["snapshot"], cwd: laptop)
        let remote = try sb.makeBareRemote()
        try sb.cairnOK(["remote", "add", "origin", "file://" + remote], cwd: laptop)
        try sb.cairnOK(["sync"], cwd: laptop)
        let server = try sb.cloneVault("file://" + remote, "server", machine: "server")
        #expect(sb.git(["cat-file", "-e", blob], cwd: server).status == 0)
        return (laptop, server, remote, blob)
    }

    /// Nothing reachable in `repo` mentions the path, and a fresh `--no-local` clone lacks the blob.
    func expectGoneFromRemote(_ sb: Sandbox, _ remote: String, blob: String, fresh: String,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try sb.gitOK(["log", "--all", "--format=%H", "--", "notes/key.md"], cwd: remote).isEmpty, sourceLocation: sourceLocation)
        try sb.gitOK(["clone", "-q", "--bare", "--no-local", remote, sb.work + "/" + fresh], cwd: sb.work)
        #expect(sb.git(["cat-file", "-e", blob], cwd: sb.work + "/" + fresh).status != 0, sourceLocation: sourceLocation)
        sb.expectFsckClean(sb.work + "/" + fresh, sourceLocation: sourceLocation)
    }

    @Test func aForgetReachesTheRemoteAndASecondMachineMovesItsOwnCommitsOntoIt() throws {
        let sb = try Sandbox()
        let (laptop, server, remote, blob) = try twoMachinesWithALeak(sb)
        // The server commits on the old history and does not sync yet.
        try sb.write(server + "/memory/projects/server-note.md", "# From the server\n")
        try sb.cairnOK(["snapshot", "-m", "note from the server"], cwd: server)
        let serverCommitsBefore = try sb.gitOK(["rev-list", "--count", "main"], cwd: server)

        try sb.cairnOK(["forget", "notes/key.md", "--reason", "leaked token"], cwd: laptop)
        let oldRemoteMain = try sb.gitOK(["rev-parse", "main"], cwd: remote)
        let push = try sb.cairnOK(["sync"], cwd: laptop)
        #expect(push.output.contains("pushed 1 history rewrite"), "\(push)")
        // The remote's main was replaced (not merged): it is the laptop's rewritten main, and the old one is not in it.
        let laptopMain = try sb.gitOK(["rev-parse", "main"], cwd: laptop)
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: remote) == laptopMain, "\(push)")
        #expect(sb.git(["merge-base", "--is-ancestor", oldRemoteMain, "main"], cwd: remote).status != 0)
        #expect(try sb.gitOK(["rev-parse", "refs/cairn/rewrites"], cwd: remote) == (try sb.gitOK(["rev-parse", "refs/cairn/rewrites"], cwd: laptop)))
        #expect(sb.git(["cat-file", "-e", blob], cwd: laptop).status != 0, "the sync fetched nothing of the old history back")
        try expectGoneFromRemote(sb, remote, blob: blob, fresh: "fresh1.git")

        // The server follows: its own commit now sits on the rewritten history, and the secret is gone there too.
        let follow = try sb.cairnOK(["sync"], cwd: server)
        #expect(follow.output.contains("followed 1 history rewrite"), "\(follow)")
        #expect(try sb.gitOK(["log", "-1", "--format=%s", "main"], cwd: server) == "note from the server")
        #expect(sb.git(["merge-base", "--is-ancestor", laptopMain, "main"], cwd: server).status == 0)
        #expect(try sb.gitOK(["rev-list", "--count", "main"], cwd: server) == serverCommitsBefore)
        #expect(sb.git(["cat-file", "-e", blob], cwd: server).status != 0)
        #expect(try sb.gitOK(["log", "--all", "--format=%H", "--", "notes/key.md"], cwd: server).isEmpty)
        sb.expectFsckClean(server)
        #expect(try sb.gitOK(["status", "--porcelain"], cwd: server).isEmpty)
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: remote) == (try sb.gitOK(["rev-parse", "main"], cwd: server)))
        try expectGoneFromRemote(sb, remote, blob: blob, fresh: "fresh2.git")

        // The laptop takes the server's commit by fast-forward; both sides agree.
        try sb.cairnOK(["sync"], cwd: laptop)
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: laptop) == (try sb.gitOK(["rev-parse", "main"], cwd: server)))
        #expect(try sb.tree(laptop) == (try sb.tree(server)))
        sb.expectFsckClean(laptop)
        #expect(sb.git(["cat-file", "-e", blob], cwd: laptop).status != 0)
    }

    /// The server pushed on the old history after the laptop's forget but before the laptop synced: the laptop's
    /// sync moves the server's commit onto the new history (as the server would), replaces the remote's main with
    /// compare-and-swap, and deletes the old objects it had to fetch; the server then follows and lands on the same
    /// commit.
    @Test func aPushOnTheOldHistoryIsMovedOntoTheRewrite() throws {
        let sb = try Sandbox()
        let (laptop, server, remote, blob) = try twoMachinesWithALeak(sb)
        try sb.cairnOK(["forget", "notes/key.md", "--reason", "leaked token"], cwd: laptop)
        let rewritten = try sb.gitOK(["rev-parse", "main"], cwd: laptop)
        try sb.write(server + "/memory/projects/server-note.md", "# From the server\n")
        try sb.cairnOK(["snapshot", "-m", "note from the server"], cwd: server)
        try sb.cairnOK(["sync"], cwd: server)
        let serverOld = try sb.gitOK(["rev-parse", "main"], cwd: server)

        let sync = try sb.cairnOK(["sync"], cwd: laptop)
        #expect(sync.output.contains("moved onto the new history"), "\(sync)")
        let remoteMain = try sb.gitOK(["rev-parse", "main"], cwd: remote)
        #expect(remoteMain != serverOld)
        #expect(try sb.gitOK(["rev-parse", "main^"], cwd: remote) == rewritten)
        #expect(try sb.gitOK(["log", "-1", "--format=%s", "main"], cwd: remote) == "note from the server")
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: laptop) == remoteMain)
        #expect(sb.git(["cat-file", "-e", blob], cwd: laptop).status != 0, "what the fetch brought back was deleted")
        #expect(sb.git(["cat-file", "-e", serverOld], cwd: laptop).status != 0)
        sb.expectFsckClean(laptop)
        try expectGoneFromRemote(sb, remote, blob: blob, fresh: "fresh.git")

        let follow = try sb.cairnOK(["sync"], cwd: server)
        #expect(follow.output.contains("followed 1 history rewrite"), "\(follow)")
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: server) == remoteMain)
        #expect(sb.git(["cat-file", "-e", blob], cwd: server).status != 0)
        sb.expectFsckClean(server)
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: remote) == remoteMain)
    }

    /// Two machines that each rewrote history before syncing: the second is refused and nothing changes.
    @Test func twoIndependentRewritesAreRefused() throws {
        let sb = try Sandbox()
        let (laptop, server, remote, _) = try twoMachinesWithALeak(sb)
        try sb.write(laptop + "/other.txt", "x\n")
        try sb.cairnOK(["snapshot"], cwd: laptop)
        try FileManager.default.removeItem(atPath: laptop + "/other.txt")
        try sb.cairnOK(["snapshot"], cwd: laptop)
        try sb.cairnOK(["forget", "notes/key.md", "--reason", "leaked"], cwd: server)
        try sb.cairnOK(["forget", "other.txt", "--reason", "unwanted"], cwd: laptop)
        try sb.cairnOK(["sync"], cwd: server)
        let remoteMain = try sb.gitOK(["rev-parse", "main"], cwd: remote)
        let laptopMain = try sb.gitOK(["rev-parse", "main"], cwd: laptop)
        let r = sb.runCairn(["sync"], cwd: laptop)
        #expect(r.status == 1 && r.stderr.contains("each rewrote history"), "\(r)")
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: remote) == remoteMain)
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: laptop) == laptopMain)
    }
}
