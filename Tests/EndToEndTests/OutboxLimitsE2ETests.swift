import Foundation
import Testing

/// The outbox's proposed state, its circuit breaker and daily quota (both counted from committed records, so they
/// hold across runs), `cairn why` on a sent item, and two synced machines claiming the same item: the claim ref
/// reaches the remote before anything is sent, and only one machine sends.
@Suite(.enabled(if: ConnectorServers.available, "dovecot is not installed (make test installs dovecot-imapd)"))
struct OutboxLimitsE2ETests {
    private func setUp(_ sb: Sandbox, policy connectors: [String: Any]? = nil) throws -> (String, ConnectorServers) {
        let servers = try ConnectorServers(sb)
        let v = try sb.makeVault()
        try servers.writeConnectors(v)
        if let connectors {
            let path = v + "/policy.json"
            var policy = (FileManager.default.contents(atPath: path).flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }) ?? [:]
            policy["connectors"] = connectors
            try JSONSerialization.data(withJSONObject: policy, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: path))
        }
        #expect(sb.runCairn(["snapshot", "-m", "Add connectors"], cwd: v).status == 0)
        return (v, servers)
    }

    private func webhook(_ v: String, _ id: String, _ n: Int) throws {
        try Data("---\nkind: webhook\nconnector: hooks\n---\n{\"n\": \(n)}\n".utf8).write(to: URL(fileURLWithPath: v + "/outbox/\(id).md"))
    }

    private func states(_ sb: Sandbox, _ v: String) throws -> [String: String] {
        let r = sb.runCairn(["outbox", "list", "--json"], cwd: v)
        let report = try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any]
        let list = report?["items"] as? [[String: Any]] ?? []
        var out: [String: String] = [:]
        for e in list { out[e["id"] as? String ?? ""] = e["state"] as? String }
        return out
    }

    /// The sending connectors of `cairn outbox --json` at `now`, by name.
    private func connectorsJSON(_ sb: Sandbox, _ v: String, at now: String) throws -> [String: [String: Any]] {
        let r = sb.runCairn(["outbox", "--json"], cwd: v, env: env(now))
        #expect(r.status == 0, "\(r)")
        let report = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any], "\(r)")
        #expect(report["items"] is [Any], "\(r)")
        var out: [String: [String: Any]] = [:]
        for c in report["connectors"] as? [[String: Any]] ?? [] { out[c["connector"] as? String ?? ""] = c }
        return out
    }

    private func env(_ now: String, machine: String = "laptop") -> [String: String?] {
        ConnectorServers.env.merging(["CAIRN_NOW": now, "CAIRN_MACHINE": machine]) { $1 }
    }

    @Test func anAgentsItemIsProposedUntilApprovedAndWhyShowsItsSends() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb)
        try sb.addAgent(v, "crm", frontMatter: """
            kind: command
            command: ["sh", "agents/crm.sh"]
            writes: ["outbox/**"]
            autonomy: advisory
            timeout: 30s
            """, files: ["agents/crm.sh": "mkdir -p outbox\nprintf -- '---\\nkind: webhook\\nconnector: hooks\\n---\\n{\"lead\": \"acme\"}\\n' > outbox/crm-lead.md\necho 'summary: tell the CRM'\n"])
        let run = try sb.runAgent(v, "crm")
        #expect(run.outcome == "proposed", "\(run)")
        #expect(try states(sb, v) == ["crm-lead": "proposed"])
        // Proposed items are not sent.
        let early = sb.runCairn(["outbox", "send"], cwd: v, env: ConnectorServers.env)
        #expect(early.status == 0 && early.stdout.contains("Nothing to send"), "\(early)")
        #expect(servers.webhookLog().isEmpty)
        #expect(sb.runCairn(["approve", run.id], cwd: v).status == 0)
        #expect(try states(sb, v) == ["crm-lead": "approved"])
        let sent = sb.runCairn(["outbox", "send"], cwd: v, env: ConnectorServers.env)
        #expect(sent.status == 0 && sent.stdout.contains("crm-lead: sent"), "\(sent)")
        #expect(servers.webhookLog().count == 1)
        // Why: the item came from the agent's run, approved by the operator, and went out once.
        let why = sb.runCairn(["why", "outbox/crm-lead.md", "--json"], cwd: v)
        let w = try JSONSerialization.jsonObject(with: why.stdoutData) as? [String: Any]
        #expect(w?["agent"] as? String == "crm" && w?["run"] as? String == run.id, "\(why)")
        let outbox = w?["outbox"] as? [String: Any]
        #expect(outbox?["state"] as? String == "sent" && outbox?["key"] as? String == "cairn-outbox-crm-lead", "\(why)")
        #expect((outbox?["history"] as? [[String: Any]])?.compactMap { $0["state"] as? String } == ["sending", "sent"], "\(why)")
        let text = sb.runCairn(["why", "outbox/crm-lead.md"], cwd: v)
        #expect(text.stdout.contains("Outbox  sent, key cairn-outbox-crm-lead"), "\(text)")
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
    }

    @Test func theBreakerStaysOpenAcrossRunsThenTriesOneItem() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb, policy: ["hooks": ["retries": 0, "breaker_failures": 2, "breaker_cooldown_seconds": 600]])
        // The receiver is unreachable: nothing listens on port 1.
        let hooks = try String(contentsOfFile: v + "/connectors/hooks.md", encoding: .utf8)
        try Data(hooks.replacingOccurrences(of: ":\(servers.http)/", with: ":1/").utf8).write(to: URL(fileURLWithPath: v + "/connectors/hooks.md"))
        for (i, id) in ["a-first", "b-second", "c-third"].enumerated() { try webhook(v, id, i) }
        #expect(sb.runCairn(["snapshot", "-m", "Approve"], cwd: v).status == 0)

        let first = sb.runCairn(["outbox", "send"], cwd: v, env: env("2026-03-02T10:00:00Z"))
        #expect(first.stdout.contains("a-first: failed") && first.stdout.contains("b-second: failed"), "\(first)")
        #expect(first.stdout.contains("c-third: approved — circuit breaker open for connector hooks after 2 failed items in a row"), "\(first)")
        // A new process, five minutes later: the breaker is still open (it lives in the committed records).
        let second = sb.runCairn(["outbox", "send"], cwd: v, env: env("2026-03-02T10:05:00Z"))
        #expect(second.stdout.contains("c-third: approved — circuit breaker open") && second.stdout.contains("retried after 2026-03-02T10:10:00Z"), "\(second)")
        #expect(try states(sb, v)["c-third"] == "approved")
        // `cairn outbox` shows the breaker with the items that opened it and when it tries again.
        let list = sb.runCairn(["outbox"], cwd: v, env: env("2026-03-02T10:05:00Z"))
        #expect(list.stdout.contains("connector hooks (webhook): breaker open after 2 failed items in a row (b-second, a-first), tries one again after 2026-03-02T10:10:00Z"), "\(list)")
        #expect(list.stdout.contains("connector smtp (smtp): breaker closed; 0 of 30 sends in the last minute; 0 sends today (UTC), no daily quota"), "\(list)")
        // `--json` carries the same connector state beside the items.
        let json = try connectorsJSON(sb, v, at: "2026-03-02T10:05:00Z")
        let hooksState = try #require(json["hooks"], "\(json)")
        #expect(hooksState["kind"] as? String == "webhook")
        let breaker = hooksState["breaker"] as? [String: Any]
        #expect(breaker?["state"] as? String == "open", "\(hooksState)")
        #expect(breaker?["failedItems"] as? [String] == ["b-second", "a-first"], "\(hooksState)")
        #expect(breaker?["retryAt"] as? String == "2026-03-02T10:10:00Z", "\(hooksState)")
        #expect(hooksState["ratePerMinute"] as? Int == 30 && hooksState["sentLastMinute"] as? Int == 0, "\(hooksState)")
        #expect((json["smtp"]?["breaker"] as? [String: Any])?["state"] as? String == "closed", "\(json)")
        #expect(json["smtp"]?["sendsPerDay"] == nil || json["smtp"]?["sendsPerDay"] is NSNull, "\(json)")
        let halfOpen = sb.runCairn(["outbox"], cwd: v, env: env("2026-03-02T10:10:30Z"))
        #expect(halfOpen.stdout.contains("connector hooks (webhook): breaker half-open after 2 failed items in a row (b-second, a-first), tries one item next"), "\(halfOpen)")
        // The receiver is back; after the cool-down one item is tried, and it goes out.
        try Data(hooks.utf8).write(to: URL(fileURLWithPath: v + "/connectors/hooks.md"))
        #expect(sb.runCairn(["snapshot", "-m", "Fix the receiver"], cwd: v).status == 0)
        let third = sb.runCairn(["outbox", "send"], cwd: v, env: env("2026-03-02T10:11:00Z"))
        #expect(third.status == 0 && third.stdout.contains("c-third: sent"), "\(third)")
        #expect(servers.webhookLog().compactMap { $0["key"] as? String } == ["cairn-outbox-c-third"])
    }

    @Test func aReceiverThatIsDownForAMomentGetsRetriesWithBackoffAndTheItemOnce() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb, policy: ["hooks": ["retries": 2, "backoff_seconds": 0.3]])
        // The receiver answers 503 to the first two requests of each key (POST /flaky/2), then 200.
        let hooks = try String(contentsOfFile: v + "/connectors/hooks.md", encoding: .utf8)
        try Data(hooks.replacingOccurrences(of: "/hook\n", with: "/flaky/2\n").utf8).write(to: URL(fileURLWithPath: v + "/connectors/hooks.md"))
        try webhook(v, "late", 1)
        #expect(sb.runCairn(["snapshot", "-m", "Approve"], cwd: v).status == 0)
        var environment = env("2026-03-02T10:00:00Z")
        environment["CAIRN_BACKOFF_SCALE"] = "1"
        let sent = sb.runCairn(["outbox", "send"], cwd: v, env: environment)
        #expect(sent.status == 0 && sent.stdout.contains("late: sent") && sent.stdout.contains("(attempt 3)"), "\(sent)")
        // On the receiver: three requests with the same key, the first two refused, each retry after a longer wait.
        let log = servers.webhookLog()
        #expect(log.compactMap { $0["key"] as? String } == Array(repeating: "cairn-outbox-late", count: 3), "\(log)")
        #expect(log.compactMap { $0["status"] as? Int } == [503, 503, 200], "\(log)")
        let at = log.compactMap { $0["at"] as? Double }
        if at.count == 3 {
            #expect(at[1] - at[0] >= 0.3, "first retry after backoff_seconds: \(at)")
            #expect(at[2] - at[1] >= 0.6, "second retry after twice that: \(at)")
        }
        #expect(try states(sb, v)["late"] == "sent")

        // Retries spent: the item fails with the receiver's answer, after 1 + retries attempts, and goes out no more.
        try Data(hooks.replacingOccurrences(of: "/hook\n", with: "/flaky/5\n").utf8).write(to: URL(fileURLWithPath: v + "/connectors/hooks.md"))
        try webhook(v, "down", 2)
        #expect(sb.runCairn(["snapshot", "-m", "Approve"], cwd: v).status == 0)
        let failed = sb.runCairn(["outbox", "send"], cwd: v, env: env("2026-03-02T10:01:00Z"))
        #expect(failed.status == 1 && failed.stdout.contains("down: failed — POST http://127.0.0.1:\(servers.http)/flaky/5 answered 503 (after 3 attempts)"), "\(failed)")
        #expect(servers.webhookLog().filter { $0["key"] as? String == "cairn-outbox-down" }.count == 3)
        #expect(try states(sb, v)["down"] == "failed")
    }

    @Test func aDailyQuotaHoldsItemsUntilTheNextDay() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb, policy: ["hooks": ["sends_per_day": 1]])
        try webhook(v, "one", 1)
        try webhook(v, "two", 2)
        #expect(sb.runCairn(["snapshot", "-m", "Approve"], cwd: v).status == 0)
        let first = sb.runCairn(["outbox", "send"], cwd: v, env: env("2026-03-02T10:00:00Z"))
        #expect(first.stdout.contains("one: sent"), "\(first)")
        #expect(first.stdout.contains("two: approved — quota: connector hooks has sent 1 of its 1 sends_per_day today (UTC); waits until 2026-03-03T00:00:00Z"), "\(first)")
        let later = sb.runCairn(["outbox", "send"], cwd: v, env: env("2026-03-02T18:00:00Z"))
        #expect(later.stdout.contains("two: approved — quota"), "\(later)")
        let list = sb.runCairn(["outbox"], cwd: v, env: env("2026-03-02T18:00:00Z"))
        #expect(list.stdout.contains("connector hooks (webhook): breaker closed; 0 of 30 sends in the last minute; 1 of 1 sends today (UTC)"), "\(list)")
        let justAfter = sb.runCairn(["outbox"], cwd: v, env: env("2026-03-02T10:00:30Z"))
        #expect(justAfter.stdout.contains("hooks (webhook): breaker closed; 1 of 30 sends in the last minute; 1 of 1 sends today"), "\(justAfter)")
        let quota = try connectorsJSON(sb, v, at: "2026-03-02T10:00:30Z")["hooks"]
        #expect(quota?["sentToday"] as? Int == 1 && quota?["sendsPerDay"] as? Int == 1 && quota?["sentLastMinute"] as? Int == 1, "\(String(describing: quota))")
        #expect(servers.webhookLog().count == 1)
        let tomorrow = sb.runCairn(["outbox", "send"], cwd: v, env: env("2026-03-03T08:00:00Z"))
        #expect(tomorrow.stdout.contains("two: sent"), "\(tomorrow)")
        #expect(servers.webhookLog().compactMap { $0["key"] as? String } == ["cairn-outbox-one", "cairn-outbox-two"])
    }

    @Test func theRateLimitCountsSendsOfTheLastMinuteAcrossRuns() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb, policy: ["hooks": ["rate_per_minute": 1]])
        try webhook(v, "one", 1)
        try webhook(v, "two", 2)
        #expect(sb.runCairn(["snapshot", "-m", "Approve"], cwd: v).status == 0)
        let first = sb.runCairn(["outbox", "send"], cwd: v, env: env("2026-03-02T10:00:00Z"))
        #expect(first.stdout.contains("one: sent") && first.stdout.contains("two: approved — rate limit: connector hooks sent 1 items in the last minute"), "\(first)")
        let soon = sb.runCairn(["outbox", "send"], cwd: v, env: env("2026-03-02T10:00:40Z"))
        #expect(soon.stdout.contains("two: approved — rate limit"), "\(soon)")
        let later = sb.runCairn(["outbox", "send"], cwd: v, env: env("2026-03-02T10:01:01Z"))
        #expect(later.stdout.contains("two: sent"), "\(later)")
        #expect(servers.webhookLog().compactMap { $0["key"] as? String } == ["cairn-outbox-one", "cairn-outbox-two"])
    }

    @Test func twoSyncedMachinesNeverBothSendAnItem() throws {
        let sb = try Sandbox()
        let (laptop, servers) = try setUp(sb)
        try webhook(laptop, "shared", 7)
        #expect(sb.runCairn(["snapshot", "-m", "Approve"], cwd: laptop).status == 0)
        let remote = try sb.makeBareRemote()
        try sb.cairnOK(["remote", "add", "origin", remote], cwd: laptop)
        try sb.cairnOK(["sync"], cwd: laptop)
        let server = try sb.cloneVault("file://" + remote, "server", machine: "server")
        // Neither has seen the other's send: each finds the item approved.
        #expect(try states(sb, server)["shared"] == "approved")

        let a = sb.runCairn(["outbox", "send", "shared"], cwd: laptop, env: env("2026-03-02T10:00:00Z"))
        #expect(a.status == 0 && a.stdout.contains("shared: sent"), "\(a)")
        // The claim reached the remote before the send.
        #expect(try sb.gitOK(["for-each-ref", "--format=%(refname)", "refs/cairn/outbox/"], cwd: remote) == "refs/cairn/outbox/shared")
        let b = sb.runCairn(["outbox", "send", "shared"], cwd: server, env: env("2026-03-02T10:00:30Z", machine: "server"))
        #expect(b.status == 0 && b.stdout.contains("shared: approved — claimed by laptop on remote origin first"), "\(b)")
        // The receiver got it once; the remote's claim names the laptop.
        #expect(servers.webhookLog().count == 1, "\(servers.webhookLog())")
        #expect(try sb.gitOK(["log", "-1", "--format=%(trailers:key=Cairn-Outbox-Claim,valueonly)", "refs/cairn/outbox/shared"], cwd: remote) == "laptop")
        // Once both sync, both see it sent; sending again on either sends nothing.
        try sb.cairnOK(["sync"], cwd: laptop)
        try sb.cairnOK(["sync"], cwd: server)
        #expect(try states(sb, server)["shared"] == "sent")
        let again = sb.runCairn(["outbox", "send"], cwd: server, env: env("2026-03-02T10:02:00Z", machine: "server"))
        #expect(again.stdout.contains("Nothing to send"), "\(again)")
        #expect(servers.webhookLog().count == 1)
        sb.expectFsckClean(laptop)
        sb.expectFsckClean(server)
        sb.expectFsckClean(remote)
    }
}
