import Foundation
import Testing
@testable import CairnKit

@Suite struct MIMEMessageTests {
    private func message(_ text: String) -> MIMEMessage { MIMEMessage(Data(text.utf8)) }

    @Test func decodesEncodedWordsAndFoldedHeaders() {
        let m = message("Subject: =?utf-8?B?w5xiZXI=?=\r\n =?iso-8859-1?Q?_caf=E9?=\r\nFrom: a@b\r\n\r\nx")
        #expect(m.header("subject") == "Über café")
        #expect(m.problems.isEmpty)
    }

    @Test func prefersPlainTextAndDecodesQuotedPrintable() {
        let m = message("Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nna=C3=AFve soft=\r\nbreak\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n")
        #expect(m.text == "naïve softbreak")
        #expect(!m.textFromHTML)
    }

    @Test func reportsAMissingClosingBoundaryAndKeepsTheLastPart() {
        let m = message("Content-Type: multipart/mixed; boundary=\"z\"\r\n\r\n--z\r\nContent-Type: text/plain\r\n\r\nfirst\r\n--z\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0x\r\n")
        #expect(m.text == "first")
        #expect(m.attachments.count == 1)
        #expect(m.attachments.first?.declaredName == "résumé.pdf")
        #expect(m.attachments.first?.data == Data("%PDF-1".utf8))
        #expect(m.problems.contains { $0.contains("no closing boundary") })
    }

    @Test func htmlBecomesReadableText() {
        let text = HTMLText.readable("<html><head><title>t</title><style>x{}</style></head><body><h1>Hi</h1><p>One&nbsp;&amp; two<br>three</p><ul><li>a</li><li>b</li></ul><a href=\"https://e.test\">link</a><!-- c --></body></html>")
        #expect(text == "Hi\n\nOne & two\nthree\n\n- a\n- b\n\nlink (https://e.test)")
    }

    @Test func attachmentNamesAreSafe() {
        #expect(AttachmentName.safe("../../etc/passwd", index: 1, contentType: "text/plain") == "etc_passwd")
        #expect(AttachmentName.safe("a\u{0}b.txt", index: 1, contentType: "text/plain") == "a_b.txt")
        #expect(AttachmentName.safe("\u{FF0E}\u{FF0E}\u{FF0F}x", index: 1, contentType: "text/plain") == "x")
        #expect(AttachmentName.safe("evil\u{202E}fdp.exe", index: 1, contentType: "x/y") == "evil_fdp.exe")
        #expect(AttachmentName.safe("", index: 3, contentType: "application/pdf") == "attachment-3.pdf")
        let long = AttachmentName.safe(String(repeating: "é", count: 200) + ".docx", index: 1, contentType: "x/y")
        #expect(long.utf8.count <= 100 && long.hasSuffix(".docx"))
    }

    @Test func mailDatesParse() {
        #expect(MailDate.parse("Tue, 1 Jul 2003 10:52:37 +0200").map(ISOTime.string) == "2003-07-01T08:52:37Z")
        #expect(MailDate.parse("1 Jul 2003 10:52 -0000 (UTC)").map(ISOTime.string) == "2003-07-01T10:52:00Z")
        #expect(MailDate.parse("yesterday") == nil)
        #expect(MailDate.parse("Thu, 29 Feb 2024 23:59:59 -0130").map(ISOTime.string) == "2024-03-01T01:29:59Z")
        #expect(MailDate.parse("Wed, 31 Dec 1969 23:00:00 +0000").map(ISOTime.string) == "1969-12-31T23:00:00Z")
        #expect(MailDate.parse("1 Jan 99 00:00 +0000").map(ISOTime.string) == "1999-01-01T00:00:00Z")
        // A day past the month's end rolls over, as before (Calendar's lenient dates).
        #expect(MailDate.parse("30 Feb 2026 10:00:00 +0000").map(ISOTime.string) == "2026-03-02T10:00:00Z")
    }

    @Test func civilDatesMatchFoundationsCalendar() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        // Every 7th day from 1900 to 2100, and the days around the leap rules' edges.
        for days in stride(from: -25_567, through: 47_482, by: 7) + [10_956, 10_957, 11_016, 11_017, -25_508, 47_541] {
            let c = calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(days) * 86_400))
            let mine = CivilDate.civil(days: days)
            #expect(mine.year == c.year && mine.month == c.month && mine.day == c.day, "\(days): \(mine) vs \(c)")
            #expect(CivilDate.days(year: mine.year, month: mine.month, day: mine.day) == days)
        }
        #expect(CivilDate.padded(7, 2) == "07" && CivilDate.padded(2026, 4) == "2026" && CivilDate.padded(12345, 4) == "12345")
    }

    @Test func bodyTextIsCleanedInOnePass() {
        #expect(MailNote.cleanBody("\r\n  a\r\nb\rc\n\r\n") == "a\nb\nc")
        #expect(MailNote.cleanBody("x\u{0}y\u{7}z\u{7F}\tq\u{85}r\u{9F}s") == "xyz\tqrs", "C0, DEL and C1 controls dropped, tab kept")
        #expect(MailNote.cleanBody("\u{A0}\u{2003}Grüße, 日本 \u{C2}\u{A0}mitten\u{3000}\n") == "Grüße, 日本 Â\u{A0}mitten", "non-ASCII kept; Unicode spaces trimmed at the ends only")
        #expect(MailNote.cleanBody(" \r\n\t ") == "")
        #expect(MailNote.cleanBody("\r\u{0}\n") == "\n\n".trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(MailNote.cleanBody("a\r\u{0}\nb") == "a\n\nb")
    }

    @Test func headerValuesAreOneCleanLine() {
        #expect(MailNote.clean("  Quote\r\n\t request \u{0}\u{200B}for  40\u{A0}chairs \u{85}") == "Quote request for 40 chairs")
        #expect(MailNote.clean("Ünïcödé, 日本語 — ok") == "Ünïcödé, 日本語 — ok")
        #expect(MailNote.clean("\u{1}\u{2} \u{2028}") == "")
        #expect(MailNote.clean(String(repeating: "ab ", count: 600)).count == 1000)
    }

    @Test func csvHandlesQuotesSemicolonsAndBOM() throws {
        let parsed = try CSVContacts.parse(Data("\u{FEFF}First Name;Last Name;E-mail\n\"Ana \"\"A\"\"\";Lima;ana@x.test\n".utf8))
        #expect(parsed.contacts.count == 1)
        #expect(parsed.contacts.first?.contact.name == "Ana \"A\" Lima")
        #expect(parsed.contacts.first?.contact.email == "ana@x.test")
    }
}
