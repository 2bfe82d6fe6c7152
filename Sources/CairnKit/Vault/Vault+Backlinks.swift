import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Vault {
    /// A note's (or any file's) outgoing links and the links that lead to it, resolved by the resolver `cairn doctor`
    /// uses, over every note of the working tree (property links included; templates and dot-folders are not notes).
    ///
    /// `note` is a vault-relative path, or a note name, title or alias as the search index knows it (looked up in the
    /// index when there is one; when there is none, found without building it). Any other file (an attachment) is
    /// found by its path, file name or path suffix, as a link finds it; a name several files share is refused
    /// with their paths (`SearchError.ambiguousNote`).
    ///
    /// Gives what resolving every link of every note would give, but parses only the notes whose bytes can hold a
    /// link to the note (`LinkNeedles`): the others are read and searched, never parsed. Cost: one read of every
    /// note and a byte search in it, on every core; a parse of the few that match.
    public func links(note: String) throws -> NoteLinkReport {
        let tree = try head().map { try repository.commit($0).tree }
        let settings = ObsidianSettings.read(root: root)
        let listing = try workingTreeFiles(tree: tree).map(\.path)
        let files = listing.filter { !$0.hasPrefix(".") && !$0.contains("/.") }
        let linkNotes = files.filter { $0.lowercased().hasSuffix(".md") && !settings.isTemplate($0) }
        // Files alone first: aliases come from the notes read below.
        var resolver = LinkResolver(paths: files)
        var trimmed = note.trimmingCharacters(in: .whitespaces)
        while trimmed.hasPrefix("./") { trimmed.removeFirst(2) }
        let path: String, title: String
        do {
            // Without building the search index when there is none.
            (path, title) = try findNote(note, files: listing)
        } catch SearchError.noteNotFound(let name) {
            // An attachment or any other file a link can lead to, found as a link from the vault root finds it: by
            // path, by file name (`logo.png`, as `![[logo.png]]` does) or by path suffix. Aliases are not known yet,
            // and the index already looked for those. Several files of that name: no linking note to break the tie.
            guard let found = resolver.resolve(trimmed, from: "") else { throw SearchError.noteNotFound(name) }
            if found.ambiguous { throw SearchError.ambiguousNote(note, candidates: resolver.filesNamed(trimmed)) }
            (path, title) = (found.path, LinkResolver.fileName(found.path))
        }
        let isLinkNote = Set(linkNotes)
        var own = NoteFacts()
        if isLinkNote.contains(path), let data = FileManager.default.contents(atPath: absolutePath(path)) {
            own = Self.noteFacts(path: path, data: data, links: true, validate: false)
        }
        // What a link to the note must spell: its file name, or one of its aliases. And so that its own links
        // resolve by alias as they would over the whole vault, the notes that may declare those aliases.
        var names = [LinkNeedles.stem(of: path)] + own.names
        for link in own.links where !link.target.isEmpty && resolver.resolve(link.target, from: path, markdown: link.markdown) == nil {
            names.append(link.target)
        }
        let needles = LinkNeedles(names: names, target: path)
        let candidates = linkNotes.filter { $0 != path }
        let read = readMatchingNotes(candidates, needles: needles)
        var facts: [String: NoteFacts] = [:]
        for (i, found) in read.enumerated() { if let found { facts[candidates[i]] = found } }
        if own.isLinkNote { facts[path] = own }
        var aliases: [String: [String]] = [:]
        for (source, note) in facts where !note.names.isEmpty { aliases[source] = note.names }
        resolver.addAliases(aliases)

        func entry(_ link: CheckedLink, from source: String, to resolved: String?) -> LinkEntry {
            LinkEntry(source: source, target: link.target, resolved: resolved, kind: link.markdown ? .markdown : .wiki, line: link.line)
        }
        func inLineOrder(_ links: [CheckedLink]) -> [CheckedLink] {
            links.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }.map(\.element)
        }
        let outgoing = inLineOrder(facts[path]?.links ?? [])
            .map { entry($0, from: path, to: resolver.resolve($0.target, from: path, markdown: $0.markdown)?.path) }
        var backlinks: [LinkEntry] = []
        for source in linkNotes {
            guard let note = facts[source] else { continue }
            for link in inLineOrder(note.links) {
                // `[[#Heading]]` is the note itself, not a link to it.
                if link.target.isEmpty { continue }
                if resolver.resolve(link.target, from: source, markdown: link.markdown)?.path == path {
                    backlinks.append(entry(link, from: source, to: path))
                }
            }
        }
        return NoteLinkReport(path: path, title: title, outgoing: outgoing, backlinks: backlinks)
    }

    /// The link facts of each note of `paths` whose text `needles` says may hold a link of interest (nil for the
    /// others and for notes that cannot be read), read on every core.
    private func readMatchingNotes(_ paths: [String], needles: LinkNeedles) -> [NoteFacts?] {
        let root = self.root
        return parallelResults(count: paths.count) { i -> NoteFacts? in
            let path = paths[i]
            guard let data = FileManager.default.contents(atPath: root + "/" + path),
                  needles.mayLink(from: path) || needles.mayLink(data) else { return nil }
            return Self.noteFacts(path: path, data: data, links: true, validate: false)
        }
    }
}

/// What the text of a note must contain to hold a link that resolves to a given file, or by a given alias: a byte
/// test made before any parse, which never says no to a note that has such a link.
///
/// A link resolves (`LinkResolver`) by a path or file name it spells out, or by an alias it equals, ignoring case
/// and Unicode normalization. So its text holds the file's name (less `.md`) or the alias — except where the text
/// spells them otherwise, and those notes are always read:
/// - only the ASCII runs of a name are looked for, ignoring ASCII case, and not an ASCII character followed by a
///   non-ASCII one (it may be the base of a composed character written decomposed, or the reverse);
/// - a note holding `%XX` (a percent-encoded Markdown link), a backslash before punctuation (a Markdown escape, or
///   `\|` in a table), or a character canonically equal to an ASCII one (KELVIN SIGN, GREEK QUESTION MARK, GREEK
///   VARIA) is always read;
/// - a link ending in `.` or `..` (`[x](..)`) spells no name: it leads to a folder's namesake file, so the notes
///   inside the folder named like the file (`Projects/` for `Projects.md`) are always read;
/// - a name without an ASCII run (`日本.md`) matches every note.
struct LinkNeedles: Sendable {
    /// Per name: the ASCII runs that must all be found, lowercased.
    let runs: [[[UInt8]]]
    /// Some name has no ASCII run: every note may link.
    let everything: Bool
    /// Lowercased folder prefixes (`projects/`) whose notes may reach the file by `.` or `..`.
    let folders: [String]

    /// The name a link to `path` spells at least: its file name, less `.md` for a note.
    static func stem(of path: String) -> String {
        let name = LinkResolver.fileName(path)
        return name.lowercased().hasSuffix(".md") ? String(name.dropLast(3)) : name
    }

    init(names: [String], target: String) {
        self.init(names: names, targets: [target])
    }

    /// Needles for links to any of `targets` (paths), by any of `names`.
    init(names: [String], targets: [String]) {
        var runs: [[[UInt8]]] = []
        var everything = false
        for name in names {
            let key = Array(name.trimmingCharacters(in: .whitespaces).lowercased().utf8)
            var found: [[UInt8]] = [], current: [UInt8] = []
            for (i, byte) in key.enumerated() {
                let safe = byte < 0x80 && byte >= 0x20 && !(i + 1 < key.count && key[i + 1] >= 0x80)
                if safe { current.append(byte) } else if !current.isEmpty { found.append(current); current = [] }
            }
            if !current.isEmpty { found.append(current) }
            if found.isEmpty { everything = true }
            // Longest first: the rarest, most often, so a note that lacks it is turned down at once.
            runs.append(found.sorted { $0.count > $1.count })
        }
        self.runs = runs
        self.everything = everything
        var folders: [String] = []
        for target in targets {
            let lower = target.lowercased()
            folders.append(lower + "/")
            if lower.hasSuffix(".md") { folders.append(String(lower.dropLast(3)) + "/") }
        }
        self.folders = folders
    }

    /// True when the note at `path` may reach the file without naming it (a `..` link from inside its namesake folder).
    func mayLink(from path: String) -> Bool {
        if everything { return true }
        let lower = path.lowercased()
        return folders.contains { lower.hasPrefix($0) }
    }

    /// True when `data` (a note's bytes) may hold a link of interest.
    func mayLink(_ data: Data) -> Bool {
        if everything { return true }
        var buffer = [UInt8](data)
        return buffer.withUnsafeMutableBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return false }
            let bytes = raw.bindMemory(to: UInt8.self)
            for i in bytes.indices where bytes[i] &- 0x41 < 26 { bytes[i] |= 0x20 }
            if Self.spellsOtherwise(bytes) { return true }
            return runs.contains { name in
                name.allSatisfy { run in Self.contains(run, in: UnsafeRawPointer(base), count: raw.count) }
            }
        }
    }

    /// True when the `count` bytes at `base` hold `run` (a `memchr` for its first byte, then a compare).
    private static func contains(_ run: [UInt8], in base: UnsafeRawPointer, count: Int) -> Bool {
        guard let first = run.first else { return true }
        let last = count - run.count
        var from = 0
        while from <= last, let hit = memchr(base + from, Int32(first), last - from + 1) {
            let i = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + i, run, run.count) == 0 { return true }
            from = i + 1
        }
        return false
    }

    /// True when the text may spell a name other than as its bytes: `%XX`, `\\` before ASCII punctuation, or a
    /// character canonically equal to an ASCII one: U+212A KELVIN SIGN (E2 84 AA), U+037E GREEK QUESTION MARK
    /// (CD BE), U+1FEF GREEK VARIA (E1 BF AF).
    private static func spellsOtherwise(_ bytes: UnsafeMutableBufferPointer<UInt8>) -> Bool {
        func hex(_ b: UInt8) -> Bool { (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) }
        let triggers: [(first: UInt8, next: (UnsafeMutableBufferPointer<UInt8>, Int) -> Bool)] = [
            (0x25, { b, i in i + 2 < b.count && hex(b[i + 1]) && hex(b[i + 2]) }),
            (0x5C, { b, i in i + 1 < b.count && isPunctuation(b[i + 1]) }),
            (0xE2, { b, i in i + 2 < b.count && b[i + 1] == 0x84 && b[i + 2] == 0xAA }),
            (0xCD, { b, i in i + 1 < b.count && b[i + 1] == 0xBE }),
            (0xE1, { b, i in i + 2 < b.count && b[i + 1] == 0xBF && b[i + 2] == 0xAF }),
        ]
        guard let base = bytes.baseAddress else { return false }
        for trigger in triggers {
            var from = 0
            while from < bytes.count, let hit = memchr(base + from, Int32(trigger.first), bytes.count - from) {
                let i = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if trigger.next(bytes, i) { return true }
                from = i + 1
            }
        }
        return false
    }

    private static func isPunctuation(_ b: UInt8) -> Bool {
        (0x21...0x2F).contains(b) || (0x3A...0x40).contains(b) || (0x5B...0x60).contains(b) || (0x7B...0x7E).contains(b)
    }
}
