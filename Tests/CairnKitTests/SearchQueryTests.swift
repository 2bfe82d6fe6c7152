import Foundation
import Testing
@testable import CairnKit

@Suite struct SearchQueryTests {
    @Test func parsesWordsPhrasesPrefixesExclusionsAndFilters() throws {
        let q = try SearchQuery.parse(#"invoice "net 30" acme* -draft tag:#Billing tier:Projects path:memory/**"#)
        #expect(q.terms == [.init("invoice"), .init("net 30"), .init("acme", isPrefix: true)])
        #expect(q.excluded == [.init("draft")])
        #expect(q.tags == ["billing"])
        #expect(q.tiers == ["projects"])
        #expect(q.paths == [Glob("memory/**")])
        #expect(q.matchExpression == #"("invoice" AND "net 30" AND "acme" *) NOT "draft""#)
    }

    @Test func everyTermReachesFTSQuoted() throws {
        let q = try SearchQuery.parse(#"NEAR(a b) OR x^y col:z {a} AND"#)
        #expect(q.matchExpression == #"("NEAR(a" AND "b)" AND "OR" AND "x^y" AND "col:z" AND "{a}" AND "AND")"#)
    }

    @Test(arguments: [
        ("", SearchError.emptyQuery),
        ("   ", SearchError.emptyQuery),
        ("!!! ???", SearchError.emptyQuery),
        (#""unclosed phrase"#, SearchError.unbalancedQuote(query: #""unclosed phrase"#)),
        (#"word"inside"#, SearchError.unbalancedQuote(query: #"word"inside"#)),
        ("-draft", SearchError.onlyExclusions),
        ("tag:", SearchError.emptyFilter(name: "tag")),
        ("tier:nowhere x", SearchError.unknownTier("nowhere")),
    ])
    func syntaxErrorsAreCleanErrors(query: String, expected: SearchError) {
        #expect(throws: expected) { try SearchQuery.parse(query) }
    }

    @Test func hostileQueriesNeverReachSQLiteRaw() throws {
        let f = try VaultFixture()
        try f.write("memory/knowledge/a.md", "---\ntitle: Alpha\n---\n\nthe near (field) value x^y\n")
        try f.snapshot()
        let vault = try f.vault()
        for query in [#"NEAR(near field)"#, "x^y", "col:field", "AND", "OR NOT", "*", "near*", "(field)", "'; DROP TABLE docs; --",
                      "\u{0}", "{title}: near", "\"\"\"\""] {
            do {
                _ = try vault.search(query)
            } catch let error as SearchError {
                #expect(error == .emptyQuery || error == .unbalancedQuote(query: query), "\(query): \(error)")
            }
        }
        #expect(try vault.searchPaths("(field) NEAR") == ["memory/knowledge/a.md"])
        #expect(try vault.searchPaths("x^y") == ["memory/knowledge/a.md"])
        #expect(try vault.indexStats().documents > 0)  // nothing was dropped
    }

    @Test func phrasesPrefixesExclusionsAndFiltersSelectTheRightNotes() throws {
        let f = try VaultFixture()
        try f.write("memory/projects/acme.md", "---\ntitle: Acme\ntags: [client, billing]\n---\n\nFaktura with nett 30 terms.\n")
        try f.write("memory/projects/globex.md", "---\ntitle: Globex\ntags: [client]\n---\n\nThirty nett days; faktura draft.\n")
        try f.write("memory/knowledge/fakturing.md", "---\ntitle: Fakturing\n---\n\nHow we faktura: nett 30.\n")
        try f.write("inbox/caf\u{E9}.md", "Caf\u{E9} meeting about fakturas\n")
        try f.snapshot()
        let v = try f.vault()
        #expect(try v.searchPaths(#""nett 30""#) == ["memory/projects/acme.md", "memory/knowledge/fakturing.md"])
        #expect(try v.searchPaths("faktur*") == ["memory/projects/acme.md", "memory/projects/globex.md", "memory/knowledge/fakturing.md", "inbox/café.md", "memory/core/business.md"])  // the template mentions Fakturama
        #expect(try v.searchPaths("faktura -draft") == ["memory/projects/acme.md", "memory/knowledge/fakturing.md"])
        #expect(try v.searchPaths("faktura tag:client") == ["memory/projects/acme.md", "memory/projects/globex.md"])
        #expect(try v.searchPaths("faktura tier:knowledge") == ["memory/knowledge/fakturing.md"])
        #expect(try v.searchPaths("nett path:memory/projects/**") == ["memory/projects/acme.md", "memory/projects/globex.md"])
        #expect(try v.searchPaths("cafe") == ["inbox/café.md"])  // diacritics removed
        // Filters without words list notes by path.
        let listing = try v.search("tag:client")
        #expect(listing.hits.map(\.path) == ["memory/projects/acme.md", "memory/projects/globex.md"])
        #expect(listing.hits.allSatisfy { $0.score == 0 })
        #expect(try v.search("", tier: "projects", tag: "billing").hits.map(\.path) == ["memory/projects/acme.md"])
        #expect(throws: SearchError.unknownTier("bogus")) { try v.search("x", tier: "bogus") }
        #expect(throws: SearchError.invalidLimit(0)) { try v.search("x", limit: 0) }
        #expect(try v.search("faktura", limit: 2).hits.count == 2)
    }

    @Test func hitsCarrySnippetLineAndBlob() throws {
        let f = try VaultFixture()
        try f.write("memory/knowledge/a.md", "---\ntitle: Alpha\n---\n\nline five\nline six has the durian here\n")
        try f.snapshot()
        let vault = try f.vault()
        let hit = try #require(try vault.search("durian").hits.first)
        #expect(hit.line == 6)
        #expect(hit.snippet(open: "[", close: "]").contains("[durian]"))
        #expect(hit.title == "Alpha")
        let committed = try vault.repository.entry(at: "memory/knowledge/a.md", in: try vault.repository.commit(try #require(try vault.head())).tree)
        #expect(hit.blob == committed?.oid.hex)
        let json = String(decoding: try JSONEncoder().encode(hit), as: UTF8.self)
        #expect(json.contains("«durian»"))
    }
}
