import Foundation

/// The few IMAP commands a pull needs, over one libcurl connection: STATUS for UIDVALIDITY/UIDNEXT, UID SEARCH for
/// new messages, and a fetch by UID (libcurl's `;UID=n` URL form).
final class IMAPClient {
    let connector: String
    let base: String
    private let session: CurlSession

    init(_ definition: ConnectorDefinition, credentials: Credentials, url: String? = nil) throws(ConnectorError) {
        connector = definition.name
        var b = url ?? definition.url ?? ""
        while b.hasSuffix("/") { b.removeLast() }
        base = b
        session = try CurlSession(connector: definition.name, credentials: credentials, caFile: definition.caFile,
                                  requireTLS: definition.requireTLS, timeoutSeconds: definition.timeoutSeconds)
    }

    static func quoted(_ folder: String) -> String {
        "\"" + folder.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    private func folderURL(_ folder: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/;?#%")
        return base + "/" + (folder.addingPercentEncoding(withAllowedCharacters: allowed) ?? folder)
    }

    private func run(_ url: String, _ command: String?, item: String) throws(ConnectorError) -> Data {
        let r = session.request(url, custom: command)
        guard r.error == 0 else { throw .transport(connector: connector, item: item, reason: r.message) }
        return r.body
    }

    /// UIDVALIDITY and UIDNEXT of `folder`, without selecting it.
    func status(_ folder: String) throws(ConnectorError) -> (uidValidity: UInt64, uidNext: UInt64) {
        let body = try run(base + "/", "STATUS \(Self.quoted(folder)) (UIDVALIDITY UIDNEXT)", item: "folder \(folder)")
        let text = String(decoding: body, as: UTF8.self)
        func number(after key: String) -> UInt64? {
            guard let r = text.range(of: key + " ") else { return nil }
            return UInt64(text[r.upperBound...].prefix { $0.isNumber })
        }
        guard text.contains("* STATUS"), let validity = number(after: "UIDVALIDITY"), let next = number(after: "UIDNEXT") else {
            throw .transport(connector: connector, item: "folder \(folder)", reason: "the server answered STATUS with something that is not a STATUS reply (\(text.prefix(120).debugDescription))")
        }
        return (validity, next)
    }

    /// UIDs greater than `after` in `folder` (ascending), optionally only messages since `since`.
    func search(_ folder: String, after: UInt64, since: Date?) throws(ConnectorError) -> [UInt64] {
        var command = "UID SEARCH UID \(after + 1):*"
        if let since { command += " SINCE " + Self.imapDate(since) }
        return try parseSearch(run(folderURL(folder), command, item: "folder \(folder)"), folder: folder).filter { $0 > after }
    }

    /// UIDs in `folder` of messages whose `header` contains `value`.
    func search(_ folder: String, header: String, value: String) throws(ConnectorError) -> [UInt64] {
        try parseSearch(run(folderURL(folder), "UID SEARCH HEADER \(header) \(Self.quoted(value))", item: "folder \(folder)"), folder: folder)
    }

    private func parseSearch(_ body: Data, folder: String) throws(ConnectorError) -> [UInt64] {
        let text = String(decoding: body, as: UTF8.self)
        var uids: [UInt64] = []
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("* SEARCH") {
            for word in line.dropFirst("* SEARCH".count).split(separator: " ") {
                guard let n = UInt64(word.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                    throw .transport(connector: connector, item: "folder \(folder)", reason: "the server's SEARCH reply holds '\(word.prefix(40))', not a UID")
                }
                uids.append(n)
            }
        }
        if uids.isEmpty && !text.isEmpty && !text.contains("* SEARCH") {
            throw .transport(connector: connector, item: "folder \(folder)", reason: "the server answered SEARCH with something that is not a SEARCH reply")
        }
        return uids.sorted()
    }

    /// The whole message with `uid` (libcurl issues `UID FETCH uid BODY[]`).
    func fetch(_ folder: String, uid: UInt64) throws(ConnectorError) -> Data {
        try run(folderURL(folder) + "/;UID=\(uid)", nil, item: "\(folder) UID \(uid)")
    }

    static func imapDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(c.day ?? 1)-\(months[(c.month ?? 1) - 1])-\(c.year ?? 1970)"
    }
}
