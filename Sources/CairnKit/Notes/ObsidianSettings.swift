import Foundation

/// What an Obsidian vault's own settings (`.obsidian/`) say that matters to cairn: which folders hold
/// templates rather than memory.
///
/// Read from the working tree, never written. A missing or unreadable settings file means the setting
/// is not used (Obsidian's own default), never an error: the settings belong to Obsidian, not to cairn.
public struct ObsidianSettings: Sendable, Hashable {
    /// Vault-relative folders whose notes are templates (no trailing `/`): the core Templates plugin's
    /// folder (`.obsidian/templates.json`, key `folder`) and the Templater plugin's
    /// (`.obsidian/plugins/templater-obsidian/data.json`, key `templates_folder`).
    public let templateFolders: [String]

    public init(templateFolders: [String] = []) {
        self.templateFolders = Self.unique(templateFolders.compactMap(Self.folder))
    }

    /// The settings of the vault at `root` (an absolute path).
    public static func read(root: String) -> ObsidianSettings {
        func string(_ file: String, _ key: String) -> String? {
            guard let data = FileManager.default.contents(atPath: root + "/.obsidian/" + file),
                  let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
            return json[key] as? String
        }
        return ObsidianSettings(templateFolders: [
            string("templates.json", "folder"),
            string("plugins/templater-obsidian/data.json", "templates_folder"),
        ].compactMap { $0 })
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
