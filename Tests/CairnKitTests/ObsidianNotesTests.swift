import Foundation
import Testing
@testable import CairnKit

/// Notes as Obsidian reads them: tags and their keys, templates, front matter Obsidian tolerates.
@Suite struct ObsidianNotesTests {
    // "Tags": nested tags are found by their parents.
    @Test func aNestedTagIsFoundByItsParent() throws {
        let f = try VaultFixture()
        try f.write("memory/knowledge/nested.md", "# Nested\n\nFiled under #area/sub and #areal.\n")
        try f.write("memory/knowledge/deeper.md", "---\ntags: [area/sub/deep]\n---\n# Deeper\n")
        try f.write("memory/knowledge/other.md", "# Other\n\n#areas only\n")
        try f.snapshot()
        let vault = try f.vault()
        #expect(Set(try vault.search("", tag: "area").hits.map(\.path)) == ["memory/knowledge/nested.md", "memory/knowledge/deeper.md"])
        #expect(Set(try vault.search("", tag: "area/sub").hits.map(\.path)) == ["memory/knowledge/nested.md", "memory/knowledge/deeper.md"])
        #expect(try vault.search("", tag: "area/sub/deep").hits.map(\.path) == ["memory/knowledge/deeper.md"])
        #expect(try vault.search("", tag: "areal").hits.map(\.path) == ["memory/knowledge/nested.md"])
    }

    // "Properties": tags as a list, a string or a comma list; the singular `tag`/`alias` keys of older vaults.
    @Test func tagsAndAliasesAreReadInEveryFormObsidianAccepts() throws {
        func note(_ yaml: String) throws -> Note { try NoteParser.parse(path: "x.md", text: "---\n" + yaml + "\n---\n") }
        #expect(try note("tags: [a, b]").tags == ["a", "b"])
        #expect(try note("tags:\n  - a\n  - b").tags == ["a", "b"])
        #expect(try note("tags: a, b").tags == ["a", "b"])
        #expect(try note("tags: a b").tags == ["a", "b"])
        #expect(try note("tags: \"#a/b\"").tags == ["a/b"])
        #expect(try note("tag: solo").tags == ["solo"])
        #expect(try note("tags: [a]\ntag: b").tags == ["a"], "the plural wins")
        #expect(try note("alias: Old name").frontMatter?.aliases == ["Old name"])
    }

    @Test func aNoteWhoseFrontMatterDoesNotParseIsReadAsHavingNone() throws {
        let text = "---\ncreated: {{date}}\n{{title}}: x\n---\n# Journal\n\nSee [[Home]].\n"
        #expect(throws: NoteError.self) { _ = try NoteParser.parse(path: "j.md", text: text) }
        let note = NoteParser.lenient(path: "j.md", data: Data(text.utf8))
        #expect(note.frontMatter == nil)
        #expect(note.text == text)
        #expect(note.links.wikiLinks.map(\.target) == ["Home"])
    }

    @Test func templateFoldersComeFromObsidiansSettings() throws {
        let f = try VaultFixture()
        try f.write(".obsidian/templates.json", "{\"folder\": \"/Templates/\"}")
        try f.write(".obsidian/plugins/templater-obsidian/data.json", "{\"templates_folder\": \"Meta/Templater\"}")
        let settings = ObsidianSettings.read(root: f.root)
        #expect(settings.templateFolders == ["Templates", "Meta/Templater"])
        #expect(settings.isTemplate("Templates/Daily.md"))
        #expect(settings.isTemplate("templates/daily.md"))
        #expect(settings.isTemplate("Meta/Templater/Project.md"))
        #expect(!settings.isTemplate("TemplatesOld/x.md"))
        #expect(!settings.isTemplate("Meta/x.md"))
        #expect(ObsidianSettings(templateFolders: ["../outside", "", "./T"]).templateFolders == ["T"])
        try f.write(".obsidian/templates.json", "not json")
        #expect(ObsidianSettings.read(root: f.root).templateFolders == ["Meta/Templater"], "a broken settings file is no setting")
    }

    @Test func templatesAreLeftOutOfSearchUnlessAPathAsksForThem() throws {
        let f = try VaultFixture()
        try f.write(".obsidian/templates.json", "{\"folder\": \"Templates\"}")
        try f.write("Templates/Meeting.md", "---\ncreated: {{date}}\n---\n# Meeting zanzibarish\n")
        try f.write("memory/knowledge/meeting.md", "# Real meeting zanzibarish\n")
        try f.snapshot()
        let vault = try f.vault()
        #expect(try vault.search("zanzibarish").hits.map(\.path) == ["memory/knowledge/meeting.md"])
        #expect(try vault.search("zanzibarish", path: "Templates/**").hits.map(\.path) == ["Templates/Meeting.md"])
    }
}
