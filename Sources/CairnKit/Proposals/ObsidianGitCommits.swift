import CairnGit
import Foundation

/// Recognises the commits the obsidian-git plugin makes in a vault Obsidian keeps in git ("vault backup: …"), so
/// that `cairn audit` counts them as the operator's own saves, as it counts `cairn snapshot`.
///
/// A commit is one when all of these hold: it carries no `Cairn-` trailers and has one parent; the plugin is installed
/// (`.obsidian/plugins/obsidian-git/` in the working tree); its message matches the plugin's commit
/// message template (`commitMessage` or `autoCommitMessage` in the plugin's `data.json`, default
/// `vault backup: {{date}}`, each `{{…}}` placeholder standing for any text); and its author's e-mail is one that
/// made an operator commit through cairn (the `init` that adopted the vault, a snapshot, a decision). A commit made by
/// hand with git, or by anyone else under the plugin's message, stays unattributed. The merge a pull makes (git's
/// `Merge branch '…' of …`, two parents) under the operator's identity counts too; the commits it brings in are
/// audited one by one like any other.
struct ObsidianGitCommits {
    static let pluginFolder = ".obsidian/plugins/obsidian-git"
    static let defaultTemplate = "vault backup: {{date}}"

    private let templates: [NSRegularExpression]
    private let operatorEmails: Set<String>
    private let installedInWorkingTree: Bool

    init(root: String, commits: [Commit]) {
        var messages: [String] = []
        if let data = FileManager.default.contents(atPath: root + "/" + Self.pluginFolder + "/data.json"),
           let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            for key in ["commitMessage", "autoCommitMessage"] {
                if let text = json[key] as? String, !text.trimmingCharacters(in: .whitespaces).isEmpty { messages.append(text) }
            }
        }
        if messages.isEmpty { messages = [Self.defaultTemplate] }
        templates = messages.compactMap(Self.pattern)
        var isDir: ObjCBool = false
        installedInWorkingTree = FileManager.default.fileExists(atPath: root + "/" + Self.pluginFolder, isDirectory: &isDir) && isDir.boolValue
        operatorEmails = Set(commits.filter { ["init", "snapshot", "approve", "reject", "move"].contains($0.trailer("Cairn-Operation") ?? "") }
            .map { $0.author.email.lowercased() })
    }

    /// A template as a whole-message pattern: the text literal, each `{{…}}` any text (dates, host names, file lists).
    static func pattern(_ template: String) -> NSRegularExpression? {
        var regex = "^"
        var rest = Substring(template.trimmingCharacters(in: .whitespacesAndNewlines))
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            regex += NSRegularExpression.escapedPattern(for: String(rest[..<open.lowerBound])) + ".*"
            rest = rest[close.upperBound...]
        }
        regex += NSRegularExpression.escapedPattern(for: String(rest)) + "$"
        return try? NSRegularExpression(pattern: regex, options: [.dotMatchesLineSeparators])
    }

    /// What the plugin made `commit` as: a backup commit, the merge of a pull (its "merge" sync method, git's own
    /// `Merge branch '…' of …` message), or nil when it is not the plugin's.
    func kind(of commit: Commit) -> Kind? {
        guard installedInWorkingTree, !commit.trailers.contains(where: { $0.key.hasPrefix("Cairn-") }),
              operatorEmails.contains(commit.author.email.lowercased()) else { return nil }
        let message = commit.message.trimmingCharacters(in: .whitespacesAndNewlines)
        if commit.parents.count == 2 {
            return message.hasPrefix("Merge branch '") || message.hasPrefix("Merge remote-tracking branch '") ? .pullMerge : nil
        }
        guard commit.parents.count == 1 else { return nil }
        let range = NSRange(message.startIndex..., in: message)
        return templates.contains { $0.firstMatch(in: message, range: range) != nil } ? .backup : nil
    }

    enum Kind { case backup, pullMerge }
}
