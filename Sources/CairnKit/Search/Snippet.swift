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
            let t = Self.tokens(in: Array(term.text.utf8))
            let words = t.list.indices.map { Array(t.folded($0)) }
            return words.isEmpty ? nil : (words, term.isPrefix)
        }
    }

    /// A token: its UTF-8 byte range in the text and the range of its folded form in `Tokens.folded`.
    struct Token {
        var start: Int
        var end: Int
        var foldStart: Int
        var foldEnd: Int
    }

    /// The tokens of a text, their folded forms stored one after another in one buffer.
    struct Tokens {
        var list: [Token] = []
        var folded: [UInt8] = []

        func folded(_ i: Int) -> ArraySlice<UInt8> { folded[list[i].foldStart..<list[i].foldEnd] }
    }

    /// The snippet (matches between `SearchHit.highlightStart` and `highlightEnd`) and the 0-based line of
    /// the first match; nil when no term matches in `body`.
    func make(_ body: String, tokens width: Int = 16) -> (snippet: String, line: Int)? {
        let bytes = Array(body.utf8)
        let all = Self.tokens(in: bytes)
        let tokens = all.list
        let matches = Self.matches(all, phrases)
        guard let first = matches.first else { return nil }

        // The best window: starting at a match, or a little before it so the match has some context.
        var best = (start: 0, score: -1)
        for match in matches {
            for start in [max(0, match.at - width / 4), match.at] {
                let end = start + width
                var seen: UInt64 = 0  // which terms (a query of more than 64 terms shares bits: a tie-break only)
                var count = 0
                for m in matches where m.at >= start && m.at + m.length <= end {
                    seen |= 1 << UInt64(m.phrase & 63)
                    count += 1
                }
                let score = seen.nonzeroBitCount * 1000 + count
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

    /// Every match of `phrases` in `all`: its first token, its length in tokens and which term it is.
    /// (Plain loops over local arrays: a nested function capturing mutable state would box it and check
    /// exclusive access on every byte.)
    static func matches(_ all: Tokens, _ phrases: [(words: [[UInt8]], prefix: Bool)]) -> [(at: Int, length: Int, phrase: Int)] {
        var matches: [(at: Int, length: Int, phrase: Int)] = []
        let tokens = all.list
        let folded = all.folded
        for i in 0..<tokens.count {
            for p in 0..<phrases.count {
                let words = phrases[p].words
                guard i + words.count <= tokens.count else { continue }
                var ok = true
                for k in 0..<words.count {
                    let t = tokens[i + k], word = words[k]
                    let n = t.foldEnd - t.foldStart
                    let prefix = phrases[p].prefix && k == words.count - 1
                    if prefix ? n < word.count : n != word.count { ok = false; break }
                    var j = 0
                    while j < word.count && folded[t.foldStart + j] == word[j] { j += 1 }
                    if j < word.count { ok = false; break }
                }
                if ok { matches.append((i, words.count, p)) }
            }
        }
        return matches
    }

    /// Splits UTF-8 text into folded tokens: ASCII folded byte by byte, other scripts with Foundation, one
    /// token at a time.
    static func tokens(in bytes: [UInt8]) -> Tokens {
        var list: [Token] = []
        var folded: [UInt8] = []
        list.reserveCapacity(bytes.count / 5)
        folded.reserveCapacity(bytes.count)
        var start = -1
        var foldStart = 0
        var ascii = true
        let n = bytes.count
        var i = 0
        while i <= n {
            var isToken = false
            var length = 1
            if i < n {
                let c = bytes[i]
                if c < 0x80 {
                    if (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A) {
                        isToken = true
                        folded.append(c)
                    } else if c >= 0x41 && c <= 0x5A {
                        isToken = true
                        folded.append(c + 32)
                    }
                } else {
                    // A multi-byte scalar: decode it and classify it as the query parser does.
                    length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1
                    let scalar = String(decoding: bytes[i..<min(n, i + length)], as: UTF8.self).unicodeScalars.first
                    if let scalar, scalar.properties.isAlphabetic || scalar.properties.numericType != nil
                        || scalar.properties.generalCategory == .nonspacingMark {
                        isToken = true
                        ascii = false
                    }
                }
            }
            if isToken {
                if start < 0 { start = i }
            } else if start >= 0 {
                if !ascii {
                    // Fold the whole token (its ASCII bytes appended so far are replaced).
                    folded.removeLast(folded.count - foldStart)
                    let text = String(decoding: bytes[start..<i], as: UTF8.self)
                    folded += Array(text.folding(options: [.caseInsensitive, .diacriticInsensitive], locale: nil).lowercased().utf8)
                }
                list.append(Token(start: start, end: i, foldStart: foldStart, foldEnd: folded.count))
                foldStart = folded.count
                start = -1
                ascii = true
            }
            i += length
        }
        return Tokens(list: list, folded: folded)
    }
}
