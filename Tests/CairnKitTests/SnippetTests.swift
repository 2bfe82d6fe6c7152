import Foundation
import Testing
@testable import CairnKit

/// Snippets cut in Swift: they must highlight what FTS5 matched, as FTS5's tokenizer splits and folds.
@Suite struct SnippetTests {
    func make(_ query: String, _ body: String, width: Int = 16) throws -> (snippet: String, line: Int)? {
        SnippetMaker(terms: try SearchQuery.parse(query).terms).make(body, tokens: width).map {
            ($0.snippet.replacingOccurrences(of: SearchHit.highlightStart, with: "[")
                .replacingOccurrences(of: SearchHit.highlightEnd, with: "]"), $0.line)
        }
    }

    @Test func wordsPhrasesAndPrefixesAreHighlightedAsTheTokenizerSplits() throws {
        #expect(try make("invoice", "Send the Invoice, then file it.")?.snippet == "Send the [Invoice], then file it.")
        #expect(try make("\"net 14\"", "terms: net 14 days; net 30 otherwise")?.snippet == "terms: [net] [14] days; net 30 otherwise")
        #expect(try make("invo*", "re-invoiced and invoices")?.snippet == "re-[invoiced] and [invoices]")
        // Diacritics and case are folded on both sides, as remove_diacritics 2 does.
        #expect(try make("cafe", "Le Café ouvre")?.snippet == "Le [Café] ouvre")
        #expect(try make("CAFÉ", "un cafe noir")?.snippet == "un [cafe] noir")
        // A word inside another is no match; neither is a phrase broken by another word.
        #expect(try make("voice", "invoice") == nil)
        #expect(try make("\"net 14\"", "net 7 14") == nil)
    }

    @Test func theWindowHoldsTheMostDistinctTermsAndSaysWhereItCuts() throws {
        let filler = (1...40).map { "w\($0)" }
        let body = "apple " + filler.joined(separator: " ") + " apple banana " + filler.joined(separator: " ")
        let made = try #require(try make("apple banana", body, width: 6))
        #expect(made.snippet.hasPrefix("…") && made.snippet.hasSuffix("…"), "\(made.snippet)")
        #expect(made.snippet.contains("[apple] [banana]"), "\(made.snippet)")
        #expect(made.line == 0)
        let short = try #require(try make("kiwi", "first line\nsecond\nthe kiwi here"))
        #expect(short.line == 2)
        #expect(short.snippet == "first line\nsecond\nthe [kiwi] here")
    }

    @Test func everyHitOfAGeneratedVaultHighlightsItsTerm() throws {
        let g = try GeneratedVault(notes: 120, commits: 2)
        let vault = try g.vault()
        for word in g.commonWords.prefix(3) + g.rareWords.prefix(2) {
            let hits = try vault.search(word, limit: 50).hits
            #expect(!hits.isEmpty, "\(word)")
            for hit in hits {
                let marked = hit.snippet(open: "[", close: "]").lowercased()
                #expect(marked.contains("[" + word.lowercased() + "]"), "\(word) in \(hit.path): \(marked)")
            }
        }
    }

    @Test func aMatchOnlyInTheTitleStillGetsASnippetFromTheIndex() throws {
        let f = try VaultFixture()
        try f.write("memory/knowledge/a.md", "---\ntitle: Platypus facts\n---\n\nNothing about that animal here.\n")
        try f.snapshot()
        let hit = try #require(try f.vault().search("platypus").hits.first)
        #expect(hit.line == nil)
        #expect(hit.snippet(open: "[", close: "]").contains("[Platypus]"), "\(hit.markedSnippet)")
    }

    @Test func excerptsCollapseWhitespaceAsCharacterSplittingDoes() {
        func reference(_ text: String) -> String { text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ") }
        let pieces = ["a", "Zoë", "…", " ", "  ", "\t", "\n", "\r\n", "\u{0B}", "\u{0C}", "\u{85}", "\u{A0}", "\u{2028}", "\u{3000}",
                      "\u{02}", "\u{03}", "日本", "x-y", "🦦"]
        var seed: UInt64 = 42
        for _ in 0..<2000 {
            var text = ""
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            for i in 0..<Int(seed >> 60) {
                text += pieces[Int((seed >> UInt64(i * 4 % 56)) & 0xFF) % pieces.count]
            }
            #expect(SearchIndex.excerpt(text) == reference(text), "\(Array(text.unicodeScalars))")
        }
        #expect(SearchIndex.excerpt("  two\n\nlines\u{A0}and\u{3000}more  ") == "two lines and more")
    }

    @Test func pickingTheBestHitsMatchesSortingThemAll() {
        var seed: UInt64 = 7
        func next() -> UInt64 { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return seed >> 33 }
        for round in 0..<300 {
            let n = Int(next() % 1200)
            // Few distinct ranks, so ties (broken by the newest id) are common; ids unique.
            var matches = (0..<n).map { i in (id: Int64(i * 3 + Int(next() % 3)), rank: -Double(next() % 40) / 7) }
            for i in stride(from: matches.count - 1, to: 0, by: -1) { matches.swapAt(i, Int(next() % UInt64(i + 1))) }
            for count in [1, 5, 20, 150, 2000] {
                let expected = matches.sorted { $0.rank != $1.rank ? $0.rank < $1.rank : $0.id > $1.id }.prefix(count)
                let picked = SearchIndex.best(matches, count: count)
                #expect(picked.map(\.id) == expected.map(\.id), "round \(round), \(n) matches, best \(count)")
            }
        }
    }
}
