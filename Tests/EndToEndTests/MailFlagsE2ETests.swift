import Foundation
import Testing

/// Pulling reads the operator's mailbox without changing it: messages fetched with BODY.PEEK[] in a folder opened
/// read-only keep their \Seen flag exactly as it was (judged on Dovecot's Maildir, where flags live in file names).
@Suite(.enabled(if: ConnectorServers.available, "dovecot is not installed (make test installs dovecot-imapd)"))
struct MailFlagsE2ETests {
    /// Maildir flags of every message in INBOX, by Message-ID (`S` is \Seen).
    private func flags(_ servers: ConnectorServers) throws -> [String: String] {
        var out: [String: String] = [:]
        for sub in ["new", "cur"] {
            let dir = servers.maildir + "/" + sub
            for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
                let text = try String(contentsOfFile: dir + "/" + name, encoding: .utf8)
                guard let line = text.split(separator: "\r\n").first(where: { $0.hasPrefix("Message-ID: ") }) else { continue }
                let info = name.range(of: ":2,").map { String(name[$0.upperBound...]) } ?? ""
                out[String(line.dropFirst("Message-ID: ".count))] = info
            }
        }
        return out
    }

    @Test func pullingLeavesTheSeenFlagAsItWas() throws {
        let sb = try Sandbox()
        let servers = try ConnectorServers(sb)
        let v = try sb.makeVault()
        try servers.writeConnectors(v)
        #expect(sb.runCairn(["snapshot", "-m", "Add connectors"], cwd: v).status == 0)
        try servers.deliver((1...3).map { ConnectorServers.message(id: "u\($0)@acme.test", subject: "Unread \($0)") })
        // One message the operator already read: a Maildir file in cur/ with the S flag.
        let read = ConnectorServers.message(id: "r1@acme.test", subject: "Already read")
        try Data(read.utf8).write(to: URL(fileURLWithPath: servers.maildir + "/cur/1700000000.read1.host:2,S"))
        let before = try flags(servers)
        #expect(before["<r1@acme.test>"] == "S" && before["<u1@acme.test>"] == "", "\(before)")

        let r = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ConnectorServers.env)
        #expect(r.status == 0 && r.stdout.contains("4 new"), "\(r)")
        let after = try flags(servers)
        #expect(after.count == 4)
        for (id, f) in after {
            #expect(f.contains("S") == (id == "<r1@acme.test>"), "\(id) has flags '\(f)' after the pull: \(after)")
        }
        // What Dovecot itself reports agrees (its index, not only the file names).
        let seen = try servers.imapSeen()
        #expect(seen == ["<r1@acme.test>"], "\(seen)")
    }
}
