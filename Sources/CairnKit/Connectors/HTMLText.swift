import Foundation

/// HTML mail reduced to readable text: tags dropped, blocks and line breaks kept, links shown as `text (url)`,
/// scripts, styles and comments removed, entities decoded.
enum HTMLText {
    static func readable(_ html: String) -> String {
        var out = ""
        var i = html.startIndex
        var skipUntil: String?
        var href: String?
        while i < html.endIndex {
            let ch = html[i]
            if ch == "<" {
                if html[i...].hasPrefix("<!--") {
                    i = html[i...].range(of: "-->")?.upperBound ?? html.endIndex
                    continue
                }
                guard let close = html[i...].firstIndex(of: ">") else { break }
                let tag = html[html.index(after: i)..<close]
                i = html.index(after: close)
                let closing = tag.hasPrefix("/")
                let name = tag.drop { $0 == "/" }.prefix { $0.isLetter || $0.isNumber }.lowercased()
                if let skip = skipUntil {
                    if closing && name == skip { skipUntil = nil }
                    continue
                }
                switch name {
                case "script", "style", "head", "title":
                    if !closing && !tag.hasSuffix("/") { skipUntil = name }
                case "br":
                    out += "\n"
                case "p", "div", "tr", "table", "ul", "ol", "blockquote", "section", "article", "h1", "h2", "h3", "h4", "h5", "h6", "hr":
                    if !out.hasSuffix("\n\n") { out += out.hasSuffix("\n") ? "\n" : "\n\n" }
                case "li":
                    if !closing { out += out.hasSuffix("\n") || out.isEmpty ? "- " : "\n- " }
                case "td", "th":
                    if closing { out += " " }
                case "a":
                    if closing {
                        if let h = href, !h.isEmpty, !h.hasPrefix("#") { out += " (\(h))" }
                        href = nil
                    } else {
                        href = attribute("href", in: String(tag))
                    }
                default:
                    break
                }
                continue
            }
            if skipUntil != nil { i = html.index(after: i); continue }
            if ch.isWhitespace {
                if !(out.last?.isWhitespace ?? true) { out += " " }
                i = html.index(after: i)
                continue
            }
            if ch == "&", let semi = html[i...].prefix(12).firstIndex(of: ";") {
                let entity = String(html[html.index(after: i)..<semi])
                if let decoded = decodeEntity(entity) {
                    out += decoded
                    i = html.index(after: semi)
                    continue
                }
            }
            out.append(ch)
            i = html.index(after: i)
        }
        // Tidy: no trailing spaces on lines, at most one empty line in a row.
        var lines: [String] = []
        for line in out.split(separator: "\n", omittingEmptySubsequences: false) {
            let t = line.trimmingCharacters(in: .whitespaces)
            if t.isEmpty && (lines.last?.isEmpty ?? true) { continue }
            lines.append(t)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        return lines.joined(separator: "\n")
    }

    static func attribute(_ name: String, in tag: String) -> String? {
        guard let r = tag.range(of: name + "=", options: .caseInsensitive) else { return nil }
        var rest = tag[r.upperBound...]
        if let q = rest.first, q == "\"" || q == "'" {
            rest = rest.dropFirst()
            return String(rest.prefix { $0 != q })
        }
        return String(rest.prefix { !$0.isWhitespace && $0 != ">" })
    }

    static func decodeEntity(_ entity: String) -> String? {
        switch entity {
        case "amp": return "&"
        case "lt": return "<"
        case "gt": return ">"
        case "quot": return "\""
        case "apos": return "'"
        case "nbsp": return " "
        case "mdash": return "—"
        case "ndash": return "–"
        case "hellip": return "…"
        case "rsquo": return "’"
        case "lsquo": return "‘"
        case "rdquo": return "”"
        case "ldquo": return "“"
        case "euro": return "€"
        case "copy": return "©"
        default: break
        }
        if entity.hasPrefix("#x") || entity.hasPrefix("#X"), let v = UInt32(entity.dropFirst(2), radix: 16), let s = Unicode.Scalar(v) { return String(s) }
        if entity.hasPrefix("#"), let v = UInt32(entity.dropFirst()), let s = Unicode.Scalar(v) { return String(s) }
        return nil
    }
}
