import Foundation
internal import CYaml
import Yams

/// A YAML value from front matter: `Sendable`, comparable, and keeping mapping keys in file order.
///
/// Scalars are typed the way YAML 1.1 resolves plain scalars (`yes` is `.bool(true)`, `~` is
/// `.null`). Timestamps and integers too large for `Int` stay `.string` with their text as
/// written; the exact source text of the whole block is always in `FrontMatter.yaml`.
public enum YAMLValue: Sendable, Hashable {
    /// Text, including timestamps and numbers too large for `Int`, as written.
    case string(String)
    /// An integer (`12`, `0x1F`, `1_000`).
    case int(Int)
    /// A floating-point number (`2.5`, `.inf`, `.nan`).
    case double(Double)
    /// A boolean (`true`, `false`, and YAML 1.1's `yes`/`no`/`on`/`off`).
    case bool(Bool)
    /// `null`, `~` or an empty value.
    case null
    /// A sequence.
    case list([YAMLValue])
    /// A mapping, keys in file order; non-text keys are rejected at parse time.
    case map([(key: String, value: YAMLValue)])

    /// The value for `key` when this is a mapping (the first one, should a key repeat).
    public subscript(key: String) -> YAMLValue? {
        guard case let .map(pairs) = self else { return nil }
        return pairs.first { $0.key == key }?.value
    }

    /// The text of a scalar (`"12"` for `.int(12)`), or `nil` for null, lists and mappings.
    public var scalarText: String? {
        switch self {
        case let .string(text): text
        case let .int(number): String(number)
        case let .double(number): String(number)
        case let .bool(flag): flag ? "true" : "false"
        case .null, .list, .map: nil
        }
    }

    public static func == (lhs: YAMLValue, rhs: YAMLValue) -> Bool {
        switch (lhs, rhs) {
        case let (.string(a), .string(b)): a == b
        case let (.int(a), .int(b)): a == b
        case let (.double(a), .double(b)): a == b || (a.isNaN && b.isNaN)
        case let (.bool(a), .bool(b)): a == b
        case (.null, .null): true
        case let (.list(a), .list(b)): a == b
        case let (.map(a), .map(b)):
            a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case let .string(text): hasher.combine(0); hasher.combine(text)
        case let .int(number): hasher.combine(1); hasher.combine(number)
        case let .double(number): hasher.combine(2); hasher.combine(number.isNaN ? .nan : number)
        case let .bool(flag): hasher.combine(3); hasher.combine(flag)
        case .null: hasher.combine(4)
        case let .list(items): hasher.combine(5); hasher.combine(items)
        case let .map(pairs):
            hasher.combine(6)
            hasher.combine(pairs.count)
            for pair in pairs {
                hasher.combine(pair.key)
                hasher.combine(pair.value)
            }
        }
    }
}

/// The YAML front matter block at the top of a note: its exact text and its parsed fields.
///
/// Cairn never rewrites this block unless it changes the note: `block` holds the fences and the
/// YAML byte-for-byte (CRLF line endings included), so `Note.text` reproduces the file exactly.
/// Unknown keys are kept in `fields`; the known keys are validated and exposed as typed properties.
public struct FrontMatter: Sendable, Hashable {
    /// The YAML text between the fences, exactly as in the file.
    public let yaml: String
    /// The whole block exactly as in the file: opening fence, YAML, closing fence and its line break.
    public let block: String
    /// The file lines (1-based) covered by `block`, fences included.
    public let lines: ClosedRange<Int>
    /// Every top-level key with its value, in file order.
    public let fields: [(key: String, value: YAMLValue)]

    /// `title:` — the note's title.
    public let title: String?
    /// `tier:` — the memory tier the note declares.
    public let tier: Tier?
    /// `tags:` — lowercased, without a leading `#`, deduplicated, in file order.
    public let tags: [String]
    /// `created:` as written (for example `2024-05-01`); see `FrontMatter.date(from:)`.
    public let created: String?
    /// `updated:` as written.
    public let updated: String?
    /// `expires:` as written.
    public let expires: String?
    /// `review_after:` as written.
    public let reviewAfter: String?
    /// `source:` — where the note's content came from.
    public let source: String?
    /// `pinned:` — `true` keeps the note from expiring or being archived.
    public let pinned: Bool?
    /// `aliases:` — other names the note is known by.
    public let aliases: [String]

    /// The file line (1-based) of the first YAML line: the line after the opening `---`.
    public var firstYAMLLine: Int { lines.lowerBound + 1 }

    /// The value of a top-level key (known or not), or `nil` when the key is absent.
    public subscript(key: String) -> YAMLValue? {
        fields.first { $0.key == key }?.value
    }

    /// Two front matter blocks are equal when their text and position are; all else derives from them.
    public static func == (lhs: FrontMatter, rhs: FrontMatter) -> Bool {
        lhs.block == rhs.block && lhs.lines == rhs.lines
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(block)
        hasher.combine(lines)
    }

    // MARK: - Limits

    /// The largest YAML text accepted between the fences, in bytes.
    public static let maxYAMLBytes = 64 * 1024
    /// The deepest nesting of lists and mappings accepted in front matter.
    public static let maxNestingDepth = 64

    // MARK: - Parsing

    /// Parses the YAML of a front matter block.
    ///
    /// - Parameters:
    ///   - yaml: the text between the fences (at most `maxYAMLBytes`; checked by the caller).
    ///   - block: the whole block, fences included, exactly as in the file.
    ///   - lines: the file lines covered by `block`; YAML line 1 is file line `lines.lowerBound + 1`.
    ///   - path: the note's path, for errors.
    /// - Throws: `NoteError` naming the file line of the problem. Aliases, nesting deeper than
    ///   `maxNestingDepth`, non-mapping documents, duplicate keys and ill-typed known keys are
    ///   rejected. Never traps, whatever `yaml` holds.
    ///
    /// Plain front matter (`PlainFrontMatter`: `key: value` lines, the form most notes have) is composed without
    /// libyaml; `plainFastPath: false` always takes libyaml's way (the tests compare the two).
    static func parse(yaml: String, block: String, lines: ClosedRange<Int>, path: String,
                      plainFastPath: Bool = true) throws(NoteError) -> FrontMatter {
        let firstYAMLLine = lines.lowerBound + 1
        func fileLine(_ yamlLine: Int) -> Int {
            min(max(yamlLine + firstYAMLLine - 1, lines.lowerBound), lines.upperBound)
        }
        // The nodes of plain front matter carry no positions, which only errors need: front matter that does not
        // pass is read again by libyaml, which says where the problem is.
        if plainFastPath, let root = PlainFrontMatter.compose(yaml),
           let frontMatter = try? make(root: root, yaml: yaml, block: block, lines: lines, path: path, fileLine: fileLine) {
            return frontMatter
        }
        if let problem = YAMLPreflight.check(yaml) {
            throw NoteError(path: path, line: fileLine(problem.line), reason: problem.reason)
        }
        let root: Node?
        do {
            // Explicit UTF-8: `Parser.Encoding.default` would read the environment. Tags are resolved by
            // YAMLScalarResolver, so Yams gets a resolver without rules (`.default` compiles regexes).
            root = try Yams.compose(yaml: yaml, .basic, .default, .utf8)
        } catch {
            // The preflight pass runs the same parser, so this is not expected; report it anyway.
            throw NoteError(path: path, line: fileLine(YAMLPreflight.line(of: error) ?? 1),
                            reason: "invalid YAML in front matter")
        }
        return try make(root: root, yaml: yaml, block: block, lines: lines, path: path, fileLine: fileLine)
    }

    /// The front matter whose YAML composes to `root`: its fields, and its known keys checked.
    private static func make(root: Node?, yaml: String, block: String, lines: ClosedRange<Int>, path: String,
                             fileLine: @escaping (Int) -> Int) throws(NoteError) -> FrontMatter {
        let converter = Converter(path: path, fileLine: fileLine)
        var fields: [(key: String, value: YAMLValue)] = []
        var keyNodes: [(key: String, node: Node, line: Int)] = []
        if let root {
            guard case let .mapping(mapping) = root else {
                throw NoteError(
                    path: path, line: converter.line(of: root),
                    reason: "front matter must be a YAML mapping of 'key: value' lines, found \(describe(root))")
            }
            var firstLines: [String: Int] = [:]
            for (keyNode, valueNode) in mapping {
                guard case let .scalar(keyScalar) = keyNode else {
                    throw NoteError(path: path, line: converter.line(of: keyNode),
                                    reason: "front matter keys must be plain text, found \(describe(keyNode)) as a key")
                }
                let key = keyScalar.string
                let keyLine = converter.line(of: keyNode)
                if let earlier = firstLines[key] {
                    throw NoteError(path: path, line: keyLine,
                                    reason: "duplicate front matter key '\(key)' (first set on line \(earlier))")
                }
                firstLines[key] = keyLine
                fields.append((key: key, value: try converter.value(of: valueNode, depth: 1)))
                keyNodes.append((key: key, node: valueNode, line: keyLine))
            }
        }
        func node(_ key: String) -> Node? {
            keyNodes.first { $0.key == key }?.node
        }
        let known = KnownKeys(path: path, converter: converter)
        return FrontMatter(
            yaml: yaml, block: block, lines: lines, fields: fields,
            title: try known.text("title", node("title")),
            tier: try known.tier(node("tier")),
            // The singular `tag` and `alias` keys of older Obsidian vaults ("Properties", "Deprecated properties":
            // deprecated in 1.4, no longer default properties since 1.9) still count when the plural is absent.
            tags: try known.tags(node("tags") ?? node("tag")),
            created: try known.date("created", node("created")),
            updated: try known.date("updated", node("updated")),
            expires: try known.date("expires", node("expires")),
            reviewAfter: try known.date("review_after", node("review_after")),
            source: try known.text("source", node("source")),
            pinned: try known.flag("pinned", node("pinned")),
            aliases: try known.aliases(node("aliases") ?? node("alias")))
    }

    // MARK: - Dates

    /// The UTC midnight of the calendar day `text` names, or `nil` when it is not a date.
    ///
    /// Accepts `YYYY-MM-DD` and ISO 8601 / YAML timestamps that start with one
    /// (`2024-05-01T09:30:00Z`, `2024-05-01 09:30`, `2024-05-01T09:30:00+02:00`). Day precision:
    /// the day is the one written; the time and offset are checked for form and then ignored.
    /// Impossible dates such as `2024-02-30` give `nil`.
    public static func date(from text: String) -> Date? {
        let scalars = Array(NoteText.trimmed(text).unicodeScalars)
        var index = 0
        func digits(min: Int, max: Int) -> Int? {
            var value = 0
            var count = 0
            while index < scalars.count, count < max, let digit = asciiDigit(scalars[index]) {
                value = value * 10 + digit
                count += 1
                index += 1
            }
            return count >= min ? value : nil
        }
        func skip(_ scalar: Unicode.Scalar) -> Bool {
            guard index < scalars.count, scalars[index] == scalar else { return false }
            index += 1
            return true
        }
        guard let year = digits(min: 4, max: 4), skip("-"),
              let month = digits(min: 1, max: 2), skip("-"),
              let day = digits(min: 1, max: 2) else { return nil }
        if index < scalars.count {
            // A time part: [Tt ]HH:MM[:SS[.fraction]][ ][Z|±HH[[:]MM]]
            guard skip("T") || skip("t") || skip(" ") else { return nil }
            while skip(" ") {}
            guard digits(min: 1, max: 2) != nil, skip(":"), digits(min: 2, max: 2) != nil else { return nil }
            if skip(":") {
                guard digits(min: 2, max: 2) != nil else { return nil }
                if skip(".") || skip(",") {
                    guard digits(min: 1, max: 12) != nil else { return nil }
                }
            }
            while skip(" ") {}
            if skip("Z") || skip("z") {
                // UTC
            } else if skip("+") || skip("-") {
                guard digits(min: 1, max: 2) != nil else { return nil }
                _ = skip(":")
                _ = digits(min: 2, max: 2)
            }
            guard index == scalars.count else { return nil }
        }
        var components = DateComponents()
        components.year = year
        components.month = month
        components.day = day
        guard (1...12).contains(month), (1...31).contains(day),
              let date = utcCalendar.date(from: components) else { return nil }
        let check = utcCalendar.dateComponents([.year, .month, .day], from: date)
        guard check.year == year, check.month == month, check.day == day else { return nil }
        return date
    }

    /// `date` as `YYYY-MM-DD` in UTC.
    public static func dayString(_ date: Date) -> String {
        // 1600 to 9999: the proleptic Gregorian calendar of `CivilDate` is Foundation's there, without a Calendar
        // call per date (Foundation's calendar is Julian before October 1582).
        let t = date.timeIntervalSince1970
        if t >= -11_676_096_000 && t < 253_402_300_800 {
            let c = CivilDate.civil(days: Int((t / 86_400).rounded(.down)))
            return CivilDate.padded(c.year, 4) + "-" + CivilDate.padded(c.month, 2) + "-" + CivilDate.padded(c.day, 2)
        }
        return dayStringByCalendar(date)
    }

    static func dayStringByCalendar(_ date: Date) -> String {
        let parts = utcCalendar.dateComponents([.year, .month, .day], from: date)
        let year = parts.year ?? 1970
        let month = parts.month ?? 1
        let day = parts.day ?? 1
        func pad(_ number: Int, _ width: Int) -> String {
            let text = String(number)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? TimeZone(secondsFromGMT: 0) ?? calendar.timeZone
        return calendar
    }()

    // MARK: - Writing YAML

    /// `text` as a YAML scalar that any YAML parser reads back as exactly `text`.
    ///
    /// Plain when that is unambiguous (letters, digits, spaces and harmless punctuation, and not a
    /// word YAML would read as a bool, null, number or date); double-quoted with escapes otherwise.
    /// The result is also safe inside a flow list (`[a, b]`).
    static func yamlScalar(_ text: String) -> String {
        isPlainSafe(text) ? text : doubleQuoted(text)
    }

    private static func isPlainSafe(_ text: String) -> Bool {
        isPlainSafeASCII(text) ?? isPlainSafeGeneral(text)
    }

    /// `isPlainSafe` for text made only of ASCII characters (most mail headers), on bytes; nil for other text.
    /// The same answer as `isPlainSafeGeneral` (a test compares them): in ASCII the letters are the only
    /// alphabetic characters, the digits the only decimal numbers, and there are no marks.
    static func isPlainSafeASCII(_ text: String) -> Bool? {
        let utf8 = text.utf8
        guard utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        func isAlphanumeric(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) }
        guard let first = utf8.first, let last = utf8.last, isAlphanumeric(first), last != 0x20 else { return false }
        var previous: UInt8 = 0x20
        for byte in utf8 {
            let allowed = isAlphanumeric(byte) || plainPunctuation[Int(byte)] || (byte == 0x20 && previous != 0x20)
            guard allowed else { return false }
            previous = byte
        }
        return YAMLScalarResolver.tag(of: text) == .str
    }

    /// The ASCII punctuation `isPlainSafe` allows, by byte.
    private static let plainPunctuation: [Bool] = (0..<128).map { "-_.()/+!?&@%$=^'".utf8.contains(UInt8($0)) }

    static func isPlainSafeGeneral(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last,
              first.properties.isAlphabetic || first.properties.generalCategory == .decimalNumber,
              last != " " else { return false }
        var previous: Unicode.Scalar = " "
        for scalar in text.unicodeScalars {
            let category = scalar.properties.generalCategory
            let allowed = scalar.properties.isAlphabetic
                || category == .decimalNumber
                || category == .nonspacingMark || category == .spacingMark
                || "-_.()/+!?&@%$=^'".unicodeScalars.contains(scalar)
                || (scalar == " " && previous != " ")
            guard allowed else { return false }
            previous = scalar
        }
        return YAMLScalarResolver.tag(of: text) == .str
    }

    private static func doubleQuoted(_ text: String) -> String {
        // Built as UTF-8 bytes: appending scalars to a String one by one cost more than the escaping itself.
        var output: [UInt8] = [0x22]
        output.reserveCapacity(text.utf8.count + 8)
        func append(_ ascii: StaticString) {
            ascii.withUTF8Buffer { output.append(contentsOf: $0) }
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": append("\\\"")
            case "\\": append("\\\\")
            case "\n": append("\\n")
            case "\t": append("\\t")
            case "\r": append("\\r")
            default:
                let value = scalar.value
                if value < 0x20 || value == 0x7F || value == 0x85 || value == 0xA0
                    || value == 0x2028 || value == 0x2029 || value == 0xFEFF {
                    let hex = String(value, radix: 16, uppercase: true)
                    output.append(contentsOf: ("\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex).utf8)
                } else if value < 0x80 {
                    output.append(UInt8(value))
                } else {
                    UTF8.encode(scalar) { output.append($0) }
                }
            }
        }
        output.append(0x22)
        return String(decoding: output, as: UTF8.self)
    }
}

// MARK: - Private helpers

private func asciiDigit(_ scalar: Unicode.Scalar) -> Int? {
    guard scalar.value >= 48, scalar.value <= 57 else { return nil }
    return Int(scalar.value - 48)
}

/// The effective YAML tag of a node: explicit, `str` for quoted scalars, else resolved from the text.
private func tagName(_ node: Node) -> Tag.Name {
    let scalar: Node.Scalar
    switch node {
    case let .scalar(s): scalar = s
    case .mapping: return .map
    case .sequence: return .seq
    }
    let explicit = scalar.tag.description  // set for explicit tags and quoted scalars
    if !explicit.isEmpty { return Tag.Name(rawValue: explicit) }
    return plainTagName(scalar.string)
}

/// The YAML tag a plain scalar's text resolves to.
private func plainTagName(_ text: String) -> Tag.Name {
    // Yams resolves plain scalars with regular expressions, which is slow on Linux; only text
    // starting with one of these characters can resolve to anything but a string.
    guard let first = text.unicodeScalars.first else { return .null }
    guard "0123456789+-.~nNtTfFyYoO<=".unicodeScalars.contains(first) else { return .str }
    return YAMLScalarResolver.tag(of: text)
}

/// Front matter in its plainest form, composed without libyaml into the nodes `Yams.compose` builds from it (less
/// their positions): every line `key: value`, where the key is ASCII letters, digits, `_` and `-` (not first) and
/// the value, after exactly one space, is either a plain scalar or a flow list of plain scalars (`[a, b c]`, items
/// separated by exactly `, `). Plain scalars here hold no `:`, `#`, brackets or braces, no tab, no character YAML
/// reads as a line break or refuses, no space at either end, and start with a letter, a digit or one of `._/+(~$=^`
/// (none of them a YAML indicator). Anything else — blank lines, comments, quotes, nesting, CRLF — is `nil`: libyaml
/// reads it. This is what most notes' front matter is, and libyaml's two passes over it cost more than the rest of
/// reading a note.
enum PlainFrontMatter {
    static func compose(_ yaml: String) -> Node? {
        var text = yaml
        return text.withUTF8 { compose($0) }
    }

    private static func compose(_ bytes: UnsafeBufferPointer<UInt8>) -> Node? {
        guard let last = bytes.last, last == 0x0A else { return nil }
        var pairs: [(Node, Node)] = []
        var start = 0
        while start < bytes.count {
            var end = start
            while bytes[end] != 0x0A { end += 1 }
            var index = start
            guard isKeyStart(bytes[index]) else { return nil }
            index += 1
            while index < end, isKeyByte(bytes[index]) { index += 1 }
            // libyaml takes a key of at most 1024 characters.
            guard index - start <= 1000, index + 2 < end, bytes[index] == 0x3A, bytes[index + 1] == 0x20 else { return nil }
            let key = scalar(bytes, start, index)
            let valueStart = index + 2
            let value: Node
            if bytes[valueStart] == 0x5B {  // [
                guard bytes[end - 1] == 0x5D else { return nil }  // ]
                let close = end - 1
                var items: [Node] = []
                var item = valueStart + 1
                while item < close {
                    guard let itemEnd = plainEnd(bytes, from: item, to: close, flow: true) else { return nil }
                    items.append(scalar(bytes, item, itemEnd))
                    if itemEnd == close { break }
                    guard bytes[itemEnd] == 0x2C, itemEnd + 2 < close, bytes[itemEnd + 1] == 0x20 else { return nil }  // ", " and an item
                    item = itemEnd + 2
                }
                value = .sequence(Node.Sequence(items, Tag(.implicit, .basic, .default), .flow))
            } else {
                guard plainEnd(bytes, from: valueStart, to: end, flow: false) == end else { return nil }
                value = scalar(bytes, valueStart, end)
            }
            pairs.append((key, value))
            start = end + 1
        }
        return .mapping(Node.Mapping(pairs, Tag(.implicit, .basic, .default), .block))
    }

    /// A plain scalar as Yams composes one (an implicit tag, resolved later from the text).
    private static func scalar(_ bytes: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Node {
        .scalar(Node.Scalar(String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self),
                            Tag(.implicit, .basic, .default), .plain))
    }

    /// Where the plain scalar starting at `from` ends (before `to`, or in a flow list before a `,`); `nil` when the
    /// text there is not one this reader accepts.
    private static func plainEnd(_ bytes: UnsafeBufferPointer<UInt8>, from: Int, to: Int, flow: Bool) -> Int? {
        guard from < to, isPlainStart(bytes[from]) else { return nil }
        var index = from + 1
        while index < to {
            let byte = bytes[index]
            if byte >= 0x80 {
                // Valid UTF-8 (the note was checked): refuse what libyaml reads as a break (U+0085, U+2028, U+2029)
                // or does not print (C1 controls, U+FEFF, U+FFFE, U+FFFF).
                if byte == 0xC2, index + 1 < to, bytes[index + 1] < 0xA0 { return nil }
                if byte == 0xE2, index + 2 < to, bytes[index + 1] == 0x80, bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9 { return nil }
                if byte == 0xEF, index + 2 < to, bytes[index + 1] == 0xBB, bytes[index + 2] == 0xBF { return nil }
                if byte == 0xEF, index + 2 < to, bytes[index + 1] == 0xBF, bytes[index + 2] >= 0xBE { return nil }
                index += 1
                continue
            }
            if flow, byte == 0x2C { break }  // , ends a flow item
            guard byte >= 0x20, byte <= 0x7E else { return nil }  // tab, CR, controls
            switch byte {
            case 0x3A, 0x23, 0x5B, 0x5D, 0x7B, 0x7D: return nil  // : # [ ] { }
            default: index += 1
            }
        }
        guard bytes[index - 1] != 0x20 else { return nil }
        return index
    }

    private static func isKeyStart(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || byte == 0x5F
    }

    private static func isKeyByte(_ byte: UInt8) -> Bool {
        isKeyStart(byte) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D
    }

    private static func isPlainStart(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case 0x2E, 0x5F, 0x2F, 0x2B, 0x28, 0x7E, 0x24, 0x3D, 0x5E: true  // . _ / + ( ~ $ = ^
        default: byte >= 0x80 && byte != 0xC2 && byte != 0xE2 && byte != 0xEF  // letters of other scripts
        }
    }
}

/// A short description of a node's kind, for error messages ("a list", "a mapping", "true").
private func describe(_ node: Node) -> String {
    switch node {
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    case let .scalar(scalar):
        let shown = scalar.string.count > 40 ? String(scalar.string.prefix(40)) + "…" : scalar.string
        return "'\(shown)'"
    }
}

/// Converts Yams nodes to `YAMLValue`, resolving scalars without Yams' constructors (whose
/// sexagesimal integer parsing traps on overflow).
private struct Converter {
    let path: String
    let fileLine: (Int) -> Int

    init(path: String, fileLine: @escaping (Int) -> Int) {
        self.path = path
        self.fileLine = fileLine
    }

    func line(of node: Node) -> Int {
        fileLine(node.mark?.line ?? 1)
    }

    func value(of node: Node, depth: Int) throws(NoteError) -> YAMLValue {
        guard depth <= FrontMatter.maxNestingDepth else {
            throw NoteError(path: path, line: line(of: node),
                            reason: "front matter is nested more than \(FrontMatter.maxNestingDepth) levels deep")
        }
        switch node {
        case let .scalar(scalar):
            return Converter.scalarValue(scalar.string, tag: tagName(node))
        case let .sequence(sequence):
            var items: [YAMLValue] = []
            items.reserveCapacity(sequence.count)
            for item in sequence {
                items.append(try value(of: item, depth: depth + 1))
            }
            return .list(items)
        case let .mapping(mapping):
            var pairs: [(key: String, value: YAMLValue)] = []
            for (key, item) in mapping {
                let keyText: String
                switch key {
                case let .scalar(scalar): keyText = scalar.string
                default:
                    throw NoteError(path: path, line: line(of: key),
                                    reason: "front matter keys must be plain text, found \(describe(key)) as a key")
                }
                pairs.append((key: keyText, value: try value(of: item, depth: depth + 1)))
            }
            return .map(pairs)
        }
    }

    static func scalarValue(_ text: String, tag: Tag.Name) -> YAMLValue {
        switch tag {
        case .null:
            return .null
        case .bool:
            switch text.lowercased() {
            case "true", "yes", "on": return .bool(true)
            case "false", "no", "off": return .bool(false)
            default: return .string(text)
            }
        case .int:
            return integer(text).map(YAMLValue.int) ?? .string(text)
        case .float:
            return double(text).map(YAMLValue.double) ?? .string(text)
        default:
            return .string(text)
        }
    }

    /// YAML 1.1 integers (`12`, `-3`, `1_000`, `0x1F`, `0o17`, `017`, `0b101`); `nil` on overflow
    /// or for sexagesimal forms (`1:30`), which stay text.
    static func integer(_ text: String) -> Int? {
        var body = Substring(text.replacingOccurrences(of: "_", with: ""))
        guard !body.contains(":") else { return nil }
        var negative = false
        if body.hasPrefix("-") || body.hasPrefix("+") {
            negative = body.hasPrefix("-")
            body = body.dropFirst()
        }
        var radix = 10
        if body.hasPrefix("0x") { radix = 16; body = body.dropFirst(2) }
        else if body.hasPrefix("0o") { radix = 8; body = body.dropFirst(2) }
        else if body.hasPrefix("0b") { radix = 2; body = body.dropFirst(2) }
        else if body.count > 1 && body.hasPrefix("0") { radix = 8; body = body.dropFirst() }
        guard !body.isEmpty, let magnitude = Int(body, radix: radix) else { return nil }
        return negative ? -magnitude : magnitude
    }

    static func double(_ text: String) -> Double? {
        switch text {
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .infinity
        case "-.inf", "-.Inf", "-.INF": return -.infinity
        case ".nan", ".NaN", ".NAN": return .nan
        default:
            guard !text.contains(":") else { return nil }
            return Double(text.replacingOccurrences(of: "_", with: ""))
        }
    }
}

/// Validation and normalization of the keys Cairn understands.
private struct KnownKeys {
    let path: String
    let converter: Converter

    func text(_ key: String, _ node: Node?) throws(NoteError) -> String? {
        guard let node else { return nil }
        switch node {
        case let .scalar(scalar):
            if tagName(node) == .null { return nil }
            let trimmed = NoteText.trimmed(scalar.string)
            return trimmed.isEmpty ? nil : trimmed
        default:
            throw NoteError(path: path, line: converter.line(of: node),
                            reason: "'\(key)' must be text, found \(describe(node))")
        }
    }

    func tier(_ node: Node?) throws(NoteError) -> Tier? {
        guard let node, let name = try text("tier", node) else { return nil }
        let normalized = NoteText.trimmed(name).lowercased()
        guard let tier = Tier(rawValue: normalized) ?? Tier.alias(normalized) else {
            throw NoteError(path: path, line: converter.line(of: node),
                            reason: "unknown tier '\(name)'; allowed tiers: \(Tier.allowedNames)")
        }
        return tier
    }

    func date(_ key: String, _ node: Node?) throws(NoteError) -> String? {
        guard let node else { return nil }
        if case .scalar = node, tagName(node) == .bool {
            throw NoteError(path: path, line: converter.line(of: node),
                            reason: "'\(key)' must be a date such as 2024-05-01, found \(describe(node))")
        }
        guard case .scalar = node else {
            throw NoteError(path: path, line: converter.line(of: node),
                            reason: "'\(key)' must be a date such as 2024-05-01, found \(describe(node))")
        }
        return try text(key, node).map { NoteText.trimmed($0) }
    }

    func flag(_ key: String, _ node: Node?) throws(NoteError) -> Bool? {
        guard let node else { return nil }
        if case let .scalar(scalar) = node {
            switch tagName(node) {
            case .null: return nil
            case .bool, .str:
                switch NoteText.trimmed(scalar.string).lowercased() {
                case "true", "yes", "on": return true
                case "false", "no", "off": return false
                default: break
                }
            default: break
            }
        }
        throw NoteError(path: path, line: converter.line(of: node),
                        reason: "'\(key)' must be true or false, found \(describe(node))")
    }

    /// Tags from a list, a single tag, or a string of tags separated by commas or spaces.
    func tags(_ node: Node?) throws(NoteError) -> [String] {
        guard let node else { return [] }
        var raw: [String] = []
        switch node {
        case let .scalar(scalar):
            if tagName(node) == .null { return [] }
            raw = scalar.string.split { $0 == "," || $0.isWhitespace }.map(String.init)
        case let .sequence(sequence):
            for item in sequence {
                guard case let .scalar(scalar) = item else {
                    throw NoteError(path: path, line: converter.line(of: item),
                                    reason: "each tag must be text, found \(describe(item)) in 'tags'")
                }
                if tagName(item) != .null {
                    raw.append(scalar.string)
                }
            }
        case .mapping:
            throw NoteError(path: path, line: converter.line(of: node),
                            reason: "'tags' must be a list of tags or a comma-separated string, found a mapping")
        }
        return normalizedTags(raw)
    }

    /// Aliases from a list or a single string (a single string is one alias, commas and all).
    func aliases(_ node: Node?) throws(NoteError) -> [String] {
        guard let node else { return [] }
        switch node {
        case .scalar:
            return try text("aliases", node).map { [$0] } ?? []
        case let .sequence(sequence):
            var result: [String] = []
            for item in sequence {
                guard case .scalar = item else {
                    throw NoteError(path: path, line: converter.line(of: item),
                                    reason: "each alias must be text, found \(describe(item)) in 'aliases'")
                }
                if let alias = try text("aliases", item), !result.contains(alias) {
                    result.append(alias)
                }
            }
            return result
        case .mapping:
            throw NoteError(path: path, line: converter.line(of: node),
                            reason: "'aliases' must be a list of names, found a mapping")
        }
    }
}

/// Lowercases tags, strips leading `#` and surrounding space, drops empty ones and duplicates.
func normalizedTags<S: Sequence>(_ tags: S) -> [String] where S.Element: StringProtocol {
    var seen = Set<String>()
    var result: [String] = []
    for tag in tags {
        // Most tags are already normal (lowercase ASCII letters, digits, `-`, `_`, `/`): nothing to trim or lower.
        if !tag.isEmpty, tag.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2F }) {
            let normalized = String(tag)
            if seen.insert(normalized).inserted { result.append(normalized) }
            continue
        }
        var text = Substring(NoteText.trimmed(tag))
        while text.hasPrefix("#") { text = text.dropFirst() }
        let normalized = NoteText.trimmed(text).lowercased()
        if !normalized.isEmpty, seen.insert(normalized).inserted {
            result.append(normalized)
        }
    }
    return result
}

/// A pass over libyaml's event stream before Yams builds a tree, so that hostile front matter is
/// refused before it can cost memory or stack: aliases (alias-expansion bombs), deep nesting
/// (Yams composes recursively), several documents, and syntax errors with exact positions.
enum YAMLPreflight {
    struct Problem: Equatable {
        /// 1-based line within the YAML text.
        var line: Int
        var reason: String
    }

    /// The first problem in `yaml`, or `nil` when Yams can safely compose it.
    static func check(_ yaml: String) -> Problem? {
        let bytes = Array(yaml.utf8)
        guard !bytes.isEmpty else { return nil }
        return bytes.withUnsafeBufferPointer { buffer -> Problem? in
            guard let base = buffer.baseAddress else { return nil }
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else {
                return Problem(line: 1, reason: "out of memory while reading front matter")
            }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)  // as Yams is called
            yaml_parser_set_input_string(&parser, base, buffer.count)
            var depth = 0
            var documents = 0
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else {
                    return syntaxProblem(parser, bytes: buffer)
                }
                defer { yaml_event_delete(&event) }
                let line = Int(event.start_mark.line) + 1
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return nil
                case YAML_DOCUMENT_START_EVENT:
                    documents += 1
                    if documents > 1 {
                        return Problem(line: line, reason: "front matter must be a single YAML document")
                    }
                case YAML_ALIAS_EVENT:
                    let name = event.data.alias.anchor.map { String(cString: $0) } ?? ""
                    return Problem(
                        line: line,
                        reason: "front matter uses the YAML alias '*\(name)'; aliases are not allowed "
                            + "in front matter (they can expand without bound) — write the value out")
                case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                    depth += 1
                    if depth > FrontMatter.maxNestingDepth {
                        return Problem(
                            line: line,
                            reason: "front matter is nested more than \(FrontMatter.maxNestingDepth) levels deep")
                    }
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    depth -= 1
                default:
                    break
                }
            }
        }
    }

    private static func syntaxProblem(_ parser: yaml_parser_t, bytes: UnsafeBufferPointer<UInt8>) -> Problem {
        let problem = parser.problem.map { String(cString: $0) } ?? "unknown error"
        switch parser.error {
        case YAML_MEMORY_ERROR:
            return Problem(line: 1, reason: "out of memory while reading front matter")
        case YAML_READER_ERROR:
            let offset = min(Int(parser.problem_offset), bytes.count)
            let line = bytes[..<offset].reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            return Problem(line: line, reason: "invalid YAML in front matter: \(problem)")
        default:
            var line = Int(parser.problem_mark.line) + 1
            var reason = "invalid YAML in front matter: \(problem)"
            if let context = parser.context.map({ String(cString: $0) }) {
                let contextLine = Int(parser.context_mark.line) + 1
                // At the end of the input (say, an unclosed quote or bracket), the place the
                // construct started is the useful line, not the closing fence.
                let contentLines = bytes.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 } + (bytes.last == 0x0A ? 0 : 1)
                if line > contentLines {
                    line = contextLine
                    reason += ", \(context) started here"
                } else {
                    reason += " (column \(Int(parser.problem_mark.column) + 1)), \(context)"
                }
            } else {
                reason += " (column \(Int(parser.problem_mark.column) + 1))"
            }
            return Problem(line: line, reason: reason)
        }
    }

    /// The 1-based YAML line a Yams error points at, when it carries a position.
    static func line(of error: any Error) -> Int? {
        guard let error = error as? YamlError else { return nil }
        switch error {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _):
            return mark.line
        default:
            return nil
        }
    }
}
