import Foundation

/// A card of an Obsidian canvas (a `.canvas` file, JSON Canvas 1.0): a text card's links, or a file card's file.
struct CanvasCard: Sendable {
    /// The card's `id`.
    let id: String
    /// The file line of the card's `"id"` (a card is one line in the files Obsidian writes).
    let line: Int
    /// For a file card: the vault path it shows.
    let file: String?
    /// For a text card: the links of its Markdown, on `line`.
    let links: [Vault.CheckedLink]

    /// The text and file cards of a canvas file; none when it is not JSON with a `nodes` list.
    static func read(_ data: Data) -> [CanvasCard] {
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let nodes = json["nodes"] as? [[String: Any]] else { return [] }
        let lines = idLines(String(decoding: data, as: UTF8.self))
        var cards: [CanvasCard] = []
        for node in nodes {
            guard let id = node["id"] as? String else { continue }
            let line = lines[id] ?? 1
            switch node["type"] as? String {
            case "file":
                guard let file = node["file"] as? String else { continue }
                cards.append(CanvasCard(id: id, line: line, file: file, links: []))
            case "text":
                guard let text = node["text"] as? String else { continue }
                let scanned = NoteLinks.scan(text)
                var links = scanned.wikiLinks.map {
                    Vault.CheckedLink(target: $0.target, subpath: $0.heading, markdown: false, line: line, wiki: $0)
                }
                links += scanned.markdownLinks.map { Vault.CheckedLink(target: $0.target, subpath: $0.fragment, markdown: true, line: line) }
                if !links.isEmpty { cards.append(CanvasCard(id: id, line: line, file: nil, links: links)) }
            default:
                continue
            }
        }
        return cards
    }

    /// The file line of the first `"id": "…"` of each id.
    private static func idLines(_ text: String) -> [String: Int] {
        guard let regex = try? NSRegularExpression(pattern: #""id"\s*:\s*("(?:[^"\\]|\\.)*")"#) else { return [:] }
        var lines: [String: Int] = [:]
        var line = 1
        var scanned = text.utf8.startIndex
        for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            guard let range = Range(match.range(at: 1), in: text),
                  let id = try? JSONDecoder().decode(String.self, from: Data(text[range].utf8)) else { continue }
            line += text.utf8[scanned..<range.lowerBound].reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
            scanned = range.lowerBound
            if lines[id] == nil { lines[id] = line }
        }
        return lines
    }
}
