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
    /// space (or any character but an ASCII letter or digit), or alone on its line ("Link to a block in a note").
    /// Works on the UTF-8 bytes, one pass: a note costs about what reading it costs.
    public static func scan(_ body: String) -> NoteAnchors {
        var headings = Set<String>()
        var blocks = Set<String>()
        var body = body
        body.withUTF8 { bytes in
            var fence: (marker: UInt8, count: Int)?
            var start = 0
            while start <= bytes.count {
                var end = start
                while end < bytes.count, bytes[end] != 0x0A { end += 1 }
                defer { start = end + 1 }
                var lineEnd = end
                if lineEnd > start, bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
                var first = start
                while first < lineEnd, bytes[first] == 0x20 { first += 1 }
                let indented = first - start > 3
                if !indented, first < lineEnd, bytes[first] == 0x60 || bytes[first] == 0x7E {
                    let marker = bytes[first]
                    var run = first
                    while run < lineEnd, bytes[run] == marker { run += 1 }
                    if run - first >= 3 {
                        if let open = fence {
                            var rest = run
                            while rest < lineEnd, bytes[rest] == 0x20 || bytes[rest] == 0x09 { rest += 1 }
                            if open.marker == marker, run - first >= open.count, rest == lineEnd { fence = nil }
                        } else {
                            fence = (marker, run - first)
                        }
                        continue
                    }
                }
                if fence != nil { continue }
                if !indented, first < lineEnd, bytes[first] == 0x23, let text = atxHeading(bytes, from: first, to: lineEnd) {
                    headings.insert(normalizeHeading(text))
                }
                if let block = blockID(bytes, from: start, to: lineEnd) { blocks.insert(block) }
            }
        }
        return NoteAnchors(headings: headings, blocks: blocks)
    }

    /// The text of the ATX heading (any level) whose `#` run starts at `first`, without the closing `#` run.
    private static func atxHeading(_ bytes: UnsafeBufferPointer<UInt8>, from first: Int, to end: Int) -> String? {
        var index = first
        while index < end, bytes[index] == 0x23 { index += 1 }
        guard index - first <= 6, index == end || bytes[index] == 0x20 || bytes[index] == 0x09 else { return nil }
        var last = end
        while last > index, bytes[last - 1] == 0x20 || bytes[last - 1] == 0x09 { last -= 1 }
        var closing = last
        while closing > index, bytes[closing - 1] == 0x23 { closing -= 1 }
        if closing == index || bytes[closing - 1] == 0x20 || bytes[closing - 1] == 0x09 { last = closing }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[index..<max(index, last)]), as: UTF8.self)
    }

    /// The block identifier ending the line `start..<end` (`… ^id` or a line that is only `^id`), lowercased.
    private static func blockID(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> String? {
        var last = end
        while last > start, bytes[last - 1] == 0x20 || bytes[last - 1] == 0x09 { last -= 1 }
        var caret = last
        while caret > start, isIDByte(bytes[caret - 1]) { caret -= 1 }
        guard caret < last, caret > start, bytes[caret - 1] == 0x5E else { return nil }
        caret -= 1
        // After a space or any character but an ASCII letter or digit (`![[image.png]]^id` works; `x^2` is math).
        if caret > start {
            let before = bytes[caret - 1]
            guard !(isIDByte(before) && before != 0x2D) else { return nil }
        }
        return String(decoding: UnsafeBufferPointer(rebasing: bytes[(caret + 1)..<last]), as: UTF8.self).lowercased()
    }

    private static func isIDByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D
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
            // ASCII by value (the alphabetic ASCII scalars are the 52 letters): Unicode property lookups are slow.
            let v = scalar.value
            let isSeparator = scalar.isASCII
                ? !((v >= 0x61 && v <= 0x7A) || (v >= 0x41 && v <= 0x5A) || (v >= 0x30 && v <= 0x39) || v == 0x2D || v == 0x5F)
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
}
