import CairnGit
import Foundation

/// Conflict markers as git writes them: a `<<<<<<< ` line, a `=======` line and a `>>>>>>> ` line, in order.
public enum ConflictMarkers {
    /// True when `data` holds a complete set of conflict markers at line starts.
    public static func present(in data: Data) -> Bool {
        guard data.count >= 21, let text = String(data: data, encoding: .utf8) else { return false }
        guard text.contains("<<<<<<< ") || text.hasPrefix("<<<<<<<") else { return false }
        var stage = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            switch stage {
            case 0: if line.hasPrefix("<<<<<<< ") || line == "<<<<<<<" { stage = 1 }
            case 1: if line == "=======" || line == "=======\r" { stage = 2 }
            default: if line.hasPrefix(">>>>>>> ") || line == ">>>>>>>" { return true }
            }
        }
        return false
    }
}

/// Three-way merge of Markdown notes: YAML front matter key by key, the body line by line.
enum TextMerge {
    struct Result {
        let content: Data
        let clean: Bool
    }

    /// Merges a note. Front matter keys changed on different sides combine; a key changed on both sides to
    /// different values falls back to a line merge of the front matter (markers). The body uses git's merge.
    static func mergeNote(ancestor: Data?, ours: Data, theirs: Data, path: String, labels: (ours: String, theirs: String),
                          repository: Repository) throws -> Result {
        let a = ancestor.flatMap { split($0) }, o = split(ours), t = split(theirs)
        guard let o, let t, ancestor == nil || a != nil else {
            let r = try repository.mergeFile(ancestor: ancestor, ours: ours, theirs: theirs, path: path, labels: labels)
            return Result(content: r.content, clean: r.clean)
        }
        let body = try repository.mergeFile(ancestor: a.map { Data($0.body.utf8) }, ours: Data(o.body.utf8),
                                            theirs: Data(t.body.utf8), path: path, labels: labels)
        var front: String
        var frontClean = true
        if let merged = mergeKeys(ancestor: a?.front ?? "", ours: o.front, theirs: t.front) {
            front = merged
        } else {
            let r = try repository.mergeFile(ancestor: a.map { Data($0.front.utf8) }, ours: Data(o.front.utf8),
                                             theirs: Data(t.front.utf8), path: path, labels: labels)
            front = String(decoding: r.content, as: UTF8.self)
            frontClean = r.clean
        }
        if !front.isEmpty && !front.hasSuffix("\n") { front += "\n" }
        var out = Data(("---\n" + front + "---\n").utf8)
        out.append(body.content)
        return Result(content: out, clean: frontClean && body.clean)
    }

    /// Front matter text (between the `---` lines) and the body after it; nil when the note has none.
    static func split(_ data: Data) -> (front: String, body: String)? {
        guard let text = String(data: data, encoding: .utf8), text.hasPrefix("---\n") else { return nil }
        let rest = text.dropFirst(4)
        if rest.hasPrefix("---\n") { return ("", String(rest.dropFirst(4))) }
        guard let end = rest.range(of: "\n---\n") else {
            if rest.hasSuffix("\n---") { return (String(rest.dropLast(3)), "") }
            return nil
        }
        return (String(rest[..<end.lowerBound]) + "\n", String(rest[end.upperBound...]))
    }

    /// Top-level keys with their lines (continuation and indented lines belong to the key above); text before the
    /// first key is kept under "".
    static func chunks(_ front: String) -> [(key: String, text: String)] {
        var out: [(key: String, text: String)] = []
        for line in front.split(separator: "\n", omittingEmptySubsequences: false).dropLast(front.hasSuffix("\n") ? 1 : 0) {
            let s = String(line)
            let startsKey = !s.isEmpty && !s.hasPrefix(" ") && !s.hasPrefix("\t") && !s.hasPrefix("-") && !s.hasPrefix("#") && s.contains(":")
            if startsKey {
                let key = String(s[..<s.firstIndex(of: ":")!]).trimmingCharacters(in: .whitespaces)
                out.append((key, s + "\n"))
            } else if out.isEmpty {
                out.append(("", s + "\n"))
            } else {
                out[out.count - 1].text += s + "\n"
            }
        }
        return out
    }

    /// Key-by-key three-way merge; nil when a key changed on both sides to different values (or keys repeat).
    static func mergeKeys(ancestor: String, ours: String, theirs: String) -> String? {
        let a = chunks(ancestor), o = chunks(ours), t = chunks(theirs)
        func dict(_ c: [(key: String, text: String)]) -> [String: String]? {
            var d: [String: String] = [:]
            for (k, v) in c { if d[k] != nil { return nil }; d[k] = v }
            return d
        }
        guard let ad = dict(a), let od = dict(o), let td = dict(t) else { return nil }
        var order = o.map(\.key)
        for (k, _) in t where od[k] == nil && !order.contains(k) { order.append(k) }
        var out = ""
        for k in order {
            let av = ad[k], ov = od[k], tv = td[k]
            let chosen: String?
            if ov == tv { chosen = ov } else if ov == av { chosen = tv } else if tv == av { chosen = ov } else { return nil }
            if let chosen { out += chosen }
        }
        return out
    }
}
