import Foundation
import Testing

/// Connectors over TLS against the real servers, with a throwaway CA named by `ca_file`: IMAPS and IMAP with
/// STARTTLS for pulls, SMTPS and SMTP with STARTTLS for sends. The servers judge: Dovecot's log records a TLS login,
/// the SMTP server records that the session was encrypted. Without the CA the certificate is refused.
@Suite(.enabled(if: ConnectorServers.available, "dovecot is not installed (make test installs dovecot-imapd)"))
struct ConnectorTLSE2ETests {
    private func write(_ v: String, _ name: String, _ text: String) throws {
        try FileManager.default.createDirectory(atPath: v + "/connectors", withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: v + "/connectors/\(name).md"))
    }

    private func imap(_ url: String, ca: String?, requireTLS: Bool) -> String {
        "---\nkind: imap\nurl: \(url)\nusername: op\npassword_env: TEST_MAIL_PASSWORD\nfolders: [INBOX]\n"
            + (ca.map { "ca_file: \($0)\n" } ?? "") + "require_tls: \(requireTLS)\n---\n"
    }

    @Test func pullsOverIMAPSAndSTARTTLSVerifyTheCertificate() throws {
        let sb = try Sandbox()
        let servers = try ConnectorServers(sb)
        let v = try sb.makeVault()
        try write(v, "secure", imap("imaps://127.0.0.1:\(servers.imaps)", ca: servers.caFile, requireTLS: true))
        try write(v, "starttls", imap("imap://127.0.0.1:\(servers.imap)", ca: servers.caFile, requireTLS: true))
        try write(v, "untrusted", imap("imaps://127.0.0.1:\(servers.imaps)", ca: nil, requireTLS: true))
        #expect(sb.runCairn(["snapshot", "-m", "Add connectors"], cwd: v).status == 0)
        try servers.deliver([ConnectorServers.message(id: "t1@acme.test", subject: "Over TLS")])

        // No CA for the test certificate: refused, nothing written, the reason names the certificate.
        let before = try sb.gitOK(["rev-parse", "main"], cwd: v)
        let untrusted = sb.runCairn(["connector", "pull", "untrusted"], cwd: v, env: ConnectorServers.env)
        #expect(untrusted.status == 1 && untrusted.stderr.contains("connector untrusted:") && untrusted.stderr.lowercased().contains("certificate"), "\(untrusted)")
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: v) == before)

        let implicit = sb.runCairn(["connector", "pull", "secure"], cwd: v, env: ConnectorServers.env)
        #expect(implicit.status == 0 && implicit.stdout.contains("1 new"), "\(implicit)")
        try servers.deliver([ConnectorServers.message(id: "t2@acme.test", subject: "Upgraded")])
        let upgraded = sb.runCairn(["connector", "pull", "starttls"], cwd: v, env: ConnectorServers.env)
        // The first message is already a note (its path comes from its Message-ID): only the second is new.
        #expect(upgraded.status == 0 && upgraded.stdout.contains("1 new") && upgraded.stdout.contains("1 already in the vault"), "\(upgraded)")
        // Dovecot logged both logins as encrypted; no login without TLS happened.
        let log = (try? String(contentsOfFile: servers.dir + "/dovecot.log", encoding: .utf8)) ?? ""
        let logins = log.split(separator: "\n").filter { $0.contains("Login: user=<op>") }
        #expect(logins.count == 2 && logins.allSatisfy { $0.contains("TLS") }, "\(logins)")
        sb.expectFsckClean(v)
    }

    @Test func sendsOverSMTPSAndSTARTTLS() throws {
        let sb = try Sandbox()
        let servers = try ConnectorServers(sb)
        let v = try sb.makeVault()
        try write(v, "smtps", "---\nkind: smtp\nurl: smtps://127.0.0.1:\(servers.smtps)\nfrom: Ada <ada@example.com>\nca_file: \(servers.caFile)\n---\n")
        try write(v, "submission", "---\nkind: smtp\nurl: smtp://127.0.0.1:\(servers.smtp)\nfrom: Ada <ada@example.com>\nca_file: \(servers.caFile)\nrequire_tls: true\n---\n")
        for (id, connector) in [("via-smtps", "smtps"), ("via-starttls", "submission")] {
            try Data("---\nkind: mail\nconnector: \(connector)\nto: [ana@acme.test]\nsubject: Hello\n---\nSent over TLS.\n".utf8)
                .write(to: URL(fileURLWithPath: v + "/outbox/\(id).md"))
        }
        #expect(sb.runCairn(["snapshot", "-m", "Approve"], cwd: v).status == 0)
        let r = sb.runCairn(["outbox", "send"], cwd: v, env: ConnectorServers.env)
        #expect(r.status == 0 && r.stdout.contains("via-smtps: sent") && r.stdout.contains("via-starttls: sent"), "\(r)")
        let log = servers.smtpLog()
        #expect(Set(log.compactMap { $0["message_id"] as? String }) == ["<cairn-outbox-via-smtps@example.com>", "<cairn-outbox-via-starttls@example.com>"], "\(log)")
        #expect(log.count == 2 && log.allSatisfy { $0["tls"] as? Bool == true }, "\(log)")
        sb.expectFsckClean(v)
    }
}
