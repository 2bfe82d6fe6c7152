import CairnGit
import Foundation
import GRDB
import GRDBSQLite

/// The vault's full-text index: SQLite FTS5 at `.git/cairn/search.sqlite`, derived from git.
///
/// The index remembers the `main` commit it reflects. `update()` diffs that commit's tree against
/// the current one (so its cost follows the changed files, not the vault), then overlays
/// uncommitted working-tree edits — all in one transaction. A missing, outdated or corrupt
/// database is deleted and rebuilt; deleting `.git/cairn/` loses nothing.
public final class SearchIndex {
    /// Bumped whenever the schema or what is stored changes; a different version means rebuild.
    public static let schemaVersion = 6
    /// Rows inserted per batch during a full rebuild (parsed in parallel, inserted in order).
    static let batchSize = 2048
    /// FTS5's in-memory buffer during a full rebuild (see `rebuild`).
    static let buildHashSize = 64 * 1024 * 1024

    let vault: Vault
    /// The database file.
    public let path: String
    /// See `WorktreeChanges.defaultRacyMargin` (tests set 0 to prove that ctime alone finds an edit).
    var racyMargin = WorktreeChanges.defaultRacyMargin
    /// The last tree diff (see `treeChanges`).
    private var lastDiff: (from: OID?, to: OID?, changes: [TreeDiff.Change])? = nil
    /// Folders listed, files hashed, candidates and files statted of the last working-tree check, and
    /// whether a watcher's change feed narrowed it (for tests).
    var lastScan: (dirsRead: Int, filesHashed: Int, candidates: Int, filesStatted: Int, focused: Bool)? = nil
    private var checkKind: String? { lastScan.map { $0.focused ? "watcher" : "full" } }
    /// Whether to ask the vault's watcher which paths changed (`cairn watch`); false: always stat every file.
    public var useWatcher = true
    /// Told how a full rebuild is getting on (notes indexed of all), when set.
    public var progress: ProgressHandler?

    /// Notes larger than this are left out (`search.max_file_mib` of the vault's config).
    let maxFileBytes: Int

    public init(vault: Vault) {
        self.vault = vault
        self.path = vault.gitDir + "cairn/search.sqlite"
        self.maxFileBytes = vault.config.search.maxFileBytes
    }

    /// Why the database must be rebuilt before use.
    struct NeedsRebuild: Error { let reason: String }

    // MARK: - Opening

    private func configuration() -> Configuration {
        var config = Configuration()
        config.busyMode = .timeout(30)
        // The file is put in WAL mode once, when it is built (the mode is stored in the file). GRDB's
        // `.wal` setting would instead write a transaction on every open whose WAL file is empty or gone,
        // which, with SQLite deleting the WAL when the last connection closes, was every search: three
        // fsyncs and a checkpoint per query.
        config.journalMode = .default
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            // Keep the WAL and shared-memory files when the last connection closes, so the next process
            // does not create and size them again.
            var persist: Int32 = 1
            _ = sqlite3_file_control(db.sqliteConnection, "main", SQLITE_FCNTL_PERSIST_WAL, &persist)
            // With a size limit set, the last connection to close truncates the kept WAL to zero bytes
            // after its checkpoint. Without one, the checkpointed frames stayed valid in the file: every
            // later process, the first to open it, rebuilt the WAL index from them (reading the whole WAL)
            // and checkpointed them again when it closed (rewriting those pages and two fsyncs), even for
            // a search that changed nothing. The limit also bounds the WAL between checkpoints.
            try db.execute(sql: "PRAGMA journal_size_limit = 67108864")
            SearchRanking.register(db)
        }
        return config
    }

    /// Opens the database, checking it is one of ours at the current schema version.
    func openChecked() throws -> DatabaseQueue {
        guard FileManager.default.fileExists(atPath: path) else { throw NeedsRebuild(reason: "missing") }
        let queue = try DatabaseQueue(path: path, configuration: configuration())
        let version = try queue.read { db in
            try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'schema_version'")
        }
        guard version == String(Self.schemaVersion) else {
            throw NeedsRebuild(reason: "schema version \(version ?? "none") is not \(Self.schemaVersion)")
        }
        // Which notes are left out depends on the size limit: another limit means another index.
        let limit = try queue.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'max_file_bytes'") }
        guard limit == String(maxFileBytes) else {
            throw NeedsRebuild(reason: "the note size limit is now \(maxFileBytes >> 20) MiB")
        }
        // Readers and the updating writer must not block each other (an index built before WAL was set
        // at build time is switched once).
        let mode = try queue.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        if mode != "wal" {
            _ = try queue.writeWithoutTransaction { db in try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") }
        }
        return queue
    }

    /// Runs `body` on an up-to-date index, rebuilding it first when it is missing, outdated or
    /// corrupt (any SQLite error is taken as corruption, once: a second failure is reported).
    ///
    /// With `workingTree: false` only `main` is brought up to date (no status of the working tree):
    /// for readers of committed content, such as agents. Overlaid edits from an earlier update stay.
    func withUpToDateIndex<T>(forceRebuild: Bool = false, workingTree: Bool = true,
                              _ body: (Database) throws -> T) throws -> (T, IndexUpdate) {
        var rebuildReason: String? = forceRebuild ? "requested" : nil
        var attempts = 0
        while true {
            attempts += 1
            do {
                if let reason = rebuildReason {
                    let update = try rebuild(reason: reason, workingTree: workingTree)
                    let queue = try openChecked()
                    let result = try queue.writeWithoutTransaction(body)
                    return (result, update)
                }
                let queue = try openChecked()
                let update = try incrementalUpdate(queue, workingTree: workingTree)
                // Not a read-only transaction: a query may cache document counts (`documentCount`).
                let result = try queue.writeWithoutTransaction(body)
                return (result, update)
            } catch let needs as NeedsRebuild {
                guard attempts < 3 else { throw SearchError.indexUnavailable(path: path, reason: needs.reason) }
                rebuildReason = needs.reason
            } catch let error as DatabaseError {
                guard attempts < 3 else {
                    throw SearchError.indexUnavailable(path: path, reason: error.message ?? "\(error.resultCode)")
                }
                rebuildReason = "unreadable (\(error.message ?? "\(error.resultCode)"))"
            }
        }
    }

    /// Deletes side files of rebuilds whose process died (a crash mid-rebuild leaves one behind).
    private func removeAbandonedBuilds() {
        let dir = (path as NSString).deletingLastPathComponent
        let prefix = (path as NSString).lastPathComponent + ".building-"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where name.hasPrefix(prefix) {
            let digits = name.dropFirst(prefix.count).prefix { $0.isNumber }
            guard let pid = Int32(digits), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: dir + "/" + name)
        }
    }

    /// Deletes the database and its WAL/SHM side files.
    func removeFiles(_ base: String) {
        for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: base + suffix) }
    }

    // MARK: - Schema

    // The `fts` table keeps a prefix index for two-character prefixes only. FTS5 answers a prefix query the same
    // with or without one (an index of that length only saves merging the doclists of every term that starts
    // with the prefix): `mo*` has thousands of terms to merge without it, `mow*` a handful. The three-character
    // index of schema 5 cost about as much to build as the main index itself (a 100k-note rebuild: 31 s of FTS5
    // time with `'2 3'`, 19 s with `'2'`; bench/RESULTS.md, INDEX-3).

    static let schema = """
        CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE docs(
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL UNIQUE,
            blob TEXT NOT NULL,
            title TEXT NOT NULL,
            tier TEXT,
            tags TEXT NOT NULL,
            body_line INTEGER NOT NULL,
            size INTEGER NOT NULL,
            mtime REAL,
            source TEXT NOT NULL CHECK (source IN ('commit', 'worktree')));
        CREATE TABLE doc_tags(doc_id INTEGER NOT NULL, tag TEXT NOT NULL);
        CREATE TABLE names(doc_id INTEGER NOT NULL, key TEXT NOT NULL, rank INTEGER NOT NULL);
        CREATE TABLE skipped(path TEXT PRIMARY KEY, reason TEXT NOT NULL);
        CREATE TABLE overlay(path TEXT PRIMARY KEY);
        CREATE TABLE phrase_docs(phrase TEXT PRIMARY KEY, docs INTEGER NOT NULL);
        CREATE VIRTUAL TABLE fts USING fts5(title, tags, body, tokenize = 'unicode61 remove_diacritics 2', prefix = '2');
        INSERT INTO fts(fts, rank) VALUES ('rank', 'bm25(10.0, 5.0, 1.0)');
        """

    /// Secondary indexes, created after a bulk load (faster than maintaining them row by row).
    static let secondaryIndexes = """
        CREATE INDEX doc_tags_doc ON doc_tags(doc_id);
        CREATE INDEX doc_tags_tag ON doc_tags(tag);
        CREATE INDEX names_doc ON names(doc_id);
        CREATE INDEX names_key ON names(key);
        """

    // MARK: - Rebuild

    /// Builds the index from scratch into a side file, then moves it into place, so a crash or a
    /// concurrent reader never sees a half-built index.
    @discardableResult
    func rebuild(reason: String, workingTree: Bool = true) throws -> IndexUpdate {
        let started = DispatchTime.now()
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let temp = path + ".building-\(getpid())"
        removeFiles(temp)
        removeAbandonedBuilds()
        defer { removeFiles(temp) }

        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -65536")
        }
        var committed = 0
        var worktree = 0
        var worktreeSeconds = 0.0
        do {
            let queue = try DatabaseQueue(path: temp, configuration: config)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: Self.schema)
                // FTS5 flushes its in-memory index to a new segment whenever it outgrows `hashsize`
                // (1 MB by default), and merges segments as they pile up: a 64 MB buffer writes far
                // fewer, larger segments (about half the SQLite time of a 100k-note build).
                try db.execute(sql: "INSERT INTO fts(fts, rank) VALUES ('hashsize', \(Self.buildHashSize))")
                try db.inTransaction {
                    let head = try vault.head()
                    if let head {
                        let tree = try vault.repository.commit(head).tree
                        committed = try bulkLoad(db, tree: tree)
                    }
                    try db.execute(sql: Self.secondaryIndexes)
                    if workingTree {
                        let overlayStart = DispatchTime.now()
                        worktree = try overlayWorkingTree(db, tree: head.map { try vault.repository.commit($0).tree })
                        worktreeSeconds = Self.seconds(since: overlayStart)
                    }
                    try setMeta(db, "schema_version", String(Self.schemaVersion))
                    try setMeta(db, "max_file_bytes", String(maxFileBytes))
                    try setMeta(db, "commit", head?.hex ?? "")
                    return .commit
                }
                try db.execute(sql: "INSERT INTO fts(fts) VALUES ('optimize')")
                _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            }
            try queue.close()
        } catch let error as DatabaseError {
            throw SearchError.indexUnavailable(path: path, reason: error.message ?? "\(error.resultCode)")
        }
        CrashPoints.hit(.indexRebuildBeforeRename)
        removeFiles(path)
        guard rename(temp, path) == 0 else {
            throw SearchError.indexUnavailable(path: path, reason: "could not move the new index into place (\(String(cString: strerror(errno))))")
        }
        return IndexUpdate(kind: .rebuild, reason: reason, committedChanges: committed, worktreeChanges: worktree,
                           seconds: Self.seconds(since: started), worktreeSeconds: worktreeSeconds,
                           worktreeCheck: workingTree ? checkKind : nil, filesStatted: workingTree ? lastScan?.filesStatted : nil)
    }

    /// Loads every indexable file of `tree`: blobs are read and parsed in parallel (one repository
    /// handle per worker), rows are inserted in order with prepared statements. The workers parse the
    /// next batch while this thread inserts the current one, so parsing and SQLite's single-threaded
    /// inserting overlap instead of taking turns.
    private func bulkLoad(_ db: Database, tree: OID) throws -> Int {
        let files = try vault.repository.files(in: tree).filter {
            $0.mode != TreeChange.symlinkMode && IndexedDocument.isIndexable($0.path)
        }
        let workers = parallelWorkers
        let repositories = try (0..<workers).map { _ in RepositoryBox(try Repository(at: vault.gitDir)) }
        let maxFileBytes = self.maxFileBytes
        func parse(_ batch: [TreeFile]) -> (DispatchGroup, SlotBox<IndexedDocument.Extraction>) {
            let results = SlotBox<IndexedDocument.Extraction>(count: batch.count)
            let group = DispatchGroup()
            DispatchQueue.global().async(group: group) {
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    let repository = repositories[worker].repository
                    var i = worker
                    while i < batch.count {
                        let file = batch[i]
                        do {
                            let data = try repository.blob(file.oid)
                            results.set(i, IndexedDocument.extract(path: file.path, data: data, blob: file.oid.hex, source: "commit", mtime: nil, maxBytes: maxFileBytes))
                        } catch {
                            results.set(i, .skipped(path: file.path, reason: "unreadable blob: \(error)"))
                        }
                        i += workers
                    }
                }
            }
            return (group, results)
        }
        let batches = stride(from: 0, to: files.count, by: Self.batchSize).map {
            Array(files[$0..<min(files.count, $0 + Self.batchSize)])
        }
        var count = 0
        var reporter = ProgressReporter(progress, task: "indexing notes", total: files.count, every: Self.batchSize)
        defer { reporter.finish() }
        var pending = batches.first.map(parse)
        var next = 1
        while let (group, results) = pending {
            group.wait()
            pending = next < batches.count ? parse(batches[next]) : nil
            next += 1
            for extraction in results.values {
                if let extraction { try insert(db, extraction, fresh: true) }
                count += 1
            }
            reporter.advance(results.values.count)
        }
        return count
    }

    // MARK: - Incremental update

    /// Brings the index from its remembered commit to `main`, then overlays working-tree edits,
    /// in one transaction.
    func incrementalUpdate(_ queue: DatabaseQueue, workingTree: Bool = true) throws -> IndexUpdate {
        let started = DispatchTime.now()
        var committed = 0
        var worktree = 0
        var kind = IndexUpdate.Kind.unchanged
        var worktreeSeconds = 0.0
        try queue.inTransaction(.immediate) { db in
            let remembered = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'commit'") ?? ""
            let head = try vault.head()
            let newTree = try head.map { try vault.repository.commit($0).tree }
            if remembered != (head?.hex ?? "") {
                var oldTree: OID? = nil
                if !remembered.isEmpty {
                    guard let oid = OID(hex: remembered), let commit = try? vault.repository.commit(oid) else {
                        throw NeedsRebuild(reason: "the indexed commit \(remembered.prefix(10)) is gone (history rewritten)")
                    }
                    oldTree = commit.tree
                }
                committed = try applyCommittedDiff(db, from: oldTree, to: newTree)
                try setMeta(db, "commit", head?.hex ?? "")
            }
            if workingTree {
                let overlayStart = DispatchTime.now()
                worktree = try overlayWorkingTree(db, tree: newTree)
                worktreeSeconds = Self.seconds(since: overlayStart)
            }
            if committed + worktree > 0 {
                kind = .incremental
                try db.execute(sql: "DELETE FROM phrase_docs")  // counts of the previous contents
            }
            CrashPoints.hit(.indexUpdateBeforeCommit)
            return .commit
        }
        return IndexUpdate(kind: kind, reason: nil, committedChanges: committed, worktreeChanges: worktree,
                           seconds: Self.seconds(since: started), worktreeSeconds: worktreeSeconds,
                           worktreeCheck: workingTree ? checkKind : nil, filesStatted: workingTree ? lastScan?.filesStatted : nil)
    }

    /// Applies the changes between two trees of `main`: cost follows the number of changed files
    /// (only the trees on changed paths are read, see `TreeDiff`).
    private func applyCommittedDiff(_ db: Database, from old: OID?, to new: OID?) throws -> Int {
        var changed = 0
        for change in try treeChanges(from: old, to: new) where IndexedDocument.isIndexable(change.path) {
            changed += 1
            try resetToCommitted(db, path: change.path, entry: change.new)
        }
        return changed
    }

    /// `TreeDiff.changes`, remembered for the next call with the same trees (the commit side and the
    /// working-tree check of one update both need the diff since the last update).
    private func treeChanges(from old: OID?, to new: OID?) throws -> [TreeDiff.Change] {
        if let cached = lastDiff, cached.from == old, cached.to == new { return cached.changes }
        let changes = try TreeDiff.changes(vault.repository, from: old, to: new)
        lastDiff = (old, new, changes)
        return changes
    }

    /// Makes the document at `path` the version committed in `tree` (removed when absent there).
    private func resetToCommitted(_ db: Database, path: String, tree: OID?) throws {
        try resetToCommitted(db, path: path, entry: try tree.flatMap { try vault.repository.entry(at: path, in: $0) })
    }

    /// Makes the document at `path` the committed file `entry` (removed when nil or not a regular file).
    private func resetToCommitted(_ db: Database, path: String, entry: TreeEntry?) throws {
        guard let entry, entry.kind != .tree, entry.kind != .submodule, entry.mode != TreeChange.symlinkMode else {
            try removeDocument(db, path: path)
            return
        }
        try resetToCommitted(db, path: path, blob: entry.oid)
    }

    /// Makes the document at `path` the committed blob `blob` (removed when nil).
    private func resetToCommitted(_ db: Database, path: String, blob: OID?) throws {
        guard let blob else {
            try removeDocument(db, path: path)
            return
        }
        if let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT blob, source FROM docs WHERE path = ?"), arguments: [path]),
           row["blob"] as String == blob.hex, row["source"] as String == "commit" {
            return
        }
        let data = try vault.repository.blob(blob)
        try insert(db, IndexedDocument.extract(path: path, data: data, blob: blob.hex, source: "commit", mtime: nil, maxBytes: maxFileBytes))
    }

    /// Indexes uncommitted edits of text notes from disk, and resets notes whose edits are gone
    /// (committed or reverted) to their committed version. Returns how many documents changed.
    ///
    /// What differs on disk from `main` comes from `WorktreeChanges` (the stat cache every command uses),
    /// not from git's index. The paths looked at are those it reports and those overlaid before.
    private func overlayWorkingTree(_ db: Database, tree: OID?) throws -> Int {
        let report = try WorktreeChanges.check(vault, against: tree, useWatcher: useWatcher, racyMargin: racyMargin)
        lastScan = (report.dirsRead, report.filesHashed, report.candidates, report.filesStatted, report.focused)

        let previous = Set(try String.fetchAll(db, sql: "SELECT path FROM overlay"))
        var paths = previous
        for key in report.edits.keys where IndexedDocument.isIndexable(key.path) { paths.insert(key.path) }

        var changed = 0
        for path in paths.sorted() {
            guard let edit = report.edits[PathKey(path)] else {
                // Clean: the committed version, and no longer overlaid.
                guard previous.contains(path) else { continue }
                try resetToCommitted(db, path: path, tree: tree)
                try db.execute(sql: "DELETE FROM overlay WHERE path = ?", arguments: [path])
                changed += 1
                continue
            }
            if !previous.contains(path) {
                try db.execute(sql: "INSERT OR IGNORE INTO overlay(path) VALUES (?)", arguments: [path])
            }
            let onDisk = edit.flatMap { $0.mode == 0o120000 ? nil : $0 }
            if let onDisk, let row = try Row.fetchOne(db, sql: "SELECT blob, source FROM docs WHERE path = ?", arguments: [path]),
               row["source"] as String == "worktree", row["blob"] as String == onDisk.oid.hex {
                continue  // indexed as it is on disk already
            }
            let full = vault.absolutePath(path)
            var st = stat()
            guard onDisk != nil, lstat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG,
                  let data = FileManager.default.contents(atPath: full) else {
                if try Int.fetchOne(db, sql: "SELECT 1 FROM docs WHERE path = ?", arguments: [path]) != nil {
                    try removeDocument(db, path: path)
                    changed += 1
                }
                continue
            }
            let blob = (try? Repository.hashBlob(data))?.hex ?? ""
            if let row = try Row.fetchOne(db, sql: "SELECT blob, source FROM docs WHERE path = ?", arguments: [path]),
               row["source"] as String == "worktree", row["blob"] as String == blob {
                continue
            }
            if try String.fetchOne(db, sql: "SELECT reason FROM skipped WHERE path = ?", arguments: [path]) != nil,
               data.count > maxFileBytes {
                continue
            }
            let mtime = Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9
            try insert(db, IndexedDocument.extract(path: path, data: data, blob: blob, source: "worktree", mtime: mtime, maxBytes: maxFileBytes))
            changed += 1
        }
        return changed
    }

    // MARK: - Rows

    /// Replaces the document at the extraction's path (or records why it is skipped). `fresh`: the path is not
    /// in the index yet (a rebuild's bulk load, whose tree lists each path once), so there is nothing to remove.
    private func insert(_ db: Database, _ extraction: IndexedDocument.Extraction, fresh: Bool = false) throws {
        switch extraction {
        case .skipped(let path, let reason):
            if !fresh { try removeDocument(db, path: path) }
            try db.cachedStatement(sql: "INSERT OR REPLACE INTO skipped(path, reason) VALUES (?, ?)").execute(arguments: [path, reason])
        case .document(let doc):
            if !fresh { try removeDocument(db, path: doc.path) }
            try db.cachedStatement(sql: """
                INSERT INTO docs(path, blob, title, tier, tags, body_line, size, mtime, source)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: [doc.path, doc.blob, doc.title, doc.tier, doc.tags.joined(separator: " "),
                                         doc.bodyFirstLine, doc.size, doc.mtime, doc.source])
            let id = db.lastInsertedRowID
            try db.cachedStatement(sql: "INSERT INTO fts(rowid, title, tags, body) VALUES (?, ?, ?, ?)")
                .execute(arguments: [id, doc.title, doc.tags.joined(separator: " "), doc.body])
            let tagStatement = try db.cachedStatement(sql: "INSERT INTO doc_tags(doc_id, tag) VALUES (?, ?)")
            for tag in doc.tags { try tagStatement.execute(arguments: [id, tag]) }
            let nameStatement = try db.cachedStatement(sql: "INSERT INTO names(doc_id, key, rank) VALUES (?, ?, ?)")
            for name in doc.names { try nameStatement.execute(arguments: [id, name.key, name.rank]) }
        }
    }

    /// Removes the document at `path` with its text, tags and names (and any skip record).
    private func removeDocument(_ db: Database, path: String) throws {
        try db.cachedStatement(sql: "DELETE FROM skipped WHERE path = ?").execute(arguments: [path])
        guard let id = try Int64.fetchOne(db.cachedStatement(sql: "SELECT id FROM docs WHERE path = ?"), arguments: [path]) else { return }
        try db.cachedStatement(sql: "DELETE FROM fts WHERE rowid = ?").execute(arguments: [id])
        try db.cachedStatement(sql: "DELETE FROM doc_tags WHERE doc_id = ?").execute(arguments: [id])
        try db.cachedStatement(sql: "DELETE FROM names WHERE doc_id = ?").execute(arguments: [id])
        try db.cachedStatement(sql: "DELETE FROM docs WHERE id = ?").execute(arguments: [id])
    }

    private func setMeta(_ db: Database, _ key: String, _ value: String) throws {
        // An unchanged value writes nothing: a search that finds nothing to update stays read-only.
        try db.execute(sql: """
            INSERT INTO meta(key, value) VALUES (?, ?)
            ON CONFLICT(key) DO UPDATE SET value = excluded.value WHERE value IS NOT excluded.value
            """, arguments: [key, value])
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}

/// A repository handle used by exactly one worker thread at a time.
private final class RepositoryBox: @unchecked Sendable {
    let repository: Repository
    init(_ repository: Repository) { self.repository = repository }
}

/// Result slots written by parallel workers (each slot by one worker only), read after they finish.
final class SlotBox<Value>: @unchecked Sendable {
    private(set) var values: [Value?]
    private let lock = NSLock()
    init(count: Int) { values = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Value) {
        lock.lock()
        values[index] = value
        lock.unlock()
    }
}

/// One worker per core, at most 8: what the vault-wide readers (index, doctor, gc, backlinks) run on.
let parallelWorkers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))

/// `body(i)` for every `i` in `0..<count` on `workers` threads, the results by index (nil where `body` gave
/// none). Worker `w` takes `w`, `w + workers`, …, so `i % workers` names the thread an index runs on, for state
/// that wants one thread at a time (a libgit2 repository).
func parallelResults<Value>(count: Int, workers: Int = parallelWorkers, _ body: @Sendable (Int) -> Value?) -> [Value?] {
    let results = SlotBox<Value>(count: count)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
        var i = worker
        while i < count {
            if let value = body(i) { results.set(i, value) }
            i += workers
        }
    }
    return results.values
}
