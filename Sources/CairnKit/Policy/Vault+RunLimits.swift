import CairnGit
import Foundation

/// Runs, model tokens and model spend counted over one UTC day.
public struct RunUsage: Sendable, Codable, Equatable {
    public var runs = 0
    public var tokens = 0
    public var costUSD = 0.0

    public init(runs: Int = 0, tokens: Int = 0, costUSD: Double = 0) {
        self.runs = runs
        self.tokens = tokens
        self.costUSD = costUSD
    }
}

/// One agent's or workflow's daily quota: the limits in force and what today's runs used.
public struct QuotaStatus: Sendable, Codable {
    /// `agent` or `workflow`.
    public let kind: String
    public let name: String
    /// The limits that apply (overrides resolved).
    public let limits: Policy.Quotas.Limits
    public let used: RunUsage
    /// The quota keys at or over their limit (`runs_per_day`, `tokens_per_day`, `cost_usd_per_day`).
    public let exhausted: [String]
}

/// Where an agent's (or a workflow's) circuit breaker stands.
public struct BreakerStatus: Sendable, Codable {
    /// The agent's name, or the workflow's for a workflow breaker.
    public let agent: String
    /// `agent` or `workflow`.
    public var kind = "agent"
    /// Failures in a row that open the breaker (0: never).
    public let threshold: Int
    /// The agent's most recent runs that failed in a row, newest first, not counting runs forgiven by a reset.
    public let failedRuns: [String]
    /// True when the agent is paused until `cairn policy reset AGENT`.
    public let open: Bool
    /// When the breaker was last reset, and by whom.
    public let lastReset: String?
}

/// What `cairn policy` shows about runs: today's usage against the quotas, and each breaker.
public struct RunLimitsReport: Sendable, Codable {
    /// The UTC day counted (`YYYY-MM-DD`).
    public let day: String
    /// When today's counts start again (next midnight UTC).
    public let resetsAt: String
    public let agents: [QuotaStatus]
    public let workflows: [QuotaStatus]
    public let breakers: [BreakerStatus]
    /// Breakers of workflows that have runs or a threshold override.
    public let workflowBreakers: [BreakerStatus]
}

/// Why a run may not start: a daily quota is used up or an agent's circuit breaker is open.
public enum RunLimitError: Error, CustomStringConvertible, Sendable, Equatable {
    /// `subject` (`agent triage`, `workflow weekly-review`) reached `quota` (a policy key).
    case quotaExhausted(subject: String, quota: String, used: String, limit: String, resetsAt: String, override: String)
    /// The agent failed `failures.count` times in a row.
    case breakerOpen(agent: String, failures: [String])
    /// The workflow's last `failures.count` runs failed.
    case workflowBreakerOpen(workflow: String, failures: [String])

    public var description: String {
        switch self {
        case let .quotaExhausted(subject, quota, used, limit, resetsAt, override):
            return "\(subject) has reached its daily quota \(quota): \(used) used of \(limit) today (UTC); "
                + "it resets at \(resetsAt), or raise \(override) in policy.json"
        case let .breakerOpen(agent, failures):
            return "agent \(agent) is paused by its circuit breaker: its last \(failures.count) runs failed "
                + "(\(failures.joined(separator: ", "))); `git show refs/cairn/runs/\(failures.first ?? "")` shows the latest; "
                + "fix the agent, then `cairn policy reset \(agent)`"
        case let .workflowBreakerOpen(workflow, failures):
            return "workflow \(workflow) is paused by its circuit breaker: its last \(failures.count) runs failed "
                + "(\(failures.joined(separator: ", "))); `cairn runs \(failures.first ?? "")` shows why; "
                + "fix it, then `cairn policy reset --workflow \(workflow)`"
        }
    }
}

/// A breaker reset, stored as `reset.json` in a commit on `refs/cairn/breakers/<agent>`.
struct BreakerReset: Codable {
    var version = 1
    var agent: String
    var resetBy: String
    var resetAt: String
    /// The failed runs this reset (and every reset before it) forgave; counting failures skips them.
    var forgiven: [String]
}

/// One run as its commit's trailers tell it.
struct RunLedgerEntry {
    let id: String
    let agent: String
    /// The workflow run id from `Cairn-Workflow: RUN/STEP`.
    let workflowRun: String?
    let outcome: String?
    let tokens: Int
    let costUSD: Double

    var isFailure: Bool { outcome == RunRecord.Outcome.failed.rawValue || outcome == RunRecord.Outcome.blocked.rawValue }
}

extension Vault {
    /// Where breaker resets are recorded, one ref per agent.
    public static let breakersPrefix = "refs/cairn/breakers/"
    /// Where workflow breaker resets are recorded, one ref per workflow.
    public static let workflowBreakersPrefix = "refs/cairn/workflow-breakers/"
    /// Where the workflow engine keeps each run's checkpoints.
    static let workflowRunsPrefix = "refs/cairn/workflows/"

    /// Refuses to start a run of `agent` (for workflow step `workflow`, `RUN/STEP`) when a quota is used up or the
    /// agent's breaker is open. Reads only.
    ///
    /// Usage is counted from the run commits (every ref a run leaves: pending, archived, failed), so it is exact
    /// after a crash and needs no state of its own. A refused run writes nothing.
    public func checkRunLimits(agent: String, workflow: String?, policy: Policy, now: Date) throws {
        let refs = try runRefs()  // listed once for the quotas and the breaker
        let ledger = try runLedger(day: now, runRefs: refs)
        let day = Self.utcDay(now)
        let agentUsage = usage(ledger.filter { $0.agent == agent })
        try checkQuota(subject: "agent \(agent)", limits: policy.quotas.limits(agent: agent), used: agentUsage,
                       override: "quotas.agents.\(agent)", day: day)
        if let workflow, let run = workflow.split(separator: "/").first.map(String.init), let name = workflowName(ofRun: run) {
            // A started workflow run may finish its steps; its tokens and spend still count.
            var used = try workflowUsage(name, ledger: ledger, day: now)
            used.runs = 0
            var limits = policy.quotas.limits(workflow: name)
            limits.runsPerDay = nil
            try checkQuota(subject: "workflow \(name)", limits: limits, used: used, override: "quotas.workflows.\(name)", day: day)
        }
        let breaker = try breakerStatus(agent: agent, policy: policy, runRefs: refs)
        if breaker.open { throw RunLimitError.breakerOpen(agent: agent, failures: breaker.failedRuns) }
    }

    /// Refuses to start a new run of workflow `name` when one of its quotas is used up or its breaker is open.
    /// Reads only.
    public func checkWorkflowStart(_ name: String, policy: Policy, now: Date) throws {
        let used = try workflowUsage(name, ledger: try runLedger(day: now), day: now)
        try checkQuota(subject: "workflow \(name)", limits: policy.quotas.limits(workflow: name), used: used,
                       override: "quotas.workflows.\(name)", day: Self.utcDay(now))
        let breaker = try workflowBreakerStatus(workflow: name, policy: policy)
        if breaker.open { throw RunLimitError.workflowBreakerOpen(workflow: name, failures: breaker.failedRuns) }
    }

    /// Where workflow `name`'s breaker stands: its latest finished runs that failed in a row (cancelled runs and
    /// runs under way do not count either way), skipping runs a reset forgave.
    public func workflowBreakerStatus(workflow name: String, policy: Policy, runs: [WorkflowRun]? = nil) throws -> BreakerStatus {
        let threshold = policy.circuitBreaker.threshold(workflow: name)
        let ref = Self.workflowBreakersPrefix + Slug.make(name)
        let reset = try breakerReset(at: ref)
        var failures: [String] = []
        if threshold > 0 {
            let forgiven = Set(reset?.forgiven ?? [])
            let mine = try (runs ?? workflowRuns()).filter { $0.workflow == name }
                .sorted { ($0.startedAt, $0.id) > ($1.startedAt, $1.id) }
            for run in mine where failures.count < threshold && !forgiven.contains(run.id) {
                if run.status == .failed { failures.append(run.id) } else if run.status == .done { break }
            }
        }
        var status = BreakerStatus(agent: name, threshold: threshold, failedRuns: failures,
                                   open: threshold > 0 && failures.count >= threshold,
                                   lastReset: reset.map { "\($0.resetAt) by \($0.resetBy)" })
        status.kind = "workflow"
        return status
    }

    /// Closes workflow `name`'s breaker: its failed runs so far no longer count. Recorded as a commit on
    /// `refs/cairn/workflow-breakers/<name>`.
    @discardableResult
    public func resetWorkflowBreaker(workflow name: String, author: OperatorIdentity, now: Date) throws -> BreakerStatus {
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        let policy = try loadPolicy()
        let runs = try workflowRuns()
        guard workflowCatalog().definition(named: name) != nil || runs.contains(where: { $0.workflow == name }) else {
            throw WorkflowError.unknownWorkflow(name, known: workflowCatalog().definitions.map(\.name))
        }
        var unlimited = policy
        unlimited.circuitBreaker.workflows[name] = .max
        let failures = try workflowBreakerStatus(workflow: name, policy: unlimited, runs: runs).failedRuns
        try recordReset(ref: Self.workflowBreakersPrefix + Slug.make(name), subject: "workflow \(name)", name: name,
                        failures: failures, trailer: Trailer("Cairn-Workflow-Name", name), author: author, now: now)
        return try workflowBreakerStatus(workflow: name, policy: policy)
    }

    /// Today's usage and limits of every agent (and every workflow with a quota override or usage), and each
    /// agent's breaker.
    public func runLimits(policy: Policy, now: Date) throws -> RunLimitsReport {
        let refs = try runRefs()
        let ledger = try runLedger(day: now, runRefs: refs)
        let agentNames = Set(agentCatalog().agents.map(\.name)).union(ledger.map(\.agent)).sorted()
        let agents = agentNames.map { name in
            quotaStatus(kind: "agent", name: name, limits: policy.quotas.limits(agent: name), used: usage(ledger.filter { $0.agent == name }))
        }
        var workflowNames = Set(policy.quotas.workflows.keys)
        for run in Set(ledger.compactMap(\.workflowRun)) { if let name = workflowName(ofRun: run) { workflowNames.insert(name) } }
        for (name, _) in try repository.references(withPrefix: Self.workflowRunsPrefix) {
            let id = String(name.dropFirst(Self.workflowRunsPrefix.count))
            if Self.mayStart(id, on: now), let workflow = workflowName(ofRun: id) { workflowNames.insert(workflow) }
        }
        let workflows = try workflowNames.sorted().map { name in
            quotaStatus(kind: "workflow", name: name, limits: policy.quotas.limits(workflow: name),
                        used: try workflowUsage(name, ledger: ledger, day: now))
        }
        let breakers = try agentNames.map { try breakerStatus(agent: $0, policy: policy, runRefs: refs) }
        let runs = try workflowRuns()
        let breakerNames = Set(runs.map(\.workflow)).union(policy.circuitBreaker.workflows.keys).sorted()
        let workflowBreakers = try breakerNames.map { try workflowBreakerStatus(workflow: $0, policy: policy, runs: runs) }
        return RunLimitsReport(day: Self.utcDay(now), resetsAt: ISOTime.string(Self.nextUTCMidnight(after: now)),
                               agents: agents, workflows: workflows, breakers: breakers, workflowBreakers: workflowBreakers)
    }

    /// Closes agent `agent`'s circuit breaker: its failures so far no longer count. Recorded as a commit on
    /// `refs/cairn/breakers/<agent>` (moved by compare-and-swap), so the reset survives crashes and syncs.
    @discardableResult
    public func resetBreaker(agent: String, author: OperatorIdentity, now: Date) throws -> BreakerStatus {
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        let policy = try loadPolicy()
        let known = agentCatalog().agents.contains { $0.name == agent }
        let failures = try consecutiveFailures(agent: agent, limit: .max)
        guard try known || !agentRunIDs(agent).isEmpty else {
            let names = agentCatalog().agents.map(\.name).joined(separator: ", ")
            throw VaultError.invalidArgument("unknown agent '\(agent)'; agents in this vault: \(names.isEmpty ? "none" : names) (see agents/)")
        }
        try recordReset(ref: Self.breakersPrefix + Slug.make(agent), subject: agent, name: agent, failures: failures,
                        trailer: Trailer("Cairn-Agent", agent), author: author, now: now)
        return try breakerStatus(agent: agent, policy: policy)
    }

    /// Writes a reset commit on `ref` forgiving `failures` (and whatever earlier resets forgave), by compare-and-swap.
    private func recordReset(ref: String, subject: String, name: String, failures: [String], trailer: Trailer,
                             author: OperatorIdentity, now: Date) throws {
        let parent = try repository.referenceTarget(ref)
        let earlier = try breakerReset(at: ref)?.forgiven ?? []
        let reset = BreakerReset(agent: name, resetBy: "\(author.name) <\(author.email)>", resetAt: ISOTime.string(now),
                                 forgiven: Array(Set(earlier + failures)).sorted())
        let blob = try repository.writeBlob(try RecordJSON.encode(reset))
        let tree = try repository.updateTree(base: nil, changes: [.upsert(path: "reset.json", oid: blob, mode: TreeChange.fileMode)])
        let signature = Signature(name: author.name, email: author.email, time: now)
        let message = Trailer.message(
            subject: "Reset the circuit breaker of \(subject)",
            body: failures.isEmpty ? "" : "Forgives \(failures.count) failed run\(failures.count == 1 ? "" : "s"): \(failures.joined(separator: ", "))",
            trailers: [Trailer("Cairn-Operation", "breaker-reset"), trailer])
        let commit = try repository.createCommit(tree: tree, parents: parent.map { [$0] } ?? [], author: signature,
                                                 committer: signature, message: message)
        do {
            try repository.updateReference(ref, to: commit, expected: parent, message: "cairn policy reset \(name)")
        } catch {
            if case GitError.modified = error { throw VaultError.concurrentUpdate(ref: ref) }
            throw error
        }
    }

    /// Where agent `agent`'s breaker stands under `policy`. `runRefs` (from `runRefs()`) saves listing the refs
    /// again when checking many agents.
    public func breakerStatus(agent: String, policy: Policy, runRefs: [(id: String, commit: OID)]? = nil) throws -> BreakerStatus {
        let threshold = policy.circuitBreaker.threshold(agent: agent)
        let failures = threshold == 0 ? [] : try consecutiveFailures(agent: agent, limit: threshold, runRefs: runRefs)
        let last = try lastBreakerReset(agent: agent)
        return BreakerStatus(agent: agent, threshold: threshold, failedRuns: failures,
                             open: threshold > 0 && failures.count >= threshold,
                             lastReset: last.map { "\($0.resetAt) by \($0.resetBy)" })
    }

    // MARK: - Counting

    private func checkQuota(subject: String, limits: Policy.Quotas.Limits, used: RunUsage, override: String, day: String) throws {
        let resets = ISOTime.string(Self.nextUTCMidnight(after: Self.dayStart(day)))
        if let limit = limits.runsPerDay, used.runs >= limit {
            throw RunLimitError.quotaExhausted(subject: subject, quota: "runs_per_day", used: "\(used.runs) runs", limit: "\(limit)",
                                               resetsAt: resets, override: "\(override).runs_per_day")
        }
        if let limit = limits.tokensPerDay, used.tokens >= limit {
            throw RunLimitError.quotaExhausted(subject: subject, quota: "tokens_per_day", used: "\(used.tokens) tokens", limit: "\(limit)",
                                               resetsAt: resets, override: "\(override).tokens_per_day")
        }
        if let limit = limits.costUSDPerDay, used.costUSD >= limit {
            throw RunLimitError.quotaExhausted(subject: subject, quota: "cost_usd_per_day", used: String(format: "$%.4f", used.costUSD),
                                               limit: String(format: "$%.4f", limit), resetsAt: resets,
                                               override: "\(override).cost_usd_per_day")
        }
    }

    private func quotaStatus(kind: String, name: String, limits: Policy.Quotas.Limits, used: RunUsage) -> QuotaStatus {
        var exhausted: [String] = []
        if let l = limits.runsPerDay, used.runs >= l { exhausted.append("runs_per_day") }
        if let l = limits.tokensPerDay, used.tokens >= l { exhausted.append("tokens_per_day") }
        if let l = limits.costUSDPerDay, used.costUSD >= l { exhausted.append("cost_usd_per_day") }
        return QuotaStatus(kind: kind, name: name, limits: limits, used: used, exhausted: exhausted)
    }

    private func usage(_ entries: [RunLedgerEntry]) -> RunUsage {
        entries.reduce(into: RunUsage()) { u, e in
            u.runs += 1
            u.tokens += e.tokens
            u.costUSD += e.costUSD
        }
    }

    /// Workflow `name`'s usage on `day`: runs started that day, and the tokens and spend of their steps.
    private func workflowUsage(_ name: String, ledger: [RunLedgerEntry], day: Date) throws -> RunUsage {
        var used = RunUsage()
        let dayPrefix = Self.utcDay(day)
        for (ref, target) in try repository.references(withPrefix: Self.workflowRunsPrefix) {
            let id = String(ref.dropFirst(Self.workflowRunsPrefix.count))
            guard Self.mayStart(id, on: day), let state = workflowState(at: target), state.workflow == name,
                  state.startedAt.hasPrefix(dayPrefix) else { continue }
            used.runs += 1
        }
        for entry in ledger {
            guard let run = entry.workflowRun, workflowName(ofRun: run) == name else { continue }
            used.tokens += entry.tokens
            used.costUSD += entry.costUSD
        }
        return used
    }

    /// Every run whose id says it started on `day` (UTC), from the refs runs leave behind. `runRefs` (from
    /// `runRefs()`) saves listing the refs again when the caller needs them for the breakers too.
    func runLedger(day: Date, runRefs: [(id: String, commit: OID)]? = nil) throws -> [RunLedgerEntry] {
        let stamp = Self.runIDDay(day)
        var cache = RunLedgerCache(gitDir: gitDir, day: stamp)
        var entries: [RunLedgerEntry] = []
        for ref in try (runRefs ?? self.runRefs()) where ref.id.utf8.starts(with: stamp.utf8) {
            let entry: RunLedgerEntry?
            if let cached = cache.entry(id: ref.id, commit: ref.commit) {
                entry = cached
            } else {
                entry = try ledgerEntry(id: ref.id, commit: ref.commit)
                cache.set(id: ref.id, commit: ref.commit, entry: entry)
            }
            if let entry { entries.append(entry) }
        }
        cache.save()
        return entries
    }

    private func ledgerEntry(id: String, commit oid: OID) throws -> RunLedgerEntry? {
        let t = try repository.commit(oid).trailerValues
        guard let agent = t["Cairn-Agent"] else { return nil }
        return RunLedgerEntry(id: id, agent: agent,
                              workflowRun: t["Cairn-Workflow"].flatMap { $0.split(separator: "/").first.map(String.init) },
                              outcome: t["Cairn-Outcome"], tokens: Int(t["Cairn-Tokens"] ?? "") ?? 0,
                              costUSD: Double(t["Cairn-Cost-USD"] ?? "") ?? 0)
    }

    /// Every run's id and commit (pending, failed, archived), newest first (run ids start with their UTC time).
    public func runRefs() throws -> [(id: String, commit: OID)] {
        var found: [String: OID] = [:]
        for prefix in [Self.proposalPrefix, Self.runsPrefix, Self.failedPrefix, Self.archivePrefix] {
            for (name, target) in try repository.references(withPrefix: prefix) {
                let id = String(name.dropFirst(prefix.count))
                if found[id] == nil { found[id] = target }
            }
        }
        return found.sorted { $0.key > $1.key }.map { (id: $0.key, commit: $0.value) }
    }

    /// The ids and commits that may be agent `agent`'s runs, newest first: ids of the standard shape
    /// `YYYYMMDD-HHMMSS-<slug>-<4 hex>` with its slug, and every id of another shape (workflow steps), which the
    /// caller checks by its `Cairn-Agent` trailer.
    private func agentRunIDs(_ agent: String, runRefs: [(id: String, commit: OID)]? = nil) throws -> [(id: String, commit: OID)] {
        let slug = Slug.make(agent)
        return try (runRefs ?? self.runRefs()).filter { Self.mayBeRun(of: slug, id: $0.id) }
    }

    /// False only for a run id of the standard shape whose slug is not `slug` (that run is another agent's).
    static func mayBeRun(of slug: String, id: String) -> Bool {
        let standard = id.count > 21 && id.dropLast(4).last == "-" && id.prefix(16).last == "-"
        return !standard || id.dropFirst(16).dropLast(5) == slug[...]
    }

    /// Agent `agent`'s latest runs that failed in a row (newest first, at most `limit`), stopping at a run that
    /// did not fail and skipping the runs a breaker reset forgave.
    func consecutiveFailures(agent: String, limit: Int, runRefs: [(id: String, commit: OID)]? = nil) throws -> [String] {
        let forgiven = Set(try lastBreakerReset(agent: agent)?.forgiven ?? [])
        var failures: [String] = []
        for (id, commit) in try agentRunIDs(agent, runRefs: runRefs) where failures.count < limit {
            guard let entry = try ledgerEntry(id: id, commit: commit), entry.agent == agent else { continue }
            if forgiven.contains(id) { continue }
            if !entry.isFailure { break }
            failures.append(id)
        }
        return failures
    }

    private func lastBreakerReset(agent: String) throws -> BreakerReset? {
        try breakerReset(at: Self.breakersPrefix + Slug.make(agent))
    }

    private func breakerReset(at ref: String) throws -> BreakerReset? {
        guard let tip = try repository.referenceTarget(ref) else { return nil }
        let tree = try repository.commit(tip).tree
        guard let entry = try repository.entry(at: "reset.json", in: tree) else { return nil }
        return try? JSONDecoder().decode(BreakerReset.self, from: try repository.blob(entry.oid))
    }

    // MARK: - Workflow runs (read from the engine's checkpoints)

    /// The two fields of a workflow run's `state.json` that quotas need.
    struct WorkflowStateHeader: Decodable {
        let workflow: String
        let startedAt: String
    }

    private func workflowState(at commit: OID) -> WorkflowStateHeader? {
        guard let tree = try? repository.commit(commit).tree, let entry = try? repository.entry(at: "state.json", in: tree),
              let data = try? repository.blob(entry.oid) else { return nil }
        return try? JSONDecoder().decode(WorkflowStateHeader.self, from: data)
    }

    /// The workflow a workflow run belongs to, from its checkpoint.
    func workflowName(ofRun id: String) -> String? {
        guard RunID.isValid(id), let tip = try? repository.referenceTarget(Self.workflowRunsPrefix + id) else { return nil }
        return workflowState(at: tip)?.workflow
    }

    /// False only for run ids that say they started on another day than `day`.
    private static func mayStart(_ id: String, on day: Date) -> Bool {
        let digits = id.prefix(8)
        guard digits.count == 8, digits.allSatisfy(\.isNumber) else { return true }
        return digits == runIDDay(day)
    }

    // MARK: - Days

    static func utcDay(_ date: Date) -> String { String(ISOTime.string(date).prefix(10)) }

    static func runIDDay(_ date: Date) -> String { utcDay(date).replacingOccurrences(of: "-", with: "") }

    static func dayStart(_ day: String) -> Date {
        ISOTime.date(from: day + "T00:00:00Z") ?? Date(timeIntervalSince1970: 0)
    }

    static func nextUTCMidnight(after date: Date) -> Date {
        let seconds = date.timeIntervalSince1970
        return Date(timeIntervalSince1970: ((seconds / 86400).rounded(.down) + 1) * 86400)
    }
}
