import Foundation

/// A search that cannot run, in words the operator can act on. Never a raw SQLite message.
public enum SearchError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The query has no words and no filters.
    case emptyQuery
    /// A `"` opened a phrase that is never closed.
    case unbalancedQuote(query: String)
    /// A filter (`tag:`, `tier:`, `path:`) without a value.
    case emptyFilter(name: String)
    /// `tier:` names no tier.
    case unknownTier(String)
    /// Only `-word` exclusions: there is nothing to exclude them from.
    case onlyExclusions
    /// A limit below 1.
    case invalidLimit(Int)
    /// `links NOTE` names no note in the index.
    case noteNotFound(String)
    /// A note name that fits several notes.
    case ambiguousNote(String, candidates: [String])
    /// The index could not be built or read even after a rebuild.
    case indexUnavailable(path: String, reason: String)

    public var description: String {
        switch self {
        case .emptyQuery:
            return "the search query is empty; give words, \"a phrase\", prefix*, or a filter such as tag:x, tier:x, path:glob"
        case .unbalancedQuote(let query):
            return "the search query has an unclosed quote: \(query); close the phrase with a second \""
        case .emptyFilter(let name):
            return "'\(name):' needs a value, e.g. \(name):\(name == "path" ? "memory/projects/**" : name == "tier" ? "knowledge" : "billing")"
        case .unknownTier(let name):
            return "unknown tier '\(name)'; allowed tiers: \(Tier.allowedNames)"
        case .onlyExclusions:
            return "the query only excludes words (-word); add a word to search for or a filter to list"
        case .invalidLimit(let n):
            return "the limit must be at least 1 (got \(n))"
        case .noteNotFound(let name):
            return "no note '\(name)' in the vault; give a path (memory/knowledge/x.md) or a note name"
        case .ambiguousNote(let name, let candidates):
            let what = candidates.allSatisfy(IndexedDocument.isIndexable) ? "notes" : "files"
            return "'\(name)' names several \(what): \(candidates.prefix(5).joined(separator: ", ")); give the path"
        case .indexUnavailable(let path, let reason):
            return "the search index at \(path) could not be built: \(reason); delete it and run `cairn index --rebuild`"
        }
    }
}
