import CairnGit
import Foundation
import GRDB

extension SearchIndex {
    /// The note `note` names (a path, or a name, title or alias, the best rank winning), and its title.
    public func findNote(_ note: String) throws -> (path: String, title: String) {
        try withUpToDateIndex { db in
            let found = try Self.findNote(note, in: db)
            return (found.path, found.title)
        }.0
    }

    /// Finds a note by path, else by name (path without extension, file name, alias or title).
    static func findNote(_ note: String, in db: Database) throws -> (id: Int64, path: String, title: String) {
        let trimmed = trimmedNoteName(note)
        if let row = try Row.fetchOne(db, sql: "SELECT id, path, title FROM docs WHERE path = ?", arguments: [trimmed]) {
            return (row["id"], row["path"], row["title"])
        }
        let key = IndexedDocument.nameKey(trimmed)
        let rows = try Row.fetchAll(db, sql: """
            SELECT d.id, d.path, d.title, min(n.rank) AS rank FROM names n JOIN docs d ON d.id = n.doc_id
            WHERE n.key = ? GROUP BY d.id ORDER BY rank, d.path
            """, arguments: [key])
        guard let first = rows.first else { throw SearchError.noteNotFound(note) }
        let best = rows.filter { $0["rank"] as Int == first["rank"] as Int }
        if best.count > 1 { throw SearchError.ambiguousNote(note, candidates: best.map { $0["path"] }) }
        return (first["id"], first["path"], first["title"])
    }

    static func trimmedNoteName(_ note: String) -> String {
        var trimmed = note.trimmingCharacters(in: .whitespaces)
        while trimmed.hasPrefix("./") { trimmed.removeFirst(2) }
        return trimmed
    }

    /// Whether the index file exists and can be used as it is (no rebuild needed before a query).
    var isUsable: Bool {
        guard FileManager.default.fileExists(atPath: path) else { return false }
        do {
            _ = try openChecked()
            return true
        } catch {
            return false
        }
    }

    /// What `findNote(_:)` answers, found without the index: from `paths` (every file of `main` and of the working
    /// tree) and the documents `read` makes of them (`IndexedDocument.extract` of the file as the index would hold
    /// it; nil for a file the index would not hold). `read` may be called on several threads at once.
    ///
    /// A path, or a name that a file's path or file name spells, is answered from the few files whose paths can
    /// name it: names from paths (ranks 0 and 1) outrank every alias and title. Only a name no path spells (an alias
    /// or a title) reads every note.
    static func findNote(_ note: String, paths: [String],
                         read: @Sendable (String) -> IndexedDocument.Extraction?) throws -> (path: String, title: String) {
        let trimmed = trimmedNoteName(note)
        let notes = paths.filter(IndexedDocument.isIndexable)
        // SQLite compares text byte for byte; Swift's `==` by canonical equivalence.
        func same(_ a: String, _ b: String) -> Bool { a.utf8.elementsEqual(b.utf8) }
        func document(_ path: String) -> IndexedDocument? {
            if case .document(let doc)? = read(path) { return doc }
            return nil
        }
        if let exact = notes.first(where: { same($0, trimmed) }), let doc = document(exact) {
            return (doc.path, doc.title)
        }
        let key = IndexedDocument.nameKey(trimmed)
        func ranked(_ docs: [IndexedDocument?], upTo maxRank: Int) throws -> (path: String, title: String)? {
            let found = docs.compactMap { doc -> (doc: IndexedDocument, rank: Int)? in
                guard let doc, let rank = doc.names.filter({ same($0.key, key) }).map(\.rank).min(), rank <= maxRank else { return nil }
                return (doc, rank)
            }
            guard let rank = found.map(\.rank).min() else { return nil }
            let best = found.filter { $0.rank == rank }.sorted { $0.doc.path.utf8.lexicographicallyPrecedes($1.doc.path.utf8) }
            if best.count > 1 { throw SearchError.ambiguousNote(note, candidates: best.map(\.doc.path)) }
            return (best[0].doc.path, best[0].doc.title)
        }
        // The files whose path or file name is the name: if one of them is a document, the answer is among them.
        let spelled = notes.filter { path in
            let name = String(path.split(separator: "/").last ?? Substring(path))
            return same(IndexedDocument.nameKey(IndexedDocument.stripExtension(path)), key)
                || same(IndexedDocument.nameKey(IndexedDocument.stripExtension(name)), key)
        }
        if let found = try ranked(spelled.map(document), upTo: 1) { return found }
        // An alias or a title: every note read once, on every core.
        let all = parallelResults(count: notes.count) { i -> IndexedDocument? in
            if case .document(let doc)? = read(notes[i]) { return doc }
            return nil
        }
        if let found = try ranked(all, upTo: .max) { return found }
        throw SearchError.noteNotFound(note)
    }
}

extension Vault {
    /// The note `note` names and its title, as `SearchIndex.findNote` finds it; when the vault has no usable search
    /// index, found from `files` (every file of `main` and the working tree) and the notes on disk without building
    /// one (a rebuild reads every note into SQLite only to look up one name).
    func findNote(_ note: String, files: [String]) throws -> (path: String, title: String) {
        let index = searchIndex
        if index.isUsable { return try index.findNote(note) }
        let root = self.root
        let maxBytes = index.maxFileBytes
        return try SearchIndex.findNote(note, paths: files) { path in
            // As the index's working-tree overlay reads a file: a regular file (not a link) that can be read.
            let full = root + "/" + path
            var st = stat()
            guard lstat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG,
                  let data = FileManager.default.contents(atPath: full) else { return nil }
            return IndexedDocument.extract(path: path, data: data, blob: "", source: "worktree", mtime: nil, maxBytes: maxBytes)
        }
    }
}
