import Foundation
import Testing
@testable import CairnKit

/// `Vault.links(note:)` parses only the notes whose bytes may hold a link to the note; it must find what resolving
/// every link of every note finds, however the link is spelled.
@Suite struct BacklinksTests {
    /// A vault whose links reach their notes in every way `LinkResolver` allows, several of them without spelling
    /// the note's name byte for byte.
    func edgeVault() throws -> VaultFixture {
        let f = try VaultFixture()
        try f.write("Acme.md", "---\ntitle: Acme Corp\naliases: [ACME Inc, Kelvin Co]\n---\n# Acme\n## Pricing\nSee [[Proj]] and [[Nowhere]].\n")
        try f.write("0-first.md", "---\naliases: [ACME Inc]\n---\nThe first note with that alias wins.\n")
        try f.write("Projects.md", "---\naliases: [Proj]\n---\n# Projects\n## Goals\n")
        try f.write("Projects/Sub/Deep.md", "Up: [up](..) and [[../]]; [[Projects#Goals]]\n")
        try f.write("R&D.md", "# R&D\n")
        try f.write("Café.md", "# Café\n")
        try f.write("Three laws of motion.md", "# Three laws\n")
        try f.write("Board.canvas", #"{"nodes":[{"id":"t1","type":"text","text":"[[Acme]]"}],"edges":[]}"#)
        try f.write("logo.png", "png")
        try f.write("notes/percent.md", "[x](%41cme.md) and [3](Three%20laws%20of%20motion.md#Three%20laws)\n")
        try f.write("notes/kelvin.md", "[[\u{212A}elvin Co]]\n")
        try f.write("notes/escaped.md", "[rd](R\\&D.md) and | [[Acme\\|A]] |\n")
        try f.write("notes/nfd.md", "[[Cafe\u{301}]] and [[CAFÉ]]\n")
        try f.write("notes/names.md", "---\nrelated: \"[[acme]]\"\n---\n[[Acme#Pricing]], ![[logo.png]], [[Acme Corp|display]], [[ACME Inc]], [[Board.canvas]]\n")
        try f.write("notes/none.md", "Nothing about that company here, nor Projects (only the word).\n")
        return f
    }

    /// What `links(note:)` must give: every link of every note resolved with the resolver of the whole vault.
    func reference(_ vault: Vault, _ path: String) throws -> (outgoing: [String], backlinks: [String]) {
        let graph = try vault.readLinkGraph(validating: false)
        func ordered(_ links: [Vault.CheckedLink]) -> [Vault.CheckedLink] {
            links.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }.map(\.element)
        }
        let outgoing = ordered(graph.facts[path]?.links ?? []).map {
            "\($0.line) \($0.target) -> \(graph.resolver.resolve($0.target, from: path, markdown: $0.markdown)?.path ?? "-")"
        }
        var backlinks: [String] = []
        for source in graph.linkNotes {
            for link in ordered(graph.facts[source]?.links ?? []) where !link.target.isEmpty {
                if graph.resolver.resolve(link.target, from: source, markdown: link.markdown)?.path == path {
                    backlinks.append("\(source):\(link.line) \(link.target)")
                }
            }
        }
        return (outgoing, backlinks)
    }

    @Test func backlinksOfEveryFileMatchResolvingEveryLinkOfTheVault() throws {
        let f = try edgeVault()
        let vault = try f.vault()
        let graph = try vault.readLinkGraph(validating: false)
        var checked = 0
        for path in graph.files {
            let report = try vault.links(note: path)
            let expected = try reference(vault, path)
            #expect(report.outgoing.map { "\($0.line) \($0.target) -> \($0.resolved ?? "-")" } == expected.outgoing, "\(path)")
            #expect(report.backlinks.map { "\($0.source):\($0.line) \($0.target)" } == expected.backlinks, "\(path)")
            checked += 1
        }
        #expect(checked > 20)
    }

    @Test func linksSpelledOtherwiseAreFound() throws {
        let f = try edgeVault()
        let vault = try f.vault()
        func back(_ note: String) throws -> [String] { try vault.links(note: note).backlinks.map { "\($0.source):\($0.line) \($0.target)" } }
        #expect(try back("Acme.md") == [
            "notes/escaped.md:1 Acme",
            "notes/kelvin.md:1 \u{212A}elvin Co",
            "notes/names.md:2 acme",
            "notes/names.md:4 Acme",
            "notes/names.md:4 Acme Corp",
            "notes/percent.md:1 Acme.md",
        ])
        #expect(try back("Projects.md") == ["Acme.md:7 Proj", "Projects/Sub/Deep.md:1 ../", "Projects/Sub/Deep.md:1 Projects", "Projects/Sub/Deep.md:1 .."])
        #expect(try back("R&D.md") == ["notes/escaped.md:1 R&D.md"])
        #expect(try back("Café.md") == ["notes/nfd.md:1 Cafe\u{301}", "notes/nfd.md:1 CAFÉ"])
        #expect(try back("0-first.md") == ["notes/names.md:4 ACME Inc"])
        #expect(try back("Board.canvas") == ["notes/names.md:4 Board.canvas"])
        #expect(try back("Three laws of motion.md") == ["notes/percent.md:1 Three laws of motion.md"])
    }

    @Test func theByteTestTurnsDownOnlyNotesThatCannotLink() {
        let needles = LinkNeedles(names: ["Acme", "Acme Corp"], target: "Clients/Acme.md")
        func may(_ text: String) -> Bool { needles.mayLink(Data(text.utf8)) }
        #expect(!may("Nothing here about them."))
        #expect(!may("an acm and a corp"))
        #expect(may("see [[ACME]]"))
        #expect(may("see [x](%61cme.md)"), "a percent-encoded letter")
        #expect(may("see [x](A\\cme.md) or \\[x\\]"), "a Markdown escape")
        #expect(may("[[\u{212A}elvin]]"), "a character canonically equal to an ASCII one")
        #expect(!may("50% off"), "a percent sign alone")
        #expect(needles.mayLink(from: "clients/acme/notes/x.md"), "a `..` link from inside the folder named like the note")
        #expect(!needles.mayLink(from: "clients/other.md"))
        // A name of no ASCII letters cannot be searched for: every note is read.
        let cjk = LinkNeedles(names: ["日本"], target: "日本.md")
        #expect(cjk.mayLink(Data("nothing".utf8)))
        // The base letter of a composed character may be written apart from its accent: it is not searched for.
        let cafe = LinkNeedles(names: ["Café"], target: "Café.md")
        #expect(cafe.mayLink(Data("[[Cafe\u{301}]]".utf8)))
        #expect(!cafe.mayLink(Data("[[Tea]]".utf8)))
    }
}
