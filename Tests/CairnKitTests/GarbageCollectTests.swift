import CairnGit
import Foundation
import Testing
@testable import CairnKit

/// The built-in `gc` agent: expired working notes, near-duplicates and stale notes, always as a proposal.
@Suite struct GarbageCollectTests {
    static let reads = ["memory/**"]
    static let writes = ["memory/working/**", "memory/projects/**", "memory/knowledge/**"]
    static let paragraph = """
        The quarterly supplier review compares delivery times, invoice accuracy and the price per kilo \
        for every roaster we buy from, and ends with a short list of suppliers to renegotiate with before \
        the next contract period starts in the spring. Each entry names the contact, the last order and \
        the open questions that the team still has to answer.
        """

    func base(_ f: VaultFixture) throws -> BaseSnapshot {
        let vault = try f.vault()
        let head = try #require(try vault.head())
        return BaseSnapshot(repository: vault.repository, commit: head, tree: try vault.repository.commit(head).tree)
    }

    func gc(_ f: VaultFixture, now: Date? = nil) throws -> BuiltinOutcome {
        try BuiltinAgents.garbageCollect(base: try base(f), policy: Policy(), now: now ?? f.now, reads: Self.reads, writes: Self.writes)
    }

    func written(_ outcome: BuiltinOutcome, _ path: String) -> String? {
        outcome.edits.first { $0.path == path && $0.action == .write }.flatMap { $0.content }.map { String(decoding: $0, as: UTF8.self) }
    }

    /// Template notes that would otherwise be proposed too (an expired working note, template duplicates none).
    func quietTemplate(_ f: VaultFixture) throws {
        try FileManager.default.removeItem(atPath: f.root + "/memory/working/this-week.md")
    }

    @Test func nearDuplicatesAreArchivedWithAPointerAndDistinctNotesStay() throws {
        let f = try VaultFixture()
        try quietTemplate(f)
        try f.write("memory/knowledge/supplier-review.md", "---\ntitle: Supplier review\n---\n\n\(Self.paragraph) Extra closing line here.\n")
        // Same text, a few words changed: a near-duplicate, smaller, so it is the one archived.
        try f.write("memory/projects/supplier-review-copy.md",
                    "# Supplier review\n\n" + Self.paragraph.replacingOccurrences(of: "spring", with: "autumn")
                        .replacingOccurrences(of: "short list", with: "list") + "\n")
        // Same topic, different words: not a duplicate.
        try f.write("memory/knowledge/roaster-visits.md", """
            # Roaster visits

            We visit two roasters each month to taste new lots, check storage conditions and talk about \
            green coffee availability; notes from each visit go into the supplier folder with photos.
            """)
        try f.snapshot()
        let outcome = try gc(f)
        let archived = "memory/knowledge/archive/2026/supplier-review-copy.md"
        #expect(outcome.edits.map(\.description) == ["delete memory/projects/supplier-review-copy.md", "write \(archived)"])
        let text = try #require(written(outcome, archived))
        #expect(text.hasPrefix("# Supplier review\n"), "the archived copy keeps its text: \(text)")
        #expect(text.contains("> Archived by gc on 2026-03-01 as a near-duplicate of [[supplier-review]] (`memory/knowledge/supplier-review.md`, "), "\(text)")
        #expect(outcome.summary == "archive 1 near-duplicate")
        #expect(outcome.details.count == 1 && outcome.details[0].contains("memory/knowledge/supplier-review.md is kept"))
        // Deterministic: the same base and clock give the same proposal.
        let again = try gc(f)
        #expect(again.edits == outcome.edits && again.details == outcome.details && again.summary == outcome.summary)
    }

    @Test func pinnedOrUnwritableDuplicatesAndStaleNotesBecomeReviewTasks() throws {
        let f = try VaultFixture()
        try quietTemplate(f)
        try f.write("memory/knowledge/big.md", "# Big\n\n\(Self.paragraph) And one more sentence at the end.\n")
        try f.write("memory/knowledge/pinned-copy.md", "---\npinned: true\n---\n\n\(Self.paragraph)\n")
        try f.write("memory/knowledge/stale.md", "---\ntitle: Stale\nreview_after: 2026-02-01\n---\n\nOld facts.\n")
        try f.write("memory/knowledge/fresh.md", "---\ntitle: Fresh\nreview_after: 2026-04-01\n---\n\nNew facts.\n")
        try f.write("memory/knowledge/due-today.md", "---\ntitle: Due today\nreview_after: 2026-03-01\n---\n\nToday.\n")
        try f.snapshot()
        let outcome = try gc(f)
        let review = "memory/working/gc-review-2026-03-01.md"
        #expect(outcome.edits.map(\.description) == ["write \(review)"])
        let text = try #require(written(outcome, review))
        #expect(text.contains("- [ ] `memory/knowledge/stale.md`: review_after 2026-02-01 has passed"), "\(text)")
        #expect(text.contains("- [ ] `memory/knowledge/pinned-copy.md` is a near-duplicate of `memory/knowledge/big.md`"), "\(text)")
        #expect(text.contains("(pinned)"), "\(text)")
        #expect(!text.contains("fresh.md") && !text.contains("due-today.md"), "\(text)")
        #expect(outcome.summary == "ask to review 2 notes")
        // The review note is valid front matter and expires on its own.
        let note = try NoteParser.parse(path: review, data: Data(text.utf8))
        #expect(note.expiresDate != nil)

        // Once that note is on main, its open tasks are not asked again; ticking one lets it come back.
        try f.write(review, "\(text)")
        try f.snapshot()
        #expect(try gc(f).edits.isEmpty)
        try f.write(review, text.replacingOccurrences(of: "- [ ] `memory/knowledge/stale.md`", with: "- [x] `memory/knowledge/stale.md`"))
        try f.snapshot()
        let next = try gc(f)
        #expect(next.edits.map(\.description) == ["write memory/working/gc-review-2026-03-01-2.md"])
        #expect(written(next, "memory/working/gc-review-2026-03-01-2.md")?.contains("stale.md") == true)
    }

    @Test func expiredWorkingNotesAreStillArchivedFirst() throws {
        let f = try VaultFixture()
        // The template's this-week.md expires before the fixture clock.
        let outcome = try gc(f)
        #expect(outcome.edits.map(\.description) == ["delete memory/working/this-week.md", "write memory/knowledge/archive/2026/this-week.md"])
        #expect(outcome.summary == "archive 1 expired working note")
    }

    @Test func generatedNotesAreDistinctAndPlantedCopiesAreFound() throws {
        let g = try GeneratedVault(notes: 300, commits: 2)
        let f = g.fixture
        let vault = try g.vault()
        let head = try #require(try vault.head())
        let snapshot = BaseSnapshot(repository: vault.repository, commit: head, tree: try vault.repository.commit(head).tree)
        let notes = try snapshot.files(matching: [Glob("memory/**")]).filter { $0.path.hasSuffix(".md") }
        try #require(notes.count > 100)
        let documents = try notes.map { file -> (path: String, text: String) in
            let note = try NoteParser.parse(path: file.path, data: try vault.repository.blob(file.oid))
            return (file.path, note.body)
        }
        #expect(NearDuplicateFinder().pairs(documents).isEmpty, "generated notes share a vocabulary but not their text")

        // Plant three near-copies (a word changed, a line added, a line dropped) of long generated notes.
        let long = documents.filter { SearchQuery.words(in: $0.text).count > 150 }.prefix(3)
        try #require(long.count == 3)
        var planted: [(String, String)] = []
        for (i, doc) in long.enumerated() {
            var lines = doc.text.components(separatedBy: "\n")
            switch i {
            case 0: lines = lines.map { $0.replacingOccurrences(of: " mowa ", with: " mowwa ") }
            case 1: lines.insert("An extra line the copy gained.", at: min(3, lines.count))
            default: if let last = lines.lastIndex(where: { !$0.isEmpty }) { lines.remove(at: last) }
            }
            let copy = "memory/working/copy-\(i).md"
            try f.write(copy, lines.joined(separator: "\n"))
            planted.append((doc.path < copy ? doc.path : copy, doc.path < copy ? copy : doc.path))
        }
        try f.snapshot()
        let outcome = try BuiltinAgents.garbageCollect(base: try base(f), policy: Policy(memory: .init(workingTTLDays: 0)),
                                                        now: f.now, reads: Self.reads, writes: Self.writes)
        // (The template's expired this-week.md is archived too.)
        let deleted = outcome.edits.filter { $0.action == .delete && $0.path != "memory/working/this-week.md" }.map(\.path)
        // Each pair: the original (larger or first by path) stays, the copy goes to the archive.
        #expect(Set(deleted).count == 3, "\(outcome.details)")
        for (a, b) in planted { #expect(deleted.contains(a) != deleted.contains(b), "exactly one of \(a), \(b) is archived") }
        #expect(outcome.summary == "archive 1 expired working note; archive 3 near-duplicates", "\(outcome.summary)")
    }

    @Test func finderIsExactAboveTheThresholdAndIgnoresShortNotes() {
        let finder = NearDuplicateFinder()
        let words = (0..<40).map { "w\($0)" }
        let a = words.joined(separator: " ")
        // 38 shingles; changing the last word replaces one: Jaccard 37/39 ≈ 0.95.
        let b = (words.dropLast() + ["other"]).joined(separator: " ")
        // Every fourth word changed: no shingle survives.
        let c = words.enumerated().map { $0.offset % 4 == 0 ? "x\($0.offset)" : $0.element }.joined(separator: " ")
        let pairs = finder.pairs([("c.md", c), ("b.md", b), ("a.md", a), ("short.md", "w0 w1 w2"), ("short2.md", "w0 w1 w2")])
        #expect(pairs.map { "\($0.first) \($0.second)" } == ["a.md b.md"])
        #expect(abs((pairs.first?.similarity ?? 0) - 37.0 / 39.0) < 1e-9)
        #expect(NearDuplicateFinder.jaccard([1, 2, 3], [2, 3, 4]) == 0.5)
    }

    @Test func wordHashesAreThoseOfTheSearchWords() {
        // ASCII words (lowercased byte by byte) and words with other letters, marks and digits (lowercased as strings),
        // switching in the middle of a word, at the start and end of the text, after punctuation.
        let texts = [
            "The Quick brown-fox, 42 times: jumped_over ÉCOLE Straße İstanbul café Cafe\u{301} naïve",
            "ÀB àb Ab9 9Ab x²y ½ Ⅻ ΣΑΣ ΌΣΟΣ 東京タワー 漢字abc abc漢字 ْعربي",
            "@[x]`{y}~ \t\nEnd.", "", "   ", "Ünïcödé",
        ]
        for text in texts {
            #expect(NearDuplicateFinder.wordHashes(text) == SearchQuery.words(in: text).map(NearDuplicateFinder.fnv1a), "\(text)")
        }
    }
}
