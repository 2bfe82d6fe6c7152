import CairnKit
import Foundation
import Testing

/// Connectors against real servers on 127.0.0.1 (Dovecot, an SMTP server, a webhook receiver): pulls become notes in
/// one commit, exactly once, across kill -9; bad mail gets clear messages; credentials never leak.
@Suite(.enabled(if: ConnectorServers.available, "dovecot is not installed (make test installs dovecot-imapd)"))
struct ConnectorE2ETests {
    private func setUp(_ sb: Sandbox, mailExtra: String = "", folders: String = "[INBOX]") throws -> (String, ConnectorServers) {
        let servers = try ConnectorServers(sb)
        let v = try sb.makeVault()
        try servers.writeConnectors(v, mailExtra: mailExtra, folders: folders)
        let r = sb.runCairn(["snapshot", "-m", "Add connectors"], cwd: v)
        #expect(r.status == 0, "\(r)")
        return (v, servers)
    }

    private func mailNotes(_ sb: Sandbox, _ v: String) throws -> [String] {
        try sb.gitLines(["ls-tree", "-r", "--name-only", "main", "--", "inbox/mail"], cwd: v).filter { $0.hasSuffix(".md") && $0.split(separator: "/").count == 5 || $0.contains("/undated/") }
    }

    @Test func pullImportsNewMailOnceWithItsCursor() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb)
        try servers.deliver([
            ConnectorServers.message(id: "a1@acme.test", subject: "Quote request", body: "We need a quote for 40 chairs."),
            ConnectorServers.message(id: "b2@bolt.test", subject: "=?utf-8?B?w5xiZXJzZXR6dW5n?= needed", from: "Bo <bo@bolt.test>"),
        ])
        let before = try sb.gitOK(["rev-parse", "main"], cwd: v)
        let r = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ConnectorServers.env)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("2 new"), "\(r)")
        // One commit, with the trailer, holding both notes and the cursor.
        #expect(try sb.gitOK(["rev-list", "--count", "\(before)..main"], cwd: v) == "1")
        #expect(try sb.gitOK(["log", "-1", "--format=%(trailers:key=Cairn-Connector,valueonly)", "main"], cwd: v) == "mail")
        let notes = try sb.gitLines(["diff", "--name-only", before, "main"], cwd: v)
        #expect(notes.contains(".cairn/connectors/mail.json"))
        let quote = try #require(notes.first { $0.hasPrefix("inbox/mail/2026/03/02-quote-request-") && $0.hasSuffix(".md") })
        let text = try sb.gitOK(["show", "main:\(quote)"], cwd: v)
        #expect(text.contains("from: \"Ana <ana@acme.test>\""))
        #expect(text.contains("message-id: \"<a1@acme.test>\""))
        #expect(text.contains("thread: \"<a1@acme.test>\""))
        #expect(text.contains("We need a quote for 40 chairs."))
        #expect(notes.contains { $0.contains("02-ubersetzung-needed-") }, "RFC 2047 subject decoded into the name: \(notes)")
        #expect(FileManager.default.fileExists(atPath: v + "/" + quote), "the working tree has the note")
        let cursor = try sb.gitOK(["show", "main:.cairn/connectors/mail.json"], cwd: v)
        #expect(cursor.contains("\"lastUID\" : 2"), "\(cursor)")

        // Again: nothing new, no commit.
        let again = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ConnectorServers.env)
        #expect(again.status == 0 && again.stdout.contains("Nothing new"), "\(again)")
        #expect(try sb.gitOK(["rev-list", "--count", "\(before)..main"], cwd: v) == "1")

        // A new message: only it.
        try servers.deliver([ConnectorServers.message(id: "c3@acme.test", subject: "Follow-up")])
        let third = sb.runCairn(["connector", "pull", "mail", "--json"], cwd: v, env: ConnectorServers.env)
        #expect(third.status == 0, "\(third)")
        let json = try JSONSerialization.jsonObject(with: third.stdoutData) as? [String: Any]
        #expect((json?["imported"] as? [String])?.count == 1)

        // The operator loses the cursor: re-reading the folder imports nothing twice.
        try FileManager.default.removeItem(atPath: v + "/.cairn/connectors/mail.json")
        #expect(sb.runCairn(["snapshot", "-m", "drop cursor"], cwd: v).status == 0)
        let reread = sb.runCairn(["connector", "pull", "mail", "--json"], cwd: v, env: ConnectorServers.env)
        let rj = try JSONSerialization.jsonObject(with: reread.stdoutData) as? [String: Any]
        #expect((rj?["imported"] as? [String])?.isEmpty == true, "\(reread)")
        #expect(rj?["skipped"] as? Int == 3, "\(reread)")
        #expect(try mailNotes(sb, v).count == 3)

        // Each pull ended its session with LOGOUT (Dovecot logs "Disconnected: Logged out", not "Connection closed").
        let sessions = try String(contentsOfFile: servers.dir + "/dovecot.log", encoding: .utf8).split(separator: "\n")
            .filter { $0.contains("imap(op)") && $0.contains("Disconnected") }
        #expect(sessions.count == 4 && sessions.allSatisfy { $0.contains("Disconnected: Logged out") }, "\(sessions)")

        // The password appears nowhere: not in output, not in any object of the repository.
        for out in [r, again, third, reread] { #expect(!out.output.contains(ConnectorServers.password)) }
        let everything = try sb.gitOK(["log", "-p", "--all", "--format=%B"], cwd: v)
        #expect(!everything.contains(ConnectorServers.password))
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
        sb.expectFsckClean(v)
    }

    /// Killed at each connector crash point by `CrashMatrixTests.killNineAtEveryCrashPoint`.
    func pullSurvivesKill9(point: CrashPoint) throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb)
        // Enough messages for the pull's objects to be written as one pack (PackedWrites.packThreshold).
        try servers.deliver((1...120).map { ConnectorServers.message(id: "m\($0)@acme.test", subject: "Message \($0)") })
        let killed = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ConnectorServers.env.merging(["CAIRN_CRASH_AT": point.rawValue]) { $1 })
        #expect(killed.signaled && killed.status == 9, "\(killed)")
        sb.expectFsckClean(v)
        let packs = try FileManager.default.contentsOfDirectory(atPath: v + "/.git/objects/pack").filter { $0.hasSuffix(".pack") }
        #expect(packs.count == 1, "the pulled objects are one pack: \(packs)")
        let again = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ConnectorServers.env)
        #expect(again.status == 0, "\(again)")
        // Exactly 120 notes, each once; one pull commit holds them.
        #expect(try mailNotes(sb, v).count == 120)
        let pulls = try sb.gitLines(["log", "--format=%(trailers:key=Cairn-Connector,valueonly)", "main"], cwd: v).filter { !$0.isEmpty }
        #expect(pulls == ["mail"], "\(pulls)")
        // git's index holds each file with its real stat data (nothing to refresh), and the working tree is main.
        #expect(try sb.gitOK(["diff-files", "--name-only"], cwd: v).isEmpty)
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        let ignored = try sb.ignoredFiles(v)
        expectSameFiles(try sb.committedFiles(v, rev: "main"), workingFiles(v).filter { !ignored.contains($0.key) }, "main", "working tree")
        sb.expectFsckClean(v)
    }

    /// A vault that sets Obsidian's "Default location for new attachments" gets mail attachments there, named as
    /// Obsidian names a taken name, and linked from the note's `attachments:` property so that the links resolve.
    @Test func mailAttachmentsGoWhereTheVaultPutsAttachments() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb)
        try sb.write(v + "/.obsidian/app.json", #"{"attachmentFolderPath": "Attachments", "newLinkFormat": "shortest"}"#)
        try sb.write(v + "/Attachments/invoice.pdf", "the operator's own invoice\n")
        #expect(sb.runCairn(["snapshot", "-m", "Obsidian settings"], cwd: v).status == 0)
        func message(_ n: Int) -> String {
            "From: Bob <bob@x.test>\r\nTo: ada@example.com\r\nSubject: Invoice \(n)\r\nDate: Mon, 02 Mar 2026 1\(n):00:00 +0000\r\n"
                + "Message-ID: <inv\(n)@x.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
                + "--XX\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--XX\r\nContent-Type: application/pdf\r\n"
                + "Content-Disposition: attachment; filename=\"invoice.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0\(n)\r\n--XX--\r\n"
        }
        try servers.deliver([message(1), message(2)])
        let r = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ConnectorServers.env)
        #expect(r.status == 0, "\(r)")
        let files = try sb.gitLines(["-c", "core.quotePath=false", "ls-tree", "-r", "--name-only", "main"], cwd: v)
        #expect(files.filter { $0.hasPrefix("Attachments/") } == ["Attachments/invoice 1.pdf", "Attachments/invoice 2.pdf", "Attachments/invoice.pdf"], "\(files)")
        #expect(!files.contains { $0.hasPrefix("inbox/mail/") && $0.hasSuffix(".pdf") }, "\(files)")
        #expect(try sb.gitOK(["show", "main:Attachments/invoice.pdf"], cwd: v) == "the operator's own invoice")
        let notes = files.filter { $0.hasPrefix("inbox/mail/") && $0.hasSuffix(".md") }.sorted()
        #expect(notes.count == 2, "\(files)")
        let first = try sb.gitOK(["show", "main:" + notes[0]], cwd: v)
        #expect(first.contains("attachments:\n  - \"[[invoice 1.pdf]]\"\n"), "\(first)")
        #expect(try sb.gitOK(["show", "main:" + notes[1]], cwd: v).contains("  - \"[[invoice 2.pdf]]\"\n"))
        // The property links resolve (doctor's resolver), and lead back from the attachment.
        let unresolved = sb.runCairn(["links", "--unresolved"], cwd: v)
        #expect(!unresolved.stdout.contains("inbox/mail/"), "\(unresolved)")
        let back = sb.runCairn(["links", "Attachments/invoice 1.pdf", "--json"], cwd: v)
        let report = try #require(try JSONSerialization.jsonObject(with: back.stdoutData) as? [String: Any], "\(back)")
        #expect((report["backlinks"] as? [[String: Any]])?.compactMap { $0["source"] as? String } == [notes[0]], "\(report)")
        sb.expectFsckClean(v)
    }

    @Test func hostileAndMalformedMailIsImportedSafelyWithWarnings() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb, mailExtra: "max_attachment_bytes: 1000")
        let big = Data(repeating: 0x41, count: 1200).base64EncodedString(options: .lineLength76Characters) // over the limit
        let attachments = """
        From: Eve <eve@evil.test>\r
        To: ada@example.com\r
        Subject: Invoice\r
        Date: Mon, 02 Mar 2026 11:00:00 +0000\r
        Message-ID: <evil@evil.test>\r
        MIME-Version: 1.0\r
        Content-Type: multipart/mixed; boundary="XX"\r
        \r
        --XX\r
        Content-Type: text/plain; charset=utf-8\r
        \r
        See attached.\r
        --XX\r
        Content-Type: application/octet-stream; name="../../../.git/config"\r
        Content-Disposition: attachment; filename="../../../.git/config"\r
        Content-Transfer-Encoding: base64\r
        \r
        W2NvcmVdCg==\r
        --XX\r
        Content-Type: application/pdf\r
        Content-Disposition: attachment; filename="invoice\u{202E}fdp.exe"\r
        Content-Transfer-Encoding: base64\r
        \r
        JVBERg==\r
        --XX\r
        Content-Type: application/pdf\r
        Content-Disposition: attachment; filename="\(String(repeating: "a", count: 300)).pdf"\r
        Content-Transfer-Encoding: base64\r
        \r
        JVBERg==\r
        --XX\r
        Content-Type: application/octet-stream\r
        Content-Disposition: attachment; filename="\u{FF0E}\u{FF0E}\u{FF0F}etc\u{FF0F}passwd"\r
        \r
        x\r
        --XX\r
        Content-Type: application/zip\r
        Content-Disposition: attachment; filename="big.zip"\r
        Content-Transfer-Encoding: base64\r
        \r
        \(big)\r
        --XX--\r

        """
        let htmlOnly = "From: h@x.test\r\nTo: ada@example.com\r\nSubject: Newsletter\r\nDate: Mon, 02 Mar 2026 12:00:00 +0000\r\nMessage-ID: <h@x.test>\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><head><style>p{}</style></head><body><p>Caf\u{E9} &amp; <a href=\"https://x.test\">more</a></p><script>alert(1)</script></body></html>\r\n"
        let empty = "From: e@x.test\r\nTo: ada@example.com\r\nSubject: \r\nDate: Mon, 02 Mar 2026 13:00:00 +0000\r\nMessage-ID: <e@x.test>\r\n\r\n"
        let noBoundary = "From: m@x.test\r\nSubject: Broken\r\nDate: Mon, 02 Mar 2026 14:00:00 +0000\r\nMessage-ID: <m@x.test>\r\nContent-Type: multipart/mixed\r\n\r\nraw text here\r\n"
        let unknownCharset = "From: c@x.test\r\nSubject: Charset\r\nDate: Mon, 02 Mar 2026 15:00:00 +0000\r\nMessage-ID: <c@x.test>\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nqapla\r\n"
        // Latin-1 bytes with no charset at all.
        var latin = Data("From: l@x.test\r\nSubject: Latin\r\nDate: Mon, 02 Mar 2026 16:00:00 +0000\r\nMessage-ID: <l@x.test>\r\n\r\nna".utf8)
        latin.append(contentsOf: [0xEF, 0x76, 0x65, 0x0D, 0x0A])
        let latinFile = sb.root + "/latin.eml"
        try latin.write(to: URL(fileURLWithPath: latinFile))
        try servers.deliver([attachments, htmlOnly, empty, noBoundary, unknownCharset])
        try servers.deliverFiles([latinFile])

        let r = sb.runCairn(["connector", "pull", "mail", "--json"], cwd: v, env: ConnectorServers.env)
        #expect(r.status == 0, "\(r)")
        let json = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
        #expect((json["imported"] as? [String])?.count == 6, "\(r)")
        let warnings = (json["warnings"] as? [String]) ?? []
        #expect(warnings.contains { $0.contains("INBOX UID 1") && $0.contains("big.zip") && $0.contains("over the limit") }, "\(warnings)")
        #expect(warnings.contains { $0.contains("INBOX UID 4") && $0.contains("no boundary") }, "\(warnings)")
        #expect(warnings.contains { $0.contains("INBOX UID 5") && $0.contains("x-klingon") }, "\(warnings)")
        #expect(warnings.contains { $0.contains("INBOX UID 6") && $0.contains("Latin-1") }, "\(warnings)")

        let files = try sb.gitLines(["ls-tree", "-r", "--name-only", "main"], cwd: v)
        // Every attachment sits in the note's folder; nothing escaped it, nothing hidden, no control characters.
        let attachmentsOf = files.filter { $0.contains("-invoice-") && !$0.hasSuffix(".md") }
        #expect(attachmentsOf.count == 4, "\(attachmentsOf)")
        for f in attachmentsOf {
            let name = String(f.split(separator: "/").last!)
            #expect(!name.hasPrefix(".") && !name.contains("\u{202E}") && name.utf8.count <= 100, "\(name)")
            #expect(f.hasPrefix("inbox/mail/2026/03/02-invoice-"), "\(f)")
        }
        #expect(!files.contains { $0.hasPrefix(".git/") || $0 == "etc/passwd" || $0.hasSuffix("big.zip") })
        let invoice = try sb.gitOK(["show", "main:" + (files.first { $0.contains("-invoice-") && $0.hasSuffix(".md") } ?? "")], cwd: v)
        #expect(invoice.contains("attachments_skipped:") && invoice.contains("big.zip"))
        let newsletter = try sb.gitOK(["show", "main:" + (files.first { $0.contains("-newsletter-") } ?? "")], cwd: v)
        #expect(newsletter.contains("Café & more (https://x.test)"), "\(newsletter)")
        #expect(!newsletter.contains("alert(1)") && !newsletter.contains("<p>") && newsletter.contains("body: converted from HTML"))
        let emptyNote = try sb.gitOK(["show", "main:" + (files.first { $0.contains("02-no-subject-") } ?? "")], cwd: v)
        #expect(emptyNote.contains("(empty message)"))
        let latinNote = try sb.gitOK(["show", "main:" + (files.first { $0.contains("-latin-") } ?? "")], cwd: v)
        #expect(latinNote.contains("naïve"), "\(latinNote)")
        // Every note is valid for the vault.
        #expect(sb.runCairn(["doctor"], cwd: v).status == 0)
        sb.expectFsckClean(v)
    }

    @Test func aFiftyMegabyteAttachmentIsLeftOutByNameAndTheRestImported() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb)
        // 50 MB of attachment (68 MB of base64 on the wire), over the default max_attachment_bytes of 10 MiB.
        var raw = Data("From: Ana <ana@acme.test>\r\nTo: ada@example.com\r\nSubject: Site photos\r\nDate: Mon, 02 Mar 2026 09:00:00 +0000\r\nMessage-ID: <photos@acme.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe photos of the site, as promised.\r\n--B\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=\"photos.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n".utf8)
        raw.append(Data(repeating: 0x5A, count: 50 * 1024 * 1024).base64EncodedData(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]))
        raw.append(Data("\r\n--B--\r\n".utf8))
        let file = sb.root + "/photos.eml"
        try raw.write(to: URL(fileURLWithPath: file))
        try servers.deliverFiles([file])
        try servers.deliver([ConnectorServers.message(id: "after@acme.test", subject: "After the photos")])

        let r = sb.runCairn(["connector", "pull", "mail", "--json"], cwd: v, env: ConnectorServers.env)
        #expect(r.status == 0, "\(r)")
        let json = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
        #expect((json["imported"] as? [String])?.count == 2, "\(r)")
        let warnings = (json["warnings"] as? [String]) ?? []
        #expect(warnings.contains { $0.contains("INBOX UID 1") && $0.contains("photos.zip is 52428800 bytes, over the limit of 10485760") }, "\(warnings)")
        let files = try sb.gitLines(["ls-tree", "-r", "--name-only", "main", "--", "inbox/mail"], cwd: v)
        #expect(files.count == 2 && !files.contains { $0.hasSuffix("photos.zip") }, "\(files)")
        let note = try sb.gitOK(["show", "main:" + (files.first { $0.contains("-site-photos-") } ?? "")], cwd: v)
        #expect(note.contains("attachments_skipped:") && note.contains("photos.zip (52428800 bytes") && note.contains("The photos of the site"), "\(note)")
        // Nothing of the attachment reached the repository.
        let size = try sb.gitOK(["count-objects", "-v"], cwd: v)
        let kib = size.split(separator: "\n").compactMap { line -> Int? in
            line.hasPrefix("size:") || line.hasPrefix("size-pack:") ? Int(line.split(separator: " ").last ?? "") : nil
        }.reduce(0, +)
        #expect(kib < 5_000, "\(size)")
        sb.expectFsckClean(v)
    }

    @Test func aServerThatIsGoneOrSpeaksGarbageWritesNothing() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb)
        let before = try sb.gitOK(["rev-parse", "main"], cwd: v)
        // The webhook receiver speaks HTTP, not IMAP.
        let text = try String(contentsOfFile: v + "/connectors/mail.md", encoding: .utf8)
        try Data(text.replacingOccurrences(of: ":\(servers.imap)", with: ":\(servers.http)").utf8).write(to: URL(fileURLWithPath: v + "/connectors/mail.md"))
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        let garbage = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ConnectorServers.env)
        #expect(garbage.status == 1, "\(garbage)")
        #expect(garbage.stderr.contains("connector mail: folder INBOX:") && garbage.stderr.contains("nothing was imported"), "\(garbage)")
        #expect(!garbage.output.contains(ConnectorServers.password))
        // Nothing listens on a closed port.
        let closed = try String(contentsOfFile: v + "/connectors/mail.md", encoding: .utf8)
        try Data(closed.replacingOccurrences(of: ":\(servers.http)", with: ":1").utf8).write(to: URL(fileURLWithPath: v + "/connectors/mail.md"))
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        let gone = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ConnectorServers.env)
        #expect(gone.status == 1 && gone.stderr.contains("connector mail:"), "\(gone)")
        // Only the two snapshots moved main: no pull commit, no cursor.
        #expect(try sb.gitOK(["rev-list", "--count", "\(before)..main"], cwd: v) == "2")
        #expect(sb.git(["cat-file", "-e", "main:.cairn/connectors/mail.json"], cwd: v).status != 0)
        // A wrong password is a clear refusal, and the password is not shown.
        let wrong = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ["TEST_MAIL_PASSWORD": "wrong-pw-123"])
        #expect(wrong.status == 1 && !wrong.output.contains("wrong-pw-123"), "\(wrong)")
        let missing = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ["TEST_MAIL_PASSWORD": nil])
        #expect(missing.status == 1 && missing.stderr.contains("TEST_MAIL_PASSWORD (password_env) is not set"), "\(missing)")
    }

    @Test func aServerThatDropsTheConnectionMidMessageWritesNothing() throws {
        let sb = try Sandbox()
        let (v, _) = try setUp(sb)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", Binaries.packageRoot + "/Tests/Support/dropping_imap.py"]
        let input = Pipe(), output = Pipe()
        server.standardInput = input
        server.standardOutput = output
        try server.run()
        defer { try? input.fileHandleForWriting.close(); server.waitUntilExit() }
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let port = try #require((try JSONSerialization.jsonObject(with: line) as? [String: Int])?["imap"])
        let text = try String(contentsOfFile: v + "/connectors/mail.md", encoding: .utf8)
        try Data(text.replacing(#/imap://127\.0\.0\.1:\d+/#, with: "imap://127.0.0.1:\(port)").utf8)
            .write(to: URL(fileURLWithPath: v + "/connectors/mail.md"))
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        let before = try sb.gitOK(["rev-parse", "main"], cwd: v)
        let objects = try sb.gitOK(["count-objects", "-v"], cwd: v)

        let r = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ConnectorServers.env)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("INBOX UIDs 1–3") && r.stderr.contains("the server closed the connection") && r.stderr.contains("nothing was imported"), "\(r)")
        // Nothing half-written: main, the cursor, the object store and the working tree are as they were.
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: v) == before)
        #expect(sb.git(["cat-file", "-e", "main:.cairn/connectors/mail.json"], cwd: v).status != 0)
        #expect(try sb.gitOK(["count-objects", "-v"], cwd: v) == objects)
        #expect(!FileManager.default.fileExists(atPath: v + "/inbox/mail"))
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        sb.expectFsckClean(v)
    }

    @Test func credentialsFileMustBePrivateAndOutsideTheVault() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb)
        try servers.deliver([ConnectorServers.message(id: "k@acme.test", subject: "Hi")])
        let creds = sb.home + "/mail.cred"
        try Data("username=op\npassword=\(ConnectorServers.password)\n".utf8).write(to: URL(fileURLWithPath: creds))
        chmod(creds, 0o644)
        let text = try String(contentsOfFile: v + "/connectors/mail.md", encoding: .utf8)
        try Data(text.replacingOccurrences(of: "password_env: TEST_MAIL_PASSWORD", with: "credentials_file: ~/mail.cred").utf8)
            .write(to: URL(fileURLWithPath: v + "/connectors/mail.md"))
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        let loose = sb.runCairn(["connector", "pull", "mail"], cwd: v)
        #expect(loose.status == 1 && loose.stderr.contains("readable by others") && loose.stderr.contains("chmod 600"), "\(loose)")
        chmod(creds, 0o600)
        let ok = sb.runCairn(["connector", "pull", "mail"], cwd: v)
        #expect(ok.status == 0 && ok.stdout.contains("1 new"), "\(ok)")
        #expect(!ok.output.contains(ConnectorServers.password) && !loose.output.contains(ConnectorServers.password))
    }

    @Test func doctorNamesTheLineOfABadConnector() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try FileManager.default.createDirectory(atPath: v + "/connectors", withIntermediateDirectories: true)
        try Data("---\nkind: imap\nurl: imap://me:pw@mail.example.com\nevery: soon\n---\n".utf8).write(to: URL(fileURLWithPath: v + "/connectors/bad.md"))
        let r = sb.runCairn(["doctor"], cwd: v)
        #expect(r.status != 0, "\(r)")
        #expect(r.output.contains("connectors/bad.md:3:") && r.output.contains("must not carry a user name or password"), "\(r)")
        #expect(r.output.contains("connectors/bad.md:4:") && r.output.contains("every must be a duration"), "\(r)")
    }

    @Test func aNewMailInTheLeadsFolderStartsLeadQualification() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb, folders: "[INBOX, Leads]")
        #expect(sb.runCairn(["tick"], cwd: v, env: ConnectorServers.env).status == 0) // the first tick starts watching
        try servers.deliver([ConnectorServers.message(id: "lead@bolt.test", subject: "Lead: Bolt Bikes", body: "**From:** Bo\n\nWe want 10 bikes.")], folder: "Leads")
        let r = sb.runCairn(["tick"], cwd: v, env: ConnectorServers.env.merging(["CAIRN_NOW": "2026-03-01T09:30:00Z"]) { $1 })
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("pulled mail: 1 new"), "\(r)")
        #expect(r.stdout.contains("workflow lead-qualification") && r.stdout.contains("paths main@"), "\(r)")
        let files = try sb.gitLines(["ls-tree", "-r", "--name-only", "main", "--", "inbox/mail/leads"], cwd: v)
        #expect(files.count == 1 && files[0].hasPrefix("inbox/mail/leads/2026/03/"), "\(files)")
    }
}
