import Foundation

/// A strict JSON syntax check (RFC 8259) that reports where the first error is.
///
/// Foundation's decoders say *that* a document is invalid but, on Linux, not *where*; this walks
/// the bytes once, without recursion (so no input can exhaust the stack), and reports the 1-based
/// line and column of the first problem. It is stricter than Foundation on Linux in two ways, on
/// purpose: a trailing comma is an error (as in RFC 8259, `jq` and every other JSON tool the
/// operator may use on the same file), and so is a key repeated in one object, because Foundation
/// silently keeps only one of the values and the operator's edit to the other would be ignored.
enum JSONSyntaxCheck {
    /// The deepest nesting accepted; configuration files need a handful of levels.
    static let maxDepth = 256

    /// The kind of a JSON value.
    enum ValueKind: Sendable, Equatable {
        case object, array, string, number, boolean, null

        /// The kind with an article, as in "found a string".
        var phrase: String {
            switch self {
            case .object: return "an object"
            case .array: return "an array"
            case .string: return "a string"
            case .number: return "a number"
            case .boolean: return "true or false"
            case .null: return "null"
            }
        }
    }

    /// The first syntax error: where it is and what it is.
    struct Failure: Error, Equatable, Sendable {
        var line: Int
        var column: Int
        var message: String

        /// Whether the document holds nothing but whitespace.
        var isEmptyDocument: Bool { message == JSONSyntaxCheck.emptyDocumentMessage }
    }

    static let emptyDocumentMessage = "empty file; expected a JSON object"

    /// What a successful check learned about the document.
    struct Report: Sendable {
        var topLevelKind: ValueKind
        var values: JSONValueMap
    }

    private struct Frame {
        var isObject: Bool
        var path: String
        var openLine: Int
        var keys: Set<[UInt8]> = []
        var count = 0
    }

    private enum State {
        case value
        case afterValue
        case memberOrEnd(comma: (line: Int, column: Int)?)
        case elementOrEnd(comma: (line: Int, column: Int)?)
    }

    /// Checks that `bytes` hold exactly one JSON value (a UTF-8 byte order mark is allowed).
    ///
    /// - Throws: `Failure` for the first syntax error, including an empty document.
    static func check(_ bytes: [UInt8]) throws -> Report {
        var cursor = Cursor(bytes: bytes)
        if bytes.starts(with: UTF8Check.byteOrderMark) { cursor.pos = 3 }
        try cursor.skipWhitespace()
        if cursor.atEnd { throw cursor.failure(emptyDocumentMessage) }

        var stack: [Frame] = []
        var values = JSONValueMap()
        var topLevelKind = ValueKind.null
        var path = ""
        var entryLine: Int?
        var lastValueEnd = (line: 1, column: 1)
        var state = State.value

        /// At a container's first slot or after a comma: closes the container and returns true when `close` comes
        /// next; throws at the end of the file, or on a comma right before `close`.
        func closes(open: Character, close: Character, comma: (line: Int, column: Int)?) throws -> Bool {
            guard let c = cursor.peek else {
                throw cursor.failure("unexpected end of file; the '\(open)' on line \(stack[stack.count - 1].openLine) is never closed")
            }
            guard c == close.asciiValue else { return false }
            if let comma {
                throw Failure(line: comma.line, column: comma.column, message: "trailing comma before '\(close)'")
            }
            stack.removeLast()
            cursor.advance()
            lastValueEnd = cursor.position
            state = .afterValue
            return true
        }

        while true {
            try cursor.skipWhitespace()
            switch state {
            case .value:
                guard let c = cursor.peek else {
                    throw cursor.failure("unexpected end of file; expected a value")
                }
                let line = entryLine ?? cursor.line
                let atTop = stack.isEmpty
                let kind: ValueKind
                switch c {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    guard stack.count < maxDepth else {
                        throw cursor.failure("nested more than \(maxDepth) levels deep")
                    }
                    let isObject = c == UInt8(ascii: "{")
                    stack.append(Frame(isObject: isObject, path: path, openLine: cursor.line))
                    cursor.advance()
                    kind = isObject ? .object : .array
                    state = isObject ? .memberOrEnd(comma: nil) : .elementOrEnd(comma: nil)
                case UInt8(ascii: "\""):
                    _ = try cursor.scanString()
                    kind = .string
                    state = .afterValue
                case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                    try cursor.scanNumber()
                    kind = .number
                    state = .afterValue
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
                    let start = cursor.position
                    let word = cursor.scanWord()
                    switch word {
                    case "true", "false": kind = .boolean
                    case "null": kind = .null
                    default:
                        throw Failure(
                            line: start.line, column: start.column,
                            message: "unexpected word '\(word)'; text values need double quotes, and the only bare words are true, false and null")
                    }
                    state = .afterValue
                case UInt8(ascii: "'"):
                    throw cursor.failure("strings must be in double quotes, not single quotes")
                case UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: ","), UInt8(ascii: ":"):
                    throw cursor.failure("expected a value but found \(cursor.describeCurrent())")
                default:
                    throw cursor.failure("unexpected character \(cursor.describeCurrent())")
                }
                if atTop { topLevelKind = kind }
                lastValueEnd = cursor.position
                values.entries[path] = JSONValueMap.Entry(line: line, kind: kind)
                entryLine = nil

            case .afterValue:
                guard let top = stack.last else {
                    if !cursor.atEnd {
                        throw cursor.failure("unexpected \(cursor.describeCurrent()) after the end of the JSON value")
                    }
                    return Report(topLevelKind: topLevelKind, values: values)
                }
                let close = top.isObject ? "}" : "]"
                guard let c = cursor.peek else {
                    throw cursor.failure("unexpected end of file; the '\(top.isObject ? "{" : "[")' on line \(top.openLine) is never closed")
                }
                if c == UInt8(ascii: ",") {
                    let comma = cursor.position
                    cursor.advance()
                    state = top.isObject ? .memberOrEnd(comma: comma) : .elementOrEnd(comma: comma)
                } else if c == (top.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    stack.removeLast()
                    cursor.advance()
                    lastValueEnd = cursor.position
                    state = .afterValue
                } else if cursor.line > lastValueEnd.line {
                    // The usual mistake: a line added after the last one without a comma there.
                    throw Failure(
                        line: lastValueEnd.line, column: lastValueEnd.column,
                        message: "missing ',' at the end of the line (line \(cursor.line) continues with \(cursor.describeCurrent()))")
                } else {
                    throw cursor.failure("expected ',' or '\(close)' but found \(cursor.describeCurrent()) (is a comma missing at the end of the previous value?)")
                }

            case .memberOrEnd(let comma):
                if try closes(open: "{", close: "}", comma: comma) { continue }
                guard cursor.peek == UInt8(ascii: "\"") else {
                    throw cursor.failure("expected a key in double quotes but found \(cursor.describeCurrent())")
                }
                let keyStart = cursor.position
                let key = try cursor.scanString()
                let keyText = String(decoding: key, as: UTF8.self)
                guard stack[stack.count - 1].keys.insert(key).inserted else {
                    throw Failure(
                        line: keyStart.line, column: keyStart.column,
                        message: "duplicate key \"\(keyText)\" (only one of the values would be used)")
                }
                try cursor.skipWhitespace()
                guard cursor.peek == UInt8(ascii: ":") else {
                    if cursor.atEnd { throw cursor.failure("unexpected end of file; expected ':' after key \"\(keyText)\"") }
                    throw cursor.failure("expected ':' after key \"\(keyText)\" but found \(cursor.describeCurrent())")
                }
                cursor.advance()
                let parent = stack[stack.count - 1].path
                path = parent.isEmpty ? keyText : "\(parent).\(keyText)"
                entryLine = keyStart.line
                state = .value

            case .elementOrEnd(let comma):
                if try closes(open: "[", close: "]", comma: comma) { continue }
                let index = stack[stack.count - 1].count
                stack[stack.count - 1].count += 1
                path = "\(stack[stack.count - 1].path)[\(index)]"
                entryLine = nil
                state = .value
            }
        }
    }

    /// A position in the bytes that keeps its 1-based line and column (in characters).
    private struct Cursor {
        let bytes: [UInt8]
        var pos = 0
        var line = 1
        var column = 1

        var atEnd: Bool { pos >= bytes.count }
        var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }
        var position: (line: Int, column: Int) { (line, column) }

        mutating func advance() {
            let b = bytes[pos]
            if b == 0x0A {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1
            }
            pos += 1
        }

        func failure(_ message: String) -> Failure {
            Failure(line: line, column: column, message: message)
        }

        /// Skips JSON whitespace; a comment is reported, since JSON has none.
        mutating func skipWhitespace() throws {
            while let b = peek {
                switch b {
                case 0x20, 0x09, 0x0A, 0x0D:
                    advance()
                case UInt8(ascii: "/"):
                    throw failure("comments are not allowed in JSON")
                default:
                    return
                }
            }
        }

        /// The character at the cursor, quoted for a message (`'x'`, or `U+0007` when invisible).
        func describeCurrent() -> String {
            guard pos < bytes.count else { return "the end of the file" }
            let b = bytes[pos]
            if b >= 0x21 && b < 0x7F { return "'\(Character(Unicode.Scalar(b)))'" }
            if b < 0x80 { return String(format: "U+%04X", UInt32(b)) }
            let end = Swift.min(bytes.count, pos + 4)
            if let scalar = String(decoding: bytes[pos..<end], as: UTF8.self).unicodeScalars.first {
                if scalar.properties.isWhitespace || scalar.properties.generalCategory == .format {
                    return String(format: "U+%04X", scalar.value)
                }
                return "'\(scalar)'"
            }
            return "a non-ASCII character"
        }

        /// Scans a string at the cursor (on its opening quote) and returns its raw content bytes.
        mutating func scanString() throws -> [UInt8] {
            let start = position
            advance()
            var content: [UInt8] = []
            while true {
                guard let b = peek else {
                    throw Failure(line: start.line, column: start.column, message: "unterminated string")
                }
                switch b {
                case UInt8(ascii: "\""):
                    advance()
                    return content
                case 0x0A, 0x0D:
                    throw Failure(
                        line: start.line, column: start.column,
                        message: "unterminated string (a string must end on the line it starts; write a line break as \\n)")
                case 0x00..<0x20:
                    throw failure("control character \(describeCurrent()) in a string; escape it (\\t, \\u0000 …)")
                case UInt8(ascii: "\\"):
                    content.append(b)
                    advance()
                    guard let e = peek else { continue }
                    switch e {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                        UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        content.append(e)
                        advance()
                    case UInt8(ascii: "u"):
                        content.append(e)
                        advance()
                        for _ in 0..<4 {
                            guard let h = peek, isHexDigit(h) else {
                                throw failure("\\u must be followed by four hex digits")
                            }
                            content.append(h)
                            advance()
                        }
                    default:
                        throw failure("invalid escape '\\\(Character(Unicode.Scalar(e < 0x80 ? e : 0x3F)))' in a string")
                    }
                default:
                    content.append(b)
                    advance()
                }
            }
        }

        /// Scans a number at the cursor and checks that it is finite as a double.
        mutating func scanNumber() throws {
            let start = position
            let startIndex = pos
            func fail(_ message: String) -> Failure {
                Failure(line: start.line, column: start.column, message: message)
            }
            if peek == UInt8(ascii: "-") { advance() }
            guard let first = peek, isDigit(first) else { throw fail("invalid number: '-' must be followed by a digit") }
            advance()
            if first == UInt8(ascii: "0"), let next = peek, isDigit(next) {
                throw fail("invalid number: leading zeros are not allowed")
            }
            while let d = peek, isDigit(d) { advance() }
            if peek == UInt8(ascii: ".") {
                advance()
                guard let d = peek, isDigit(d) else { throw fail("invalid number: expected a digit after '.'") }
                while let d = peek, isDigit(d) { advance() }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                advance()
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { advance() }
                guard let d = peek, isDigit(d) else { throw fail("invalid number: expected a digit in the exponent") }
                while let d = peek, isDigit(d) { advance() }
            }
            let literal = String(decoding: bytes[startIndex..<pos], as: UTF8.self)
            guard let value = Double(literal), value.isFinite else {
                throw fail("number \(literal) is too large")
            }
            if value == 0 {
                let mantissa = literal.prefix { $0 != "e" && $0 != "E" }
                if mantissa.contains(where: { $0 >= "1" && $0 <= "9" }) {
                    throw fail("number \(literal) is too small to represent")
                }
            }
        }

        /// Scans a run of letters, digits and underscores (a bare word such as `true`).
        mutating func scanWord() -> String {
            let startIndex = pos
            while let b = peek, isDigit(b) || b == UInt8(ascii: "_")
                || (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "z"))
            {
                advance()
            }
            return String(decoding: bytes[startIndex..<pos], as: UTF8.self)
        }

        private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
        private func isHexDigit(_ b: UInt8) -> Bool {
            isDigit(b) || (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "f"))
        }
    }
}

/// Where each value of a JSON document is written: key path → line and kind.
///
/// Key paths join object keys with `.` and array indices with `[n]`; the top-level value is `""`.
struct JSONValueMap: Sendable {
    struct Entry: Sendable, Equatable {
        var line: Int
        var kind: JSONSyntaxCheck.ValueKind
    }

    var entries: [String: Entry] = [:]

    func line(for keyPath: String) -> Int? { entries[keyPath]?.line }
    func kind(for keyPath: String) -> JSONSyntaxCheck.ValueKind? { entries[keyPath]?.kind }

    /// The key path a decoder's coding path points at, in this map's notation.
    static func keyPath(_ codingPath: [any CodingKey]) -> String {
        var result = ""
        for key in codingPath {
            if let index = key.intValue {
                result += "[\(index)]"
            } else {
                result += result.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return result
    }
}
