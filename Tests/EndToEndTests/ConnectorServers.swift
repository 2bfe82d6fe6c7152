import Foundation
import Testing

/// Real servers on 127.0.0.1 for the connector tests (Tests/Support/mail_servers.py): Dovecot (IMAP), an SMTP server
/// delivering into the same Maildir, a webhook receiver logging Idempotency-Keys, and Radicale (CalDAV).
final class ConnectorServers {
    let dir: String
    let imap: Int, smtp: Int, http: Int, caldav: Int
    /// Implicit-TLS ports (the plain ports offer STARTTLS), and the throwaway CA that signed the servers' certificate.
    let imaps: Int, smtps: Int, caFile: String
    private let process: Process
    private let stdin: Pipe

    static var available: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/sbin/dovecot")
    }

    init(_ sb: Sandbox) throws {
        // The script picks free ports and then binds them: another test's servers may take one in between. A start
        // that fails is tried again, in a new folder, with new ports.
        var attempt = 1
        var started: Started
        while true {
            do {
                started = try Self.start(dir: sb.root + (attempt == 1 ? "/servers" : "/servers-\(attempt)"))
                break
            } catch let error as HarnessError where attempt < 3 && error.description.lowercased().contains("address already in use") {
                // Python says "Address already in use", Dovecot "address already in use": either way, new ports.
                attempt += 1
            }
        }
        (dir, process, stdin) = (started.dir, started.process, started.stdin)
        let ports = started.ports
        (imap, smtp, http, caldav) = (ports.imap, ports.smtp, ports.http, ports.caldav)
        (imaps, smtps, caFile) = (ports.imaps, ports.smtps, ports.ca)
    }

    private struct Ports { let imap: Int, smtp: Int, http: Int, caldav: Int, imaps: Int, smtps: Int, ca: String }
    private struct Started { let dir: String, process: Process, stdin: Pipe, ports: Ports }

    /// Runs mail_servers.py in `dir` and reads the ports from its first line.
    private static func start(dir: String) throws -> Started {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Binaries.packageRoot + "/Tests/Support/mail_servers.py", dir]
        let stdin = Pipe()
        let out = Pipe()
        process.standardInput = stdin
        process.standardOutput = out
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let errors = dir + "/servers.err"
        FileManager.default.createFile(atPath: errors, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: errors)
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = (env["PATH"] ?? "/usr/bin:/bin") + ":/usr/sbin:/sbin"
        process.environment = env
        try process.run()
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        guard let ports = try? JSONSerialization.jsonObject(with: line) as? [String: Any],
              let imap = ports["imap"] as? Int, let smtp = ports["smtp"] as? Int, let http = ports["http"] as? Int,
              let caldav = ports["caldav"] as? Int, let imaps = ports["imaps"] as? Int, let smtps = ports["smtps"] as? Int,
              let ca = ports["ca"] as? String else {
            stop(process)
            let why = (try? String(contentsOfFile: errors, encoding: .utf8)) ?? ""
            throw HarnessError(description: "the test mail servers did not start: \(String(decoding: line, as: UTF8.self)) \(why.suffix(2000))")
        }
        return Started(dir: dir, process: process, stdin: stdin,
                       ports: Ports(imap: imap, smtp: smtp, http: http, caldav: caldav, imaps: imaps, smtps: smtps, ca: ca))
    }

    deinit {
        try? stdin.fileHandleForWriting.close()
        Self.stop(process)
    }

    /// SIGTERM, then SIGKILL when the script has not stopped within 15 s: a wedged server fails a test, never hangs it.
    private static func stop(_ process: Process) {
        process.terminate()
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    var maildir: String { dir + "/home/op/Maildir" }

    /// Delivers raw messages into `folder` (INBOX or another folder, created when missing).
    func deliver(_ messages: [String], folder: String = "INBOX") throws {
        var files: [String] = []
        for (i, m) in messages.enumerated() {
            let f = dir + "/msg-\(UUID().uuidString)-\(i).eml"
            try Data(m.utf8).write(to: URL(fileURLWithPath: f))
            files.append(f)
        }
        try deliverFiles(files, folder: folder)
    }

    func deliverFiles(_ files: [String], folder: String = "INBOX") throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", Binaries.packageRoot + "/Tests/Support/deliver_mail.py", maildir, folder] + files
        try p.run()
        p.waitUntilExit()
        if p.terminationStatus != 0 { throw HarnessError(description: "deliver_mail.py failed") }
    }

    /// Lines of the SMTP server's log (one JSON object per accepted message).
    func smtpLog() -> [[String: Any]] { jsonLines(dir + "/smtp.log") }
    func webhookLog() -> [[String: Any]] { jsonLines(dir + "/webhooks.jsonl") }

    private func jsonLines(_ path: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Writes the connector files for these servers into `vault` (not committed).
    func writeConnectors(_ vault: String, mailExtra: String = "", folders: String = "[INBOX]") throws {
        try FileManager.default.createDirectory(atPath: vault + "/connectors", withIntermediateDirectories: true)
        try Data("""
        ---
        kind: imap
        url: imap://127.0.0.1:\(imap)
        username: op
        password_env: TEST_MAIL_PASSWORD
        folders: \(folders)
        \(mailExtra)
        ---
        The operator's mailbox.

        """.utf8).write(to: URL(fileURLWithPath: vault + "/connectors/mail.md"))
        try Data("""
        ---
        kind: smtp
        url: smtp://127.0.0.1:\(smtp)
        from: Ada Operator <ada@example.com>
        sent_check: mail
        ---

        """.utf8).write(to: URL(fileURLWithPath: vault + "/connectors/smtp.md"))
        try Data("""
        ---
        kind: webhook
        url: http://127.0.0.1:\(http)/hook
        ---

        """.utf8).write(to: URL(fileURLWithPath: vault + "/connectors/hooks.md"))
    }

    static let password = "pw-Zq81-test"
    static var env: [String: String?] { ["TEST_MAIL_PASSWORD": password, "CAIRN_MACHINE": "laptop", "CAIRN_BACKOFF_SCALE": "0"] }

    /// A plain message.
    static func message(id: String, subject: String, body: String = "Hello.", date: String = "Mon, 02 Mar 2026 10:00:00 +0000",
                        from: String = "Ana <ana@acme.test>") -> String {
        "From: \(from)\r\nTo: ada@example.com\r\nSubject: \(subject)\r\nDate: \(date)\r\nMessage-ID: <\(id)>\r\n\r\n\(body)\r\n"
    }
}

extension ConnectorServers {
    /// Message-IDs of INBOX messages Dovecot reports as \Seen (asked with Python's imaplib, read-only).
    func imapSeen() throws -> [String] {
        let script = """
        import imaplib, sys
        c = imaplib.IMAP4("127.0.0.1", \(imap))
        c.login("op", "\(Self.password)")
        c.select("INBOX", readonly=True)
        typ, data = c.uid("SEARCH", None, "SEEN")
        ids = []
        for uid in (data[0] or b"").split():
            typ, d = c.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            ids.append(d[0][1].decode().split(":", 1)[1].strip())
        print("\\n".join(sorted(ids)))
        """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus != 0 { throw HarnessError(description: "imaplib could not read the flags") }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
