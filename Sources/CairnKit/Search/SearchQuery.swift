import Foundation

/// A parsed search query: words, phrases and prefixes to match, words to exclude, and filters.
///
/// The language: bare words (all must match), `"quoted phrases"`, `prefix*`, `-word` or
/// `-"phrase"` to exclude, and the filters `tag:x`, `tier:x`, `path:glob`. A filter value may be
/// quoted (`tag:"two words"`). Every term reaches FTS5 quoted, so no user input is ever read as
/// FTS5 syntax.
public struct SearchQuery: Sendable, Hashable {
    /// One thing to match in the text.
    public struct Term: Sendable, Hashable, CustomStringConvertible {
        /// The words as the user wrote them (several for a phrase).
        public let text: String
        /// `true` for `word*`.
        public let isPrefix: Bool

        public init(_ text: String, isPrefix: Bool = false) {
            self.text = text
            self.isPrefix = isPrefix
        }

        /// The term as an FTS5 string: double-quoted, inner quotes doubled, `*` outside the quotes.
        var fts: String {
            "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" + (isPrefix ? " *" : "")
        }

        /// The lowercased words of the term, split as the index tokenizer splits (letters and digits).
        var words: [String] { SearchQuery.words(in: text) }

        public var description: String { (text.contains(" ") ? "\"\(text)\"" : text) + (isPrefix ? "*" : "") }
    }

    /// How the positive terms combine.
    public enum Mode: Sendable, Hashable {
        /// Every term must match (what users type).
        case all
        /// Any term may match; ranking decides (what the retriever uses for a task description).
        case any
    }

    public var terms: [Term]
    public var excluded: [Term]
    public var tags: [String]
    public var tiers: [String]
    public var paths: [Glob]
    public var mode: Mode

    public init(terms: [Term] = [], excluded: [Term] = [], tags: [String] = [], tiers: [String] = [],
                paths: [Glob] = [], mode: Mode = .all) {
        self.terms = terms
        self.excluded = excluded
        self.tags = tags
        self.tiers = tiers
        self.paths = paths
        self.mode = mode
    }

    /// `true` when the query only filters (no words): results are listed by path, unranked.
    public var isFilterOnly: Bool { terms.isEmpty }

    /// The FTS5 MATCH expression, or `nil` for a filter-only query.
    var matchExpression: String? {
        guard !terms.isEmpty else { return nil }
        let joiner = mode == .all ? " AND " : " OR "
        var expression = "(" + terms.map(\.fts).joined(separator: joiner) + ")"
        for term in excluded { expression += " NOT " + term.fts }
        return expression
    }

    /// Parses the query language.
    ///
    /// - Throws: `SearchError` for an unclosed quote, an empty filter, an unknown tier, a query
    ///   that only excludes, or one with nothing in it.
    public static func parse(_ query: String) throws(SearchError) -> SearchQuery {
        var result = SearchQuery()
        let scalars = Array(query.unicodeScalars)
        var index = 0
        func isSpace(_ s: Unicode.Scalar) -> Bool { s.properties.isWhitespace }

        /// Reads a bare token or a quoted string starting at `index`; returns the text and whether it was quoted.
        func readValue() throws(SearchError) -> (text: String, quoted: Bool) {
            if index < scalars.count, scalars[index] == "\"" {
                index += 1
                var text = String.UnicodeScalarView()
                while index < scalars.count, scalars[index] != "\"" {
                    text.append(scalars[index])
                    index += 1
                }
                guard index < scalars.count else { throw .unbalancedQuote(query: query) }
                index += 1
                return (String(text), true)
            }
            var text = String.UnicodeScalarView()
            while index < scalars.count, !isSpace(scalars[index]) {
                if scalars[index] == "\"" { throw .unbalancedQuote(query: query) }
                text.append(scalars[index])
                index += 1
            }
            return (String(text), false)
        }

        while index < scalars.count {
            if isSpace(scalars[index]) { index += 1; continue }
            var negate = false
            if scalars[index] == "-", index + 1 < scalars.count, !isSpace(scalars[index + 1]) {
                negate = true
                index += 1
            }
            // A filter: `name:` at the start of a token.
            if !negate, let filter = Self.filterName(scalars, at: index) {
                index += filter.count + 1
                let (value, _) = try readValue()
                let trimmed = value.trimmingCharacters(in: .whitespaces)
                guard !trimmed.isEmpty else { throw .emptyFilter(name: filter) }
                switch filter {
                case "tag":
                    result.tags.append(Self.normalizeTag(trimmed))
                case "tier":
                    let name = trimmed.lowercased()
                    guard Tier(rawValue: name) != nil else { throw .unknownTier(trimmed) }
                    result.tiers.append(name)
                default:
                    result.paths.append(Glob(trimmed))
                }
                continue
            }
            let (value, quoted) = try readValue()
            var text = value
            var prefix = false
            if !quoted, text.hasSuffix("*") {
                while text.hasSuffix("*") { text.removeLast() }
                prefix = true
            } else if quoted, index < scalars.count, scalars[index] == "*" {
                index += 1
                prefix = true
            }
            // Terms with no letters or digits would match nothing (the tokenizer drops them).
            guard !words(in: text).isEmpty else { continue }
            let term = Term(text, isPrefix: prefix)
            if negate { result.excluded.append(term) } else { result.terms.append(term) }
        }
        if result.terms.isEmpty {
            if !result.excluded.isEmpty { throw .onlyExclusions }
            if result.tags.isEmpty && result.tiers.isEmpty && result.paths.isEmpty { throw .emptyQuery }
        }
        return result
    }

    /// A query that matches any of the words of a free-text task (for the retriever).
    public static func anyWords(of text: String, maxWords: Int = 16) -> SearchQuery {
        var seen = Set<String>()
        var terms: [Term] = []
        for word in words(in: text) where word.count >= 3 && !stopWords.contains(word) {
            guard seen.insert(word).inserted else { continue }
            terms.append(Term(word))
            if terms.count == maxWords { break }
        }
        return SearchQuery(terms: terms, mode: .any)
    }

    /// Lowercased runs of letters and digits, as FTS5's unicode61 tokenizer splits text.
    static func words(in text: String) -> [String] {
        var out: [String] = []
        var current = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.properties.isAlphabetic || scalar.properties.numericType != nil
                || scalar.properties.generalCategory == .nonspacingMark {
                current.append(scalar)
            } else if !current.isEmpty {
                out.append(String(current).lowercased())
                current = String.UnicodeScalarView()
            }
        }
        if !current.isEmpty { out.append(String(current).lowercased()) }
        return out
    }

    static func normalizeTag(_ tag: String) -> String {
        var t = Substring(tag)
        while t.hasPrefix("#") { t = t.dropFirst() }
        return t.lowercased()
    }

    private static let filterNames = ["tag", "tier", "path"]

    private static func filterName(_ scalars: [Unicode.Scalar], at index: Int) -> String? {
        for name in filterNames {
            let n = name.unicodeScalars.count
            guard index + n < scalars.count, scalars[index + n] == ":" else { continue }
            let word = String(String.UnicodeScalarView(scalars[index..<(index + n)])).lowercased()
            if word == name { return name }
        }
        return nil
    }

    private static let stopWords: Set<String> = [
        "the", "and", "for", "with", "that", "this", "from", "into", "about", "what", "which", "when", "where",
        "who", "how", "why", "are", "was", "were", "been", "being", "have", "has", "had", "not", "but", "all",
        "any", "can", "could", "should", "would", "will", "shall", "may", "might", "must", "our", "your", "their",
        "its", "his", "her", "them", "they", "you", "she", "him", "out", "off", "over", "under", "then", "than",
        "there", "here", "these", "those", "some", "each", "every", "other", "such", "only", "own", "same", "too",
        "very", "just", "also", "please", "make", "made", "get", "got", "use", "using", "via", "per", "let",
    ]
}
