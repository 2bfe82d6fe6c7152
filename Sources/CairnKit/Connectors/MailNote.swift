import CairnGit
import Foundation

/// A fetched message as a note `inbox/mail/[<folder>/]YYYY/MM/<id>.md` and its attachments in `<id>/` beside it — or,
/// when the vault sets Obsidian's "Default location for new attachments" (`attachmentFolderPath` in
/// `.obsidian/app.json`), where Obsidian would put them, named as Obsidian names a file whose name is taken
/// (`invoice 1.pdf`), and listed in the note's `attachments:` property as links in the vault's link format.
struct MailNote {
    let path: String
    let files: [(path: String, data: Data)]
    let warnings: [String]

    /// The vault folder for messages of `folder` (INBOX: `inbox/mail`, another folder F: `inbox/mail/<slug F>`).
    static func folderPath(_ folder: String) -> String {
        folder.uppercased() == "INBOX" ? "inbox/mail" : "inbox/mail/" + Slug.make(folder)
    }

    /// Where attachments go when the vault says: its settings, and every file of the vault so far (this pull's
    /// attachments are added as they are placed).
    struct AttachmentPlacement {
        let settings: ObsidianSettings
        var files: LinkResolver
    }

    static func make(raw: Data, folder: String, uid: UInt64, connector: String, maxAttachmentBytes: Int,
                     placement: inout AttachmentPlacement?) -> MailNote {
        let item = "\(folder) UID \(uid)"
        let message = MIMEMessage(raw)
        var warnings = message.problems.map { "\(item): \($0)" }
        let messageID = message.header("Message-ID").map(clean)
        let key = try? Repository.hashBlob(Data((messageID ?? "").isEmpty ? raw : Data(messageID!.utf8)))
        let hash = String((key?.hex ?? "0000000000").prefix(10))
        let date = message.header("Date").flatMap(MailDate.parse)
        let subject = clean(message.header("Subject") ?? "")
        let slug = trimmedDashes(String(Slug.make(subject.isEmpty ? "no-subject" : subject).prefix(40)))
        let folderPath = folderPath(folder)
        let dir: String
        let id: String
        if let date {
            let c = CivilDate.civil(days: Int((date.timeIntervalSince1970 / 86_400).rounded(.down)))
            dir = folderPath + "/" + CivilDate.padded(c.year, 4) + "/" + CivilDate.padded(c.month, 2)
            id = CivilDate.padded(c.day, 2) + "-" + slug + "-" + hash
        } else {
            if message.header("Date") != nil { warnings.append("\(item): the Date header is not a date; filed under undated/") }
            dir = folderPath + "/undated"
            id = slug + "-" + hash
        }
        let path = dir + "/" + id + ".md"
        // Attachments: safe names, under the size limit, beside the note (or where the vault puts attachments).
        var files: [(path: String, data: Data)] = []
        var kept: [String] = []
        var placed: [String] = []
        var skipped: [String] = []
        var used = Set<String>()
        for (n, a) in message.attachments.enumerated() {
            var name = AttachmentName.safe(a.declaredName, index: n + 1, contentType: a.contentType)
            if used.contains(name.lowercased()) {
                let ext = (name as NSString).pathExtension
                let stem = (name as NSString).deletingPathExtension
                var k = 2
                while used.contains("\(stem)-\(k)\(ext.isEmpty ? "" : "." + ext)".lowercased()) { k += 1 }
                name = "\(stem)-\(k)\(ext.isEmpty ? "" : "." + ext)"
            }
            used.insert(name.lowercased())
            if a.data.count > maxAttachmentBytes {
                skipped.append("\(name) (\(a.data.count) bytes, over max_attachment_bytes \(maxAttachmentBytes))")
                warnings.append("\(item): attachment \(name) is \(a.data.count) bytes, over the limit of \(maxAttachmentBytes); not imported")
                continue
            }
            kept.append(name)
            if var spot = placement {
                let folder = spot.settings.attachmentFolder(forNote: path)
                let stem = (name as NSString).deletingPathExtension, ext = (name as NSString).pathExtension
                var file = (folder.isEmpty ? "" : folder + "/") + name
                var k = 1
                while spot.files.contains(file) {
                    file = (folder.isEmpty ? "" : folder + "/") + stem + " \(k)" + (ext.isEmpty ? "" : "." + ext)
                    k += 1
                }
                spot.files.insert(file)
                placement = spot
                placed.append(file)
                files.append((file, a.data))
            } else {
                files.append((dir + "/" + id + "/" + name, a.data))
            }
        }
        var fm: [(String, String)] = [
            ("title", subject.isEmpty ? "(no subject)" : subject),
            ("from", clean(message.header("From") ?? "")),
            ("to", clean(message.header("To") ?? "")),
        ]
        if let cc = message.header("Cc") { fm.append(("cc", clean(cc))) }
        fm.append(("subject", subject))
        if let date { fm.append(("date", ISOTime.string(date))); fm.append(("created", FrontMatter.dayString(date))) }
        if let messageID { fm.append(("message-id", messageID)) }
        fm.append(("thread", thread(message, messageID: messageID)))
        fm.append(("folder", folder))
        fm.append(("source", "imap:\(connector)"))
        let body = cleanBody(message.text)
        var text = "---\n"
        text.reserveCapacity(body.utf8.count + 1024)  // the note grows in place, not copied at each append
        for (k, v) in fm {
            text += k
            text += ": "
            text += FrontMatter.yamlScalar(v)
            text += "\n"
        }
        if let placement, !placed.isEmpty {
            // Properties hold wikilinks only (Obsidian reads no Markdown links there).
            text += "attachments:\n" + placed.map {
                "  - \(FrontMatter.yamlScalar(placement.settings.newLink(to: $0, from: path, wikilink: true, resolver: placement.files)))\n"
            }.joined()
        } else if !kept.isEmpty {
            text += "attachments:\n" + kept.map { "  - \(FrontMatter.yamlScalar(id + "/" + $0))\n" }.joined()
        }
        if !skipped.isEmpty { text += "attachments_skipped:\n" + skipped.map { "  - \(FrontMatter.yamlScalar($0))\n" }.joined() }
        if message.textFromHTML { text += "body: converted from HTML\n" }
        text += "---\n\n"
        if body.isEmpty {
            text += "(empty message)\n"
        } else {
            text += body
            text += "\n"
        }
        files.insert((path, Data(text.utf8)), at: 0)
        return MailNote(path: path, files: files, warnings: warnings)
    }

    /// `text` without `-` at either end (what `trimmingCharacters(in: CharacterSet(charactersIn: "-"))` gives, without
    /// Foundation: the dashes are single scalars).
    static func trimmedDashes(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != "-" }), let last = scalars.lastIndex(where: { $0 != "-" }) else { return "" }
        return String(scalars[first...last])
    }

    /// The thread a message belongs to: the first id in References, else In-Reply-To, else its own Message-ID.
    static func thread(_ m: MIMEMessage, messageID: String?) -> String {
        if let refs = m.header("References"), let first = refs.split(whereSeparator: \.isWhitespace).first { return clean(String(first)) }
        if let reply = m.header("In-Reply-To"), !reply.isEmpty { return clean(reply) }
        return messageID ?? ""
    }

    /// One line of text: control characters dropped, whitespace runs collapsed, at most 1,000 characters.
    ///
    /// One pass over the scalars (ASCII ones without a Unicode property lookup), instead of a Character per scalar,
    /// a split and a join.
    static func clean(_ s: String) -> String {
        if let ascii = cleanASCII(s) { return ascii }
        return cleanGeneral(s)
    }

    /// `clean` for ASCII text, on bytes (there every byte is one character, and the blanks are the bytes up to
    /// space and DEL); nil for other text.
    static func cleanASCII(_ s: String) -> String? {
        s.utf8.withContiguousStorageIfAvailable { utf8 -> String? in
            guard ASCIIText.isASCII(utf8) else { return nil }
            var out: [UInt8] = []
            out.reserveCapacity(min(utf8.count, 1000))
            var pendingSpace = false
            for b in utf8 {
                if b <= 0x20 || b == 0x7F { pendingSpace = !out.isEmpty; continue }
                if pendingSpace { out.append(0x20); pendingSpace = false }
                out.append(b)
                if out.count > 1000 { break }
            }
            if out.count > 1000 { out.removeSubrange(1000...) }
            return String(decoding: out, as: UTF8.self)
        } ?? nil
    }

    static func cleanGeneral(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for u in s.unicodeScalars {
            let blank: Bool
            if u.isASCII {
                blank = u.value <= 0x20 || u.value == 0x7F
            } else {
                let c = u.properties.generalCategory
                blank = c == .control || c == .format || u.properties.isWhitespace
            }
            if blank { pendingSpace = !out.isEmpty; continue }
            if pendingSpace { out.append(" "); pendingSpace = false }
            out.append(u)
        }
        let text = String(out)
        return text.count > 1000 ? String(text.prefix(1000)) : text
    }

    /// Body text with CRLF and CR as LF, no control characters other than tab and newline, and no white space at
    /// either end.
    ///
    /// One pass over the UTF-8 bytes: the control characters (C0, DEL and C1) are the bytes below 0x20, 0x7F, and
    /// the pairs C2 80–C2 9F, so nothing needs decoding (Foundation's replace and trim bridge the whole body
    /// through UTF-16 several times, most of a pull's CPU time before this).
    static func cleanBody(_ s: String) -> String {
        var s = s
        var count = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: s.utf8.count) { out, initialized in
            count = s.withUTF8 { utf8 in
                var n = 0
                var afterCR = false
                var heldC2 = false
                for b in utf8 {
                    // Printable ASCII (nearly every byte of a body) is kept as it is.
                    if b >= 0x20 && b < 0x7F && !heldC2 { out[n] = b; n += 1; afterCR = false; continue }
                    if heldC2 {
                        heldC2 = false
                        if b >= 0x80 && b <= 0x9F { continue } // a C1 control, dropped with its lead byte
                        out[n] = 0xC2; n += 1
                    }
                    if b == 0x0D { out[n] = 0x0A; n += 1; afterCR = true; continue }
                    if b == 0x0A && afterCR { afterCR = false; continue }
                    afterCR = false
                    if b == 0xC2 { heldC2 = true; continue }
                    if (b < 0x20 && b != 0x09 && b != 0x0A) || b == 0x7F { continue }
                    out[n] = b; n += 1
                }
                if heldC2 { out[n] = 0xC2; n += 1 }
                return n
            }
            initialized = count
        }
        // White space at the ends: ASCII bytes are single scalars; at a non-ASCII byte the scalars decide.
        var first = 0, end = count
        while first < end && ASCIIText.isWhitespace(bytes[first]) { first += 1 }
        while end > first && ASCIIText.isWhitespace(bytes[end - 1]) { end -= 1 }
        if first == end { return "" }
        if bytes[first] < 0x80 && bytes[end - 1] < 0x80 {
            return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[first..<end]), as: UTF8.self) }
        }
        let text = bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[..<count]), as: UTF8.self) }
        let scalars = text.unicodeScalars
        guard let firstScalar = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let lastScalar = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[firstScalar...lastScalar])
    }
}

/// File names for attachments that are safe to write: one path component, no control or invisible format
/// characters, no leading dot, look-alike separators folded (NFKC), at most 100 bytes with the extension kept.
enum AttachmentName {
    static func safe(_ declared: String?, index: Int, contentType: String) -> String {
        var name = (declared ?? "").precomposedStringWithCompatibilityMapping
        name = String(name.unicodeScalars.map { s -> Character in
            let c = s.properties.generalCategory
            if c == .control || c == .format || c == .lineSeparator || c == .paragraphSeparator { return "_" }
            if "/\\:*?\"<>|".unicodeScalars.contains(s) { return "_" }
            return Character(s)
        })
        name = name.trimmingCharacters(in: .whitespaces)
        while name.hasPrefix(".") || name.hasPrefix("_") { name.removeFirst() }
        if name.isEmpty || name.allSatisfy({ $0 == "." || $0 == "_" }) {
            let ext = contentType.split(separator: "/").last.map { "." + $0.prefix(8) } ?? ""
            name = "attachment-\(index)\(ext)"
        }
        if name.utf8.count > 100 {
            let ext = String((name as NSString).pathExtension.prefix(10))
            var stem = (name as NSString).deletingPathExtension
            while stem.utf8.count > 100 - ext.utf8.count - 1 { stem.removeLast() }
            name = ext.isEmpty ? stem : stem + "." + ext
        }
        return name
    }
}

/// RFC 5322 dates (`Tue, 1 Jul 2003 10:52:37 +0200`), leniently.
enum MailDate {
    static func parse(_ text: String) -> Date? {
        var t = MIMEMessage.trimmed(text)
        // ASCII (nearly every Date header): searched and split on bytes, where each byte is one character.
        let ascii = t.utf8.allSatisfy { $0 < 0x80 }
        if let paren = ascii ? t.utf8.firstIndex(of: 0x28) : t.firstIndex(of: "(") { t = MIMEMessage.trimmed(t[..<paren]) }
        if let comma = ascii ? t.utf8.firstIndex(of: 0x2C) : t.firstIndex(of: ",") { t = MIMEMessage.trimmed(t[t.index(after: comma)...]) }
        let parts = ascii ? asciiFields(t[...], separatedBy: ASCIIText.isWhitespace) : t.split(whereSeparator: \.isWhitespace)
        guard parts.count >= 4, let day = Int(parts[0]), var year = Int(parts[2]) else { return nil }
        guard let month = months.firstIndex(of: parts[1].prefix(3).lowercased()) else { return nil }
        if year < 50 { year += 2000 } else if year < 100 { year += 1900 }
        let hms = (ascii ? asciiFields(parts[3], separatedBy: { $0 == 0x3A }) : parts[3].split(separator: ":")).compactMap { Int($0) }
        guard hms.count >= 2 else { return nil }
        var offset = 0
        if parts.count >= 5 {
            let z = parts[4]
            if let sign = z.first, sign == "+" || sign == "-", let v = Int(z.dropFirst()), z.count == 5 {
                offset = (v / 100 * 3600 + v % 100 * 60) * (sign == "-" ? -1 : 1)
            }
        }
        guard (1...31).contains(day), (0...23).contains(hms[0]), (0...59).contains(hms[1]), (0...9999).contains(year) else { return nil }
        // A day past the month's end rolls over into the next month, as Calendar's lenient dates do.
        let seconds = CivilDate.days(year: year, month: month + 1, day: day) * 86_400 + hms[0] * 3600 + hms[1] * 60 + (hms.count > 2 ? hms[2] : 0)
        return Date(timeIntervalSince1970: TimeInterval(seconds - offset))
    }

    static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    /// The non-empty runs of `text` (ASCII) between bytes that `isSeparator` accepts: what `split` gives.
    static func asciiFields(_ text: Substring, separatedBy isSeparator: (UInt8) -> Bool) -> [Substring] {
        var fields: [Substring] = []
        let utf8 = text.utf8
        var start = utf8.startIndex
        var i = start
        while i != utf8.endIndex {
            if isSeparator(utf8[i]) {
                if start != i { fields.append(text[start..<i]) }
                start = utf8.index(after: i)
            }
            i = utf8.index(after: i)
        }
        if start != utf8.endIndex { fields.append(text[start...]) }
        return fields
    }
}

/// Proleptic Gregorian dates as days since 1970-01-01 and back (H. Hinnant's `days_from_civil` and
/// `civil_from_days`): what a mail's date and folder, a cron schedule and log's dates need, without a Foundation
/// `Calendar` per value.
public enum CivilDate {
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    public static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `n` in decimal, zero-padded to `width` digits.
    static func padded(_ n: Int, _ width: Int) -> String {
        let text = String(n)
        return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
    }
}
