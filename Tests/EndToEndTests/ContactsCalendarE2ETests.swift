import Foundation
import Testing

/// Contacts (CSV, vCard) and calendars (iCalendar file, CalDAV on a real Radicale) become notes; re-imports merge with
/// the operator's edits; invalid files are refused naming the line, with nothing written.
@Suite struct ContactsCalendarE2ETests {
    private func connector(_ v: String, _ name: String, _ body: String) throws {
        try FileManager.default.createDirectory(atPath: v + "/connectors", withIntermediateDirectories: true)
        try Data("---\n\(body)\n---\n".utf8).write(to: URL(fileURLWithPath: v + "/connectors/\(name).md"))
    }

    @Test func csvContactsKeepOperatorEditsOnReimport() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let csv = sb.root + "/crm.csv"
        // A byte order mark, a quoted comma, doubled quotes and a line break inside quotes.
        try Data("\u{FEFF}Name,Email,Phone,Company,Notes\r\n\"Lima, Ana\",ana@acme.test,+351 1,\"Acme \"\"Chairs\"\" Ltd\",\"Met at the fair\nlikes blue\"\r\nBo,bo@bolt.test,,Bolt,\r\n,,,,\r\n".utf8)
            .write(to: URL(fileURLWithPath: csv))
        try connector(v, "crm", "kind: contacts\nsource: \(csv)")
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        let first = sb.runCairn(["connector", "pull", "crm"], cwd: v)
        #expect(first.status == 0 && first.stdout.contains("2 new"), "\(first)")
        let ana = try sb.gitOK(["show", "main:memory/projects/contacts/lima-ana.md"], cwd: v)
        #expect(ana.contains("title: \"Lima, Ana\"") && ana.contains("company: \"Acme \\\"Chairs\\\" Ltd\"") && ana.contains("Met at the fair\nlikes blue"), "\(ana)")
        #expect(try sb.gitOK(["log", "-1", "--format=%(trailers:key=Cairn-Connector,valueonly)"], cwd: v) == "crm")

        // The operator edits Ana's phone and adds a line; the export changes Ana's phone and fills Bo's.
        let anaPath = v + "/memory/projects/contacts/lima-ana.md"
        try Data(ana.replacingOccurrences(of: "phone: \"+351 1\"", with: "phone: \"+351 999 (mobile)\"").appending("\nCalls only after 10.\n").utf8)
            .write(to: URL(fileURLWithPath: anaPath))
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        try Data("\u{FEFF}Name,Email,Phone,Company,Notes\r\n\"Lima, Ana\",ana@acme.test,+351 2,\"Acme \"\"Chairs\"\" Ltd\",\r\nBo Berg,bo@bolt.test,+1 555,Bolt GmbH,\r\n".utf8)
            .write(to: URL(fileURLWithPath: csv))
        let second = sb.runCairn(["connector", "pull", "crm"], cwd: v)
        #expect(second.status == 0 && second.stdout.contains("1 updated") && second.stdout.contains("kept your edit of phone"), "\(second)")
        let ana2 = try sb.gitOK(["show", "main:memory/projects/contacts/lima-ana.md"], cwd: v)
        #expect(ana2.contains("phone: \"+351 999 (mobile)\"") && ana2.contains("Calls only after 10."), "\(ana2)")
        let bo = try sb.gitOK(["show", "main:memory/projects/contacts/bo.md"], cwd: v)
        #expect(bo.contains("title: Bo Berg") && bo.contains("phone: \"+1 555\"") && bo.contains("company: Bolt GmbH"), "\(bo)")
        // A third pull of the same export changes nothing.
        let head = try sb.gitOK(["rev-parse", "main"], cwd: v)
        #expect(sb.runCairn(["connector", "pull", "crm"], cwd: v).stdout.contains("Nothing new"))
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: v) == head)
        sb.expectFsckClean(v)
    }

    @Test func vCardContactsAreImported() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let vcf = sb.root + "/people.vcf"
        try Data("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Cy Dias\r\nN:Dias;Cy;;;\r\nEMAIL;TYPE=work:cy@dias.test\r\nORG:Dias\\, Lda;Sales\r\nTITLE:Buyer\r\nNOTE:Prefers\\nmail\r\nEND:VCARD\r\n".utf8)
            .write(to: URL(fileURLWithPath: vcf))
        try connector(v, "cards", "kind: contacts\nsource: \(vcf)")
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        let r = sb.runCairn(["connector", "pull", "cards"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let cy = try sb.gitOK(["show", "main:memory/projects/contacts/cy-dias.md"], cwd: v)
        #expect(cy.contains("email: cy@dias.test") && cy.contains("company: \"Dias, Lda\"") && cy.contains("role: Buyer") && cy.contains("Prefers\nmail"), "\(cy)")
    }

    @Test func badContactsAndCalendarsAreRefusedNamingTheLine() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let csv = sb.root + "/bad.csv"
        try Data("Name,Email\nAna,ana@x.test\n\"Bo,bo@x.test\n".utf8).write(to: URL(fileURLWithPath: csv))
        let ics = sb.root + "/bad.ics"
        try Data("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x1\nSUMMARY:Call\nDTSTART:2026-13-45\nEND:VEVENT\nEND:VCALENDAR\n".utf8).write(to: URL(fileURLWithPath: ics))
        let notCal = sb.root + "/not.ics"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: notCal))
        try connector(v, "crm", "kind: contacts\nsource: \(csv)")
        try connector(v, "cal", "kind: ical\nsource: \(ics)")
        try connector(v, "junk", "kind: ical\nsource: \(notCal)")
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        let head = try sb.gitOK(["rev-parse", "main"], cwd: v)
        let c = sb.runCairn(["connector", "pull", "crm"], cwd: v)
        #expect(c.status == 1 && c.stderr.contains("connector crm: \(csv): line 3: a quoted field is never closed; nothing was written"), "\(c)")
        let e = sb.runCairn(["connector", "pull", "cal"], cwd: v)
        #expect(e.status == 1 && e.stderr.contains("\(ics): line 5: DTSTART '2026-13-45' is not an iCalendar date"), "\(e)")
        let j = sb.runCairn(["connector", "pull", "junk"], cwd: v)
        #expect(j.status == 1 && j.stderr.contains("not iCalendar"), "\(j)")
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: v) == head)
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
    }

    @Test func icalFileEventsBecomeDatedNotesThatKeepEdits() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let ics = sb.root + "/cal.ics"
        func write(_ summary: String) throws {
            try Data("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:ev1@acme\r\nSUMMARY:\(summary)\r\nDTSTART:20260305T100000Z\r\nDTEND:20260305T103000Z\r\nATTENDEE;CN=Ana:mailto:ana@acme.test\r\nDESCRIPTION:Agenda:\\n- needs\r\n  and budget\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:ev2@acme\r\nSUMMARY:Offsite\r\nDTSTART;VALUE=DATE:20260410\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".utf8)
                .write(to: URL(fileURLWithPath: ics))
        }
        try write("Discovery call Acme")
        try connector(v, "cal", "kind: ical\nsource: \(ics)")
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        let r = sb.runCairn(["connector", "pull", "cal", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let json = try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any]
        let paths = (json?["imported"] as? [String]) ?? []
        #expect(paths.count == 2 && paths.contains { $0.hasPrefix("inbox/calendar/2026/03/05-discovery-call-acme-") } && paths.contains { $0.hasPrefix("inbox/calendar/2026/04/10-offsite-") }, "\(paths)")
        let call = try #require(paths.first { $0.contains("discovery") })
        let text = try sb.gitOK(["show", "main:\(call)"], cwd: v)
        #expect(text.contains("start: \"2026-03-05T10:00:00Z\"") && text.contains("\"Ana <ana@acme.test>\"") && text.contains("- needs and budget"), "\(text)")
        // The event is renamed at the source: the same note is updated (by UID), not a second one.
        try write("Discovery call Acme (moved room)")
        let again = sb.runCairn(["connector", "pull", "cal"], cwd: v)
        #expect(again.status == 0 && again.stdout.contains("1 updated"), "\(again)")
        #expect(try sb.gitOK(["show", "main:\(call)"], cwd: v).contains("moved room"))
        // The operator edits the note; a later change at the source does not overwrite it.
        try Data((try String(contentsOfFile: v + "/" + call, encoding: .utf8) + "\nMy prep notes.\n").utf8).write(to: URL(fileURLWithPath: v + "/" + call))
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        try write("Discovery call Acme (third)")
        let third = sb.runCairn(["connector", "pull", "cal"], cwd: v)
        #expect(third.stdout.contains("you edited the note; kept your version"), "\(third)")
        #expect(try sb.gitOK(["show", "main:\(call)"], cwd: v).contains("My prep notes."))
        sb.expectFsckClean(v)
    }

    @Test(.enabled(if: ConnectorServers.available, "dovecot is not installed"))
    func caldavEventsFromRadicale() throws {
        let sb = try Sandbox()
        let servers = try ConnectorServers(sb)
        let base = "http://127.0.0.1:\(servers.caldav)/op/work/"
        let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:dav1@acme\r\nDTSTAMP:20260301T000000Z\r\nSUMMARY:Call with Bolt\r\nDTSTART:20260306T150000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        for (method, url, body) in [("MKCALENDAR", base, ""), ("PUT", base + "dav1.ics", ics)] {
            let r = sb.run("/usr/bin/env", ["curl", "-s", "-u", "op:x", "-X", method, "-H", "Content-Type: text/calendar", "--data-binary", body, "-o", "/dev/null", "-w", "%{http_code}", url],
                           cwd: sb.root, env: sb.environment())
            #expect(r.stdout == "201", "\(method): \(r)")
        }
        let v = try sb.makeVault()
        try connector(v, "dav", "kind: caldav\nurl: \(base)\nusername: op\npassword_env: DAV_PASSWORD")
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        let r = sb.runCairn(["connector", "pull", "dav"], cwd: v, env: ["DAV_PASSWORD": "x"])
        #expect(r.status == 0 && r.stdout.contains("1 new"), "\(r)")
        let files = try sb.gitLines(["ls-tree", "-r", "--name-only", "main", "--", "inbox/calendar"], cwd: v)
        #expect(files.count == 1 && files[0].hasPrefix("inbox/calendar/2026/03/06-call-with-bolt-"), "\(files)")
        #expect(sb.runCairn(["connector", "pull", "dav"], cwd: v, env: ["DAV_PASSWORD": "x"]).stdout.contains("Nothing new"))
    }
}
