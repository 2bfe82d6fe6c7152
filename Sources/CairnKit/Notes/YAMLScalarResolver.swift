import Yams

/// Resolves the tag of a plain YAML scalar exactly as Yams' `Resolver.default` does, without regular
/// expressions.
///
/// `Resolver.default` compiles seven ICU regular expressions the first time it is touched, a tenth of a
/// short command's instructions on Linux, and then runs them per scalar. The rules below are the same
/// YAML 1.1 rules, tried in the same order (bool, int, float, merge, null, timestamp, value), with ICU's
/// `$`, which also matches before one line terminator at the end of the text. A test compares both on
/// generated scalars.
enum YAMLScalarResolver {
    static func tag(of text: String) -> Tag.Name {
        var bytes = Array(text.utf8)
        stripFinalLineTerminator(&bytes)
        if isBool(bytes) { return .bool }
        if isInt(bytes) { return .int }
        if isFloat(bytes) { return .float }
        if bytes == [0x3C, 0x3C] { return .merge }  // <<
        if isNull(bytes) { return .null }
        if isTimestamp(bytes) { return .timestamp }
        if bytes == [0x3D] { return .value }  // =
        return .str
    }

    // MARK: - Rules

    private static let bools: Set<String> = ["yes", "Yes", "YES", "no", "No", "NO", "true", "True", "TRUE",
                                             "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF"]
    private static let nulls: Set<String> = ["~", "null", "Null", "NULL", ""]
    private static let infinitiesAndNaNs: Set<String> = [".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
                                                         ".nan", ".NaN", ".NAN"]

    private static func isBool(_ b: [UInt8]) -> Bool {
        b.count <= 5 && bools.contains(String(decoding: b, as: UTF8.self))
    }

    private static func isNull(_ b: [UInt8]) -> Bool {
        b.count <= 4 && nulls.contains(String(decoding: b, as: UTF8.self))
    }

    /// `[-+]?0b[0-1_]+ | [-+]?0o?[0-7_]+ | [-+]?(?:0|[1-9][0-9_]*) | [-+]?0x[0-9a-fA-F_]+
    /// | [-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+`
    private static func isInt(_ b: [UInt8]) -> Bool {
        var c = Cursor(b)
        c.skipSign()
        let start = c.i
        if c.eat("0") {
            if c.atEnd { return true }
            if c.eat("b") { return c.many(isBinary) >= 1 && c.atEnd }
            var o = c
            _ = o.eat("o")
            if o.many(isOctal) >= 1 && o.atEnd { return true }
            if c.eat("x") { return c.many(isHex) >= 1 && c.atEnd }
            return false
        }
        c.i = start
        guard c.one(isNonZeroDigit) else { return false }
        c.skip(isDigitOrUnderscore)
        if c.atEnd { return true }
        return c.sexagesimalGroups() && c.atEnd
    }

    /// `[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)? | \.[0-9_]+(?:[eE][-+][0-9]+)?
    /// | [-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]* | [-+]?\.(?:inf|Inf|INF) | \.(?:nan|NaN|NAN)`
    private static func isFloat(_ b: [UInt8]) -> Bool {
        if b.count >= 4 && b.count <= 5 && infinitiesAndNaNs.contains(String(decoding: b, as: UTF8.self)) { return true }
        // \.[0-9_]+(?:[eE][-+][0-9]+)?
        var d = Cursor(b)
        if d.eat(".") {
            guard d.many(isDigitOrUnderscore) >= 1 else { return false }
            if d.atEnd { return true }
            return d.eatAny("eE") && d.eatAny("-+") && d.many(isDigit) >= 1 && d.atEnd
        }
        var c = Cursor(b)
        c.skipSign()
        guard c.one(isDigit) else { return false }
        c.skip(isDigitOrUnderscore)
        let afterInteger = c
        // [0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
        if c.eat(".") { c.skip(isDigitOrUnderscore) }
        if c.atEnd { return true }
        if c.eatAny("eE") {
            _ = c.eatAny("-+")
            if c.many(isDigit) >= 1 && c.atEnd { return true }
        }
        // [0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        var s = afterInteger
        guard s.sexagesimalGroups(), s.eat(".") else { return false }
        s.skip(isDigitOrUnderscore)
        return s.atEnd
    }

    /// `[0-9]{4}-[0-9]{2}-[0-9]{2} | [0-9]{4}-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9]
    /// (?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?`
    private static func isTimestamp(_ b: [UInt8]) -> Bool {
        var c = Cursor(b)
        guard c.exactly(4, isDigit), c.eat("-") else { return false }
        let monthDigits = c.upTo(2, isDigit)
        guard monthDigits >= 1, c.eat("-") else { return false }
        let dayDigits = c.upTo(2, isDigit)
        guard dayDigits >= 1 else { return false }
        if c.atEnd { return monthDigits == 2 && dayDigits == 2 }
        if !c.eatAny("Tt") {
            guard c.many({ $0 == 0x20 || $0 == 0x09 }) >= 1 else { return false }
        }
        guard c.upTo(2, isDigit) >= 1, c.eat(":"), c.exactly(2, isDigit), c.eat(":"), c.exactly(2, isDigit) else { return false }
        if c.eat(".") { c.skip(isDigit) }
        if c.atEnd { return true }
        c.skip { $0 == 0x20 || $0 == 0x09 }
        if c.eat("Z") { return c.atEnd }
        guard c.eatAny("-+"), c.upTo(2, isDigit) >= 1 else { return false }
        if c.atEnd { return true }
        return c.eat(":") && c.exactly(2, isDigit) && c.atEnd
    }

    // MARK: - Helpers

    /// ICU's `$` matches at the end or before a final line terminator (CRLF counts as one).
    private static func stripFinalLineTerminator(_ b: inout [UInt8]) {
        if b.count >= 2, b[b.count - 2] == 0x0D, b[b.count - 1] == 0x0A { b.removeLast(2); return }
        if let last = b.last, [0x0A, 0x0B, 0x0C, 0x0D].contains(last) { b.removeLast(); return }
        if b.count >= 2, b[b.count - 2] == 0xC2, b[b.count - 1] == 0x85 { b.removeLast(2); return }  // U+0085
        if b.count >= 3, b[b.count - 3] == 0xE2, b[b.count - 2] == 0x80, b[b.count - 1] == 0xA8 || b[b.count - 1] == 0xA9 {
            b.removeLast(3)  // U+2028, U+2029
        }
    }

    private static func isDigit(_ x: UInt8) -> Bool { x >= 0x30 && x <= 0x39 }
    private static func isNonZeroDigit(_ x: UInt8) -> Bool { x >= 0x31 && x <= 0x39 }
    private static func isDigitOrUnderscore(_ x: UInt8) -> Bool { isDigit(x) || x == 0x5F }
    private static func isBinary(_ x: UInt8) -> Bool { x == 0x30 || x == 0x31 || x == 0x5F }
    private static func isOctal(_ x: UInt8) -> Bool { (x >= 0x30 && x <= 0x37) || x == 0x5F }
    private static func isHex(_ x: UInt8) -> Bool {
        isDigit(x) || (x >= 0x61 && x <= 0x66) || (x >= 0x41 && x <= 0x46) || x == 0x5F
    }

    private struct Cursor {
        let b: [UInt8]
        var i = 0
        init(_ b: [UInt8]) { self.b = b }

        var atEnd: Bool { i == b.count }

        mutating func eat(_ s: Unicode.Scalar) -> Bool {
            guard i < b.count, b[i] == UInt8(s.value) else { return false }
            i += 1
            return true
        }

        mutating func eatAny(_ set: String) -> Bool {
            guard i < b.count, set.utf8.contains(b[i]) else { return false }
            i += 1
            return true
        }

        mutating func skipSign() { _ = eatAny("-+") }

        mutating func one(_ p: (UInt8) -> Bool) -> Bool {
            guard i < b.count, p(b[i]) else { return false }
            i += 1
            return true
        }

        /// Consumes as many as match; returns how many.
        mutating func many(_ p: (UInt8) -> Bool) -> Int {
            let start = i
            while i < b.count, p(b[i]) { i += 1 }
            return i - start
        }

        mutating func skip(_ p: (UInt8) -> Bool) { _ = many(p) }

        mutating func upTo(_ n: Int, _ p: (UInt8) -> Bool) -> Int {
            var k = 0
            while k < n, i < b.count, p(b[i]) { i += 1; k += 1 }
            return k
        }

        mutating func exactly(_ n: Int, _ p: (UInt8) -> Bool) -> Bool { upTo(n, p) == n }

        /// `(?::[0-5]?[0-9])+`, greedy (a shorter group never lets more of the text match).
        mutating func sexagesimalGroups() -> Bool {
            var groups = 0
            while i < b.count, b[i] == 0x3A {
                let save = i
                i += 1
                if i + 1 < b.count, b[i] >= 0x30, b[i] <= 0x35, isDigit(b[i + 1]) { i += 2 }
                else if i < b.count, isDigit(b[i]) { i += 1 }
                else { i = save; break }
                groups += 1
            }
            return groups >= 1
        }
    }
}
