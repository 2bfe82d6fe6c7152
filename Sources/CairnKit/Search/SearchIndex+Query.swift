import CairnGit
import Foundation
import GRDB

extension SearchIndex {
    /// Brings the index up to date and runs `query`, best matches first.
    ///
    /// Ranking is BM25 with title matches weighted 10×, tags 5×, body 1×. A filter-only query
    /// lists matching notes by path. `workingTree: false` skips finding uncommitted edits (see
    /// `withUpToDateIndex`).
    public func search(_ query: SearchQuery, limit: Int = 20,
                       workingTree: Bool = true) throws -> (hits: [SearchHit], update: IndexUpdate, commit: String?, seconds: Double) {
        let (hits, update, commit, seconds, _) = try searchReportingSkipped(query, limit: limit, workingTree: workingTree)
        return (hits, update, commit, seconds)
    }

    /// `search`, with the files left out of the index (too large, binary) that the query could have matched, so that
    /// a search never hides a miss: all of them, or those its `path:` filters allow (their tier and tags are unknown).
    public func searchReportingSkipped(_ query: SearchQuery, limit: Int = 20, workingTree: Bool = true)
        throws -> (hits: [SearchHit], update: IndexUpdate, commit: String?, seconds: Double, skipped: [SkippedFile]) {
        guard limit >= 1 else { throw SearchError.invalidLimit(limit) }
        let ((hits, commit, seconds, skipped), update) = try withUpToDateIndex(workingTree: workingTree) { db in
            let started = DispatchTime.now()
            let hits = try Self.run(query, limit: limit, in: db)
            let seconds = Self.seconds(since: started)
            let skipped = try Row.fetchAll(db, sql: "SELECT path, reason FROM skipped ORDER BY path").compactMap { row -> SkippedFile? in
                let path: String = row["path"]
                guard query.paths.isEmpty || query.paths.anyMatches(path) else { return nil }
                return SkippedFile(path: path, reason: row["reason"])
            }
            return (hits, try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'commit'"), seconds, skipped)
        }
        return (hits, update, commit.flatMap { $0.isEmpty ? nil : $0 }, seconds, skipped)
    }

    /// Brings the index up to date once, then runs `query` `runs` times on the same connection and
    /// returns each run's seconds (ranking, details and snippets, as `search` does): what a query
    /// costs in a process that keeps the index open, without process start or the freshness check.
    /// Also returns each run's CPU seconds on the calling thread, which other processes on a busy
    /// machine do not inflate.
    public func timeQuery(_ query: SearchQuery, limit: Int = 20,
                          runs: Int) throws -> (update: IndexUpdate, seconds: [Double], cpuSeconds: [Double], hits: Int) {
        guard limit >= 1 else { throw SearchError.invalidLimit(limit) }
        func threadCPU() -> Double {
            var t = timespec()
            clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
            return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
        }
        let ((seconds, cpu, hits), update) = try withUpToDateIndex { db -> ([Double], [Double], Int) in
            var seconds: [Double] = [], cpu: [Double] = []
            var hits = 0
            for _ in 0..<max(1, runs) {
                let started = DispatchTime.now()
                let cpuStarted = threadCPU()
                hits = try Self.run(query, limit: limit, in: db).count
                cpu.append(threadCPU() - cpuStarted)
                seconds.append(Self.seconds(since: started))
            }
            return (seconds, cpu, hits)
        }
        return (update, seconds, cpu, hits)
    }

    /// Brings the index up to date (rebuilding it when asked or needed).
    @discardableResult
    public func update(rebuild: Bool = false) throws -> IndexUpdate {
        try withUpToDateIndex(forceRebuild: rebuild) { _ in () }.1
    }

    /// Counts, size, indexed commit and skipped files, after bringing the index up to date.
    public func stats(rebuild: Bool = false) throws -> IndexStats {
        let (stats, update) = try withUpToDateIndex(forceRebuild: rebuild) { db -> (Int, Int, String?, [SkippedFile]) in
            let documents = try Int.fetchOne(db, sql: "SELECT count(*) FROM docs") ?? 0
            let worktree = try Int.fetchOne(db, sql: "SELECT count(*) FROM docs WHERE source = 'worktree'") ?? 0
            let commit = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'commit'")
            let skipped = try Row.fetchAll(db, sql: "SELECT path, reason FROM skipped ORDER BY path").map {
                SkippedFile(path: $0["path"], reason: $0["reason"])
            }
            return (documents, worktree, commit, skipped)
        }
        var bytes: Int64 = 0
        for suffix in ["", "-wal"] {
            if let size = (try? FileManager.default.attributesOfItem(atPath: path + suffix))?[.size] as? NSNumber {
                bytes += size.int64Value
            }
        }
        return IndexStats(path: path, documents: stats.0, worktreeDocuments: stats.1, bytes: bytes,
                          indexedCommit: stats.2.flatMap { $0.isEmpty ? nil : $0 }, schemaVersion: Self.schemaVersion,
                          skipped: stats.3, update: update)
    }

    // MARK: - Running a query

    /// The most matches BM25 is computed for, newest first (see `run`).
    static let rankWindow = 1000

    static func run(_ query: SearchQuery, limit: Int, rankWindow: Int = rankWindow, in db: Database) throws -> [SearchHit] {
        var filters: [String] = []
        var arguments: [any DatabaseValueConvertible] = []
        if !query.tiers.isEmpty {
            filters.append("d.tier IN (" + query.tiers.map { _ in "?" }.joined(separator: ", ") + ")")
            arguments += query.tiers as [any DatabaseValueConvertible]
        }
        for tag in query.tags {
            // A nested tag is found by its parents, as in Obsidian: `tag:area` matches `#area/sub` (the range
            // `area/` ..< `area0` holds exactly the tags that start with `area/`).
            filters.append("EXISTS (SELECT 1 FROM doc_tags t WHERE t.doc_id = d.id AND (t.tag = ? OR (t.tag >= ? AND t.tag < ?)))")
            arguments += [tag, tag + "/", tag + "0"]
        }
        if !query.paths.isEmpty {
            let globs = query.paths
            db.add(function: DatabaseFunction("cairn_path_matches", argumentCount: 1, pure: true) { values in
                guard let path = String.fromDatabaseValue(values[0]) else { return false }
                return globs.anyMatches(path)
            })
            filters.append("cairn_path_matches(d.path)")
        }

        guard let match = query.matchExpression else {
            let whereClause = filters.isEmpty ? "" : "WHERE " + filters.joined(separator: " AND ")
            let rows = try Row.fetchAll(db, sql: """
                SELECT d.id, d.path, d.title, d.tier, d.tags, d.blob, d.source, d.body_line, substr(f.body, 1, 240) AS excerpt
                FROM docs d JOIN fts f ON f.rowid = d.id \(whereClause) ORDER BY d.path LIMIT ?
                """, arguments: StatementArguments(arguments + [limit]))
            return rows.map { row in
                hit(row, score: 0, snippet: excerpt(row[8] ?? ""), line: nil)
            }
        }

        // Rank first (ids only), then fetch details and snippets for the few hits shown:
        // snippet() is costly, and SQLite would compute it for every match before sorting.
        // BM25 (`SearchRanking`, with cached document counts) is computed for at most `rankWindow` matches
        // (or `limit`, if larger): the most recently indexed ones (rowids grow with every change), so a word
        // found in most notes costs no more than a rarer one. With fewer matches than that, the ranking is exact.
        let window = max(limit, rankWindow)
        let rowCount = try documentCount(of: nil, in: db)
        let idfs = try query.terms.map { SearchRanking.idf(rows: rowCount, matching: try documentCount(of: $0.fts, in: db)) }
        let score = "\(SearchRanking.functionName)(fts" + String(repeating: ", ?", count: idfs.count) + ")"
        let idfArguments = idfs.map { $0 as any DatabaseValueConvertible }
        let statement: Statement
        let statementArguments: StatementArguments
        if filters.isEmpty {
            statement = try db.cachedStatement(sql: """
                SELECT rowid AS id, \(score) AS rank FROM fts WHERE fts MATCH ? ORDER BY rowid DESC LIMIT ?
                """)
            statementArguments = StatementArguments(idfArguments + [match, window])
        } else {
            statement = try db.makeStatement(sql: """
                SELECT fts.rowid AS id, \(score) AS rank FROM fts JOIN docs d ON d.id = fts.rowid
                WHERE fts MATCH ? AND \(filters.joined(separator: " AND ")) ORDER BY fts.rowid DESC LIMIT ?
                """)
            statementArguments = StatementArguments(idfArguments + [match] + arguments + [window])
        }
        // Read in place, by column position: rows copied out and looked up by name (GRDB lowercases the
        // name on every access) were a tenth of a query that ranks a full window.
        var matches: [(id: Int64, rank: Double)] = []
        matches.reserveCapacity(window)
        let cursor = try Row.fetchCursor(statement, arguments: statementArguments)
        while let row = try cursor.next() { matches.append((id: row[0], rank: row[1])) }
        let ranked = Self.best(matches, count: limit)
        // Details and the body by rowid; the snippet is cut from the body in Swift (`SnippetMaker`). Only a
        // hit whose body lacks the terms (they matched its title or tags) asks FTS5's snippet(), which has to
        // find the row's matches in the index again.
        let detail = try db.cachedStatement(sql: """
            SELECT d.id, d.path, d.title, d.tier, d.tags, d.blob, d.source, d.body_line, fts.body AS body
            FROM docs d JOIN fts ON fts.rowid = d.id WHERE d.id = ?
            """)
        let snippets = SnippetMaker(terms: query.terms)
        var hits: [SearchHit] = []
        for rank in ranked {
            let id = rank.id
            guard let row = try Row.fetchOne(detail, arguments: [id]) else { continue }
            let body: String = row[8] ?? ""
            if let made = snippets.make(body) {
                hits.append(hit(row, score: -rank.rank, snippet: excerpt(made.snippet), line: made.line + (row[7] as Int)))
                continue
            }
            let fallback = try db.cachedStatement(sql: """
                SELECT snippet(fts, -1, char(2), char(3), '…', 16) FROM fts WHERE fts MATCH ? AND fts.rowid = ?
                """)
            let snippet = try String.fetchOne(fallback, arguments: [match, id]) ?? ""
            hits.append(hit(row, score: -rank.rank, snippet: excerpt(snippet), line: nil))
        }
        return hits
    }

    /// The `count` best of `matches` in order: lowest rank first, then the newest (highest id). Ids are
    /// unique, so the order is total and the same as sorting everything; a few hits out of a full window
    /// are picked by insertion into a short sorted list instead.
    static func best(_ matches: [(id: Int64, rank: Double)], count: Int) -> [(id: Int64, rank: Double)] {
        func before(_ a: (id: Int64, rank: Double), _ b: (id: Int64, rank: Double)) -> Bool {
            a.rank != b.rank ? a.rank < b.rank : a.id > b.id
        }
        guard count * 8 < matches.count else { return Array(matches.sorted(by: before).prefix(count)) }
        var top: [(id: Int64, rank: Double)] = []
        top.reserveCapacity(count + 1)
        for m in matches {
            if top.count == count, let last = top.last, !before(m, last) { continue }
            var at = top.count
            while at > 0 && before(m, top[at - 1]) { at -= 1 }
            top.insert(m, at: at)
            if top.count > count { top.removeLast() }
        }
        return top
    }

    /// How many notes match the FTS5 phrase `phrase` (all notes for nil), cached in `phrase_docs` until the
    /// index next changes: the IDF needs it, and counting a word found in most notes walks its whole doclist.
    static func documentCount(of phrase: String?, in db: Database) throws -> Int {
        let key = phrase ?? ""
        if let cached = try Int.fetchOne(db.cachedStatement(sql: "SELECT docs FROM phrase_docs WHERE phrase = ?"), arguments: [key]) {
            return cached
        }
        func count() throws -> Int {
            phrase == nil
                ? try Int.fetchOne(db, sql: "SELECT count(*) FROM docs") ?? 0
                : try Int.fetchOne(db, sql: "SELECT count(*) FROM fts WHERE fts MATCH ?", arguments: [key]) ?? 0
        }
        guard !db.isInsideTransaction else { return try count() }
        // Counted and stored in one write transaction, so a concurrent update (which empties the cache in its
        // own transaction) can never be followed by a count of the contents before it. A cache only: when the
        // write fails (busy, read-only file) the count is still returned and the next query counts again.
        var result: Int? = nil
        try? db.inTransaction(.immediate) {
            let n = try count()
            result = n
            try db.execute(sql: "INSERT OR REPLACE INTO phrase_docs(phrase, docs) VALUES (?, ?)", arguments: [key, n])
            return .commit
        }
        if let result { return result }
        return try count()
    }

    /// A hit from a row whose columns are, in order, `d.id, d.path, d.title, d.tier, d.tags, d.blob, d.source,
    /// d.body_line` and the body or its excerpt (read by position: GRDB lowercases a column name on every lookup).
    private static func hit(_ row: Row, score: Double, snippet: String, line: Int?) -> SearchHit {
        let tags: String = row[4] ?? ""
        return SearchHit(path: row[1], title: row[2], tier: row[3],
                         tags: tags.split(separator: " ").map(String.init), score: score,
                         markedSnippet: snippet, line: line, blob: row[5], source: row[6])
    }

    /// A snippet on one line: whitespace runs (newlines included) become single spaces.
    /// (Whitespace is judged per Unicode scalar, in one pass over the scalars: splitting into Characters,
    /// with grapheme breaking, was an eighth of a query's time.)
    static func excerpt(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            let isSpace = scalar.value < 0x80
                ? scalar.value == 0x20 || (0x09...0x0D).contains(scalar.value)
                : scalar.properties.isWhitespace
            if isSpace {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace {
                out.append(" ")
                pendingSpace = false
            }
            out.append(scalar)
        }
        return String(out)
    }
}

extension SearchIndex {
    /// Every document as one line (`path blob source title tags tier`), plus names and skips, sorted:
    /// lets tests compare an incrementally updated index with a rebuilt one.
    func contentsForComparison() throws -> [String] {
        try withUpToDateIndex { db in
            var lines = try Row.fetchAll(db, sql: "SELECT path, blob, source, title, tags, tier, body_line FROM docs").map { r -> String in
                let tier: String = r["tier"] ?? "-"
                return "doc \(r["path"] as String) \(r["blob"] as String) \(r["source"] as String) \(r["title"] as String) [\(r["tags"] as String)] \(tier) \(r["body_line"] as Int)"
            }
            lines += try Row.fetchAll(db, sql: "SELECT d.path, n.key, n.rank FROM names n JOIN docs d ON d.id = n.doc_id").map {
                "name \($0["path"] as String) \($0["key"] as String) \($0["rank"] as Int)"
            }
            lines += try Row.fetchAll(db, sql: "SELECT path, reason FROM skipped").map { "skip \($0["path"] as String) \($0["reason"] as String)" }
            let ftsCount = try Int.fetchOne(db, sql: "SELECT count(*) FROM fts") ?? -1
            lines.append("fts rows \(ftsCount)")
            return lines.sorted()
        }.0
    }
}

extension SearchIndex {
    /// The byte size of each committed file the index holds under the literal folders of `globs` (all of it when one
    /// starts with a wildcard), by path, with the blob id it was read from. The index is used as it is (not brought up
    /// to date): a caller takes a size only where the blob id is the one it wants, and reads the others from git.
    func committedSizes(under globs: [Glob]) throws -> [String: (blob: String, size: Int)] {
        let queue = try openChecked()
        let prefixes = globs.map { Glob.literalPrefix($0.pattern) }
        return try queue.read { db in
            var sizes: [String: (blob: String, size: Int)] = [:]
            let sql = "SELECT path, blob, size FROM docs WHERE source = 'commit' AND path >= ? AND path < ?"
            // Every path that starts with the prefix sorts before the prefix followed by U+10FFFF (bytes F4 8F BF BF).
            for prefix in prefixes.contains("") ? [""] : Array(Set(prefixes)) {
                let rows = try Row.fetchCursor(db, sql: sql, arguments: [prefix, prefix + "\u{10FFFF}"])
                while let row = try rows.next() { sizes[row[0]] = (row[1], row[2]) }
            }
            return sizes
        }
    }
}
