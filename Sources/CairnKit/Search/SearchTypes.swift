import Foundation

/// One note found by a search.
public struct SearchHit: Sendable, Hashable, Codable {
    /// Marks the start of a matched word in `markedSnippet` (a control character no note contains
    /// after indexing).
    public static let highlightStart = "\u{02}"
    /// Marks the end of a matched word in `markedSnippet`.
    public static let highlightEnd = "\u{03}"

    public let path: String
    public let title: String
    public let tier: String?
    public let tags: [String]
    /// BM25 relevance, higher is better (0 for filter-only listings).
    public let score: Double
    /// A short excerpt around the match, with matched words between `highlightStart` and `highlightEnd`.
    public let markedSnippet: String
    /// The file line of the first match in the body, when found.
    public let line: Int?
    /// The blob id of the indexed content (of the working-tree file for uncommitted edits).
    public let blob: String
    /// `commit` when indexed from `main`, `worktree` for an uncommitted edit.
    public let source: String

    public init(path: String, title: String, tier: String?, tags: [String], score: Double,
                markedSnippet: String, line: Int?, blob: String, source: String) {
        self.path = path
        self.title = title
        self.tier = tier
        self.tags = tags
        self.score = score
        self.markedSnippet = markedSnippet
        self.line = line
        self.blob = blob
        self.source = source
    }

    /// The snippet with the matches wrapped in `open` and `close` (e.g. ANSI codes, or «»).
    public func snippet(open: String, close: String) -> String {
        // The markers are single ASCII bytes: one pass over the UTF-8 (Foundation's replacingOccurrences,
        // through NSString, was a third of a warm search's time with 20 hits).
        var bytes: [UInt8] = []
        bytes.reserveCapacity(markedSnippet.utf8.count + 8 * (open.utf8.count + close.utf8.count))
        for byte in markedSnippet.utf8 {
            switch byte {
            case 2: bytes += open.utf8
            case 3: bytes += close.utf8
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    enum CodingKeys: String, CodingKey { case path, title, tier, tags, score, snippet, line, blob, source }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(path, forKey: .path)
        try c.encode(title, forKey: .title)
        try c.encodeIfPresent(tier, forKey: .tier)
        try c.encode(tags, forKey: .tags)
        try c.encode(score, forKey: .score)
        try c.encode(snippet(open: "«", close: "»"), forKey: .snippet)
        try c.encodeIfPresent(line, forKey: .line)
        try c.encode(blob, forKey: .blob)
        try c.encode(source, forKey: .source)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        title = try c.decode(String.self, forKey: .title)
        tier = try c.decodeIfPresent(String.self, forKey: .tier)
        tags = try c.decode([String].self, forKey: .tags)
        score = try c.decode(Double.self, forKey: .score)
        markedSnippet = try c.decode(String.self, forKey: .snippet)
            .replacingOccurrences(of: "«", with: Self.highlightStart).replacingOccurrences(of: "»", with: Self.highlightEnd)
        line = try c.decodeIfPresent(Int.self, forKey: .line)
        blob = try c.decode(String.self, forKey: .blob)
        source = try c.decode(String.self, forKey: .source)
    }
}

/// What a search found.
public struct SearchResults: Sendable, Codable {
    public let query: String
    public let hits: [SearchHit]
    /// The `main` commit the index reflects (uncommitted edits are overlaid).
    public let indexedCommit: String?
    /// What bringing the index up to date cost before the search ran.
    public let update: IndexUpdate
    /// Seconds the query itself took (after the update).
    public let querySeconds: Double
    /// Files the index left out (too large, binary) that could have matched: the search did not look inside them.
    public var skipped: [SkippedFile] = []
}

/// What one index update did.
public struct IndexUpdate: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable { case rebuild, incremental, unchanged }
    public let kind: Kind
    /// Why a rebuild happened ("missing", "schema version 0 ≠ 1", "corrupt: …", "requested").
    public let reason: String?
    /// Notes (re)indexed from `main`.
    public let committedChanges: Int
    /// Notes indexed from (or reset after) working-tree edits.
    public let worktreeChanges: Int
    /// Seconds spent in all.
    public let seconds: Double
    /// Of which: seconds spent finding and indexing working-tree edits.
    public let worktreeSeconds: Double
    /// How the working tree was checked: `watcher` (only the paths `cairn watch` reported), `full`
    /// (every note statted), or nil when it was not checked.
    public var worktreeCheck: String? = nil
    /// Files statted by that check.
    public var filesStatted: Int? = nil
}

/// A file the index left out, and why.
public struct SkippedFile: Sendable, Codable, Hashable {
    public let path: String
    public let reason: String
}

/// What `cairn index --stats` shows.
public struct IndexStats: Sendable, Codable {
    public let path: String
    public let documents: Int
    /// Documents indexed from uncommitted working-tree edits.
    public let worktreeDocuments: Int
    public let bytes: Int64
    public let indexedCommit: String?
    public let schemaVersion: Int
    public let skipped: [SkippedFile]
    public let update: IndexUpdate
}

/// One link between notes.
public struct LinkEntry: Sendable, Codable, Hashable {
    public enum Kind: String, Sendable, Codable { case wiki, markdown }
    /// The note that holds the link.
    public let source: String
    /// The link target as written (`Target` for `[[Target#h|a]]`, `../x.md` for a Markdown link).
    public let target: String
    /// The note the link resolves to, `nil` when broken.
    public let resolved: String?
    public let kind: Kind
    /// The file line of the link in `source`.
    public let line: Int
}

/// A note's outgoing links and the links that point to it.
public struct NoteLinkReport: Sendable, Codable {
    public let path: String
    public let title: String
    public let outgoing: [LinkEntry]
    public let backlinks: [LinkEntry]
}
