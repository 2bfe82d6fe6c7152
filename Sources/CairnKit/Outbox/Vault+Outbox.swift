import CairnGit
import Foundation

/// What one `cairn outbox send` did with an item.
public struct OutboxSendAction: Sendable, Codable {
    public let id: String
    public let state: String
    public let detail: String
}

extension Vault {
    /// Where another machine's claim on an item would show: `refs/cairn/outbox/<id>`, created (never moved) when
    /// an item goes to `sending`. Sync pushes it with compare-and-swap, so of two machines only one can claim.
    public static func outboxClaimRef(_ id: String) -> String { "refs/cairn/outbox/\(id)" }

    /// The items in `outbox/` on main and their states (an item without a record is approved: it reached main).
    public func outbox() throws -> [OutboxEntry] {
        guard let main = try head() else { return [] }
        let tree = try repository.commit(main).tree
        var entries: [OutboxEntry] = []
        for file in try repository.files(in: tree, under: OutboxItem.folder + "/") where file.path.hasSuffix(".md") && !file.path.hasSuffix("README.md") {
            let id = String(file.path.dropFirst(OutboxItem.folder.count + 1).dropLast(3))
            let record = try outboxRecord(id, tree: tree)
            let item = try? OutboxItem.parse(path: file.path, data: try repository.blob(file.oid))
            entries.append(OutboxEntry(id: id, kind: item?.kind.rawValue ?? "?", connector: item?.connector ?? "?",
                                       state: record?.state.rawValue ?? "approved", detail: record?.history.last?.detail,
                                       updated: record?.history.last?.at))
        }
        // Items still in a pending proposal: proposed, waiting for the operator (or autonomy) to approve them.
        let onMain = Set(entries.map(\.id))
        for proposal in try proposals() {
            guard let commit = OID(hex: proposal.commit) else { continue }
            let proposalTree = try repository.commit(commit).tree
            for change in proposal.changes where change.kind != .deleted && change.path.hasPrefix(OutboxItem.folder + "/")
                && change.path.hasSuffix(".md") && !change.path.hasSuffix("README.md") {
                let id = String(change.path.dropFirst(OutboxItem.folder.count + 1).dropLast(3))
                guard !onMain.contains(id), !id.contains("/"), let e = try repository.entry(at: change.path, in: proposalTree) else { continue }
                let item = try? OutboxItem.parse(path: change.path, data: try repository.blob(e.oid))
                entries.append(OutboxEntry(id: id, kind: item?.kind.rawValue ?? "?", connector: item?.connector ?? "?", state: "proposed",
                                           detail: "in proposal \(proposal.id) by \(proposal.agent); sent only after it is approved",
                                           updated: ISOTime.string(proposal.createdAt)))
            }
        }
        return entries.sorted { $0.id < $1.id }
    }

    func outboxRecord(_ id: String, tree: OID) throws -> OutboxRecord? {
        guard let entry = try repository.entry(at: OutboxRecord.path(id), in: tree) else { return nil }
        return try? JSONDecoder().decode(OutboxRecord.self, from: try repository.blob(entry.oid))
    }

    /// Sends every approved item, and finishes items a crash left in `sending`, through their connectors.
    ///
    /// Each state change (approved → sending → sent / failed) is its own commit on main. An item found in `sending`
    /// is reconciled first: a mail is looked up by Message-ID in the Sent folder of the connector's `sent_check` IMAP
    /// connector (found: recorded as sent, never resent); a webhook is sent again with the same Idempotency-Key,
    /// which the receiver uses to drop the repeat. What reconciliation found is recorded in the item's history.
    public func sendOutbox(now: Date, author: OperatorIdentity, environment: ConnectorEnvironment, only: String? = nil) throws -> [OutboxSendAction] {
        guard let main = try head() else { return [] }
        let tree = try repository.commit(main).tree
        let policyData = try repository.entry(at: "policy.json", in: tree).map { try repository.blob($0.oid) }
        var actions: [OutboxSendAction] = []
        var ledger = try OutboxLedger(vault: self, tree: tree)
        var trial: Set<String> = []
        for entry in try outbox() where only == nil || entry.id == only {
            guard entry.state == "approved" || entry.state == "sending" else { continue }
            let path = OutboxItem.folder + "/" + entry.id + ".md"
            guard let blob = try repository.entry(at: path, in: tree) else { continue }
            let item: OutboxItem
            do {
                item = try OutboxItem.parse(path: path, data: try repository.blob(blob.oid))
            } catch {
                actions.append(try recordOutbox(entry.id, key: entry.id, state: .failed, detail: "\(error)", now: now, author: author))
                continue
            }
            let limits = ConnectorLimits.load(policyJSON: policyData, connector: item.connector)
            let breaker = outboxBreaker(item.connector, ledger: ledger, limits: limits, now: now)
            switch breaker.state {
            case .open:
                actions.append(OutboxSendAction(id: item.id, state: entry.state, detail: "circuit breaker open for connector \(item.connector) after \(breaker.failedItems.count) failed items in a row (\(breaker.failedItems.prefix(5).joined(separator: ", "))); retried after \(breaker.retryAt ?? "?")"))
                continue
            case .halfOpen where trial.contains(item.connector):
                actions.append(OutboxSendAction(id: item.id, state: entry.state, detail: "circuit breaker half-open for connector \(item.connector): one item is tried first; waits for the next run"))
                continue
            case .halfOpen:
                trial.insert(item.connector)
            case .closed:
                break
            }
            if let refusal = outboxLimitRefusal(item.connector, ledger: ledger, limits: limits, now: now) {
                actions.append(OutboxSendAction(id: item.id, state: entry.state, detail: refusal))
                continue
            }
            let action = try sendOne(item, wasSending: entry.state == "sending", limits: limits, now: now, author: author, environment: environment)
            if let state = OutboxRecord.State(rawValue: action.state), state == .sent || state == .failed {
                ledger.record(id: item.id, connector: item.connector, state: state, at: now)
            }
            actions.append(action)
        }
        return actions
    }

    private func sendOne(_ item: OutboxItem, wasSending: Bool, limits: ConnectorLimits, now: Date, author: OperatorIdentity,
                         environment: ConnectorEnvironment) throws -> OutboxSendAction {
        let connector: ConnectorDefinition
        do { connector = try connectorDefinition(named: item.connector) } catch {
            return try recordOutbox(item.id, key: item.id, state: .failed, detail: "\(error)", now: now, author: author)
        }
        let expected: ConnectorDefinition.Kind = item.kind == .mail ? .smtp : .webhook
        guard connector.kind == expected else {
            return try recordOutbox(item.id, key: item.id, state: .failed, detail: "connector \(connector.name) is \(connector.kind.rawValue); a \(item.kind.rawValue) item needs a \(expected.rawValue) connector", now: now, author: author)
        }
        let key = item.kind == .mail ? OutboxMail.messageID(item, from: connector.from) : "cairn-outbox-" + item.id
        var note: String? = nil
        if wasSending, let main = try head(), let record = try outboxRecord(item.id, tree: try repository.commit(main).tree),
           let claim = record.history.last(where: { $0.state == .sending })?.detail, claim != "claimed by \(environment.machine)" {
            return OutboxSendAction(id: item.id, state: "sending", detail: "\(claim); that machine finishes or reconciles it")
        }
        if wasSending {
            // A crash came between the wire and the record: ask the source of truth before sending again.
            switch item.kind {
            case .mail:
                if let found = try mailAlreadySent(key, smtp: connector, environment: environment) {
                    return try recordOutbox(item.id, key: key, state: .sent, detail: "reconciled after an interrupted send: \(found); not sent again", now: now, author: author)
                }
                note = "reconciled after an interrupted send: not in the Sent folder, sent again"
            case .webhook:
                note = "reconciled after an interrupted send: sent again with the same Idempotency-Key \(key), which the receiver deduplicates"
            }
        } else {
            // The claim ref first (and on the remote, when there is one): another machine's claim wins, and this one
            // leaves the item alone. Then `sending` is committed before anything goes on the wire.
            if let refused = try claimOutboxItem(item.id, machine: environment.machine, now: now, author: author, environment: environment) {
                return OutboxSendAction(id: item.id, state: "approved", detail: refused)
            }
            _ = try recordOutbox(item.id, key: key, state: .sending, detail: "claimed by \(environment.machine)", now: now, author: author)
        }
        CrashPoints.hit(.outboxBeforeSend)
        var lastError = ""
        var permanent = false
        var attempts = 0
        for attempt in 0...limits.retries {
            attempts = attempt + 1
            if attempt > 0 {
                let delay = limits.backoffSeconds * pow(2, Double(attempt - 1)) * environment.backoffScale
                if delay > 0 { Thread.sleep(forTimeInterval: min(delay, 300)) }
            }
            let outcome = try deliver(item, key: key, connector: connector, now: now, environment: environment)
            switch outcome {
            case .ok(let detail):
                CrashPoints.hit(.outboxAfterSend)
                let text = [note, detail].compactMap { $0 }.joined(separator: "; ")
                return try recordOutbox(item.id, key: key, state: .sent, detail: text + (attempts > 1 ? " (attempt \(attempts))" : ""), now: now, author: author)
            case .transient(let reason):
                lastError = reason
            case .permanent(let reason):
                lastError = reason
                permanent = true
            }
            if permanent { break }
        }
        return try recordOutbox(item.id, key: key, state: .failed, detail: "\(lastError) (after \(attempts) attempt\(attempts == 1 ? "" : "s"))", now: now, author: author)
    }

    enum DeliveryOutcome { case ok(String), transient(String), permanent(String) }

    private func deliver(_ item: OutboxItem, key: String, connector: ConnectorDefinition, now: Date, environment: ConnectorEnvironment) throws -> DeliveryOutcome {
        let credentials: Credentials
        do { credentials = try Credentials.resolve(connector, vaultRoot: root, environment: environment) } catch {
            return .permanent("\(error)")
        }
        let session: CurlSession
        do {
            session = try CurlSession(connector: connector.name, credentials: credentials, caFile: connector.caFile,
                                      requireTLS: connector.requireTLS, timeoutSeconds: connector.timeoutSeconds)
        } catch { return .transient("\(error)") }
        switch item.kind {
        case .mail:
            guard let from = connector.from else { return .permanent("connector \(connector.name) has no from: address") }
            let message = OutboxMail.render(item, from: from, messageID: key, now: now)
            let r = session.sendMail(connector.url ?? "", from: OutboxMail.address(from), recipients: (item.to + item.cc).map(OutboxMail.address), message: message)
            if r.error == 0 { return .ok("sent over SMTP as \(key)") }
            // 5xx from the server (e.g. a refused recipient) will not get better by retrying.
            if r.status >= 500 && r.status < 600 { return .permanent("the SMTP server refused it (\(r.status)): \(r.message)") }
            return .transient("SMTP: \(r.message)")
        case .webhook:
            guard let url = item.url ?? connector.url else { return .permanent("no url: on the item or connector \(connector.name)") }
            var headers = ["Content-Type: application/json", "Idempotency-Key: \(key)"]
            if let token = credentials.password { headers.append("Authorization: Bearer \(token)") }
            let r = session.request(url, custom: "POST", headers: headers, body: Data(item.body.utf8))
            if r.error != 0 { return .transient("HTTP: \(r.message)") }
            if (200..<300).contains(r.status) { return .ok("POST \(url) answered \(r.status), Idempotency-Key \(key)") }
            if r.status == 408 || r.status == 429 || r.status >= 500 { return .transient("POST \(url) answered \(r.status)") }
            return .permanent("POST \(url) answered \(r.status)")
        }
    }

    /// Looks for `messageID` in the Sent folder of the IMAP connector `smtp.sent_check` names; nil when absent.
    private func mailAlreadySent(_ messageID: String, smtp: ConnectorDefinition, environment: ConnectorEnvironment) throws -> String? {
        guard let imapName = smtp.sentCheck else {
            throw ConnectorError.outbox(item: messageID, reason: "an interrupted send cannot be checked: connectors/\(smtp.name).md needs sent_check: (the IMAP connector whose Sent folder shows sent mail)")
        }
        let imap = try connectorDefinition(named: imapName)
        let credentials = try Credentials.resolve(imap, vaultRoot: root, environment: environment)
        let client = try IMAPClient(imap, credentials: credentials)
        let uids = try client.search(smtp.sentFolder, header: "Message-ID", value: messageID)
        client.logout()
        return uids.isEmpty ? nil : "found \(messageID) in \(smtp.sentFolder) (UID \(uids[0]))"
    }

    /// Commits `state` for item `id` as one commit on main (`Cairn-Outbox` trailer).
    @discardableResult
    func recordOutbox(_ id: String, key: String, state: OutboxRecord.State, detail: String?, now: Date, author: OperatorIdentity) throws -> OutboxSendAction {
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        try prepareForWrite(now: now)
        guard let main = try head() else { throw VaultError.invalidArgument("\(branch) has no commit yet") }
        let mainCommit = try repository.commit(main)
        var record = try outboxRecord(id, tree: mainCommit.tree) ?? OutboxRecord(state: .approved, key: key, attempts: 0, history: [])
        record.state = state
        record.key = key
        if state == .sending { record.attempts += 1 }
        record.history.append(OutboxRecord.Change(state: state, at: ISOTime.string(now), detail: detail))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var data = try encoder.encode(record)
        data.append(0x0A)
        let tree = try repository.updateTree(base: mainCommit.tree, changes: [
            .upsert(path: OutboxRecord.path(id), oid: try repository.writeBlob(data), mode: TreeChange.fileMode),
        ])
        let message = Trailer.message(subject: "Outbox \(id): \(state.rawValue)", body: detail ?? "", trailers: [
            Trailer("Cairn-Operation", "outbox"), Trailer("Cairn-Outbox", id), Trailer("Cairn-Outbox-State", state.rawValue),
        ])
        let sig = Signature(name: author.name, email: author.email, time: now)
        let commit = try repository.createCommit(tree: tree, parents: [main], author: sig, committer: sig, message: message)
        _ = try moveMain(from: mainCommit, to: commit, newTree: tree, message: "cairn outbox \(id)", as: .outbox)
        return OutboxSendAction(id: id, state: state.rawValue, detail: detail ?? "")
    }
}

/// An outbox mail as RFC 5322 text.
enum OutboxMail {
    /// The Message-ID is the item's idempotency key: derived from the item id, the same on every attempt.
    static func messageID(_ item: OutboxItem, from: String?) -> String {
        let domain = from.map(address).flatMap { $0.split(separator: "@").last.map(String.init) } ?? "cairn.invalid"
        return "<cairn-outbox-\(item.id)@\(domain.trimmingCharacters(in: CharacterSet(charactersIn: "<>")))>"
    }

    /// `Name <a@b>` → `<a@b>`; `a@b` → `<a@b>`.
    static func address(_ text: String) -> String {
        if let open = text.lastIndex(of: "<"), let close = text.lastIndex(of: ">"), open < close { return String(text[open...close]) }
        return "<" + text.trimmingCharacters(in: .whitespaces) + ">"
    }

    static func header(_ value: String) -> String {
        value.allSatisfy(\.isASCII) ? value : "=?utf-8?B?" + Data(value.utf8).base64EncodedString() + "?="
    }

    static func render(_ item: OutboxItem, from: String, messageID: String, now: Date) -> Data {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, d MMM yyyy HH:mm:ss '+0000'"
        var lines = [
            "From: \(from)",
            "To: \(item.to.joined(separator: ", "))",
        ]
        if !item.cc.isEmpty { lines.append("Cc: \(item.cc.joined(separator: ", "))") }
        lines += [
            "Subject: \(header(item.subject ?? ""))",
            "Date: \(f.string(from: now))",
            "Message-ID: \(messageID)",
        ]
        if let r = item.inReplyTo { lines += ["In-Reply-To: \(r)", "References: \(r)"] }
        lines += ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", ""]
        let encoded = Data((item.body + "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return Data((lines.joined(separator: "\r\n") + "\r\n" + encoded + "\r\n").utf8)
    }
}
