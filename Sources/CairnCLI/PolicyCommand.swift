import ArgumentParser
import CairnKit
import Foundation

extension Cairn.PolicyCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
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
            for b in limits.breakers {
                let state = b.open ? out.paint("OPEN", .red) + " — paused; `cairn policy reset \(b.agent)`" : "closed"
                let failures = b.failedRuns.isEmpty ? "" : ", \(b.failedRuns.count) failure\(b.failedRuns.count == 1 ? "" : "s") in a row (\(b.failedRuns.joined(separator: ", ")))"
                out.line("  " + out.paint(b.agent, .bold) + " — \(state)\(failures)" + (b.lastReset.map { "; last reset \($0)" } ?? ""))
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
        static let configuration = CommandConfiguration(
            abstract: "Close an agent's circuit breaker so it may run again.",
            discussion: "The failures so far stop counting; the reset is recorded as a commit on refs/cairn/breakers/AGENT.")
        @OptionGroup var vaultOptions: VaultOptions
        @Argument(help: "The agent's name.")
        var agent: String
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let status = try vault.resetBreaker(agent: agent, author: try env.identity(for: vault), now: env.now)
            let out = Output(env)
            if output.json { return try out.json(status) }
            out.line("Reset the circuit breaker of \(agent); it may run again.")
        }
    }
}
