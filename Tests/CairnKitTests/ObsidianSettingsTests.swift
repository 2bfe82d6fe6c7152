import Foundation
import Testing
@testable import CairnKit

/// `ObsidianSettings` reads what `.obsidian/` says (Obsidian's defaults when a file or key is absent), and
/// `MomentFormat` writes dates with the tokens those settings use.
@Suite struct ObsidianSettingsTests {
    static let messy = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/obsidian-messy-vault").path

    @Test func theMessyVaultsSettings() {
        let s = ObsidianSettings.read(root: Self.messy)
        #expect(s.newLinkFormat == .shortest)
        #expect(s.useMarkdownLinks == false)
        #expect(s.newFileFolder == "00 Inbox")
        #expect(s.dailyNotes == ObsidianSettings.DailyNotes(folder: "Journal/Daily", format: "YYYY/MM/YYYY-MM-DD", template: "Templates/Daily.md"))
        #expect(s.templateFolders == ["Templates"])
        // `./assets`: a folder below the note's own.
        #expect(s.attachmentFolder(forNote: "10 Projects/Café Relaunch/Café Relaunch.md") == "10 Projects/Café Relaunch/assets")
        #expect(s.attachmentFolder(forNote: "Home.md") == "assets")
    }

    @Test func defaultsWhenThereAreNoSettings() throws {
        let dir = NSTemporaryDirectory() + "obsidian-settings-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir + "/.obsidian", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var s = ObsidianSettings.read(root: dir)
        #expect(s.newLinkFormat == .shortest && !s.useMarkdownLinks && s.newFileFolder == nil && s.dailyNotes == nil)
        #expect(s.attachmentFolder(forNote: "a/b.md") == "")
        // A broken settings file is Obsidian's business: read as absent, never an error.
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: dir + "/.obsidian/app.json"))
        try Data(#"{"newLinkFormat":"relative","useMarkdownLinks":true,"attachmentFolderPath":"Files/Attachments","newFileLocation":"current","newFileFolderPath":"X"}"#.utf8)
            .write(to: URL(fileURLWithPath: dir + "/.obsidian/app.json"))
        s = ObsidianSettings.read(root: dir)
        #expect(s.newLinkFormat == .relative && s.useMarkdownLinks)
        #expect(s.newFileFolder == nil, "only newFileLocation 'folder' names a folder")
        #expect(s.attachmentFolder(forNote: "a/b.md") == "Files/Attachments")
    }

    @Test func momentTokens() {
        let date = Date(timeIntervalSince1970: 1_772_530_200)  // 2026-03-03T09:30:00Z, a Tuesday
        let utc = TimeZone(identifier: "UTC")!
        #expect(MomentFormat.string(date, format: "YYYY-MM-DD", timeZone: utc) == "2026-03-03")
        #expect(MomentFormat.string(date, format: "YYYY/MM/YYYY-MM-DD", timeZone: utc) == "2026/03/2026-03-03")
        #expect(MomentFormat.string(date, format: "dddd, MMMM Do YYYY [at] HH:mm", timeZone: utc) == "Tuesday, March 3rd 2026 at 09:30")
        #expect(MomentFormat.string(date, format: "gggg-[W]WW ddd D MMM YY h A", timeZone: utc) == "gggg-W10 Tue 3 Mar 26 9 AM")
        // The day is the operator's: late evening in UTC-8 is still the 2nd.
        #expect(MomentFormat.string(Date(timeIntervalSince1970: 1_772_500_000), format: "YYYY-MM-DD", timeZone: TimeZone(secondsFromGMT: -8 * 3600)!) == "2026-03-02")
    }

    @Test func templateVariables() {
        let now = Date(timeIntervalSince1970: 1_772_530_200)
        let out = Vault.fillTemplate("# {{title}}\n{{date}} {{time}} {{date:dddd}} {{time:HH}} {{unknown}} <% tp.file.title %> {{open",
                                     title: "2026-03-03", now: now, timeZone: TimeZone(identifier: "UTC")!, dateFormat: "DD.MM.YYYY", timeFormat: "HH:mm")
        #expect(out == "# 2026-03-03\n03.03.2026 09:30 Tuesday 09 {{unknown}} <% tp.file.title %> {{open")
    }
}
