import Foundation
import Testing
@testable import CairnKit

/// `LinkResolver`: each rule of Obsidian's link resolution, with the help page it comes from.
@Suite struct LinkResolverTests {
    /// A small vault: notes, attachments of several types, folders that repeat a name.
    let files = [
        "Home.md",
        "Physics/Three laws of motion.md",
        "Attachments/Engelbart.jpg",
        "Attachments/og-image.png",
        "Attachments/Report 2026.pdf",
        "Albums.base",
        "Board.canvas",
        "de/Web Clipper/Vorlagen.md",
        "en/Web Clipper/Templates.md",
        "en/Settings.md",
        "en/Guide/Settings.md",
        "en/Guide/Page.md",
        "de/Settings.md",
        "Archive/Old/Settings.md",
        "Notes/v1.2 release.md",
        "Notes/README",
    ]

    func resolver(aliases: [String: [String]] = [:]) -> LinkResolver {
        LinkResolver(paths: files, aliases: aliases)
    }

    func resolve(_ link: String, from source: String = "Home.md", markdown: Bool = false) -> String? {
        resolver(aliases: ["Physics/Three laws of motion.md": ["The 3 laws"]]).resolve(link, from: source, markdown: markdown)?.path
    }

    /// What `cairn links NAME` offers when a name fits several files: every file rule 5 matches, before the tie-break.
    @Test func filesNamedListsEveryFileARule5NameMatches() {
        let r = resolver()
        #expect(r.filesNamed("Settings") == ["Archive/Old/Settings.md", "de/Settings.md", "en/Guide/Settings.md", "en/Settings.md"])
        #expect(r.filesNamed("Guide/settings") == ["en/Guide/Settings.md"])
        #expect(r.filesNamed(" og-image.PNG ") == ["Attachments/og-image.png"])
        #expect(r.filesNamed("og-image").isEmpty, "a name without extension means a note")
        #expect(r.filesNamed("nowhere.png").isEmpty)
    }

    // "Internal links": links to any of the accepted file formats need the extension.
    @Test func attachmentsResolveByFileNameWithExtension() {
        #expect(resolve("Engelbart.jpg") == "Attachments/Engelbart.jpg")
        #expect(resolve("og-image.png") == "Attachments/og-image.png")
        #expect(resolve("Albums.base") == "Albums.base")
        #expect(resolve("Board.canvas") == "Board.canvas")
        #expect(resolve("Report 2026.pdf") == "Attachments/Report 2026.pdf")
        #expect(resolve("Engelbart") == nil, "a name without extension means a note, not the image")
    }

    // "Internal links": `[[Three laws of motion]]` and `[[Three laws of motion.md]]` are equivalent.
    @Test func notesResolveByNameWithOrWithoutMdAndIgnoringCase() {
        #expect(resolve("Three laws of motion") == "Physics/Three laws of motion.md")
        #expect(resolve("Three laws of motion.md") == "Physics/Three laws of motion.md")
        #expect(resolve("three LAWS of motion") == "Physics/Three laws of motion.md")
        #expect(resolve("v1.2 release") == "Notes/v1.2 release.md", "a dot in a note's name is not an extension")
        #expect(resolve("README") == "Notes/README", "a file without extension is still found by its name")
    }

    // "Internal links": folder paths start at the vault root; a shorter path matches files whose path ends with it.
    @Test func pathsResolveFromTheRootOrAsASuffix() {
        #expect(resolve("Physics/Three laws of motion") == "Physics/Three laws of motion.md")
        #expect(resolve("/Physics/Three laws of motion.md") == "Physics/Three laws of motion.md")
        #expect(resolve("Web Clipper/Vorlagen") == "de/Web Clipper/Vorlagen.md")
        #expect(resolve("web clipper/templates") == "en/Web Clipper/Templates.md")
        #expect(resolve("Clipper/Vorlagen") == nil, "a suffix is compared whole folder by whole folder")
        #expect(resolve("Chemistry/Three laws of motion") == nil, "the folders of the link must match")
    }

    @Test func relativePathsResolveOnlyFromTheLinkingNote() {
        #expect(resolve("../Settings", from: "en/Guide/Page.md") == "en/Settings.md")
        #expect(resolve("./Settings.md", from: "en/Guide/Page.md") == "en/Guide/Settings.md")
        #expect(resolve("./Home", from: "en/Guide/Page.md") == nil, "an explicit ./ path does not fall back to a name")
        #expect(resolve("../../../Home", from: "en/Guide/Page.md") == nil, "climbing out of the vault resolves nothing")
    }

    // Markdown links ("Internal links"): percent-decoded before they get here, relative to the note first.
    @Test func markdownLinksTryTheNotesFolderFirst() {
        #expect(resolve("Settings.md", from: "en/Guide/Page.md", markdown: true) == "en/Guide/Settings.md")
        #expect(resolve("Guide/Settings.md", from: "en/Page.md", markdown: true) == "en/Guide/Settings.md")
        #expect(resolve("Physics/Three laws of motion", markdown: true) == "Physics/Three laws of motion.md")
        #expect(resolve("Attachments/og-image.png", from: "en/Guide/Page.md", markdown: true) == "Attachments/og-image.png")
    }

    // The tie-break (rule 6 of `LinkResolver`): own folder, most shared folders, fewest folders, byte order.
    @Test func ambiguousNamesPreferTheLinkingNotesFolderThenTheClosestToTheRoot() {
        #expect(resolve("Settings", from: "en/Guide/Page.md") == "en/Guide/Settings.md", "same folder")
        #expect(resolve("Settings", from: "en/Other/Note.md") == "en/Settings.md", "most shared folders, then fewest")
        #expect(resolve("Settings", from: "de/Note.md") == "de/Settings.md", "same folder beats byte order")
        #expect(resolve("Settings", from: "Home.md") == "de/Settings.md", "fewest folders, then byte order")
        #expect(resolve("Settings", from: "Archive/Old/x.md") == "Archive/Old/Settings.md")
        let found = resolver().resolve("Settings", from: "Home.md")
        #expect(found?.ambiguous == true)
        #expect(resolver().resolve("Three laws of motion", from: "Home.md")?.ambiguous == false)
    }

    // "Aliases": Obsidian writes `[[Note|Alias]]`; a bare alias is accepted too, and never shadows a file.
    @Test func aliasesResolveLastAndNeverShadowAFile() {
        #expect(resolve("The 3 laws") == "Physics/Three laws of motion.md")
        #expect(resolve("the 3 LAWS") == "Physics/Three laws of motion.md")
        let r = LinkResolver(paths: files, aliases: ["Home.md": ["Settings"]])
        #expect(r.resolve("Settings", from: "de/Note.md")?.path == "de/Settings.md")
        #expect(r.resolve("Settings", from: "de/Note.md")?.match == .name)
    }

    @Test func anEmptyPathIsTheNoteItselfAndMissingNamesAreUnresolved() {
        #expect(resolve("", from: "en/Guide/Page.md") == "en/Guide/Page.md")
        #expect(resolve("Not written yet") == nil)
        #expect(resolve("Engelbart.png") == nil)
    }

    // "Internal links", "Link to a heading" and "Link to a block": what `#…` may point at.
    @Test func anchorsAreHeadingsAndBlockIdentifiersOutsideCode() {
        let body = """
        # Three laws of motion
        ## First law: inertia
        Text. ^quote-1
        ### How large can a vault be?
        > quoted

        ^block-Two
        ![[image.png]]^after-embed
        ```
        ## Not a heading
        text ^not-a-block
        ```
        x^2
        #notaheading
        """
        let anchors = NoteAnchors.scan(body)
        #expect(anchors.headings == ["three laws of motion", "first law inertia", "how large can a vault be"])
        #expect(anchors.blocks == ["quote-1", "block-two", "after-embed"])
        #expect(NoteAnchors.normalizeHeading("First law: Inertia") == NoteAnchors.normalizeHeading("first law inertia"))
        #expect(NoteAnchors.normalizeHeading("Über  größe") == "über größe")
    }

    /// The shortcut that skips trimming an alias never skips one that trimming would change.
    @Test func aliasesSkipTrimmingOnlyWhenItChangesNothing() {
        let edges = ["Acme", " Acme", "Acme ", "\tAcme", "Acme\t", "\u{00A0}Acme", "Acme\u{3000}", "\u{2009}A", "A\u{202F}",
                     "Café", "é", "Acme\n", "\nAcme", "", " ", "x", "日本", "A B"]
        var random = SplitMix64(state: 0x7121)
        let pieces = ["a", "Z", " ", "\t", "\u{00A0}", "\u{3000}", "é", "\n", "-", "日"]
        var texts = edges
        for _ in 0..<2000 { texts.append((0..<Int.random(in: 0...4, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()) }
        for text in texts where !LinkResolver.needsTrim(text) {
            #expect(text.trimmingCharacters(in: .whitespaces) == text, "\(Array(text.unicodeScalars))")
        }
        #expect(!LinkResolver.needsTrim("Acme") && LinkResolver.needsTrim(" Acme") && LinkResolver.needsTrim("Acme\u{00A0}"))
        let resolver = LinkResolver(paths: ["a.md"], aliases: ["a.md": ["\u{00A0}Widget\t", "Acme"]])
        #expect(resolver.resolve("widget", from: "b.md")?.path == "a.md")
        #expect(resolver.resolve("ACME", from: "b.md")?.path == "a.md")
    }
}
