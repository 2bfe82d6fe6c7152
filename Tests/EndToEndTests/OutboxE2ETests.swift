import CairnKit
import Foundation
import Testing

/// The outbox against a real SMTP server (delivering into Dovecot's Maildir, Sent folder included) and a webhook
/// receiver: approved items go out exactly once, across kill -9 at every step; every state change is a commit.
@Suite(.enabled(if: ConnectorServers.available, "dovecot is not installed (make test installs dovecot-imapd)"))
struct OutboxE2ETests {
    private func setUp(_ sb: Sandbox) throws -> (String, ConnectorServers) {
        let servers = try ConnectorServers(sb)
        let v = try sb.makeVault()
        try servers.writeConnectors(v)
        try Data("""
        ---
        kind: mail
        connector: smtp
        to: [ana@acme.test]
        subject: "Re: Quote request"
        in_reply_to: "<a1@acme.test>"
        ---
        Hi Ana, the quote is attached in spirit.

        """.utf8).write(to: URL(fileURLWithPath: v + "/outbox/reply-ana.md"))
        try Data("---\nkind: webhook\nconnector: hooks\n---\n{\"lead\": \"acme\", \"stage\": \"qualified\"}\n".utf8)
            .write(to: URL(fileURLWithPath: v + "/outbox/crm-acme.md"))
        let r = sb.runCairn(["snapshot", "-m", "Approve outbox items"], cwd: v)
        #expect(r.status == 0, "\(r)")
        return (v, servers)
    }

    private func states(_ sb: Sandbox, _ v: String) throws -> [String: String] {
        let r = sb.runCairn(["outbox", "list", "--json"], cwd: v)
        let report = try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any]
        let list = report?["items"] as? [[String: Any]] ?? []
        var out: [String: String] = [:]
        for e in list { out[e["id"] as? String ?? ""] = e["state"] as? String }
        return out
    }

    @Test func approvedItemsAreSentOnceAndEachStateIsACommit() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb)
        #expect(try states(sb, v) == ["reply-ana": "approved", "crm-acme": "approved"])
        let before = try sb.gitOK(["rev-parse", "main"], cwd: v)
        let r = sb.runCairn(["outbox", "send"], cwd: v, env: ConnectorServers.env)
        #expect(r.status == 0, "\(r)")
        #expect(try states(sb, v) == ["reply-ana": "sent", "crm-acme": "sent"])
        // sending + sent for each item: four commits, each with its state trailer.
        let trailers = try sb.gitLines(["log", "--format=%(trailers:key=Cairn-Outbox-State,valueonly)", "\(before)..main"], cwd: v).filter { !$0.isEmpty }
        #expect(trailers.sorted() == ["sending", "sending", "sent", "sent"], "\(trailers)")
        // The judges: the SMTP server got one mail, the Sent folder has it, the receiver one delivery with the key.
        let mails = servers.smtpLog()
        #expect(mails.count == 1 && mails[0]["message_id"] as? String == "<cairn-outbox-reply-ana@example.com>", "\(mails)")
        #expect((mails[0]["to"] as? [String]) == ["ana@acme.test"])
        let sent = try FileManager.default.contentsOfDirectory(atPath: servers.maildir + "/.Sent/new")
        #expect(sent.count == 1)
        let hooks = servers.webhookLog()
        #expect(hooks.count == 1 && hooks[0]["key"] as? String == "cairn-outbox-crm-acme" && hooks[0]["body"] as? String == "{\"lead\": \"acme\", \"stage\": \"qualified\"}", "\(hooks)")
        // Sending again sends nothing.
        let again = sb.runCairn(["outbox", "send"], cwd: v, env: ConnectorServers.env)
        #expect(again.status == 0 && again.stdout.contains("Nothing to send"), "\(again)")
        #expect(servers.smtpLog().count == 1 && servers.webhookLog().count == 1)
        // The claim refs sync can push with compare-and-swap.
        #expect(try sb.gitLines(["for-each-ref", "--format=%(refname)", "refs/cairn/outbox/"], cwd: v) == ["refs/cairn/outbox/crm-acme", "refs/cairn/outbox/reply-ana"])
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
        sb.expectFsckClean(v)
    }

    /// Killed at each outbox crash point by `CrashMatrixTests.killNineAtEveryCrashPoint`.
    func aCrashAtAnyStepNeverSendsTwiceOrLosesAnItem(point: CrashPoint) throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb)
        // Each item's first send dies at the point; then a plain run finishes whatever is left.
        for id in ["reply-ana", "crm-acme"] {
            let r = sb.runCairn(["outbox", "send", id], cwd: v, env: ConnectorServers.env.merging(["CAIRN_CRASH_AT": point.rawValue]) { $1 })
            #expect(r.signaled && r.status == 9, "\(r)")
            sb.expectFsckClean(v)
        }
        let finish = sb.runCairn(["outbox", "send"], cwd: v, env: ConnectorServers.env)
        #expect(finish.status == 0, "\(finish)")
        #expect(try states(sb, v) == ["reply-ana": "sent", "crm-acme": "sent"], "\(finish)")
        // One mail on the wire, whatever happened; the receiver applied the webhook once (repeats carry the same key).
        let mails = servers.smtpLog().compactMap { $0["message_id"] as? String }
        #expect(mails == ["<cairn-outbox-reply-ana@example.com>"], "\(mails)")
        let applied = servers.webhookLog().filter { ($0["duplicate"] as? Bool) == false }
        #expect(applied.count == 1 && applied[0]["key"] as? String == "cairn-outbox-crm-acme", "\(servers.webhookLog())")
        #expect(Set(servers.webhookLog().compactMap { $0["key"] as? String }) == ["cairn-outbox-crm-acme"])
        if point == .outboxAfterSend {
            // The interrupted mail was found in the Sent folder and recorded so, not sent again.
            let record = try sb.gitOK(["show", "main:.cairn/outbox/reply-ana.json"], cwd: v)
            #expect(record.contains("found <cairn-outbox-reply-ana@example.com> in Sent"), "\(record)")
        }
        sb.expectFsckClean(v)
    }

    @Test func aMailboxBusyForAMomentGetsRetriesThenTheMailOnce() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb)
        try FileManager.default.removeItem(atPath: v + "/outbox/crm-acme.md")
        try Data("---\nkind: mail\nconnector: smtp\nto: [busy2@acme.test]\nsubject: Later\n---\nWhen you are free.\n".utf8)
            .write(to: URL(fileURLWithPath: v + "/outbox/busy.md"))
        try Data("---\nkind: mail\nconnector: smtp\nto: [busy9@acme.test]\nsubject: Never\n---\nStill busy?\n".utf8)
            .write(to: URL(fileURLWithPath: v + "/outbox/never.md"))
        var policy = (try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: v + "/policy.json"))) as? [String: Any]) ?? [:]
        policy["connectors"] = ["smtp": ["retries": 2, "backoff_seconds": 0.2]]
        try JSONSerialization.data(withJSONObject: policy, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: v + "/policy.json"))
        #expect(sb.runCairn(["snapshot", "-m", "Approve"], cwd: v).status == 0)
        var env = ConnectorServers.env
        env["CAIRN_BACKOFF_SCALE"] = "1"
        let r = sb.runCairn(["outbox", "send"], cwd: v, env: env)
        // The server refused busy2 twice with 451 (temporary): the third attempt went through; busy9 never did.
        #expect(r.stdout.contains("busy: sent — sent over SMTP as <cairn-outbox-busy@example.com> (attempt 3)"), "\(r)")
        #expect(r.stdout.contains("never: failed") && r.stdout.contains("(after 3 attempts)"), "\(r)")
        #expect(r.stdout.contains("reply-ana: sent"), "\(r)")
        let mails = servers.smtpLog().compactMap { $0["message_id"] as? String }.sorted()
        #expect(mails == ["<cairn-outbox-busy@example.com>", "<cairn-outbox-reply-ana@example.com>"], "\(mails)")
        let text = (try? String(contentsOfFile: servers.dir + "/smtp_rcpt.log", encoding: .utf8)) ?? ""
        let tries = text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let busy = tries.filter { $0["rcpt"] as? String == "busy2@acme.test" }.compactMap { $0["at"] as? Double }
        #expect(busy.count == 3, "\(tries)")
        if busy.count == 3 { #expect(busy[1] - busy[0] >= 0.2 && busy[2] - busy[1] >= 0.4, "waits grow: \(busy)") }
        #expect(tries.filter { $0["rcpt"] as? String == "busy9@acme.test" }.count == 3, "\(tries)")
        #expect(try states(sb, v) == ["reply-ana": "sent", "busy": "sent", "never": "failed"])
    }

    @Test func badItemsFailWithAClearRecordAndSendNothing() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb)
        try Data("---\nkind: webhook\nconnector: hooks\n---\nnot json\n".utf8).write(to: URL(fileURLWithPath: v + "/outbox/broken.md"))
        try Data("---\nkind: mail\nconnector: nowhere\nto: x@y.test\nsubject: Hi\n---\nx\n".utf8).write(to: URL(fileURLWithPath: v + "/outbox/lost.md"))
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        let r = sb.runCairn(["outbox", "send"], cwd: v, env: ConnectorServers.env)
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.contains("broken: failed — outbox/broken.md: a webhook's body must be the JSON to send"), "\(r)")
        #expect(r.stdout.contains("lost: failed — no connector named 'nowhere'"), "\(r)")
        let s = try states(sb, v)
        #expect(s["broken"] == "failed" && s["lost"] == "failed" && s["reply-ana"] == "sent" && s["crm-acme"] == "sent")
        #expect(servers.webhookLog().count == 1 && servers.smtpLog().count == 1)
    }

    @Test func anotherMachinesClaimIsLeftAlone() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb)
        // Another machine claimed crm-acme (its claim ref arrived by sync).
        let main = try sb.gitOK(["rev-parse", "main"], cwd: v)
        _ = try sb.gitOK(["update-ref", "refs/cairn/outbox/crm-acme", main], cwd: v)
        let r = sb.runCairn(["outbox", "send"], cwd: v, env: ConnectorServers.env)
        #expect(r.status == 0 && r.stdout.contains("crm-acme: approved — claimed by another machine"), "\(r)")
        #expect(servers.webhookLog().isEmpty && servers.smtpLog().count == 1)
    }
}
