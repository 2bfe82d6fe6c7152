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
    /// Notes longer than this many tokens are shown as their best passages of at most this size.
    public var passageTokens: Int
    /// The most passages taken from one note.
    public var passagesPerNote: Int

    public init(candidates: Int = 200, passageTokens: Int = 300, passagesPerNote: Int = 3) {
        self.candidates = candidates
        self.passageTokens = passageTokens
        self.passagesPerNote = passagesPerNote
    }

    /// The notes matching `task` within `readScope`, best first, whose total estimated tokens fit
    /// `budgetTokens`. A note of at most `passageTokens` is shown whole; a longer one by its passages (see
    /// `Passage.split`) that contain the task's words, most matching first, up to `passagesPerNote`, each an
    /// item with its `lines`. What is too large for what is left of the budget is passed over for smaller
    /// items further down. Paths in `excluding` (e.g. core memory already loaded) are left out.
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
        let words = Set(query.terms.map { $0.text.lowercased() })
        let (hits, _, _, _) = try vault.searchIndex.search(query, limit: candidates, workingTree: false)
        guard let tree = try tree ?? vault.head().map({ try vault.repository.commit($0).tree }) else { return [] }
        var left = budgetTokens
        var items: [ContextItem] = []
        for hit in hits where !excluding.contains(hit.path) {
            guard left > 0 else { break }
            // The committed version at that path (an uncommitted edit ranks, but the agent sees what is committed).
            guard let entry = try vault.repository.entry(at: hit.path, in: tree), entry.kind == .blob,
                  entry.mode != TreeChange.symlinkMode else { continue }
            let data = try vault.repository.blob(entry.oid)
            let tokens = ContextItem.estimateTokens(data.count)
            if tokens <= passageTokens {
                guard tokens <= left else { continue }
                left -= tokens
                items.append(ContextItem(path: hit.path, blob: entry.oid.hex, score: hit.score, reason: reason, tokens: tokens))
                continue
            }
            let passages: [Passage] = Passage.split(String(decoding: data, as: UTF8.self), maxTokens: passageTokens)
            var scored: [(passage: Passage, score: Double)] = []
            for passage in passages {
                let score = passage.score(words)
                if score > 0 { scored.append((passage, score)) }
            }
            scored.sort { a, b in a.score != b.score ? a.score > b.score : a.passage.firstLine < b.passage.firstLine }
            var taken = 0
            for (passage, _) in scored where taken < passagesPerNote && passage.tokens <= left {
                left -= passage.tokens
                taken += 1
                items.append(ContextItem(path: hit.path, blob: entry.oid.hex, score: hit.score, reason: reason,
                                         tokens: passage.tokens, lines: passage.lineRange))
            }
        }
        return items
    }
}
