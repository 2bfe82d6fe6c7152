import Foundation

/// Byte-level versions of the few string operations every pulled mail goes through, for text that is all ASCII
/// (nearly every header): in ASCII each byte is one character and one scalar, so cutting and trimming bytes gives
/// what the `Character` and Foundation versions give, without a Unicode property lookup or a bridge per call.
/// Each function answers nil for text that is not all ASCII; the caller then takes its general path.
/// `ConnectorParsingTests` compares them with the general versions on generated text.
enum ASCIIText {
    /// What `Character.isWhitespace` says of an ASCII byte: tab, line feed, vertical tab, form feed, carriage return
    /// and space.
    @inline(__always)
    static func isWhitespace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }

    /// `MIMEMessage.trimmed` (no white space at either end) for ASCII text; nil for other text.
    static func trimmedWhitespace<S: StringProtocol>(_ text: S) -> String? {
        text.utf8.withContiguousStorageIfAvailable { utf8 -> String? in
            guard isASCII(utf8) else { return nil }
            return trimmedWhitespace(utf8)
        } ?? nil
    }

    /// `utf8`, which is ASCII, without white space at either end.
    static func trimmedWhitespace(_ utf8: UnsafeBufferPointer<UInt8>) -> String {
        var first = 0, end = utf8.count
        while first < end && isWhitespace(utf8[first]) { first += 1 }
        while end > first && isWhitespace(utf8[end - 1]) { end -= 1 }
        return String(decoding: UnsafeBufferPointer(rebasing: utf8[first..<end]), as: UTF8.self)
    }

    /// `text.trimmingCharacters(in: .whitespaces).lowercased()`; on bytes for ASCII text, where `.whitespaces` is
    /// space and tab.
    static func trimmedSpacesLowercasedAnyText<S: StringProtocol>(_ text: S) -> String {
        let ascii: String? = text.utf8.withContiguousStorageIfAvailable { utf8 -> String? in
            guard isASCII(utf8) else { return nil }
            let kept = spaceTrimmed(utf8)
            return String(unsafeUninitializedCapacity: kept.count) { out in
                for i in kept { out[i - kept.lowerBound] = utf8[i] >= 0x41 && utf8[i] <= 0x5A ? utf8[i] | 0x20 : utf8[i] }
                return kept.count
            }
        } ?? nil
        return ascii ?? text.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// `text.trimmingCharacters(in: .whitespaces)`; on bytes for ASCII text.
    static func trimmedSpaces<S: StringProtocol>(_ text: S) -> String {
        let ascii: String? = text.utf8.withContiguousStorageIfAvailable { utf8 -> String? in
            guard isASCII(utf8) else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: utf8[spaceTrimmed(utf8)]), as: UTF8.self)
        } ?? nil
        return ascii ?? text.trimmingCharacters(in: .whitespaces)
    }

    /// The bounds of `utf8` without spaces and tabs at either end.
    private static func spaceTrimmed(_ utf8: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        var first = 0, end = utf8.count
        while first < end && (utf8[first] == 0x20 || utf8[first] == 0x09) { first += 1 }
        while end > first && (utf8[end - 1] == 0x20 || utf8[end - 1] == 0x09) { end -= 1 }
        return first..<end
    }

    static func isASCII(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        for b in utf8 where b >= 0x80 { return false }
        return true
    }

    /// Whether `text` holds `needle` (both compared as UTF-8 bytes: for ASCII needles, what `contains` finds).
    static func contains(_ text: String, _ needle: StaticString) -> Bool {
        firstRange(of: needle, in: text) != nil
    }

    /// The byte offsets of the first `needle` in `text`.
    static func firstRange(of needle: StaticString, in text: String) -> Range<Int>? {
        var copy = text
        return copy.withUTF8 { hay in
            let n = needle.utf8CodeUnitCount
            guard n > 0, hay.count >= n else { return nil }
            let first = needle.utf8Start[0]
            var i = 0
            while i <= hay.count - n {
                if hay[i] == first {
                    var j = 1
                    while j < n && hay[i + j] == needle.utf8Start[j] { j += 1 }
                    if j == n { return i..<(i + n) }
                }
                i += 1
            }
            return nil
        }
    }
}
