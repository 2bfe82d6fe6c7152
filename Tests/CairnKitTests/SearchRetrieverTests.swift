import CairnGit
import Foundation
import Testing
@testable import CairnKit

@Suite struct SearchRetrieverTests {
    @Test func retrievesTheBestMatchesInScopeWithinTheBudget() throws {
        let f = try VaultFixture()
        let long = String(repeating: "background filler words ", count: 40)  // ~960 bytes
        try f.write("memory/projects/acmex.md", "---\ntitle: Acmex zenewal\n---\n\nZenewal terms for acmex.\n")
        try f.write("memory/projects/globex.md", "---\ntitle: Globex\n---\n\nMentions zenewal once. \(long)\n")
        try f.write("memory/knowledge/zenewals.md", "---\ntitle: Zenewal playbook\n---\n\nHow zenewal works.\n")
        try f.write("inbox/secret.md", "zenewal zenewal acmex outside the scope\n")
        try f.snapshot()
        let vault = try f.vault()
        let retriever = Retriever()
        let scope = [Glob("memory/**")]

        let all = try retriever.retrieve(task: "Prepare the Acmex zenewal", readScope: scope, budgetTokens: 10_000, vault: vault)
        #expect(Set(all.map(\.path)) == ["memory/projects/acmex.md", "memory/projects/globex.md", "memory/knowledge/zenewals.md"])
        #expect(all.first?.path == "memory/projects/acmex.md")
        #expect(all.allSatisfy { $0.reason == "search: prepare acmex zenewal" })
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.score >= $1.score })
        let tree = try vault.repository.commit(try #require(try vault.head())).tree
        for item in all {
            let entry = try #require(try vault.repository.entry(at: item.path, in: tree))
            #expect(item.blob == entry.oid.hex)
            #expect(item.tokens == ContextItem.estimateTokens(try vault.repository.blob(entry.oid).count))
        }

        // A small budget skips the long note but keeps the short ones that fit.
        let small = try retriever.retrieve(task: "acmex zenewal", readScope: scope, budgetTokens: 60, vault: vault)
        #expect(!small.contains { $0.path == "memory/projects/globex.md" })
        #expect(small.reduce(0) { $0 + $1.tokens } <= 60)
        #expect(!small.isEmpty)
        #expect(try retriever.retrieve(task: "acmex zenewal", readScope: [Glob("memory/knowledge/**")], budgetTokens: 1000, vault: vault).map(\.path)
                == ["memory/knowledge/zenewals.md"])
        #expect(try retriever.retrieve(task: "the and of", readScope: scope, budgetTokens: 1000, vault: vault).isEmpty)
    }

    @Test func uncommittedEditsAreNotShownToAgents() throws {
        let f = try VaultFixture()
        try f.write("memory/knowledge/a.md", "committed text about widgets\n")
        try f.snapshot()
        try f.write("memory/knowledge/a.md", "edited text about widgets and gizmos\n")
        try f.write("memory/knowledge/b.md", "untracked gizmos\n")
        let vault = try f.vault()
        let items = try Retriever().retrieve(task: "widgets gizmos", readScope: [Glob("**")], budgetTokens: 1000, vault: vault)
        #expect(items.map(\.path) == ["memory/knowledge/a.md"])
        let committed = try vault.repository.entry(at: "memory/knowledge/a.md", in: try vault.repository.commit(try #require(try vault.head())).tree)
        #expect(items.first?.blob == committed?.oid.hex)
    }
}
