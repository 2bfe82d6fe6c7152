import CairnKit
import Foundation
import Testing

/// `cairn tick`, `cairn emit`, quotas and circuit breakers through the built binary, with an injected clock
/// (CAIRN_NOW) and judged with the git CLI: refs, trailers, `git fsck --strict`, `cairn audit`.
@Suite struct TickTests {
    /// A vault with `writer` (a command agent writing `memory/projects/written.md` from its `note` input) and
    /// `boom` (always fails).
    private func vault(_ sb: Sandbox) throws -> String {
        let v = try sb.makeVault()
        try sb.addAgent(v, "writer", frontMatter: """
            kind: command
            command: ["sh", "agents/writer.sh"]
            reads: ["memory/projects/**"]
            writes: ["memory/projects/**"]
            timeout: 30s
            sandbox: off   # signals the test through $HOME, which a sandbox makes read-only
            """, files: ["agents/writer.sh": """
            set -e
            mkdir -p memory/projects
            printf '%s\\n' "${CAIRN_INPUT_NOTE:-none} ${CAIRN_RUN_ID:-}" > memory/projects/written.md
            if [ -f "$HOME/slow" ]; then : > "$HOME/slow-started"; sleep 2; fi
            echo "summary: writer wrote"
            """])
        try sb.addAgent(v, "boom", frontMatter: """
            kind: command
            command: ["sh", "-c", "echo broken >&2; exit 3"]
            reads: ["memory/projects/**"]
            writes: ["memory/projects/**"]
            timeout: 30s
            """)
        return v
    }

    private func writeWorkflow(_ sb: Sandbox, _ v: String, _ name: String, _ frontMatter: String) throws {
        try sb.write(v + "/workflows/\(name).md", "---\n" + frontMatter + "\n---\nA workflow written by a test.\n")
        try sb.snapshot(v, "Add workflow \(name)")
    }

    private func tick(_ sb: Sandbox, _ v: String, at now: String, env: [String: String?] = [:],
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        var extra = env
        extra["CAIRN_NOW"] = now
        let r = sb.runCairn(["tick", "--json"], cwd: v, env: extra)
        try #require(r.status == 0 && !r.signaled, "tick at \(now) failed: \(r)", sourceLocation: sourceLocation)
        return try jsonObject(r.stdoutData, sourceLocation: sourceLocation)
    }

    private func actions(_ report: [String: Any], _ kind: String) -> [[String: Any]] {
        (report["actions"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == kind }
    }

    /// The workflow runs (from `cairn runs --json`) of `workflow`.
    private func runs(_ sb: Sandbox, _ v: String, _ workflow: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        let r = sb.runCairn(["runs", "--json"], cwd: v)
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        return try jsonArray(r.stdoutData, sourceLocation: sourceLocation).filter { $0["workflow"] as? String == workflow }
    }

    private func policy(_ sb: Sandbox, _ v: String, _ edit: (inout [String: Any]) -> Void) throws {
        var p = try jsonObject(sb.read(v + "/policy.json"))
        edit(&p)
        try sb.write(v + "/policy.json", try JSONSerialization.data(withJSONObject: p, options: [.prettyPrinted, .sortedKeys]))
        try sb.snapshot(v, "Edit policy")
    }

    // MARK: - Schedules

    @Test func scheduleFiresExactlyOncePerDueTickAndIdleTicksWriteNothing() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "sched", """
            on: {schedule: "*/10 * * * *"}
            steps:
              - id: a
                agent: writer
                gate: auto
            """)
        // The first tick only starts watching: 10:00 is not "since the last tick".
        let first = try tick(sb, v, at: "2026-03-01T10:00:00Z")
        #expect(first["since"] == nil || first["since"] is NSNull)
        #expect(actions(first, "started").isEmpty)
        let mainAfterFirst = try sb.gitOK(["rev-parse", "main"], cwd: v)
        let tickRefAfterFirst = try sb.gitOK(["rev-parse", "refs/cairn/tick"], cwd: v)

        // Idle ticks: nothing due, no commit anywhere.
        for now in ["2026-03-01T10:05:00Z", "2026-03-01T10:09:59Z"] {
            let idle = try tick(sb, v, at: now)
            #expect((idle["actions"] as? [Any])?.isEmpty == true, "\(idle)")
        }
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: v) == mainAfterFirst)
        #expect(try sb.gitOK(["rev-parse", "refs/cairn/tick"], cwd: v) == tickRefAfterFirst)
        #expect(try runs(sb, v, "sched").isEmpty)

        // 10:10 is due: exactly one start; a second tick in the same minute starts nothing.
        let due = try tick(sb, v, at: "2026-03-01T10:10:00Z")
        let started = actions(due, "started")
        #expect(started.count == 1, "\(due)")
        #expect(started.first?["trigger"] as? String == "schedule */10 * * * * @ 2026-03-01T10:10:00Z")
        #expect(actions(try tick(sb, v, at: "2026-03-01T10:10:30Z"), "started").isEmpty)
        #expect(try runs(sb, v, "sched").count == 1)

        // Down from 10:11 to 10:31: 10:20 and 10:30 passed; the tick catches up once, keyed by the latest minute.
        _ = try tick(sb, v, at: "2026-03-01T10:11:00Z")
        let late = try tick(sb, v, at: "2026-03-01T10:31:00Z")
        #expect(actions(late, "started").map { $0["trigger"] as? String } == ["schedule */10 * * * * @ 2026-03-01T10:30:00Z"])
        let all = try runs(sb, v, "sched")
        #expect(all.count == 2)
        #expect(Set(all.compactMap { $0["status"] as? String }) == ["done"])

        // Each run is its own checkpoint chain; each step committed once (git as the judge).
        let refs = try sb.refs(v, under: "refs/cairn/workflows/")
        #expect(refs.count == 2)
        let stepTrailers = try sb.gitLines(["log", "--all", "--format=%(trailers:key=Cairn-Workflow,valueonly)"], cwd: v)
            .filter { !$0.isEmpty }
        #expect(stepTrailers.count == 2 && Set(stepTrailers).count == 2, "\(stepTrailers)")

        // The digest is on main, attributed to the operator's tick; audit accepts it.
        let digest = try sb.gitOK(["show", "main:inbox/digests/tick-2026-03-01.md"], cwd: v)
        #expect(digest.contains("started workflow sched"))
        #expect(digest.components(separatedBy: "started workflow sched").count == 3, "\(digest)")
        let ops = try sb.gitLines(["log", "main", "--format=%(trailers:key=Cairn-Operation,valueonly)"], cwd: v).filter { !$0.isEmpty }
        #expect(ops.filter { $0 == "tick" }.count == 2, "\(ops)")
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
        sb.expectFsckClean(v)
    }

    @Test func scheduleStartSurvivesALostTickCacheWithoutRunningTwice() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "sched", """
            on: {schedule: "0 * * * *"}
            steps:
              - id: a
                agent: writer
                gate: auto
            """)
        _ = try tick(sb, v, at: "2026-03-01T09:30:00Z")
        #expect(actions(try tick(sb, v, at: "2026-03-01T10:00:00Z"), "started").count == 1)
        // Deleting .git/cairn/ (a derived cache) must not make 10:00 due again.
        try FileManager.default.removeItem(atPath: v + "/.git/cairn")
        #expect(actions(try tick(sb, v, at: "2026-03-01T10:00:40Z"), "started").isEmpty)
        #expect(try runs(sb, v, "sched").count == 1)
    }

    /// kill -9 while a tick starts a due schedule (before or after the run's first checkpoint): the next tick
    /// neither loses the minute nor starts it twice, and finishes the run.
    @Test(arguments: [CrashPoint.workflowBeforeCheckpoint, .workflowAfterCheckpoint, .agentAfterRef])
    func killNineMidTickNeitherLosesNorRepeatsTheStart(point: CrashPoint) throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "sched", """
            on: {schedule: "0 * * * *"}
            steps:
              - id: a
                agent: writer
                gate: auto
            """)
        _ = try tick(sb, v, at: "2026-03-01T09:30:00Z")
        let crashed = sb.runCairn(["tick"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T10:00:00Z", "CAIRN_CRASH_AT": point.rawValue])
        #expect(crashed.signaled, "\(crashed)")
        sb.expectFsckClean(v)
        _ = try tick(sb, v, at: "2026-03-01T10:00:30Z")
        _ = try tick(sb, v, at: "2026-03-01T10:01:00Z")
        let list = try runs(sb, v, "sched")
        #expect(list.count == 1, "\(list)")
        #expect(list.first?["trigger"] as? String == "schedule 0 * * * * @ 2026-03-01T10:00:00Z")
        #expect(list.first?["status"] as? String == "done", "\(list)")
        let stepCommits = try sb.gitLines(["log", "--all", "--format=%(trailers:key=Cairn-Workflow,valueonly)"], cwd: v)
            .filter { !$0.isEmpty }
        #expect(stepCommits.count == 1, "\(stepCommits)")
        sb.expectFsckClean(v)
    }

    // MARK: - Paths

    @Test func pathTriggerFiresOncePerChangeAndIgnoresTheTicksOwnWrites() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "watch", """
            inputs: {path: {required: true}}
            on: {paths: ["inbox/**"]}
            steps:
              - id: a
                agent: writer
                with: {note: "{{inputs.path}}"}
                gate: auto
            """)
        _ = try tick(sb, v, at: "2026-03-01T10:00:00Z")
        try sb.write(v + "/inbox/leads/acme.md", "# Acme\n")
        try sb.snapshot(v, "Add a lead")
        let fired = try tick(sb, v, at: "2026-03-01T10:01:00Z")
        #expect(actions(fired, "started").count == 1, "\(fired)")
        let list = try runs(sb, v, "watch")
        #expect(list.count == 1)
        #expect((list.first?["input"] as? [String: Any])?["path"] as? String == "inbox/leads/acme.md")
        // The tick wrote its digest under inbox/; that must not trigger the inbox watcher.
        #expect(try sb.gitOK(["show", "main:inbox/digests/tick-2026-03-01.md"], cwd: v).contains("started workflow watch"))
        #expect(actions(try tick(sb, v, at: "2026-03-01T10:02:00Z"), "started").isEmpty)
        // A change outside the globs triggers nothing; a new change inside fires once more.
        try sb.write(v + "/memory/working/scratch.md", "scratch\n")
        try sb.snapshot(v, "Scratch")
        #expect(actions(try tick(sb, v, at: "2026-03-01T10:03:00Z"), "started").isEmpty)
        try sb.write(v + "/inbox/leads/bolt.md", "# Bolt\n")
        try sb.snapshot(v, "Another lead")
        #expect(actions(try tick(sb, v, at: "2026-03-01T10:04:00Z"), "started").count == 1)
        #expect(actions(try tick(sb, v, at: "2026-03-01T10:05:00Z"), "started").isEmpty)
        #expect(try runs(sb, v, "watch").count == 2)
        sb.expectFsckClean(v)
    }

    // MARK: - Concurrency

    @Test func twoConcurrentTicksRunNothingTwice() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "sched", """
            on: {schedule: "*/5 * * * *"}
            steps:
              - id: a
                agent: writer
                gate: auto
            """)
        _ = try tick(sb, v, at: "2026-03-01T10:01:00Z")
        // The first tick's agent signals when it runs, then takes 2 s; the second tick starts meanwhile.
        try sb.write(sb.home + "/slow", "")
        let marker = sb.home + "/slow-started"
        let slow = sb.startCairn(["tick", "--json"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T10:05:00Z"])
        let deadline = Date().addingTimeInterval(60)
        while !sb.exists(marker) && Date() < deadline { usleep(20_000) }
        try #require(sb.exists(marker), "the first tick's agent never started")
        let second = try tick(sb, v, at: "2026-03-01T10:05:00Z")
        #expect(second["skipped"] as? Bool == true, "\(second)")
        let first = slow.finish()
        #expect(first.status == 0, "\(first)")
        #expect(actions(try jsonObject(first.stdoutData), "started").count == 1)
        try FileManager.default.removeItem(atPath: sb.home + "/slow")
        // Four ticks at once for the next due minute: still exactly one run for it.
        let burst = (0..<4).map { _ in sb.startCairn(["tick", "--json"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T10:10:00Z"]) }
        let results = burst.map { $0.finish() }
        for r in results { #expect(r.status == 0, "\(r)") }
        let startedCount = try results.map { actions(try jsonObject($0.stdoutData), "started").count }.reduce(0, +)
        #expect(startedCount <= 1)
        _ = try tick(sb, v, at: "2026-03-01T10:10:20Z")  // whichever tick was skipped, the minute is handled once
        let triggers = try runs(sb, v, "sched").compactMap { $0["trigger"] as? String }.sorted()
        #expect(triggers == ["schedule */5 * * * * @ 2026-03-01T10:05:00Z", "schedule */5 * * * * @ 2026-03-01T10:10:00Z"])
        sb.expectFsckClean(v)
    }

    // MARK: - Circuit breaker and quotas

    @Test func failingAgentTripsTheBreakerAndPolicyResetClearsIt() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        for second in 1...3 {
            let r = sb.runCairn(["agent", "run", "boom"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T09:00:0\(second)Z"])
            #expect(r.status == 1 && r.stderr.contains("failed"), "\(r)")
        }
        let refsBefore = try sb.refs(v, under: "refs/")
        let mainBefore = try sb.gitOK(["rev-parse", "main"], cwd: v)
        let blocked = sb.runCairn(["agent", "run", "boom"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T09:00:05Z"])
        #expect(blocked.status == 1)
        #expect(blocked.stderr.contains("agent boom is paused by its circuit breaker: its last 3 runs failed"), "\(blocked)")
        #expect(blocked.stderr.contains("cairn policy reset boom"))
        // A refused run writes nothing.
        #expect(try sb.refs(v, under: "refs/") == refsBefore)
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: v) == mainBefore)

        let shown = try jsonObject(sb.runCairn(["policy", "--json"], cwd: v).stdoutData)
        let breakers = ((shown["limits"] as? [String: Any])?["breakers"] as? [[String: Any]]) ?? []
        let boom = try #require(breakers.first { $0["agent"] as? String == "boom" })
        #expect(boom["open"] as? Bool == true)
        #expect((boom["failedRuns"] as? [String])?.count == 3)
        #expect(sb.runCairn(["policy"], cwd: v).stdout.contains("boom — OPEN"))
        // The tick's health check reports it.
        _ = try tick(sb, v, at: "2026-03-01T09:01:00Z")
        let health = try tick(sb, v, at: "2026-03-01T09:02:00Z")
        #expect((health["waiting"] as? [String] ?? []).contains { $0.contains("agent boom is paused by its circuit breaker") })

        let reset = sb.runCairn(["policy", "reset", "boom"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T09:03:00Z"])
        #expect(reset.status == 0, "\(reset)")
        // The reset is a commit on its own ref, by the operator, naming what it forgave.
        #expect(try sb.trailer(v, "refs/cairn/breakers/boom", "Cairn-Operation") == "breaker-reset")
        #expect(try sb.gitOK(["log", "-1", "--format=%an", "refs/cairn/breakers/boom"], cwd: v) == Sandbox.operatorName)
        let record = try jsonObject(Data(try sb.gitOK(["show", "refs/cairn/breakers/boom:reset.json"], cwd: v).utf8))
        #expect((record["forgiven"] as? [String])?.count == 3)
        #expect(sb.runCairn(["policy", "reset", "nobody"], cwd: v).status == 1)

        // It runs again (and fails again: one failure, breaker closed).
        let again = sb.runCairn(["agent", "run", "boom"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T09:04:00Z"])
        #expect(again.status == 1 && !again.stderr.contains("circuit breaker"), "\(again)")
        let after = try jsonObject(sb.runCairn(["policy", "--json"], cwd: v).stdoutData)
        let boomAfter = (((after["limits"] as? [String: Any])?["breakers"] as? [[String: Any]]) ?? []).first { $0["agent"] as? String == "boom" }
        #expect(boomAfter?["open"] as? Bool == false)
        #expect((boomAfter?["failedRuns"] as? [String])?.count == 1)
        sb.expectFsckClean(v)
    }

    /// A vault whose `writer` may run twice a day, with both runs made on 2026-03-01.
    func writerAtItsQuota(_ sb: Sandbox) throws -> String {
        let v = try vault(sb)
        try policy(sb, v) { p in
            var quotas = p["quotas"] as? [String: Any] ?? [:]
            quotas["agents"] = ["writer": ["runs_per_day": 2]]
            p["quotas"] = quotas
        }
        for (i, input) in ["one", "two"].enumerated() {
            let r = sb.runCairn(["agent", "run", "writer", "--input", "note=\(input)"], cwd: v,
                                env: ["CAIRN_NOW": "2026-03-01T10:0\(i):00Z"])
            #expect(r.status == 0, "\(r)")
        }
        return v
    }

    @Test func exhaustedQuotaBlocksTheNextRunWithAClearReason() throws {
        let sb = try Sandbox()
        let v = try writerAtItsQuota(sb)
        let refsBefore = try sb.refs(v, under: "refs/")
        let blocked = sb.runCairn(["agent", "run", "writer", "--input", "note=three"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T23:59:00Z"])
        #expect(blocked.status == 1)
        #expect(blocked.stderr.contains(
            "agent writer has reached its daily quota runs_per_day: 2 runs used of 2 today (UTC); it resets at 2026-03-02T00:00:00Z, or raise quotas.agents.writer.runs_per_day in policy.json"),
            "\(blocked)")
        #expect(try sb.refs(v, under: "refs/") == refsBefore)
        let shown = sb.runCairn(["policy"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T23:59:00Z"])
        #expect(shown.stdout.contains("agent writer: 2/2 runs") && shown.stdout.contains("exhausted: runs_per_day"), "\(shown)")
        // Other agents keep the default limit; the next day the writer runs again.
        let nextDay = sb.runCairn(["agent", "run", "writer", "--input", "note=three"], cwd: v, env: ["CAIRN_NOW": "2026-03-02T00:00:00Z"])
        #expect(nextDay.status == 0, "\(nextDay)")
        sb.expectFsckClean(v)
    }

    /// The day's ledger is cached in .git/cairn; a damaged or stale cache is read past, never trusted blindly.
    @Test func theDaysLedgerIsCachedAndADamagedCacheIsReadPast() throws {
        let sb = try Sandbox()
        let v = try writerAtItsQuota(sb)
        let cache = v + "/.git/cairn/ledger-20260301.tsv"
        let text = try String(contentsOfFile: cache, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("\twriter\t"), "\(text)") // the second run's check saw only the first
        // Every cached line now names a commit its run's ref does not point to, and garbage surrounds them:
        // the ledger is read from the commits again, so the quota still holds.
        let stale = lines.map { l -> String in
            var f = l.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            f[1] = String(repeating: "0", count: 40)
            f[5] = "0"
            return f.joined(separator: "\t")
        }
        try (["garbage", "\t\t\t"] + stale + ["20260301-1\tnot-an-id"]).joined(separator: "\n").write(toFile: cache, atomically: true, encoding: .utf8)
        let blocked = sb.runCairn(["agent", "run", "writer", "--input", "note=three"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T12:00:00Z"])
        #expect(blocked.status == 1 && blocked.stderr.contains("2 runs used of 2 today"), "\(blocked)")
        let rewritten = try String(contentsOfFile: cache, encoding: .utf8).split(separator: "\n")
        #expect(rewritten.count == 2 && rewritten.allSatisfy { !$0.contains(String(repeating: "0", count: 40)) }, "\(rewritten)")
        // The next day starts its own file (once it has a run to cache) and drops the old one.
        for (i, input) in ["four", "five"].enumerated() {
            let r = sb.runCairn(["agent", "run", "writer", "--input", "note=\(input)"], cwd: v, env: ["CAIRN_NOW": "2026-03-02T08:0\(i):00Z"])
            #expect(r.status == 0, "\(r)")
        }
        #expect(!FileManager.default.fileExists(atPath: cache))
        #expect(FileManager.default.fileExists(atPath: v + "/.git/cairn/ledger-20260302.tsv"))
        sb.expectFsckClean(v)
    }

    @Test func aStepHeldByAnAgentQuotaWaitsAndGoesOnWhenTheQuotaResets() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "two", """
            on: {schedule: "0 23 * * *"}
            steps:
              - id: a
                agent: writer
                gate: auto
              - id: b
                agent: writer
                with: {note: second}
                gate: auto
            """)
        try policy(sb, v) { p in
            var quotas = p["quotas"] as? [String: Any] ?? [:]
            quotas["agents"] = ["writer": ["runs_per_day": 1]]
            p["quotas"] = quotas
        }
        _ = try tick(sb, v, at: "2026-03-01T22:00:00Z")
        let held = try tick(sb, v, at: "2026-03-01T23:00:00Z")
        let started = actions(held, "started")
        #expect(started.count == 1 && actions(held, "blocked").isEmpty, "\(held)")
        #expect(started.first?["status"] as? String == "running")
        #expect((started.first?["detail"] as? String)?.contains("held: agent writer has reached its daily quota runs_per_day") == true)
        let again = try tick(sb, v, at: "2026-03-01T23:30:00Z")
        #expect((again["waiting"] as? [String] ?? []).contains { $0.contains("is held: agent writer has reached its daily quota") }, "\(again)")
        #expect(try runs(sb, v, "two").first?["status"] as? String == "running")
        // After midnight UTC the quota allows the second step.
        let next = try tick(sb, v, at: "2026-03-02T00:00:30Z")
        #expect(actions(next, "advanced").first?["status"] as? String == "done", "\(next)")
        let list = try runs(sb, v, "two")
        #expect(list.count == 1 && list.first?["status"] as? String == "done")
        sb.expectFsckClean(v)
    }

    @Test func workflowQuotaBlocksADueScheduleAndTheDigestSaysSo() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "sched", """
            on: {schedule: "*/5 * * * *"}
            steps:
              - id: a
                agent: writer
                gate: auto
            """)
        try policy(sb, v) { p in
            var quotas = p["quotas"] as? [String: Any] ?? [:]
            quotas["workflows"] = ["sched": ["runs_per_day": 1]]
            p["quotas"] = quotas
        }
        _ = try tick(sb, v, at: "2026-03-01T10:01:00Z")
        #expect(actions(try tick(sb, v, at: "2026-03-01T10:05:00Z"), "started").count == 1)
        let second = try tick(sb, v, at: "2026-03-01T10:10:00Z")
        let blocked = actions(second, "blocked")
        #expect(blocked.count == 1 && actions(second, "started").isEmpty, "\(second)")
        #expect((blocked.first?["detail"] as? String)?.contains("workflow sched has reached its daily quota runs_per_day: 1 runs used of 1") == true)
        #expect(try sb.gitOK(["show", "main:inbox/digests/tick-2026-03-01.md"], cwd: v).contains("blocked workflow sched"))
        #expect(try runs(sb, v, "sched").count == 1)
    }

    @Test func workflowQuotaAlsoBlocksAManualStart() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "manual", """
            steps:
              - id: a
                agent: writer
                gate: auto
            """)
        try policy(sb, v) { p in
            var quotas = p["quotas"] as? [String: Any] ?? [:]
            quotas["workflows"] = ["manual": ["runs_per_day": 1]]
            p["quotas"] = quotas
        }
        #expect(sb.runCairn(["workflow", "run", "manual"], cwd: v).status == 0)
        let refs = try sb.gitLines(["for-each-ref", "--format=%(refname) %(objectname)"], cwd: v)
        let second = sb.runCairn(["workflow", "run", "manual"], cwd: v)
        #expect(second.status == 1, "\(second)")
        #expect(second.stderr.contains("workflow manual has reached its daily quota runs_per_day: 1 runs used of 1"), "\(second)")
        #expect(try sb.gitLines(["for-each-ref", "--format=%(refname) %(objectname)"], cwd: v) == refs, "a refused start wrote nothing")
        #expect(try runs(sb, v, "manual").count == 1)
    }

    @Test func failingWorkflowTripsItsBreakerAndResetLetsItStartAgain() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "fragile", """
            on: {schedule: "*/5 * * * *"}
            steps:
              - id: a
                agent: boom
                on_failure: fail
            """)
        try policy(sb, v) { p in
            p["circuit_breaker"] = ["consecutive_failures": 3, "agents": ["boom": 0], "workflows": ["fragile": 2]]
        }
        _ = try tick(sb, v, at: "2026-03-01T10:01:00Z")
        for minute in ["05", "10"] {
            let r = try tick(sb, v, at: "2026-03-01T10:\(minute):00Z")
            #expect(actions(r, "started").first?["status"] as? String == "failed", "\(r)")
        }
        let paused = try tick(sb, v, at: "2026-03-01T10:15:00Z")
        #expect(actions(paused, "started").isEmpty)
        #expect((actions(paused, "blocked").first?["detail"] as? String)?.contains("workflow fragile is paused by its circuit breaker: its last 2 runs failed") == true, "\(paused)")
        #expect((paused["waiting"] as? [String] ?? []).contains { $0.contains("cairn policy reset --workflow fragile") })
        #expect(try runs(sb, v, "fragile").count == 2)

        let reset = sb.runCairn(["policy", "reset", "--workflow", "fragile"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T10:16:00Z"])
        #expect(reset.status == 0, "\(reset)")
        #expect(try sb.trailer(v, "refs/cairn/workflow-breakers/fragile", "Cairn-Operation") == "breaker-reset")
        #expect(actions(try tick(sb, v, at: "2026-03-01T10:20:00Z"), "started").count == 1)
        #expect(try runs(sb, v, "fragile").count == 3)
        sb.expectFsckClean(v)
    }

    // MARK: - Events

    @Test func emitRecordsTheEventAndStartsItsWorkflowOnce() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "on-lead", """
            inputs: {lead: {required: true}}
            on: {event: order.paid}
            steps:
              - id: a
                agent: writer
                with: {note: "{{inputs.lead}}"}
                gate: auto
            """)
        _ = try tick(sb, v, at: "2026-03-01T10:00:00Z")
        let mainBefore = try sb.gitOK(["rev-parse", "main"], cwd: v)
        // Bad input writes nothing.
        #expect(sb.runCairn(["emit", "order.paid", "--data", "{nope"], cwd: v).status == 1)
        #expect(sb.runCairn(["emit", "../x"], cwd: v).status == 1)
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: v) == mainBefore)

        let r = sb.runCairn(["emit", "order.paid", "--data", #"{"lead": "acme", "size": 12}"#, "--json"], cwd: v,
                            env: ["CAIRN_NOW": "2026-03-01T10:00:30Z"])
        #expect(r.status == 0, "\(r)")
        let result = try jsonObject(r.stdoutData)
        let path = try #require(result["path"] as? String)
        let event = try #require(result["event"] as? [String: Any])
        let id = try #require(event["id"] as? String)
        #expect(path == "inbox/events/2026/03/\(id).json")
        // One operator commit on main holding only the event record, with trailers.
        #expect(try sb.gitOK(["rev-parse", "main~1"], cwd: v) == mainBefore)
        #expect(try sb.changedFiles(v, "main") == ["A\t" + path])
        #expect(try sb.trailer(v, "main", "Cairn-Operation") == "emit")
        #expect(try sb.trailer(v, "main", "Cairn-Event") == "order.paid")
        #expect(try sb.gitOK(["log", "-1", "--format=%an", "main"], cwd: v) == Sandbox.operatorName)
        let stored = try jsonObject(Data(try sb.gitOK(["show", "main:\(path)"], cwd: v).utf8))
        #expect((stored["data"] as? [String: Any])?["lead"] as? String == "acme")
        #expect(sb.exists(v + "/" + path))  // the working tree follows main

        let started = (result["triggered"] as? [[String: Any]]) ?? []
        #expect(started.count == 1 && started.first?["kind"] as? String == "started", "\(result)")
        let list = try runs(sb, v, "on-lead")
        #expect(list.count == 1)
        #expect((list.first?["input"] as? [String: Any])?["lead"] as? String == "acme")
        #expect(list.first?["trigger"] as? String == "event order.paid \(id)")
        // The next tick sees the event commit on main but does not start the workflow again.
        #expect(actions(try tick(sb, v, at: "2026-03-01T10:01:00Z"), "started").isEmpty)
        #expect(try runs(sb, v, "on-lead").count == 1)
        let audit = sb.runCairn(["audit"], cwd: v)
        #expect(audit.status == 0, "\(audit)")
        sb.expectFsckClean(v)
    }

    /// kill -9 around the commit of an event (run for each `emit` point by
    /// `CrashMatrixTests.killNineAtEveryCrashPoint`): before main moved the event never happened and nothing starts;
    /// after, the next tick starts its workflows exactly once.
    func aTickStartsTheWorkflowsOfAnEventWhoseEmitDidNotGetTo(_ point: CrashPoint) throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "on-ping", """
            on: {event: ping}
            steps:
              - id: a
                agent: writer
                gate: auto
            """)
        _ = try tick(sb, v, at: "2026-03-01T10:00:00Z")
        let before = try sb.gitOK(["rev-parse", "main"], cwd: v)
        // emit dies around its commit, before it could start anything.
        let crashed = sb.runCairn(["emit", "ping"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T10:00:10Z", "CAIRN_CRASH_AT": point.rawValue])
        #expect(crashed.signaled && crashed.status == 9, "expected SIGKILL at \(point): \(crashed)")
        sb.expectFsckClean(v)
        #expect(try runs(sb, v, "on-ping").isEmpty)
        let happened = point != .emitBeforeRef
        #expect((try sb.gitOK(["rev-parse", "main"], cwd: v) != before) == happened)
        let picked = try tick(sb, v, at: "2026-03-01T10:01:00Z")
        #expect(actions(picked, "started").count == (happened ? 1 : 0), "\(picked)")
        #expect(actions(try tick(sb, v, at: "2026-03-01T10:02:00Z"), "started").isEmpty)
        #expect(try runs(sb, v, "on-ping").count == (happened ? 1 : 0))
        // The working tree follows main: the event record is there once main has it, and nothing is left over.
        let events = try sb.gitLines(["ls-tree", "-r", "--name-only", "main", "--", "inbox/events"], cwd: v)
        #expect(events.count == (happened ? 1 : 0), "\(events)")
        for path in events { #expect(sb.exists(v + "/" + path), "\(path) is on main but not in the working tree") }
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
        sb.expectFsckClean(v)
    }

    /// kill -9 around the commit of a tick's digest (run for each `tick` point by
    /// `CrashMatrixTests.killNineAtEveryCrashPoint`): the due start happens once, the operator's edit survives, a
    /// digest that reached main reaches the working tree with the next snapshot (never reverted by it), and the
    /// vault stays clean. (Killed before main moved, that tick's digest lines are lost: the start is recorded in
    /// the run itself, and the next tick has nothing new to write.)
    func aTickKilledAroundItsDigestStartsOnceAndWritesTheDigest(_ point: CrashPoint) throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "sched", """
            on: {schedule: "0 * * * *"}
            steps:
              - id: a
                agent: writer
                gate: auto
            """)
        _ = try tick(sb, v, at: "2026-03-01T09:30:00Z")
        try sb.write(v + "/inbox/operator.md", "# Operator\nwork in progress\n")
        let crashed = sb.runCairn(["tick"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T10:00:00Z", "CAIRN_CRASH_AT": point.rawValue])
        #expect(crashed.signaled && crashed.status == 9, "expected SIGKILL at \(point): \(crashed)")
        sb.expectFsckClean(v)
        #expect(sb.readText(v + "/inbox/operator.md") == "# Operator\nwork in progress\n")
        _ = try tick(sb, v, at: "2026-03-01T10:00:30Z")
        _ = try tick(sb, v, at: "2026-03-01T10:01:00Z")
        let list = try runs(sb, v, "sched")
        #expect(list.count == 1, "\(list)")
        #expect(list.first?["status"] as? String == "done", "\(list)")
        let digest = "inbox/digests/tick-2026-03-01.md"
        #expect(sb.readText(v + "/inbox/operator.md") == "# Operator\nwork in progress\n")
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        if point != .tickBeforeRef {
            #expect(try sb.gitOK(["show", "main:\(digest)"], cwd: v).contains("workflow sched"))
            #expect(sb.readText(v + "/" + digest)?.trimmingCharacters(in: .newlines) == (try sb.gitOK(["show", "main:\(digest)"], cwd: v)))
        }
        #expect(try sb.gitOK(["show", "main:inbox/operator.md"], cwd: v) == "# Operator\nwork in progress")
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
        sb.expectFsckClean(v)
    }
}
