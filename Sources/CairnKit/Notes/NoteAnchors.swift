import Foundation

/// The places inside a note a link can point at: its headings (`[[Note#Heading]]`) and block
/// identifiers (`[[Note#^block-id]]`), as Obsidian's "Internal links" help page defines them.
public struct NoteAnchors: Sendable, Hashable {
    /// Every ATX heading's text (`## Text`), normalized with `NoteAnchors.normalizeHeading`.
    public let headings: Set<String>
    /// Every block identifier, lowercased, without `^`.
    public let blocks: Set<String>

    /// Scans a note body: ATX headings and block identifiers outside fenced code blocks.
    ///
    /// A block identifier is `^` followed by Latin letters, digits and dashes, at the end of a line after a
    /// space (or any character but a letter or digit), or alone on its line ("Link to a block in a note").
    public static func scan(_ body: String) -> NoteAnchors {
        var headings = Set<String>()
        var blocks = Set<String>()
        var fence: (marker: Character, count: Int)?
        for rawLine in body.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = Substring(rawLine)
            if line.last == "\r" { line = line.dropLast() }
            let indentless = line.drop { $0 == " " }
            if line.count - indentless.count <= 3, let first = indentless.first, first == "`" || first == "~" {
                let count = indentless.prefix { $0 == first }.count
                if count >= 3 {
                    if let open = fence {
                        if open.marker == first, count >= open.count,
                           indentless.dropFirst(count).allSatisfy({ $0 == " " || $0 == "\t" }) { fence = nil }
                    } else {
                        fence = (first, count)
                    }
                    continue
                }
            }
            if fence != nil { continue }
            if let heading = atxHeading(line) { headings.insert(normalizeHeading(heading)) }
            if let block = blockID(line) { blocks.insert(block) }
        }
        return NoteAnchors(headings: headings, blocks: blocks)
    }

    public init(headings: Set<String>, blocks: Set<String>) {
        self.headings = headings
        self.blocks = blocks
    }

    /// A heading as links compare it, like Obsidian's `stripHeading` ("normalizes headings for link matching by
    /// removing special characters and reducing consecutive spaces", obsidian.d.ts): ASCII punctuation other than
    /// `-` and `_` counts as a space, whitespace runs as one space, and case is ignored — so
    /// `[[FAQ#How large can a vault be]]` finds `### How large can a vault be?`.
    public static func normalizeHeading<S: StringProtocol>(_ text: S) -> String {
        var out = ""
        var pendingSpace = false
        for scalar in text.lowercased().unicodeScalars {
            let isSeparator = scalar.isASCII
                ? !(scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_")
                : scalar.properties.isWhitespace
            if isSeparator {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// The text of an ATX heading line (any level), without the closing `#` run.
    static func atxHeading(_ line: Substring) -> Substring? {
        let indentless = line.drop { $0 == " " }
        guard line.count - indentless.count <= 3 else { return nil }
        let level = indentless.prefix { $0 == "#" }.count
        guard (1...6).contains(level) else { return nil }
        var rest = indentless.dropFirst(level)
        guard rest.isEmpty || rest.first == " " || rest.first == "\t" else { return nil }
        while let last = rest.last, last == " " || last == "\t" { rest = rest.dropLast() }
        var closing = rest
        while closing.last == "#" { closing = closing.dropLast() }
        if closing.isEmpty || closing.last == " " || closing.last == "\t" { rest = closing }
        return rest
    }

    /// The block identifier ending `line` (`… ^id` or a line that is only `^id`), lowercased.
    static func blockID(_ line: Substring) -> String? {
        var text = line
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        guard let caret = text.lastIndex(of: "^") else { return nil }
        let id = text[text.index(after: caret)...]
        guard !id.isEmpty, id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else { return nil }
        // After a space, or after anything but a letter or digit (`![[image.png]]^id` works in Obsidian; `x^2` is math).
        if caret != text.startIndex {
            let before = text[text.index(before: caret)]
            guard !(before.isLetter || before.isNumber) else { return nil }
        }
        return id.lowercased()
    }
}
