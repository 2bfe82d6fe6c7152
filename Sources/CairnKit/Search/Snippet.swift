import Foundation

/// Snippets of a hit's body, cut and highlighted in Swift rather than by FTS5's `snippet()`, which has to
/// find the row's matches in the index again for every hit shown (about half the time of a query).
///
/// The body is tokenized the way the index's `unicode61` tokenizer with `remove_diacritics 2` does:
/// runs of letters, digits and combining marks, folded to lower case without diacritics. A term matches a
/// run of tokens equal to its words (the last one as a prefix for `word*`). The snippet is the window of
/// at most `tokens` tokens holding the most distinct terms (then the most matches, then the earliest),
/// with `…` where it cuts the text, as FTS5 would render it. A match only in the title or tags is not in
/// the body: `make` returns nil and the caller asks FTS5.
struct SnippetMaker {
    /// Each term's folded words, and whether its last word is a prefix.
    let phrases: [(words: [[UInt8]], prefix: Bool)]

    init(terms: [SearchQuery.Term]) {
        phrases = terms.compactMap { term in
            let words = Self.tokens(in: term.text).map(\.folded)
            return words.isEmpty ? nil : (words, term.isPrefix)
        }
    }

    /// A token: its UTF-8 byte range in the text and its folded form.
    struct Token {
        var start: Int
        var end: Int
        var folded: [UInt8]
    }

    /// The snippet (matches between `SearchHit.highlightStart` and `highlightEnd`) and the 0-based line of
    /// the first match; nil when no term matches in `body`.
    func make(_ body: String, tokens width: Int = 16) -> (snippet: String, line: Int)? {
        let bytes = Array(body.utf8)
        let tokens = Self.tokens(in: bytes)
        // Every match: its first token, its length in tokens and which term it is.
        var matches: [(at: Int, length: Int, phrase: Int)] = []
        for i in tokens.indices {
            for (p, phrase) in phrases.enumerated() where i + phrase.words.count <= tokens.count {
                var ok = true
                for (k, word) in phrase.words.enumerated() {
                    let token = tokens[i + k].folded
                    let last = k == phrase.words.count - 1
                    if last && phrase.prefix ? !token.starts(with: word) : token != word { ok = false; break }
                }
                if ok { matches.append((i, phrase.words.count, p)) }
            }
        }
        guard let first = matches.first else { return nil }

        // The best window: starting at a match, or a little before it so the match has some context.
        var best = (start: 0, score: -1)
        for match in matches {
            for start in [max(0, match.at - width / 4), match.at] {
                let end = start + width
                var seen = Set<Int>()
                var count = 0
                for m in matches where m.at >= start && m.at + m.length <= end {
                    seen.insert(m.phrase)
                    count += 1
                }
                let score = seen.count * 1000 + count
                if score > best.score || (score == best.score && start < best.start) { best = (start, score) }
            }
        }
        let start = best.start
        let end = min(tokens.count, start + width)
        var out = [UInt8]()
        out.reserveCapacity(width * 12)
        if start > 0 { out += Array("…".utf8) }
        var cursor = start == 0 ? 0 : tokens[start].start  // from the text's start, when the window is there
        let open = Array(SearchHit.highlightStart.utf8), close = Array(SearchHit.highlightEnd.utf8)
        var highlighted = [Bool](repeating: false, count: end - start)
        for m in matches where m.at >= start && m.at + m.length <= end {
            for k in m.at..<(m.at + m.length) { highlighted[k - start] = true }
        }
        for i in start..<end {
            let token = tokens[i]
            out += bytes[cursor..<token.start]
            // Adjacent highlighted tokens of one phrase are marked one by one, as FTS5 does.
            if highlighted[i - start] { out += open; out += bytes[token.start..<token.end]; out += close } else { out += bytes[token.start..<token.end] }
            cursor = token.end
        }
        if end < tokens.count { out += Array("…".utf8) } else { out += bytes[cursor...] }
        let line = bytes[..<tokens[first.at].start].reduce(0) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
        return (String(decoding: out, as: UTF8.self), line)
    }

    static func tokens(in text: String) -> [Token] { tokens(in: Array(text.utf8)) }

    /// Splits UTF-8 text into folded tokens (ASCII without allocation per character; other scripts folded
    /// with Foundation, one token at a time).
    static func tokens(in bytes: [UInt8]) -> [Token] {
        var out: [Token] = []
        var i = 0
        let n = bytes.count
        var start = -1
        var folded: [UInt8] = []
        var ascii = true
        func finish(_ end: Int) {
            guard start >= 0 else { return }
            if !ascii {
                let text = String(decoding: bytes[start..<end], as: UTF8.self)
                folded = Array(text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).lowercased().utf8)
            }
            out.append(Token(start: start, end: end, folded: folded))
            start = -1
            folded = []
            ascii = true
        }
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                let isToken = (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A)
                if isToken {
                    if start < 0 { start = i }
                    folded.append(b >= 0x41 && b <= 0x5A ? b + 32 : b)
                } else {
                    finish(i)
                }
                i += 1
                continue
            }
            // A multi-byte scalar: decode it and classify it as the query parser does.
            let length = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1
            let end = min(n, i + length)
            let scalar = String(decoding: bytes[i..<end], as: UTF8.self).unicodeScalars.first
            if let scalar, scalar.properties.isAlphabetic || scalar.properties.numericType != nil
                || scalar.properties.generalCategory == .nonspacingMark {
                if start < 0 { start = i }
                ascii = false
            } else {
                finish(i)
            }
            i = end
        }
        finish(n)
        return out
    }
}
