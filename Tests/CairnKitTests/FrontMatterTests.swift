import Foundation
import Testing
@testable import CairnKit

/// Parses `text` as a note at `path`, failing the test on error.
private func note(_ text: String, path: String = "memory/knowledge/note.md") throws -> Note {
    try NoteParser.parse(path: path, data: Data(text.utf8))
}

/// The error parsing `data` throws, or `nil` when it parses.
private func parseError(_ data: Data, path: String = "memory/knowledge/note.md") -> NoteError? {
    do {
        _ = try NoteParser.parse(path: path, data: data)
        return nil
    } catch {
        return error
    }
}

private func parseError(_ text: String, path: String = "memory/knowledge/note.md") -> NoteError? {
    parseError(Data(text.utf8), path: path)
}

@Suite struct FrontMatterTests {
    // MARK: - Happy paths

    @Test func parsesEveryKnownKeyAndKeepsUnknownOnes() throws {
        let parsed = try note("""
            ---
            title: Weekly plan
            tier: working
            tags: [Planning, ops]
            created: 2024-05-01
            updated: "2024-05-03T10:00:00Z"
            expires: 2024-06-01
            review_after: 2024-05-15
            source: https://example.com/x
            pinned: yes
            aliases: [Plan, This week]
            custom: {nested: [1, 2.5, true, null, text]}
            ---
            Body text.

            """)
        let frontMatter = try #require(parsed.frontMatter)
        #expect(frontMatter.title == "Weekly plan")
        #expect(frontMatter.tier == .working)
        #expect(frontMatter.tags == ["planning", "ops"])
        #expect(frontMatter.created == "2024-05-01")
        #expect(frontMatter.updated == "2024-05-03T10:00:00Z")
        #expect(frontMatter.expires == "2024-06-01")
        #expect(frontMatter.reviewAfter == "2024-05-15")
        #expect(frontMatter.source == "https://example.com/x")
        #expect(frontMatter.pinned == true)
        #expect(frontMatter.aliases == ["Plan", "This week"])
        #expect(frontMatter.fields.map(\.key) == [
            "title", "tier", "tags", "created", "updated", "expires", "review_after", "source", "pinned",
            "aliases", "custom",
        ])
        #expect(frontMatter["custom"] == .map([
            (key: "nested", value: .list([.int(1), .double(2.5), .bool(true), .null, .string("text")])),
        ]))
        #expect(frontMatter.lines == 1...13)
        #expect(parsed.body == "Body text.\n")
        #expect(parsed.bodyFirstLine == 14)
    }

    @Test func tagsMayBeAListASingleStringOrCommaSeparated() throws {
        #expect(try note("---\ntags: [A, b, '#C', a]\n---\n").tags == ["a", "b", "c"])
        #expect(try note("---\ntags:\n  - one\n  - Two\n---\n").tags == ["one", "two"])
        #expect(try note("---\ntags: solo\n---\n").tags == ["solo"])
        #expect(try note("---\ntags: \"x, y ,#z\"\n---\n").tags == ["x", "y", "z"])
        #expect(try note("---\ntags:\n---\n").tags == [])
        #expect(try note("---\ntags: [2024, ~]\n---\n").tags == ["2024"])
    }

    @Test func datesMayBeYAMLTimestampsOrStrings() throws {
        let plain = try #require(try note("---\nexpires: 2024-02-29\n---\n").frontMatter)
        let quoted = try #require(try note("---\nexpires: '2024-02-29'\n---\n").frontMatter)
        #expect(plain.expires == "2024-02-29")
        #expect(quoted.expires == "2024-02-29")
        let expected = Date(timeIntervalSince1970: 1_709_164_800)  // 2024-02-29T00:00:00Z
        #expect(try note("---\nexpires: 2024-02-29\n---\n").expiresDate == expected)
        #expect(try note("---\nreview_after: 2024-02-29 23:59\n---\n").reviewAfterDate == expected)
    }

    @Test func dateHelperParsesDaysAndISOTimestampsAtDayPrecision() {
        let day = Date(timeIntervalSince1970: 1_714_521_600)  // 2024-05-01T00:00:00Z
        #expect(FrontMatter.date(from: "2024-05-01") == day)
        #expect(FrontMatter.date(from: " 2024-05-01 ") == day)
        #expect(FrontMatter.date(from: "2024-05-01T09:30:00Z") == day)
        #expect(FrontMatter.date(from: "2024-05-01T23:30:00-05:00") == day)
        #expect(FrontMatter.date(from: "2024-05-01 09:30") == day)
        #expect(FrontMatter.date(from: "2024-05-01T09:30:00.123+0200") == day)
        #expect(FrontMatter.date(from: "2024-5-1") == day)
        #expect(FrontMatter.date(from: "2024-02-30") == nil)
        #expect(FrontMatter.date(from: "2024-13-01") == nil)
        #expect(FrontMatter.date(from: "tomorrow") == nil)
        #expect(FrontMatter.date(from: "2024-05-01junk") == nil)
        #expect(FrontMatter.date(from: "") == nil)
        #expect(FrontMatter.dayString(day) == "2024-05-01")
    }

    @Test func crlfLineEndingsAreAcceptedAndKept() throws {
        let text = "---\r\ntitle: Windows\r\ntags: [a]\r\n---\r\nLine one #b\r\n[[Link]]\r\n"
        let parsed = try note(text)
        #expect(parsed.title == "Windows")
        #expect(parsed.tags == ["a", "b"])
        #expect(parsed.wikilinks == ["Link"])
        #expect(parsed.frontMatter?.yaml == "title: Windows\r\ntags: [a]\r\n")
        #expect(parsed.body == "Line one #b\r\n[[Link]]\r\n")
        #expect(parsed.links.wikiLinks.first?.line == 6)
        #expect(parsed.text == text)

        let broken = parseError("---\r\ntitle: ok\r\ntags: {a: 1}\r\n---\r\n")
        #expect(broken?.line == 3)
    }

    @Test func byteOrderMarkBeforeTheFenceIsAllowed() throws {
        let text = "\u{FEFF}---\ntitle: With BOM\n---\nbody\n"
        let parsed = try note(text)
        #expect(parsed.hasByteOrderMark)
        #expect(parsed.title == "With BOM")
        #expect(parsed.body == "body\n")
        #expect(parsed.text == text)
        #expect(Array(parsed.text.utf8) == Array(text.utf8))
    }

    @Test func noFrontMatterLeavesTheWholeTextAsBody() throws {
        let text = "# Just a heading\n\n---\ntitle: not front matter\n---\n"
        let parsed = try note(text)
        #expect(parsed.frontMatter == nil)
        #expect(parsed.body == text)
        #expect(parsed.bodyFirstLine == 1)
        #expect(parsed.title == "Just a heading")
    }

    @Test func emptyFrontMatterIsAnEmptyMapping() throws {
        let parsed = try note("---\n---\n")
        let frontMatter = try #require(parsed.frontMatter)
        #expect(frontMatter.fields.isEmpty)
        #expect(frontMatter.yaml == "")
        #expect(frontMatter.lines == 1...2)
        #expect(parsed.body == "")
        let commentsOnly = try #require(try note("---\n# just a comment\n---\nx").frontMatter)
        #expect(commentsOnly.fields.isEmpty)
    }

    @Test func fencesAllowTrailingSpacesAndDotsClose() throws {
        let parsed = try note("---  \ntitle: Dots\n...\t\nbody")
        #expect(parsed.title == "Dots")
        #expect(parsed.body == "body")
        // Four dashes is not a fence: no front matter at all.
        #expect(try note("----\ntitle: x\n----\n").frontMatter == nil)
    }

    @Test func rawYAMLAndBodyAreKeptByteForByte() throws {
        let text = "---\ntitle:   'Spaced'   # comment\nodd:    [ 1,2 ]\n---\n\n  body  \n\n"
        let parsed = try note(text)
        #expect(parsed.frontMatter?.yaml == "title:   'Spaced'   # comment\nodd:    [ 1,2 ]\n")
        #expect(parsed.frontMatter?.block == "---\ntitle:   'Spaced'   # comment\nodd:    [ 1,2 ]\n---\n")
        #expect(parsed.body == "\n  body  \n\n")
        #expect(parsed.text == text)
    }

    @Test func scalarsResolveLikeYAMLButOverflowStaysText() throws {
        let frontMatter = try #require(try note("""
            ---
            hex: 0x1F
            big: 99999999999999999999999
            sexagesimal: 1:2:3:4:5:6:7:8:9:10:11:12:13:14:15
            quoted: "12"
            off: off
            inf: .inf
            ---

            """).frontMatter)
        #expect(frontMatter["hex"] == .int(31))
        #expect(frontMatter["big"] == .string("99999999999999999999999"))
        #expect(frontMatter["sexagesimal"] == .string("1:2:3:4:5:6:7:8:9:10:11:12:13:14:15"))
        #expect(frontMatter["quoted"] == .string("12"))
        #expect(frontMatter["off"] == .bool(false))
        #expect(frontMatter["inf"] == .double(.infinity))
    }

    // MARK: - Errors, with exact file lines

    @Test func unterminatedFrontMatterIsReportedOnLineOne() {
        let error = parseError("---\ntitle: x\nbody without a closing fence\n")
        #expect(error == NoteError(path: "memory/knowledge/note.md", line: 1,
                                   reason: "front matter opened with '---' is never closed"))
        #expect(error?.description == "memory/knowledge/note.md:1: front matter opened with '---' is never closed")
    }

    @Test func yamlSyntaxErrorsPointAtTheFileLine() {
        let error = parseError("---\ntitle: ok\nbad: value: other\n---\n")
        #expect(error?.line == 3)
        #expect(error?.reason.contains("mapping values are not allowed") == true)

        let unclosedQuote = parseError("---\na: 1\nb: 2\nc: \"open\nd: 4\n---\n")
        #expect(unclosedQuote?.line == 4)
        #expect(unclosedQuote?.reason
            == "invalid YAML in front matter: found unexpected end of stream, while scanning a quoted scalar started here")

        let unclosedList = parseError("---\ntitle: x\nlist: [a, b\n---\n")
        #expect(unclosedList?.line == 3)

        let tab = parseError("---\na:\n\t- x\n---\n")
        #expect(tab?.line == 3)
    }

    @Test func frontMatterMustBeAMapping() {
        let list = parseError("---\n- a\n- b\n---\n")
        #expect(list?.line == 2)
        #expect(list?.reason == "front matter must be a YAML mapping of 'key: value' lines, found a list")
        let scalar = parseError("---\n\njust some text\n---\n")
        #expect(scalar?.line == 3)
        #expect(scalar?.reason.contains("found 'just some text'") == true)
    }

    @Test func wrongTypesForKnownKeysAreRejected() {
        let tags = parseError("---\ntitle: ok\ntags: {a: 1}\n---\n")
        #expect(tags?.line == 3)
        #expect(tags?.reason == "'tags' must be a list of tags or a comma-separated string, found a mapping")

        let pinned = parseError("---\ntitle: ok\ntags: [a]\npinned: \"maybe\"\n---\n")
        #expect(pinned?.line == 4)
        #expect(pinned?.reason == "'pinned' must be true or false, found 'maybe'")

        let tier = parseError("---\ntier: nonsense\n---\n")
        #expect(tier?.line == 2)
        #expect(tier?.reason == "unknown tier 'nonsense'; allowed tiers: core, working, projects, knowledge, inbox")

        let title = parseError("---\ntitle:\n  - a\n  - b\n---\n")
        #expect(title?.line == 3)
        #expect(title?.reason == "'title' must be text, found a list")

        let nestedTag = parseError("---\ntags:\n  - ok\n  - [no]\n---\n")
        #expect(nestedTag?.line == 4)

        let date = parseError("---\n\nexpires: [2024-01-01]\n---\n")
        #expect(date?.line == 3)
        #expect(date?.reason.hasPrefix("'expires' must be a date") == true)

        let aliases = parseError("---\naliases: {a: b}\n---\n")
        #expect(aliases?.line == 2)
    }

    @Test func duplicateKeysAreRejected() {
        let error = parseError("---\ntitle: a\nother: 1\ntitle: b\n---\n")
        #expect(error?.line == 4)
        #expect(error?.reason == "duplicate front matter key 'title' (first set on line 2)")
    }

    @Test func nonScalarKeysAreRejected() {
        let error = parseError("---\na: 1\n? [x, y]\n: z\n---\n")
        #expect(error?.line == 3)
        #expect(error?.reason.contains("keys must be plain text") == true)
    }

    @Test func invalidUTF8IsReportedWithItsLine() {
        var bytes = Array("---\ntitle: x\n---\nok\n".utf8)
        bytes += [0x62, 0xFF, 0x0A]
        let error = parseError(Data(bytes))
        #expect(error == NoteError(path: "memory/knowledge/note.md", line: 5, reason: "not valid UTF-8"))
        // An overlong encoding of '/' and a lone surrogate are invalid too.
        #expect(parseError(Data([0xC0, 0xAF]))?.reason == "not valid UTF-8")
        #expect(parseError(Data([0x61, 0x0A, 0xED, 0xA0, 0x80]))?.line == 2)
    }

    @Test func nulBytesMeanABinaryFile() {
        let error = parseError(Data(Array("line one\nline two\n".utf8) + [0x00, 0x01]))
        #expect(error == NoteError(path: "memory/knowledge/note.md", line: 3,
                                   reason: "contains NUL bytes (binary file?)"))
    }

    @Test func aliasesAreRejected() {
        let error = parseError("---\nbase: &b [1, 2]\ncopy: *b\n---\n")
        #expect(error?.line == 3)
        #expect(error?.reason.contains("alias '*b'") == true)
        // A '*' inside quotes or plain text is not an alias.
        #expect(parseError("---\ntitle: \"*not an alias*\"\nnote: a *b c\n---\n") == nil)
    }

    @Test func aliasExpansionBombIsRejectedQuickly() {
        var yaml = "a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n"
        let letters = Array("bcdefghij")
        for (index, letter) in letters.enumerated() {
            let previous = index == 0 ? "a" : String(letters[index - 1])
            let refs = Array(repeating: "*\(previous)", count: 9).joined(separator: ", ")
            yaml += "\(letter): &\(letter) [\(refs)]\n"
        }
        let start = Date()
        let error = parseError("---\n" + yaml + "---\nbody\n")
        #expect(error?.line == 3)
        #expect(error?.reason.contains("alias") == true)
        #expect(Date().timeIntervalSince(start) < 2)
    }

    @Test func hugeFrontMatterIsRejected() {
        let line = "key\(String(repeating: "x", count: 60)): value\n"
        let yaml = String(repeating: line, count: 70 * 1024 / line.utf8.count + 1)
        let error = parseError("---\n" + yaml + "---\nbody\n")
        #expect(error?.line == 1)
        #expect(error?.reason.contains("more than the 64 KiB allowed") == true)
        // Just under the limit still parses (keys must be unique, so number them).
        var small = ""
        for index in 0..<500 { small += "k\(index): v\n" }
        #expect(parseError("---\n" + small + "---\n") == nil)
    }

    @Test func deepNestingIsRejectedWithoutCrashing() {
        let depth = 20_000
        let flow = parseError("---\nx: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "\n---\n")
        #expect(flow?.line == 2)
        #expect(flow?.reason.contains("nested more than 64 levels") == true)
        let block = parseError("---\nx:\n" + String(repeating: "- ", count: 10_000) + "end\n---\n")
        #expect(block?.line == 3)
        // 64 levels are fine.
        #expect(parseError("---\nx: " + String(repeating: "[", count: 63) + String(repeating: "]", count: 63) + "\n---\n") == nil)
    }

    @Test func aSecondYAMLDocumentIsRejected() {
        let error = parseError("---\na: 1\n--- b\n---\n")
        #expect(error?.line == 3)
    }

    // MARK: - Writing YAML scalars

    @Test func yamlScalarQuotesOnlyWhatNeedsQuoting() throws {
        #expect(FrontMatter.yamlScalar("Weekly plan") == "Weekly plan")
        #expect(FrontMatter.yamlScalar("Plan: Q3") == "\"Plan: Q3\"")
        #expect(FrontMatter.yamlScalar("yes") == "\"yes\"")
        #expect(FrontMatter.yamlScalar("2024") == "\"2024\"")
        #expect(FrontMatter.yamlScalar("say \"hi\"\\") == "\"say \\\"hi\\\"\\\\\"")
        for text in ["#1 priority", "- dash", "null", "~", "2024-05-01", "a, b", "[x]", "*star", "&amp",
                     "%p", "@at", "`tick`", "'single'", "x #y", "tab\there", "bell\u{7}", "Café 日本語", "0x1F"] {
            let yaml = "value: \(FrontMatter.yamlScalar(text))\nlist: [\(FrontMatter.yamlScalar(text))]\n"
            let frontMatter = try #require(try note("---\n" + yaml + "---\n").frontMatter)
            #expect(frontMatter["value"] == .string(text), "value \(text)")
            #expect(frontMatter["list"] == .list([.string(text)]), "list \(text)")
        }
    }
}
