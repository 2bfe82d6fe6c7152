import Foundation

/// A run of lines of a note, the unit retrieval shows of a note too long to show whole.
struct Passage: Sendable, Hashable {
    /// 1-based, inclusive.
    let firstLine: Int
    let lastLine: Int
    let text: String

    var tokens: Int { ContextItem.estimateTokens(text.utf8.count) }

    /// `12-30`, as recorded in `ContextItem.lines`.
    var lineRange: String { "\(firstLine)-\(lastLine)" }

    /// `text` cut into passages of at most `maxTokens` where it can be: a heading starts a new passage, blank
    /// lines end paragraphs, consecutive paragraphs share a passage while they fit, and a paragraph longer than
    /// the limit is cut between lines (a single line longer than that stays one passage). Front matter is one
    /// passage of its own.
    static func split(_ text: String, maxTokens: Int) -> [Passage] {
        var lines = text.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty else { return [] }
        let maxBytes = max(1, maxTokens) * 4

        // Blocks: front matter, then paragraphs (a heading line always starts a block).
        var blocks: [(first: Int, last: Int, heading: Bool)] = []
        var i = 0
        var frontMatterEnd = -1
        if lines[0].trimmingCharacters(in: .whitespaces) == "---",
           let close = lines.indices.dropFirst().first(where: { lines[$0].trimmingCharacters(in: .whitespaces) == "---" }) {
            frontMatterEnd = close
            i = close + 1
        }
        var start: Int? = nil
        func endBlock(_ last: Int) {
            if let s = start, s <= last { blocks.append((s, last, lines[s].hasPrefix("#"))) }
            start = nil
        }
        while i < lines.count {
            let line = lines[i]
            if line.trimmingCharacters(in: .whitespaces).isEmpty {
                endBlock(i - 1)
            } else {
                if line.hasPrefix("#") { endBlock(i - 1) }
                if start == nil { start = i }
            }
            i += 1
        }
        endBlock(lines.count - 1)

        func bytes(_ first: Int, _ last: Int) -> Int { lines[first...last].reduce(0) { $0 + $1.utf8.count + 1 } }
        var passages: [Passage] = []
        func emit(_ first: Int, _ last: Int) {
            passages.append(Passage(firstLine: first + 1, lastLine: last + 1, text: lines[first...last].joined(separator: "\n") + "\n"))
        }
        if frontMatterEnd >= 0 {
            if bytes(0, frontMatterEnd) <= maxBytes { emit(0, frontMatterEnd) } else { blocks.insert((0, frontMatterEnd, true), at: 0) }
        }
        var current: (first: Int, last: Int)? = nil
        for block in blocks {
            if let c = current, !block.heading, bytes(c.first, block.last) <= maxBytes {
                current = (c.first, block.last)
                continue
            }
            if let c = current { emit(c.first, c.last) }
            current = nil
            if bytes(block.first, block.last) <= maxBytes {
                current = (block.first, block.last)
                continue
            }
            // A block over the limit: cut it between lines.
            var first = block.first
            while first <= block.last {
                var last = first
                while last < block.last, bytes(first, last + 1) <= maxBytes { last += 1 }
                emit(first, last)
                first = last + 1
            }
        }
        if let c = current { emit(c.first, c.last) }
        return passages
    }

    /// How well the passage matches `terms` (lowercased words): each term found adds 1 + ln(occurrences).
    func score(_ terms: Set<String>) -> Double {
        var counts: [String: Int] = [:]
        for word in SearchQuery.words(in: text) where terms.contains(word) { counts[word, default: 0] += 1 }
        return counts.values.reduce(0) { $0 + 1 + log(Double($1)) }
    }
}
