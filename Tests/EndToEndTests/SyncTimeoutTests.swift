import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A remote that stops answering in the middle of a transfer: `faulty_proxy.py --stall` in front of a real server
/// stops forwarding after some bytes and keeps both sides open (a half-open line: nothing is closed, nothing comes).
/// libgit2 alone would wait forever; sync gives up after `sync.timeout_seconds` (2 s here) with a message naming the
/// remote, loses nothing, and the next sync finishes the job. Judged with the git CLI.
@Suite struct SyncTimeoutTests {
    static let timeout = 2

    /// Sets `sync.timeout_seconds` in the vault's config (a vault setting: it travels with the next sync).
    func setTimeout(_ sb: Sandbox, _ vault: String, seconds: Int) throws {
        var config = try jsonObject(sb.read(vault + "/.cairn/config.json"))
        var sync = config["sync"] as? [String: Any] ?? [:]
        sync["timeout_seconds"] = seconds
        config["sync"] = sync
        try sb.write(vault + "/.cairn/config.json", try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]))
    }

    /// A git daemon serving `served/vault.git`, a laptop that pushed a vault with a 2 s timeout to it, a server
    /// cloned from it.
    func setUp(_ sb: Sandbox) throws -> (daemon: ServerProcess, bare: String, laptop: String, server: String) {
        let base = sb.work + "/served"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let bare = base + "/vault.git"
        try sb.gitOK(["init", "-q", "--bare", "-b", "main", bare], cwd: sb.work)
        let daemon = try sb.startGitDaemon(base: base)
        let url = "git://127.0.0.1:\(daemon.port)/vault.git"
        let laptop = try sb.makeVault("laptop")
        try sb.gitOK(["config", "cairn.machine", "laptop"], cwd: laptop)
        try setTimeout(sb, laptop, seconds: Self.timeout)
        try sb.cairnOK(["remote", "add", "origin", url], cwd: laptop)
        try sb.cairnOK(["sync"], cwd: laptop)
        let server = try sb.cloneVault(url, "server", machine: "server")
        return (daemon, bare, laptop, server)
    }

    func startStallingProxy(_ sb: Sandbox, target: Int, _ args: [String]) throws -> (ServerProcess, stalls: String) {
        let port = try freePort()
        let dir = sb.root + "/proxy-\(port)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let proxy = try ServerProcess("/usr/bin/python3", [Binaries.packageRoot + "/Tests/Support/faulty_proxy.py", "\(port)", "\(target)"] + args,
                                      port: port, env: sb.environment(), cwd: dir)
        return (proxy, dir + "/\(port).stalls")
    }

    func rev(_ sb: Sandbox, _ repo: String, _ ref: String = "main") throws -> String { try sb.gitOK(["rev-parse", ref], cwd: repo) }

    /// Runs cairn and returns the result with the seconds it took.
    func timed(_ sb: Sandbox, _ args: [String], cwd: String, env: [String: String?] = [:]) -> (CommandResult, Double) {
        let start = Date()
        let r = sb.runCairn(args, cwd: cwd, env: env)
        return (r, Date().timeIntervalSince(start))
    }

    @Test func aRemoteThatStopsAnsweringMidFetchIsGivenUpAndSyncingAgainFinishes() throws {
        let sb = try Sandbox()
        let s = try setUp(sb)
        let big = SyncFaultTests.bulky(600_000, seed: 5)
        try sb.write(s.laptop + "/memory/knowledge/big.md", big)
        try sb.cairnOK(["sync"], cwd: s.laptop)
        let remoteMain = try rev(sb, s.bare)

        // The line to the server goes silent after 20 kB of the ~300 kB pack coming down, once.
        let (proxy, stalls) = try startStallingProxy(sb, target: s.daemon.port, ["--stall", "down", "20000", "--stalls", "1"])
        defer { proxy.stop() }
        let url = "git://127.0.0.1:\(proxy.port)/vault.git"
        try sb.gitOK(["remote", "set-url", "origin", url], cwd: s.server)
        try sb.write(s.server + "/memory/working/on-the-server.md", "# Written on the server\n")
        let trackingBefore = try rev(sb, s.server, "refs/remotes/origin/main")
        let (stalled, seconds) = timed(sb, ["sync"], cwd: s.server)
        #expect(stalled.status == 1 && !stalled.signaled, "\(stalled)")
        #expect(stalled.stderr.contains(url) && stalled.stderr.contains("stopped answering")
                && stalled.stderr.contains("\(Self.timeout) s") && stalled.stderr.contains("run the command again"), "a clear message: \(stalled)")
        #expect(sb.readText(stalls) == "1", "the line really went silent mid-fetch")
        #expect(seconds >= Double(Self.timeout) && seconds < 30, "given up after the timeout, not never: \(seconds) s")
        #expect(sb.git(["cat-file", "-e", "main:memory/working/on-the-server.md"], cwd: s.server).status == 0, "the local edit is committed")
        #expect(sb.git(["cat-file", "-e", "main:memory/knowledge/big.md"], cwd: s.server).status != 0, "nothing half-fetched was integrated")
        #expect(try rev(sb, s.server, "refs/remotes/origin/main") == trackingBefore)
        #expect(try rev(sb, s.bare) == remoteMain)
        sb.expectFsckClean(s.server)

        let again = try sb.cairnOK(["sync"], cwd: s.server)
        #expect(again.stdout.contains("Synced with origin"), "\(again)")
        #expect(sb.readText(s.server + "/memory/knowledge/big.md") == big)
        #expect(try rev(sb, s.bare) == (try rev(sb, s.server)))
        for repo in [s.server, s.bare] { sb.expectFsckClean(repo) }
    }

    @Test func aRemoteThatStopsAnsweringMidPushIsGivenUpAndSyncingAgainFinishes() throws {
        let sb = try Sandbox()
        let s = try setUp(sb)
        let remoteRefs = try sb.gitLines(["for-each-ref", "--format=%(refname) %(objectname)"], cwd: s.bare)

        // The line goes silent after 20 kB of the ~300 kB pack going up, once.
        let (proxy, stalls) = try startStallingProxy(sb, target: s.daemon.port, ["--stall", "up", "20000", "--stalls", "1"])
        defer { proxy.stop() }
        let url = "git://127.0.0.1:\(proxy.port)/vault.git"
        try sb.gitOK(["remote", "set-url", "origin", url], cwd: s.server)
        let big = SyncFaultTests.bulky(600_000, seed: 13)
        try sb.write(s.server + "/memory/knowledge/big.md", big)
        let (stalled, seconds) = timed(sb, ["sync"], cwd: s.server)
        #expect(stalled.status == 1 && !stalled.signaled, "\(stalled)")
        #expect(stalled.stderr.contains(url) && stalled.stderr.contains("stopped answering") && stalled.stderr.contains("run the command again"),
                "a clear message: \(stalled)")
        #expect(sb.readText(stalls) == "1", "the line really went silent mid-push")
        #expect(seconds >= Double(Self.timeout) && seconds < 30, "given up after the timeout: \(seconds) s")
        #expect(sb.readText(s.server + "/memory/knowledge/big.md") == big
                && sb.git(["cat-file", "-e", "main:memory/knowledge/big.md"], cwd: s.server).status == 0, "the edit is committed locally")
        #expect(try sb.gitLines(["for-each-ref", "--format=%(refname) %(objectname)"], cwd: s.bare) == remoteRefs, "the remote took nothing")

        let again = try sb.cairnOK(["sync"], cwd: s.server)
        #expect(again.stdout.contains("Synced with origin"), "\(again)")
        #expect(try rev(sb, s.bare) == (try rev(sb, s.server)))
        try sb.cairnOK(["sync"], cwd: s.laptop)
        #expect(sb.readText(s.laptop + "/memory/knowledge/big.md") == big)
        for repo in [s.server, s.laptop, s.bare] { sb.expectFsckClean(repo) }
    }

    @Test func anHTTPSRemoteThatStopsAnsweringIsGivenUp() throws {
        let sb = try Sandbox()
        let (ca, cert, key) = try SyncTransportTests().makeCertificates(sb)
        let root = sb.work + "/served"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let bare = root + "/vault.git"
        try sb.gitOK(["init", "-q", "--bare", "-b", "main", bare], cwd: sb.work)
        try sb.gitOK(["config", "http.receivepack", "true"], cwd: bare)
        let port = try freePort()
        let token = "tok-\(UUID().uuidString)"
        let server = try ServerProcess("/usr/bin/python3", [Binaries.packageRoot + "/Tests/Support/git_https_server.py", "\(port)", root, cert, key, token],
                                       port: port, env: sb.environment())
        defer { server.stop() }
        let env: [String: String?] = ["CAIRN_SYNC_TOKEN": token, "SSL_CERT_FILE": ca]
        let laptop = try sb.makeVault("laptop")
        try setTimeout(sb, laptop, seconds: Self.timeout)
        try sb.cairnOK(["remote", "add", "origin", "https://localhost:\(port)/vault.git"], cwd: laptop)
        try sb.cairnOK(["sync"], cwd: laptop, env: env)
        let remoteRefs = try sb.gitLines(["for-each-ref", "--format=%(refname) %(objectname)"], cwd: bare)

        // Through the proxy, the first connection that carries more than 40 kB up (the pack) goes silent.
        let (proxy, stalls) = try startStallingProxy(sb, target: port, ["--stall", "up", "40000", "--stalls", "1"])
        defer { proxy.stop() }
        let url = "https://localhost:\(proxy.port)/vault.git"
        try sb.gitOK(["remote", "set-url", "origin", url], cwd: laptop)
        let big = SyncFaultTests.bulky(600_000, seed: 17)
        try sb.write(laptop + "/memory/knowledge/big.md", big)
        let (stalled, seconds) = timed(sb, ["sync"], cwd: laptop, env: env)
        #expect(stalled.status == 1 && !stalled.signaled, "\(stalled)")
        #expect(stalled.stderr.contains(url) && stalled.stderr.contains("stopped answering"), "a clear message: \(stalled)")
        #expect(!stalled.output.contains(token))
        #expect(sb.readText(stalls) == "1", "the line really went silent")
        #expect(seconds >= Double(Self.timeout) && seconds < 30, "given up after the timeout: \(seconds) s")
        #expect(sb.git(["cat-file", "-e", "main:memory/knowledge/big.md"], cwd: laptop).status == 0, "the edit is committed locally")
        #expect(try sb.gitLines(["for-each-ref", "--format=%(refname) %(objectname)"], cwd: bare) == remoteRefs, "the remote took nothing")

        try sb.cairnOK(["sync"], cwd: laptop, env: env)
        #expect(try rev(sb, bare) == (try rev(sb, laptop)))
        #expect(sb.git(["cat-file", "-e", "main:memory/knowledge/big.md"], cwd: bare).status == 0)
        sb.expectFsckClean(bare)
    }

    @Test func anSSHRemoteThatStopsAnsweringIsGivenUp() throws {
        let sb = try Sandbox()
        let sshd = try SyncTransportTests().startSSHD(sb)
        let bare = try sb.makeBareRemote()
        let user = SyncTransportTests.user
        let laptop = try sb.makeVault("laptop")
        try setTimeout(sb, laptop, seconds: Self.timeout)
        try sb.cairnOK(["remote", "add", "origin", "ssh://\(user)@127.0.0.1:\(sshd.server.port)\(bare)"], cwd: laptop)
        let (proxy, stalls) = try startStallingProxy(sb, target: sshd.server.port, ["--stall", "up", "40000", "--stalls", "1"])
        defer { proxy.stop() }
        try sb.write(sb.home + "/.ssh/known_hosts", "[127.0.0.1]:\(sshd.server.port) \(sshd.hostPublicKey)\n"
                     + "[127.0.0.1]:\(proxy.port) \(sshd.hostPublicKey)\n")
        let env: [String: String?] = ["SSH_AUTH_SOCK": nil]
        try sb.cairnOK(["sync"], cwd: laptop, env: env)
        let remoteRefs = try sb.gitLines(["for-each-ref", "--format=%(refname) %(objectname)"], cwd: bare)

        // Through the proxy, the line goes silent after 40 kB of the ~300 kB pack going up, once.
        let url = "ssh://\(user)@127.0.0.1:\(proxy.port)\(bare)"
        try sb.gitOK(["remote", "set-url", "origin", url], cwd: laptop)
        let big = SyncFaultTests.bulky(600_000, seed: 19)
        try sb.write(laptop + "/memory/knowledge/big.md", big)
        let (stalled, seconds) = timed(sb, ["sync"], cwd: laptop, env: env)
        #expect(stalled.status == 1 && !stalled.signaled, "\(stalled)")
        #expect(stalled.stderr.contains(url) && stalled.stderr.contains("stopped answering"), "a clear message: \(stalled)")
        #expect(sb.readText(stalls) == "1", "the line really went silent")
        #expect(seconds >= Double(Self.timeout) && seconds < 30, "given up after the timeout: \(seconds) s")
        #expect(sb.git(["cat-file", "-e", "main:memory/knowledge/big.md"], cwd: laptop).status == 0, "the edit is committed locally")
        #expect(try sb.gitLines(["for-each-ref", "--format=%(refname) %(objectname)"], cwd: bare) == remoteRefs, "the remote took nothing")

        try sb.cairnOK(["sync"], cwd: laptop, env: env)
        #expect(try rev(sb, bare) == (try rev(sb, laptop)))
        sb.expectFsckClean(bare)
    }

    /// file:// and local-path remotes are served by git's own upload-pack and receive-pack (libgit2's local
    /// transport wrote into the remote directly and never ran its hooks).
    @Test func aFileRemoteIsServedByGitsReceivePackWithItsHooks() throws {
        let sb = try Sandbox()
        let bare = try sb.makeBareRemote()
        let hook = bare + "/hooks/pre-receive"
        try sb.write(hook, "#!/bin/sh\nexit 1\n")
        chmod(hook, 0o755)
        let laptop = try sb.makeVault("laptop")
        try sb.cairnOK(["remote", "add", "origin", bare], cwd: laptop)
        let refused = sb.runCairn(["sync"], cwd: laptop)
        #expect(refused.status == 1 && !refused.signaled && refused.stderr.contains("pre-receive hook declined"), "\(refused)")
        #expect(try sb.refs(bare, under: "refs/heads/").isEmpty)
        try FileManager.default.removeItem(atPath: hook)
        try sb.cairnOK(["sync"], cwd: laptop)
        let server = try sb.cloneVault("file://" + bare, "server", machine: "server")
        #expect(try sb.tree(server) == (try sb.tree(laptop)))
        for repo in [bare, server] { sb.expectFsckClean(repo) }
    }

    @Test func theTimeoutMustBeASensibleNumberOfSeconds() throws {
        let sb = try Sandbox()
        let vault = try sb.makeVault("v")
        let bare = try sb.makeBareRemote()
        try sb.cairnOK(["remote", "add", "origin", bare], cwd: vault)
        try setTimeout(sb, vault, seconds: -5)
        let r = sb.runCairn(["sync"], cwd: vault)
        #expect(r.status != 0 && r.stderr.contains(".cairn/config.json") && r.stderr.contains("sync.timeout_seconds: must be a number of seconds"), "\(r)")
        #expect(try sb.refs(bare, under: "refs/heads/").isEmpty, "nothing was pushed")
    }
}
