import CairnGit
import Foundation

/// One VEVENT.
struct CalendarEvent {
    var uid = ""
    var summary = ""
    var start: Date?
    var allDay = false
    var end: Date?
    var startText = ""
    var location = ""
    var description = ""
    var organizer = ""
    var attendees: [String] = []
    var status = ""
}

/// iCalendar (RFC 5545) events; invalid input is refused with the line of the problem.
enum ICalendar {
    static func parse(_ text: String) throws(ContactParseError) -> [CalendarEvent] {
        let lines = ICalText.unfold(text)
        guard lines.contains(where: { $0.1.uppercased() == "BEGIN:VCALENDAR" }) else {
            throw .bad(item: "line 1", reason: "not iCalendar (no BEGIN:VCALENDAR)")
        }
        var events: [CalendarEvent] = []
        var current: CalendarEvent?
        var startLine = 0
        var nested = 0
        for (number, line) in lines {
            let (name, params, value) = ICalText.property(line)
            if name == "BEGIN" {
                if value.uppercased() == "VEVENT" {
                    if current != nil { throw .bad(item: "the event on line \(startLine)", reason: "has no END:VEVENT before line \(number)") }
                    current = CalendarEvent()
                    startLine = number
                } else if current != nil { nested += 1 }
                continue
            }
            if name == "END" {
                if value.uppercased() == "VEVENT" {
                    guard let e = current else { throw .bad(item: "line \(number)", reason: "END:VEVENT without BEGIN:VEVENT") }
                    guard e.start != nil else { throw .bad(item: "the event on line \(startLine)\(e.uid.isEmpty ? "" : " (UID \(e.uid))")", reason: "has no valid DTSTART") }
                    events.append(e)
                    current = nil
                } else if current != nil { nested -= 1 }
                continue
            }
            guard current != nil, nested == 0 else { continue }
            switch name {
            case "UID": current?.uid = value
            case "SUMMARY": current?.summary = MailNote.clean(ICalText.unescape(value))
            case "LOCATION": current?.location = MailNote.clean(ICalText.unescape(value))
            case "DESCRIPTION": current?.description = ICalText.unescape(value)
            case "STATUS": current?.status = value
            case "ORGANIZER": current?.organizer = MailNote.clean((params["CN"].map { "\($0) " } ?? "") + "<" + value.replacingOccurrences(of: "mailto:", with: "", options: .caseInsensitive) + ">")
            case "ATTENDEE": current?.attendees.append(MailNote.clean((params["CN"].map { "\($0) " } ?? "") + "<" + value.replacingOccurrences(of: "mailto:", with: "", options: .caseInsensitive) + ">"))
            case "DTSTART", "DTEND":
                guard let (date, allDay) = parseDate(value, params: params) else {
                    throw .bad(item: "line \(number)", reason: "\(name) '\(value.prefix(40))' is not an iCalendar date or date-time")
                }
                if name == "DTSTART" { current?.start = date; current?.allDay = allDay; current?.startText = value } else { current?.end = date }
            default: break
            }
        }
        if current != nil { throw .bad(item: "the event on line \(startLine)", reason: "has no END:VEVENT") }
        return events
    }

    /// `20260305`, `20260305T100000Z`, or floating / TZID local times (read as UTC; the TZID is not resolved).
    static func parseDate(_ value: String, params: [String: String]) -> (Date, Bool)? {
        let v = value.trimmingCharacters(in: .whitespaces)
        let digits = v.filter(\.isNumber)
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        if v.count == 8, digits.count == 8 {
            guard let y = Int(v.prefix(4)), let m = Int(v.dropFirst(4).prefix(2)), let d = Int(v.suffix(2)), (1...12).contains(m), (1...31).contains(d),
                  let date = cal.date(from: DateComponents(year: y, month: m, day: d)) else { return nil }
            return (date, true)
        }
        guard v.count >= 15, v[v.index(v.startIndex, offsetBy: 8)] == "T", digits.count == 14,
              let y = Int(v.prefix(4)), let mo = Int(v.dropFirst(4).prefix(2)), let d = Int(v.dropFirst(6).prefix(2)),
              let h = Int(v.dropFirst(9).prefix(2)), let mi = Int(v.dropFirst(11).prefix(2)), let s = Int(v.dropFirst(13).prefix(2)),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, s < 61 else { return nil }
        var tz = TimeZone(identifier: "UTC")!
        if !v.hasSuffix("Z"), let id = params["TZID"], let zone = TimeZone(identifier: id) { tz = zone }
        cal.timeZone = tz
        guard let date = cal.date(from: DateComponents(year: y, month: mo, day: d, hour: h, minute: mi, second: s)) else { return nil }
        return (date, false)
    }
}

extension Vault {
    /// Imports events from an iCalendar file/URL (`kind: ical`) or a CalDAV collection (`kind: caldav`) as dated notes
    /// in `inbox/calendar/YYYY/MM/` (or `path:`). An event keeps its note across imports (by UID); a changed event
    /// updates it unless the operator edited the note since the last import.
    func pullCalendar(_ definition: ConnectorDefinition, state: ConnectorState, tree: OID, now: Date,
                      environment: ConnectorEnvironment) throws -> ImportBatch {
        var events: [CalendarEvent] = []
        let item = definition.kind == .caldav ? (definition.url ?? "") : (definition.source ?? "")
        func parse(_ text: String, _ what: String) throws {
            do { events += try ICalendar.parse(text) } catch {
                guard case .bad(let where_, let reason) = error else { throw error }
                throw ConnectorError.badItem(connector: definition.name, item: "\(what): \(where_)", reason: reason)
            }
        }
        if definition.kind == .caldav {
            for (href, text) in try caldavCalendarData(definition, environment: environment) { try parse(text, href) }
        } else {
            let data = try readSource(definition, environment: environment)
            guard let text = String(data: data, encoding: .utf8) else {
                throw ConnectorError.badItem(connector: definition.name, item: item, reason: "is not UTF-8 text")
            }
            try parse(text, item)
        }
        let folder = definition.destination ?? "inbox/calendar"
        var batch = ImportBatch(state: state)
        var imported = state.imported ?? [:]
        var pathsByUID: [String: String] = [:]
        for (path, fields) in imported { if let k = fields["uid"] { pathsByUID[k] = path } }
        var seen = Set<String>()
        for e in events {
            let uid = e.uid.isEmpty ? "\(e.summary)@\(e.startText)" : e.uid
            guard seen.insert(uid).inserted, let start = e.start else { continue }
            var cal = Calendar(identifier: .gregorian)
            cal.timeZone = TimeZone(identifier: "UTC")!
            let c = cal.dateComponents([.year, .month, .day], from: start)
            let hash = String(((try? Repository.hashBlob(Data(uid.utf8)))?.hex ?? "0000000000").prefix(8))
            let path = pathsByUID[uid] ?? String(format: "%@/%04d/%02d/%02d-", folder, c.year ?? 1970, c.month ?? 1, c.day ?? 1)
                + String(Slug.make(e.summary.isEmpty ? "event" : e.summary).prefix(40)) + "-" + hash + ".md"
            let text = render(e, uid: uid, connector: definition.name)
            let newHash = (try? Repository.hashBlob(Data(text.utf8)))?.hex ?? ""
            if let entry = try repository.entry(at: path, in: tree) {
                if entry.oid.hex == newHash { batch.skipped += 1; continue }
                if let last = imported[path]?["blob"], last != entry.oid.hex {
                    batch.warnings.append("\(path): changed in the calendar, but you edited the note; kept your version")
                    continue
                }
                batch.files.append((path, Data(text.utf8)))
                batch.updated.append(path)
            } else {
                batch.files.append((path, Data(text.utf8)))
                batch.imported.append(path)
                batch.mustBeNew.insert(path)
            }
            imported[path] = ["uid": uid, "blob": newHash]
        }
        batch.state.imported = imported
        return batch
    }

    private func render(_ e: CalendarEvent, uid: String, connector: String) -> String {
        func iso(_ d: Date) -> String { ISOTime.string(d) }
        var fm: [(String, String)] = [("title", e.summary.isEmpty ? "(no title)" : e.summary)]
        if let s = e.start { fm.append(("date", FrontMatter.dayString(s))); fm.append(("start", e.allDay ? FrontMatter.dayString(s) : iso(s))) }
        if let end = e.end { fm.append(("end", e.allDay ? FrontMatter.dayString(end) : iso(end))) }
        if !e.location.isEmpty { fm.append(("location", e.location)) }
        if !e.organizer.isEmpty { fm.append(("organizer", e.organizer)) }
        if !e.status.isEmpty { fm.append(("status", e.status)) }
        fm.append(("uid", uid))
        fm.append(("source", "calendar:\(connector)"))
        var text = "---\n" + fm.map { "\($0.0): \(FrontMatter.yamlScalar($0.1))\n" }.joined()
        if !e.attendees.isEmpty { text += "attendees:\n" + e.attendees.map { "  - \(FrontMatter.yamlScalar($0))\n" }.joined() }
        text += "tags: [event]\n---\n# \(e.summary.isEmpty ? "(no title)" : e.summary)\n"
        let body = MailNote.cleanBody(e.description)
        if !body.isEmpty { text += "\n" + body + "\n" }
        return text
    }

    /// The calendar objects of a CalDAV collection: one REPORT calendar-query (Depth: 1) for every VEVENT.
    private func caldavCalendarData(_ definition: ConnectorDefinition, environment: ConnectorEnvironment) throws -> [(String, String)] {
        let credentials = try Credentials.resolve(definition, vaultRoot: root, environment: environment)
        let url = definition.url ?? ""
        let session = try CurlSession(connector: definition.name, credentials: credentials, caFile: definition.caFile,
                                      requireTLS: url.hasPrefix("https://"), timeoutSeconds: definition.timeoutSeconds)
        let query = """
        <?xml version="1.0" encoding="utf-8"?>
        <C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
          <D:prop><D:getetag/><C:calendar-data/></D:prop>
          <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"/></C:comp-filter></C:filter>
        </C:calendar-query>
        """
        let r = session.request(url, custom: "REPORT", headers: ["Depth: 1", "Content-Type: application/xml; charset=utf-8"], body: Data(query.utf8))
        guard r.error == 0 else { throw ConnectorError.transport(connector: definition.name, item: url, reason: r.message) }
        guard r.status == 207 else { throw ConnectorError.transport(connector: definition.name, item: url, reason: "the CalDAV server answered \(r.status) to REPORT (expected 207 Multi-Status)") }
        let xml = String(decoding: r.body, as: UTF8.self)
        var out: [(String, String)] = []
        var rest = Substring(xml)
        while let open = rest.range(of: "calendar-data") {
            guard let gt = rest[open.upperBound...].firstIndex(of: ">") else { break }
            if rest[rest.index(before: gt)] == "/" { rest = rest[rest.index(after: gt)...]; continue }
            let contentStart = rest.index(after: gt)
            guard let closeTag = rest[contentStart...].range(of: "</") else { break }
            let raw = String(rest[contentStart..<closeTag.lowerBound])
            let text = raw.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
                .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#13;", with: "\r")
                .replacingOccurrences(of: "&amp;", with: "&")
            if text.contains("BEGIN:VCALENDAR") { out.append((url, text)) }
            rest = rest[closeTag.upperBound...]
            if let after = rest.range(of: "calendar-data") { rest = rest[after.upperBound...] }
        }
        return out
    }
}
