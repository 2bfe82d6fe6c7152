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
    ///
    /// - Parameter tree: the tree the agent reads (default: `main`'s); every item is the blob at
    ///   its path there, and notes absent from it are never returned.
    /// - Note: brings the index up to date with `main` only: finding uncommitted edits would cost a
    ///   status of the whole working tree, and agents never see them.
    public func retrieve(task: String, readScope: [Glob], budgetTokens: Int, vault: Vault,
                         excluding: Set<String> = [], tree: OID? = nil) throws -> [ContextItem] {
        var query = SearchQuery.anyWords(of: task)
        guard !query.terms.isEmpty, !readScope.isEmpty, budgetTokens > 0 else { return [] }
        query.paths = readScope
        let reason = "search: " + query.terms.map(\.text).joined(separator: " ")
        let (hits, _, _, _) = try vault.searchIndex.search(query, limit: candidates, workingTree: false)
        guard let tree = try tree ?? vault.head().map({ try vault.repository.commit($0).tree }) else { return [] }
        var left = budgetTokens
        var items: [ContextItem] = []
        for hit in hits where !excluding.contains(hit.path) {
            guard left > 0 else { break }
            // The committed version at that path (an uncommitted edit ranks, but the agent sees what is committed).
            guard let entry = try vault.repository.entry(at: hit.path, in: tree), entry.kind == .blob,
                  entry.mode != TreeChange.symlinkMode else { continue }
            let tokens = ContextItem.estimateTokens(try vault.repository.blob(entry.oid).count)
            guard tokens <= left else { continue }
            left -= tokens
            items.append(ContextItem(path: hit.path, blob: entry.oid.hex, score: hit.score, reason: reason, tokens: tokens))
        }
        return items
    }
}
