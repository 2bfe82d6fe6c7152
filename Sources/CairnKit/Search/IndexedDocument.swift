import CairnGit
import Foundation

/// What the index stores about one note: derived from its bytes alone, so it can be made on any thread.
struct IndexedDocument: Sendable {
    /// A name a wikilink can use for this note, with its precedence (lower wins).
    struct Name: Sendable {
        let key: String
        let rank: Int
    }

    let path: String
    let blob: String
    let title: String
    let tier: String?
    let tags: [String]
    let body: String
    let bodyFirstLine: Int
    let size: Int
    let mtime: Double?
    let source: String
    let names: [Name]

    /// The result of reading one file: a document, or the reason it is left out.
    enum Extraction: Sendable {
        case document(IndexedDocument)
        case skipped(path: String, reason: String)
    }

    /// Files larger than this are left out unless the vault's config says otherwise (`search.max_file_mib`);
    /// searches and `cairn index --stats` list them.
    static let maxBytes = VaultConfig.SearchSettings().maxFileBytes

    /// Why a file of `size` bytes is left out under `limit`.
    static func tooLargeReason(size: Int, limit: Int) -> String {
        String(format: "larger than %d MiB (%.1f MiB; raise search.max_file_mib in .cairn/config.json to include it)",
               limit >> 20, Double(size) / 1_048_576)
    }

    /// `true` for the file names the index reads: `.md`, `.markdown`, `.txt`.
    static func isIndexable(_ path: String) -> Bool {
        let lower = path.lowercased()
        return lower.hasSuffix(".md") || lower.hasSuffix(".markdown") || lower.hasSuffix(".txt")
    }

    /// Reads a note's bytes into a document. Never throws: invalid front matter falls back to
    /// indexing the raw text; binary and huge files come back as `.skipped`.
    static func extract(path: String, data: Data, blob: String, source: String, mtime: Double?,
                        maxBytes: Int = maxBytes) -> Extraction {
        if data.count > maxBytes {
            return .skipped(path: path, reason: tooLargeReason(size: data.count, limit: maxBytes))
        }
        // Over the raw bytes: `Data.contains` stepped Data's byte iterator through every note.
        if data.withUnsafeBytes({ raw in raw.baseAddress.map { memchr($0, 0, raw.count) != nil } ?? false }) {
            return .skipped(path: path, reason: "binary (contains NUL bytes)")
        }
        let note: Note
        var lenient: (title: String?, tags: [String])? = nil
        let lower = path.lowercased()
        if lower.hasSuffix(".txt") {
            note = Note(path: path, frontMatter: nil, body: String(decoding: data, as: UTF8.self))
        } else {
            do {
                note = try NoteParser.parse(path: path, data: data)
            } catch {
                // Invalid front matter (or text): still searchable as plain text.
                note = Note(path: path, frontMatter: nil, body: String(decoding: data, as: UTF8.self))
                lenient = Self.lenientFrontMatter(note.body)
            }
        }
        var body = note.body
        if Self.containsHighlightMarks(body) {
            body = body.replacingOccurrences(of: SearchHit.highlightStart, with: " ")
                .replacingOccurrences(of: SearchHit.highlightEnd, with: " ")
        }

        var names: [Name] = []
        var seen = Set<String>()
        func addName(_ key: String, _ rank: Int) {
            let k = Self.nameKey(key)
            if !k.isEmpty, seen.insert(k).inserted { names.append(Name(key: k, rank: rank)) }
        }
        addName(Self.stripExtension(path), 0)
        addName(Self.stripExtension(String(path.split(separator: "/").last ?? Substring(path))), 1)
        for alias in note.frontMatter?.aliases ?? [] { addName(alias, 2) }
        addName(lenient?.title ?? note.title, 3)

        return .document(IndexedDocument(
            path: path, blob: blob, title: lenient?.title ?? note.title, tier: note.tier?.rawValue,
            tags: Self.unique((lenient?.tags ?? []) + note.tags),
            body: body, bodyFirstLine: note.bodyFirstLine, size: data.count, mtime: mtime, source: source,
            names: names))
    }

    /// Whether `text` holds the bytes 2 or 3 (the highlight marks of snippets), over its UTF-8 storage.
    static func containsHighlightMarks(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in bytes.contains { $0 == 2 || $0 == 3 } }
    }

    /// `title:` and `tags:` read line by line from a front matter block YAML rejected, so a note
    /// with one bad key still has its title and tags.
    static func lenientFrontMatter(_ text: String) -> (title: String?, tags: [String])? {
        guard text.hasPrefix("---") else { return nil }
        var title: String?
        var tags: [String] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().dropFirst() {
            if number > 200 { break }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == "---" || trimmed == "..." { return (title, tags) }
            guard let colon = trimmed.firstIndex(of: ":") else { continue }
            let key = trimmed[..<colon].lowercased()
            var value = trimmed[trimmed.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if key == "title", !value.isEmpty {
                title = value.trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
            } else if key == "tags" {
                if value.hasPrefix("["), value.hasSuffix("]") { value = String(value.dropFirst().dropLast()) }
                tags = value.split(separator: ",").map {
                    SearchQuery.normalizeTag($0.trimmingCharacters(in: CharacterSet(charactersIn: " \"'")))
                }.filter { !$0.isEmpty }
            }
        }
        return nil
    }

    static func unique(_ items: [String]) -> [String] {
        var seen = Set<String>()
        return items.filter { seen.insert($0).inserted }
    }

    /// The lookup key of a note name or wikilink target: lowercased, trimmed, without `.md`.
    static func nameKey(_ name: String) -> String {
        var key = name.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        while key.hasPrefix("/") { key.removeFirst() }
        while key.hasPrefix("./") { key.removeFirst(2) }
        return stripExtension(key)
    }

    static func stripExtension(_ name: String) -> String {
        for ext in [".md", ".markdown"] where name.lowercased().hasSuffix(ext) && name.count > ext.count {
            return String(name.dropLast(ext.count))
        }
        return name
    }
}
