import Foundation
import Testing
@testable import CairnKit

/// `LinkText`: links written in each of Obsidian's "New link format" settings, and link paths replaced in place
/// without touching any other byte.
@Suite struct LinkTextTests {
    let files = ["Home.md", "Projects/Café/Plan.md", "Projects/Café/floor plan.png", "Archive/Plan.md", "Notes/Idea.md", "Idea.md"]
    var resolver: LinkResolver { LinkResolver(paths: files) }

    func path(_ target: String, from source: String, markdown: Bool = false, _ format: ObsidianSettings.LinkFormat) -> String {
        LinkText.path(to: target, from: source, markdown: markdown, format: format, resolver: resolver)
    }

    @Test func shortestIsTheNameWhenUniqueElseThePathFromTheRoot() {
        #expect(path("Projects/Café/floor plan.png", from: "Home.md", .shortest) == "floor plan.png")
        #expect(path("Projects/Café/floor plan.png", from: "Home.md", markdown: true, .shortest) == "floor%20plan.png")
        // Two notes are called Plan: the name alone is not written even where the tie-break would pick the right one.
        #expect(path("Projects/Café/Plan.md", from: "Home.md", .shortest) == "Projects/Café/Plan")
        #expect(path("Archive/Plan.md", from: "Home.md", markdown: true, .shortest) == "Archive/Plan.md")
    }

    @Test func relativeAndAbsoluteFormats() {
        #expect(path("Projects/Café/Plan.md", from: "Notes/Idea.md", .relative) == "../Projects/Café/Plan")
        #expect(path("Projects/Café/Plan.md", from: "Projects/Home.md", markdown: true, .relative) == "Café/Plan.md")
        #expect(path("Archive/Plan.md", from: "Notes/Idea.md", .absolute) == "Archive/Plan")
        // `Idea` from Notes/ would find the root's Idea.md first (a path from the root wins): written `./Idea`.
        #expect(path("Notes/Idea.md", from: "Notes/Other.md", .relative) == "./Idea")
    }

    @Test func relativePaths() {
        #expect(LinkText.relative("a/b/c.md", from: "a/x") == "../b/c.md")
        #expect(LinkText.relative("c.md", from: "a/x") == "../../c.md")
        #expect(LinkText.relative("a/c.md", from: "") == "a/c.md")
        #expect(LinkText.relative("a/c.md", from: "a") == "c.md")
    }

    @Test func encodingKeepsLettersAndEncodesWhatEndsADestination() {
        #expect(LinkText.encoded("30 Resources/Thinking, Fast (2011).md") == "30%20Resources/Thinking,%20Fast%20%282011%29.md")
        #expect(LinkText.encoded("Menü 100%.md") == "Menü%20100%25.md")
    }

    @Test func applyReplacesColumnsAndKeepsEveryOtherByte() {
        let text = "---\r\nowner: \"[[Renée]]\"\r\n---\r\n[[Renée|R]] and [[Renée#x]] ünd [[Renée]]\r\nlast line without newline"
        let edits = [
            LinkText.Edit(line: 2, columns: 10..<15, text: "Renée Dubois"),
            LinkText.Edit(line: 4, columns: 2..<7, text: "B"),
            LinkText.Edit(line: 4, columns: 18..<23, text: "C"),
            LinkText.Edit(line: 4, columns: 34..<39, text: "D"),
        ]
        let out = String(decoding: LinkText.apply(edits, to: Data(text.utf8)), as: UTF8.self)
        #expect(out == "---\r\nowner: \"[[Renée Dubois]]\"\r\n---\r\n[[B|R]] and [[C#x]] ünd [[D]]\r\nlast line without newline")
    }

    @Test func applyCountsAByteOrderMarkOnTheFirstLine() {
        let data = Data([0xEF, 0xBB, 0xBF] + Array("[[a]]\n".utf8))
        let note = NoteParser.lenient(path: "n.md", data: data)
        let link = try! #require(note.links.wikiLinks.first)
        let out = LinkText.apply([LinkText.Edit(line: link.line, columns: link.columns!, text: "b")], to: data)
        #expect(out == Data([0xEF, 0xBB, 0xBF] + Array("[[b]]\n".utf8)))
    }

    @Test func scannerColumnsCoverTheTargetOnly() {
        let links = NoteLinks.scan("x ![[ Folder/Note #Head | shown ]] [[a\\|b]] [t](<My note.md#h>) [u](a%20b.md?x)")
        #expect(links.wikiLinks.map(\.columns) == [6..<17, 37..<38])
        #expect(links.markdownLinks.map(\.columns) == [49..<59, 68..<76])
        #expect(links.markdownLinks.map(\.angleBrackets) == [true, false])
    }
}
