import CairnGit
import Foundation
import Testing
@testable import CairnKit

/// Links cairn writes itself (the gc pointer, the digest's file list, mail attachments) follow the vault's
/// `.obsidian/app.json`: `useMarkdownLinks` and `newLinkFormat`, as Obsidian writes a new link.
@Suite struct ObsidianNewLinksTests {
    static let files = ["Projects/Plan.md", "Archive/Plan.md", "Notes/Unique note.md", "Notes/assets/chart.png"]
    let resolver = LinkResolver(paths: Self.files)

    func settings(markdown: Bool = false, format: ObsidianSettings.LinkFormat = .shortest) -> ObsidianSettings {
        var s = ObsidianSettings()
        s.useMarkdownLinks = markdown
        s.newLinkFormat = format
        return s
    }

    @Test func newLinksFollowTheLinkFormatAndStyle() {
        let from = "Notes/Daily/today.md"
        // Shortest: the name when only one file has it, else the path from the root.
        #expect(settings().newLink(to: "Notes/Unique note.md", from: from, resolver: resolver) == "[[Unique note]]")
        #expect(settings().newLink(to: "Archive/Plan.md", from: from, resolver: resolver) == "[[Archive/Plan]]")
        #expect(settings().newLink(to: "Notes/assets/chart.png", from: from, embed: true, resolver: resolver) == "![[chart.png]]")
        #expect(settings().newLink(to: "Notes/Unique note.md", from: from, display: "that note", resolver: resolver) == "[[Unique note|that note]]")
        // Markdown links keep `.md`, are percent-encoded and get the name as display text.
        #expect(settings(markdown: true).newLink(to: "Notes/Unique note.md", from: from, resolver: resolver) == "[Unique note](Unique%20note.md)")
        #expect(settings(markdown: true, format: .relative).newLink(to: "Notes/Unique note.md", from: from, resolver: resolver)
                == "[Unique note](../Unique%20note.md)")
        #expect(settings(markdown: true, format: .absolute).newLink(to: "Notes/assets/chart.png", from: from, embed: true, resolver: resolver)
                == "![chart.png](Notes/assets/chart.png)")
        // Properties hold wikilinks whatever the style.
        #expect(settings(markdown: true, format: .absolute).newLink(to: "Projects/Plan.md", from: from, wikilink: true, resolver: resolver)
                == "[[Projects/Plan]]")
    }

    @Test func theSettingsComeFromAppJSON() throws {
        let f = try VaultFixture()
        try f.write(".obsidian/app.json", #"{"useMarkdownLinks": true, "newLinkFormat": "relative", "attachmentFolderPath": "./files"}"#)
        let s = ObsidianSettings.read(root: f.root)
        #expect(s.useMarkdownLinks && s.newLinkFormat == .relative && s.attachmentFolderIsSet)
        #expect(s.attachmentFolder(forNote: "inbox/mail/2026/03/x.md") == "inbox/mail/2026/03/files")
        try f.write(".obsidian/app.json", #"{"newLinkFormat": "shortest"}"#)
        #expect(!ObsidianSettings.read(root: f.root).attachmentFolderIsSet)
    }

    func base(_ f: VaultFixture) throws -> BaseSnapshot {
        let vault = try f.vault()
        let head = try #require(try vault.head())
        return BaseSnapshot(repository: vault.repository, commit: head, tree: try vault.repository.commit(head).tree)
    }

    @Test func gcPointsToTheKeptNoteInTheVaultsLinkStyle() throws {
        let f = try VaultFixture()
        try FileManager.default.removeItem(atPath: f.root + "/memory/working/this-week.md")
        let paragraph = String(repeating: "The supplier review compares delivery times and invoice accuracy for every roaster. ", count: 3)
        try f.write("memory/knowledge/supplier review.md", "# Supplier review\n\n\(paragraph) Extra closing line here.\n")
        try f.write("memory/projects/supplier-review-copy.md", "# Supplier review\n\n\(paragraph)\n")
        try f.snapshot()
        let outcome = try BuiltinAgents.garbageCollect(base: try base(f), policy: Policy(), now: f.now, reads: ["memory/**"],
                                                       writes: ["memory/**"], settings: settings(markdown: true, format: .relative))
        let archived = "memory/knowledge/archive/2026/supplier-review-copy.md"
        let text = try #require(outcome.edits.first { $0.path == archived }?.content.map { String(decoding: $0, as: UTF8.self) })
        #expect(text.contains("near-duplicate of [supplier review](../../supplier%20review.md) (`memory/knowledge/supplier review.md`"), "\(text)")
    }

    @Test func theDigestLinksChangedFilesInTheVaultsLinkStyle() throws {
        let f = try VaultFixture()
        try f.write("memory/projects/Road map.md", "# Road map\n")
        try f.snapshot()
        try f.write("memory/knowledge/Road map.md", "# Another road map\n")
        try f.snapshot()
        let markdown = try BuiltinAgents.digest(base: try base(f), now: f.now, settings: settings(markdown: true))
        let text = String(decoding: try #require(markdown.edits.first?.content), as: UTF8.self)
        // Two files share the name: each is linked by its path, the way Obsidian writes a shortest link then.
        #expect(text.contains("- [Road map](memory/knowledge/Road%20map.md) (`memory/knowledge/Road map.md`)"), "\(text)")
        #expect(text.contains("- [Road map](memory/projects/Road%20map.md) (`memory/projects/Road map.md`)"), "\(text)")
        let wiki = try BuiltinAgents.digest(base: try base(f), now: f.now)
        #expect(String(decoding: try #require(wiki.edits.first?.content), as: UTF8.self)
                    .contains("- [[memory/projects/Road map]] (`memory/projects/Road map.md`)"))
    }
}
