import Foundation

/// A path glob as agents and policy use them: `*` (within a folder), `**` (any number of folders),
/// `?`, and `[abc]` classes. Patterns match whole vault-relative paths with `/` separators.
///
/// A pattern ending in `/**` also matches the folder itself; a pattern without `/` that contains no
/// `**` still matches from the root only (`*.md` matches `a.md`, not `x/a.md`), like gitignore's
/// anchored patterns.
public struct Glob: Hashable, Sendable, CustomStringConvertible {
    public let pattern: String
    private let segments: [String]
    /// For `**` and `folder/sub/**` (folders without wildcards, then `**`): those folders, matched by comparing
    /// bytes (the general matcher split every path into strings and scalar arrays; agents match whole vaults).
    private let literalFolders: [String]?

    public init(_ pattern: String) {
        self.pattern = pattern
        var p = pattern
        while p.hasPrefix("./") { p.removeFirst(2) }
        while p.hasPrefix("/") { p.removeFirst() }
        segments = p.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        let head = segments.dropLast()
        literalFolders = segments.last == "**" && !head.contains(where: { $0.contains(where: { "*?[\\".contains($0) }) })
            ? Array(head) : nil
    }

    public var description: String { pattern }

    /// The leading folders of `pattern` that contain no wildcard: `inbox/**` → `inbox`,
    /// `memory/projects/*.md` → `memory/projects`, `**/x` → "" (the whole vault).
    public static func literalPrefix(_ pattern: String) -> String {
        var parts: [Substring] = []
        let segments = pattern.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        for (i, part) in segments.enumerated() {
            if part.contains(where: { "*?[\\".contains($0) }) { break }
            // The last literal segment may be a file name: keep it (a file or a folder, both are fine starts).
            parts.append(part)
            if i == segments.count - 1 { break }
        }
        return parts.joined(separator: "/")
    }

    /// True when `path` matches.
    public func matches(_ path: String) -> Bool {
        if let folders = literalFolders {
            var matched = 0
            for part in path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
                if matched == folders.count { return true }
                guard part.elementsEqual(folders[matched].utf8) else { return false }
                matched += 1
            }
            return matched == folders.count
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        return Self.match(segments[...], parts[...])
    }

    /// True when some path under folder `dir` could match (used to skip whole subtrees when materializing).
    public func couldMatch(under dir: String) -> Bool {
        let parts = dir.split(separator: "/").map(String.init)
        var i = 0
        for part in parts {
            guard i < segments.count else { return false }
            if segments[i] == "**" { return true }
            if !Self.matchSegment(Array(segments[i].unicodeScalars)[...], Array(part.unicodeScalars)[...]) { return false }
            i += 1
        }
        return true
    }

    private static func match(_ pat: ArraySlice<String>, _ path: ArraySlice<String>) -> Bool {
        guard let first = pat.first else { return path.isEmpty }
        if first == "**" {
            let rest = pat.dropFirst()
            if rest.isEmpty { return true }
            var p = path
            while true {
                if match(rest, p) { return true }
                if p.isEmpty { return false }
                p = p.dropFirst()
            }
        }
        guard let seg = path.first else { return false }
        guard matchSegment(Array(first.unicodeScalars)[...], Array(seg.unicodeScalars)[...]) else { return false }
        return match(pat.dropFirst(), path.dropFirst())
    }

    /// fnmatch for one path segment.
    private static func matchSegment(_ p: ArraySlice<Unicode.Scalar>, _ s: ArraySlice<Unicode.Scalar>) -> Bool {
        var pi = p.startIndex, si = s.startIndex
        var starP: Int? = nil, starS = 0
        while si < s.endIndex {
            if pi < p.endIndex {
                let c = p[pi]
                if c == "*" { starP = pi; starS = si; pi += 1; continue }
                if c == "?" { pi += 1; si += 1; continue }
                if c == "[", let (matched, next) = matchClass(p, pi, s[si]) {
                    if matched { pi = next; si += 1; continue }
                } else if c == "\\", pi + 1 < p.endIndex, p[pi + 1] == s[si] {
                    pi += 2; si += 1; continue
                } else if c == s[si] {
                    pi += 1; si += 1; continue
                }
            }
            if let sp = starP { pi = sp + 1; starS += 1; si = starS; continue }
            return false
        }
        while pi < p.endIndex && p[pi] == "*" { pi += 1 }
        return pi == p.endIndex
    }

    /// Matches `[...]` at `start`; nil when the class is not closed (then `[` is literal).
    private static func matchClass(_ p: ArraySlice<Unicode.Scalar>, _ start: Int, _ ch: Unicode.Scalar) -> (Bool, Int)? {
        var i = start + 1
        var negate = false
        if i < p.endIndex && (p[i] == "!" || p[i] == "^") { negate = true; i += 1 }
        var matched = false
        var first = true
        while i < p.endIndex {
            let c = p[i]
            if c == "]" && !first { return (matched != negate, i + 1) }
            first = false
            if i + 2 < p.endIndex && p[i + 1] == "-" && p[i + 2] != "]" {
                if c.value <= ch.value && ch.value <= p[i + 2].value { matched = true }
                i += 3
            } else {
                if c == ch { matched = true }
                i += 1
            }
        }
        return nil
    }
}

extension Array where Element == Glob {
    /// True when any glob matches `path`.
    public func anyMatches(_ path: String) -> Bool { contains { $0.matches(path) } }
}
