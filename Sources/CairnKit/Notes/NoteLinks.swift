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
        for rawLine in body.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false) {
            defer { lineNumber += 1 }
            var line = Array(rawLine)
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

/// Scans the lines of a body outside code blocks, collecting headings, tags and links.
private struct BodyScanner {
    var firstHeading: String?
    var tags: [String] = []
    var wikiLinks: [WikiLink] = []
    var markdownLinks: [MarkdownLink] = []

    mutating func scanLine(_ line: [Unicode.Scalar], number: Int) {
        if firstHeading == nil {
            firstHeading = Self.levelOneHeading(line)
        }
        let code = Self.inlineCodeMask(line)
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
                } else if let end = markdownLink(line, code: code, open: index, image: isBang, number: number) {
                    index = end
                } else {
                    index += 1
                }
            case "#":
                if index == 0 || line[index - 1].properties.isWhitespace {
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
        var index = open + 2
        while index + 1 < line.count {
            if code[index] || line[index] == "[" { return nil }
            if line[index] == "]" {
                guard line[index + 1] == "]" else { return nil }
                let content = Self.string(line[(open + 2)..<index])
                appendWikiLink(content, embed: embed, number: number)
                return index + 2
            }
            index += 1
        }
        return nil
    }

    private mutating func appendWikiLink(_ content: String, embed: Bool, number: Int) {
        var targetPart = Substring(content)
        var alias: String?
        if let bar = content.firstIndex(of: "|") {
            targetPart = content[..<bar]
            let text = content[content.index(after: bar)...].trimmingCharacters(in: .whitespaces)
            alias = text.isEmpty ? nil : text
        }
        if targetPart.hasSuffix("\\") { targetPart = targetPart.dropLast() }  // `\|` inside tables
        var heading: String?
        if let hash = targetPart.firstIndex(of: "#") {
            let text = targetPart[targetPart.index(after: hash)...].trimmingCharacters(in: .whitespaces)
            heading = text.isEmpty ? nil : text
            targetPart = targetPart[..<hash]
        }
        let target = targetPart.trimmingCharacters(in: .whitespaces)
        guard !target.isEmpty else { return }
        wikiLinks.append(WikiLink(target: target, heading: heading, alias: alias, isEmbed: embed, line: number))
    }

    /// Parses `[text](destination "title")` starting at `open`; returns the index after `)`.
    private mutating func markdownLink(_ line: [Unicode.Scalar], code: [Bool], open: Int, image: Bool, number: Int) -> Int? {
        // Link text: balanced brackets, escapes skipped, not crossing code.
        var index = open + 1
        var depth = 1
        while index < line.count {
            if code[index] { return nil }
            switch line[index] {
            case "\\": index += 1
            case "[": depth += 1
            case "]": depth -= 1
            default: break
            }
            if depth == 0 { break }
            index += 1
        }
        guard depth == 0, index + 1 < line.count, line[index + 1] == "(" else { return nil }
        let text = Self.string(line[(open + 1)..<index])
        index += 2
        while index < line.count, line[index] == " " || line[index] == "\t" { index += 1 }
        var destination: [Unicode.Scalar] = []
        if index < line.count, line[index] == "<" {
            index += 1
            while index < line.count, line[index] != ">" {
                if line[index] == "<" { return nil }
                destination.append(line[index])
                index += 1
            }
            guard index < line.count else { return nil }
            index += 1
        } else {
            var parens = 0
            while index < line.count {
                let scalar = line[index]
                if scalar == "\\", index + 1 < line.count, Self.isASCIIPunctuation(line[index + 1]) {
                    destination.append(line[index + 1])
                    index += 2
                    continue
                }
                if scalar.properties.isWhitespace { break }
                if scalar == "(" { parens += 1 }
                if scalar == ")" {
                    if parens == 0 { break }
                    parens -= 1
                }
                destination.append(scalar)
                index += 1
            }
        }
        while index < line.count, line[index] == " " || line[index] == "\t" { index += 1 }
        if index < line.count, let closer = Self.titleCloser(line[index]) {
            index += 1
            while index < line.count, line[index] != closer {
                if line[index] == "\\" { index += 1 }
                index += 1
            }
            guard index < line.count else { return nil }
            index += 1
            while index < line.count, line[index] == " " || line[index] == "\t" { index += 1 }
        }
        guard index < line.count, line[index] == ")" else { return nil }
        if let target = Self.relativeTarget(Self.string(destination[...])) {
            markdownLinks.append(MarkdownLink(text: text, target: target, isImage: image, line: number))
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
        let trimmed = destination.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, !trimmed.hasPrefix("#"), !trimmed.hasPrefix("//"), !hasScheme(trimmed) else {
            return nil
        }
        var path = Substring(trimmed)
        if let cut = path.firstIndex(where: { $0 == "#" || $0 == "?" }) {
            path = path[..<cut]
        }
        let decoded = String(path).removingPercentEncoding ?? String(path)
        return decoded.isEmpty ? nil : decoded
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

    /// Marks the scalars that belong to inline code spans (backtick runs of equal length).
    static func inlineCodeMask(_ line: [Unicode.Scalar]) -> [Bool] {
        var mask = [Bool](repeating: false, count: line.count)
        var index = 0
        while index < line.count {
            if line[index] == "\\", index + 1 < line.count, isASCIIPunctuation(line[index + 1]) {
                index += 2
                continue
            }
            guard line[index] == "`" else {
                index += 1
                continue
            }
            let runLength = backtickRun(line, at: index)
            var search = index + runLength
            var closing: Int?
            while search < line.count {
                if line[search] == "`" {
                    let length = backtickRun(line, at: search)
                    if length == runLength {
                        closing = search
                        break
                    }
                    search += length
                } else {
                    search += 1
                }
            }
            if let closing {
                for position in index..<(closing + runLength) { mask[position] = true }
                index = closing + runLength
            } else {
                index += runLength
            }
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
        let text = string(content).trimmingCharacters(in: .whitespaces)
        return text.isEmpty ? nil : text
    }

    static func isTagScalar(_ scalar: Unicode.Scalar) -> Bool {
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
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }
}
