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

    /// Every link whose target is neither a note nor a file in the vault, by source path and line.
    public func brokenLinks() throws -> [BrokenLink] {
        let candidates = try withUpToDateIndex { db in
            try Row.fetchAll(db, sql: """
                SELECT d.path AS source, l.kind, l.target, l.key, l.line FROM links l JOIN docs d ON d.id = l.doc_id
                WHERE (l.kind = 'wiki' AND NOT EXISTS (SELECT 1 FROM names n WHERE n.key = l.key))
                   OR (l.kind = 'markdown' AND NOT EXISTS (SELECT 1 FROM docs x WHERE x.path = l.key))
                ORDER BY d.path, l.line
                """).map { row in
                (source: row["source"] as String, kind: LinkEntry.Kind(rawValue: row["kind"]) ?? .wiki,
                 target: row["target"] as String, key: row["key"] as String, line: row["line"] as Int)
            }
        }.0
        let tree = try vault.head().map { try vault.repository.commit($0).tree }
        return try candidates.compactMap { link in
            if link.kind == .markdown {
                // A link to an attachment (image, PDF) is fine when the file exists.
                if FileManager.default.fileExists(atPath: vault.absolutePath(link.key)) { return nil }
                if let tree, try vault.repository.entry(at: link.key, in: tree) != nil { return nil }
            }
            return BrokenLink(path: link.source, line: link.line, target: link.target, kind: link.kind)
        }
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
