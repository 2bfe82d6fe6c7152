import CairnGit
import Foundation

/// Picks the notes an agent should see for a task: the best BM25 matches for the task's words
/// inside the agent's read scope, within a token budget.
///
/// Only committed content is returned (an agent reads `main`, not the working tree), each item
/// pinned by the blob id of its committed version so the run record can explain and replay it.
public struct Retriever: Sendable {
    /// How many ranked candidates are considered before the budget is applied.
    public var candidates: Int

    public init(candidates: Int = 200) {
        self.candidates = candidates
    }

    /// The notes matching `task` within `readScope`, best first, whose total estimated tokens fit
    /// `budgetTokens`. A note too large for what is left of the budget is passed over for smaller
    /// ones further down. Paths in `excluding` (e.g. core memory already loaded) are left out.
    public func retrieve(task: String, readScope: [Glob], budgetTokens: Int, vault: Vault,
                         excluding: Set<String> = []) throws -> [ContextItem] {
        var query = SearchQuery.anyWords(of: task)
        guard !query.terms.isEmpty, !readScope.isEmpty, budgetTokens > 0 else { return [] }
        query.paths = readScope
        let reason = "search: " + query.terms.map(\.text).joined(separator: " ")
        let (hits, _, _, _) = try vault.searchIndex.search(query, limit: candidates)
        let tree = try vault.head().map { try vault.repository.commit($0).tree }
        var left = budgetTokens
        var items: [ContextItem] = []
        for hit in hits where !excluding.contains(hit.path) {
            guard left > 0 else { break }
            let blob: OID
            let size: Int
            if hit.source == "commit", let oid = OID(hex: hit.blob) {
                blob = oid
                size = try vault.repository.blob(oid).count
            } else {
                // An uncommitted edit: the agent sees the committed version, if there is one.
                guard let tree, let entry = try vault.repository.entry(at: hit.path, in: tree), entry.kind == .blob else { continue }
                blob = entry.oid
                size = try vault.repository.blob(entry.oid).count
            }
            let tokens = ContextItem.estimateTokens(size)
            guard tokens <= left else { continue }
            left -= tokens
            items.append(ContextItem(path: hit.path, blob: blob.hex, score: hit.score, reason: reason, tokens: tokens))
        }
        return items
    }
}
