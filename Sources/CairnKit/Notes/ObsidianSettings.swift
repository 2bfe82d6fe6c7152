import Foundation

/// What an Obsidian vault's own settings (`.obsidian/`) say that matters to cairn: which folders hold
/// templates rather than memory, how links are written, and where new notes and daily notes go.
///
/// Read from the working tree, never written. A missing or unreadable settings file means the setting
/// is not used (Obsidian's own default), never an error: the settings belong to Obsidian, not to cairn.
public struct ObsidianSettings: Sendable, Hashable {
    /// Vault-relative folders whose notes are templates (no trailing `/`): the core Templates plugin's
    /// folder (`.obsidian/templates.json`, key `folder`) and the Templater plugin's
    /// (`.obsidian/plugins/templater-obsidian/data.json`, key `templates_folder`).
    public let templateFolders: [String]

    /// How Obsidian writes the path of a new link (`app.json`, `newLinkFormat`; Obsidian's default is `shortest`).
    public enum LinkFormat: String, Sendable, Hashable, Codable {
        /// The file's name when no other file has it, else its path from the vault root.
        case shortest
        /// The path from the linking note's folder (`../Folder/Note`).
        case relative
        /// The path from the vault root.
        case absolute
    }
    public var newLinkFormat: LinkFormat = .shortest
    /// New links are Markdown links (`[Note](Note.md)`) rather than wikilinks (`app.json`, `useMarkdownLinks`).
    public var useMarkdownLinks = false
    /// Where new attachments go (`app.json`, `attachmentFolderPath`): `/` the vault root (Obsidian's default),
    /// `./` the note's own folder, `./sub` a folder below the note's, anything else a folder of the vault.
    public var attachmentFolderPath = "/"
    /// True when `app.json` sets `attachmentFolderPath` (else Obsidian's default, the vault root, is assumed, and cairn
    /// keeps the files it imports beside their note).
    public var attachmentFolderIsSet = false
    /// The folder new notes go to (`app.json`: `newFileLocation` `folder` with `newFileFolderPath`); nil when
    /// Obsidian puts them at the root or beside the current note, which leaves cairn's own choice.
    public var newFileFolder: String? = nil
    /// The core Daily notes plugin's settings (`daily-notes.json`): folder, file name format (Moment.js tokens,
    /// Obsidian's default `YYYY-MM-DD`) and template note; nil when the file is absent.
    public var dailyNotes: DailyNotes? = nil
    /// The core Templates plugin's formats for `{{date}}` and `{{time}}` (`templates.json`).
    public var templateDateFormat = "YYYY-MM-DD"
    public var templateTimeFormat = "HH:mm"

    public struct DailyNotes: Sendable, Hashable {
        /// Vault-relative folder ("" for the root).
        public var folder: String
        public var format: String
        /// Vault-relative path of the template note (with `.md`), if set.
        public var template: String?
        public init(folder: String = "", format: String = "YYYY-MM-DD", template: String? = nil) {
            self.folder = folder
            self.format = format
            self.template = template
        }
    }

    public init(templateFolders: [String] = []) {
        self.templateFolders = Self.unique(templateFolders.compactMap(Self.folder))
    }

    /// The settings of the vault at `root` (an absolute path).
    public static func read(root: String) -> ObsidianSettings {
        var files: [String: [String: Any]?] = [:]
        func json(_ file: String) -> [String: Any]? {
            if let known = files[file] { return known }
            let data = FileManager.default.contents(atPath: root + "/.obsidian/" + file)
            let value = data.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
            files[file] = value
            return value
        }
        func string(_ file: String, _ key: String) -> String? { json(file)?[key] as? String }
        var settings = ObsidianSettings(templateFolders: [
            string("templates.json", "folder"),
            string("plugins/templater-obsidian/data.json", "templates_folder"),
        ].compactMap { $0 })
        if let format = string("app.json", "newLinkFormat").flatMap(LinkFormat.init(rawValue:)) { settings.newLinkFormat = format }
        if let markdown = json("app.json")?["useMarkdownLinks"] as? Bool { settings.useMarkdownLinks = markdown }
        if let folder = string("app.json", "attachmentFolderPath"), !folder.isEmpty {
            settings.attachmentFolderPath = folder
            settings.attachmentFolderIsSet = true
        }
        if string("app.json", "newFileLocation") == "folder" {
            settings.newFileFolder = string("app.json", "newFileFolderPath").flatMap(Self.folder)
        }
        if let format = string("templates.json", "dateFormat"), !format.isEmpty { settings.templateDateFormat = format }
        if let format = string("templates.json", "timeFormat"), !format.isEmpty { settings.templateTimeFormat = format }
        if let daily = json("daily-notes.json") {
            let format = (daily["format"] as? String).map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            let template = (daily["template"] as? String).flatMap(Self.folder).map { $0.lowercased().hasSuffix(".md") ? $0 : $0 + ".md" }
            settings.dailyNotes = DailyNotes(folder: (daily["folder"] as? String).flatMap(Self.folder) ?? "",
                                             format: format.isEmpty ? "YYYY-MM-DD" : format, template: template)
        }
        return settings
    }

    /// The folder an attachment of the note at `notePath` goes to, per `attachmentFolderPath` ("" is the root).
    public func attachmentFolder(forNote notePath: String) -> String {
        let value = attachmentFolderPath
        if value == "." || value == "./" || value.hasPrefix("./") {
            let noteFolder = LinkResolver.folder(of: notePath)
            let below = Self.folder(String(value.dropFirst(value.hasPrefix("./") ? 2 : 1))) ?? ""
            return [noteFolder, below].filter { !$0.isEmpty }.joined(separator: "/")
        }
        return Self.folder(value) ?? ""
    }

    /// A new link from the note at `source` to the file `target` (vault-relative), as Obsidian writes one with these
    /// settings: `[[Note]]` / `[[Note|display]]`, or with `useMarkdownLinks` `[display](Note.md)` (display text: the
    /// file's name, without `.md` for a note); the path in the "New link format" (`LinkText.path`), checked to lead
    /// back to `target` under `resolver`. `embed` adds the `!`. `wikilink` forces a wikilink (properties, where
    /// Obsidian reads no Markdown links).
    public func newLink(to target: String, from source: String, display: String? = nil, embed: Bool = false,
                        wikilink: Bool = false, resolver: LinkResolver) -> String {
        let markdown = useMarkdownLinks && !wikilink
        let path = LinkText.path(to: target, from: source, markdown: markdown, format: newLinkFormat, resolver: resolver)
        if markdown {
            let name = LinkResolver.fileName(target)
            let text = display ?? (name.lowercased().hasSuffix(".md") ? String(name.dropLast(3)) : name)
            return (embed ? "!" : "") + "[" + text + "](" + path + ")"
        }
        return (embed ? "![[" : "[[") + path + (display.map { "|" + $0 } ?? "") + "]]"
    }

    /// `true` when `path` (vault-relative) is inside one of the template folders.
    public func isTemplate(_ path: String) -> Bool {
        guard !templateFolders.isEmpty else { return false }
        let lower = path.lowercased()
        return templateFolders.contains { lower.hasPrefix($0.lowercased() + "/") }
    }

    /// A setting's folder as a vault-relative path: `/Templates/`, `./Templates` → `Templates`; nil when empty or
    /// when it climbs out of the vault.
    static func folder(_ value: String) -> String? {
        var parts: [Substring] = []
        for part in value.split(separator: "/") where part != "." {
            if part == ".." { return nil }
            parts.append(part)
        }
        let folder = parts.joined(separator: "/").trimmingCharacters(in: .whitespaces)
        return folder.isEmpty ? nil : folder
    }

    private static func unique(_ items: [String]) -> [String] {
        var seen = Set<String>()
        return items.filter { seen.insert($0).inserted }
    }
}
