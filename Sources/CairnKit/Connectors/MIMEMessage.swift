import Foundation

/// An Internet message (RFC 5322 with MIME) reduced to what a mail note needs: decoded headers, one readable text
/// body and the attachments.
///
/// Parsing never fails and never traps: malformed structure, unknown or wrong charsets and broken encodings are
/// read as well as they can be and each problem is listed in `problems`, so the caller can name the message.
public struct MIMEMessage: Sendable {
    public struct Attachment: Sendable {
        /// The file name as the sender gave it (decoded), or nil.
        public let declaredName: String?
        public let contentType: String
        public let data: Data
    }

    /// Headers in order, names as written, values unfolded and RFC 2047-decoded.
    public let headers: [(name: String, value: String)]
    /// The text body: text/plain when there is one, else text/html converted to readable text.
    public let text: String
    /// Whether `text` came from HTML.
    public let textFromHTML: Bool
    public let attachments: [Attachment]
    public let problems: [String]

    public func header(_ name: String) -> String? {
        headers.first { Self.sameName($0.name, name) }?.value
    }

    /// Header names compared ignoring ASCII case (names are ASCII; Foundation's comparison bridges each one).
    static func sameName(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        for (x, y) in zip(a.utf8, b.utf8) where x != y {
            let lower = x | 0x20
            guard lower == y | 0x20, lower >= 0x61, lower <= 0x7A else { return false }
        }
        return true
    }

    /// `text` without white space at either end.
    static func trimmed<S: StringProtocol>(_ text: S) -> String {
        if let ascii = ASCIIText.trimmedWhitespace(text) { return ascii }
        guard let first = text.firstIndex(where: { !$0.isWhitespace }), let last = text.lastIndex(where: { !$0.isWhitespace }) else { return "" }
        return String(text[first...last])
    }

    /// Largest nesting of multiparts followed; deeper parts are skipped as a problem.
    static let maxDepth = 20

    public init(_ raw: Data) {
        var problems: [String] = []
        var plain: String?
        var html: String?
        var attachments: [Attachment] = []
        let bytes = [UInt8](raw)
        let (headerBytes, body) = Self.splitHeaders(bytes[...])
        let headers = Self.parseHeaders(headerBytes, problems: &problems)
        Self.walk(headers: headers, body: body, depth: 0, plain: &plain, html: &html, attachments: &attachments, problems: &problems)
        self.headers = headers
        if let plain, plain.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) {
            text = plain
            textFromHTML = false
        } else if let html {
            text = HTMLText.readable(html)
            textFromHTML = true
        } else {
            text = plain ?? ""
            textFromHTML = false
        }
        self.attachments = attachments
        self.problems = problems
    }

    // MARK: Structure

    /// Splits at the first empty line (CRLF or LF).
    static func splitHeaders(_ bytes: ArraySlice<UInt8>) -> (ArraySlice<UInt8>, ArraySlice<UInt8>) {
        var i = bytes.startIndex
        var lineStart = i
        while i < bytes.endIndex {
            if bytes[i] == 0x0A {
                let line = bytes[lineStart..<i]
                if line.isEmpty || line == [0x0D] { return (bytes[bytes.startIndex..<lineStart], bytes[(i + 1)...]) }
                lineStart = i + 1
            }
            i += 1
        }
        return (bytes, bytes[bytes.endIndex...])
    }

    /// Header lines (CRLF or LF ends; a line starting with a space or tab continues the previous one) as names and
    /// values, unfolded, trimmed and RFC 2047-decoded.
    ///
    /// Split on the UTF-8 bytes of the decoded text: a line feed (alone or after a carriage return) is always a
    /// character of its own, so these are the lines a split on `Character`s gives. A line of ASCII is cut and trimmed
    /// on bytes (in ASCII every byte is one character); another line goes through `parseHeaderLine` as characters.
    static func parseHeaders(_ bytes: ArraySlice<UInt8>, problems: inout [String]) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        var text = Charset.decode(bytes, charset: nil, problems: &problems, what: "headers")
        text.withUTF8 { utf8 in
            var start = 0
            while start <= utf8.count {
                var end = start
                var ascii = true
                while end < utf8.count && utf8[end] != 0x0A { ascii = ascii && utf8[end] < 0x80; end += 1 }
                let next = end + 1
                if end > start && end < utf8.count && utf8[end - 1] == 0x0D { end -= 1 }  // the CR of a CRLF
                if end > start && utf8[end - 1] == 0x0D { end -= 1 }  // a CR left before it
                defer { start = next }
                if end == start { continue }
                let line = UnsafeBufferPointer(rebasing: utf8[start..<end])
                guard ascii else {
                    parseHeaderLine(Substring(String(decoding: line, as: UTF8.self)), into: &result, problems: &problems)
                    continue
                }
                if line[0] == 0x20 || line[0] == 0x09 {
                    if let last = result.popLast() { result.append((last.name, last.value + " " + ASCIIText.trimmedWhitespace(line))) }
                    continue
                }
                guard let colon = line.firstIndex(of: 0x3A) else {
                    problems.append("a header line without ':' was ignored")
                    continue
                }
                let name = ASCIIText.trimmedWhitespace(UnsafeBufferPointer(rebasing: line[..<colon]))
                let value = ASCIIText.trimmedWhitespace(UnsafeBufferPointer(rebasing: line[(colon + 1)...]))
                result.append((name, value))
            }
        }
        return result.map { ($0.name, EncodedWords.decode($0.value, problems: &problems)) }
    }

    /// One header line that is not all ASCII (its line end removed), as characters.
    static func parseHeaderLine(_ line: Substring, into result: inout [(name: String, value: String)], problems: inout [String]) {
        if line.first == " " || line.first == "\t" {
            if let last = result.popLast() { result.append((last.name, last.value + " " + trimmed(line))) }
            return
        }
        guard let colon = line.firstIndex(of: ":") else {
            problems.append("a header line without ':' was ignored")
            return
        }
        result.append((trimmed(line[..<colon]), trimmed(line[line.index(after: colon)...])))
    }

    /// Parses `type/subtype; key=value; ...` into a lowercased type and lowercased-key parameters.
    static func contentParameters(_ value: String?) -> (type: String, params: [String: String]) {
        guard let value else { return ("text/plain", [:]) }
        var parts: [Substring] = []
        var quoted = false
        let ascii = value.utf8.allSatisfy { $0 < 0x80 }
        if ascii {
            // ASCII: one character per byte, so the bytes split where the characters below do.
            let utf8 = value.utf8
            var start = utf8.startIndex
            var i = start
            while i != utf8.endIndex {
                let b = utf8[i]
                if b == 0x22 { quoted.toggle() } else if b == 0x3B && !quoted { parts.append(value[start..<i]); start = utf8.index(after: i) }
                i = utf8.index(after: i)
            }
            parts.append(value[start...])
        } else {
            var current = ""
            for ch in value {
                if ch == "\"" { quoted.toggle(); current.append(ch) } else if ch == ";" && !quoted { parts.append(Substring(current)); current = "" } else { current.append(ch) }
            }
            parts.append(Substring(current))
        }
        let type = parts.first.map(ASCIIText.trimmedSpacesLowercasedAnyText) ?? "text/plain"
        var params: [String: String] = [:]
        for p in parts.dropFirst() {
            guard let eq = ascii ? p.utf8.firstIndex(of: 0x3D) : p.firstIndex(of: "=") else { continue }
            var key = ASCIIText.trimmedSpacesLowercasedAnyText(p[..<eq])
            var v = ASCIIText.trimmedSpaces(p[p.index(after: eq)...])
            if v.hasPrefix("\"") && v.hasSuffix("\"") && v.count >= 2 { v = String(v.dropFirst().dropLast()) }
            // RFC 2231 `filename*=utf-8''a%20b` (continuations are rare in practice and not joined).
            if key.hasSuffix("*") {
                key.removeLast()
                let pieces = v.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
                if pieces.count == 3 { v = String(pieces[2]).removingPercentEncoding ?? String(pieces[2]) }
            }
            params[key] = v
        }
        return (type.isEmpty ? "text/plain" : type, params)
    }

    private static func walk(headers: [(name: String, value: String)], body: ArraySlice<UInt8>, depth: Int,
                             plain: inout String?, html: inout String?, attachments: inout [Attachment], problems: inout [String]) {
        func header(_ n: String) -> String? { headers.first { sameName($0.name, n) }?.value }
        let (type, params) = contentParameters(header("Content-Type"))
        let disposition = contentParameters(header("Content-Disposition"))
        if type.hasPrefix("multipart/") {
            guard depth < maxDepth else { problems.append("multiparts nested deeper than \(maxDepth) levels were skipped"); return }
            guard let boundary = params["boundary"], !boundary.isEmpty else {
                problems.append("a \(type) part has no boundary; its content was read as plain text")
                if plain == nil { plain = Charset.decode(body, charset: nil, problems: &problems, what: "body") }
                return
            }
            let parts = splitMultipart(body, boundary: boundary, problems: &problems)
            let alternative = type == "multipart/alternative"
            for part in parts {
                let (h, b) = splitHeaders(part)
                var partProblems: [String] = []
                let partHeaders = parseHeaders(h, problems: &partProblems)
                problems += partProblems
                walk(headers: partHeaders, body: b, depth: depth + 1, plain: &plain, html: &html, attachments: &attachments, problems: &problems)
                _ = alternative
            }
            return
        }
        let data = TransferEncoding.decode(body, encoding: header("Content-Transfer-Encoding"), problems: &problems)
        let name = disposition.params["filename"] ?? params["name"]
        let isAttachment = disposition.type == "attachment" || (name != nil && !type.hasPrefix("text/"))
            || (!type.hasPrefix("text/") && !type.hasPrefix("message/"))
        if isAttachment {
            attachments.append(Attachment(declaredName: name.map { EncodedWords.decode($0, problems: &problems) }, contentType: type, data: data))
            return
        }
        let text = Charset.decode([UInt8](data)[...], charset: params["charset"], problems: &problems, what: type)
        if type == "text/html" {
            if html == nil { html = text }
        } else if type.hasPrefix("text/") {
            if plain == nil { plain = text } else if disposition.type != "attachment" { plain! += "\n\n" + text }
        } else if type.hasPrefix("message/") {
            attachments.append(Attachment(declaredName: name ?? "message.eml", contentType: type, data: data))
        }
    }

    static func splitMultipart(_ body: ArraySlice<UInt8>, boundary: String, problems: inout [String]) -> [ArraySlice<UInt8>] {
        let delimiter = Array(("--" + boundary).utf8)
        var parts: [ArraySlice<UInt8>] = []
        var lineStart = body.startIndex
        var partStart: Int?
        var closed = false
        var i = body.startIndex
        while i <= body.endIndex {
            if i == body.endIndex || body[i] == 0x0A {
                let line = body[lineStart..<i]
                if line.starts(with: delimiter) {
                    let rest = line.dropFirst(delimiter.count)
                    let isClose = rest.starts(with: [0x2D, 0x2D])
                    if isClose || rest.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                        if let start = partStart {
                            // The CRLF before a delimiter belongs to the delimiter.
                            var end = lineStart
                            if end > start, body[end - 1] == 0x0A { end -= 1 }
                            if end > start, body[end - 1] == 0x0D { end -= 1 }
                            parts.append(body[start..<max(start, end)])
                        }
                        if isClose { closed = true; break }
                        partStart = min(i + 1, body.endIndex)
                    }
                }
                lineStart = i + 1
            }
            i += 1
        }
        if !closed {
            if let start = partStart, start < body.endIndex {
                parts.append(body[start...])
            }
            problems.append(partStart == nil ? "no part starts with the declared boundary" : "the multipart has no closing boundary; the last part was read to the end")
        }
        return parts
    }
}

/// Content-Transfer-Encoding decoding.
enum TransferEncoding {
    static func decode(_ body: ArraySlice<UInt8>, encoding: String?, problems: inout [String]) -> Data {
        switch encoding.map(ASCIIText.trimmedSpacesLowercasedAnyText) {
        case "base64":
            let cleaned = body.filter { !($0 == 0x0A || $0 == 0x0D || $0 == 0x20 || $0 == 0x09) }
            var text = String(decoding: cleaned, as: UTF8.self)
            text = String(text.prefix { $0 != "=" })
            while text.count % 4 != 0 { text += "=" }
            if let data = Data(base64Encoded: text) { return data }
            problems.append("a base64 part is not valid base64; it was kept as written")
            return Data(body)
        case "quoted-printable":
            return quotedPrintable(body)
        default:
            return Data(body)
        }
    }

    static func quotedPrintable(_ body: ArraySlice<UInt8>) -> Data {
        var out = Data()
        out.reserveCapacity(body.count)
        var i = body.startIndex
        func hex(_ b: UInt8) -> UInt8? {
            switch b {
            case 0x30...0x39: return b - 0x30
            case 0x41...0x46: return b - 0x41 + 10
            case 0x61...0x66: return b - 0x61 + 10
            default: return nil
            }
        }
        while i < body.endIndex {
            let b = body[i]
            if b == 0x3D {
                if i + 1 < body.endIndex, body[i + 1] == 0x0A { i += 2; continue }
                if i + 2 < body.endIndex, body[i + 1] == 0x0D, body[i + 2] == 0x0A { i += 3; continue }
                if i + 2 < body.endIndex, let h = hex(body[i + 1]), let l = hex(body[i + 2]) {
                    out.append(h << 4 | l)
                    i += 3
                    continue
                }
            }
            out.append(b)
            i += 1
        }
        return out
    }
}

/// Text in a declared charset; unknown charsets and invalid bytes are read leniently and reported.
enum Charset {
    static func decode(_ bytes: ArraySlice<UInt8>, charset: String?, problems: inout [String], what: String) -> String {
        let name = charset.map(ASCIIText.trimmedSpacesLowercasedAnyText)
        switch name {
        case nil, "utf-8", "utf8", "us-ascii", "ascii", "":
            if let s = String(validating: bytes, as: UTF8.self) { return s }
            if name != nil && name != "us-ascii" && name != "ascii" {
                problems.append("\(what) declares \(name!) but is not valid UTF-8; read as Latin-1")
            } else if name == nil && what != "headers" {
                problems.append("\(what) has no charset and is not UTF-8; read as Latin-1")
            }
            return latin1(bytes)
        case "iso-8859-1", "latin1", "iso_8859-1", "l1":
            return latin1(bytes)
        case "windows-1252", "cp1252":
            return windows1252(bytes)
        case "iso-8859-15", "latin9":
            return String(latin1(bytes).unicodeScalars.map { scalar -> Character in
                switch scalar.value {
                case 0xA4: return "€"
                case 0xA6: return "Š"
                case 0xA8: return "š"
                case 0xB4: return "Ž"
                case 0xB8: return "ž"
                case 0xBC: return "Œ"
                case 0xBD: return "œ"
                case 0xBE: return "Ÿ"
                default: return Character(scalar)
                }
            })
        case "utf-16", "utf-16le", "utf-16be":
            if let s = String(data: Data(bytes), encoding: name == "utf-16be" ? .utf16BigEndian : name == "utf-16le" ? .utf16LittleEndian : .utf16) { return s }
            problems.append("\(what) is not valid \(name!); read as Latin-1")
            return latin1(bytes)
        default:
            if let s = String(validating: bytes, as: UTF8.self) {
                problems.append("\(what) declares the unknown charset '\(name!)'; read as UTF-8")
                return s
            }
            problems.append("\(what) declares the unknown charset '\(name!)'; read as Latin-1")
            return latin1(bytes)
        }
    }

    static func latin1(_ bytes: ArraySlice<UInt8>) -> String {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    private static let cp1252: [UInt32] = [0x20AC, 0x81, 0x201A, 0x192, 0x201E, 0x2026, 0x2020, 0x2021, 0x2C6, 0x2030, 0x160, 0x2039, 0x152, 0x8D, 0x17D, 0x8F,
                                           0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x2DC, 0x2122, 0x161, 0x203A, 0x153, 0x9D, 0x17E, 0x178]

    static func windows1252(_ bytes: ArraySlice<UInt8>) -> String {
        String(String.UnicodeScalarView(bytes.map { b in
            (0x80...0x9F).contains(b) ? Unicode.Scalar(cp1252[Int(b) - 0x80]) ?? Unicode.Scalar(b) : Unicode.Scalar(b)
        }))
    }
}

/// RFC 2047 encoded words (`=?utf-8?B?...?=`, `=?iso-8859-1?Q?...?=`) in header values.
enum EncodedWords {
    static func decode(_ value: String, problems: inout [String]) -> String {
        // "=?" looked for in the bytes (Foundation's `contains` bridges the string); the loop below finds the same.
        var previous: UInt8 = 0
        guard value.utf8.contains(where: { b in defer { previous = b }; return previous == 0x3D && b == 0x3F }) else { return value }
        var out = ""
        var rest = Substring(value)
        var lastWasWord = false
        while let start = rest.range(of: "=?") {
            let before = rest[..<start.lowerBound]
            let afterStart = rest[start.upperBound...]
            let pieces = afterStart.split(separator: "?", maxSplits: 3, omittingEmptySubsequences: false)
            guard pieces.count == 4, pieces[3].hasPrefix("="), pieces[1].count == 1 else {
                out += rest[..<start.upperBound]
                rest = afterStart
                lastWasWord = false
                continue
            }
            // Whitespace between two encoded words is not shown.
            if !(lastWasWord && before.allSatisfy(\.isWhitespace)) { out += before }
            let charset = pieces[0].split(separator: "*").first.map(String.init) ?? ""
            let payload = pieces[2]
            let bytes: [UInt8]
            if pieces[1].uppercased() == "B" {
                var t = String(payload)
                while t.count % 4 != 0 { t += "=" }
                bytes = Data(base64Encoded: t).map { [UInt8]($0) } ?? Array(payload.utf8)
            } else {
                bytes = [UInt8](TransferEncoding.quotedPrintable(ArraySlice(Array(payload.replacingOccurrences(of: "_", with: " ").utf8))))
            }
            out += Charset.decode(bytes[...], charset: charset, problems: &problems, what: "a header")
            rest = pieces[3].dropFirst()
            lastWasWord = true
        }
        out += rest
        return out
    }
}
