import Foundation

/// An effect waiting to go out: `outbox/<id>.md`, proposed by an agent or workflow and on main once approved.
///
/// ```yaml
/// kind: mail                 # mail | webhook
/// connector: smtp            # the smtp or webhook connector that sends it
/// to: [ana@example.com]      # mail: to, cc, subject, in_reply_to; the body is the text
/// subject: Your quote
/// url: https://hooks.example.com/x   # webhook (else the connector's url); the body is the JSON to POST
/// ```
public struct OutboxItem: Sendable, Codable {
    public enum Kind: String, Sendable, Codable { case mail, webhook }
    public let id: String
    public let path: String
    public let kind: Kind
    public let connector: String
    public let to: [String]
    public let cc: [String]
    public let subject: String?
    public let inReplyTo: String?
    public let url: String?
    public let body: String

    public static let folder = "outbox"

    static func parse(path: String, data: Data) throws(ConnectorError) -> OutboxItem {
        let id = String(path.split(separator: "/").last ?? "").replacingOccurrences(of: ".md", with: "")
        let note: Note
        do { note = try NoteParser.parse(path: path, data: data) } catch { throw .outbox(item: id, reason: error.description) }
        guard let fm = note.frontMatter else { throw .outbox(item: id, reason: "needs front matter with kind: mail or kind: webhook") }
        func text(_ key: String) -> String? { fm[key]?.scalarText.flatMap { $0.isEmpty ? nil : $0 } }
        func list(_ key: String) -> [String] {
            switch fm[key] {
            case .list(let items)?: return items.compactMap(\.scalarText)
            case let v?: return v.scalarText.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []
            case nil: return []
            }
        }
        guard let k = text("kind"), let kind = Kind(rawValue: k) else { throw .outbox(item: id, reason: "kind must be mail or webhook") }
        guard let connector = text("connector") else { throw .outbox(item: id, reason: "connector: names the connector that sends it (connectors/NAME.md)") }
        let item = OutboxItem(id: id, path: path, kind: kind, connector: connector, to: list("to"), cc: list("cc"),
                              subject: text("subject"), inReplyTo: text("in_reply_to"), url: text("url"),
                              body: note.body.trimmingCharacters(in: .whitespacesAndNewlines))
        for value in [item.subject, item.inReplyTo, item.url].compactMap({ $0 }) + item.to + item.cc
        where value.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
            throw .outbox(item: id, reason: "a header value contains a line break")
        }
        switch kind {
        case .mail:
            if item.to.isEmpty { throw .outbox(item: id, reason: "a mail needs to: (one address or a list)") }
            for a in item.to + item.cc where !a.contains("@") || a.contains(" ") && !a.contains("<") {
                throw .outbox(item: id, reason: "'\(a)' is not an e-mail address")
            }
        case .webhook:
            guard (try? JSONSerialization.jsonObject(with: Data(item.body.utf8), options: [.fragmentsAllowed])) != nil else {
                throw .outbox(item: id, reason: "a webhook's body must be the JSON to send")
            }
        }
        return item
    }
}

/// Where an outbox item stands, committed at `.cairn/outbox/<id>.json` with every change.
public struct OutboxRecord: Sendable, Codable {
    public enum State: String, Sendable, Codable { case approved, sending, sent, failed }
    public struct Change: Sendable, Codable {
        public let state: State
        public let at: String
        public let detail: String?
    }
    public var state: State
    /// The idempotency key: the Message-ID of a mail, the Idempotency-Key header of a webhook.
    public var key: String
    public var attempts: Int
    public var history: [Change]

    static func path(_ id: String) -> String { ".cairn/outbox/\(id).json" }
}

/// One line of `cairn outbox`.
public struct OutboxEntry: Sendable, Codable {
    public let id: String
    public let kind: String
    public let connector: String
    public let state: String
    public let detail: String?
    public let updated: String?
}
