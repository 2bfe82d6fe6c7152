import Foundation
import Testing

/// The `cairn` front end (launcher/cairn.c) hands searches to a running watcher, which runs them in its
/// warm process on the client's descriptors. Every result must be what cairn-core prints itself
/// (`CAIRN_NO_SERVER=1`); the watcher's `served` count tells which ones it ran.
@Suite struct ServedSearchE2ETests {
    func served(_ sb: Sandbox, _ v: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let r = sb.runCairn(["watch", "status", "--json"], cwd: v)
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        let watcher = try #require(try jsonObject(r.stdoutData)["watcher"] as? [String: Any], "no watcher: \(r)",
                                   sourceLocation: sourceLocation)
        return try #require(watcher["served"] as? Int, sourceLocation: sourceLocation)
    }

    /// A vault with a few notes and a running watcher; returns the vault and the watcher's pid.
    func vaultWithWatcher(_ sb: Sandbox, sourceLocation: SourceLocation = #_sourceLocation) throws -> (String, Int32) {
        let v = try sb.makeVault()
        try sb.write(v + "/memory/knowledge/otters.md", "---\ntags: [animals]\n---\n# Otters\n\nThe otter holds hands while asleep.\n")
        try sb.write(v + "/memory/projects/river.md", "# River survey\n\nWe count otters and herons along the river.\n")
        try sb.write(v + "/memory/working/draft.md", "# Draft\n\nA draft about otters, not ready.\n")
        _ = try sb.gitOK(["add", "-A"], cwd: v)
        _ = try sb.gitOK(["commit", "-qm", "notes"], cwd: v)
        let r = sb.runCairn(["watch", "start", "--json"], cwd: v)
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        let pid = Int32(try #require(try jsonObject(r.stdoutData)["pid"] as? Int, sourceLocation: sourceLocation))
        return (v, pid)
    }

    /// The JSON result without the timings, which differ between any two runs.
    func hits(_ r: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: String]] {
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        let hits = try #require(try jsonObject(r.stdoutData)["hits"] as? [[String: Any]], sourceLocation: sourceLocation)
        return hits.map { hit in hit.compactMapValues { value in value as? String ?? (value as? NSNumber)?.stringValue } }
    }

    @Test func aServedSearchPrintsAndExitsExactlyAsCairnCoreDoes() throws {
        let sb = try Sandbox()
        let (v, pid) = try vaultWithWatcher(sb)
        defer { kill(pid, SIGTERM) }
        _ = sb.runCairn(["index"], cwd: v)
        let core: [String: String?] = ["CAIRN_NO_SERVER": "1"]
        let cases: [(args: [String], env: [String: String?], served: Bool)] = [
            (["search", "otters"], [:], true),
            (["search", "otter*", "--tier", "knowledge"], [:], true),
            (["search", "otters", "--tag", "animals", "--limit", "1"], [:], true),
            (["search", "--", "-draft", "otters"], [:], true),
            (["search", "\"holds hands\""], ["NO_COLOR": nil, "CAIRN_COLOR": "always"], true),
            (["search", "nothing-matches-this"], [:], true),
            (["search", "otters\""], [:], true),  // a query syntax error: status 1, the message on stderr
            (["search", "otters", "--limit", "0"], [:], false),  // a usage error: left to cairn-core
            (["search", "--help"], [:], false),
            (["search", "otters"], ["HOME": sb.work], false),  // another HOME: git's config could differ
            (["status"], [:], false),
        ]
        for c in cases {
            let before = try served(sb, v)
            let direct = sb.runCairn(c.args, cwd: v, env: c.env.merging(core) { $1 })
            let viaWatcher = sb.runCairn(c.args, cwd: v, env: c.env)
            #expect(viaWatcher.status == direct.status, "\(c.args): \(viaWatcher) vs \(direct)")
            #expect(viaWatcher.stdout == direct.stdout, "\(c.args): \(viaWatcher) vs \(direct)")
            #expect(viaWatcher.stderr == direct.stderr, "\(c.args): \(viaWatcher) vs \(direct)")
            #expect(try served(sb, v) == before + (c.served ? 1 : 0), "\(c.args) served: \(c.served)")
        }
        let colored = sb.runCairn(["search", "\"holds hands\""], cwd: v, env: ["NO_COLOR": nil, "CAIRN_COLOR": "always"])
        #expect(colored.stdout.contains("\u{1B}[1;31mholds\u{1B}[0m \u{1B}[1;31mhands\u{1B}[0m"), "\(colored)")
        let error = sb.runCairn(["search", "otters\""], cwd: v)
        #expect(error.status == 1 && error.stderr.contains("unclosed quote"), "\(error)")

        // JSON: the same hits.
        for args in [["search", "otters", "--json"], ["search", "--path", "memory/projects/**", "--json"]] {
            let before = try served(sb, v)
            #expect(try hits(sb.runCairn(args, cwd: v)) == hits(sb.runCairn(args, cwd: v, env: core)), "\(args)")
            #expect(try served(sb, v) == before + 1)
        }
    }

    @Test func aServedSearchSeesEditsSavedJustBeforeIt() throws {
        let sb = try Sandbox()
        let (v, pid) = try vaultWithWatcher(sb)
        defer { kill(pid, SIGTERM) }
        _ = sb.runCairn(["search", "otters"], cwd: v)
        for round in 0..<5 {
            let word = "kelpword\(round)"
            try sb.write(v + "/memory/knowledge/otters.md", "# Otters\n\nOtters wrap themselves in \(word).\n")
            let found = try hits(sb.runCairn(["search", word, "--json"], cwd: v))
            #expect(found.map { $0["path"] } == ["memory/knowledge/otters.md"], "round \(round)")
            #expect(found.first?["source"] == "worktree")
            let old = try hits(sb.runCairn(["search", "asleep", "--json"], cwd: v))
            #expect(old.isEmpty, "the edit replaced the committed text: round \(round)")
        }
        try FileManager.default.removeItem(atPath: v + "/memory/projects/river.md")
        #expect(try hits(sb.runCairn(["search", "herons", "--json"], cwd: v)).isEmpty)
        #expect(try served(sb, v) == 12)
    }

    @Test func theWatcherServesOnlyItsOwnVault() throws {
        let sb = try Sandbox()
        let (v, pid) = try vaultWithWatcher(sb)
        defer { kill(pid, SIGTERM) }
        let other = try sb.makeVault("other")
        try sb.write(other + "/memory/knowledge/badgers.md", "# Badgers\n\nBadgers dig setts.\n")

        // From a subfolder of the vault: served, same results.
        let sub = sb.runCairn(["search", "otters", "--json"], cwd: v + "/memory/projects")
        #expect(try hits(sub).count == 3)
        #expect(try served(sb, v) == 1)
        // The other vault, from the watched vault's folder, by --vault and by $CAIRN_VAULT: not served.
        for (args, env) in [(["search", "badgers", "--vault", other, "--json"], [String: String?]()),
                            (["search", "badgers", "--json"], ["CAIRN_VAULT": other])] {
            let r = sb.runCairn(args, cwd: v, env: env)
            #expect(try hits(r).map { $0["path"] } == ["memory/knowledge/badgers.md"], "\(args) \(env)")
            #expect(try served(sb, v) == 1)
        }
        // --vault naming the watched vault from elsewhere: served.
        #expect(try hits(sb.runCairn(["search", "otters", "--vault", v, "--json"], cwd: sb.work)).count == 3)
        #expect(try served(sb, v) == 2)
    }

    @Test func aReaderThatGoesAwayDoesNotStopTheWatcher() throws {
        let sb = try Sandbox()
        let (v, pid) = try vaultWithWatcher(sb)
        defer { kill(pid, SIGTERM) }
        let cairn = try #require(Binaries.cairn)
        // The pipe's only reader closes it at once: every write of the search fails with EPIPE.
        let r = sb.run("/bin/sh", ["-c", "'\(cairn)' search otters | (exec 0<&-; sleep 0.2)"], cwd: v, env: sb.environment())
        #expect(r.status == 0, "\(r)")
        #expect(kill(pid, 0) == 0, "the watcher survives a client whose output is gone")
        #expect(try served(sb, v) == 1)
        #expect(try hits(sb.runCairn(["search", "otters", "--json"], cwd: v)).count == 3)
    }

    @Test func aReaderThatDoesNotReadDoesNotHoldUpOtherSearches() throws {
        let sb = try Sandbox()
        let (v, pid) = try vaultWithWatcher(sb)
        defer { kill(pid, SIGTERM) }
        for i in 0..<400 {
            try sb.write(v + "/memory/knowledge/otter-\(i).md", "# Otter \(i)\n\nOtter number \(i) of the river census.\n")
        }
        _ = sb.runCairn(["search", "census"], cwd: v)
        let cairn = try #require(Binaries.cairn)
        // Far more than a pipe holds, into a pipe nobody reads for 3 seconds.
        let stalled = sb.start("/bin/sh", ["-c", "'\(cairn)' search census --json --limit 1000 | sleep 3"], cwd: v, stdin: nil,
                               env: sb.environment())
        usleep(300_000)
        let other = sb.runCairn(["search", "census", "--limit", "1", "--json"], cwd: v)
        #expect(try hits(other).count == 1)
        #expect(stalled.process?.isRunning == true, "the second search finished while the first one's output waited")
        #expect(try served(sb, v) == 3)
        _ = stalled.finish()
    }

    @Test func aWatcherOfAReplacedBuildLeavesSearchesToTheNewOne() throws {
        let sb = try Sandbox()
        let cairn = try #require(Binaries.cairn)
        let bin = sb.work + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        for name in ["cairn", "cairn-core"] {
            try FileManager.default.copyItem(atPath: (cairn as NSString).deletingLastPathComponent + "/" + name, toPath: bin + "/" + name)
        }
        let v = try sb.makeVault()
        let started = sb.run(bin + "/cairn", ["watch", "start", "--json"], cwd: v, env: sb.environment())
        let pid = Int32(try #require(try jsonObject(started.stdoutData)["pid"] as? Int, "\(started)"))
        defer { kill(pid, SIGTERM) }
        #expect(sb.run(bin + "/cairn", ["search", "customer"], cwd: v, env: sb.environment()).status == 0)
        #expect(try served(sb, v) == 1)
        // An upgrade replaces cairn-core (a new file renamed over the old one) while the watcher runs.
        try FileManager.default.copyItem(atPath: bin + "/cairn-core", toPath: bin + "/cairn-core.new")
        #expect(rename(bin + "/cairn-core.new", bin + "/cairn-core") == 0)
        let r = sb.run(bin + "/cairn", ["search", "customer"], cwd: v, env: sb.environment())
        #expect(r.status == 0 && !r.stdout.isEmpty, "\(r)")
        #expect(try served(sb, v) == 1, "the old build does not run the new build's search")
    }

    @Test func theFrontEndSaysWhenCairnCoreIsMissing() throws {
        let sb = try Sandbox()
        let cairn = try #require(Binaries.cairn)
        let lonely = sb.work + "/bin"
        try FileManager.default.createDirectory(atPath: lonely, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: cairn, toPath: lonely + "/cairn")
        let r = sb.run(lonely + "/cairn", ["--version"], cwd: sb.work, env: sb.environment())
        #expect(r.status == 127, "\(r)")
        #expect(r.stderr.contains("cannot run \(lonely)/cairn-core"), "\(r)")
    }
}
