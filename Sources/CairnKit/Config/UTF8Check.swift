import Foundation

/// Finds the first byte sequence that is not valid UTF-8.
enum UTF8Check {
    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// The 1-based line and column of the first invalid sequence, or nil when all of `bytes` is
    /// valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
    static func firstInvalidByte(in bytes: [UInt8]) -> (line: Int, column: Int)? {
        var i = 0
        var line = 1
        var column = 1
        while i < bytes.count {
            let b = bytes[i]
            let length: Int
            var lower: UInt8 = 0x80
            var upper: UInt8 = 0xBF
            switch b {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; upper = 0x9F
            case 0xF0: length = 4; lower = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; upper = 0x8F
            default: return (line, column)
            }
            guard i + length <= bytes.count else { return (line, column) }
            for k in 1..<length {
                let c = bytes[i + k]
                let (lo, hi) = k == 1 ? (lower, upper) : (UInt8(0x80), UInt8(0xBF))
                guard c >= lo && c <= hi else { return (line, column) }
            }
            if b == 0x0A { line += 1; column = 1 } else { column += 1 }
            i += length
        }
        return nil
    }
}
