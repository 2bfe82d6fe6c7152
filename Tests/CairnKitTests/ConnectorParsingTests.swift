import Foundation
import Testing
@testable import CairnKit

/// The byte-level paths a pulled mail goes through (header lines, content parameters, trimming, body and header
/// cleaning, dates, quoting) give exactly what the previous `Character` and Foundation versions gave. Those versions
/// are kept here, as they were, and both run on generated text: ASCII, line ends of every kind, characters that
/// join with the one before (combining marks, a prepended sign), Unicode spaces, invalid UTF-8.
struct ConnectorParsingTests {
    // MARK: The previous versions

    enum Previous {
        static func trimmed<S: StringProtocol>(_ text: S) -> String {
            guard let first = text.firstIndex(where: { !$0.isWhitespace }), let last = text.lastIndex(where: { !$0.isWhitespace }) else { return "" }
            return String(text[first...last])
        }

        static func parseHeaders(_ bytes: ArraySlice<UInt8>, problems: inout [String]) -> [(name: String, value: String)] {
            var result: [(name: String, value: String)] = []
            let text = Charset.decode(bytes, charset: nil, problems: &problems, what: "headers")
            for line in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
                let line = line.hasSuffix("\r") ? line.dropLast() : line
                if line.isEmpty { continue }
                if line.first == " " || line.first == "\t" {
                    if let last = result.popLast() { result.append((last.name, last.value + " " + trimmed(line))) }
                    continue
                }
                guard let colon = line.firstIndex(of: ":") else {
                    problems.append("a header line without ':' was ignored")
                    continue
                }
                let name = trimmed(line[..<colon])
                let value = trimmed(line[line.index(after: colon)...])
                result.append((name, value))
            }
            return result.map { ($0.name, EncodedWords.decode($0.value, problems: &problems)) }
        }

        static func contentParameters(_ value: String?) -> (type: String, params: [String: String]) {
            guard let value else { return ("text/plain", [:]) }
            var parts: [String] = []
            var current = ""
            var quoted = false
            for ch in value {
                if ch == "\"" { quoted.toggle(); current.append(ch) } else if ch == ";" && !quoted { parts.append(current); current = "" } else { current.append(ch) }
            }
            parts.append(current)
            let type = parts.first?.trimmingCharacters(in: .whitespaces).lowercased() ?? "text/plain"
            var params: [String: String] = [:]
            for p in parts.dropFirst() {
                guard let eq = p.firstIndex(of: "=") else { continue }
                var key = p[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
                var v = p[p.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                if v.hasPrefix("\"") && v.hasSuffix("\"") && v.count >= 2 { v = String(v.dropFirst().dropLast()) }
                if key.hasSuffix("*") {
                    key.removeLast()
                    let pieces = v.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
                    if pieces.count == 3 { v = String(pieces[2]).removingPercentEncoding ?? String(pieces[2]) }
                }
                params[key] = v
            }
            return (type.isEmpty ? "text/plain" : type, params)
        }

        static func cleanBody(_ s: String) -> String {
            var bytes: [UInt8] = []
            var afterCR = false
            var heldC2 = false
            for b in s.utf8 {
                if heldC2 {
                    heldC2 = false
                    if b >= 0x80 && b <= 0x9F { continue }
                    bytes.append(0xC2)
                }
                if b == 0x0D { bytes.append(0x0A); afterCR = true; continue }
                if b == 0x0A && afterCR { afterCR = false; continue }
                afterCR = false
                if b == 0xC2 { heldC2 = true; continue }
                if (b < 0x20 && b != 0x09 && b != 0x0A) || b == 0x7F { continue }
                bytes.append(b)
            }
            if heldC2 { bytes.append(0xC2) }
            let text = String(decoding: bytes, as: UTF8.self)
            let scalars = text.unicodeScalars
            guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
                  let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
            return String(scalars[first...last])
        }

        static func mailDate(_ text: String) -> Date? {
            var t = trimmed(text)
            if let paren = t.firstIndex(of: "(") { t = trimmed(t[..<paren]) }
            if let comma = t.firstIndex(of: ",") { t = trimmed(t[t.index(after: comma)...]) }
            let parts = t.split(whereSeparator: \.isWhitespace)
            guard parts.count >= 4, let day = Int(parts[0]), var year = Int(parts[2]) else { return nil }
            let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
            guard let month = months.firstIndex(of: parts[1].prefix(3).lowercased()) else { return nil }
            if year < 50 { year += 2000 } else if year < 100 { year += 1900 }
            let hms = parts[3].split(separator: ":").compactMap { Int($0) }
            guard hms.count >= 2 else { return nil }
            var offset = 0
            if parts.count >= 5 {
                let z = parts[4]
                if let sign = z.first, sign == "+" || sign == "-", let v = Int(z.dropFirst()), z.count == 5 {
                    offset = (v / 100 * 3600 + v % 100 * 60) * (sign == "-" ? -1 : 1)
                }
            }
            guard (1...31).contains(day), (0...23).contains(hms[0]), (0...59).contains(hms[1]), (0...9999).contains(year) else { return nil }
            let seconds = CivilDate.days(year: year, month: month + 1, day: day) * 86_400 + hms[0] * 3600 + hms[1] * 60 + (hms.count > 2 ? hms[2] : 0)
            return Date(timeIntervalSince1970: TimeInterval(seconds - offset))
        }

        static func doubleQuoted(_ text: String) -> String {
            var output = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": output += "\\\""
                case "\\": output += "\\\\"
                case "\n": output += "\\n"
                case "\t": output += "\\t"
                case "\r": output += "\\r"
                default:
                    let value = scalar.value
                    if value < 0x20 || value == 0x7F || value == 0x85 || value == 0xA0
                        || value == 0x2028 || value == 0x2029 || value == 0xFEFF {
                        let hex = String(value, radix: 16, uppercase: true)
                        output += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                    } else {
                        output.unicodeScalars.append(scalar)
                    }
                }
            }
            return output + "\""
        }
    }

    // MARK: Generated text

    /// Pieces that matter to the functions under test; ASCII ones are drawn more often.
    private static let asciiPieces = ["a", "Z", "q", "9", "0", " ", "  ", "\t", "\r", "\n", "\r\n", "\r\r\n", ":", ";", "=",
                                      "\"", "'", "*", "%", "-", "(", ")", ",", "\u{0B}", "\u{0C}", "\u{1F}", "\u{7F}", "\u{0}",
                                      "Subject", "From", "To", "Date", "Content-Type", "text/plain", "TEXT/HTML", "multipart/mixed",
                                      "charset", "boundary", "name", "filename*", "utf-8''r%C3%A9", "UTF-8", "ISO-8859-1",
                                      "=?utf-8?B?w5xiZXI=?=", "=?iso-8859-1?Q?_caf=E9?=", "=?", "?=", "Mon", "2 Mar 2026",
                                      "10:52:37", "+0200", "-0130", "Jul", "jUL", "99", "31", "+5", "-3", "::", "1:2:3:4"]
    private static let otherPieces = ["é", "e\u{301}", "\u{301}", " \u{301}", "\t\u{301}", ":\u{301}", "\"\u{301}",
                                      ";\u{301}", "\u{600}", "\u{600} ", "\u{A0}", "\u{2028}", "\u{85}", "\u{2003}", "\u{3000}",
                                      "日本", "Grüße", "\u{C2}", "\u{200B}", "\u{FEFF}", "١٢", "\u{1F600}", "\r\u{301}",
                                      "\n\u{301}", "\u{FF1A}"]

    private static func text(_ rng: inout SplitMix64, asciiOnly: Bool, maxPieces: Int) -> String {
        var s = ""
        for _ in 0..<(1 + rng.below(maxPieces)) {
            if !asciiOnly && rng.below(5) == 0 {
                s += otherPieces[rng.below(otherPieces.count)]
            } else if rng.below(6) == 0 {
                s.unicodeScalars.append(Unicode.Scalar(UInt8(rng.below(128))))
            } else {
                s += asciiPieces[rng.below(asciiPieces.count)]
            }
        }
        return s
    }

    private static let cases: [String] = {
        var rng = SplitMix64(state: 0xC0_2026)
        var out = ["", " ", "\r\n", "a", "Subject: x", " continued", "Subject: a\r\n b", "\u{301}", " \u{301}x"]
        for i in 0..<20_000 { out.append(text(&rng, asciiOnly: i % 2 == 0, maxPieces: rng.below(4) == 0 ? 60 : 12)) }
        return out
    }()

    // MARK: Tests

    @Test func asciiWhitespaceIsCharacterWhitespace() {
        for b in UInt8(0)..<0x80 {
            #expect(ASCIIText.isWhitespace(b) == Character(Unicode.Scalar(b)).isWhitespace, "byte \(b)")
        }
    }

    @Test func trimmingIsThePreviousTrimming() {
        var differing: [String] = []
        for s in Self.cases {
            if MIMEMessage.trimmed(s) != Previous.trimmed(s) { differing.append(s) }
            if ASCIIText.trimmedSpaces(s) != s.trimmingCharacters(in: .whitespaces) { differing.append(s) }
            if ASCIIText.trimmedSpacesLowercasedAnyText(s) != s.trimmingCharacters(in: .whitespaces).lowercased() { differing.append(s) }
            if MailNote.trimmedDashes(s) != s.trimmingCharacters(in: CharacterSet(charactersIn: "-")) { differing.append(s) }
        }
        #expect(differing.isEmpty, "\(differing.prefix(5).map(\.debugDescription))")
        #expect(ASCIIText.trimmedWhitespace("é ") == nil && MIMEMessage.trimmed(" \u{301}x ") == "x")
    }

    @Test func headerLinesAreThePreviousHeaderLines() {
        var rng = SplitMix64(state: 0x4EAD_E125)
        var differing: [String] = []
        for (n, s) in Self.cases.enumerated() {
            var bytes = Array(s.utf8)
            // Some blocks are not UTF-8 (read as Latin-1), as some servers send.
            if n % 7 == 0 && !bytes.isEmpty { bytes.insert([0xFF, 0xC3, 0xE9, 0x85][rng.below(4)], at: rng.below(bytes.count)) }
            var p1: [String] = [], p2: [String] = []
            let new = MIMEMessage.parseHeaders(bytes[...], problems: &p1)
            let old = Previous.parseHeaders(bytes[...], problems: &p2)
            if new.map(\.name) != old.map(\.name) || new.map(\.value) != old.map(\.value) || p1 != p2 { differing.append(s) }
        }
        #expect(differing.isEmpty, "\(differing.prefix(5).map(\.debugDescription))")
        var problems: [String] = []
        // ":" and a combining mark are one character, not a colon (as before).
        let h = MIMEMessage.parseHeaders(Array("Subject:  a\r\n\tb \r\nX: 1\r\r\nbad\nY:\u{301}z\nZ: \u{301}z\n".utf8)[...], problems: &problems)
        #expect(h.map(\.name) == ["Subject", "X", "Z"] && h.map(\.value) == ["a b", "1", "z"], "a space and a combining mark are one white space character")
        #expect(problems == ["a header line without ':' was ignored", "a header line without ':' was ignored"])
    }

    @Test func contentParametersAreThePreviousOnes() {
        var differing: [String] = []
        for s in Self.cases {
            let new = MIMEMessage.contentParameters(s), old = Previous.contentParameters(s)
            if new.type != old.type || new.params != old.params { differing.append(s) }
        }
        #expect(differing.isEmpty, "\(differing.prefix(5).map(\.debugDescription))")
        let p = MIMEMessage.contentParameters("Text/Plain ; Charset=\"UTF-8\"; name*=utf-8''r%C3%A9sum%C3%A9.pdf")
        #expect(p.type == "text/plain" && p.params == ["charset": "UTF-8", "name": "résumé.pdf"])
    }

    @Test func cleanedBodiesAndHeaderValuesAreThePreviousOnes() {
        var rng = SplitMix64(state: 0xB0D1)
        var differing: [String] = []
        for s in Self.cases {
            if MailNote.cleanBody(s) != Previous.cleanBody(s) { differing.append("body: " + s) }
            if MailNote.clean(s) != MailNote.cleanGeneral(s) { differing.append("clean: " + s) }
        }
        // Long header values: cut at 1,000 characters.
        for _ in 0..<300 {
            var s = ""
            for _ in 0..<(100 + rng.below(400)) { s += Self.asciiPieces[rng.below(Self.asciiPieces.count)] }
            if MailNote.cleanASCII(s) != MailNote.cleanGeneral(s) { differing.append("long: \(MailNote.cleanASCII(s)!.count) \(MailNote.cleanGeneral(s).count) " + s) }
        }
        #expect(differing.isEmpty, "\(differing.prefix(3).map { $0.prefix(300).debugDescription })")
    }

    @Test func mailDatesAreThePreviousDates() {
        var rng = SplitMix64(state: 0xDA7E)
        let days = ["Mon, ", "tue,", "", " (x) ", "Wed ,"], months = ["Jan", "feb", "MAR", "Sept", "Dez", "x", "jul\u{301}"]
        let zones = ["+0200", "-0130", "GMT", "+02:00", "-00", "+-100", "(UTC)", "+0000 (CET)", "+١٢٠٠", ""]
        var differing: [String] = []
        var inputs = Self.cases
        for _ in 0..<20_000 {
            let parts = [days[rng.below(days.count)], String(rng.below(40) - 3), months[rng.below(months.count)],
                         String([99, 2026, 1969, 5, 10_001, -1][rng.below(6)]),
                         ["10:52:37", "1:2", "23:59:60", "24:00", "10:x:52", "10::52", ":7:8", "7"][rng.below(8)], zones[rng.below(zones.count)]]
            let sep = [" ", "  ", "\t", "\r\n ", "\u{A0}", " \u{301}"][rng.below(rng.below(3) == 0 ? 6 : 3)]
            inputs.append(parts.joined(separator: sep))
        }
        for s in inputs where MailDate.parse(s) != Previous.mailDate(s) { differing.append(s) }
        #expect(differing.isEmpty, "\(differing.prefix(5).map(\.debugDescription))")
    }

    @Test func dayStringsAreTheCalendarsDays() {
        var rng = SplitMix64(state: 0xDA75)
        var differing: [Double] = []
        var times: [Double] = [0, -1, 86_399.999, 86_400, -11_676_096_000, -11_676_096_001, 253_402_300_799, 253_402_300_800, 951_782_400]
        for _ in 0..<5_000 { times.append(Double(Int64(rng.next() % 600_000_000_000)) - 300_000_000_000 + Double(rng.below(1000)) / 1000) }
        for t in times {
            let date = Date(timeIntervalSince1970: t)
            if FrontMatter.dayString(date) != FrontMatter.dayStringByCalendar(date) { differing.append(t) }
        }
        #expect(differing.isEmpty, "\(differing.prefix(5))")
    }

    @Test func quotedScalarsAreThePreviousOnes() {
        var differing: [String] = []
        for s in Self.cases {
            let plain = FrontMatter.isPlainSafeASCII(s) ?? FrontMatter.isPlainSafeGeneral(s)
            if FrontMatter.yamlScalar(s) != (plain ? s : Previous.doubleQuoted(s)) { differing.append(s) }
        }
        #expect(differing.isEmpty, "\(differing.prefix(5).map(\.debugDescription))")
        #expect(FrontMatter.yamlScalar("<m1@acme.test>") == "\"<m1@acme.test>\"")
        #expect(FrontMatter.yamlScalar("a\"b\\c\u{85}\u{2028}é\t") == "\"a\\\"b\\\\c\\u0085\\u2028é\\t\"")
    }

    @Test func byteSearchFindsWhatContainsFinds() {
        func naive(_ needle: [UInt8], _ s: String) -> Range<Int>? {
            let hay = Array(s.utf8)
            guard hay.count >= needle.count else { return nil }
            return (0...(hay.count - needle.count)).first { Array(hay[$0..<($0 + needle.count)]) == needle }.map { $0..<($0 + needle.count) }
        }
        for s in Self.cases.prefix(5_000) {
            #expect(ASCIIText.firstRange(of: ":", in: s) == naive([0x3A], s))
            #expect(ASCIIText.firstRange(of: "a\r\n", in: s) == naive(Array("a\r\n".utf8), s), "\(s.debugDescription)")
        }
        #expect(ASCIIText.firstRange(of: "UID ", in: "* 3 FETCH (UID 17 BODY[] {5}") == 11..<15)
        #expect(ASCIIText.firstRange(of: "UID ", in: "UID") == nil)
    }
}
