import Foundation

/// A `[[wikilink]]` in a note body: `[[Target]]`, `[[Target|alias]]`, `[[Target#heading]]`,
/// or an embed `![[Target]]`.
public struct WikiLink: Sendable, Hashable, CustomStringConvertible {
    /// The linked note's name or path as written, trimmed (`"Target"` for `[[Target#h|a]]`).
    public let target: String
    /// The heading (or `^block` reference) after `#`, if any.
    public let heading: String?
    /// The display text after `|`, if any.
    public let alias: String?
    /// `true` for `![[…]]` embeds.
    public let isEmbed: Bool
    /// The 1-based line the link is on (a file line when scanned with the body's first line).
    public let line: Int
    /// Where the target is written on its line, in Unicode scalars from the line's start (what a link update
    /// replaces). Not part of equality: two links are the same link wherever they are written.
    public var columns: Range<Int>? = nil

    public static func == (a: WikiLink, b: WikiLink) -> Bool {
        a.target == b.target && a.heading == b.heading && a.alias == b.alias && a.isEmbed == b.isEmbed && a.line == b.line
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(target); hasher.combine(heading); hasher.combine(alias); hasher.combine(isEmbed); hasher.combine(line)
    }

    public var description: String {
        var text = target
        if let heading { text += "#" + heading }
        if let alias { text += "|" + alias }
        return (isEmbed ? "![[" : "[[") + text + "]]"
    }
}

/// A relative Markdown link `[text](path)` or image `![alt](path)` in a note body.
public struct MarkdownLink: Sendable, Hashable {
    /// The link text (or image alt text) as written.
    public let text: String
    /// The link destination's path: percent-decoded, without `#fragment` or `?query`.
    public let target: String
    /// `true` for `![alt](path)` images.
    public let isImage: Bool
    /// The 1-based line the link is on (a file line when scanned with the body's first line).
    public let line: Int
    /// What follows `#` in the destination, percent-decoded (a heading or `^block`), if any.
    public var fragment: String? = nil
    /// Where the destination's path (before `#` or `?`, as written) is on its line, in Unicode scalars from the
    /// line's start; not part of equality.
    public var columns: Range<Int>? = nil
    /// The destination is written in angle brackets (`[x](<a b.md>)`), where spaces need no encoding.
    public var angleBrackets = false

    public static func == (a: MarkdownLink, b: MarkdownLink) -> Bool {
        a.text == b.text && a.target == b.target && a.isImage == b.isImage && a.line == b.line && a.fragment == b.fragment
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(text); hasher.combine(target); hasher.combine(isImage); hasher.combine(line); hasher.combine(fragment)
    }
}

/// What a note body refers to: its first `# Heading`, inline `#tags`, wikilinks and relative
/// Markdown links — everything found outside fenced code blocks and inline code.
public struct NoteLinks: Sendable, Hashable {
    /// The text of the first level-1 ATX heading (`# Title`), trimmed, if any.
    public let firstHeading: String?
    /// Inline `#tags`: lowercased, without `#`, deduplicated, in order of first appearance.
    public let tags: [String]
    /// Every wikilink with a non-empty target, in order (repeats included).
    public let wikiLinks: [WikiLink]
    /// Every relative Markdown link, in order (repeats included). Links with a URL scheme
    /// (`https:`, `mailto:` …), protocol-relative links and same-page `#anchors` are left out.
    public let markdownLinks: [MarkdownLink]

    /// Scans a Markdown body.
    ///
    /// - Parameters:
    ///   - body: the note text after its front matter; LF or CRLF line endings.
    ///   - firstLine: the file line `body` starts on, so reported lines are file lines.
    /// - Guarantees: linear in the size of `body` (apart from scanning a line for a closing
    ///   bracket), never traps. Text inside fenced code blocks (```` ``` ```` or `~~~`, unclosed
    ///   fences run to the end) and inline code spans is ignored, as are backslash-escaped
    ///   characters. An inline tag is `#` at the start of a line or after whitespace, followed
    ///   by letters, digits, `-`, `_` or `/`, and not only digits; `# Heading` is not a tag.
    public static func scan(_ body: String, firstLine: Int = 1) -> NoteLinks {
        var scanner = BodyScanner()
        var lineNumber = firstLine
        var fence: (marker: Unicode.Scalar, count: Int)?
        // Lines are cut from the UTF-8 bytes (a `\n` byte is never part of another character). A line without
        // `#`, `[`, a backtick or `~` can hold no heading, tag, link or fence, so it is passed over without
        // being decoded into scalars: most lines of prose are.
        var text = body
        // One buffer for the scalars of a line, reused line after line.
        var line: [Unicode.Scalar] = []
        text.withUTF8 { bytes in
            var start = 0
            while start <= bytes.count {
                var end = start
                var interesting = false
                var ascii = true
                while end < bytes.count, bytes[end] != 0x0A {
                    switch bytes[end] {
                    case 0x23, 0x5B, 0x60, 0x7E: interesting = true  // # [ ` ~
                    case 0x80...: ascii = false
                    default: break
                    }
                    end += 1
                }
                defer { lineNumber += 1; start = end + 1 }
                guard interesting else { continue }
                line.removeAll(keepingCapacity: true)
                if ascii {
                    // An ASCII byte is its own scalar: no String to build and decode.
                    for index in start..<end { line.append(Unicode.Scalar(bytes[index])) }
                } else {
                    line.append(contentsOf: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self).unicodeScalars)
                }
                if line.last == "\r" { line.removeLast() }
                if let open = fence {
                    if let close = fenceMarker(line), close.marker == open.marker, close.count >= open.count,
                       close.rest.allSatisfy({ $0 == " " || $0 == "\t" }) {
                        fence = nil
                    }
                    continue
                }
                if let open = fenceMarker(line), !(open.marker == "`" && open.rest.contains("`")) {
                    fence = (open.marker, open.count)
                    continue
                }
                scanner.scanLine(line, number: lineNumber)
            }
        }
        return NoteLinks(
            firstHeading: scanner.firstHeading,
            tags: normalizedTags(scanner.tags),
            wikiLinks: scanner.wikiLinks,
            markdownLinks: scanner.markdownLinks)
    }

    /// A code fence opening or closing line: up to three spaces, then three or more backticks or tildes.
    private static func fenceMarker(_ line: [Unicode.Scalar]) -> (marker: Unicode.Scalar, count: Int, rest: ArraySlice<Unicode.Scalar>)? {
        var index = 0
        while index < line.count, index < 3, line[index] == " " { index += 1 }
        guard index < line.count, line[index] == "`" || line[index] == "~" else { return nil }
        let marker = line[index]
        var count = 0
        while index < line.count, line[index] == marker {
            count += 1
            index += 1
        }
        guard count >= 3 else { return nil }
        return (marker, count, line[index...])
    }
}

/// Small text helpers for notes (Foundation's `trimmingCharacters` is slow on Linux).
enum NoteText {
    /// `text` without leading and trailing whitespace (spaces, tabs, line breaks, Unicode spaces).
    static func trimmed<S: StringProtocol>(_ text: S) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !BodyScanner.isSpace($0) }),
              let last = scalars.lastIndex(where: { !BodyScanner.isSpace($0) }) else { return "" }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }
}

/// Scans the lines of a body outside code blocks, collecting headings, tags and links.
private struct BodyScanner {
    /// Links longer than this many scalars (brackets included) are not recognised.
    static let maxLinkLength = 4096

    var firstHeading: String?
    var tags: [String] = []
    var wikiLinks: [WikiLink] = []
    var markdownLinks: [MarkdownLink] = []
    /// Per line: for a title delimiter, a position from which the line holds no closing delimiter.
    private var noTitleCloserFrom: [Unicode.Scalar: Int] = [:]

    mutating func scanLine(_ line: [Unicode.Scalar], number: Int) {
        // Most lines hold nothing to find: skip them without building the masks below.
        guard line.contains(where: { $0 == "#" || $0 == "[" || $0 == "`" }) else { return }
        if firstHeading == nil {
            firstHeading = Self.levelOneHeading(line)
        }
        let code = Self.inlineCodeMask(line)
        let closeOf = Self.matchingBrackets(line, code: code)
        noTitleCloserFrom = [:]
        var index = 0
        while index < line.count {
            if code[index] {
                index += 1
                continue
            }
            let scalar = line[index]
            switch scalar {
            case "\\":
                index += (index + 1 < line.count && Self.isASCIIPunctuation(line[index + 1])) ? 2 : 1
            case "[":
                let isBang = index > 0 && line[index - 1] == "!" && !code[index - 1]
                if index + 1 < line.count, line[index + 1] == "[",
                   let end = wikiLink(line, code: code, open: index, embed: isBang, number: number) {
                    index = end
                } else if let end = markdownLink(line, closeOf: closeOf, open: index, image: isBang, number: number) {
                    index = end
                } else {
                    index += 1
                }
            case "#":
                if index == 0 || Self.isSpace(line[index - 1]) {
                    var end = index + 1
                    while end < line.count, !code[end], Self.isTagScalar(line[end]) { end += 1 }
                    var tag = line[(index + 1)..<end]
                    while tag.last == "/" { tag = tag.dropLast() }
                    if !tag.isEmpty, !tag.allSatisfy({ $0.properties.generalCategory == .decimalNumber }) {
                        tags.append(Self.string(tag))
                    }
                    index = max(end, index + 1)
                } else {
                    index += 1
                }
            default:
                index += 1
            }
        }
    }

    /// Parses `[[…]]` starting at `open`; returns the index after `]]`, or `nil` when it is not one.
    private mutating func wikiLink(_ line: [Unicode.Scalar], code: [Bool], open: Int, embed: Bool, number: Int) -> Int? {
        let limit = min(line.count, open + BodyScanner.maxLinkLength)
        var index = open + 2
        while index + 1 < limit {
            if code[index] || line[index] == "[" { return nil }
            if line[index] == "]" {
                guard line[index + 1] == "]" else { return nil }
                let content = Self.string(line[(open + 2)..<index])
                appendWikiLink(content, embed: embed, number: number, columns: Self.targetColumns(line, from: open + 2, to: index))
                return index + 2
            }
            index += 1
        }
        return nil
    }

    /// The scalars of a wikilink's target within `line[from..<to]` (its content): before the first `|` (less a
    /// `\` escaping it) and `#`, spaces trimmed — the same cut `appendWikiLink` makes.
    static func targetColumns(_ line: [Unicode.Scalar], from: Int, to: Int) -> Range<Int> {
        var end = to
        if let bar = line[from..<to].firstIndex(of: "|") {
            end = bar
            if end > from, line[end - 1] == "\\" { end -= 1 }
        }
        if let hash = line[from..<end].firstIndex(of: "#") { end = hash }
        var start = from
        while start < end, isSpace(line[start]) { start += 1 }
        while end > start, isSpace(line[end - 1]) { end -= 1 }
        return start..<end
    }

    private mutating func appendWikiLink(_ content: String, embed: Bool, number: Int, columns: Range<Int>) {
        var targetPart = Substring(content)
        var alias: String?
        if let bar = content.firstIndex(of: "|") {
            targetPart = content[..<bar]
            let text = NoteText.trimmed(content[content.index(after: bar)...])
            alias = text.isEmpty ? nil : text
        }
        if targetPart.hasSuffix("\\") { targetPart = targetPart.dropLast() }  // `\|` inside tables
        var heading: String?
        if let hash = targetPart.firstIndex(of: "#") {
            let text = NoteText.trimmed(targetPart[targetPart.index(after: hash)...])
            heading = text.isEmpty ? nil : text
            targetPart = targetPart[..<hash]
        }
        let target = NoteText.trimmed(targetPart)
        guard !target.isEmpty else { return }
        wikiLinks.append(WikiLink(target: target, heading: heading, alias: alias, isEmbed: embed, line: number, columns: columns))
    }

    /// Parses `[text](destination "title")` starting at `open`; returns the index after `)`.
    private mutating func markdownLink(_ line: [Unicode.Scalar], closeOf: [Int?], open: Int, image: Bool, number: Int) -> Int? {
        // Link text: up to the matching `]`, which must be followed by `(`.
        guard let close = closeOf[open], close + 1 < line.count, line[close + 1] == "(" else { return nil }
        // Destination and title are bounded (and nested parentheses capped at 32, as in
        // CommonMark), so a line full of brackets costs linear time, not quadratic.
        let limit = min(line.count, close + BodyScanner.maxLinkLength)
        var index = close
        let text = Self.string(line[(open + 1)..<index])
        index += 2
        while index < limit, line[index] == " " || line[index] == "\t" { index += 1 }
        var destination: [Unicode.Scalar] = []
        var destinationStart = index
        let angle = index < limit && line[index] == "<"
        if angle {
            index += 1
            destinationStart = index
            while index < limit, line[index] != ">" {
                if line[index] == "<" { return nil }
                destination.append(line[index])
                index += 1
            }
            guard index < limit else { return nil }
            index += 1
        } else {
            destinationStart = index
            var parens = 0
            while index < limit {
                let scalar = line[index]
                if scalar == "\\", index + 1 < limit, Self.isASCIIPunctuation(line[index + 1]) {
                    destination.append(line[index + 1])
                    index += 2
                    continue
                }
                if Self.isSpace(scalar) { break }
                if scalar == "(" {
                    parens += 1
                    if parens > 32 { return nil }
                }
                if scalar == ")" {
                    if parens == 0 { break }
                    parens -= 1
                }
                destination.append(scalar)
                index += 1
            }
        }
        let destinationEnd = angle ? index - 1 : index
        while index < limit, line[index] == " " || line[index] == "\t" { index += 1 }
        if index < limit, let closer = Self.titleCloser(line[index]) {
            index += 1
            if let hopeless = noTitleCloserFrom[closer], index >= hopeless { return nil }
            let titleStart = index
            while index < limit, line[index] != closer {
                if line[index] == "\\" { index += 1 }
                index += 1
            }
            guard index < limit else {
                if limit == line.count { noTitleCloserFrom[closer] = titleStart }
                return nil
            }
            index += 1
            while index < limit, line[index] == " " || line[index] == "\t" { index += 1 }
        }
        guard index < limit, line[index] == ")" else { return nil }
        let written = Self.string(destination[...])
        if let target = Self.relativeTarget(written) {
            let pathEnd = line[destinationStart..<destinationEnd].firstIndex { $0 == "#" || $0 == "?" } ?? destinationEnd
            markdownLinks.append(MarkdownLink(text: text, target: target, isImage: image, line: number,
                                              fragment: Self.fragment(written), columns: destinationStart..<pathEnd,
                                              angleBrackets: angle))
        }
        return index + 1
    }

    // MARK: - Helpers

    private static func titleCloser(_ scalar: Unicode.Scalar) -> Unicode.Scalar? {
        switch scalar {
        case "\"": "\""
        case "'": "'"
        case "(": ")"
        default: nil
        }
    }

    /// The path of a link destination, or `nil` for URLs, same-page anchors and empty paths.
    static func relativeTarget(_ destination: String) -> String? {
        let trimmed = NoteText.trimmed(destination)
        guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), !trimmed.hasPrefix("//"), !hasScheme(trimmed) else {
            return nil
        }
        var path = Substring(trimmed)
        if let cut = path.firstIndex(where: { $0 == "#" || $0 == "?" }) {
            path = path[..<cut]
        }
        let decoded = path.contains("%") ? (String(path).removingPercentEncoding ?? String(path)) : String(path)
        return decoded.isEmpty ? nil : decoded
    }

    /// The decoded `#fragment` of a link destination (before any `?query` inside it), nil when there is none.
    static func fragment(_ destination: String) -> String? {
        guard let hash = destination.firstIndex(of: "#") else { return nil }
        let raw = destination[destination.index(after: hash)...]
        let text = NoteText.trimmed(raw.removingPercentEncoding ?? String(raw))
        return text.isEmpty ? nil : text
    }

    /// `true` when `text` starts with a URL scheme such as `https:` or `mailto:`.
    private static func hasScheme(_ text: String) -> Bool {
        var scalars = text.unicodeScalars.makeIterator()
        guard let first = scalars.next(), first.isASCII, first.properties.isAlphabetic else { return false }
        while let scalar = scalars.next() {
            if scalar == ":" { return true }
            let ok = scalar.isASCII && (scalar.properties.isAlphabetic || scalar.properties.numericType != nil
                || scalar == "+" || scalar == "." || scalar == "-")
            if !ok { return false }
        }
        return false
    }

    /// For each `[` outside code, the index of its matching `]` (nesting respected, escapes
    /// skipped, never across code), or `nil`. One pass with a stack.
    static func matchingBrackets(_ line: [Unicode.Scalar], code: [Bool]) -> [Int?] {
        var closeOf = [Int?](repeating: nil, count: line.count)
        var open: [Int] = []
        var index = 0
        while index < line.count {
            if code[index] {
                open.removeAll()  // links do not span code
                index += 1
                continue
            }
            switch line[index] {
            case "\\" where index + 1 < line.count && isASCIIPunctuation(line[index + 1]):
                index += 1
            case "[":
                open.append(index)
            case "]":
                if let opener = open.popLast() { closeOf[opener] = index }
            default:
                break
            }
            index += 1
        }
        return closeOf
    }

    /// Marks the scalars that belong to inline code spans: a run of N backticks up to the next
    /// run of exactly N backticks. Linear time: runs are matched through per-length queues.
    static func inlineCodeMask(_ line: [Unicode.Scalar]) -> [Bool] {
        var mask = [Bool](repeating: false, count: line.count)
        // Backtick runs, in order; a backslash-escaped first backtick cannot open a span.
        var runs: [(start: Int, length: Int)] = []
        var index = 0
        while index < line.count {
            if line[index] == "\\", index + 1 < line.count, isASCIIPunctuation(line[index + 1]) {
                index += 2
                continue
            }
            if line[index] == "`" {
                let length = backtickRun(line, at: index)
                runs.append((index, length))
                index += length
            } else {
                index += 1
            }
        }
        var byLength: [Int: [Int]] = [:]  // run length → indices into `runs`, ascending
        for (position, run) in runs.enumerated() {
            byLength[run.length, default: []].append(position)
        }
        var cursor: [Int: Int] = [:]  // run length → next candidate in byLength
        var covered = 0  // scalars before this index are already inside a span
        for (position, run) in runs.enumerated() where run.start >= covered {
            guard let candidates = byLength[run.length] else { continue }
            var next = cursor[run.length, default: 0]
            while next < candidates.count, candidates[next] <= position { next += 1 }
            cursor[run.length] = next
            guard next < candidates.count else { continue }
            let closing = runs[candidates[next]]
            for spanned in run.start..<(closing.start + closing.length) { mask[spanned] = true }
            covered = closing.start + closing.length
        }
        return mask
    }

    private static func backtickRun(_ line: [Unicode.Scalar], at start: Int) -> Int {
        var end = start
        while end < line.count, line[end] == "`" { end += 1 }
        return end - start
    }

    /// The text of a `# Heading` line (level 1 only), without a closing `#` sequence.
    static func levelOneHeading(_ line: [Unicode.Scalar]) -> String? {
        var index = 0
        while index < line.count, index < 3, line[index] == " " { index += 1 }
        guard index < line.count, line[index] == "#" else { return nil }
        index += 1
        guard index == line.count || line[index] == " " || line[index] == "\t" else { return nil }
        var content = line[index...]
        while let last = content.last, last == " " || last == "\t" { content = content.dropLast() }
        var closing = content
        while closing.last == "#" { closing = closing.dropLast() }
        if closing.isEmpty || closing.last == " " || closing.last == "\t" {
            content = closing
        }
        let text = NoteText.trimmed(string(content))
        return text.isEmpty ? nil : text
    }

    static func isTagScalar(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            switch scalar.value {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, 0x2D, 0x5F, 0x2F: return true
            default: return false
            }
        }
        switch scalar {
        case "-", "_", "/": return true
        default:
            switch scalar.properties.generalCategory {
            case .decimalNumber, .nonspacingMark, .spacingMark: return true
            default: return scalar.properties.isAlphabetic
            }
        }
    }

    static func isASCIIPunctuation(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x21...0x2F, 0x3A...0x40, 0x5B...0x60, 0x7B...0x7E: true
        default: false
        }
    }

    static func string(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(scalars.count)
        for scalar in scalars {
            UTF8.encode(scalar) { bytes.append($0) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whitespace test with an ASCII fast path (Unicode properties are slow to look up).
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            return scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r"
                || scalar.value == 0x0B || scalar.value == 0x0C
        }
        return scalar.properties.isWhitespace
    }
}
