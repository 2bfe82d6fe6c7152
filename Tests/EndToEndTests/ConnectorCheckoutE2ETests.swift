import CairnKit
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// How a pull's new notes reach the working tree and git's index: exactly main's bytes, staged with their real stat
/// data so that plain git trusts them, with the line endings attribute settings ask for, and never over an
/// operator's file in the way.
@Suite(.enabled(if: ConnectorServers.available, "dovecot is not installed (make test installs dovecot-imapd)"))
struct ConnectorCheckoutE2ETests {
    private func setUp(_ sb: Sandbox, before: (String) throws -> Void = { _ in }) throws -> (String, ConnectorServers) {
        let servers = try ConnectorServers(sb)
        let v = try sb.makeVault()
        try servers.writeConnectors(v)
        try before(v)
        let r = sb.runCairn(["snapshot", "-m", "Add connectors"], cwd: v)
        #expect(r.status == 0, "\(r)")
        return (v, servers)
    }

    /// A message with a small attachment, so that a note's own folder is made too.
    private static func withAttachment(_ n: Int) -> String {
        "From: Ana <ana@acme.test>\r\nTo: ada@example.com\r\nSubject: Quote \(n)\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
            + "Message-ID: <q\(n)@acme.test>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
            + "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the attached quote \(n).\r\n"
            + "--b\r\nContent-Type: text/plain; name=\"quote-\(n).txt\"\r\nContent-Disposition: attachment; filename=\"quote-\(n).txt\"\r\n\r\n"
            + "40 chairs, item \(n)\r\n--b--\r\n"
    }

    /// Every file of main is in the working tree with main's bytes and mode, and nothing else is (ignored files aside).
    private func expectWorkingTreeIsMain(_ sb: Sandbox, _ v: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let committed = try sb.committedFiles(v, rev: "main", sourceLocation: sourceLocation)
        let ignored = try sb.ignoredFiles(v)
        let working = workingFiles(v).filter { !ignored.contains($0.key) }
        expectSameFiles(committed, working, "main", "working tree", sourceLocation: sourceLocation)
    }

    @Test func pulledNotesAreMainsBytesStagedWithTheirStat() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb)
        try servers.deliver((1...40).map { ConnectorServers.message(id: "n\($0)@acme.test", subject: "Request \($0)", body: "Body \($0).") }
                            + (1...3).map(Self.withAttachment))
        let r = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ConnectorServers.env)
        #expect(r.status == 0 && r.stdout.contains("43 new"), "\(r)")
        // Before anything refreshes the index: git finds no file whose stat differs from what the index holds.
        #expect(try sb.gitOK(["diff-files", "--name-only"], cwd: v).isEmpty)
        let staged = try sb.gitLines(["ls-files", "-s", "--", "inbox/mail"], cwd: v)
        #expect(staged.count == 46, "\(staged)")  // 43 notes and 3 attachments
        #expect(staged.allSatisfy { $0.hasPrefix("100644 ") }, "\(staged)")
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        try expectWorkingTreeIsMain(sb, v)
        // Each note is one file of its own (linked once), readable as any other.
        let note = try #require(staged.first { $0.hasSuffix(".md") }.map { String($0.split(separator: "\t")[1]) })
        var st = stat()
        #expect(lstat(v + "/" + note, &st) == 0 && st.st_nlink == 1 && st.st_mode & 0o111 == 0)
        #expect(try sb.gitLines(["ls-files", "--", "inbox/mail"], cwd: v).contains { $0.hasSuffix("/quote-1.txt") })
        sb.expectFsckClean(v)
        // git agrees after refreshing too, and a snapshot finds nothing to commit.
        #expect(sb.git(["update-index", "--refresh"], cwd: v).status == 0)
        let snap = sb.runCairn(["snapshot"], cwd: v)
        #expect(snap.status == 0 && !snap.stdout.contains("Saved"), "\(snap)")
    }

    @Test func lineEndingAttributesApplyToPulledNotes() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb) { v in try sb.write(v + "/inbox/.gitattributes", "*.md text eol=crlf\n") }
        try servers.deliver((1...5).map { ConnectorServers.message(id: "e\($0)@acme.test", subject: "Line ends \($0)") })
        let r = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ConnectorServers.env)
        #expect(r.status == 0 && r.stdout.contains("5 new"), "\(r)")
        let notes = try sb.gitLines(["ls-files", "--", "inbox/mail"], cwd: v).filter { $0.hasSuffix(".md") }
        #expect(notes.count == 5)
        let committed = try sb.committedFiles(v, rev: "main")
        for note in notes {
            let working = try #require(sb.read(v + "/" + note))
            let blob = try #require(committed[note]?.data)
            #expect(!blob.contains(0x0D) && working == Data(String(decoding: blob, as: UTF8.self).replacingOccurrences(of: "\n", with: "\r\n").utf8),
                    "the checkout applied eol=crlf to \(note)")
        }
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        sb.expectFsckClean(v)
    }

    @Test func autocrlfAppliesToPulledNotes() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb)
        _ = try sb.gitOK(["config", "core.autocrlf", "true"], cwd: v)
        try servers.deliver((1...3).map { ConnectorServers.message(id: "c\($0)@acme.test", subject: "CRLF \($0)") })
        let r = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ConnectorServers.env)
        #expect(r.status == 0 && r.stdout.contains("3 new"), "\(r)")
        let notes = try sb.gitLines(["ls-files", "--", "inbox/mail"], cwd: v).filter { $0.hasSuffix(".md") }
        #expect(notes.count == 3)
        for note in notes { #expect(try #require(sb.readText(v + "/" + note)).contains("\r\n"), "autocrlf applied to \(note)") }
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        sb.expectFsckClean(v)
    }

    /// Killed after main moved and before the working tree followed, then a file of the operator's appears at one
    /// of the new notes' paths: the re-run writes every other note and keeps the operator's bytes.
    @Test func anOperatorFileInTheWayOfAPulledNoteIsKept() throws {
        let sb = try Sandbox()
        let (v, servers) = try setUp(sb)
        try servers.deliver((1...6).map { ConnectorServers.message(id: "k\($0)@acme.test", subject: "Keep \($0)") })
        let killed = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ConnectorServers.env.merging(["CAIRN_CRASH_AT": CrashPoint.connectorAfterRef.rawValue]) { $1 })
        #expect(killed.signaled && killed.status == 9, "\(killed)")
        let notes = try sb.gitLines(["ls-tree", "-r", "--name-only", "main", "--", "inbox/mail"], cwd: v)
        #expect(notes.count == 6 && notes.allSatisfy { !sb.exists(v + "/" + $0) }, "\(notes)")
        let theirs = notes[2]
        try sb.write(v + "/" + theirs, "the operator's own words\n")
        let again = sb.runCairn(["connector", "pull", "mail"], cwd: v, env: ConnectorServers.env)
        #expect(again.status == 0 && again.stdout.contains("Nothing new"), "\(again)")
        #expect(sb.readText(v + "/" + theirs) == "the operator's own words\n")
        let committed = try sb.committedFiles(v, rev: "main")
        for note in notes where note != theirs { #expect(sb.read(v + "/" + note) == committed[note]?.data, "\(note)") }
        let status = try sb.gitLines(["status", "--porcelain", "-uall"], cwd: v)
        #expect(status.allSatisfy { $0.hasSuffix(theirs) }, "\(status)")
        sb.expectFsckClean(v)
    }
}

