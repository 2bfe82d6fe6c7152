import CairnGit
import Foundation
import Testing
@testable import CairnKit

/// Long notes reach agents as their best passages, each recorded with its lines.
@Suite struct PassageTests {
    static let longNote: String = {
        var text = "---\ntitle: Acmex account\ntags: [clients]\n---\n\n# Acmex\n\nA long-standing client.\n\n"
        for i in 1...12 {
            text += "## Section \(i)\n\n"
            text += String(repeating: "Routine notes about deliveries and invoices. ", count: 8) + "\n\n"
            if i == 7 { text += "The zenewal is due in March; Dana wants a zenewal discount.\n\n" }
        }
        return text
    }()

    @Test func splitKeepsEveryLineOnceAndRespectsTheLimit() {
        let passages = Passage.split(Self.longNote, maxTokens: 120)
        let lines = Self.longNote.components(separatedBy: "\n").dropLast()
        // Every non-blank line is in exactly one passage, in order; passages do not overlap.
        var covered: [Int] = []
        for p in passages {
            #expect(p.firstLine <= p.lastLine)
            covered += Array(p.firstLine...p.lastLine)
            #expect(p.text == lines[(p.firstLine - 1)...(p.lastLine - 1)].joined(separator: "\n") + "\n")
            #expect(p.tokens <= 120 || p.firstLine == p.lastLine, "\(p.lineRange) has \(p.tokens) tokens")
        }
        #expect(covered == covered.sorted() && Set(covered).count == covered.count)
        for (i, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            #expect(covered.contains(i + 1), "line \(i + 1) is in no passage")
        }
        // Front matter is a passage of its own; each section heading starts one.
        #expect(passages.first?.lineRange == "1-4")
        for p in passages where p.text.contains("## Section") { #expect(p.text.hasPrefix("## Section")) }
        // A single over-long line stays one passage.
        let wide = String(repeating: "x", count: 2_000)
        #expect(Passage.split("short\n\n\(wide)\n", maxTokens: 50).map(\.lineRange) == ["1-1", "3-3"])
        #expect(Passage.split("", maxTokens: 50).isEmpty)
    }

    @Test func aLongNoteIsRetrievedAsItsMatchingPassage() throws {
        let f = try VaultFixture()
        try f.write("memory/projects/acmex.md", Self.longNote)
        try f.write("memory/projects/small.md", "A short note about the zenewal.\n")
        try f.snapshot()
        let vault = try f.vault()
        let items = try Retriever(passageTokens: 120).retrieve(task: "zenewal discount", readScope: [Glob("memory/**")],
                                                              budgetTokens: 2_000, vault: vault)
        let small = try #require(items.first { $0.path == "memory/projects/small.md" })
        #expect(small.lines == nil) // short: shown whole
        let passages = items.filter { $0.path == "memory/projects/acmex.md" }
        #expect(passages.count == 1, "\(passages)")
        let passage = try #require(passages.first)
        let tree = try vault.repository.commit(try #require(try vault.head())).tree
        let blob = try #require(try vault.repository.entry(at: "memory/projects/acmex.md", in: tree))
        #expect(passage.blob == blob.oid.hex)
        let shown = passage.excerpt(of: String(decoding: try vault.repository.blob(blob.oid), as: UTF8.self))
        #expect(shown.contains("zenewal discount"))
        #expect(shown.hasPrefix("## Section 7"))
        #expect(passage.tokens == ContextItem.estimateTokens(shown.utf8.count))
        #expect(passage.tokens < ContextItem.estimateTokens(Self.longNote.utf8.count) / 4)
        #expect(passage.label == "memory/projects/acmex.md:\(passage.lines ?? "")")

        // A budget the passage does not fit leaves the note out rather than cutting further.
        let tight = try Retriever(passageTokens: 120).retrieve(task: "zenewal discount", readScope: [Glob("memory/projects/acmex.md")],
                                                              budgetTokens: 10, vault: vault)
        #expect(tight.isEmpty)
    }

    @Test func theModelPromptShowsThePassageUnderItsLines() throws {
        let agent = try AgentDefinition.parse(path: "agents/a.md", data: Data("---\nkind: model\nwrites: []\n---\nDo it.\n".utf8))
        let item = ContextItem(path: "memory/projects/acmex.md", blob: String(repeating: "0", count: 40), score: 2, reason: "search: x",
                               tokens: 5, lines: "3-4")
        let context = AgentContext(runID: "r", agent: "a", input: [:], base: "b", now: "2026-01-01T00:00:00Z", core: [], retrieved: [item])
        let note = "line one\nline two\nline three\nline four\nline five\n"
        let messages = ModelAgentExecutor.messages(agent: agent, context: context, files: [(item.label, item.excerpt(of: note))])
        let user = try #require(messages.last?.content)
        #expect(user.contains("### memory/projects/acmex.md (lines 3-4)\n\n```\nline three\nline four\n```"))
        #expect(!user.contains("line five"))
    }
}
