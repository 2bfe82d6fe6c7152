import Foundation

/// What a tick did with connectors: the pulls of the connectors that were due, then the outbox sends.
public struct ConnectorTickReport: Sendable, Codable {
    public struct Pull: Sendable, Codable {
        public let connector: String
        /// The pull, nil when it failed.
        public let result: ConnectorPullResult?
        /// Why it failed (names the connector and the item), nil when it worked.
        public let error: String?
    }
    public let pulls: [Pull]
    public let sends: [OutboxSendAction]
}

/// Everything one `cairn tick` did, in order: sync, connectors and outbox, workflows, sync again.
public struct TickCycleReport: Sendable {
    /// Problems and notices of the syncs around the tick (never fatal: the next tick syncs again).
    public let syncMessages: [String]
    public let connectors: ConnectorTickReport
    public let workflows: TickReport
}

/// What a tick needs from its caller: how to sync (nil: `sync.tick_remote` is not set, or no credentials), the
/// connectors' environment, and the workflow options for the vault as it stands after the first sync.
public struct TickCycleOptions {
    public var sync: SyncOptions?
    public var connectors: ConnectorEnvironment
    public var workflowOptions: (Vault) throws -> WorkflowOptions

    public init(sync: SyncOptions?, connectors: ConnectorEnvironment, workflowOptions: @escaping (Vault) throws -> WorkflowOptions) {
        self.sync = sync
        self.connectors = connectors
        self.workflowOptions = workflowOptions
    }
}

extension Vault {
    /// Pulls the connectors that are due, then sends the approved outbox items. A failing connector does not stop
    /// the others, nor the sends.
    public func tickConnectors(now: Date, author: OperatorIdentity, environment: ConnectorEnvironment) throws -> ConnectorTickReport {
        let pulls = try pullDueConnectors(now: now, author: author, environment: environment).map { name, result in
            switch result {
            case .success(let r): ConnectorTickReport.Pull(connector: name, result: r, error: nil)
            case .failure(let e): ConnectorTickReport.Pull(connector: name, result: nil, error: "\(e)")
            }
        }
        return ConnectorTickReport(pulls: pulls, sends: try sendOutbox(now: now, author: author, environment: environment))
    }

    /// One tick: when `sync.tick_remote` names a remote, sync with it first (the vault is read again afterwards: the
    /// sync may bring settings and workflows); pull the due connectors and send the outbox, so that new mail is on
    /// main when the tick looks for path triggers; run the workflows' tick; sync again when the tick did anything.
    /// A sync failure never stops the tick; it is reported in `syncMessages`.
    public func tickCycle(now: Date, author: OperatorIdentity, options: TickCycleOptions) throws -> TickCycleReport {
        var messages: [String] = []
        var vault = self
        let remote = config.sync.tickRemote
        if !remote.isEmpty, let sync = options.sync {
            messages += tickSync(remote: remote, options: sync, now: now, when: "before")
            let reopened = try Vault.open(at: root)
            reopened.hostName = hostName
            vault = reopened
        }
        let connectors = try vault.tickConnectors(now: now, author: author, environment: options.connectors)
        let report = try vault.tick(now: now, options: try options.workflowOptions(vault))
        if !remote.isEmpty, let sync = options.sync, !report.skipped {
            messages += vault.tickSync(remote: remote, options: sync, now: now, when: "after")
        }
        return TickCycleReport(syncMessages: messages, connectors: connectors, workflows: report)
    }

    /// Syncs with `remote` around a tick; returns what the operator should see (conflicts, notices, failures).
    func tickSync(remote: String, options: SyncOptions, now: Date, when: String) -> [String] {
        do {
            let report = try sync(remote: remote, options: options, now: now)
            var lines: [String] = []
            if report.outcome == .conflicts {
                lines.append("sync with \(remote) \(when) the tick stopped on conflicts in " + report.conflicts.joined(separator: ", ")
                             + "; resolve them and run `cairn sync --continue`")
            }
            return lines + report.notices.map { "sync: \($0)" }
        } catch {
            return ["sync with \(remote) \(when) the tick failed: \(error)"]
        }
    }
}
