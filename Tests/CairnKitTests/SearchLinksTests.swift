import Foundation
import Testing
@testable import CairnKit

@Suite struct SearchLinksTests {
    func linkedVault() throws -> VaultFixture {
        let f = try VaultFixture()
        try f.write("memory/projects/acme.md", """
            ---
            title: Acme Corp
            aliases: [ACME]
            ---

            Talks with [[ratesheet]] and [[Nowhere Note]].
            See [the plan](../knowledge/plan.md) and ![logo](logo.png).
            Also [[acme-contacts#People|contacts]] and [missing](gone.md).
            """)
        try f.write("memory/knowledge/ratesheet.md", "---\ntitle: Rate sheet model\n---\n\nUsed by [[ACME]] and [[Acme Corp]].\n")
        try f.write("memory/knowledge/plan.md", "# The plan\n\nBack to [acme](../projects/acme.md).\n")
        try f.write("memory/projects/acme-contacts.md", "Contacts.\n")
        try f.write("memory/projects/logo.png", "not really a png\n")
        try f.snapshot()
        return f
    }

    @Test func outgoingLinksResolveByNameTitleAliasAndRelativePath() throws {
        let f = try linkedVault()
        let report = try f.vault().links(note: "memory/projects/acme.md")
        #expect(report.title == "Acme Corp")
        let resolved = report.outgoing.map { "\($0.line) \($0.target) -> \($0.resolved ?? "BROKEN")" }
        #expect(resolved == [
            "6 ratesheet -> memory/knowledge/ratesheet.md",
            "6 Nowhere Note -> BROKEN",
            "7 ../knowledge/plan.md -> memory/knowledge/plan.md",
            "7 logo.png -> memory/projects/logo.png",
            "8 acme-contacts -> memory/projects/acme-contacts.md",
            "8 gone.md -> BROKEN",
        ])
    }

    @Test func backlinksComeFromWikilinksAndMarkdownLinks() throws {
        let f = try linkedVault()
        let vault = try f.vault()
        // A note name works as well as a path.
        let report = try vault.links(note: "acme")
        #expect(report.path == "memory/projects/acme.md")
        #expect(report.backlinks.map { "\($0.source):\($0.line) \($0.target)" } == [
            "memory/knowledge/plan.md:3 ../projects/acme.md",
            "memory/knowledge/ratesheet.md:5 ACME",
            "memory/knowledge/ratesheet.md:5 Acme Corp",
        ])
        #expect(try vault.links(note: "Rate Sheet Model").path == "memory/knowledge/ratesheet.md")
        #expect(throws: SearchError.noteNotFound("no-such")) { try vault.links(note: "no-such") }
    }

    @Test func backlinksFollowEditsAndDeletes() throws {
        let f = try linkedVault()
        let vault = try f.vault()
        #expect(try vault.links(note: "memory/knowledge/ratesheet.md").backlinks.count == 1)
        try f.write("inbox/new.md", "more on [[Ratesheet]]\n")  // uncommitted: still counted
        #expect(try vault.links(note: "memory/knowledge/ratesheet.md").backlinks.map(\.source) == ["inbox/new.md", "memory/projects/acme.md"])
        try FileManager.default.removeItem(atPath: f.root + "/memory/projects/acme.md")
        try f.snapshot()
        #expect(try vault.links(note: "memory/knowledge/ratesheet.md").backlinks.map(\.source) == ["inbox/new.md"])
    }

    /// Backlinks resolve with the resolver `cairn doctor` uses: path suffixes, `%20` Markdown links, embeds with a
    /// heading, links in properties, and links to attachments — every link doctor counts as leading to the file.
    @Test func backlinksResolveAsDoctorDoes() throws {
        let f = try VaultFixture()
        try f.write("Projects/Web Clipper/Vorlagen.md", "# Vorlagen\n\n## Intro\nSee [[#Intro]] and ![[Banner.png]].\n")
        try f.write("Projects/Web Clipper/Banner.png", "not really a png\n")
        try f.write("Notes/suffix.md", "Templates: [[Web Clipper/Vorlagen]]\n")
        try f.write("Notes/encoded.md", "Templates: [v](../Projects/Web%20Clipper/Vorlagen.md)\n")
        try f.write("Notes/property.md", "---\nrelated: \"[[vorlagen]]\"\n---\nNothing in the body.\n")
        try f.write("Notes/embed.md", "Intro: ![[Vorlagen#Intro|intro]] and [[Banner.png]]\n")
        try f.write("Notes/elsewhere.md", "Not it: [[Other/Vorlagen]] and [[Vorlagen.png]]\n")
        _ = try f.snapshot()
        let vault = try f.vault()
        let report = try vault.links(note: "Vorlagen")
        #expect(report.path == "Projects/Web Clipper/Vorlagen.md")
        #expect(report.backlinks.map { "\($0.source):\($0.line) \($0.target)" } == [
            "Notes/embed.md:1 Vorlagen",
            "Notes/encoded.md:1 ../Projects/Web Clipper/Vorlagen.md",
            "Notes/property.md:2 vorlagen",
            "Notes/suffix.md:1 Web Clipper/Vorlagen",
        ], "\(report.backlinks)")
        // `[[#Intro]]` is the note itself, not a link out.
        #expect(report.outgoing.map { "\($0.target) -> \($0.resolved ?? "BROKEN")" } == ["Banner.png -> Projects/Web Clipper/Banner.png"])
        // An attachment has backlinks too (and no links of its own).
        let image = try vault.links(note: "Projects/Web Clipper/Banner.png")
        #expect(image.backlinks.map(\.source) == ["Notes/embed.md", "Projects/Web Clipper/Vorlagen.md"])
        #expect(image.outgoing.isEmpty)
        // The same links doctor resolves: the two links elsewhere lead to files that do not exist.
        #expect(try vault.checkLinks().unresolved.filter { $0.path.hasPrefix("Notes/") }.map(\.link) == ["[[Other/Vorlagen]]", "[[Vorlagen.png]]"])
    }

    /// A link to a note not written yet is normal in Obsidian ("unresolved"): doctor counts them, warns about none.
    @Test func doctorCountsUnresolvedLinksAndStaysHealthy() throws {
        let f = try linkedVault()
        let vault = try f.vault()
        let report = vault.doctor(now: f.now)
        // Only the link to a heading that is not there is a warning.
        #expect(report.findings.filter { $0.message.contains("link") }.map(\.description) == [
            "warning: memory/projects/acme.md:8: link [[acme-contacts#People|contacts]] leads to memory/projects/acme-contacts.md, which has no such heading",
        ])
        #expect(report.links?.unresolved == 2, "[[Nowhere Note]] and (gone.md): \(String(describing: report.links))")
        #expect(report.healthy, "\(report.findings)")
        let listed = try vault.checkLinks().unresolved.map(\.description)
        #expect(listed == [
            "memory/projects/acme.md:6: unresolved link [[Nowhere Note]]: no file has that name or path",
            "memory/projects/acme.md:8: unresolved link (gone.md): no file has that name or path",
        ])
        try f.write("memory/projects/gone.md", "now it exists\n")
        #expect(vault.doctor(now: f.now).links?.unresolved == 1)
    }
}
