import CairnGit
import Foundation

/// One thing a tick (or `cairn emit`) did or tried with a workflow.
public struct TickAction: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable {
        /// A new run was started by a trigger.
        case started
        /// An existing run moved on (retry due, approval decided, interrupted run resumed).
        case advanced
        /// A quota or circuit breaker refused it.
        case blocked
        /// It failed to start or advance (the detail says why).
        case error
    }
    public let kind: Kind
    public let workflow: String
    /// The workflow run, when one exists.
    public let run: String?
    /// What started it (`schedule …`, `paths …`, `event …`), for new runs.
    public let trigger: String?
    /// The run's status afterwards.
    public let status: String?
    public let detail: String?
}

/// What `cairn tick` did and what waits for the operator.
public struct TickReport: Sendable, Codable {
    /// The tick's time.
    public let now: String
    /// The previous tick's time (nil on the first tick, which only starts watching).
    public let since: String?
    /// True when another tick held the lock, so this one did nothing.
    public let skipped: Bool
    public let actions: [TickAction]
    /// What waits for the operator (stale proposals, gates, hand-offs, stuck runs, open breakers, blocked runs).
    public let waiting: [String]
    /// The digest note written on main, when something happened or what waits changed.
    public let digest: String?
    public let digestCommit: String?
    /// Set when another machine runs this vault's workflows (see `workflowsLeftToAnotherMachine`): why nothing ran.
    public var leftToAnotherMachine: String? = nil
}

/// The tick's memory: when it last looked and which main commit it had seen.
struct TickState: Codable, Equatable {
    var version = 1
    var at: String
    var main: String?
}

extension Vault {
    /// The ref whose commits record ticks that did something (durable across a lost `.git/cairn/`).
    public static let tickRef = "refs/cairn/tick"
    /// Where tick digests go.
    public static let digestsFolder = "inbox/digests"

    /// Runs what is due and reports what waits: schedules whose minute passed since the last tick, workflows
    /// watching paths that changed on main since then, events not yet handled, retries that are due, runs
    /// whose gate was decided or that a crash interrupted; then health checks and a digest note.
    ///
    /// Guarantees:
    /// - Only one tick works at a time (`TickLock`); a second one returns at once with `skipped`.
    /// - Nothing runs twice: every start carries a trigger key (`schedule CRON @ MINUTE`, `paths main@COMMIT`,
    ///   `event NAME ID`) and a key that already has a run is skipped, even after a crash mid-tick.
    /// - An idle tick writes no commit: its time goes to `.git/cairn/tick.json`; a tick that started or advanced
    ///   something also records its state as a commit on `refs/cairn/tick`, which is enough to carry on if
    ///   `.git/cairn/` is lost (a schedule that fired moved that ref, so it cannot fire again).
    /// - The digest `inbox/digests/tick-YYYY-MM-DD.md` is committed on main (operator-attributed, trailer
    ///   `Cairn-Operation: tick`) only when something happened or what waits for the operator changed.
    /// - Paths under `inbox/digests/` and `inbox/events/` never trigger `paths` workflows (events trigger
    ///   `event` workflows), so a tick's own writes cannot trigger the next tick.
    public func tick(now: Date, options: WorkflowOptions) throws -> TickReport {
        guard let tickLock = try TickLock.attempt(gitDir: gitDir) else {
            return TickReport(now: ISOTime.string(now), since: nil, skipped: true, actions: [], waiting: [], digest: nil, digestCommit: nil)
        }
        defer { withExtendedLifetime(tickLock) {} }
        if let elsewhere = try workflowsLeftToAnotherMachine() {
            var report = TickReport(now: ISOTime.string(now), since: loadTickState()?.at ?? ISOTime.string(now), skipped: false,
                                    actions: [], waiting: [], digest: nil, digestCommit: nil)
            report.leftToAnotherMachine = elsewhere
            return report
        }
        let retention = tickRetention(now: now, author: options.author)
        let previous = loadTickState()
        let head = try head()
        var actions: [TickAction] = retention.actions
        var waiting: [String] = retention.waiting
        var existing: Set<String>?

        let policy = try loadPolicy()
        if let previous, let last = ISOTime.date(from: previous.at), last < now {
            // Triggers come from a cached index; the full catalog is parsed only when something is due.
            let index = triggerIndex()
            var parsed: WorkflowCatalog?
            func catalog() -> WorkflowCatalog {
                if let parsed { return parsed }
                let fresh = workflowCatalog()
                parsed = fresh
                return fresh
            }
            // Schedules: one start per schedule whose minute passed, keyed by the latest such minute.
            for entry in index.workflows {
                for expression in entry.schedules {
                    guard let cron = try? CronSchedule(parsing: expression), cron.isDue(since: last, now: now) else { continue }
                    var minute = last
                    var steps = 0
                    while let next = cron.next(after: minute), next <= now, steps < 1_000_000 { minute = next; steps += 1 }
                    let trigger = "schedule \(expression) @ \(ISOTime.string(minute))"
                    guard let definition = catalog().definition(named: entry.name) else { continue }
                    if let a = try startTriggered(definition, trigger: trigger, candidates: ["scheduled_at": ISOTime.string(minute)],
                                                  now: now, options: options, existing: &existing) {
                        actions.append(a)
                    }
                }
            }
            // Paths and events: what changed on main since the last tick.
            if let head, let seen = previous.main.flatMap(OID.init(hex:)).map(resolveRewritten), seen != head {
                actions += try changesSince(seen, head: head, index: index, catalog: catalog, now: now,
                                            options: options, existing: &existing)
            }
            // Runs already under way: due retries, decided gates, interrupted runs.
            let startedNow = Set(actions.compactMap(\.run))
            let (advanced, blockedNow) = try advanceDueRuns(now: now, skipping: startedNow, options: options)
            actions += advanced
            waiting += blockedNow
        }
        waiting = try healthFindings(policy: policy, now: now) + waiting

        // The digest: only when something happened or what waits changed. A run that stays held or broken is
        // listed under "waiting" (stable text), not once per minute under "happened".
        let happened = actions.filter { $0.kind == .started || $0.kind == .advanced || $0.trigger != nil }
        var digestPath: String?
        var digestCommit: String?
        if previous != nil, let head {
            (digestPath, digestCommit) = try writeDigest(happened: happened, waiting: waiting, now: now, head: head,
                                                         author: options.author)
        }
        // Remember this tick: always in the cache, durably when it did something.
        // Never move the remembered time backwards (a clock set back must not make old minutes due again).
        let at = max(ISOTime.string(now), previous?.at ?? "")
        let state = TickState(at: at, main: head?.hex)
        saveTickCache(state)
        if previous == nil || !happened.isEmpty || digestCommit != nil {
            try saveTickRef(state, author: options.author, now: now)
        }
        return TickReport(now: ISOTime.string(now), since: previous?.at, skipped: false, actions: actions, waiting: waiting,
                          digest: digestPath, digestCommit: digestCommit)
    }

    // MARK: - Triggers

    private func changesSince(_ seen: OID, head: OID, index: TriggerIndex, catalog: () -> WorkflowCatalog,
                              now: Date, options: WorkflowOptions, existing: inout Set<String>?) throws -> [TickAction] {
        // A prune or forget since may have changed the id of the commit last seen.
        let seen = (try? rewrittenIDs().current(seen)).flatMap { $0 } ?? seen
        guard let oldTree = try? repository.commit(seen).tree else { return [] }  // history rewritten: start over
        let newTree = try repository.commit(head).tree
        var diffOptions = DiffOptions()
        diffOptions.detectRenames = false
        diffOptions.includeUntracked = false
        let deltas = try repository.diff(from: oldTree, to: newTree, options: diffOptions).deltas
        var actions: [TickAction] = []
        var changed: [String] = []
        var events: [EventRecord] = []
        for d in deltas where d.kind != .deleted {
            if d.newPath.hasPrefix(Self.eventsFolder + "/") {
                if d.newPath.hasSuffix(".json"), let data = try? repository.blob(d.newOID),
                   let record = try? JSONDecoder().decode(EventRecord.self, from: data) {
                    events.append(record)
                }
                continue
            }
            if d.newPath.hasPrefix(Self.digestsFolder + "/") { continue }
            changed.append(d.newPath)
        }
        if !changed.isEmpty {
            for entry in index.workflows where !entry.paths.isEmpty {
                let globs = entry.paths.map(Glob.init)
                let matched = changed.filter { path in globs.contains { $0.matches(path) } }.sorted()
                guard !matched.isEmpty, let definition = catalog().definition(named: entry.name) else { continue }
                let trigger = "paths main@\(head.hex.prefix(12))"
                var candidates = ["path": matched[0], "paths": matched.joined(separator: "\n")]
                // A workflow with one required input (lead-qualification's `lead`) gets the new file as that input.
                let required = definition.inputs.filter(\.required).map(\.name)
                if required.count == 1, candidates[required[0]] == nil { candidates[required[0]] = matched[0] }
                if let a = try startTriggered(definition, trigger: trigger, candidates: candidates, now: now,
                                              options: options, existing: &existing) {
                    actions.append(a)
                }
            }
        }
        let listened = Set(index.workflows.flatMap(\.events))
        for record in events.sorted(by: { $0.id < $1.id }) where listened.contains(record.event) {
            actions += try startEventWorkflows(record, catalog: catalog(), now: now, options: options, existing: &existing)
        }
        return actions
    }

    /// Advances runs that can move: a retry that is due, a gate whose proposal was decided, a run left `running`
    /// (a crash, or a quota that has since reset). Returns the actions and, for runs a quota or breaker still
    /// holds, one waiting line each.
    private func advanceDueRuns(now: Date, skipping: Set<String>, options: WorkflowOptions) throws -> ([TickAction], [String]) {
        var actions: [TickAction] = []
        var blocked: [String] = []
        for (ref, target) in try repository.references(withPrefix: Self.workflowsPrefix) {
            let id = String(ref.dropFirst(Self.workflowsPrefix.count))
            guard !skipping.contains(id) else { continue }
            // The checkpoint's trailer says the status without reading the state file.
            let status = (try? repository.commit(target))?.trailer("Cairn-Workflow-Status").flatMap(WorkflowStatus.init(rawValue:))
            if let status, status.isFinal || status == .waitingOperator { continue }
            guard let run = try? loadWorkflowRun(id: id, at: target).run else { continue }
            let due: Bool
            switch run.status {
            case .running: due = true
            case .waitingRetry:
                let at = run.retryDate ?? run.currentStep?.retryAt.flatMap { ISOTime.date(from: $0) }
                due = at.map { $0 <= now } ?? true
            case .waitingApproval:
                let awaited = run.currentStep?.run
                due = try awaited.map { try repository.referenceTarget(Self.proposalPrefix + $0) == nil } ?? true
            default: due = false
            }
            guard due else { continue }
            do {
                let after = try advanceWorkflow(runID: id, now: now, options: options)
                if after.checkpoint != run.checkpoint {
                    actions.append(TickAction(kind: .advanced, workflow: run.workflow, run: id, trigger: nil,
                                              status: after.status.rawValue, detail: after.message))
                }
            } catch let e as RunLimitError {
                actions.append(TickAction(kind: .blocked, workflow: run.workflow, run: id, trigger: nil, status: run.status.rawValue,
                                          detail: e.description))
                blocked.append("workflow run \(id) (\(run.workflow)) is held: \(e)")
            } catch let e as WorkflowError {
                actions.append(TickAction(kind: .error, workflow: run.workflow, run: id, trigger: nil, status: run.status.rawValue,
                                          detail: e.description))
                blocked.append("workflow run \(id) (\(run.workflow)) cannot go on: \(e)")
            } catch let e as VaultError {
                actions.append(TickAction(kind: .error, workflow: run.workflow, run: id, trigger: nil, status: run.status.rawValue,
                                          detail: e.description))
                blocked.append("workflow run \(id) (\(run.workflow)) cannot go on: \(e)")
            }
        }
        return (actions, blocked)
    }

    // MARK: - Health

    /// What waits for the operator, as stable lines (no relative times, so an unchanged situation gives the same text).
    func healthFindings(policy: Policy, now: Date) throws -> [String] {
        var lines: [String] = []
        let staleBefore = now.addingTimeInterval(-Double(policy.health.staleProposalDays) * 86400)
        for (ref, target) in try repository.references(withPrefix: Self.proposalPrefix).sorted(by: { $0.name < $1.name }) {
            let c = try repository.commit(target)
            guard c.committer.time < staleBefore else { continue }
            let id = String(ref.dropFirst(Self.proposalPrefix.count))
            lines.append("proposal \(id) (agent \(c.trailer("Cairn-Agent") ?? "?")) has waited for review since "
                         + "\(Self.utcDay(c.committer.time)): `cairn review \(id)`")
        }
        let stuckBefore = now.addingTimeInterval(-Double(policy.health.stuckRunHours) * 3600)
        var failedWorkflows = Set<String>()
        for (ref, target) in try repository.references(withPrefix: Self.workflowsPrefix) {
            let id = String(ref.dropFirst(Self.workflowsPrefix.count))
            let status = (try? repository.commit(target))?.trailer("Cairn-Workflow-Status").flatMap(WorkflowStatus.init(rawValue:))
            if status == .failed, let run = try? loadWorkflowRun(id: id, at: target).run { failedWorkflows.insert(run.workflow) }
            guard let status, !status.isFinal else { continue }
            guard let run = try? loadWorkflowRun(id: id, at: target).run else { continue }
            switch run.status {
            case .waitingApproval:
                let step = run.currentStep
                lines.append("workflow run \(id) (\(run.workflow)) waits for your decision on step \(step?.id ?? "?")"
                             + (step?.run.map { ": `cairn review \($0)`" } ?? ""))
            case .waitingOperator:
                lines.append("workflow run \(id) (\(run.workflow)) handed step \(run.currentStep?.id ?? "?") to you"
                             + (run.tasks.last.map { " (\($0))" } ?? "") + "; then `cairn resume \(id)`")
            case .running:
                if let updated = ISOTime.date(from: run.updatedAt), updated < stuckBefore {
                    lines.append("workflow run \(id) (\(run.workflow)) has made no progress since \(run.updatedAt): "
                                 + "`cairn runs` / `cairn cancel \(id)`")
                }
            default: break
            }
        }
        if !failedWorkflows.isEmpty {
            let runs = try workflowRuns()
            for name in failedWorkflows.sorted() {
                let breaker = try workflowBreakerStatus(workflow: name, policy: policy, runs: runs)
                if breaker.open {
                    lines.append("workflow \(name) is paused by its circuit breaker after \(breaker.failedRuns.count) failed runs "
                                 + "(latest \(breaker.failedRuns.first ?? "?")): fix it, then `cairn policy reset --workflow \(name)`")
                }
            }
        }
        let refs = try runRefs()
        for agent in agentNames() {
            let breaker = try breakerStatus(agent: agent, policy: policy, runRefs: refs)
            if breaker.open {
                lines.append("agent \(agent) is paused by its circuit breaker after \(breaker.failedRuns.count) failed runs "
                             + "(latest \(breaker.failedRuns.first ?? "?")): fix it, then `cairn policy reset \(agent)`")
            }
        }
        return lines
    }

    // MARK: - Digest

    /// Updates today's digest on main when `happened` is not empty or the waiting list differs from the one it shows.
    private func writeDigest(happened: [TickAction], waiting: [String], now: Date, head: OID,
                             author: OperatorIdentity) throws -> (String?, String?) {
        let day = Self.utcDay(now)
        let path = "\(Self.digestsFolder)/tick-\(day).md"
        let headTree = try repository.commit(head).tree
        let old = try repository.entry(at: path, in: headTree).map { String(decoding: try repository.blob($0.oid), as: UTF8.self) }
        let waitingHeading = "\n## Waiting for you\n"
        var happenedLines: [String] = []
        if let old, let start = old.range(of: "\n## Happened\n") {
            let rest = old[start.upperBound...]
            let end = rest.range(of: waitingHeading)?.lowerBound ?? rest.endIndex
            happenedLines = rest[..<end].split(separator: "\n").map(String.init).filter { $0.hasPrefix("- ") }
        }
        let time = String(ISOTime.string(now).dropFirst(11).prefix(5))
        for a in happened {
            var line = "- \(time) \(a.kind.rawValue) workflow \(a.workflow)"
            if let run = a.run { line += " run \(run)" }
            if let trigger = a.trigger { line += " (\(trigger))" }
            if let status = a.status { line += " → \(status)" }
            if let detail = a.detail, a.kind != .started || a.status != WorkflowStatus.done.rawValue { line += ": " + detail }
            happenedLines.append(line.replacingOccurrences(of: "\n", with: " "))
        }
        var text = "---\ntitle: Tick digest \(day)\ntags: [digest]\n---\n# Tick digest \(day)\n\n"
        text += "Written by `cairn tick` (times in UTC). What ran, and what waits for you.\n\n## Happened\n"
        text += happenedLines.isEmpty ? "\nNothing ran.\n" : "\n" + happenedLines.joined(separator: "\n") + "\n"
        text += waitingHeading + "\n" + (waiting.isEmpty ? "Nothing.\n" : waiting.map { "- " + $0 }.joined(separator: "\n") + "\n")
        if old == text || (old == nil && happened.isEmpty && waiting.isEmpty) { return (nil, nil) }

        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        try prepareForWrite(now: now)
        guard let main = try self.head() else { return (nil, nil) }
        let mainCommit = try repository.commit(main)
        let blob = try repository.writeBlob(Data(text.utf8))
        let tree = try repository.updateTree(base: mainCommit.tree, changes: [.upsert(path: path, oid: blob, mode: TreeChange.fileMode)])
        let started = happened.filter { $0.kind == .started }.count
        let subject = "Tick: " + (happened.isEmpty ? "" : "\(happened.count) workflow event\(happened.count == 1 ? "" : "s")"
            + (started > 0 ? " (\(started) started)" : "") + ", ") + "\(waiting.count) waiting for you"
        let sig = Signature(name: author.name, email: author.email, time: now)
        let message = Trailer.message(subject: subject, trailers: [Trailer("Cairn-Operation", "tick")])
        let commit = try repository.createCommit(tree: tree, parents: [main], author: sig, committer: sig, message: message)
        _ = try moveMain(from: mainCommit, to: commit, newTree: tree, message: "cairn tick \(day)", as: .tick)
        return (path, commit.hex)
    }

    // MARK: - State

    private var tickCachePath: String { gitDir + "cairn/tick.json" }

    /// The newer of the cached state (every tick) and the durable one on `refs/cairn/tick` (eventful ticks).
    func loadTickState() -> TickState? {
        let cached = FileManager.default.contents(atPath: tickCachePath).flatMap { try? JSONDecoder().decode(TickState.self, from: $0) }
        var durable: TickState?
        if let tip = try? repository.referenceTarget(Self.tickRef), let tree = try? repository.commit(tip).tree,
           let entry = try? repository.entry(at: "tick.json", in: tree), let data = try? repository.blob(entry.oid) {
            durable = try? JSONDecoder().decode(TickState.self, from: data)
        }
        switch (cached, durable) {
        case let (c?, d?): return c.at >= d.at ? c : d
        case let (c, d): return c ?? d
        }
    }

    private func saveTickCache(_ state: TickState) {
        try? FileManager.default.createDirectory(atPath: gitDir + "cairn", withIntermediateDirectories: true)
        try? RecordJSON.encode(state).write(to: URL(fileURLWithPath: tickCachePath), options: .atomic)
    }

    private func saveTickRef(_ state: TickState, author: OperatorIdentity, now: Date) throws {
        // Under the vault lock like every other ref write: a ref lock file held outside it would look, to a
        // concurrent writer's stale-lock check, like a git process at work and stop that writer.
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        let parent = try repository.referenceTarget(Self.tickRef)
        let blob = try repository.writeBlob(try RecordJSON.encode(state))
        let tree = try repository.updateTree(base: nil, changes: [.upsert(path: "tick.json", oid: blob, mode: TreeChange.fileMode)])
        let sig = Signature(name: author.name, email: author.email, time: now)
        let message = Trailer.message(subject: "Tick at \(state.at)", trailers: [Trailer("Cairn-Operation", "tick-state")])
        let commit = try repository.createCommit(tree: tree, parents: parent.map { [$0] } ?? [], author: sig, committer: sig, message: message)
        try repository.updateReference(Self.tickRef, to: commit, expected: parent, message: "cairn tick")
    }
}
