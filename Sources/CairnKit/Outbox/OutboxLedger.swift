import CairnGit
import Foundation

/// The committed outbox records on main, by connector: what rate limits, daily quotas and the circuit breaker count.
/// Everything here is derived from `.cairn/outbox/*.json`, so it survives restarts and travels with sync.
struct OutboxLedger {
    struct Item {
        let id: String
        let connector: String
        var history: [OutboxRecord.Change]
        var state: OutboxRecord.State { history.last?.state ?? .approved }
        var finishedAt: Date? {
            guard state == .sent || state == .failed else { return nil }
            return history.last.flatMap { ISOTime.date(from: $0.at) }
        }
    }
    var items: [Item] = []

    init(vault: Vault, tree: OID) throws {
        for file in try vault.repository.files(in: tree, under: ".cairn/outbox/") where file.path.hasSuffix(".json") {
            let id = String(file.path.dropFirst(".cairn/outbox/".count).dropLast(5))
            guard let record = try? JSONDecoder().decode(OutboxRecord.self, from: try vault.repository.blob(file.oid)),
                  let e = try vault.repository.entry(at: OutboxItem.folder + "/" + id + ".md", in: tree),
                  let item = try? OutboxItem.parse(path: OutboxItem.folder + "/" + id + ".md", data: try vault.repository.blob(e.oid)) else { continue }
            items.append(Item(id: id, connector: item.connector, history: record.history))
        }
    }

    /// Notes an action of this run, so the rest of the run counts it.
    mutating func record(id: String, connector: String, state: OutboxRecord.State, at: Date) {
        let change = OutboxRecord.Change(state: state, at: ISOTime.string(at), detail: nil)
        if let i = items.firstIndex(where: { $0.id == id }) { items[i].history.append(change) }
        else { items.append(Item(id: id, connector: connector, history: [change])) }
    }

    /// Items of `connector` that went out (reached `sent`) at or after `since`.
    func sent(connector: String, since: Date) -> [String] {
        items.filter { item in
            item.connector == connector && item.history.contains { $0.state == .sent && (ISOTime.date(from: $0.at).map { $0 >= since } ?? false) }
        }.map(\.id).sorted()
    }

    /// The finished items of `connector` that failed in a row, newest first, and when the newest failed.
    func failuresInARow(connector: String) -> (ids: [String], last: Date?) {
        let finished = items.filter { $0.connector == connector }.compactMap { i in i.finishedAt.map { (i, $0) } }
            .sorted { ($0.1, $0.0.id) > ($1.1, $1.0.id) }
        let failed = finished.prefix { $0.0.state == .failed }
        return (failed.map(\.0.id), failed.first?.1)
    }
}

/// Where a connector's circuit breaker stands for the outbox.
public struct OutboxBreaker: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        /// Sends go out.
        case closed
        /// Too many failures in a row: nothing is sent until `retryAt`.
        case open
        /// The cool-down passed: one item is tried; if it fails the breaker opens again.
        case halfOpen = "half-open"
    }
    public let connector: String
    public let state: State
    public let failedItems: [String]
    public let retryAt: String?
}

extension Vault {
    /// The breaker of `connector`: open once `breaker_failures` items in a row failed, for `breaker_cooldown_seconds`
    /// after the last failure, then half-open.
    func outboxBreaker(_ connector: String, ledger: OutboxLedger, limits: ConnectorLimits, now: Date) -> OutboxBreaker {
        let (ids, last) = ledger.failuresInARow(connector: connector)
        guard ids.count >= limits.breakerFailures, let last else {
            return OutboxBreaker(connector: connector, state: .closed, failedItems: ids, retryAt: nil)
        }
        let retry = last.addingTimeInterval(limits.breakerCooldownSeconds)
        return OutboxBreaker(connector: connector, state: now < retry ? .open : .halfOpen, failedItems: ids, retryAt: ISOTime.string(retry))
    }

    /// Why `connector` may not send now (rate limit, daily quota), nil when it may.
    func outboxLimitRefusal(_ connector: String, ledger: OutboxLedger, limits: ConnectorLimits, now: Date) -> String? {
        let lastMinute = ledger.sent(connector: connector, since: now.addingTimeInterval(-60))
        if lastMinute.count >= limits.ratePerMinute {
            return "rate limit: connector \(connector) sent \(limits.ratePerMinute) items in the last minute; waits for the next run"
        }
        if let perDay = limits.sendsPerDay {
            let day = Self.utcDay(now)
            let start = ISOTime.date(from: day + "T00:00:00Z") ?? now
            let today = ledger.sent(connector: connector, since: start)
            if today.count >= perDay {
                return "quota: connector \(connector) has sent \(today.count) of its \(perDay) sends_per_day today (UTC); "
                    + "waits until \(ISOTime.string(start.addingTimeInterval(86_400))) or a higher connectors.\(connector).sends_per_day in policy.json"
            }
        }
        return nil
    }
}

/// Where one sending connector stands for `cairn outbox`: its breaker, its sends in the last minute against
/// `rate_per_minute`, and today's sends against `sends_per_day`.
public struct OutboxConnectorStatus: Sendable, Codable, Equatable {
    public let connector: String
    public let kind: String
    public let breaker: OutboxBreaker
    public let sentLastMinute: Int
    public let ratePerMinute: Int
    public let sentToday: Int
    public let sendsPerDay: Int?
}

/// What `cairn outbox --json` prints: the items, and where each sending connector's breaker, rate limit and
/// daily quota stand.
public struct OutboxReport: Sendable, Codable {
    public let items: [OutboxEntry]
    public let connectors: [OutboxConnectorStatus]
}

extension Vault {
    /// The outbox items and the sending connectors' limits at `now`.
    public func outboxReport(now: Date) throws -> OutboxReport {
        OutboxReport(items: try outbox(), connectors: try outboxConnectorStatus(now: now))
    }

    /// The SMTP and webhook connectors on main and where their breaker, rate limit and daily quota stand at `now`,
    /// counted from the committed records as `sendOutbox` counts them.
    public func outboxConnectorStatus(now: Date) throws -> [OutboxConnectorStatus] {
        guard let main = try head() else { return [] }
        let tree = try repository.commit(main).tree
        let policyData = try repository.entry(at: "policy.json", in: tree).map { try repository.blob($0.oid) }
        let ledger = try OutboxLedger(vault: self, tree: tree)
        let dayStart = ISOTime.date(from: Self.utcDay(now) + "T00:00:00Z") ?? now
        return try connectorDefinitions().definitions.filter { $0.kind == .smtp || $0.kind == .webhook }.map { d in
            let limits = ConnectorLimits.load(policyJSON: policyData, connector: d.name)
            return OutboxConnectorStatus(connector: d.name, kind: d.kind.rawValue,
                                         breaker: outboxBreaker(d.name, ledger: ledger, limits: limits, now: now),
                                         sentLastMinute: ledger.sent(connector: d.name, since: now.addingTimeInterval(-60)).count,
                                         ratePerMinute: limits.ratePerMinute,
                                         sentToday: ledger.sent(connector: d.name, since: dayStart).count,
                                         sendsPerDay: limits.sendsPerDay)
        }.sorted { $0.connector < $1.connector }
    }
}
