import Foundation
import Testing
@testable import CairnKit

private func note(_ text: String, path: String = "memory/knowledge/note.md") throws -> Note {
    try NoteParser.parse(path: path, data: Data(text.utf8))
}

@Suite struct NoteTests {
    // MARK: - Title, tier, tags

    @Test func titleComesFromFrontMatterThenHeadingThenFileName() throws {
        #expect(try note("---\ntitle: From YAML\n---\n# From heading\n").title == "From YAML")
        #expect(try note("Intro\n\n## Sub\n#  From heading  ##\n# Second\n").title == "From heading")
        #expect(try note("```\n# Not a heading\n```\nplain\n", path: "memory/working/weekly-plan.md").title
            == "weekly plan")
        #expect(try note("---\ntitle: \"  \"\n---\n", path: "inbox/call-with-acme.txt.md").title == "call with acme.txt")
    }

    @Test func tierComesFromFrontMatterThenPath() throws {
        #expect(try note("x", path: "memory/core/identity.md").tier == .core)
        #expect(try note("---\ntier: Projects\n---\n", path: "memory/core/identity.md").tier == .projects)
        #expect(try note("x", path: "notes/loose.md").tier == nil)
    }

    @Test func tierFoldersAndPaths() {
        #expect(Tier.allCases.map(\.folder) == [
            "memory/core", "memory/working", "memory/projects", "memory/knowledge", "inbox",
        ])
        #expect(Tier.fromPath("memory/working/2024/daily.md") == .working)
        #expect(Tier.fromPath("./inbox/lead.md") == .inbox)
        #expect(Tier.fromPath("inbox") == .inbox)
        #expect(Tier.fromPath("memory/coredump/x.md") == nil)
        #expect(Tier.fromPath("inboxes/x.md") == nil)
        #expect(Tier.fromPath("agents/triage.md") == nil)
    }

    @Test func tagsMergeFrontMatterAndInlineTagsLowercasedInOrder() throws {
        let parsed = try note("""
            ---
            tags: [Ops, finance]
            ---
            # Heading is not a tag
            Talked about #Finance and #q3-plan/budget_v2 and #ops.
            #start-of-line tag, issue #123 is not a tag, nor is foo#bar or url.com/#x.
            Escaped \\#nope, an emoji #🎉 and #日本語 tag.

            """)
        #expect(parsed.tags == ["ops", "finance", "q3-plan/budget_v2", "start-of-line", "日本語"])
    }

    @Test func tagsAndLinksInCodeAreIgnored() throws {
        let parsed = try note("""
            Real #visible and [[Visible]].
            ```swift
            let x = "#hidden [[Hidden]]"
            ```
            ~~~~
            #hidden2 [[Hidden2]]
            ```
            still code #hidden3
            ~~~~
            Inline `#hidden4 [[Hidden4]]` and ``code with ` #hidden5`` then #after.
                ```
            Indented four spaces is not a fence, so #indented counts.

            """)
        #expect(parsed.tags == ["visible", "after", "indented"])
        #expect(parsed.wikilinks == ["Visible"])
    }

    @Test func unclosedFenceRunsToTheEnd() throws {
        let parsed = try note("#before\n```\n#inside [[In]]\n")
        #expect(parsed.tags == ["before"])
        #expect(parsed.wikilinks.isEmpty)
    }

    @Test func linesWithoutMarkupAreSkippedButStillCounted() {
        // Prose lines (no `#`, `[`, backtick or `~`) are passed over without decoding: the lines after them, CRLF
        // lines, multi-byte text and a last line without a newline keep their file line numbers.
        let body = "Prose é ü 日本\r\n\r\nmore prose\n[[First]] #one\r\nplain\n~~~\n[[Hidden]]\n~~~\n\nno markup\n"
            + String(repeating: "lorem ipsum\n", count: 50) + "é [[Last]] #two"
        let links = NoteLinks.scan(body, firstLine: 3)
        #expect(links.wikiLinks.map(\.target) == ["First", "Last"])
        #expect(links.wikiLinks.map(\.line) == [6, 63])
        #expect(links.tags == ["one", "two"])
        #expect(NoteLinks.scan("", firstLine: 1).wikiLinks.isEmpty)
        #expect(NoteLinks.scan("\n\n[[A]]", firstLine: 1).wikiLinks.map(\.line) == [3])
    }

    // MARK: - Links

    @Test func wikilinkVariants() throws {
        let parsed = try note("""
            ---
            title: Links
            ---
            See [[Target]], [[Target|alias]] and [[Other#Heading]].
            Also [[ Spaced Name #Part | Shown ]], ![[diagram.png]] and [[#Local heading]].
            | table | [[Piped\\|text]] |
            Not closed [[oops and [[Last]]
            """)
        #expect(parsed.wikilinks == ["Target", "Other", "Spaced Name", "diagram.png", "Piped", "Last"])
        let links = parsed.links.wikiLinks
        #expect(links.count == 7)
        #expect(links[1] == WikiLink(target: "Target", heading: nil, alias: "alias", isEmbed: false, line: 4))
        #expect(links[2].heading == "Heading")
        #expect(links[3] == WikiLink(target: "Spaced Name", heading: "Part", alias: "Shown", isEmbed: false, line: 5))
        #expect(links[4].isEmbed)
        #expect(links[5].alias == "text")
        #expect(links[6].line == 7)
    }

    @Test func markdownLinksKeepOnlyRelativeTargets() throws {
        let parsed = try note("""
            [a](notes/a.md) [b](../b.md#section "Title") [c](<with space.md>) ![img](img/p.png)
            [web](https://example.com) [mail](mailto:x@y.z) [anchor](#top) [proto](//cdn.x/y)
            [enc](my%20note.md?x=1) [nested [brackets]](n.md) [a](notes/a.md) \\[not](x.md)
            [parens](file_(1).md) `[code](code.md)`
            """)
        #expect(parsed.markdownLinks == [
            "notes/a.md", "../b.md", "with space.md", "img/p.png", "my note.md", "n.md", "file_(1).md",
        ])
        #expect(parsed.links.markdownLinks.first { $0.isImage }?.target == "img/p.png")
        #expect(parsed.links.markdownLinks.last?.line == 4)
        #expect(parsed.links.markdownLinks.count == 8)
    }

    // MARK: - Exact text

    @Test func textReproducesTheFileExactly() throws {
        let samples = [
            "",
            "no newline",
            "---\n---",
            "---\ntitle: a\n---",
            "\u{FEFF}no front matter\r\n",
            "---\r\ntitle: b\r\n...\r\n\r\nbody\r\n",
            "---\t \nx: 1\n---  \n# H\n",
        ]
        for sample in samples {
            #expect(try note(sample).text == sample, "\(sample.debugDescription)")
        }
    }

    // MARK: - Rendering new notes

    @Test func renderWritesTheExpectedText() {
        let created = Date(timeIntervalSince1970: 1_714_608_000)  // 2024-05-02T00:00:00Z
        let text = Note.render(title: "Call with Acme: pricing", tier: .projects, tags: ["#Sales", "acme"], created: created)
        #expect(text == """
            ---
            title: "Call with Acme: pricing"
            tier: projects
            tags: [sales, acme]
            created: 2024-05-02
            ---

            # Call with Acme: pricing

            """)
    }

    @Test func renderRoundTripsThroughTheParser() throws {
        let created = Date(timeIntervalSince1970: 1_714_608_000 + 86_399)
        let titles = [
            "Simple title", "Plan: Q3", "#1 priority", "- starts with dash", "yes", "null", "2024",
            "2024-05-01", "[bracketed]", "{braced}", "*bold*", "&anchor", "!tag", "%percent", "@handle",
            "`code`", "'quoted'", "\"double\"", "back\\slash", "a #b", "trailing colon:", "Café 日本語 ✓",
            "? question", "| pipe", "> folded", "C#", "~", "0x1F", "1:30",
        ]
        for (index, title) in titles.enumerated() {
            let tier = Tier.allCases[index % Tier.allCases.count]
            let tags = ["Alpha", "beta/gamma", "x:y", "yes", "1"]
            let text = Note.render(title: title, tier: tier, tags: tags, created: created)
            let parsed = try note(text, path: "notes/x.md")
            #expect(parsed.title == title, "title \(title)")
            #expect(parsed.tier == tier)
            #expect(parsed.frontMatter?.tags == ["alpha", "beta/gamma", "x:y", "yes", "1"], "tags for \(title)")
            #expect(parsed.frontMatter?.created == "2024-05-02")
        }
    }

    @Test func renderCleansUnusableTitles() throws {
        let created = Date(timeIntervalSince1970: 0)
        let parsed = try note(Note.render(title: "two\nlines\u{0}\tand  more", tier: .inbox, tags: [], created: created))
        #expect(parsed.title == "two lines and more")
        #expect(try note(Note.render(title: " \n ", tier: .inbox, tags: [], created: created)).title == "Untitled")
    }

    // MARK: - Slugs

    @Test func slugFoldsLatinDiacriticsAndKeepsOtherScripts() {
        #expect(Slug.make("Café Plan") == "cafe-plan")
        #expect(Slug.make("Straße Œuvre Ærø") == "strasse-oeuvre-aero")
        #expect(Slug.make("会議メモ 2024") == "会議メモ-2024")
        #expect(Slug.make("がぎぐ") == "がぎぐ")
        #expect(Slug.make("Привет мир") == "привет-мир")
        #expect(Slug.make("  --Hello,   World!--  ") == "hello-world")
        #expect(Slug.make("Don't Panic") == "dont-panic")
        #expect(Slug.make("Q3/Q4 plan (draft) #2") == "q3-q4-plan-draft-2")
    }

    @Test func slugIsNeverEmptyAndAtMostEightyBytes() {
        #expect(Slug.make("") == "untitled")
        #expect(Slug.make("!!! ??? ...") == "untitled")
        #expect(Slug.make("🎉🎉") == "untitled")
        let long = Slug.make(String(repeating: "word ", count: 40))
        #expect(long.utf8.count <= 80)
        #expect(!long.hasSuffix("-"))
        #expect(long.hasPrefix("word-word"))
        let japanese = Slug.make(String(repeating: "日", count: 40))  // 3 bytes each
        #expect(japanese == String(repeating: "日", count: 26))
    }

    @Test func uniqueFileNameSkipsTakenNames() {
        let taken: Set<String> = ["weekly-plan.md", "weekly-plan-2.md"]
        #expect(Slug.uniqueFileName(for: "Weekly Plan", existing: taken.contains) == "weekly-plan-3.md")
        #expect(Slug.uniqueFileName(for: "Fresh", existing: taken.contains) == "fresh.md")
    }

    // MARK: - Robustness

    @Test func pathologicalLinesScanInLinearTime() throws {
        let lines = [
            String(repeating: "[", count: 50_000),
            (1...300).map { String(repeating: "`", count: $0) }.joined(separator: " "),
            String(repeating: "[a](x \"", count: 10_000),
            String(repeating: "[a](<x", count: 10_000),
            String(repeating: "[a](x(", count: 5_000),
            String(repeating: "[[x", count: 20_000),
            String(repeating: "#a", count: 25_000),
        ]
        let start = Date()
        let parsed = try note(lines.joined(separator: "\n") + "\n[[End]] #end")
        #expect(Date().timeIntervalSince(start) < 10)
        #expect(parsed.wikilinks == ["End"])
        #expect(parsed.tags == ["a", "end"])
    }

    @Test func parseNeverCrashesOnRandomBytesOrMutatedNotes() {
        var random = SplitMix64(state: 0xC0FFEE)
        let valid = Array("""
            ---
            title: "Fuzz: target"
            tier: working
            tags: [a, b]
            created: 2024-05-01
            nested: {x: [1, 2, {y: z}]}
            ---
            # Heading #tag
            Text with [[Link|alias]] and [md](a.md) `code` #more.
            ```
            #hidden
            ```

            """.utf8)
        let tokens: [[UInt8]] = [
            "---\n", "...\n", "*a", "&a ", "[", "]", "{", "}", "\r\n", "\u{FEFF}", "#", "[[", "]]", "`", "```\n",
            ": ", "- ", "? ", "\"", "'", "|\n", ">\n", "\t", "!!int ", "%YAML 1.1\n", "\\", "<<: ", "1:2:3:4:5:6:7:8:9:10:11:12:13",
        ].map { Array($0.utf8) } + [[0x00], [0xFF], [0xC3], [0xE2, 0x82]]

        var parsedCount = 0
        var errorCount = 0
        for iteration in 0..<2_000 {
            var bytes: [UInt8]
            if iteration % 2 == 0 {
                // Pseudo-random bytes, biased towards YAML and Markdown punctuation.
                let alphabet = Array("-:#[]{}*&!|>'\"\n\r\t `~\\.,?%@abcXYZ019".utf8)
                bytes = (0..<random.below(300)).map { _ in
                    random.below(4) == 0 ? UInt8(truncatingIfNeeded: random.next()) : alphabet[random.below(alphabet.count)]
                }
                if random.below(2) == 0 { bytes = Array("---\n".utf8) + bytes }
            } else {
                bytes = valid
                for _ in 0..<(1 + random.below(4)) {
                    let position = random.below(bytes.count + 1)
                    switch random.below(3) {
                    case 0:
                        bytes.insert(contentsOf: tokens[random.below(tokens.count)], at: position)
                    case 1:
                        if position < bytes.count {
                            bytes.removeSubrange(position..<min(bytes.count, position + 1 + random.below(8)))
                        }
                    default:
                        if position < bytes.count { bytes[position] = UInt8(truncatingIfNeeded: random.next()) }
                    }
                }
            }
            let lineCount = bytes.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            do {
                let parsed = try NoteParser.parse(path: "memory/working/fuzz.md", data: Data(bytes))
                parsedCount += 1
                #expect(Array(parsed.text.utf8) == bytes, "iteration \(iteration) must round-trip")
            } catch {
                errorCount += 1
                #expect(error.line >= 1 && error.line <= lineCount, "iteration \(iteration): \(error)")
                #expect(!error.reason.isEmpty)
            }
        }
        // Both outcomes must be exercised, or the fuzzer is not probing anything.
        #expect(parsedCount > 100)
        #expect(errorCount > 100)
    }
}
