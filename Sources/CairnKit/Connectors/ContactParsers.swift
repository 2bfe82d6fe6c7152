import Foundation

/// A contact from a CRM export: the fields cairn keeps in a contact note.
struct ContactRecord: Equatable {
    var name = ""
    var email = ""
    var phone = ""
    var company = ""
    var role = ""
    var notes = ""

    /// Front matter keys the import manages, with their values.
    var fields: [(key: String, value: String)] {
        [("title", name.isEmpty ? email : name), ("email", email), ("phone", phone), ("company", company), ("role", role)]
    }

    /// What identifies the contact across imports: the e-mail address, else the name.
    var key: String { email.isEmpty ? "name:" + name.lowercased() : email.lowercased() }
}

enum ContactParseError: Error { case bad(item: String, reason: String) }

/// CSV (RFC 4180: quoted fields, `""` escapes, line breaks inside quotes; a UTF-8 byte order mark; `,` or `;`).
enum CSVContacts {
    static func parse(_ data: Data) throws(ContactParseError) -> (contacts: [(row: Int, contact: ContactRecord)], warnings: [String]) {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .bad(item: "the file", reason: "is not UTF-8 text (export it as CSV UTF-8)")
        }
        let firstLine = text.prefix { $0 != "\n" }
        let delimiter: Character = firstLine.filter { $0 == ";" }.count > firstLine.filter { $0 == "," }.count ? ";" : ","
        var rows: [(line: Int, fields: [String])] = []
        var field = ""
        var fields: [String] = []
        var quoted = false
        var line = 1
        var rowLine = 1
        var afterQuote = false
        var chars = Array(text)
        chars.append("\n")
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.count, chars[i + 1] == "\"" { field.append("\""); i += 1 } else { quoted = false; afterQuote = true }
                } else {
                    if c == "\n" || c == "\r\n" { line += 1 }
                    field.append(c)
                }
            } else if c == "\"" {
                if !field.trimmingCharacters(in: .whitespaces).isEmpty {
                    throw .bad(item: "line \(line)", reason: "a quote inside an unquoted field (quote the whole field and double the quote: \"\"\"\")")
                }
                field = ""
                quoted = true
            } else if c == delimiter {
                fields.append(field)
                field = ""
                afterQuote = false
            } else if c == "\n" || c == "\r\n" || c == "\r" {
                fields.append(field)
                field = ""
                if !(fields.count == 1 && fields[0].isEmpty) { rows.append((rowLine, fields)) }
                fields = []
                line += 1
                rowLine = line
                afterQuote = false
            } else {
                if afterQuote && !c.isWhitespace {
                    throw .bad(item: "line \(line)", reason: "text after a closing quote")
                }
                if !afterQuote { field.append(c) }
            }
            i += 1
        }
        if quoted { throw .bad(item: "line \(rowLine)", reason: "a quoted field is never closed") }
        guard let header = rows.first else { return ([], []) }
        let names = header.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        func column(_ candidates: [String]) -> Int? {
            for c in candidates { if let i = names.firstIndex(of: c) { return i } }
            return nil
        }
        let nameCol = column(["name", "full name", "display name", "contact", "contact name"])
        let firstCol = column(["first name", "given name", "firstname"])
        let lastCol = column(["last name", "family name", "surname", "lastname"])
        let emailCol = column(["email", "e-mail", "email address", "e-mail address", "e-mail 1 - value", "email 1"])
        let phoneCol = column(["phone", "mobile", "telephone", "phone number", "phone 1 - value"])
        let companyCol = column(["company", "organization", "organisation", "org", "account"])
        let roleCol = column(["title", "job title", "role", "position"])
        let notesCol = column(["notes", "note", "description"])
        guard nameCol != nil || firstCol != nil || emailCol != nil else {
            throw .bad(item: "line 1", reason: "no name or e-mail column in the header (\(names.joined(separator: ", ")))")
        }
        var contacts: [(row: Int, contact: ContactRecord)] = []
        var warnings: [String] = []
        for row in rows.dropFirst() {
            func value(_ col: Int?) -> String {
                guard let col, col < row.fields.count else { return "" }
                return MailNote.clean(row.fields[col])
            }
            var c = ContactRecord()
            c.name = value(nameCol)
            if c.name.isEmpty { c.name = [value(firstCol), value(lastCol)].filter { !$0.isEmpty }.joined(separator: " ") }
            c.email = value(emailCol)
            c.phone = value(phoneCol)
            c.company = value(companyCol)
            c.role = value(roleCol)
            if let notesCol, notesCol < row.fields.count { c.notes = row.fields[notesCol].trimmingCharacters(in: .whitespacesAndNewlines) }
            if c.name.isEmpty && c.email.isEmpty { warnings.append("line \(row.line): no name or e-mail; skipped"); continue }
            if row.fields.count != header.fields.count { warnings.append("line \(row.line): \(row.fields.count) fields, the header has \(header.fields.count)") }
            contacts.append((row.line, c))
        }
        return (contacts, warnings)
    }
}

/// vCard 3.0/4.0 (`BEGIN:VCARD` … `END:VCARD`, folded lines, `\n` `\,` `\;` escapes).
enum VCardContacts {
    static func parse(_ data: Data) throws(ContactParseError) -> (contacts: [(row: Int, contact: ContactRecord)], warnings: [String]) {
        guard let text = String(data: data, encoding: .utf8) else { throw .bad(item: "the file", reason: "is not UTF-8 text") }
        var contacts: [(row: Int, contact: ContactRecord)] = []
        var warnings: [String] = []
        var current: ContactRecord?
        var start = 0
        for (number, line) in ICalText.unfold(text) {
            let (name, _, value) = ICalText.property(line)
            switch name {
            case "BEGIN" where value.uppercased() == "VCARD":
                if current != nil { throw .bad(item: "the card starting on line \(start)", reason: "has no END:VCARD before line \(number)") }
                current = ContactRecord()
                start = number
            case "END" where value.uppercased() == "VCARD":
                guard let c = current else { throw .bad(item: "line \(number)", reason: "END:VCARD without BEGIN:VCARD") }
                if c.name.isEmpty && c.email.isEmpty { warnings.append("the card on line \(start): no name or e-mail; skipped") } else { contacts.append((start, c)) }
                current = nil
            case "FN": current?.name = MailNote.clean(ICalText.unescape(value))
            case "N":
                if current?.name.isEmpty == true {
                    let parts = value.split(separator: ";", omittingEmptySubsequences: false).map { ICalText.unescape(String($0)) }
                    current?.name = MailNote.clean([parts.count > 1 ? parts[1] : "", parts.first ?? ""].filter { !$0.isEmpty }.joined(separator: " "))
                }
            case "EMAIL": if current?.email.isEmpty == true { current?.email = MailNote.clean(value) }
            case "TEL": if current?.phone.isEmpty == true { current?.phone = MailNote.clean(value.replacingOccurrences(of: "tel:", with: "")) }
            case "ORG": current?.company = MailNote.clean(ICalText.unescape(String(value.split(separator: ";").first ?? "")))
            case "TITLE", "ROLE": if current?.role.isEmpty == true { current?.role = MailNote.clean(ICalText.unescape(value)) }
            case "NOTE": current?.notes = ICalText.unescape(value)
            default: break
            }
        }
        if current != nil { throw .bad(item: "the card starting on line \(start)", reason: "has no END:VCARD") }
        if contacts.isEmpty && warnings.isEmpty { throw .bad(item: "the file", reason: "holds no BEGIN:VCARD") }
        return (contacts, warnings)
    }
}

/// The line syntax iCalendar and vCard share (RFC 5545 §3.1).
enum ICalText {
    /// Logical lines (continuations joined) with the number of the physical line each starts on.
    static func unfold(_ text: String) -> [(Int, String)] {
        var out: [(Int, String)] = []
        var number = 0
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            number += 1
            var line = Substring(raw)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if (line.first == " " || line.first == "\t"), !out.isEmpty {
                out[out.count - 1].1 += line.dropFirst()
            } else if !line.isEmpty {
                out.append((number, String(line)))
            }
        }
        return out
    }

    /// `NAME;PARAM=x:value` → ("NAME", ["PARAM": "x"], "value").
    static func property(_ line: String) -> (String, [String: String], String) {
        var inQuotes = false
        var colon: String.Index?
        for i in line.indices {
            if line[i] == "\"" { inQuotes.toggle() } else if line[i] == ":" && !inQuotes { colon = i; break }
        }
        guard let colon else { return (line.uppercased(), [:], "") }
        let head = line[..<colon].split(separator: ";")
        var params: [String: String] = [:]
        for p in head.dropFirst() {
            let kv = p.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { params[kv[0].uppercased()] = kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
        }
        var name = head.first.map { String($0).uppercased() } ?? ""
        // vCard groups: `item1.EMAIL`.
        if let dot = name.lastIndex(of: ".") { name = String(name[name.index(after: dot)...]) }
        return (name, params, String(line[line.index(after: colon)...]))
    }

    static func unescape(_ s: String) -> String {
        var out = ""
        var escaped = false
        for c in s {
            if escaped {
                out.append(c == "n" || c == "N" ? "\n" : c)
                escaped = false
            } else if c == "\\" { escaped = true } else { out.append(c) }
        }
        return out
    }
}
