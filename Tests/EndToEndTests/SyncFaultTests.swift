import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Sync when the line or the remote misbehaves: a connection cut in the middle of a fetch and of a push (a TCP proxy
/// in front of a real `git daemon` resets both sides after some bytes, as a killed server does), another machine or a
/// plain `git push` landing between this machine's fetch and its push, two machines pushing at the same moment, and
/// remote URLs that lead nowhere. Each ends in a clear message or a successful retry, nothing local is lost, and
/// running sync again finishes the job. Every side is judged with the git CLI.
@Suite struct SyncFaultTests {
    /// A git daemon serving `served/vault.git`, a laptop vault that pushed to it, and a server cloned from it.
    struct Setup {
        let daemon: ServerProcess
        let bare: String
        let direct: String
        let laptop: String
        let server: String
    }

    func setUp(_ sb: Sandbox) throws -> Setup {
        let base = sb.work + "/served"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let bare = base + "/vault.git"
        try sb.gitOK(["init", "-q", "--bare", "-b", "main", bare], cwd: sb.work)
        let daemon = try sb.startGitDaemon(base: base)
        let direct = "git://127.0.0.1:\(daemon.port)/vault.git"
        let laptop = try sb.makeVaultWithNoteAgent("laptop")
        try sb.gitOK(["config", "cairn.machine", "laptop"], cwd: laptop)
        try sb.cairnOK(["remote", "add", "origin", direct], cwd: laptop)
        try sb.cairnOK(["sync"], cwd: laptop)
        let server = try sb.cloneVault(direct, "server", machine: "server")
        return Setup(daemon: daemon, bare: bare, direct: direct, laptop: laptop, server: server)
    }

    /// `faulty_proxy.py` in front of `target` on a free port (its count of cut connections lands in `dir/PORT.cuts`).
    func startProxy(_ sb: Sandbox, target: Int, _ args: [String]) throws -> (ServerProcess, cuts: String) {
        let port = try freePort()
        let dir = sb.root + "/proxy-\(port)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let script = Binaries.packageRoot + "/Tests/Support/faulty_proxy.py"
        let proxy = try ServerProcess("/usr/bin/python3", [script, "\(port)", "\(target)"] + args, port: port, env: sb.environment(), cwd: dir)
        return (proxy, dir + "/\(port).cuts")
    }

    /// `count` bytes of text zlib cannot shrink much (a fixed pseudo-random sequence in hex), in 64-character lines.
    static func bulky(_ count: Int, seed: UInt64) -> String {
        var x = seed | 1
        var out = "# Bulky\n"
        let hex = Array("0123456789abcdef")
        var line = ""
        while out.utf8.count < count {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            for shift in stride(from: 0, to: 64, by: 4) { line.append(hex[Int((x >> UInt64(shift)) & 0xf)]) }
            if line.count >= 64 { out += line + "\n"; line = "" }
        }
        return out
    }

    func rev(_ sb: Sandbox, _ repo: String, _ ref: String = "main") throws -> String { try sb.gitOK(["rev-parse", ref], cwd: repo) }

    /// True when `path` is in `rev`'s tree of `repo`.
    func has(_ sb: Sandbox, _ repo: String, _ path: String, at rev: String = "main") -> Bool {
        sb.git(["cat-file", "-e", "\(rev):\(path)"], cwd: repo).status == 0
    }

    @Test func aConnectionCutMidFetchLosesNothingAndSyncingAgainFinishes() throws {
        let sb = try Sandbox()
        let s = try setUp(sb)
        let big = Self.bulky(600_000, seed: 7)
        try sb.write(s.laptop + "/memory/knowledge/big.md", big)
        try sb.cairnOK(["sync"], cwd: s.laptop)
        let remoteMain = try rev(sb, s.bare)

        // The server's line breaks after 20 kB of the ~300 kB pack coming down, once.
        let (proxy, cuts) = try startProxy(sb, target: s.daemon.port, ["--cut", "down", "20000", "--cuts", "1"])
        defer { proxy.stop() }
        try sb.gitOK(["remote", "set-url", "origin", "git://127.0.0.1:\(proxy.port)/vault.git"], cwd: s.server)
        try sb.write(s.server + "/memory/working/on-the-server.md", "# Written on the server\n")
        let trackingBefore = try rev(sb, s.server, "refs/remotes/origin/main")
        let cut = sb.runCairn(["sync"], cwd: s.server)
        #expect(cut.status == 1 && !cut.signaled, "\(cut)")
        #expect(cut.stderr.contains("connection to git://127.0.0.1:\(proxy.port)/vault.git broke") && cut.stderr.contains("run the command again"),
                "a clear message: \(cut)")
        #expect(sb.readText(cuts) == "1", "the connection really was cut mid-fetch")
        #expect(has(sb, s.server, "memory/working/on-the-server.md"), "the local edit is committed, not lost")
        #expect(!has(sb, s.server, "memory/knowledge/big.md"), "nothing half-fetched was integrated")
        #expect(try rev(sb, s.server, "refs/remotes/origin/main") == trackingBefore, "tracking refs did not move")
        #expect(try rev(sb, s.bare) == remoteMain)
        #expect(sb.git(["status", "--porcelain"], cwd: s.server).stdout.isEmpty)
        sb.expectFsckClean(s.server)

        let again = try sb.cairnOK(["sync"], cwd: s.server)
        #expect(again.stdout.contains("Synced with origin"), "\(again)")
        #expect(sb.readText(s.server + "/memory/knowledge/big.md") == big)
        #expect(try rev(sb, s.bare) == (try rev(sb, s.server)))
        try sb.cairnOK(["sync"], cwd: s.laptop)
        #expect(sb.readText(s.laptop + "/memory/working/on-the-server.md") == "# Written on the server\n")
        for repo in [s.server, s.laptop, s.bare] { sb.expectFsckClean(repo) }
    }

    @Test func aConnectionCutMidPushLosesNothingAndSyncingAgainFinishes() throws {
        let sb = try Sandbox()
        let s = try setUp(sb)
        let remoteMain = try rev(sb, s.bare)
        let remoteRefs = try sb.gitLines(["for-each-ref", "--format=%(refname) %(objectname)"], cwd: s.bare)

        // The line breaks after 20 kB of the ~300 kB pack going up, once.
        let (proxy, cuts) = try startProxy(sb, target: s.daemon.port, ["--cut", "up", "20000", "--cuts", "1"])
        defer { proxy.stop() }
        try sb.gitOK(["remote", "set-url", "origin", "git://127.0.0.1:\(proxy.port)/vault.git"], cwd: s.server)
        let big = Self.bulky(600_000, seed: 11)
        try sb.write(s.server + "/memory/knowledge/big.md", big)
        let cut = sb.runCairn(["sync"], cwd: s.server)
        #expect(cut.status == 1 && !cut.signaled, "\(cut)")
        #expect(cut.stderr.contains("vault.git") && cut.stderr.contains("run the command again"), "a clear message: \(cut)")
        #expect(sb.readText(cuts) == "1", "the connection really was cut mid-push")
        #expect(sb.readText(s.server + "/memory/knowledge/big.md") == big && has(sb, s.server, "memory/knowledge/big.md"),
                "the edit is committed locally")
        #expect(try rev(sb, s.bare) == remoteMain, "the remote took nothing half-sent")
        #expect(try sb.gitLines(["for-each-ref", "--format=%(refname) %(objectname)"], cwd: s.bare) == remoteRefs)
        sb.expectFsckClean(s.bare)
        sb.expectFsckClean(s.server)

        let again = try sb.cairnOK(["sync"], cwd: s.server)
        #expect(again.stdout.contains("Synced with origin"), "\(again)")
        #expect(try rev(sb, s.bare) == (try rev(sb, s.server)))
        try sb.cairnOK(["sync"], cwd: s.laptop)
        #expect(sb.readText(s.laptop + "/memory/knowledge/big.md") == big)
        for repo in [s.server, s.laptop, s.bare] { sb.expectFsckClean(repo) }
    }

    /// A `pre-receive` hook on the served remote that, while this machine's push waits, has a plain git clone push
    /// a commit of its own (the first `limit` pushes only), so this machine's update of main loses the race.
    func plainPushDuringEachPush(_ sb: Sandbox, _ s: Setup, limit: Int) throws -> String {
        let plain = sb.work + "/plain"
        try sb.gitOK(["clone", "-q", s.bare, plain], cwd: sb.work)
        let hook = s.bare + "/hooks/pre-receive"
        try sb.write(hook, """
            #!/bin/sh
            cat >/dev/null
            [ -n "$CAIRN_TEST_NESTED" ] && exit 0
            n=$(cat "\(sb.root)/plain-pushes" 2>/dev/null || echo 0)
            [ "$n" -ge \(limit) ] && exit 0
            n=$((n + 1)); echo "$n" > "\(sb.root)/plain-pushes"
            unset GIT_DIR GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES GIT_PUSH_OPTION_COUNT
            cd "\(plain)" || exit 1
            git pull -q --ff-only >>"\(sb.root)/plain.log" 2>&1
            echo "line $n" >> memory/working/from-git.md
            git add -A && git commit -q -m "Plain push $n" && CAIRN_TEST_NESTED=1 git push -q origin main >>"\(sb.root)/plain.log" 2>&1
            exit 0

            """)
        chmod(hook, 0o755)
        return plain
    }

    @Test func aPlainGitPushBetweenFetchAndPushIsIntegratedAndPushedAgain() throws {
        let sb = try Sandbox()
        let s = try setUp(sb)
        let plain = try plainPushDuringEachPush(sb, s, limit: 1)
        try sb.write(s.server + "/memory/working/on-the-server.md", "# Written on the server\n")
        let r = try sb.cairnOK(["sync"], cwd: s.server)
        #expect(sb.readText(sb.root + "/plain-pushes") == "1\n", "the plain push happened during cairn's push")
        #expect(r.stdout.contains("after 2 tries"), "the lost race was retried: \(r)")
        #expect(try rev(sb, s.bare) == (try rev(sb, s.server)))
        #expect(has(sb, s.bare, "memory/working/from-git.md") && has(sb, s.bare, "memory/working/on-the-server.md"), "both sides are on the remote")
        let plainCommit = try sb.gitOK(["rev-parse", "main"], cwd: plain)
        #expect(sb.git(["merge-base", "--is-ancestor", plainCommit, "main"], cwd: s.bare).status == 0, "the plain commit was kept, not overwritten")
        for repo in [s.server, s.bare] { sb.expectFsckClean(repo) }
    }

    @Test func aRemoteThatKeepsMovingStopsAfterBoundedRetriesAndSyncingLaterFinishes() throws {
        let sb = try Sandbox()
        let s = try setUp(sb)
        _ = try plainPushDuringEachPush(sb, s, limit: 1000)
        try sb.write(s.server + "/memory/working/on-the-server.md", "# Written on the server\n")
        let r = sb.runCairn(["sync"], cwd: s.server)
        #expect(r.status == 1 && r.stderr.contains("kept moving") && r.stderr.contains("5 times"), "\(r)")
        #expect(sb.readText(sb.root + "/plain-pushes") == "5\n", "five tries, no more")
        #expect(has(sb, s.server, "memory/working/on-the-server.md") && !has(sb, s.bare, "memory/working/on-the-server.md"))
        #expect(sb.git(["status", "--porcelain"], cwd: s.server).stdout.isEmpty)
        sb.expectFsckClean(s.server)

        try FileManager.default.removeItem(atPath: s.bare + "/hooks/pre-receive")
        try sb.cairnOK(["sync"], cwd: s.server)
        #expect(try rev(sb, s.bare) == (try rev(sb, s.server)))
        let fromGit = sb.readText(s.server + "/memory/working/from-git.md") ?? ""
        #expect(fromGit.contains("line 1\n") && fromGit.contains("line 5\n"), "every plain commit is kept: \(fromGit)")
        #expect(has(sb, s.bare, "memory/working/on-the-server.md"))
        for repo in [s.server, s.bare] { sb.expectFsckClean(repo) }
    }

    @Test func twoMachinesPushingAtTheSameMomentBothFinish() throws {
        let sb = try Sandbox()
        let s = try setUp(sb)
        // Each push waits in pre-receive until both machines' pushes have arrived: they really overlap.
        let hook = s.bare + "/hooks/pre-receive"
        try sb.write(hook, """
            #!/bin/sh
            cat >/dev/null
            touch "\(sb.root)/arrived.$$"
            i=0
            while [ "$(ls "\(sb.root)" | grep -c '^arrived\\.')" -lt 2 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
            exit 0

            """)
        chmod(hook, 0o755)
        try sb.write(s.laptop + "/memory/working/laptop.md", "# From the laptop\n")
        try sb.write(s.server + "/memory/working/server.md", "# From the server\n")
        let a = sb.startCairn(["sync"], cwd: s.laptop)
        let b = sb.startCairn(["sync"], cwd: s.server)
        let ra = a.finish(), rb = b.finish()
        #expect(ra.status == 0 && rb.status == 0, "both finish: \(ra) \(rb)")
        let retried = [ra, rb].filter { $0.stdout.contains("after 2 tries") }
        #expect(retried.count == 1, "exactly one lost the race and retried: \(ra) \(rb)")
        try sb.cairnOK(["sync"], cwd: s.laptop)
        try sb.cairnOK(["sync"], cwd: s.server)
        let main = try rev(sb, s.bare)
        #expect(try rev(sb, s.laptop) == main && (try rev(sb, s.server)) == main)
        for path in ["memory/working/laptop.md", "memory/working/server.md"] { #expect(has(sb, s.bare, path), "\(path)") }
        for repo in [s.server, s.laptop, s.bare] { sb.expectFsckClean(repo) }
    }

    @Test func aBrokenRemoteURLGetsAClearMessageAndChangesNothingElse() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault("laptop")
        try sb.write(v + "/memory/working/kept.md", "# kept\n")
        try sb.write(sb.work + "/not-a-repo/README", "just a folder\n")
        let closed = try freePort()
        let cases = [sb.work + "/no-such-remote.git", sb.work + "/not-a-repo", "git://127.0.0.1:\(closed)/vault.git",
                     "ssh://127.0.0.1:\(closed)/srv/vault.git"]
        for url in cases {
            try sb.cairnOK(["remote", "add", "broken", url], cwd: v)
            let refsBefore = try sb.gitLines(["for-each-ref"], cwd: v)
            let r = sb.runCairn(["sync", "broken"], cwd: v, env: ["SSH_AUTH_SOCK": nil])
            #expect(r.status == 1 && !r.signaled && r.stderr.contains(url) && r.stderr.contains("run the command again"), "\(url): \(r)")
            #expect(!r.stderr.contains("GitError"), "said in words, not as a libgit2 dump: \(r)")
            #expect(try sb.gitLines(["for-each-ref"], cwd: v).filter { !$0.hasSuffix("refs/heads/main") } == refsBefore.filter { !$0.hasSuffix("refs/heads/main") },
                    "no tracking or vault-state refs written")
            try sb.cairnOK(["remote", "remove", "broken"], cwd: v)

            let clone = sb.runCairn(["clone", url, "copy"], cwd: sb.work, env: ["SSH_AUTH_SOCK": nil])
            #expect(clone.status == 1 && clone.stderr.contains(url) && !sb.exists(sb.work + "/copy"), "a failed clone leaves nothing: \(clone)")
        }
        #expect(has(sb, v, "memory/working/kept.md"), "the local edit was committed before the fetch and is kept")
        sb.expectFsckClean(v)
    }
}
