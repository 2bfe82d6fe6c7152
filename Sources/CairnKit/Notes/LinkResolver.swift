import Foundation

/// Finds the file a link points at, the way Obsidian resolves internal links.
///
/// The rules, in order (sources: Obsidian Help, "Internal links", "Embed files", "Aliases", "Accepted file
/// formats"; the tie-break is not in Obsidian's documentation and follows what Obsidian users and tools that
/// mirror it report — see "Ambiguous names" below):
///
/// 1. The link path is what comes before `#` (a heading, `#A#B` for subheadings, or `#^block`) and `|` (the
///    display text); an empty path (`[[#Heading]]`) is the note itself. Markdown links are percent-decoded
///    (`Three%20laws%20of%20motion`) before they get here.
/// 2. A path starting with `./` or `../` is relative to the linking note's folder and nothing else; one
///    starting with `/` is from the vault root.
/// 3. Markdown links try the path relative to the linking note's folder first (`[x](sub/note.md)`).
/// 4. The path from the vault root: `[[Projects/Three laws of motion]]`, with or without `.md`.
/// 5. By file name, in any folder, case-insensitively: `[[Three laws of motion]]` finds
///    `Physics/Three laws of motion.md`. Any file type can be linked by its name with its extension
///    (`[[Figure 1.png]]`, `[[Albums.base]]`); a name without extension means the `.md` note. A link with
///    folders matches the files whose path ends with it: `[[Web Clipper/Vorlagen]]` finds
///    `de/Web Clipper/Vorlagen.md` (a path suffix, compared whole folder by whole folder).
/// 6. Ambiguous names: when several files match, the one in the linking note's own folder wins, then the one
///    sharing the most leading folders with the linking note (`en/A/x.md` linking `[[Tags]]` finds `en/B/Tags.md`
///    before `de/B/Tags.md`), then the one closest to the vault root (fewest folders), then the first by path in
///    byte order. Obsidian's help does not document its tie-break; "same folder first, then closest to the
///    root" is how tools that mirror Obsidian describe it (bangle-io/bangle-io#611, bitbonsai/mcpvault#101), and
///    the shared-folder step keeps vaults of several roots (one folder per language) apart. Obsidian rewrites
///    links to keep them unique when "New link format" is "Shortest path when possible", so ambiguity is rare
///    in vaults Obsidian maintains. The rule is pinned by `LinkResolverTests`.
/// 7. Aliases (`aliases:` in the properties, and cairn's convention of a front matter `title:`) are tried last
///    and never shadow a file. Obsidian itself writes alias links as `[[Note|Alias]]` ("Aliases", "Link to a
///    note using an alias"), which resolve by rule 5; cairn also accepts the bare `[[Alias]]` rather than
///    report a link whose note exists.
///
/// Cost per link: a dictionary lookup by name and a scan of the files sharing that name — independent of
/// the size of the vault.
public struct LinkResolver: Sendable {
    /// Lowercased file name (with extension) → vault-relative paths, sorted.
    private var byName: [String: [String]] = [:]
    /// Lowercased path → the paths with it (several only when names differ in case alone).
    private var byPath: [String: [String]] = [:]
    /// Lowercased alias → paths of the notes declaring it.
    private var byAlias: [String: [String]] = [:]

    /// An index of `paths` (every file of the vault, notes and attachments) and of the aliases notes declare
    /// (note path → its aliases).
    public init<S: Sequence>(paths: S, aliases: [String: [String]] = [:]) where S.Element == String {
        for path in paths {
            let lower = path.lowercased()
            byPath[lower, default: []].append(path)
            byName[Self.fileName(lower), default: []].append(path)
        }
        for key in byName.keys { byName[key]?.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
        addAliases(aliases)
    }

    /// Adds the aliases notes declare (note path → its aliases), for an index made of paths first.
    public mutating func addAliases(_ aliases: [String: [String]]) {
        var added: Set<String> = []
        for (path, names) in aliases {
            for alias in names {
                let key = (Self.needsTrim(alias) ? alias.trimmingCharacters(in: .whitespaces) : alias).lowercased()
                if !key.isEmpty {
                    byAlias[key, default: []].append(path)
                    added.insert(key)
                }
            }
        }
        for key in added { byAlias[key]?.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
    }

    /// False when `text` starts and ends with an ASCII character other than a space or tab, so trimming white
    /// space would change nothing (Foundation's trim costs as much for every alias of a 100k-note vault).
    static func needsTrim(_ text: String) -> Bool {
        guard let first = text.utf8.first, let last = text.utf8.last else { return false }
        func plain(_ b: UInt8) -> Bool { b < 0x80 && b != 0x20 && b != 0x09 }
        return !(plain(first) && plain(last))
    }

    /// Adds a file (one written after the index was made: a new attachment), so links to it resolve.
    public mutating func insert(_ path: String) {
        let lower = path.lowercased()
        byPath[lower, default: []].append(path)
        byName[Self.fileName(lower), default: []].append(path)
        byName[Self.fileName(lower)]?.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// True when a file has exactly this path, ignoring case (as a case-insensitive file system would see it).
    public func contains(_ path: String) -> Bool { byPath[path.lowercased()] != nil }

    /// How a link was found, for reports.
    public enum Match: String, Sendable, Codable {
        case path, name, alias
    }

    /// A resolved link: the file, how it was found, and how many files the name matched.
    public struct Resolution: Sendable, Hashable {
        public let path: String
        public let match: Match
        /// More than one file matched the name; `path` is the one the tie-break chose.
        public let ambiguous: Bool
    }

    /// The file `linkPath` (without `#…` and `|…`) points at from the note at `source`; nil when none does
    /// ("unresolved", in Obsidian's words).
    public func resolve(_ linkPath: String, from source: String, markdown: Bool = false) -> Resolution? {
        var link = linkPath.utf8.first == 0x20 || linkPath.utf8.last == 0x20 ? NoteText.trimmed(linkPath) : linkPath
        if link.isEmpty { return Resolution(path: source, match: .path, ambiguous: false) }
        let folder = Self.folder(of: source)
        if link.hasPrefix("./") || link.hasPrefix("../") {
            guard let joined = Self.join(folder, link) else { return nil }
            return exact(joined).map { Resolution(path: $0, match: .path, ambiguous: false) }
        }
        if link.hasPrefix("/") {
            while link.hasPrefix("/") { link.removeFirst() }
            return exact(link).map { Resolution(path: $0, match: .path, ambiguous: false) }
        }
        if markdown, !folder.isEmpty, let joined = Self.join(folder, link), let found = exact(joined) {
            return Resolution(path: found, match: .path, ambiguous: false)
        }
        if let found = exact(link) { return Resolution(path: found, match: .path, ambiguous: false) }
        if let found = byFileName(link, folder: folder) { return found }
        if !link.utf8.contains(0x2F), let notes = byAlias[link.lowercased()], let first = notes.first {
            return Resolution(path: first, match: .alias, ambiguous: Set(notes).count > 1)
        }
        return nil
    }

    /// `path` (or `path.md`) as a file of the vault, case-insensitively (the exact spelling first).
    private func exact(_ path: String) -> String? {
        for candidate in [path, path + ".md"] {
            if let found = byPath[candidate.lowercased()] {
                return found.first { $0 == candidate } ?? found.min { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            }
        }
        return nil
    }

    private func byFileName(_ link: String, folder: String) -> Resolution? {
        guard let matching = matchingByName(link), let best = Self.best(matching, folder: folder) else { return nil }
        return Resolution(path: best, match: .name, ambiguous: matching.count > 1)
    }

    /// Every file a link spelling `link` (without `#…` and `|…`) could mean by rule 5 — its file name, or a path
    /// suffix — before the tie-break of rule 6 picks one; in byte order. Empty when none.
    public func filesNamed(_ link: String) -> [String] {
        matchingByName(link.utf8.first == 0x20 || link.utf8.last == 0x20 ? NoteText.trimmed(link) : link) ?? []
    }

    /// The files of rule 5, nil when none.
    private func matchingByName(_ link: String) -> [String]? {
        let lower = link.lowercased()
        let name = Self.fileName(lower)
        // A name without an extension means the note; with one, the file of that name, else a note whose
        // name has a dot in it (`v1.2 notes`).
        let hasFolders = lower.utf8.contains(0x2F)
        let keys = name.utf8.contains(0x2E) ? [(name, lower), (name + ".md", lower + ".md")] : [(name + ".md", lower + ".md"), (name, lower)]
        for (key, suffix) in keys {
            guard let candidates = byName[key] else { continue }
            let matching = hasFolders ? candidates.filter { $0.lowercased().hasSuffix("/" + suffix) } : candidates
            if !matching.isEmpty { return matching }
        }
        return nil
    }

    /// The tie-break of rule 6: the candidate sharing the most leading folders with the linking note (its own
    /// folder first), then fewest folders, then byte order.
    static func best(_ candidates: [String], folder: String) -> String? {
        guard candidates.count > 1 else { return candidates.first }
        let mine = folder.split(separator: "/")
        func rank(_ path: String) -> (shared: Int, depth: Int) {
            let theirs = Self.folder(of: path).split(separator: "/")
            var shared = 0
            while shared < mine.count, shared < theirs.count, mine[shared] == theirs[shared] { shared += 1 }
            // The linking note's own folder beats any other, however deep.
            if shared == mine.count && shared == theirs.count { shared = Int.max }
            return (shared, theirs.count)
        }
        return candidates.min { a, b in
            let ra = rank(a), rb = rank(b)
            if ra.shared != rb.shared { return ra.shared > rb.shared }
            if ra.depth != rb.depth { return ra.depth < rb.depth }
            return a.utf8.lexicographicallyPrecedes(b.utf8)
        }
    }

    /// The folder of a vault-relative path ("" at the root). Byte-wise: `/` is ASCII, so its index is a valid
    /// character boundary, and no grapheme breaking is needed.
    static func folder(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: 0x2F) else { return "" }
        return String(path[..<slash])
    }

    static func fileName(_ path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: 0x2F) else { return path }
        return String(path[path.utf8.index(after: slash)...])
    }

    /// `relative` read from `folder`, with `.` and `..` applied; nil when it climbs out of the vault.
    static func join(_ folder: String, _ relative: String) -> String? {
        var parts = folder.split(separator: "/")
        for part in relative.split(separator: "/") {
            switch part {
            case ".": continue
            case "..":
                guard !parts.isEmpty else { return nil }
                parts.removeLast()
            default: parts.append(part)
            }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }
}
