import Foundation

/// Turns note titles into file names that are safe, readable and stable across platforms.
public enum Slug {
    /// The longest slug `make(_:)` returns, in UTF-8 bytes.
    public static let maxBytes = 80

    /// The slug for `title`: lowercase words joined by single dashes.
    ///
    /// Guarantees: the result is never empty (`"untitled"` stands in), is at most `maxBytes`
    /// UTF-8 bytes, never cuts a character in half, never starts or ends with `-`, and contains
    /// only letters, digits and `-` — so it is a valid file name on every common file system.
    /// Diacritics on Latin letters are folded (`"Café Plan"` → `"cafe-plan"`, `ß` → `ss`);
    /// letters of other scripts (Japanese, Cyrillic, …) are kept as they are. Apostrophes vanish
    /// (`"Don't"` → `"dont"`); every other run of non-alphanumerics becomes one `-`.
    public static func make(_ title: String) -> String {
        makeASCII(title) ?? makeGeneral(title)
    }

    /// `make` for a title made only of ASCII characters (most mail subjects), without Unicode normalisation or
    /// property lookups; nil for any other title. The same result as `makeGeneral` (a test compares them): ASCII
    /// has no diacritics or marks, its word characters are the letters and digits, and `\r\n`, one `Character`,
    /// is two separators either way.
    static func makeASCII(_ title: String) -> String? {
        let utf8 = title.utf8
        guard utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        var slug: [UInt8] = []
        slug.reserveCapacity(min(utf8.count, maxBytes + 1))
        var pendingDash = false
        for byte in utf8 {
            if byte == UInt8(ascii: "'") { continue }
            let lower = byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
            guard (lower >= 0x61 && lower <= 0x7A) || (lower >= 0x30 && lower <= 0x39) else {
                pendingDash = true
                continue
            }
            if pendingDash && !slug.isEmpty { slug.append(UInt8(ascii: "-")) }
            pendingDash = false
            slug.append(lower)
            if slug.count > maxBytes { break }
        }
        if slug.count > maxBytes { slug.removeLast(slug.count - maxBytes) }
        while slug.last == UInt8(ascii: "-") { slug.removeLast() }
        return slug.isEmpty ? "untitled" : String(decoding: slug, as: UTF8.self)
    }

    /// `make` for any title: folds Latin diacritics, keeps other scripts' letters.
    static func makeGeneral(_ title: String) -> String {
        let folded = foldLatinDiacritics(title.lowercased())
        var slug = ""
        var pendingDash = false
        for character in folded {
            guard let first = character.unicodeScalars.first else { continue }
            if character == "'" || character == "\u{2019}" {
                continue
            }
            guard isWordScalar(first) else {
                pendingDash = true
                continue
            }
            var kept = String.UnicodeScalarView()
            for scalar in character.unicodeScalars where isWordScalar(scalar) || isMark(scalar) {
                kept.append(scalar)
            }
            if pendingDash && !slug.isEmpty {
                slug.append("-")
            }
            pendingDash = false
            slug.unicodeScalars.append(contentsOf: kept)
        }
        slug = truncated(slug, toBytes: maxBytes)
        while slug.hasSuffix("-") {
            slug.removeLast()
        }
        return slug.isEmpty ? "untitled" : slug
    }

    /// A Markdown file name for `title` that `existing` does not report as taken.
    ///
    /// Tries `slug.md`, then `slug-2.md`, `slug-3.md`, … and returns the first name for which
    /// `existing` returns `false`. `existing` is called with bare file names (no folder).
    public static func uniqueFileName(for title: String, existing: (String) -> Bool) -> String {
        let base = make(title)
        let first = base + ".md"
        if !existing(first) {
            return first
        }
        for number in 2..<Int.max {
            let candidate = "\(base)-\(number).md"
            if !existing(candidate) {
                return candidate
            }
        }
        // Unreachable in practice: every number up to Int.max was taken.
        return "\(base)-\(UUID().uuidString.lowercased()).md"
    }

    // MARK: - Helpers

    /// Letters that fold to more than a bare base letter (after lowercasing).
    private static let latinSpecials: [Unicode.Scalar: String] = [
        "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "ł": "l",
        "þ": "th", "ı": "i", "ħ": "h", "ŧ": "t", "ŀ": "l",
    ]

    /// Removes combining marks that follow a Latin base letter and spells out special Latin
    /// letters; everything else (including marks on non-Latin letters, such as the Japanese
    /// voiced sound mark) is kept and recomposed.
    private static func foldLatinDiacritics(_ text: String) -> String {
        var output = String.UnicodeScalarView()
        var lastBaseIsLatin = false
        for scalar in text.decomposedStringWithCanonicalMapping.unicodeScalars {
            if isMark(scalar) {
                if !lastBaseIsLatin {
                    output.append(scalar)
                }
                continue
            }
            lastBaseIsLatin = isLatin(scalar)
            if let replacement = latinSpecials[scalar] {
                output.append(contentsOf: replacement.unicodeScalars)
            } else {
                output.append(scalar)
            }
        }
        return String(output).precomposedStringWithCanonicalMapping
    }

    private static func isLatin(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x41...0x5A, 0x61...0x7A, 0xC0...0x24F, 0x1E00...0x1EFF, 0x2C60...0x2C7F,
             0xA720...0xA7FF, 0xAB30...0xAB6F:
            true
        default:
            false
        }
    }

    private static func isMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: true
        default: false
        }
    }

    private static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.properties.generalCategory == .decimalNumber {
            return true
        }
        return scalar.properties.isAlphabetic && !isMark(scalar)
    }

    /// The longest prefix of `text` made of whole characters that fits in `limit` UTF-8 bytes.
    private static func truncated(_ text: String, toBytes limit: Int) -> String {
        guard text.utf8.count > limit else { return text }
        var result = ""
        var used = 0
        for character in text {
            let size = character.utf8.count
            if used + size > limit { break }
            result.append(character)
            used += size
        }
        return result
    }
}
