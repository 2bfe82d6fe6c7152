import CairnGit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `cairn note daily` found or made.
public struct DailyNoteResult: Sendable, Codable {
    public let path: String
    /// `false` when the note already existed (it is never overwritten).
    public let created: Bool
}

extension Vault {
    /// The daily note of the day `now` falls on in `timeZone`, created when missing, where and as Obsidian's Daily
    /// notes plugin would (`.obsidian/daily-notes.json`: folder, file name format, template).
    ///
    /// The template's core Templates variables are filled in (`{{title}}`, `{{date}}`, `{{time}}`, `{{date:FORMAT}}`,
    /// `{{time:FORMAT}}`; `{{date}}` in `templates.json`'s `dateFormat`, default `YYYY-MM-DD`); Templater's `<% %>`
    /// commands are left for Templater. Without the plugin's settings, the note is `memory/working/YYYY-MM-DD.md`.
    /// An existing note is returned as it is; the new one is written whole or not at all (committing it is the
    /// operator's next snapshot).
    public func dailyNote(now: Date, timeZone: TimeZone) throws -> DailyNoteResult {
        let settings = ObsidianSettings.read(root: root)
        let daily = settings.dailyNotes ?? ObsidianSettings.DailyNotes(folder: Tier.working.folder)
        let name = MomentFormat.string(now, format: daily.format, timeZone: timeZone)
        let relative = try Self.movePath((daily.folder.isEmpty ? "" : daily.folder + "/") + name + ".md", role: "daily note")
        if FileManager.default.fileExists(atPath: absolutePath(relative)) { return DailyNoteResult(path: relative, created: false) }
        let title = LinkResolver.fileName(name)
        let text: String
        if let template = daily.template, let data = FileManager.default.contents(atPath: absolutePath(template)) {
            text = Self.fillTemplate(String(decoding: data, as: UTF8.self), title: title, now: now, timeZone: timeZone,
                                     dateFormat: settings.templateDateFormat, timeFormat: settings.templateTimeFormat)
        } else if settings.dailyNotes != nil {
            text = ""  // what Obsidian writes when the plugin has no template
        } else {
            text = Note.render(title: title, tier: .working, tags: [], created: now)
        }
        try writeNewFile(relative, Data(text.utf8))
        return DailyNoteResult(path: relative, created: true)
    }

    /// Obsidian's core Templates variables in `template`.
    static func fillTemplate(_ template: String, title: String, now: Date, timeZone: TimeZone, dateFormat: String, timeFormat: String) -> String {
        var out = ""
        var rest = Substring(template)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else { rest = rest[open.lowerBound...]; break }
            let inside = rest[open.upperBound..<close.lowerBound]
            let parts = inside.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            switch parts.first?.lowercased() {
            case "title": out += title
            case "date": out += MomentFormat.string(now, format: parts.count > 1 ? parts[1] : dateFormat, timeZone: timeZone)
            case "time": out += MomentFormat.string(now, format: parts.count > 1 ? parts[1] : timeFormat, timeZone: timeZone)
            default: out += rest[open.lowerBound..<close.upperBound]
            }
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    /// Writes a new file at `relative` whole (a side file under `.git/cairn`, fsynced, then linked into place); never
    /// replaces an existing file.
    func writeNewFile(_ relative: String, _ data: Data) throws {
        let full = absolutePath(relative)
        let scratch = gitDir + "cairn/tmp"
        for dir in [(full as NSString).deletingLastPathComponent, scratch] {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            } catch {
                throw VaultError.cannotWrite(path: dir, reason: Self.errnoText(for: error))
            }
        }
        let temp = scratch + "/note-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = Glibc.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VaultError.cannotWrite(path: temp, reason: String(cString: strerror(errno))) }
        defer { unlink(temp) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == data.count, synced else { throw VaultError.cannotWrite(path: temp, reason: String(cString: strerror(errno))) }
        if link(temp, full) != 0 {
            if errno == EEXIST { throw VaultError.noteExists(path: relative) }
            throw VaultError.cannotWrite(path: relative, reason: String(cString: strerror(errno)))
        }
    }
}
