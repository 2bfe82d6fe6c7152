import ArgumentParser
import CairnKit
import Foundation

extension Cairn.PolicyCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", 
            abstract: "Show the policy in force, each agent's autonomy, today's quota use and the circuit breakers.")
        @OptionGroup var vaultOptions: VaultOptions
        @OptionGroup var output: OutputOptions

        struct Report: Encodable { let policy: Policy; let agents: [AgentTrust]; let limits: RunLimitsReport }

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let policy = try vault.loadPolicy()
            let records = try vault.approvalRecords()
            let trust = try vault.agentCatalog().agents.map { try vault.trust(for: $0, policy: policy, records: records) }
            let limits = try vault.runLimits(policy: policy, now: env.now)
            let out = Output(env)
            if output.json { return try out.json(Report(policy: policy, agents: trust, limits: limits)) }
            out.line(out.paint("Protected paths: ", .bold) + policy.effectiveProtectedPaths.joined(separator: " "))
            out.line(out.paint("Review gates: ", .bold) + "more than \(policy.review.maxFiles) files or \(policy.review.maxChangedLines) changed lines; memory/core over \(policy.memory.coreTokenBudget) tokens")
            out.line(out.paint("Secret scan: ", .bold) + (policy.secretScan.enabled ? "on" : "off"))
            out.line(out.paint("Promotion: ", .bold) + "autonomy: auto agents merge low-risk proposals after \(policy.autonomy.promoteAfterApprovals) consecutive approvals; a rejection demotes")
            for t in trust { out.line("  " + out.paint(t.agent, .bold) + " — " + t.state.rawValue + ": " + t.reason) }
            out.line(out.paint("Quotas ", .bold) + "(today, \(limits.day) UTC; counts restart at \(limits.resetsAt)):")
            for q in limits.agents + limits.workflows { out.line("  " + Self.quotaLine(q, out: out)) }
            out.line(out.paint("Circuit breakers: ", .bold) + "an agent is paused after \(policy.circuitBreaker.consecutiveFailures) failed runs in a row (0: never) until `cairn policy reset AGENT`")
            for b in limits.breakers + limits.workflowBreakers {
                let reset = b.kind == "workflow" ? "cairn policy reset --workflow \(b.agent)" : "cairn policy reset \(b.agent)"
                let state = b.open ? out.paint("OPEN", .red) + " — paused; `\(reset)`" : "closed"
                let failures = b.failedRuns.isEmpty ? "" : ", \(b.failedRuns.count) failure\(b.failedRuns.count == 1 ? "" : "s") in a row (\(b.failedRuns.joined(separator: ", ")))"
                out.line("  " + out.paint(b.kind == "workflow" ? "workflow \(b.agent)" : b.agent, .bold) + " — \(state)\(failures)" + (b.lastReset.map { "; last reset \($0)" } ?? ""))
            }
        }

        static func quotaLine(_ q: QuotaStatus, out: Output) -> String {
            func limit(_ value: Int?) -> String { value.map(String.init) ?? "∞" }
            let cost = q.limits.costUSDPerDay.map { String(format: "$%.2f", $0) } ?? "∞"
            var line = out.paint("\(q.kind) \(q.name)", .bold)
                + ": \(q.used.runs)/\(limit(q.limits.runsPerDay)) runs, \(q.used.tokens)/\(limit(q.limits.tokensPerDay)) tokens, "
                + String(format: "$%.4f", q.used.costUSD) + "/\(cost)"
            if !q.exhausted.isEmpty { line += "  " + out.paint("exhausted: " + q.exhausted.joined(separator: ", "), .red) }
            return line
        }
    }

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "reset", 
            abstract: "Close an agent's (or with --workflow, a workflow's) circuit breaker so it may run again.",
            discussion: "The failures so far stop counting; the reset is recorded as a commit on refs/cairn/breakers/AGENT (refs/cairn/workflow-breakers/WORKFLOW).")
        @OptionGroup var vaultOptions: VaultOptions
        @Argument(help: "The agent's name (the workflow's with --workflow).")
        var agent: String
        @Flag(help: "Reset the breaker of the workflow of that name instead of an agent's.")
        var workflow = false
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let author = try env.identity(for: vault)
            let status = workflow ? try vault.resetWorkflowBreaker(workflow: agent, author: author, now: env.now)
                : try vault.resetBreaker(agent: agent, author: author, now: env.now)
            let out = Output(env)
            if output.json { return try out.json(status) }
            out.line("Reset the circuit breaker of \(workflow ? "workflow " : "")\(agent); it may run again.")
        }
    }
}
