import Foundation

/// Why a path an agent proposed is refused.
public struct PathViolation: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Normalizes paths that come from agents and refuses every way out of the vault.
///
/// Refused: empty, absolute (`/x`, `C:\x`, `\\server`), `..` anywhere, `.git` as any component in any case
/// (also `.GIT`, `.git.` and NTFS alternate names like `git~1`), NUL and control characters, backslashes,
/// invalid Unicode, trailing dots or spaces in a component (Windows would alias them), over-long paths.
/// `.` components and repeated slashes are removed. Names are compared for protection after Unicode NFC
/// and case folding, so `Policy.JSON` and a decomposed `é` cannot slip past a rule.
public enum PathGuard {
    public static let maxPathBytes = 1024

    /// The normalized vault-relative path, or a violation.
    public static func normalize(_ raw: String) throws(PathViolation) -> String {
        if isPlainNormalized(raw) { return raw }
        return try normalizeFully(raw)
    }

    /// `normalize` without the fast path for plain paths (tests compare the two).
    static func normalizeFully(_ raw: String) throws(PathViolation) -> String {
        func fail(_ reason: String) -> PathViolation { PathViolation(path: raw, reason: reason) }
        if raw.isEmpty { throw fail("empty path") }
        if raw.utf8.count > maxPathBytes { throw fail("path longer than \(maxPathBytes) bytes") }
        if raw.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0 == "\u{FFFD}" }) {
            throw fail("control characters or invalid Unicode in the path")
        }
        if raw.contains("\\") { throw fail("backslashes are not allowed in paths") }
        if raw.hasPrefix("/") || raw.hasPrefix("~") { throw fail("absolute paths are not allowed") }
        if raw.count >= 2, raw.dropFirst().first == ":" { throw fail("absolute paths are not allowed") }
        var parts: [String] = []
        for piece in raw.split(separator: "/", omittingEmptySubsequences: true) {
            let part = String(piece)
            if part == "." { continue }
            if part == ".." { throw fail("'..' is not allowed in paths") }
            // NFC leaves ASCII as it is: only other names pay for Foundation's normalization.
            let nfc = part.utf8.allSatisfy { $0 < 0x80 } ? part : part.precomposedStringWithCanonicalMapping
            let folded = nfc.lowercased()
            let trimmed = String(folded.reversed().drop(while: { $0 == "." || $0 == " " }).reversed())
            if trimmed == ".git" || folded.hasPrefix(".git/") || trimmed == "git~1" {
                throw fail("'.git' is not allowed as a path component")
            }
            if part.hasSuffix(".") || part.hasSuffix(" ") { throw fail("path components cannot end with a dot or space") }
            parts.append(nfc)
        }
        if parts.isEmpty { throw fail("empty path") }
        // Judge the result too: `./~/x` and `./C:/x` must not normalize into what the raw checks refuse.
        let result = parts.joined(separator: "/")
        if result.hasPrefix("~") || (result.count >= 2 && result.dropFirst().first == ":") {
            throw fail("absolute paths are not allowed")
        }
        return result
    }

    /// True for the common path that `normalize` would return unchanged, checked byte by byte: printable
    /// ASCII without a backslash, not absolute (`/`, `~`, `C:`), no empty, `.` or `..` component, none ending
    /// in a dot or space, none that is `.git` or `git~1` in any case. Anything else takes the full check.
    static func isPlainNormalized(_ raw: String) -> Bool {
        raw.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            let n = bytes.count
            guard n > 0, n <= maxPathBytes, bytes[0] != UInt8(ascii: "/"), bytes[0] != UInt8(ascii: "~"),
                  !(n >= 2 && bytes[1] == UInt8(ascii: ":")) else { return false }
            var start = 0
            for i in 0...n {
                if i < n {
                    let b = bytes[i]
                    guard b >= 0x20, b < 0x7F, b != UInt8(ascii: "\\") else { return false }
                    if b != UInt8(ascii: "/") { continue }
                }
                let length = i - start
                guard length > 0 else { return false }
                let last = bytes[i - 1]
                guard last != UInt8(ascii: "."), last != UInt8(ascii: " ") else { return false }  // also `.` and `..`
                if length == 4 || length == 5 {
                    var lower: [UInt8] = []
                    for j in start..<i { let c = bytes[j]; lower.append(c >= 0x41 && c <= 0x5A ? c + 0x20 : c) }
                    if lower == Array(".git".utf8) || lower == Array("git~1".utf8) { return false }
                }
                start = i + 1
            }
            return true
        } ?? false
    }

    /// The form used to compare paths against protection rules: NFC and lower case. An ASCII path is its own NFC
    /// form, so it is only lower-cased, byte by byte: Foundation's normalization costs ~100 times more, which a
    /// proposal creating a note paid once for every name in the note's folder (the case-clash check).
    public static func comparable(_ path: String) -> String {
        if path.utf8.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: path.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }, as: UTF8.self)
        }
        return path.precomposedStringWithCanonicalMapping.lowercased()
    }
}
