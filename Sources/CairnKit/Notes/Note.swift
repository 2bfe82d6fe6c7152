import Foundation

/// A problem with a note file, pinned to the file and line where it is: `path:line: reason`.
public struct NoteError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The vault-relative path of the note.
    public let path: String
    /// The 1-based line in the file (the opening `---` is line 1, the first YAML line is line 2).
    public let line: Int
    /// What is wrong, in words the operator can act on.
    public let reason: String

    public init(path: String, line: Int, reason: String) {
        self.path = path
        self.line = line
        self.reason = reason
    }

    public var description: String { "\(path):\(line): \(reason)" }
}

/// A Markdown note: optional YAML front matter, a body, and what both say about the note.
///
/// The file's text is kept exactly (`text` reproduces it byte for byte), so Cairn can read a
/// note without ever reformatting it. Derived values (`title`, `tier`, `tags`, links) are
/// computed once, when the note is made.
public struct Note: Sendable, Hashable {
    /// The vault-relative path, with `/` separators.
    public let path: String
    /// `true` when the file starts with a UTF-8 byte order mark (kept out of `body`).
    public let hasByteOrderMark: Bool
    /// The front matter block, when the file starts with one.
    public let frontMatter: FrontMatter?
    /// The text after the front matter (the whole text without one), exactly as in the file.
    public let body: String
    /// The file line (1-based) that `body` starts on.
    public let bodyFirstLine: Int
    /// Headings, inline tags and links found in `body`, with file line numbers.
    public let links: NoteLinks

    /// The front matter `title`, else the first `# Heading` of the body, else the file name
    /// without its extension and with dashes read as spaces.
    public let title: String
    /// The front matter `tier`, else the tier of the folder the note is in.
    public let tier: Tier?
    /// Front matter tags, then inline `#tags`: lowercased, without `#`, deduplicated, in order.
    public let tags: [String]
    /// Targets of the body's `[[wikilinks]]` (`"Target"` for `[[Target#h|alias]]`), deduplicated, in order.
    public let wikilinks: [String]
    /// Relative Markdown link targets (`[text](path.md)`), deduplicated, in order; URLs are left out.
    public let markdownLinks: [String]

    /// Makes a note from its parts and derives its title, tier, tags and links.
    public init(path: String, frontMatter: FrontMatter?, body: String, hasByteOrderMark: Bool = false) {
        self.path = path
        self.frontMatter = frontMatter
        self.body = body
        self.hasByteOrderMark = hasByteOrderMark
        self.bodyFirstLine = (frontMatter?.lines.upperBound ?? 0) + 1
        let links = NoteLinks.scan(body, firstLine: bodyFirstLine)
        self.links = links
        self.title = frontMatter?.title ?? links.firstHeading ?? Note.fileTitle(path)
        self.tier = frontMatter?.tier ?? Tier.fromPath(path)
        self.tags = normalizedTags((frontMatter?.tags ?? []) + links.tags)
        self.wikilinks = Note.unique(links.wikiLinks.map(\.target))
        self.markdownLinks = Note.unique(links.markdownLinks.map(\.target))
    }

    /// The file's full text, exactly as read: byte order mark, front matter block and body.
    public var text: String {
        (hasByteOrderMark ? "\u{FEFF}" : "") + (frontMatter?.block ?? "") + body
    }

    /// `expires:` as written in the front matter.
    public var expires: String? { frontMatter?.expires }
    /// `expires:` as a UTC day, or `nil` when absent or not a date.
    public var expiresDate: Date? { expires.flatMap(FrontMatter.date(from:)) }
    /// `review_after:` as written in the front matter.
    public var reviewAfter: String? { frontMatter?.reviewAfter }
    /// `review_after:` as a UTC day, or `nil` when absent or not a date.
    public var reviewAfterDate: Date? { reviewAfter.flatMap(FrontMatter.date(from:)) }
    /// `pinned:` from the front matter; `false` when absent.
    public var pinned: Bool { frontMatter?.pinned ?? false }

    // MARK: - New notes

    /// The text of a new note: front matter with title, tier, tags and created day, a blank line,
    /// and a `# Title` heading.
    ///
    /// Guarantees: `NoteParser.parse` reads the result back with the same title, tier and tags.
    /// Whitespace runs in the title (newlines included) become single spaces and control
    /// characters are dropped; an empty title becomes "Untitled". Tags are normalized like parsed
    /// tags (lowercased, no `#`, no duplicates). `created` is written as `YYYY-MM-DD` in UTC.
    public static func render(title: String, tier: Tier, tags: [String], created: Date) -> String {
        let cleanTitle = singleLine(title)
        let flowTags = normalizedTags(tags.map(singleLine)).map(FrontMatter.yamlScalar).joined(separator: ", ")
        return """
            ---
            title: \(FrontMatter.yamlScalar(cleanTitle))
            tier: \(tier.rawValue)
            tags: [\(flowTags)]
            created: \(FrontMatter.dayString(created))
            ---

            # \(cleanTitle)

            """
    }

    // MARK: - Helpers

    private static func singleLine(_ text: String) -> String {
        var scalars = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .control, .lineSeparator, .paragraphSeparator: scalars.append(" ")
            case .format where scalar == "\u{FEFF}": continue
            default: scalars.append(scalar)
            }
        }
        let collapsed = String(scalars).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        return collapsed.isEmpty ? "Untitled" : collapsed
    }

    /// `memory/working/weekly-plan.md` → `weekly plan`.
    static func fileTitle(_ path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        var stem = Substring(name)
        if let dot = stem.lastIndex(of: "."), dot != stem.startIndex {
            stem = stem[..<dot]
        }
        let title = NoteText.trimmed(stem.replacingOccurrences(of: "-", with: " "))
        return title.isEmpty ? "Untitled" : title
    }

    private static func unique(_ items: [String]) -> [String] {
        var seen = Set<String>()
        return items.filter { seen.insert($0).inserted }
    }
}

/// Reads note files into `Note` values.
public enum NoteParser {
    /// Parses the bytes of a note file.
    ///
    /// - Parameters:
    ///   - path: the note's vault-relative path (used for the tier and the fallback title, and in errors).
    ///   - data: the file's contents.
    /// - Returns: the note; its `text` is exactly `data` decoded.
    /// - Throws: `NoteError` with the file line of the problem: NUL bytes, invalid UTF-8, front
    ///   matter that is never closed, larger than `FrontMatter.maxYAMLBytes`, not valid YAML, not
    ///   a mapping, using aliases, nested too deeply, or with ill-typed known keys.
    ///   Never traps, whatever `data` holds.
    ///
    /// Front matter is recognised only when the first line (after an optional byte order mark)
    /// is exactly `---` (trailing spaces allowed); it ends at the next line that is `---` or `...`.
    /// LF and CRLF line endings are both accepted.
    public static func parse(path: String, data: Data) throws(NoteError) -> Note {
        let parts = try split(path: path, data: data)
        return Note(path: path, frontMatter: parts.frontMatter, body: parts.body, hasByteOrderMark: parts.hasBOM)
    }

    /// Checks a note as `parse` does, without scanning its body for links and tags (what `cairn doctor` and
    /// `snapshot` need to know about every note).
    public static func validate(path: String, data: Data) throws(NoteError) {
        _ = try split(path: path, data: data)
    }

    /// The front matter, body and byte order mark of a note file, without scanning the body (for callers that need
    /// only some of what `Note` derives); throws what `parse` throws.
    static func split(path: String, data: Data) throws(NoteError) -> (frontMatter: FrontMatter?, body: String, hasBOM: Bool) {
        let bytes = [UInt8](data)
        // `memchr`, not a loop over the array: this runs on every note of the vault.
        if let nul = bytes.withUnsafeBytes({ raw in raw.baseAddress.flatMap { memchr($0, 0, raw.count) }.map { raw.baseAddress!.distance(to: UnsafeRawPointer($0)) } }) {
            throw NoteError(path: path, line: lineNumber(ofOffset: nul, in: bytes),
                            reason: "contains NUL bytes (binary file?)")
        }
        if let invalid = firstInvalidUTF8Offset(bytes) {
            throw NoteError(path: path, line: lineNumber(ofOffset: invalid, in: bytes), reason: "not valid UTF-8")
        }
        let hasBOM = bytes.starts(with: [0xEF, 0xBB, 0xBF])
        let start = hasBOM ? 3 : 0

        let firstLineEnd = lineEnd(in: bytes, from: start)
        guard isFence(bytes[start..<firstLineEnd.contentEnd], markers: [[0x2D, 0x2D, 0x2D]]) else {
            return (nil, text(bytes[start...]), hasBOM)
        }

        let yamlStart = firstLineEnd.next
        var lineStart = yamlStart
        var lineNumber = 2
        var closing: (start: Int, next: Int, line: Int)?
        while lineStart < bytes.count {
            let end = lineEnd(in: bytes, from: lineStart)
            if isFence(bytes[lineStart..<end.contentEnd], markers: [[0x2D, 0x2D, 0x2D], [0x2E, 0x2E, 0x2E]]) {
                closing = (lineStart, end.next, lineNumber)
                break
            }
            lineStart = end.next
            lineNumber += 1
        }
        guard let closing else {
            throw NoteError(path: path, line: 1, reason: "front matter opened with '---' is never closed")
        }
        let yamlSize = closing.start - yamlStart
        guard yamlSize <= FrontMatter.maxYAMLBytes else {
            throw NoteError(
                path: path, line: 1,
                reason: "front matter is \(yamlSize) bytes, more than the \(FrontMatter.maxYAMLBytes / 1024) KiB allowed")
        }
        let frontMatter = try FrontMatter.parse(
            yaml: text(bytes[yamlStart..<closing.start]),
            block: text(bytes[start..<closing.next]),
            lines: 1...closing.line,
            path: path)
        return (frontMatter, text(bytes[closing.next...]), hasBOM)
    }

    /// Reads a note the way an editor shows it: front matter that does not parse (an Obsidian template's
    /// `created: {{date}}`, a typo) counts as no front matter, and the whole text is the body. Never throws.
    public static func lenient(path: String, data: Data) -> Note {
        (try? parse(path: path, data: data)) ?? Note(path: path, frontMatter: nil, body: String(decoding: data, as: UTF8.self))
    }

    /// Parses a note from text (as `parse(path:data:)` on its UTF-8 bytes).
    public static func parse(path: String, text: String) throws(NoteError) -> Note {
        try parse(path: path, data: Data(text.utf8))
    }

    // MARK: - Helpers

    private static func text(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// The end of the line starting at `start`: where its content ends (before `\r\n` or `\n`)
    /// and where the next line starts.
    private static func lineEnd(in bytes: [UInt8], from start: Int) -> (contentEnd: Int, next: Int) {
        var index = start
        while index < bytes.count, bytes[index] != 0x0A { index += 1 }
        let next = index < bytes.count ? index + 1 : index
        var contentEnd = index
        if contentEnd > start, bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
        return (contentEnd, next)
    }

    /// `true` when `line` is one of `markers` followed only by spaces or tabs.
    private static func isFence(_ line: ArraySlice<UInt8>, markers: [[UInt8]]) -> Bool {
        for marker in markers where line.starts(with: marker) {
            if line.dropFirst(marker.count).allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
                return true
            }
        }
        return false
    }

    private static func lineNumber(ofOffset offset: Int, in bytes: [UInt8]) -> Int {
        bytes[..<min(offset, bytes.count)].reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
    }

    /// The offset of the first byte that is not part of a valid UTF-8 sequence, or `nil`.
    private static func firstInvalidUTF8Offset(_ bytes: [UInt8]) -> Int? {
        // An ASCII run is valid, and a scalar starts right after it: eight bytes at a time to the first byte
        // ≥ 0x80 (most notes have none), and only the rest through the scalar parser.
        let ascii = bytes.withUnsafeBytes { raw -> Int in
            var i = 0
            while i + 8 <= raw.count, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
            while i < raw.count, raw[i] < 0x80 { i += 1 }
            return i
        }
        if ascii == bytes.count { return nil }
        var iterator = bytes[ascii...].makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = ascii
        while true {
            switch parser.parseScalar(from: &iterator) {
            case let .valid(encoded):
                offset += encoded.count
            case .error:
                return offset
            case .emptyInput:
                return nil
            }
        }
    }
}
