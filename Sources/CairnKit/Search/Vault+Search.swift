import CairnGit
import Foundation

extension Vault {
    /// The vault's search index (`.git/cairn/search.sqlite`); opening it reads nothing yet.
    public var searchIndex: SearchIndex { SearchIndex(vault: self) }

    /// Searches the notes, after bringing the index up to date with `main` and the working tree.
    ///
    /// - Parameters:
    ///   - query: the query language of `SearchQuery.parse` (words, "phrases", prefix*, -word,
    ///     tag:, tier:, path:).
    ///   - tier, tag, path: filters added to the query's own (as `tier:`, `tag:`, `path:`).
    ///   - limit: the most hits returned.
    /// - Throws: `SearchError` for a query that cannot run; never a raw SQLite error.
    public func search(_ query: String, tier: String? = nil, tag: String? = nil, path: String? = nil,
                       limit: Int = 20) throws -> SearchResults {
        let hasFilters = tier != nil || tag != nil || path != nil
        var parsed = hasFilters && query.allSatisfy(\.isWhitespace) ? SearchQuery() : try SearchQuery.parse(query)
        if let tier {
            let name = tier.lowercased()
            guard Tier(rawValue: name) != nil else { throw SearchError.unknownTier(tier) }
            parsed.tiers.append(name)
        }
        if let tag { parsed.tags.append(SearchQuery.normalizeTag(tag)) }
        if let path { parsed.paths.append(Glob(path)) }
        // Obsidian templates are not memory: left out of the results unless a path filter asks for them.
        let templates = parsed.paths.isEmpty ? ObsidianSettings.read(root: root) : ObsidianSettings()
        let extra = templates.templateFolders.isEmpty ? 0 : limit
        let (found, update, commit, seconds, skipped) = try searchIndex.searchReportingSkipped(parsed, limit: limit + extra)
        let hits = extra > 0 ? Array(found.filter { !templates.isTemplate($0.path) }.prefix(limit)) : found
        return SearchResults(query: query, hits: hits, indexedCommit: commit, update: update, querySeconds: seconds,
                             skipped: skipped)
    }

    /// Documents, size, indexed commit and skipped files of the search index (brought up to date first).
    public func indexStats() throws -> IndexStats { try searchIndex.stats() }

    /// Rebuilds the search index from scratch and returns its stats.
    @discardableResult
    public func rebuildIndex() throws -> IndexStats { try searchIndex.stats(rebuild: true) }

    /// Brings the search index up to date; returns what that cost.
    @discardableResult
    public func updateIndex() throws -> IndexUpdate { try searchIndex.update() }
}
