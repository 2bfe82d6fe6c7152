import Foundation

/// One external source or sink, from `connectors/NAME.md` (YAML front matter; the body is the operator's notes).
///
/// ```yaml
/// kind: imap                     # imap | ical | caldav | contacts | smtp | webhook
/// url: imaps://mail.example.com  # imap/smtp/caldav/webhook; ical and contacts take `source:` (a path or URL)
/// username: me@example.com
/// password_env: CAIRN_MAIL_PASSWORD        # or credentials_file: /home/me/.config/cairn/mail (mode 0600)
/// folders: [INBOX, Leads]        # imap; INBOX goes to inbox/mail/, another folder F to inbox/mail/<f>/
/// every: 15m                     # how often `cairn tick` pulls it
/// ```
///
/// Secrets never live here: a connector names an environment variable or a credentials file outside the vault.
public struct ConnectorDefinition: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        case imap, ical, caldav, contacts, smtp, webhook
        var pulls: Bool { [.imap, .ical, .caldav, .contacts].contains(self) }
    }

    public let name: String
    public let path: String
    public let kind: Kind
    public let url: String?
    public let source: String?
    public let username: String?
    public let passwordEnv: String?
    public let credentialsFile: String?
    public let caFile: String?
    public let requireTLS: Bool
    public let folders: [String]
    public let since: Date?
    public let every: TimeInterval
    public let maxAttachmentBytes: Int
    /// smtp: the IMAP connector and folder that hold what was sent (to reconcile an interrupted send).
    public let sentCheck: String?
    public let sentFolder: String
    public let from: String?
    /// ical/caldav/contacts: the vault folder the notes go to.
    public let destination: String?
    public let timeoutSeconds: Int

    public var pulls: Bool { kind.pulls }

    public static let folder = "connectors"
    static let knownKeys: Set<String> = ["kind", "url", "source", "username", "password_env", "credentials_file", "ca_file",
                                         "require_tls", "folders", "since", "every", "max_attachment_bytes", "sent_check",
                                         "sent_folder", "from", "path", "timeout", "title", "description", "tags"]

    /// Parses `connectors/NAME.md`; every problem is reported with its line.
    public static func parse(path: String, data: Data) throws(ConnectorError) -> ConnectorDefinition {
        let note: Note
        do { note = try NoteParser.parse(path: path, data: data) } catch { throw .invalid([error]) }
        let name = String(path.split(separator: "/").last ?? "").replacingOccurrences(of: ".md", with: "")
        let lines = note.text.split(separator: "\n", omittingEmptySubsequences: false)
        func line(_ key: String) -> Int {
            for (i, l) in lines.enumerated() where l.hasPrefix(key + ":") { return i + 1 }
            return note.frontMatter?.firstYAMLLine ?? 1
        }
        var problems: [NoteError] = []
        func problem(_ key: String, _ reason: String) { problems.append(NoteError(path: path, line: line(key), reason: reason)) }
        guard let fm = note.frontMatter else {
            throw .invalid([NoteError(path: path, line: 1, reason: "a connector needs front matter with at least `kind:` (one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")])
        }
        func text(_ key: String) -> String? {
            guard let v = fm[key] else { return nil }
            if case .null = v { return nil }
            guard let s = v.scalarText, !s.isEmpty else { problem(key, "\(key) must be text"); return nil }
            return s
        }
        for field in fm.fields where !knownKeys.contains(field.key) {
            problem(field.key, "unknown key '\(field.key)' (known: \(knownKeys.sorted().joined(separator: ", ")))")
        }
        var kind = Kind.imap
        if let k = text("kind") {
            if let parsed = Kind(rawValue: k) { kind = parsed } else { problem("kind", "kind must be one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")), not '\(k)'") }
        } else {
            problem("kind", "kind is required (one of \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let url = text("url")
        let source = text("source")
        switch kind {
        case .imap, .smtp, .caldav:
            let schemes: [Kind: [String]] = [.imap: ["imap", "imaps"], .smtp: ["smtp", "smtps"], .caldav: ["http", "https"]]
            if let url {
                let scheme = url.split(separator: ":").first.map { $0.lowercased() } ?? ""
                if !(schemes[kind] ?? []).contains(scheme) { problem("url", "url must start with \((schemes[kind] ?? []).map { $0 + "://" }.joined(separator: " or ")), not '\(url)'") }
                if url.contains("@") { problem("url", "url must not carry a user name or password; use username: and password_env: or credentials_file:") }
            } else {
                problem("kind", "a \(kind.rawValue) connector needs url:")
            }
        case .ical, .contacts:
            if source == nil { problem("kind", "a \(kind.rawValue) connector needs source: (a file path or an http(s) URL)") }
        case .webhook:
            break
        }
        var folders = ["INBOX"]
        if let v = fm["folders"] {
            if case .list(let items) = v, !items.isEmpty, items.allSatisfy({ $0.scalarText?.isEmpty == false }) {
                folders = items.compactMap(\.scalarText)
            } else {
                problem("folders", "folders must be a list of mailbox names, for example [INBOX, Leads]")
            }
        }
        var since: Date?
        if let s = text("since") {
            since = FrontMatter.date(from: s)
            if since == nil { problem("since", "since must be a date YYYY-MM-DD, not '\(s)'") }
        }
        var every: TimeInterval = 15 * 60
        if let e = text("every") {
            if let d = Self.duration(e), d > 0 { every = d } else { problem("every", "every must be a duration such as 15m, 1h or 1d, not '\(e)'") }
        }
        var maxAttachment = 10 * 1024 * 1024
        if let v = fm["max_attachment_bytes"] {
            if case .int(let n) = v, n >= 0 { maxAttachment = n } else { problem("max_attachment_bytes", "max_attachment_bytes must be a whole number of bytes") }
        }
        var timeout = 60
        if let v = fm["timeout"] {
            if let s = v.scalarText, let d = Self.duration(s), d >= 1 { timeout = Int(d) } else { problem("timeout", "timeout must be a duration such as 30s") }
        }
        var requireTLS = true
        if let host = url.flatMap({ URLComponents(string: $0)?.host }), ["127.0.0.1", "localhost", "::1"].contains(host) { requireTLS = false }
        if let v = fm["require_tls"] {
            if case .bool(let b) = v { requireTLS = b } else { problem("require_tls", "require_tls must be true or false") }
        }
        let credentialsFile = text("credentials_file")
        if let c = credentialsFile, !(c.hasPrefix("/") || c.hasPrefix("~/")) {
            problem("credentials_file", "credentials_file must be an absolute path outside the vault (or start with ~/)")
        }
        let passwordEnv = text("password_env")
        if let p = passwordEnv, !p.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) {
            problem("password_env", "password_env names an environment variable: letters, digits and _ only")
        }
        var destination = text("path")
        if let d = destination {
            if d.hasPrefix("/") || d.split(separator: "/").contains("..") || d.hasPrefix(".") { problem("path", "path must be a folder inside the vault, not '\(d)'") }
            destination = d.hasSuffix("/") ? String(d.dropLast()) : d
        }
        if !problems.isEmpty { throw .invalid(problems.sorted { $0.line < $1.line }) }
        return ConnectorDefinition(name: name, path: path, kind: kind, url: url, source: source, username: text("username"),
                                   passwordEnv: passwordEnv, credentialsFile: credentialsFile, caFile: text("ca_file"),
                                   requireTLS: requireTLS, folders: folders, since: since, every: every,
                                   maxAttachmentBytes: maxAttachment, sentCheck: text("sent_check"),
                                   sentFolder: text("sent_folder") ?? "Sent", from: text("from"), destination: destination,
                                   timeoutSeconds: timeout)
    }

    /// `90s`, `15m`, `2h`, `1d`.
    static func duration(_ text: String) -> TimeInterval? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard let unit = t.last, let n = Double(t.dropLast()) else { return Double(t) }
        switch unit {
        case "s": return n
        case "m": return n * 60
        case "h": return n * 3600
        case "d": return n * 86400
        default: return nil
        }
    }
}
