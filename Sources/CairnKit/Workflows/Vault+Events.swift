import CairnGit
import Foundation

/// An event as recorded in `inbox/events/YYYY/MM/<id>.json` on main.
public struct EventRecord: Codable, Sendable, Equatable {
    public var version = 1
    /// `YYYYMMDD-HHMMSS-<event slug>-<4 hex>`, sortable by time and unique.
    public var id: String
    public var event: String
    public var emittedAt: String
    public var emittedBy: String
    /// The `--data` JSON, as given (nil when none).
    public var data: JSONValue?

    /// Where the record of event `id` lives in the vault.
    public static func path(id: String) -> String { RunID.recordPath(Vault.eventsFolder, id) }
}

/// Any JSON value, kept as given (for event data).
public indirect enum JSONValue: Codable, Sendable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null } else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) } else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) } else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    /// A scalar as workflow input text (numbers without a needless `.0`); nil for arrays, objects and null.
    var inputText: String? {
        switch self {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .number(let n): return n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
        default: return nil
        }
    }
}

/// What `cairn emit` did.
public struct EmitResult: Sendable, Codable {
    public let event: EventRecord
    public let path: String
    public let commit: String
    /// What each `on: event` workflow did with it.
    public let triggered: [TickAction]
    /// Set when another tick held the trigger lock: the next `cairn tick` starts the workflows.
    public let deferredToTick: Bool
}

extension Vault {
    /// Where `cairn emit` records events.
    public static let eventsFolder = "inbox/events"
    /// Largest `--data` accepted, in bytes.
    static let maxEventData = 64 * 1024

    /// Records event `name` (with optional JSON `data`) as one operator commit on main, then starts every workflow
    /// whose `on: event` names it.
    ///
    /// Bad input (a name that is not `[A-Za-z0-9._-]+`, data that is not JSON or larger than 64 KiB) writes nothing.
    /// The workflows are started under the tick lock, with the trigger `event NAME ID`, so a concurrent tick never
    /// starts them twice; if a tick holds the lock, the event is left for the next tick (which finds it in main's
    /// history) and the result says so.
    public func emit(event name: String, data: Data?, now: Date, options: WorkflowOptions) throws -> EmitResult {
        guard (1...100).contains(name.count), name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) }),
              name.first != "." else {
            throw VaultError.invalidArgument("invalid event name '\(name)': use letters, digits, '.', '_' and '-' (for example lead.created)")
        }
        var value: JSONValue?
        if let data {
            guard data.count <= Self.maxEventData else {
                throw VaultError.invalidArgument("--data is \(data.count) bytes; events carry at most \(Self.maxEventData) bytes (put large content in a note and pass its path)")
            }
            do {
                value = try JSONDecoder().decode(JSONValue.self, from: data)
            } catch {
                throw VaultError.invalidArgument("--data is not valid JSON (\(String(describing: error).prefix(200))); pass for example --data '{\"lead\": \"inbox/leads/acme.md\"}'")
            }
        }
        let record: EventRecord
        let commit: OID
        do {
            let lock = try VaultLock(gitDir: gitDir)
            defer { withExtendedLifetime(lock) {} }
            try prepareForWrite(now: now)
            guard let main = try head() else { throw VaultError.invalidArgument("\(branch) has no commit yet; run `cairn snapshot` first") }
            let mainCommit = try repository.commit(main)
            var id = RunID.make(agent: String(Slug.make(name).prefix(40)), now: now)
            while try repository.entry(at: EventRecord.path(id: id), in: mainCommit.tree) != nil {
                id = RunID.make(agent: String(Slug.make(name).prefix(40)), now: now)
            }
            record = EventRecord(id: id, event: name, emittedAt: ISOTime.string(now),
                                 emittedBy: "\(options.author.name) <\(options.author.email)>", data: value)
            let blob = try repository.writeBlob(try RecordJSON.encode(record))
            let tree = try repository.updateTree(base: mainCommit.tree, changes: [
                .upsert(path: EventRecord.path(id: id), oid: blob, mode: TreeChange.fileMode),
            ])
            let sig = Signature(name: options.author.name, email: options.author.email, time: now)
            let message = Trailer.message(subject: "Event \(name)", trailers: [
                Trailer("Cairn-Operation", "emit"), Trailer("Cairn-Event", name), Trailer("Cairn-Event-Id", id),
            ])
            commit = try repository.createCommit(tree: tree, parents: [main], author: sig, committer: sig, message: message)
            _ = try moveMain(from: mainCommit, to: commit, newTree: tree, message: "cairn emit \(id)", as: .emit)
        }
        guard let tickLock = try TickLock.attempt(gitDir: gitDir) else {
            return EmitResult(event: record, path: EventRecord.path(id: record.id), commit: commit.hex, triggered: [], deferredToTick: true)
        }
        defer { withExtendedLifetime(tickLock) {} }
        var existing: Set<String>?
        let triggered = try startEventWorkflows(record, catalog: workflowCatalog(), now: now, options: options,
                                                existing: &existing)
        return EmitResult(event: record, path: EventRecord.path(id: record.id), commit: commit.hex, triggered: triggered, deferredToTick: false)
    }

    /// Starts every workflow listening to `record`'s event that has not already been started for it.
    func startEventWorkflows(_ record: EventRecord, catalog: WorkflowCatalog, now: Date,
                             options: WorkflowOptions, existing: inout Set<String>?) throws -> [TickAction] {
        let listeners = catalog.definitions.filter { $0.events.contains(record.event) }
        var candidates: [String: String] = ["event": record.event, "event_id": record.id]
        if case .object(let fields)? = record.data {
            for (key, value) in fields { if let text = value.inputText { candidates[key] = text } }
        }
        if let data = record.data, let encoded = try? JSONEncoder().encode(data) { candidates["data"] = String(decoding: encoded, as: UTF8.self) }
        return try listeners.map { definition in
            try startTriggered(definition, trigger: "event \(record.event) \(record.id)", candidates: candidates,
                               now: now, options: options, existing: &existing)
        }.compactMap { $0 }
    }

    /// Starts `definition` for `trigger` unless a run of it with that trigger exists (then nil); quota refusals and
    /// start errors are returned as actions, not thrown, so one broken workflow never stops the others.
    func startTriggered(_ definition: WorkflowDefinition, trigger: String, candidates: [String: String],
                        now: Date, options: WorkflowOptions, existing: inout Set<String>?) throws -> TickAction? {
        // Keyed by workflow and trigger: one event (or commit, or minute) may start several workflows, each once.
        if existing == nil { existing = Set(try workflowRuns().compactMap { run in run.trigger.map { run.workflow + "\u{0}" + $0 } }) }
        let key = definition.name + "\u{0}" + trigger
        if existing?.contains(key) == true { return nil }
        let declared = Set(definition.inputs.map(\.name))
        let input = candidates.filter { declared.contains($0.key) }
        do {
            let run = try startWorkflow(name: definition.name, input: input, trigger: trigger, now: now, options: options)
            existing?.insert(key)
            return TickAction(kind: .started, workflow: definition.name, run: run.id, trigger: trigger, status: run.status.rawValue,
                              detail: run.message)
        } catch let e as RunLimitError {
            // The run started, then a step was refused (an agent's quota or breaker): it waits, and a later tick
            // goes on once the limit allows.
            existing?.insert(key)
            let run = try workflowRuns().last { $0.workflow == definition.name && $0.trigger == trigger }
            return TickAction(kind: .started, workflow: definition.name, run: run?.id, trigger: trigger,
                              status: run?.status.rawValue, detail: "held: " + e.description)
        } catch WorkflowError.startRefused(let limit) {
            // The workflow's own quota or breaker: nothing started.
            return TickAction(kind: .blocked, workflow: definition.name, run: nil, trigger: trigger, status: nil, detail: limit.description)
        } catch let e as WorkflowError {
            return TickAction(kind: .error, workflow: definition.name, run: nil, trigger: trigger, status: nil, detail: e.description)
        } catch let e as VaultError {
            return TickAction(kind: .error, workflow: definition.name, run: nil, trigger: trigger, status: nil, detail: e.description)
        }
    }
}
