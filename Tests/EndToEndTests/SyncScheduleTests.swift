import Foundation
import Testing

/// Two machines that tick the same vault: schedules run on the one machine `sync.schedules_on` names, and
/// `cairn tick` syncs before and after its work when `sync.tick_remote` is set.
@Suite struct SyncScheduleTests {
    func machines(_ sb: Sandbox, sync settings: [String: String]) throws -> (laptop: String, server: String, remote: String) {
        let laptop = try sb.makeVaultWithNoteAgent("laptop")
        try sb.gitOK(["config", "cairn.machine", "laptop"], cwd: laptop)
        try sb.write(laptop + "/workflows/sched.md", """
            ---
            on: {schedule: "*/5 * * * *"}
            steps:
              - id: a
                agent: note
                gate: auto
            ---
            Every five minutes.
            """)
        var config = try jsonObject(sb.read(laptop + "/.cairn/config.json"))
        config["sync"] = settings
        try sb.write(laptop + "/.cairn/config.json", try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]))
        let remote = try sb.makeBareRemote()
        try sb.cairnOK(["remote", "add", "origin", remote], cwd: laptop)
        try sb.cairnOK(["sync"], cwd: laptop)
        let server = try sb.cloneVault("file://" + remote, "server", machine: "server")
        return (laptop, server, remote)
    }

    @Test func twoMachinesTickingTheSameMinuteStartOneRun() throws {
        let sb = try Sandbox()
        let (laptop, server, remote) = try machines(sb, sync: ["schedules_on": "server", "tick_remote": "origin"])
        for v in [laptop, server] { try sb.cairnOK(["tick"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T10:00:00Z"]) }
        let l1 = try sb.cairnOK(["tick"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T10:05:00Z"])
        #expect(l1.stdout.contains("Workflows not run here") && l1.stdout.contains("machine server"), "told clearly: \(l1)")
        let s1 = try sb.cairnOK(["tick", "--json"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:05:00Z"])
        let started = (try jsonObject(s1.stdoutData)["actions"] as? [[String: Any]] ?? []).filter { $0["kind"] as? String == "started" }
        #expect(started.count == 1, "\(s1)")
        _ = try sb.cairnOK(["tick"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T10:05:30Z"])
        _ = try sb.cairnOK(["tick"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:05:40Z"])
        // The tick's own syncs published the run: one run on the remote and on both machines.
        for repo in [remote, laptop, server] {
            #expect(try sb.refs(repo, under: "refs/cairn/workflows/").count == 1, "\(repo)")
        }
        let record = try sb.gitOK(["log", "-1", "--format=%B", "refs/cairn/workflows/" + String((try sb.refs(remote, under: "refs/cairn/workflows/").first ?? "").split(separator: "/").last ?? "")], cwd: remote)
        #expect(!record.isEmpty)
        #expect(try sb.refs(remote, under: "refs/cairn/tick").isEmpty, "a machine's tick bookkeeping never travels")
        for repo in [remote, laptop, server] { sb.expectFsckClean(repo) }
    }

    @Test func withARemoteAndNoOwnerNamedNoMachineStartsSchedules() throws {
        let sb = try Sandbox()
        let (laptop, server, remote) = try machines(sb, sync: [:])
        for now in ["2026-03-01T10:00:00Z", "2026-03-01T10:05:00Z"] {
            for v in [laptop, server] {
                let r = try sb.cairnOK(["tick"], cwd: v, env: ["CAIRN_NOW": now])
                #expect(r.stdout.contains("no machine is named"), "\(r)")
            }
        }
        for v in [laptop, server] { try sb.cairnOK(["sync"], cwd: v) }
        #expect(try sb.refs(remote, under: "refs/cairn/workflows/").isEmpty)
    }

    /// The story: a gated workflow started on the server waits for approval; the operator approves on the
    /// laptop, which leaves the workflow to the server; after the next sync on each side the server's tick goes on.
    @Test func approvedOnTheLaptopTheServersGatedWorkflowGoesOnAfterTheNextSync() throws {
        let sb = try Sandbox()
        let (laptop, server, remote) = try machines(sb, sync: ["schedules_on": "server"])
        try sb.write(laptop + "/workflows/gated.md", """
            ---
            steps:
              - id: a
                agent: note
                with: {line: "step a"}
                gate: approve
              - id: b
                agent: note
                with: {line: "step b"}
                gate: auto
            ---
            A gated workflow.
            """)
        try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T10:01:00Z"])
        try sb.cairnOK(["sync"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:01:10Z"])
        try sb.cairnOK(["tick"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:01:20Z"])  // the server ticks from cron
        let started = try jsonObject(try sb.cairnOK(["workflow", "run", "gated", "--json"], cwd: server,
                                                    env: ["CAIRN_NOW": "2026-03-01T10:02:00Z"]).stdoutData)
        let id = try #require(started["id"] as? String)
        #expect(started["status"] as? String == "waiting-approval", "\(started)")
        try sb.cairnOK(["sync"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:02:10Z"])
        try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T10:02:20Z"])

        let approved = try sb.cairnOK(["approve", "\(id)_a_1"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T10:03:00Z"])
        #expect(approved.stdout.contains("goes on on machine server"), "the laptop leaves the workflow to the server: \(approved)")
        func status(_ v: String) throws -> [String: Any] { try jsonObject(try sb.cairnOK(["runs", id, "--json"], cwd: v).stdoutData) }
        #expect(try status(laptop)["status"] as? String == "waiting-approval", "no step ran on the laptop")
        try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T10:03:10Z"])
        let ssync = try sb.cairnOK(["sync"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:03:20Z"])
        let serverRefs = try sb.gitLines(["for-each-ref", "--format=%(refname)"], cwd: server)
        #expect(!serverRefs.contains { $0.hasPrefix("refs/heads/proposals/") }, "the server archived the decided proposal: \(ssync) \(serverRefs)")
        let tick = try sb.cairnOK(["tick", "--json"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:04:00Z"])
        let done = try status(server)
        #expect(done["status"] as? String == "done", "\(done) \(tick)")
        #expect((done["steps"] as? [[String: Any]] ?? []).map { $0["status"] as? String ?? "?" } == ["done", "done"], "\(done)")
        try sb.cairnOK(["sync"], cwd: server, env: ["CAIRN_NOW": "2026-03-01T10:04:10Z"])
        try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T10:04:20Z"])
        #expect(try status(laptop)["status"] as? String == "done")
        let steps = try sb.gitLines(["log", "--all", "--format=%(trailers:key=Cairn-Workflow,valueonly)"], cwd: remote).filter { !$0.isEmpty }
        #expect(steps.filter { $0 == "\(id)/b" }.count == 1, "step b ran exactly once: \(steps)")
        for repo in [remote, laptop, server] { sb.expectFsckClean(repo) }
    }
}
