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

    /// Every way `findNote` can answer (a path, a path or file name, an alias, a title, ambiguity, no such note), on a
    /// vault with edits, a deletion, a link, a binary and an oversized note: found without an index, it gives what the
    /// index gives, and no index file is made.
    @Test func findingANoteWithoutAnIndexAnswersAsTheIndexDoesAndBuildsNone() throws {
        let f = try VaultFixture()
        try f.setMaxFileMiB(1)
        try f.write("memory/projects/acme.md", "---\ntitle: Acme Corp\naliases: [ACME Inc, Shared alias]\n---\n# Heading\n")
        try f.write("memory/knowledge/Acme.md", "# Acme knowledge\n")  // file name ties with projects/acme.md
        try f.write("memory/knowledge/plan.md", "# The plan\n\nBody.\n")
        try f.write("memory/knowledge/weekly-plan.md", "No heading, the file name is the title.\n")
        try f.write("memory/knowledge/other.md", "---\naliases: [Shared alias, acme corp]\n---\nText.\n")
        try f.write("memory/knowledge/plan-notes.markdown", "# Acme\n")  // a title that is another note's file name
        try f.write("memory/knowledge/notes.txt", "plain text\n")
        try f.write("memory/knowledge/Caf\u{E9}.md", "# Caf\u{E9} (composed)\n")
        try f.write("memory/knowledge/gone.md", "# Gone soon\n")
        try f.write("memory/knowledge/binary.md", "# Binary\n\u{0}\n")
        try f.write("memory/knowledge/big.md", "# Big\n" + String(repeating: "axolotl ", count: 150_000))
        try f.write("memory/knowledge/logo.png", "not a note")
        try f.forceSnapshot()
        try f.write("inbox/new-note.md", "---\ntitle: Fresh title\n---\nUncommitted.\n")
        try f.write("memory/knowledge/plan.md", "# The revised plan\n")
        try FileManager.default.removeItem(atPath: f.root + "/memory/knowledge/gone.md")
        try FileManager.default.createSymbolicLink(atPath: f.root + "/memory/knowledge/linked.md", withDestinationPath: "plan.md")
        let names = [
            "memory/projects/acme.md", "./memory/projects/acme.md", "  memory/knowledge/plan.md ", "memory/projects/acme",
            "acme", "ACME", "Acme.md", "memory/knowledge/acme", "acme inc", "Acme Corp", "shared alias", "heading",
            "The revised plan", "The plan", "plan", "weekly plan", "weekly-plan", "notes", "notes.txt", "plan-notes",
            "caf\u{E9}", "cafe\u{301}", "Caf\u{E9} (composed)", "gone", "Gone soon", "binary", "memory/knowledge/binary.md",
            "big", "logo", "logo.png", "linked", "memory/knowledge/linked.md", "new-note", "fresh title", "inbox/new-note.md",
            "no such note", "",
        ]
        func answer(_ find: (String) throws -> (path: String, title: String), _ name: String) -> String {
            do {
                let found = try find(name)
                return "\(found.path) | \(found.title)"
            } catch {
                return "error: \(error)"
            }
        }
        let vault = try f.vault()
        let index = vault.searchIndex
        let files = try vault.workingTreeFiles(tree: try vault.head().map { try vault.repository.commit($0).tree }).map(\.path)
        let withoutIndex = names.map { name in answer({ try vault.findNote($0, files: files) }, name) }
        #expect(!FileManager.default.fileExists(atPath: index.path), "finding a note built the index")
        #expect(!FileManager.default.fileExists(atPath: (index.path as NSString).deletingLastPathComponent + "/search.sqlite-wal"))
        // `links` itself, by path, name and title, builds none either.
        _ = try vault.links(note: "memory/projects/acme.md")
        _ = try vault.links(note: "Fresh title")
        _ = try vault.links(note: "memory/knowledge/logo.png")
        #expect(!FileManager.default.fileExists(atPath: index.path), "links built the index")

        let withIndex = names.map { name in answer({ try index.findNote($0) }, name) }
        #expect(FileManager.default.fileExists(atPath: index.path))
        for (i, name) in names.enumerated() {
            #expect(withoutIndex[i] == withIndex[i], "\(name)")
        }
        // The answers cover every case: found by path, name, alias and title, ambiguous, and not found.
        #expect(withIndex[0] == "memory/projects/acme.md | Acme Corp")
        #expect(withIndex[4].hasPrefix("error: ") && withIndex[4].contains("memory/knowledge/Acme.md"))
        #expect(withIndex[8] == "memory/projects/acme.md | Acme Corp")
        #expect(withIndex[11].hasPrefix("error: "))  // a heading after a front matter title names nothing
        #expect(withIndex[12] == "memory/knowledge/plan.md | The revised plan")
        #expect(withIndex[15] == "memory/knowledge/weekly-plan.md | weekly plan")
        #expect(withIndex[33] == "inbox/new-note.md | Fresh title")
        #expect(withIndex.filter { $0.hasPrefix("error: ") }.count >= 8)
        // With an index present, `links` uses it (and keeps it up to date).
        #expect(try vault.links(note: "fresh title").path == "inbox/new-note.md")
    }
}
