import CairnGit
import Foundation

/// How to run an agent: inputs and what the caller takes from its environment.
public struct AgentRunOptions: Sendable {
    /// `--input k=v` values.
    public var input: [String: String] = [:]
    /// Set when a workflow runs the agent (`RUN/STEP`).
    public var workflow: String?
    /// The caller's environment (the CLI passes its own). A command agent gets only `AgentEnvironment.passedVariables`
    /// of it; the model API key is taken from the variable `.cairn/config.json` names unless `apiKey` is set.
    public var environment: [String: String] = [:]
    /// The model API key, when the caller has it from elsewhere than `environment`.
    public var apiKey: String?
    /// Where temporary work folders go (default: the system temp folder).
    public var workRoot: String?
    /// Fixed run id (tests, workflow resumption); generated when nil.
    public var runID: String?
    /// Overrides the agent's `timeout:` (a workflow step's own `timeout:`).
    public var timeout: TimeInterval?
    /// Told how a long run (a built-in reading the whole vault) is getting on.
    public var progress: ProgressHandler?
    public init() {}
}

/// What `cairn agent run` did.
public struct AgentRunResult: Sendable, Codable {
    public let run: String
    public let agent: String
    public let outcome: RunRecord.Outcome
    public let summary: String
    /// `refs/heads/proposals/<run>` for a proposal, `refs/cairn/runs/<run>` for a run with no proposal.
    public let ref: String
    public let commit: String
    public let failure: String?
    public let blocked: [PolicyFinding]
    public let needsReview: [PolicyFinding]
    public let changes: [FileChange]
    public let record: String
    /// Set when policy merged the proposal on its own.
    public let autoMerge: DecisionResult?
    public let durationMs: Int
    /// Links rewritten in the same commit because the proposal renamed or moved what they lead to.
    public var links: [LinkUpdate] = []
    /// True when an identical run (same agent, base and input) was already pending and was returned instead.
    public var alreadyPending = false
}

extension Vault {
    /// Where runs without a proposal (failed, blocked, nothing to change) keep their record.
    public static let runsPrefix = "refs/cairn/runs/"

    /// Runs agent `name` against main and records the result as one commit.
    ///
    /// Snapshots operator edits first. The agent sees only its read scope plus core memory; whatever it produces is
    /// validated by policy; a proposal is one commit on `proposals/<run-id>` built from trees (main and the working
    /// tree are untouched); a failed or blocked run is one commit on `refs/cairn/runs/<run-id>` holding only its record.
    public func runAgent(_ name: String, options: AgentRunOptions, author: OperatorIdentity,
                         clock: @escaping @Sendable () -> Date) throws -> AgentRunResult {
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        return try runAgentLocked(name, options: options, author: author, clock: clock)
    }

    /// `runAgent` for a caller that holds the vault lock (a workflow step).
    func runAgentLocked(_ name: String, options: AgentRunOptions, author: OperatorIdentity,
                        clock: @escaping @Sendable () -> Date) throws -> AgentRunResult {
        let started = clock()
        try prepareForWrite(now: started)
        guard var agent = agentDefinition(named: name) else {
            let catalog = agentCatalog()
            if let problem = catalog.problems.first(where: { ($0.path as NSString).lastPathComponent == name + ".md" }) {
                throw VaultError.invalidArgument("agent '\(name)' cannot run: \(problem); fix the definition and try again")
            }
            let known = catalog.agents.map(\.name).joined(separator: ", ")
            throw VaultError.invalidArgument("unknown agent '\(name)'; agents in this vault: \(known.isEmpty ? "none" : known) (see agents/)")
        }
        if let timeout = options.timeout { agent.timeout = timeout }
        let policy = try loadPolicy()
        try checkRunLimits(agent: agent.name, workflow: options.workflow, policy: policy, now: started)
        // Snapshot the operator's edits the agent could see or touch (its read and write scope and core
        // memory); approve snapshots everything. With nothing edited there, this only checks the stat
        // cache (`WorktreeChanges`) and commits nothing.
        var scoped = SnapshotOptions()
        scoped.paths = Self.scopeFolders(agent.reads + agent.writes + ["memory/core/**"])
        _ = try snapshotLocked(scoped, author: author, now: started)
        guard let baseCommit = try head() else { throw VaultError.invalidArgument("\(branch) has no commit yet; run `cairn snapshot` first") }
        let base = BaseSnapshot(repository: repository, commit: baseCommit, tree: try repository.commit(baseCommit).tree)
        // Re-running the same agent on the same base with the same input (e.g. after a crash) returns the
        // proposal that is already pending instead of a duplicate.
        if options.runID == nil, var existing = try pendingRun(agent: agent.name, base: baseCommit, input: options.input) {
            existing.alreadyPending = true
            return existing
        }
        let runID = options.runID ?? RunID.make(agent: agent.name, now: started)
        guard RunID.isValid(runID) else { throw VaultError.invalidArgument("invalid run id '\(runID)'") }

        // Context: core memory always, then the read-scope notes that best match the task.
        let scopeFiles = try base.files(matching: agent.reads.map(Glob.init))
        let (context, files) = try buildContext(agent: agent, base: base, scopeFiles: scopeFiles, runID: runID, input: options.input,
                                                now: started, policy: policy)
        var record = RunRecord(run: runID, agent: agent.name, kind: agent.kind.rawValue, base: baseCommit.hex,
                               workflow: options.workflow, startedAt: ISOTime.string(started), finishedAt: "", durationMs: 0,
                               input: options.input, retrieval: context.core + context.retrieved, command: nil, model: nil,
                               outcome: .failed, failure: nil, summary: "", policy: nil, edits: [], ref: nil, machine: machine)
        var edits: [ProposedEdit] = []
        var summary = "\(agent.name) run \(runID)"
        var rationale = ""
        switch agent.kind {
        case .command:
            let workRoot = options.workRoot ?? NSTemporaryDirectory()
            CommandAgentExecutor.removeAbandonedWorkFolders(in: workRoot)
            // The agent's own folder, kept from its last run, so only what changed since is written again; a fresh
            // one when it cannot be had.
            let kept = AgentWorkFolder.open(in: workRoot, gitDir: gitDir, agent: agent.name)
            let workDir = try kept?.workDir ?? CommandAgentExecutor.makeWorkFolder(in: workRoot, runID: runID)
            defer { if let kept { kept.finish() } else { CommandAgentExecutor.removeWorkFolder(workDir) } }
            let environment = AgentEnvironment.forCommandAgent(options.environment)
            // Whether the agent ran where it could reach the vault's working tree (no sandbox).
            var sawVault = false
            switch AgentSandbox.resolve(agent.sandbox, path: environment["PATH"], probeCache: gitDir + "/cairn/sandbox-probe") {
            case .failure(let unavailable):
                record.command = RunRecord.Command(argv: agent.command, exitStatus: nil, stdout: "", stderr: "", filesShown: [],
                                                   sandbox: "none: " + unavailable.text)
                record.failure = "sandbox: required, but " + unavailable.text
            case .success(let sandbox):
                sawVault = sandbox == nil
                let outcome = try CommandAgentExecutor(sandbox: sandbox).run(agent: agent, base: base, context: context, workDir: workDir,
                                                                             vaultRoot: root, environment: environment,
                                                                             scopeFiles: scopeFiles, previous: kept?.previousFiles(),
                                                                             progress: options.progress)
                kept?.save(outcome.untouched)
                let isolation = sandbox != nil ? AgentSandbox.description(network: agent.network) : agent.sandbox == .off ? "none: sandbox: off" : "none: bubblewrap unavailable"
                record.command = RunRecord.Command(argv: agent.command, exitStatus: outcome.exitStatus, stdout: outcome.stdout,
                                                   stderr: outcome.stderr,
                                                   filesShown: outcome.filesShown.count <= RunRecord.Command.listedFilesLimit
                                                       ? outcome.filesShown : [],
                                                   filesShownCount: outcome.filesShown.count, sandbox: isolation)
                record.failure = outcome.failure
                edits = outcome.edits
                if let firstLine = outcome.stdout.split(separator: "\n").first(where: { $0.hasPrefix("summary:") }) {
                    summary = firstLine.dropFirst("summary:".count).trimmingCharacters(in: .whitespaces)
                }
            }
            // An agent must work only in its own folder. Anything it wrote into the operator's working tree
            // (within the scope just snapshotted) is moved to quarantine, never left to be committed as an edit.
            // A sandboxed agent cannot see the working tree (`AgentSandbox`): its scope is not statted again.
            let tampered = sawVault ? try quarantineWorkingTreeChanges(paths: scoped.paths, runID: runID) : []
            if !tampered.isEmpty {
                record.failure = "wrote into the vault's working tree directly (moved to .git/cairn/quarantine/\(runID)/): "
                    + tampered.joined(separator: ", ")
            }
        case .model:
            let apiKey = options.apiKey ?? AgentEnvironment.modelAPIKey(options.environment, config: config)
            let outcome = ModelAgentExecutor().run(agent: agent, settings: config.model, apiKey: apiKey, context: context,
                                                   files: files,
                                                   pricing: ModelPricing(inputPerMillion: config.model.inputUSDPerMillion,
                                                                         outputPerMillion: config.model.outputUSDPerMillion))
            record.model = outcome
            record.failure = outcome.failure
            edits = outcome.edits
            if let s = outcome.summary { summary = s }
            rationale = outcome.rationale ?? ""
        case .builtin:
            let outcome = try BuiltinAgents.run(agent.builtin ?? agent.name, base: base, policy: policy, now: started,
                                                reads: agent.reads, writes: agent.writes, settings: ObsidianSettings.read(root: root),
                                                progress: options.progress)
            edits = outcome.edits
            summary = outcome.summary
            rationale = outcome.details.joined(separator: "\n")
        }
        return try commitRun(record: record, edits: edits, summary: summary, rationale: rationale, agent: agent, base: base,
                             policy: policy, workflow: options.workflow, input: options.input, author: author, started: started,
                             clock: clock, progress: options.progress)
    }

    /// Validates `edits` against policy and records the run as one commit: the proposal on `proposals/<run-id>`
    /// (merged at once when the agent has earned autonomy and nothing needs review), or only the record on
    /// `refs/cairn/runs/<run-id>` when the run failed, was blocked or changed nothing. The caller holds the vault
    /// lock. `review` adds findings that make the proposal wait for the operator whatever policy says (a stale
    /// precondition). Builds the commit from trees: main and the working tree are untouched.
    func commitRun(record: RunRecord, edits: [ProposedEdit], summary: String, rationale: String, agent: AgentDefinition,
                   base: BaseSnapshot, policy: Policy, workflow: String?, input: [String: String], review: [PolicyFinding] = [],
                   author: OperatorIdentity, started: Date, clock: @escaping @Sendable () -> Date,
                   progress: ProgressHandler? = nil) throws -> AgentRunResult {
        var record = record, edits = edits
        let runID = record.run, baseCommit = base.commit
        record.summary = summary

        var verdict: PolicyVerdict? = nil
        if record.failure == nil {
            if edits.count > 100 { progress?(WorkProgress(task: "checking \(edits.count) changes against policy", done: 0, total: nil)) }
            var v = PolicyGate(policy: policy).evaluate(edits: edits, agent: agent, base: base)
            v.needsReview += review
            verdict = v
            record.policy = v
            if v.isBlocked {
                record.outcome = .blocked
                record.failure = "blocked by policy: " + v.blocked.map(\.description).joined(separator: "; ")
            } else {
                edits = v.edits
                record.outcome = edits.isEmpty ? .noChanges : .proposed
            }
        }
        let finished = clock()
        record.finishedAt = ISOTime.string(finished)
        record.durationMs = Int(finished.timeIntervalSince(started) * 1000)

        // Tree: base + edits (only for a proposal) + the record.
        var changes: [TreeChange] = []
        if record.outcome == .proposed {
            for e in edits {
                switch e.action {
                case .delete: changes.append(.remove(path: e.path))
                case .write:
                    let data = e.content ?? Data()
                    let blob = try repository.writeBlob(data)
                    changes.append(.upsert(path: e.path, oid: blob, mode: e.executable ? TreeChange.executableMode : TreeChange.fileMode))
                    record.edits.append(RunRecord.Edit(path: e.path, action: "write", bytes: data.count, blob: blob.hex))
                    continue
                }
                record.edits.append(RunRecord.Edit(path: e.path, action: "delete", bytes: 0, blob: nil))
            }
            // What the proposal renamed or moved: the links to it follow in the same commit, as `cairn mv` does.
            if edits.contains(where: { $0.action == .delete }) && edits.contains(where: { $0.action == .write }) {
                let edited = try repository.updateTree(base: base.tree, changes: changes)
                let links = try proposalLinkUpdates(base: base.tree, edited: edited, policy: policy)
                let rewritten = Set(links.rewrites.map(\.path))
                changes.removeAll { rewritten.contains($0.path) }
                changes += links.rewrites.map { .upsert(path: $0.path, oid: $0.blob, mode: $0.mode) }
                if !links.rewrites.isEmpty { record.links = links.rewrites.flatMap(\.links) }
                if !links.findings.isEmpty, var v = verdict {
                    v.needsReview += links.findings
                    verdict = v
                    record.policy = v
                }
            }
        }
        let trust = record.outcome == .proposed && agent.effectiveAutonomy(policy) == .auto ? try self.trust(for: agent, policy: policy) : nil
        let autoMerge = trust?.mayAutoMerge == true && (verdict?.needsReview.isEmpty ?? false)
        if autoMerge { record.outcome = .autoMerged }
        let proposed = record.outcome == .proposed || record.outcome == .autoMerged
        let ref = (proposed ? Self.proposalPrefix : Self.runsPrefix) + runID
        record.ref = ref
        let recordPath = RunRecord.path(runID: runID)
        changes.append(.upsert(path: recordPath, oid: try repository.writeBlob(try record.encoded()), mode: TreeChange.fileMode))
        let tree = try repository.updateTree(base: base.tree, changes: changes)

        var trailers = [Trailer("Cairn-Run", runID), Trailer("Cairn-Agent", agent.name), Trailer("Cairn-Base", baseCommit.hex),
                        Trailer("Cairn-Input", try Self.inputDigest(input))]
        if let wf = workflow { trailers.append(Trailer("Cairn-Workflow", wf)) }
        if let m = record.model {
            if let model = m.model { trailers.append(Trailer("Cairn-Model", model)) }
            trailers.append(Trailer("Cairn-Tokens", String(m.promptTokens + m.completionTokens)))
            trailers.append(Trailer("Cairn-Cost-USD", String(format: "%.4f", m.costUSD)))
        }
        trailers.append(Trailer("Cairn-Outcome", record.outcome.rawValue))
        let subject: String
        switch record.outcome {
        case .proposed, .autoMerged: subject = "Propose: " + summary
        case .noChanges: subject = "Run \(agent.name): no changes"
        case .failed, .blocked: subject = "Run \(agent.name): \(record.outcome.rawValue)"
        }
        let body = [rationale, record.failure ?? "", Self.linkUpdatesParagraph(record.links ?? [])].filter { !$0.isEmpty }.joined(separator: "\n\n")
        let agentSig = Signature(name: "\(agent.name) (cairn agent)", email: "\(Slug.make(agent.name))@agents.cairn.invalid", time: finished)
        let opSig = Signature(name: author.name, email: author.email, time: finished)
        let commit = try repository.createCommit(tree: tree, parents: [baseCommit], author: agentSig, committer: opSig,
                                                 message: Trailer.message(subject: subject, body: body, trailers: trailers))
        let step = workflow.map { String($0.split(separator: "/").dropFirst().joined(separator: "/")) }
        Self.crash(.agentBeforeRef, step: step)
        try repository.updateReference(ref, to: commit, expected: nil, message: "cairn agent run \(agent.name)")
        Self.crash(.agentAfterRef, step: step)

        var decision: DecisionResult? = nil
        if autoMerge, let trust {
            decision = try approveLocked(runID, note: nil, author: author, now: finished,
                                         autoRule: "autonomy: auto, \(trust.consecutiveApprovals) consecutive approvals (≥ \(trust.required))")
        }
        let fileChanges = edits.map { FileChange(path: $0.path, oldPath: nil, kind: $0.action == .delete ? .deleted : (base.entry($0.path) == nil ? .added : .modified)) }
        return AgentRunResult(run: runID, agent: agent.name, outcome: record.outcome, summary: summary, ref: ref, commit: commit.hex,
                              failure: record.failure, blocked: verdict?.blocked ?? [], needsReview: verdict?.needsReview ?? [],
                              changes: proposed ? fileChanges : [], record: recordPath, autoMerge: decision, durationMs: record.durationMs,
                              links: proposed ? record.links ?? [] : [])
    }

    /// Moves working-tree changes under `paths` (which the pre-run snapshot left clean) to
    /// `.git/cairn/quarantine/<run>/` and restores the committed versions. Returns the paths moved.
    func quarantineWorkingTreeChanges(paths: [String], runID: String) throws -> [String] {
        guard let head = try head() else { return [] }
        let tree = try repository.commit(head).tree
        let entries = try workingTreeEdits(against: tree, paths: paths)
        guard !entries.isEmpty else { return [] }
        let fm = FileManager.default
        var moved: [String] = []
        for e in entries {
            let source = absolutePath(e.path)
            if fm.fileExists(atPath: source) || (try? fm.destinationOfSymbolicLink(atPath: source)) != nil {
                let target = gitDir + "cairn/quarantine/\(runID)/" + e.path
                try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try fm.moveItem(atPath: source, toPath: target)
            }
            moved.append(e.path)
        }
        // Restore what the branch has for those paths (modified or deleted tracked files).
        let tracked = try moved.filter { try repository.entry(at: $0, in: tree) != nil }
        try repository.checkout(tree: tree, paths: tracked, force: true)
        return moved
    }

    /// The literal folders (or files) under which `globs` can match: `inbox/**` → `inbox`,
    /// `memory/projects/*.md` → `memory/projects`; a glob starting with a wildcard means the whole vault (`[]`).
    static func scopeFolders(_ globs: [String]) -> [String] {
        var out = Set<String>()
        for glob in globs {
            let literal = Glob.literalPrefix(glob)
            if literal.isEmpty { return [] }
            out.insert(literal)
        }
        // Drop entries inside another entry.
        let sorted = out.sorted()
        return sorted.filter { p in !sorted.contains { $0 != p && p.hasPrefix($0 + "/") } }
    }

    /// The pending proposal of `agent` made from `base` with `input`, as a run result.
    func pendingRun(agent: String, base: OID, input: [String: String]) throws -> AgentRunResult? {
        let inputDigest = try Self.inputDigest(input)
        let slug = Slug.make(agent)
        for (name, target) in try repository.references(withPrefix: Self.proposalPrefix) {
            // Another agent's proposal, by the shape of its id: skipped without reading its commit.
            guard Self.mayBeRun(of: slug, id: String(name.dropFirst(Self.proposalPrefix.count))) else { continue }
            let c = try repository.commit(target)
            let t = c.trailerValues
            guard t["Cairn-Agent"] == agent, t["Cairn-Base"] == base.hex else { continue }
            // The input digest in the trailer settles most candidates without decoding their records
            // (proposals written before the trailer existed fall through to the record).
            if let digest = t["Cairn-Input"], digest != inputDigest { continue }
            let id = String(name.dropFirst(Self.proposalPrefix.count))
            guard let record = try runRecord(id: id, in: c.tree), record.input == input else { continue }
            let s = try summary(id: id, commit: target)
            return AgentRunResult(run: id, agent: agent, outcome: record.outcome, summary: record.summary, ref: name, commit: target.hex,
                                  failure: nil, blocked: [], needsReview: record.policy?.needsReview ?? [], changes: s.changes,
                                  record: RunRecord.path(runID: id), autoMerge: nil, durationMs: record.durationMs)
        }
        return nil
    }

    /// A run's input as one id: the git blob id of its `key=value` lines, sorted (the `Cairn-Input` trailer).
    static func inputDigest(_ input: [String: String]) throws -> String {
        let lines = input.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)\n" }.joined()
        return try Repository.hashBlob(Data(lines.utf8)).hex
    }
}
