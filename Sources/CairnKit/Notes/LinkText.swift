import Foundation

/// Writes links the way Obsidian writes them, and puts a new link path in place of an old one in a note's text.
public enum LinkText {
    /// The path part of a link from the note at `source` to the file `target` (both vault-relative), written in
    /// `format` (Obsidian's "New link format") and checked to lead back to `target` under `resolver`.
    ///
    /// Wikilinks leave out `.md` (`[[Folder/Note]]`); Markdown links keep it and are percent-encoded
    /// (`Folder/My%20note.md`) unless `angleBrackets`. `shortest` is the file's name when it leads to `target`
    /// unambiguously, else the path from the root (what Obsidian's "Shortest path when possible" writes).
    /// When the preferred form would lead elsewhere (a same-named file at the root, say), the path from the root is
    /// used, then the same with a leading `/`.
    public static func path(to target: String, from source: String, markdown: Bool, format: ObsidianSettings.LinkFormat,
                            resolver: LinkResolver, angleBrackets: Bool = false) -> String {
        let isNote = target.lowercased().hasSuffix(".md")
        func written(_ path: String) -> String {
            markdown ? path : (isNote ? String(path.dropLast(3)) : path)
        }
        let absolute = written(target)
        var candidates: [String] = []
        switch format {
        case .shortest:
            candidates.append(written(LinkResolver.fileName(target)))
        case .relative:
            let rel = relative(target, from: LinkResolver.folder(of: source))
            candidates.append(written(rel))
            if !rel.hasPrefix("../") { candidates.append("./" + written(rel)) }
        case .absolute:
            break
        }
        candidates += [absolute, "/" + absolute]
        for candidate in candidates {
            guard let found = resolver.resolve(candidate, from: source, markdown: markdown), found.path == target,
                  !(found.ambiguous && format == .shortest && candidate != absolute) else { continue }
            return markdown && !angleBrackets ? encoded(candidate) : candidate
        }
        return markdown && !angleBrackets ? encoded(absolute) : absolute
    }

    /// `target` as a path from `folder` (`../B/x.md` from `A`).
    static func relative(_ target: String, from folder: String) -> String {
        let mine = folder.split(separator: "/")
        let theirs = target.split(separator: "/")
        var shared = 0
        while shared < mine.count, shared < theirs.count - 1, mine[shared] == theirs[shared] { shared += 1 }
        let ups = Array(repeating: "..", count: mine.count - shared)
        return (ups + theirs[shared...].map(String.init)).joined(separator: "/")
    }

    /// A Markdown link destination: spaces and the characters that would end or split it percent-encoded, the
    /// rest (including non-ASCII letters) as is, as Obsidian writes them.
    static func encoded(_ path: String) -> String {
        var out = ""
        for scalar in path.unicodeScalars {
            switch scalar {
            case " ", "%", "(", ")", "<", ">", "#", "?", "^", "[", "]", "\\", "\t":
                out += String(format: "%%%02X", scalar.value)
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// One replacement in a note's text: the scalars `columns` of file line `line` (1-based) become `text`.
    public struct Edit: Sendable, Hashable {
        public let line: Int
        public let columns: Range<Int>
        public let text: String
    }

    /// `data` with `edits` applied; every other byte is kept (line endings, byte order mark, front matter).
    /// Columns count Unicode scalars from the start of the line as `NoteLinks` read it (after a byte order mark).
    public static func apply(_ edits: [Edit], to data: Data) -> Data {
        guard !edits.isEmpty else { return data }
        let byLine = Dictionary(grouping: edits, by: \.line)
        let hasBOM = data.starts(with: [0xEF, 0xBB, 0xBF])
        var out = Data()
        out.reserveCapacity(data.count + 64)
        var lineNumber = 1
        var start = data.startIndex
        while start <= data.endIndex {
            let end = data[start...].firstIndex(of: 0x0A) ?? data.endIndex
            if let lineEdits = byLine[lineNumber] {
                var scalars = Array(String(decoding: data[start..<end], as: UTF8.self).unicodeScalars)
                let shift = hasBOM && lineNumber == 1 ? 1 : 0
                for edit in lineEdits.sorted(by: { $0.columns.lowerBound > $1.columns.lowerBound }) {
                    let range = (edit.columns.lowerBound + shift)..<(edit.columns.upperBound + shift)
                    guard range.upperBound <= scalars.count else { continue }
                    scalars.replaceSubrange(range, with: Array(edit.text.unicodeScalars))
                }
                var line = String.UnicodeScalarView()
                line.append(contentsOf: scalars)
                out.append(contentsOf: String(line).utf8)
            } else {
                out.append(data[start..<end])
            }
            guard end < data.endIndex else { break }
            out.append(0x0A)
            start = data.index(after: end)
            lineNumber += 1
        }
        return out
    }
}
