import CairnGit
import Foundation

/// Moves one workflow run forward, step by step, under the vault lock its caller holds.
///
/// Every decision is derived from the last checkpoint plus what git already holds, so a run interrupted at
/// any instant continues the same way: a step attempt's run id is fixed (`<run>_<step>_<attempt>`,
/// `<run>_<step>_fallback`, `<run>_<step>_undo`), and before running it the engine looks for that run's
/// commit; finding one, it takes the result from the commit instead of running the agent again.
struct WorkflowEngine {
    let vault: Vault
    let definition: WorkflowDefinition
    let definitionBlob: OID
    let now: Date
    let options: WorkflowOptions

    /// What a step's commit says about it.
    struct Evidence {
        var commit: String
        var outcome: RunRecord.Outcome
        var summary: String
        var failure: String?
        var files: [String]
        var output: [String: String]
    }

    /// The most passes a run can need: each pass finishes a step, runs an attempt or returns.
    var maxPasses: Int { definition.steps.count * (WorkflowDefinition.maxRetries + 4) + 8 }

    /// Moves the run forward by at most `passes` passes (one step attempt or decision each).
    mutating func advance(_ run: inout WorkflowRun, passes: Int? = nil) throws {
        for _ in 0..<(passes ?? maxPasses) {
            if run.status.isFinal { return }
            if run.steps.contains(where: { $0.status == .failed }) { return try fail(&run) }
            guard let index = run.steps.firstIndex(where: { ![.done, .skipped, .handedOff, .cancelled].contains($0.status) }) else {
                run.status = .done
                run.finishedAt = ISOTime.string(now)
                run.message = nil
                try vault.checkpoint(&run, definitionBlob: definitionBlob, event: "done", now: now)
                return
            }
            guard let step = definition.step(run.steps[index].id) else {
                throw WorkflowError.corrupt(id: run.id, reason: "step '\(run.steps[index].id)' is not in the pinned definition")
            }
            switch run.steps[index].status {
            case .waitingOperator:
                if run.status != .waitingOperator {
                    run.status = .waitingOperator
                    try vault.checkpoint(&run, definitionBlob: definitionBlob, event: "waiting for the operator", now: now, step: step.id)
                }
                return
            case .waitingRetry:
                if let due = run.steps[index].retryAt.flatMap({ ISOTime.date(from: $0) }), due > now {
                    if run.status != .waitingRetry {
                        run.status = .waitingRetry
                        run.retryAt = run.steps[index].retryAt
                        try vault.checkpoint(&run, definitionBlob: definitionBlob, event: "waiting to retry \(step.id)", now: now, step: step.id)
                    }
                    return
                }
                run.steps[index].status = .pending
                run.steps[index].retryAt = nil
                run.retryAt = nil
                run.status = .running
                try runAttempt(&run, index: index, step: step)
            case .waitingApproval:
                guard let proposal = run.steps[index].run else { throw WorkflowError.corrupt(id: run.id, reason: "step \(step.id) waits on no run") }
                switch try vault.decision(on: proposal) {
                case nil:
                    if run.status != .waitingApproval {
                        run.status = .waitingApproval
                        try vault.checkpoint(&run, definitionBlob: definitionBlob, event: "waiting for approval of \(step.id)", now: now, step: step.id)
                    }
                    run.message = "step \(step.id) waits for your review: `cairn review \(proposal)`, then `cairn approve \(proposal)`"
                    return
                case .some(let record) where record?.decision == .rejected:
                    run.steps[index].outcome = "rejected"
                    try stepFailed(&run, index: index, step: step, reason: "proposal \(proposal) was rejected", retry: false)
                case .some:
                    run.steps[index].status = .done
                    run.status = .running
                    run.message = nil
                    finishIfComplete(&run)
                    try vault.checkpoint(&run, definitionBlob: definitionBlob, event: "\(step.id) approved", now: now, step: step.id)
                }
            case .pending:
                run.status = .running
                try runAttempt(&run, index: index, step: step)
            case .done, .skipped, .handedOff, .cancelled, .failed:
                return
            }
        }
    }

    /// Marks the run done when no step is left, so the step's checkpoint is also the last one.
    func finishIfComplete(_ run: inout WorkflowRun) {
        guard run.steps.allSatisfy({ [.done, .skipped, .handedOff].contains($0.status) }) else { return }
        run.status = .done
        run.finishedAt = ISOTime.string(now)
    }

    /// Runs (or finds the commit of) the next attempt of a step, then records what it produced.
    mutating func runAttempt(_ run: inout WorkflowRun, index: Int, step: WorkflowStep) throws {
        var state = run.steps[index]
        let fallback: String? = state.usedFallback ? { if case .fallback(let a) = step.onFailure { return a }; return nil }() : nil
        let runID: String
        if fallback != nil {
            runID = "\(run.id)_\(step.id)_fallback"
        } else {
            state.attempts += 1
            runID = "\(run.id)_\(step.id)_\(state.attempts)"
        }
        state.run = runID
        if !state.runs.contains(runID) { state.runs.append(runID) }
        run.steps[index] = state
        Vault.crash(.workflowBeforeStep, step: step.id)
        let evidence: Evidence
        do {
            evidence = try self.evidence(runID: runID, trailer: run.trailer(step: step.id))
                ?? runAgent(fallback ?? step.agent, runID: runID, trailer: run.trailer(step: step.id),
                            input: try inputs(step.with, run: run), timeout: step.timeout)
        } catch let e as AgentUnavailable {
            try stepFailed(&run, index: index, step: step, reason: e.reason, retry: false)
            return
        }
        Vault.crash(.workflowAfterStep, step: step.id)
        state = run.steps[index]
        state.commit = evidence.commit
        state.outcome = evidence.outcome.rawValue
        state.summary = evidence.summary
        state.files = evidence.files
        state.output = evidence.output
        state.failure = evidence.failure
        run.steps[index] = state
        switch evidence.outcome {
        case .failed, .blocked:
            try stepFailed(&run, index: index, step: step, reason: evidence.failure ?? evidence.outcome.rawValue,
                           retry: fallback == nil)
        case .proposed where step.gate == .approve:
            run.steps[index].status = .waitingApproval
            run.status = .waitingApproval
            run.message = "step \(step.id) waits for your review: `cairn review \(runID)`, then `cairn approve \(runID)`"
            try vault.checkpoint(&run, definitionBlob: definitionBlob, event: "\(step.id) proposed \(runID); waiting for approval", now: now, step: step.id)
        case .proposed, .autoMerged, .noChanges:
            run.steps[index].status = .done
            run.status = .running
            run.message = nil
            finishIfComplete(&run)
            try vault.checkpoint(&run, definitionBlob: definitionBlob, event: "\(step.id) \(evidence.outcome.rawValue) (\(runID))"
                                 + (run.status == .done ? "; done" : ""), now: now, step: step.id)
        }
    }

    /// A step attempt failed: retry it (now, or when its backoff is due), else apply `on_failure`.
    mutating func stepFailed(_ run: inout WorkflowRun, index: Int, step: WorkflowStep, reason: String, retry: Bool) throws {
        var state = run.steps[index]
        state.failure = reason
        if retry && !state.usedFallback && state.attempts <= step.retries {
            let delay = step.backoff * pow(2, Double(max(0, state.attempts - 1)))
            if delay <= 0 {
                state.status = .pending
                run.steps[index] = state
                try vault.checkpoint(&run, definitionBlob: definitionBlob, event: "\(step.id) failed; retrying", now: now, step: step.id)
                return
            }
            state.status = .waitingRetry
            state.retryAt = ISOTime.string(now.addingTimeInterval(delay))
            run.steps[index] = state
            run.status = .waitingRetry
            run.retryAt = state.retryAt
            run.message = "step \(step.id) failed (\(reason)); attempt \(state.attempts + 1) of \(step.retries + 1) at \(state.retryAt ?? "")"
            try vault.checkpoint(&run, definitionBlob: definitionBlob, event: "\(step.id) failed; retry at \(state.retryAt ?? "")", now: now, step: step.id)
            return
        }
        switch step.onFailure {
        case .skip:
            state.status = .skipped
            run.steps[index] = state
            try vault.checkpoint(&run, definitionBlob: definitionBlob, event: "\(step.id) failed; skipped", now: now, step: step.id)
        case .fallback where !state.usedFallback:
            state.usedFallback = true
            state.status = .pending
            run.steps[index] = state
            try vault.checkpoint(&run, definitionBlob: definitionBlob, event: "\(step.id) failed; running the fallback", now: now, step: step.id)
        case .task:
            state.status = .waitingOperator
            run.steps[index] = state
            let note = try writeTaskNote(run, step: step, reason: reason, compensated: [], pending: [])
            if !run.tasks.contains(note) { run.tasks.append(note) }
            run.status = .waitingOperator
            run.message = "step \(step.id) failed (\(reason)); handed to you in \(note) — do it, then `cairn resume \(run.id)`"
            try vault.checkpoint(&run, definitionBlob: definitionBlob, event: "\(step.id) handed to the operator", now: now, step: step.id)
        case .fail, .fallback:
            state.status = .failed
            run.steps[index] = state
            try vault.checkpoint(&run, definitionBlob: definitionBlob, event: "\(step.id) failed", now: now, step: step.id)
            try fail(&run)
        }
    }

    /// The workflow stops: compensations of earlier merged steps run (newest first), an operator task note
    /// explains the state, and the run is marked failed. Idempotent, like every other transition.
    mutating func fail(_ run: inout WorkflowRun) throws {
        guard let failedIndex = run.steps.firstIndex(where: { $0.status == .failed }) else { return }
        var compensated: [String] = [], pending: [String] = []
        for i in run.steps.indices.reversed() where i < failedIndex && run.steps[i].status == .done {
            let s = run.steps[i]
            guard let proposal = s.run, let outcome = s.outcome, ["proposed", "auto-merged"].contains(outcome) else { continue }
            let decided = try vault.decision(on: proposal)
            if decided == nil {
                pending.append(proposal)
                continue
            }
            if let d = decided, d?.decision == .rejected { continue }
            guard let step = definition.step(s.id), let compensate = step.compensate else { continue }
            let runID = "\(run.id)_\(s.id)_undo"
            let trailer = run.trailer(step: s.id) + "/compensate"
            do {
                let e = try evidence(runID: runID, trailer: trailer)
                    ?? runAgent(compensate.agent, runID: runID, trailer: trailer, input: try inputs(compensate.with, run: run), timeout: nil)
                compensated.append("\(s.id): \(compensate.agent) run \(runID) (\(e.outcome.rawValue))")
            } catch let e as AgentUnavailable {
                compensated.append("\(s.id): compensation could not run: \(e.reason)")
            }
            if run.steps[i].compensation != runID {
                run.steps[i].compensation = runID
                try vault.checkpoint(&run, definitionBlob: definitionBlob, event: "compensated \(s.id)", now: now, step: s.id)
            }
        }
        let failed = run.steps[failedIndex]
        guard let step = definition.step(failed.id) else { return }
        let note = try writeTaskNote(run, step: step, reason: failed.failure ?? "failed", compensated: compensated, pending: pending)
        if !run.tasks.contains(note) { run.tasks.append(note) }
        for i in run.steps.indices where run.steps[i].status == .pending { run.steps[i].status = .cancelled }
        run.status = .failed
        run.finishedAt = ISOTime.string(now)
        run.message = "step \(failed.id) failed (\(failed.failure ?? "failed")); see \(note)"
        try vault.checkpoint(&run, definitionBlob: definitionBlob, event: "failed at \(failed.id)", now: now, step: failed.id)
    }

    // MARK: - Agent runs

    struct AgentUnavailable: Error { let reason: String }

    func runAgent(_ agent: String, runID: String, trailer: String, input: [String: String], timeout: TimeInterval?) throws -> Evidence {
        var o = AgentRunOptions()
        o.input = input
        o.workflow = trailer
        o.runID = runID
        o.environment = options.environment
        o.apiKey = options.apiKey
        o.workRoot = options.workRoot
        o.timeout = timeout
        let fixed = now
        let result: AgentRunResult
        do {
            result = try vault.runAgentLocked(agent, options: o, author: options.author, clock: options.clock ?? { fixed })
        } catch let e as VaultError {
            // The agent vanished or broke since the run started: the step fails; nothing was committed.
            if case .invalidArgument(let m) = e { throw AgentUnavailable(reason: m) }
            throw e
        }
        guard let oid = OID(hex: result.commit), let e = try evidence(commit: oid, runID: runID) else {
            throw WorkflowError.corrupt(id: runID, reason: "the run's commit \(result.commit) has no run record")
        }
        return e
    }

    /// The commit a run id already produced, wherever it is now: a pending proposal, the archive of decided
    /// ones, `refs/cairn/runs/` (failed, blocked, no changes), or merged into main. Nil when it has not committed.
    func evidence(runID: String, trailer: String) throws -> Evidence? {
        let repo = vault.repository
        for prefix in [Vault.proposalPrefix, Vault.archivePrefix, Vault.runsPrefix] {
            if let oid = try repo.referenceTarget(prefix + runID) {
                let c = try repo.commit(oid)
                guard c.trailer("Cairn-Workflow") == trailer else {
                    throw WorkflowError.corrupt(id: runID, reason: "\(prefix + runID) exists but is not this step's run (Cairn-Workflow: \(c.trailer("Cairn-Workflow") ?? "none"))")
                }
                return try evidence(commit: oid, runID: runID)
            }
        }
        // Merged, and the archive ref since dropped by retention: the records on main still tell.
        if let main = try vault.head(), let record = try vault.runRecord(id: runID, in: try repo.commit(main).tree),
           record.workflow == trailer {
            let approval = try vault.decision(on: runID, mainTree: try repo.commit(main).tree)
            return Evidence(commit: (approval ?? nil)?.proposal ?? "", outcome: record.outcome, summary: record.summary,
                            failure: record.failure, files: record.edits.map(\.path), output: Self.outputs(record.command?.stdout ?? ""))
        }
        return nil
    }

    func evidence(commit: OID, runID: String) throws -> Evidence? {
        let c = try vault.repository.commit(commit)
        guard let record = try vault.runRecord(id: runID, in: c.tree) else { return nil }
        var outcome = record.outcome
        if let t = c.trailer("Cairn-Outcome"), let o = RunRecord.Outcome(rawValue: t) { outcome = o }
        return Evidence(commit: commit.hex, outcome: outcome, summary: record.summary, failure: record.failure,
                        files: record.edits.map(\.path), output: Self.outputs(record.command?.stdout ?? ""))
    }

    /// `output.KEY: value` lines of a command agent's standard output.
    static func outputs(_ stdout: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in stdout.split(separator: "\n") where line.hasPrefix("output.") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[line.index(line.startIndex, offsetBy: "output.".count)..<colon]
            guard !key.isEmpty else { continue }
            out[String(key)] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    /// A step's `with:` with its placeholders filled from the run's inputs and earlier steps.
    func inputs(_ with: [String: String], run: WorkflowRun) throws -> [String: String] {
        var out: [String: String] = [:]
        for (key, template) in with {
            do {
                out[key] = try WorkflowTemplate.expand(template) { ref in
                    switch ref {
                    case .input(let name): return run.input[name] ?? ""
                    case .run(let field):
                        switch field {
                        case "id": return run.id
                        case "workflow": return run.workflow
                        default: return run.trigger ?? "manual"
                        }
                    case .step(let id, let field):
                        guard let s = run.steps.first(where: { $0.id == id }) else { return "" }
                        switch field {
                        case "run": return s.run ?? ""
                        case "commit": return s.commit.map { (try? vault.rewrittenIDs())?.current(hex: $0) ?? $0 } ?? ""
                        case "outcome": return s.outcome ?? s.status.rawValue
                        case "summary": return s.summary ?? ""
                        case "files": return s.files.joined(separator: " ")
                        default: return s.output[String(field.dropFirst("output.".count))] ?? ""
                        }
                    }
                }
            } catch let e as WorkflowTemplate.SyntaxError {
                throw WorkflowError.invalid([FileProblem(path: definition.path, reason: e.reason)])
            }
        }
        return out
    }

    // MARK: - Operator task notes

    /// Commits `inbox/tasks/<run>-<step>.md` on main for the operator (once; an existing note is kept) and
    /// brings it into the working tree. Returns its path.
    func writeTaskNote(_ run: WorkflowRun, step: WorkflowStep, reason: String, compensated: [String], pending: [String]) throws -> String {
        let path = "inbox/tasks/\(run.id)-\(step.id).md"
        let repo = vault.repository
        guard let main = try vault.head() else { return path }
        let mainCommit = try repo.commit(main)
        if try repo.entry(at: path, in: mainCommit.tree) != nil { return path }
        let day = FrontMatter.dayString(now)
        var text = """
        ---
        title: "Workflow \(run.workflow): step \(step.id) needs you"
        tags: [task, workflow]
        created: \(day)
        source: workflow run \(run.id)
        ---
        # Workflow \(run.workflow): step \(step.id) needs you

        Run `\(run.id)` stopped at step **\(step.id)** (agent `\(step.agent)`): \(reason).


        """
        text += "## Where the run stands\n\n"
        for s in run.steps {
            var line = "- **\(s.id)** (\(s.agent)): \(s.status.rawValue)"
            if let r = s.run { line += ", run `\(r)`" }
            if let o = s.outcome { line += ", \(o)" }
            text += line + "\n"
        }
        if !compensated.isEmpty {
            text += "\n## Undone\n\n" + compensated.map { "- \($0)\n" }.joined()
        }
        if !pending.isEmpty {
            text += "\n## Still waiting for your review\n\nThese proposals of earlier steps are not merged; reject them if the workflow's work should not stand:\n\n"
            text += pending.map { "- `cairn review \($0)`\n" }.joined()
        }
        text += "\n## What to do\n\n"
        if case .task = step.onFailure, !run.steps.contains(where: { $0.status == .failed }) {
            text += "Do what step \(step.id) should have done, then `cairn resume \(run.id)` to go on with the next step. "
            text += "Delete this note when you are done.\n"
        } else {
            text += "Fix the cause (`cairn runs`, `git show \(run.steps.first { $0.id == step.id }?.run.map { "refs/cairn/runs/" + $0 } ?? "")`), "
            text += "then start a new run with `cairn workflow run \(run.workflow)`. Delete this note when you are done.\n"
        }
        let blob = try repo.writeBlob(Data(text.utf8))
        let tree = try repo.updateTree(base: mainCommit.tree, changes: [.upsert(path: path, oid: blob, mode: TreeChange.fileMode)])
        let sig = Signature(name: options.author.name, email: options.author.email, time: now)
        let message = Trailer.message(subject: "Task: workflow \(run.workflow) step \(step.id) needs you", body: reason,
                                      trailers: [Trailer("Cairn-Operation", "workflow-task"), Trailer("Cairn-Workflow-Run", run.id)])
        let commit = try repo.createCommit(tree: tree, parents: [main], author: sig, committer: sig, message: message)
        _ = try vault.moveMain(from: mainCommit, to: commit, newTree: tree, message: "cairn workflow-task \(run.id)", as: .workflowTask)
        return path
    }
}
