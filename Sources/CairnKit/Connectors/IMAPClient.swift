import Foundation

/// The few IMAP commands a pull needs, on one connection that libcurl opens and logs in (TLS and STARTTLS included):
/// STATUS for UIDVALIDITY/UIDNEXT, EXAMINE (read-only), UID SEARCH, and UID FETCH with `BODY.PEEK[]`, so pulling never
/// marks the operator's mail read.
final class IMAPClient {
    let connector: String
    let base: String
    private let session: CurlSession
    private var connected = false
    private var examined: String?
    private var tag = 0
    private var buffer: [UInt8] = []
    private var start = 0
    private var chunk = [UInt8](repeating: 0, count: 64 * 1024)

    /// One untagged reply: its text, with each literal's bytes in `literals` (the text keeps the `{n}` marker).
    struct Reply {
        var text: String
        var literals: [Data]
    }

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

    /// A command sent whose answer has not been read yet.
    struct Pending {
        let tag: String
        let command: String
        let item: String
    }

    /// Runs `command` and returns its untagged replies; a NO or BAD, a dropped connection or bytes that are not IMAP
    /// are errors naming `item`.
    private func run(_ command: String, item: String) throws(ConnectorError) -> [Reply] {
        try replies(to: send(command, item: item))
    }

    /// Sends `command` (logging in first when not connected) without reading the answer.
    private func send(_ command: String, item: String) throws(ConnectorError) -> Pending {
        if !connected {
            let r = session.connectOnly(base + "/")
            guard r.error == 0 else { throw .transport(connector: connector, item: item, reason: r.message) }
            connected = true
        }
        tag += 1
        let t = "c\(tag)"
        if let problem = session.send(Data((t + " " + command + "\r\n").utf8)) {
            throw .transport(connector: connector, item: item, reason: problem)
        }
        return Pending(tag: t, command: command, item: item)
    }

    /// The untagged replies read until `pending`'s tagged answer (one command at a time is unanswered); a NO or BAD
    /// is an error naming its item.
    private func replies(to pending: Pending) throws(ConnectorError) -> [Reply] {
        var replies: [Reply] = []
        while true {
            let reply = try readReply(item: pending.item)
            if reply.text.hasPrefix("* ") {
                replies.append(reply)
            } else if reply.text.hasPrefix(pending.tag + " ") {
                let status = reply.text.dropFirst(pending.tag.count + 1)
                guard status.hasPrefix("OK") else {
                    throw .transport(connector: connector, item: pending.item, reason: "the server refused \(pending.command.split(separator: " ").prefix(2).joined(separator: " ")): \(status.prefix(160))")
                }
                return replies
            } else if reply.text.hasPrefix("+") {
                throw .transport(connector: connector, item: pending.item, reason: "the server asked for more input where none belongs")
            } else {
                throw .transport(connector: connector, item: pending.item, reason: "the server answered with something that is not IMAP (\(reply.text.prefix(80).debugDescription))")
            }
        }
    }

    /// One reply line, with its literals (`{n}` at a line end: n bytes follow, then the line goes on).
    private func readReply(item: String) throws(ConnectorError) -> Reply {
        var text = ""
        var literals: [Data] = []
        while true {
            let line = try readLine(item: item)
            text += line
            guard line.hasSuffix("}"), let open = line.lastIndex(of: "{"),
                  let count = Int(line[line.index(after: open)..<line.index(before: line.endIndex)].filter { $0 != "+" }) else {
                return Reply(text: text, literals: literals)
            }
            guard count >= 0 && count <= 1 << 31 else {
                throw .transport(connector: connector, item: item, reason: "the server announced a literal of \(count) bytes")
            }
            literals.append(try readBytes(count, item: item))
        }
    }

    private func fill(item: String) throws(ConnectorError) {
        if start > 0 && (start == buffer.count || start > 1 << 20) { buffer.removeSubrange(0..<start); start = 0 }
        switch session.receive(into: &chunk) {
        case .failure(let f): throw .transport(connector: connector, item: item, reason: f.reason)
        case .success(0): throw .transport(connector: connector, item: item, reason: "the server closed the connection")
        case .success(let n): buffer.append(contentsOf: chunk[0..<n])
        }
    }

    private func readLine(item: String) throws(ConnectorError) -> String {
        var scanned = start
        while true {
            if let lf = buffer[scanned...].firstIndex(of: 0x0A) {
                var end = lf
                if end > start && buffer[end - 1] == 0x0D { end -= 1 }
                let line = String(decoding: buffer[start..<end], as: UTF8.self)
                start = lf + 1
                return line
            }
            let scannedPastStart = buffer.count - start
            if scannedPastStart > 1 << 20 {
                throw .transport(connector: connector, item: item, reason: "the server sent a line of over 1 MiB")
            }
            try fill(item: item)  // may move what is left to the front of the buffer
            scanned = start + scannedPastStart
        }
    }

    private func readBytes(_ count: Int, item: String) throws(ConnectorError) -> Data {
        while buffer.count - start < count { try fill(item: item) }
        let data = Data(buffer[start..<start + count])
        start += count
        return data
    }

    /// Selects `folder` read-only (EXAMINE): nothing a pull does changes the operator's flags.
    private func examine(_ folder: String) throws(ConnectorError) {
        guard examined != folder else { return }
        _ = try run("EXAMINE \(Self.quoted(folder))", item: "folder \(folder)")
        examined = folder
    }

    /// UIDVALIDITY and UIDNEXT of `folder`, without selecting it.
    func status(_ folder: String) throws(ConnectorError) -> (uidValidity: UInt64, uidNext: UInt64) {
        let replies = try run("STATUS \(Self.quoted(folder)) (UIDVALIDITY UIDNEXT)", item: "folder \(folder)")
        let text = replies.map(\.text).first { $0.hasPrefix("* STATUS") } ?? ""
        func number(after key: String) -> UInt64? {
            guard let r = text.range(of: key + " ") else { return nil }
            return UInt64(text[r.upperBound...].prefix { $0.isNumber })
        }
        guard let validity = number(after: "UIDVALIDITY"), let next = number(after: "UIDNEXT") else {
            throw .transport(connector: connector, item: "folder \(folder)", reason: "the server answered STATUS with something that is not a STATUS reply (\(replies.first?.text.prefix(120).debugDescription ?? "nothing"))")
        }
        return (validity, next)
    }

    /// UIDs greater than `after` in `folder` (ascending), optionally only messages since `since`.
    func search(_ folder: String, after: UInt64, since: Date?) throws(ConnectorError) -> [UInt64] {
        var command = "UID SEARCH UID \(after + 1):*"
        if let since { command += " SINCE " + Self.imapDate(since) }
        try examine(folder)
        return try parseSearch(run(command, item: "folder \(folder)"), folder: folder).filter { $0 > after }
    }

    /// UIDs in `folder` of messages whose `header` contains `value`.
    func search(_ folder: String, header: String, value: String) throws(ConnectorError) -> [UInt64] {
        try examine(folder)
        return try parseSearch(run("UID SEARCH HEADER \(header) \(Self.quoted(value))", item: "folder \(folder)"), folder: folder)
    }

    private func parseSearch(_ replies: [Reply], folder: String) throws(ConnectorError) -> [UInt64] {
        var uids: [UInt64] = []
        for reply in replies where reply.text.hasPrefix("* SEARCH") {
            for word in reply.text.dropFirst("* SEARCH".count).split(separator: " ") {
                guard let n = UInt64(word) else {
                    throw .transport(connector: connector, item: "folder \(folder)", reason: "the server's SEARCH reply holds '\(word.prefix(40))', not a UID")
                }
                uids.append(n)
            }
        }
        return uids.sorted()
    }

    /// The whole messages with `uids` in `folder`, by UID, fetched with `BODY.PEEK[]` (the \Seen flag stays as it
    /// was) in one command. A UID the server no longer has (expunged meanwhile) is absent from the result.
    func fetch(_ folder: String, uids: [UInt64]) throws(ConnectorError) -> [UInt64: Data] {
        guard !uids.isEmpty else { return [:] }
        return try finishFetch(startFetch(folder, uids: uids))
    }

    /// Sends the `fetch` of `uids` (not empty) without waiting for the answer, which `finishFetch` reads before any
    /// other command is sent: the server reads these messages while the caller works on the last ones.
    func startFetch(_ folder: String, uids: [UInt64]) throws(ConnectorError) -> Pending {
        try examine(folder)
        let item = uids.count == 1 ? "\(folder) UID \(uids[0])" : "\(folder) UIDs \(uids[0])–\(uids[uids.count - 1])"
        return try send("UID FETCH \(uids.map(String.init).joined(separator: ",")) (UID BODY.PEEK[])", item: item)
    }

    /// The answer of `pending`: its messages by UID (those the server no longer has are absent).
    func finishFetch(_ pending: Pending) throws(ConnectorError) -> [UInt64: Data] {
        var messages: [UInt64: Data] = [:]
        for reply in try replies(to: pending) where ASCIIText.contains(reply.text, " FETCH (") {
            // Other FETCH replies (a flag changed elsewhere) carry no body: they are not answers to this command.
            // (The words are looked for in the bytes: Foundation's `contains` and `range(of:)` bridge each reply.)
            guard ASCIIText.contains(reply.text, "BODY[]"), let body = reply.literals.first,
                  let r = ASCIIText.firstRange(of: "UID ", in: reply.text),
                  let uid = UInt64(String(decoding: reply.text.utf8.dropFirst(r.upperBound).prefix { $0 >= 0x30 && $0 <= 0x39 }, as: UTF8.self))
            else { continue }
            messages[uid] = body
        }
        return messages
    }

    /// Ends the session with LOGOUT, so the server records a logout rather than a dropped connection. Best effort:
    /// what was fetched is complete either way, and a server that does not answer is not waited for past the timeout.
    func logout() {
        guard connected else { return }
        _ = try? run("LOGOUT", item: "logout")
        connected = false
    }

    static func imapDate(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        return "\(c.day ?? 1)-\(months[(c.month ?? 1) - 1])-\(c.year ?? 1970)"
    }
}
