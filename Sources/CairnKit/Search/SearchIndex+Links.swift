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
        var trimmed = note.trimmingCharacters(in: .whitespaces)
        while trimmed.hasPrefix("./") { trimmed.removeFirst(2) }
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
}
