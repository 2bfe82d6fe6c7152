import CairnGit
import Foundation

/// What the caller of a workflow passes to the agent runs of its steps.
public struct WorkflowOptions: Sendable {
    /// Who commits (checkpoints, task notes) and on whose behalf agents run.
    public var author: OperatorIdentity
    /// The caller's environment (the CLI passes its own); agents get only what `AgentEnvironment` allows.
    public var environment: [String: String] = [:]
    /// The model API key, when the caller has it from elsewhere than `environment`.
    public var apiKey: String?
    /// Where agents' temporary work folders go (default: the system temp folder).
    public var workRoot: String?
    /// The clock of agent runs (durations, commit times); defaults to the `now` given to each call.
    public var clock: (@Sendable () -> Date)?

    public init(author: OperatorIdentity) { self.author = author }
}

extension Vault {
    /// Where each workflow run keeps its chain of state commits.
    public static let workflowsPrefix = "refs/cairn/workflows/"
    static let stateFile = "state.json"
    static let pinnedDefinitionFile = "workflow.md"

    // MARK: - Public API

    /// Every workflow run, oldest first, as of its last checkpoint. Reads only.
    public func workflowRuns() throws -> [WorkflowRun] {
        try repository.references(withPrefix: Self.workflowsPrefix).map { ref in
            try loadWorkflowRun(id: String(ref.name.dropFirst(Self.workflowsPrefix.count)), at: ref.target).run
        }.sorted { ($0.startedAt, $0.id) < ($1.startedAt, $1.id) }
    }

    /// One run by id, or a unique prefix or suffix of one. Reads only.
    public func workflowRun(_ id: String) throws -> WorkflowRun {
        let (rid, target) = try resolveWorkflowRun(id)
        return try loadWorkflowRun(id: rid, at: target).run
    }

    /// Starts workflow `name` and advances it as far as it goes (until a gate, a retry wait, a hand-off, the end).
    ///
    /// Checks the definition (agents, references, cycles, cron) and the inputs first and writes nothing when they
    /// are wrong. The definition is pinned in the run's first checkpoint, so editing the file later does not
    /// change a run in flight. Takes the vault lock for the start and then for each step in turn.
    public func startWorkflow(name: String, input: [String: String], trigger: String?, now: Date,
                              options: WorkflowOptions) throws -> WorkflowRun {
        let runID: String
        do {
            let lock = try VaultLock(gitDir: gitDir)
            defer { withExtendedLifetime(lock) {} }
            try prepareForWrite(now: now)
            let catalog = workflowCatalog()
            guard let definition = catalog.definition(named: name) else {
                let mine = catalog.problems.filter { ($0.path as NSString).lastPathComponent == name + ".md" }
                if !mine.isEmpty { throw WorkflowError.invalid(mine) }
                throw WorkflowError.unknownWorkflow(name, known: catalog.definitions.map(\.name))
            }
            // Quotas and the breaker apply to every start: tick, events and `cairn workflow run` alike.
            do {
                try checkWorkflowStart(definition.name, policy: try loadPolicy(), now: now)
            } catch let limit as RunLimitError {
                throw WorkflowError.startRefused(limit)
            }
            let resolvedInput = try Self.resolveInputs(definition, given: input)
            guard let data = FileManager.default.contents(atPath: absolutePath(definition.path)) else {
                throw WorkflowError.unknownWorkflow(name, known: catalog.definitions.map(\.name))
            }
            let definitionBlob = try repository.writeBlob(data)
            var id = RunID.make(agent: String(Slug.make(name).prefix(40)), now: now)
            while try repository.referenceTarget(Self.workflowsPrefix + id) != nil {
                id = RunID.make(agent: String(Slug.make(name).prefix(40)), now: now)
            }
            let time = ISOTime.string(now)
            var run = WorkflowRun(id: id, workflow: name, path: definition.path, trigger: trigger, input: resolvedInput,
                                  status: .running,
                                  steps: definition.steps.map { WorkflowStepState(id: $0.id, agent: $0.agent, status: .pending) },
                                  startedAt: time, updatedAt: time, finishedAt: nil, message: nil, retryAt: nil)
            try checkpoint(&run, definitionBlob: definitionBlob, event: "start" + (trigger.map { " (\($0))" } ?? ""), now: now)
            runID = id
        }
        return try advanceStepwise(runID, now: now, options: options)
    }

    /// Continues a run from its last checkpoint as far as it goes; safe to call any number of times.
    ///
    /// A step whose commit already exists (found by its run id on `proposals/`, the archive, `refs/cairn/runs/`
    /// or main) is never run again; a step that had not committed is run. Waits (gate, retry not yet due,
    /// hand-off) and final states return the run unchanged. This is what `cairn tick` calls.
    public func advanceWorkflow(runID: String, now: Date, options: WorkflowOptions) throws -> WorkflowRun {
        try advanceStepwise(try resolveWorkflowRun(runID).0, now: now, options: options)
    }

    /// Advances one pass (one step attempt or decision) at a time, each under its own vault lock and from the
    /// checkpoint as it is then, so `cancel`, `approve` or a snapshot can get in between two steps.
    func advanceStepwise(_ runID: String, now: Date, options: WorkflowOptions) throws -> WorkflowRun {
        var passes = 0
        while true {
            let lock = try VaultLock(gitDir: gitDir)
            defer { withExtendedLifetime(lock) {} }
            try prepareForWrite(now: now)
            var (run, definition, blob) = try loadForUpdate(runID)
            let request = Self.cancelRequestPath(gitDir: gitDir, runID: runID)
            if let who = FileManager.default.contents(atPath: request) {
                if !run.status.isFinal {
                    try cancelLocked(&run, definitionBlob: blob, now: now, by: String(decoding: who, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
                }
                try? FileManager.default.removeItem(atPath: request)
                return run
            }
            var engine = WorkflowEngine(vault: self, definition: definition, definitionBlob: blob, now: now, options: options)
            let before = run.checkpoint
            try engine.advance(&run, passes: 1)
            passes += 1
            // Go on while a pass moves the run (a wait found anew is checkpointed once, then the next pass finds
            // nothing to do); stop at the end or the bound.
            if run.status.isFinal || run.checkpoint == before || passes >= engine.maxPasses { return run }
        }
    }

    /// The operator's `cairn resume`: like `advanceWorkflow`, but a retry is due at once and a step handed to the
    /// operator counts as done by them. A finished run is returned as it is; a failed or cancelled one is refused.
    public func resumeWorkflow(runID: String, now: Date, options: WorkflowOptions) throws -> WorkflowRun {
        let id: String
        do {
            let lock = try VaultLock(gitDir: gitDir)
            defer { withExtendedLifetime(lock) {} }
            try prepareForWrite(now: now)
            var (run, definition, blob) = try loadForUpdate(runID)
            if run.status == .done { return run }
            if run.status.isFinal {
                throw WorkflowError.notActive(id: run.id, status: run.status, reason: "start a new run with `cairn workflow run \(run.workflow)`")
            }
            var engine = WorkflowEngine(vault: self, definition: definition, definitionBlob: blob, now: now, options: options)
            if let i = run.steps.firstIndex(where: { $0.status == .waitingOperator }) {
                run.steps[i].status = .handedOff
                run.status = .running
                run.message = nil
                try checkpoint(&run, definitionBlob: blob, event: "step \(run.steps[i].id) finished by the operator", now: now)
            }
            for i in run.steps.indices where run.steps[i].status == .waitingRetry {
                run.steps[i].retryAt = ISOTime.string(now)
            }
            run.retryAt = nil
            // The retry due now runs in this pass (its earlier due date is not stored); the rest goes step by step.
            let before = run.checkpoint
            try engine.advance(&run, passes: 1)
            if run.status.isFinal || run.checkpoint == before { return run }
            id = run.id
        }
        return try advanceStepwise(id, now: now, options: options)
    }

    /// Stops a run: no further step starts. Proposals its steps made stay in the queue for the operator.
    ///
    /// When another process is advancing the run (and holds the vault lock for a step), the cancel is left as a
    /// request in `.git/cairn/workflow-cancel/<run>`; that process honours it before the next step, and the run
    /// is returned unchanged with a message saying so.
    public func cancelWorkflow(runID: String, now: Date, author: OperatorIdentity) throws -> WorkflowRun {
        let lock: VaultLock
        do {
            lock = try VaultLock(gitDir: gitDir, timeout: 2)
        } catch VaultError.locked(_, _) {
            var run = try workflowRun(runID)
            if run.status.isFinal {
                throw WorkflowError.notActive(id: run.id, status: run.status, reason: "only a run that has not finished can be cancelled")
            }
            let dir = gitDir + "cairn/workflow-cancel"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Data("\(author.name) <\(author.email)>\n".utf8).write(to: URL(fileURLWithPath: dir + "/" + run.id), options: .atomic)
            run.message = "cancel requested; the run is in the middle of a step and stops before its next one"
            return run
        }
        defer { withExtendedLifetime(lock) {} }
        var (run, _, blob) = try loadForUpdate(runID)
        if run.status.isFinal {
            throw WorkflowError.notActive(id: run.id, status: run.status, reason: "only a run that has not finished can be cancelled")
        }
        try cancelLocked(&run, definitionBlob: blob, now: now, by: author.name)
        return run
    }

    static func cancelRequestPath(gitDir: String, runID: String) -> String { gitDir + "cairn/workflow-cancel/" + runID }

    func cancelLocked(_ run: inout WorkflowRun, definitionBlob blob: OID, now: Date, by who: String) throws {
        var pending: [String] = []
        for i in run.steps.indices {
            if [.pending, .waitingRetry, .waitingOperator].contains(run.steps[i].status) { run.steps[i].status = .cancelled }
            if run.steps[i].status == .waitingApproval {
                run.steps[i].status = .cancelled
                if let r = run.steps[i].run { pending.append(r) }
            }
        }
        for s in run.steps where s.status == .done && s.outcome == "proposed" {
            if let r = s.run, (try? decision(on: r)) == nil { pending.append(r) }
        }
        run.status = .cancelled
        run.finishedAt = ISOTime.string(now)
        run.retryAt = nil
        run.message = "cancelled by \(who)" + (pending.isEmpty ? "" : "; still in the review queue: " + pending.joined(separator: ", "))
        try checkpoint(&run, definitionBlob: blob, event: "cancel", now: now)
        try? FileManager.default.removeItem(atPath: Self.cancelRequestPath(gitDir: gitDir, runID: run.id))
    }

    /// Advances the runs whose current step waits on proposal `proposalID` (after `cairn approve` or `reject`).
    public func advanceWorkflows(waitingOn proposalID: String, now: Date, options: WorkflowOptions) throws -> [WorkflowRun] {
        let waiting = try workflowRuns().filter { $0.status == .waitingApproval && $0.currentStep?.run == proposalID }
        return try waiting.map { try advanceWorkflow(runID: $0.id, now: now, options: options) }
    }

    // MARK: - Inputs

    static func resolveInputs(_ definition: WorkflowDefinition, given: [String: String]) throws -> [String: String] {
        let declared = Set(definition.inputs.map(\.name))
        if let unknown = given.keys.sorted().first(where: { !declared.contains($0) }) {
            throw WorkflowError.badInput(path: definition.path, line: nil, reason: "workflow '\(definition.name)' has no input '\(unknown)'"
                + (declared.isEmpty ? " (it takes none)" : " (inputs: \(declared.sorted().joined(separator: ", ")))"))
        }
        var out: [String: String] = [:]
        var missing: [String] = []
        for i in definition.inputs {
            if let v = given[i.name] { out[i.name] = v } else if let d = i.defaultValue { out[i.name] = d } else if i.required { missing.append(i.name) }
        }
        if !missing.isEmpty {
            throw WorkflowError.badInput(path: definition.path, line: nil,
                                         reason: "missing required input\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", ")); give "
                                            + missing.map { "--input \($0)=…" }.joined(separator: " "))
        }
        return out
    }

    // MARK: - State in git

    func resolveWorkflowRun(_ id: String) throws -> (String, OID) {
        let refs = try repository.references(withPrefix: Self.workflowsPrefix).map { (String($0.name.dropFirst(Self.workflowsPrefix.count)), $0.target) }
        if let exact = refs.first(where: { $0.0 == id }) { return exact }
        let matches = refs.filter { $0.0.hasPrefix(id) || $0.0.hasSuffix(id) }
        if matches.count == 1 { return matches[0] }
        if matches.count > 1 { throw WorkflowError.ambiguousRun(id, matches.map(\.0)) }
        throw WorkflowError.unknownRun(id)
    }

    func loadWorkflowRun(id: String, at commit: OID) throws -> (run: WorkflowRun, definitionBlob: OID?) {
        let tree = try repository.commit(commit).tree
        guard let e = try repository.entry(at: Self.stateFile, in: tree) else { throw WorkflowError.corrupt(id: id, reason: "no \(Self.stateFile) in \(commit.short())") }
        var run: WorkflowRun
        do { run = try JSONDecoder().decode(WorkflowRun.self, from: try repository.blob(e.oid)) } catch {
            throw WorkflowError.corrupt(id: id, reason: "\(error)")
        }
        run.checkpoint = commit.hex
        return (run, try repository.entry(at: Self.pinnedDefinitionFile, in: tree)?.oid)
    }

    func loadForUpdate(_ id: String) throws -> (WorkflowRun, WorkflowDefinition, OID) {
        let (rid, target) = try resolveWorkflowRun(id)
        let (run, blob) = try loadWorkflowRun(id: rid, at: target)
        guard let blob else { throw WorkflowError.corrupt(id: rid, reason: "the pinned definition is missing") }
        do {
            return (run, try WorkflowDefinition.parse(path: run.path, data: try repository.blob(blob)), blob)
        } catch let e as NoteError {
            throw WorkflowError.corrupt(id: rid, reason: "the pinned definition does not parse: \(e)")
        }
    }

    /// Writes `run` as a new state commit on its ref: parent = the previous checkpoint, compare-and-swap on the
    /// ref. Touches neither main nor the working tree.
    func checkpoint(_ run: inout WorkflowRun, definitionBlob: OID, event: String, now: Date, step: String? = nil) throws {
        let previous = run.checkpoint.flatMap(OID.init(hex:))
        run.updatedAt = ISOTime.string(now)
        var stored = run
        stored.checkpoint = nil
        let state = try repository.writeBlob(try RecordJSON.encode(stored))
        let tree = try repository.makeFlatTree([(Self.stateFile, state), (Self.pinnedDefinitionFile, definitionBlob)])
        let sig = Signature(name: "cairn workflow", email: "workflows@cairn.invalid", time: now)
        let message = Trailer.message(subject: "Workflow \(run.workflow): \(event)",
                                      trailers: [Trailer("Cairn-Operation", "workflow-checkpoint"), Trailer("Cairn-Workflow-Run", run.id),
                                                 Trailer("Cairn-Workflow-Status", run.status.rawValue)])
        let commit = try repository.createCommit(tree: tree, parents: previous.map { [$0] } ?? [], author: sig, committer: sig, message: message)
        Self.crash(.workflowBeforeCheckpoint, step: step)
        do {
            try repository.updateReference(Self.workflowsPrefix + run.id, to: commit, expected: previous, message: "cairn workflow: \(event)")
        } catch GitError.modified {
            throw VaultError.concurrentUpdate(ref: Self.workflowsPrefix + run.id)
        } catch GitError.exists {
            throw VaultError.concurrentUpdate(ref: Self.workflowsPrefix + run.id)
        }
        run.checkpoint = commit.hex
        Self.crash(.workflowAfterCheckpoint, step: step)
    }

    /// Hits crash point `point` and `point:STEP`, so a test can stop at one step's boundary.
    static func crash(_ point: CrashPoint, step: String?) {
        CrashPoints.hit(point, step: step)
    }
}
