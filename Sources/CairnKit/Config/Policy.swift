import Foundation

/// The vault's rules for agents: what they may never touch, how big a proposal may be, how much
/// they may spend, and when they may merge on their own — the contents of `policy.json`.
///
/// Every key is optional when decoding; a missing or `null` key takes the value in
/// `Policy.default` (the values `vault-template/policy.json` ships with). Unknown keys are
/// ignored, so a newer policy file still loads. `vault-template/policy.md` documents each key.
public struct Policy: Codable, Sendable, Equatable, CheckedConfig {
    /// Where the policy lives, relative to the vault root.
    public static let relativePath = "policy.json"

    /// The policy a new vault starts with; equal to `vault-template/policy.json`.
    public static let `default` = Policy()

    /// Paths agents can never write, whatever `protected_paths` says (design invariant 2).
    ///
    /// `policy.json` lists them too, so the operator sees them; deleting them from the file does
    /// not unprotect them. See `effectiveProtectedPaths`.
    public static let builtInProtectedPaths = [
        "policy.json", "approvals/**", "runs/**", "agents/**", ".git*", "**/.git/**",
    ]

    /// The format version; only 1 exists.
    public var version: Int
    /// Globs (vault-relative, `**` crosses folders) that no agent proposal may change.
    public var protectedPaths: [String]
    /// Size limits above which a proposal is refused.
    public var review: ReviewLimits
    /// Rules for the memory tiers.
    public var memory: MemoryRules
    /// Whether agents may merge their own proposals.
    public var autonomy: AutonomyRules
    /// Daily limits on agent runs and model spend.
    public var quotas: Quotas
    /// When an agent is stopped after repeated failures.
    public var circuitBreaker: CircuitBreaker
    /// The check for credentials in proposed changes.
    public var secretScan: SecretScan
    /// What `cairn tick` flags as waiting too long.
    public var health: Health
    /// How long decided proposals and run records are kept.
    public var retention: Retention
    /// What happens to links when a proposal renames or moves a file.
    public var links: Links

    /// Creates a policy; every argument defaults to the template's value.
    public init(
        version: Int = 1,
        protectedPaths: [String] = [
            "policy.json", "approvals/**", "runs/**", "agents/**", "workflows/**", ".cairn/**",
            ".git*", "**/.git/**",
        ],
        review: ReviewLimits = ReviewLimits(),
        memory: MemoryRules = MemoryRules(),
        autonomy: AutonomyRules = AutonomyRules(),
        quotas: Quotas = Quotas(),
        circuitBreaker: CircuitBreaker = CircuitBreaker(),
        secretScan: SecretScan = SecretScan(),
        retention: Retention = Retention(),
        health: Health = Health(),
        links: Links = Links()
    ) {
        self.version = version
        self.protectedPaths = protectedPaths
        self.review = review
        self.memory = memory
        self.autonomy = autonomy
        self.quotas = quotas
        self.circuitBreaker = circuitBreaker
        self.secretScan = secretScan
        self.retention = retention
        self.health = health
        self.links = links
    }

    /// The built-in protected paths followed by the policy's own, without repeats.
    public var effectiveProtectedPaths: [String] {
        var seen = Set<String>()
        return (Self.builtInProtectedPaths + protectedPaths).filter { seen.insert($0).inserted }
    }

    // MARK: Sections

    /// `review`: size limits above which a proposal is refused outright.
    public struct ReviewLimits: Codable, Sendable, Equatable {
        /// Most files one proposal may change (`max_files`, default 20).
        public var maxFiles: Int
        /// Most added plus deleted lines one proposal may contain (`max_changed_lines`, default 400).
        public var maxChangedLines: Int

        public init(maxFiles: Int = 20, maxChangedLines: Int = 400) {
            self.maxFiles = maxFiles
            self.maxChangedLines = maxChangedLines
        }

        enum CodingKeys: String, CodingKey {
            case maxFiles = "max_files"
            case maxChangedLines = "max_changed_lines"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = ReviewLimits()
            maxFiles = try c.integer(.maxFiles, default: d.maxFiles)
            maxChangedLines = try c.integer(.maxChangedLines, default: d.maxChangedLines)
        }
    }

    /// `memory`: rules for the memory tiers.
    public struct MemoryRules: Codable, Sendable, Equatable {
        /// Token budget for `memory/core/`, which every agent is given (`core_token_budget`, default 4000).
        public var coreTokenBudget: Int
        /// Days after its last change that a `memory/working/` note without `expires:` expires
        /// (`working_ttl_days`, default 14; 0 means working notes never expire by age).
        public var workingTTLDays: Int
        /// Tokens of notes retrieved for an agent's task, besides core memory (`context_token_budget`,
        /// default 8000; an agent's `context_tokens:` overrides it; 0 means core memory only).
        public var contextTokenBudget: Int

        public init(coreTokenBudget: Int = 4000, workingTTLDays: Int = 14, contextTokenBudget: Int = 8000) {
            self.coreTokenBudget = coreTokenBudget
            self.workingTTLDays = workingTTLDays
            self.contextTokenBudget = contextTokenBudget
        }

        enum CodingKeys: String, CodingKey {
            case coreTokenBudget = "core_token_budget"
            case workingTTLDays = "working_ttl_days"
            case contextTokenBudget = "context_token_budget"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = MemoryRules()
            coreTokenBudget = try c.integer(.coreTokenBudget, default: d.coreTokenBudget)
            workingTTLDays = try c.integer(.workingTTLDays, default: d.workingTTLDays)
            contextTokenBudget = try c.integer(.contextTokenBudget, default: d.contextTokenBudget)
        }
    }

    /// How much an agent may do without the operator.
    public enum AutonomyLevel: String, Codable, Sendable, CaseIterable {
        /// Every proposal waits for the operator's approval.
        case advisory
        /// Proposals that pass every policy check may merge on their own.
        case auto
    }

    /// `autonomy`: whether agents may merge their own proposals.
    public struct AutonomyRules: Codable, Sendable, Equatable {
        /// The autonomy of an agent whose file does not say (`default`, default advisory).
        public var `default`: AutonomyLevel
        /// Approvals in a row, without a rejection, after which cairn suggests promoting an
        /// agent to `auto` — as a proposal the operator reviews (`promote_after_approvals`,
        /// default 3; 0 turns the suggestion off).
        public var promoteAfterApprovals: Int

        public init(default level: AutonomyLevel = .advisory, promoteAfterApprovals: Int = 3) {
            self.default = level
            self.promoteAfterApprovals = promoteAfterApprovals
        }

        enum CodingKeys: String, CodingKey {
            case `default`
            case promoteAfterApprovals = "promote_after_approvals"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = AutonomyRules()
            let raw = try c.string(.default, default: d.default.rawValue)
            guard let level = AutonomyLevel(rawValue: raw) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .default, in: c,
                    debugDescription: "must be \"advisory\" or \"auto\", not \"\(raw)\"")
            }
            self.default = level
            promoteAfterApprovals = try c.integer(.promoteAfterApprovals, default: d.promoteAfterApprovals)
        }
    }

    /// `quotas`: daily limits (per calendar day in UTC) for each agent and each workflow; 0 allows nothing.
    ///
    /// The three top-level values apply to every agent and every workflow on its own; `agents` and
    /// `workflows` override any of them for one name. Usage is counted from the run records.
    public struct Quotas: Codable, Sendable, Equatable {
        /// Runs per day (`runs_per_day`, default 50): agent runs for an agent, workflow runs started for a workflow.
        public var runsPerDay: Int
        /// Model tokens (prompt plus reply) per day (`tokens_per_day`, default 200000).
        public var tokensPerDay: Int
        /// Model spend in US dollars per day (`cost_usd_per_day`, default 1.0).
        public var costUSDPerDay: Double
        /// Limits for one agent, by agent name (`agents`, default none).
        public var agents: [String: Limits]
        /// Limits for one workflow, by workflow name (`workflows`, default none).
        public var workflows: [String: Limits]

        /// Per-name overrides; a missing key takes the top-level value.
        public struct Limits: Codable, Sendable, Equatable {
            public var runsPerDay: Int?
            public var tokensPerDay: Int?
            public var costUSDPerDay: Double?

            public init(runsPerDay: Int? = nil, tokensPerDay: Int? = nil, costUSDPerDay: Double? = nil) {
                self.runsPerDay = runsPerDay
                self.tokensPerDay = tokensPerDay
                self.costUSDPerDay = costUSDPerDay
            }

            enum CodingKeys: String, CodingKey {
                case runsPerDay = "runs_per_day"
                case tokensPerDay = "tokens_per_day"
                case costUSDPerDay = "cost_usd_per_day"
            }

            public init(from decoder: any Decoder) throws {
                let c = try decoder.container(keyedBy: CodingKeys.self)
                runsPerDay = try c.contains(.runsPerDay) && !c.decodeNil(forKey: .runsPerDay) ? c.integer(.runsPerDay, default: 0) : nil
                tokensPerDay = try c.contains(.tokensPerDay) && !c.decodeNil(forKey: .tokensPerDay) ? c.integer(.tokensPerDay, default: 0) : nil
                costUSDPerDay = try c.decodeIfPresent(Double.self, forKey: .costUSDPerDay)
            }
        }

        public init(runsPerDay: Int = 50, tokensPerDay: Int = 200_000, costUSDPerDay: Double = 1.0,
                    agents: [String: Limits] = [:], workflows: [String: Limits] = [:]) {
            self.runsPerDay = runsPerDay
            self.tokensPerDay = tokensPerDay
            self.costUSDPerDay = costUSDPerDay
            self.agents = agents
            self.workflows = workflows
        }

        /// The limits that apply to agent `name`: its override where set, else the top-level value.
        public func limits(agent name: String) -> Limits { resolved(agents[name]) }

        /// The limits that apply to workflow `name`.
        public func limits(workflow name: String) -> Limits { resolved(workflows[name]) }

        private func resolved(_ override: Limits?) -> Limits {
            Limits(runsPerDay: override?.runsPerDay ?? runsPerDay, tokensPerDay: override?.tokensPerDay ?? tokensPerDay,
                   costUSDPerDay: override?.costUSDPerDay ?? costUSDPerDay)
        }

        enum CodingKeys: String, CodingKey {
            case runsPerDay = "runs_per_day"
            case tokensPerDay = "tokens_per_day"
            case costUSDPerDay = "cost_usd_per_day"
            case agents, workflows
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Quotas()
            runsPerDay = try c.integer(.runsPerDay, default: d.runsPerDay)
            tokensPerDay = try c.integer(.tokensPerDay, default: d.tokensPerDay)
            costUSDPerDay = try c.number(.costUSDPerDay, default: d.costUSDPerDay)
            agents = try c.section(.agents, default: d.agents)
            workflows = try c.section(.workflows, default: d.workflows)
        }
    }

    /// `circuit_breaker`: when an agent is stopped after repeated failures.
    public struct CircuitBreaker: Codable, Sendable, Equatable {
        /// Failed runs in a row after which the agent is paused until the operator resets it with
        /// `cairn policy reset AGENT` (`consecutive_failures`, default 3; 0 turns the breaker off).
        public var consecutiveFailures: Int
        /// Per-agent thresholds, by agent name (`agents`, default none).
        public var agents: [String: Int]
        /// Per-workflow thresholds, by workflow name (`workflows`, default none): failed workflow runs in a row
        /// after which no new run of it starts until `cairn policy reset --workflow NAME`.
        public var workflows: [String: Int]

        public init(consecutiveFailures: Int = 3, agents: [String: Int] = [:], workflows: [String: Int] = [:]) {
            self.consecutiveFailures = consecutiveFailures
            self.agents = agents
            self.workflows = workflows
        }

        /// The threshold for agent `name` (0: never trips).
        public func threshold(agent name: String) -> Int { agents[name] ?? consecutiveFailures }

        /// The threshold for workflow `name` (0: never trips).
        public func threshold(workflow name: String) -> Int { workflows[name] ?? consecutiveFailures }

        enum CodingKeys: String, CodingKey {
            case consecutiveFailures = "consecutive_failures"
            case agents, workflows
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            consecutiveFailures = try c.integer(.consecutiveFailures, default: CircuitBreaker().consecutiveFailures)
            agents = try c.section(.agents, default: [:])
            workflows = try c.section(.workflows, default: [:])
        }
    }

    /// `health`: what `cairn tick` reports as waiting for the operator.
    public struct Health: Codable, Sendable, Equatable {
        /// Days a proposal may wait for review before the tick digest flags it (`stale_proposal_days`, default 3).
        public var staleProposalDays: Int
        /// Hours a workflow run may stay `running` without progress before it counts as stuck (`stuck_run_hours`, default 2).
        public var stuckRunHours: Int

        public init(staleProposalDays: Int = 3, stuckRunHours: Int = 2) {
            self.staleProposalDays = staleProposalDays
            self.stuckRunHours = stuckRunHours
        }

        enum CodingKeys: String, CodingKey {
            case staleProposalDays = "stale_proposal_days"
            case stuckRunHours = "stuck_run_hours"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Health()
            staleProposalDays = try c.integer(.staleProposalDays, default: d.staleProposalDays)
            stuckRunHours = try c.integer(.stuckRunHours, default: d.stuckRunHours)
        }
    }

    /// `secret_scan`: the check for credentials in proposed changes.
    public struct SecretScan: Codable, Sendable, Equatable {
        /// Whether proposals are scanned (`enabled`, default true).
        public var enabled: Bool
        /// Globs whose files are not scanned (`allow_paths`, default none).
        public var allowPaths: [String]

        public init(enabled: Bool = true, allowPaths: [String] = []) {
            self.enabled = enabled
            self.allowPaths = allowPaths
        }

        enum CodingKeys: String, CodingKey {
            case enabled
            case allowPaths = "allow_paths"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = SecretScan()
            enabled = try c.boolean(.enabled, default: d.enabled)
            allowPaths = try c.strings(.allowPaths, default: d.allowPaths)
        }
    }

    /// `retention`: what `cairn prune` removes from history (see `vault-template/policy.md`).
    public struct Retention: Codable, Sendable, Equatable {
        /// Days a decided proposal stays under `refs/cairn/archive/` (`keep_archived_proposals_days`, default 90).
        public var keepArchivedProposalsDays: Int
        /// Days the record of a run that never reached the branch stays on `refs/cairn/runs/`
        /// (`keep_run_records_days`, default 365). Run records on the branch stay: audit needs them.
        public var keepRunRecordsDays: Int
        /// Days of history kept for `memory/working/**` (`keep_working_history_days`, default nil: all of it):
        /// commits older than this lose the versions of working notes that are not the current one.
        public var keepWorkingHistoryDays: Int?
        /// Globs of paths whose every version leaves all history (`forget`, default none); a path still on
        /// the branch is refused — use `cairn forget --include-current` for that.
        public var forget: [String]
        /// Days after which agent and tick commits on the branch's first-parent line are squashed into one commit per
        /// day (`squash_agent_commits_days`, default nil: never); the operator's own commits stay as they are.
        public var squashAgentCommitsDays: Int?
        /// Days between prunes `cairn tick` runs on its own (`prune_every_days`, default 0: never).
        public var pruneEveryDays: Int

        public init(keepArchivedProposalsDays: Int = 90, keepRunRecordsDays: Int = 365, keepWorkingHistoryDays: Int? = nil,
                    forget: [String] = [], pruneEveryDays: Int = 0, squashAgentCommitsDays: Int? = nil) {
            self.squashAgentCommitsDays = squashAgentCommitsDays
            self.keepArchivedProposalsDays = keepArchivedProposalsDays
            self.keepRunRecordsDays = keepRunRecordsDays
            self.keepWorkingHistoryDays = keepWorkingHistoryDays
            self.forget = forget
            self.pruneEveryDays = pruneEveryDays
        }

        enum CodingKeys: String, CodingKey {
            case keepArchivedProposalsDays = "keep_archived_proposals_days"
            case keepRunRecordsDays = "keep_run_records_days"
            case keepWorkingHistoryDays = "keep_working_history_days"
            case forget
            case pruneEveryDays = "prune_every_days"
            case squashAgentCommitsDays = "squash_agent_commits_days"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Retention()
            keepArchivedProposalsDays = try c.integer(.keepArchivedProposalsDays, default: d.keepArchivedProposalsDays)
            keepRunRecordsDays = try c.integer(.keepRunRecordsDays, default: d.keepRunRecordsDays)
            keepWorkingHistoryDays = try c.contains(.keepWorkingHistoryDays) && !c.decodeNil(forKey: .keepWorkingHistoryDays)
                ? c.integer(.keepWorkingHistoryDays, default: 0) : nil
            forget = try c.strings(.forget, default: d.forget)
            pruneEveryDays = try c.integer(.pruneEveryDays, default: d.pruneEveryDays)
            squashAgentCommitsDays = try c.contains(.squashAgentCommitsDays) && !c.decodeNil(forKey: .squashAgentCommitsDays)
                ? c.integer(.squashAgentCommitsDays, default: 0) : nil
        }
    }

    /// `links`: what happens to the links to a file that a proposal renames or moves.
    public struct Links: Codable, Sendable, Equatable {
        /// When a proposal renames or moves a file, rewrite every link to it in the same commit, as Obsidian does with
        /// "Automatically update internal links" (`update_on_rename`, default true). Only the path part of each link
        /// changes; those rewrites may fall outside the agent's `writes:` (they are listed apart in the proposal) but
        /// never touch protected paths.
        public var updateOnRename: Bool

        public init(updateOnRename: Bool = true) {
            self.updateOnRename = updateOnRename
        }

        enum CodingKeys: String, CodingKey {
            case updateOnRename = "update_on_rename"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            updateOnRename = try c.boolean(.updateOnRename, default: Links().updateOnRename)
        }
    }

    // MARK: Decoding

    enum CodingKeys: String, CodingKey {
        case version
        case protectedPaths = "protected_paths"
        case review, memory, autonomy, quotas
        case circuitBreaker = "circuit_breaker"
        case secretScan = "secret_scan"
        case retention, health, links
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = Policy()
        version = try c.integer(.version, default: d.version)
        protectedPaths = try c.strings(.protectedPaths, default: d.protectedPaths)
        review = try c.section(.review, default: d.review)
        memory = try c.section(.memory, default: d.memory)
        autonomy = try c.section(.autonomy, default: d.autonomy)
        quotas = try c.section(.quotas, default: d.quotas)
        circuitBreaker = try c.section(.circuitBreaker, default: d.circuitBreaker)
        secretScan = try c.section(.secretScan, default: d.secretScan)
        retention = try c.section(.retention, default: d.retention)
        health = try c.section(.health, default: d.health)
        links = try c.section(.links, default: d.links)
    }

    // MARK: Loading and validation

    /// Reads and validates the policy file at `url`; errors name the file by `url.path`.
    ///
    /// - Throws: `FileProblem` for a missing, unreadable, oversized, non-UTF-8, malformed or
    ///   invalid file. Never writes anything.
    public static func load(from url: URL) throws -> Policy { try loadChecked(from: url) }

    /// Parses and validates the bytes of a policy file (for example a blob read from `main`).
    ///
    /// - Parameter path: how errors name the file, usually `policy.json`.
    /// - Throws: `FileProblem` with the line of the problem whenever it can be located.
    public static func parse(_ data: Data, path: String) throws -> Policy { try parseChecked(data, path: path) }

    /// Checks the values against their allowed ranges.
    ///
    /// - Throws: `FileProblem` naming `path` and the first key with a value out of range.
    public func validate(path: String = Policy.relativePath) throws { try validateChecked(path: path) }

    /// Every value out of range, in file order, as key path and reason.
    func problems() -> [(keyPath: String, reason: String)] {
        var found: [(keyPath: String, reason: String)] = []
        func atLeast(_ minimum: Int, _ value: Int, _ keyPath: String) {
            if value < minimum { found.append((keyPath, "must be at least \(minimum), not \(value)")) }
        }
        if version != 1 {
            found.append(("version", "unsupported version \(version); this cairn understands version 1"))
        }
        for (index, glob) in protectedPaths.enumerated() {
            if let reason = Self.globProblem(glob) { found.append(("protected_paths[\(index)]", reason)) }
        }
        atLeast(1, review.maxFiles, "review.max_files")
        atLeast(1, review.maxChangedLines, "review.max_changed_lines")
        atLeast(1, memory.coreTokenBudget, "memory.core_token_budget")
        atLeast(0, memory.workingTTLDays, "memory.working_ttl_days")
        atLeast(0, memory.contextTokenBudget, "memory.context_token_budget")
        atLeast(0, autonomy.promoteAfterApprovals, "autonomy.promote_after_approvals")
        atLeast(0, quotas.runsPerDay, "quotas.runs_per_day")
        atLeast(0, quotas.tokensPerDay, "quotas.tokens_per_day")
        if !(quotas.costUSDPerDay >= 0) || !quotas.costUSDPerDay.isFinite {
            found.append(("quotas.cost_usd_per_day", "must be a number of dollars, 0 or more, not \(quotas.costUSDPerDay)"))
        }
        for (name, limits) in quotas.agents.sorted(by: { $0.key < $1.key }) {
            found += Self.limitProblems(limits, "quotas.agents.\(name)")
        }
        for (name, limits) in quotas.workflows.sorted(by: { $0.key < $1.key }) {
            found += Self.limitProblems(limits, "quotas.workflows.\(name)")
        }
        atLeast(0, circuitBreaker.consecutiveFailures, "circuit_breaker.consecutive_failures")
        for (name, value) in circuitBreaker.agents.sorted(by: { $0.key < $1.key }) {
            atLeast(0, value, "circuit_breaker.agents.\(name)")
        }
        for (name, value) in circuitBreaker.workflows.sorted(by: { $0.key < $1.key }) {
            atLeast(0, value, "circuit_breaker.workflows.\(name)")
        }
        for (index, glob) in secretScan.allowPaths.enumerated() {
            if let reason = Self.globProblem(glob) { found.append(("secret_scan.allow_paths[\(index)]", reason)) }
        }
        atLeast(0, retention.keepArchivedProposalsDays, "retention.keep_archived_proposals_days")
        atLeast(0, retention.keepRunRecordsDays, "retention.keep_run_records_days")
        if let days = retention.keepWorkingHistoryDays { atLeast(1, days, "retention.keep_working_history_days") }
        for (index, glob) in retention.forget.enumerated() {
            if let reason = Self.globProblem(glob) { found.append(("retention.forget[\(index)]", reason)) }
        }
        atLeast(0, retention.pruneEveryDays, "retention.prune_every_days")
        if let days = retention.squashAgentCommitsDays { atLeast(1, days, "retention.squash_agent_commits_days") }
        atLeast(1, health.staleProposalDays, "health.stale_proposal_days")
        atLeast(1, health.stuckRunHours, "health.stuck_run_hours")
        return found
    }

    private static func limitProblems(_ limits: Quotas.Limits, _ keyPath: String) -> [(keyPath: String, reason: String)] {
        var found: [(keyPath: String, reason: String)] = []
        if let v = limits.runsPerDay, v < 0 { found.append(("\(keyPath).runs_per_day", "must be at least 0, not \(v)")) }
        if let v = limits.tokensPerDay, v < 0 { found.append(("\(keyPath).tokens_per_day", "must be at least 0, not \(v)")) }
        if let v = limits.costUSDPerDay, !(v >= 0) || !v.isFinite {
            found.append(("\(keyPath).cost_usd_per_day", "must be a number of dollars, 0 or more, not \(v)"))
        }
        return found
    }

    /// Why `glob` cannot be a path pattern, or nil when it can.
    static func globProblem(_ glob: String) -> String? {
        if glob.trimmingCharacters(in: .whitespaces).isEmpty { return "must not be empty" }
        if glob.unicodeScalars.contains("\u{0}") { return "must not contain a NUL character" }
        if glob.contains(where: \.isNewline) { return "must not contain a line break" }
        return nil
    }
}
