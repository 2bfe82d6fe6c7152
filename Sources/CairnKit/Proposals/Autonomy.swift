import CairnGit
import Foundation

/// How far the operator trusts an agent, earned from its approval record.
public struct AgentTrust: Sendable, Codable {
    public enum State: String, Sendable, Codable {
        /// Every proposal waits for review (the agent is `autonomy: advisory`).
        case advisory
        /// `autonomy: auto`, but not enough consecutive approvals yet.
        case earning
        /// May merge low-risk proposals on its own.
        case trusted
        /// Was rejected after it last earned trust; earning again.
        case demoted
    }
    public let agent: String
    public let declared: Policy.AutonomyLevel
    public let state: State
    /// Approvals since the last rejection.
    public let consecutiveApprovals: Int
    public let required: Int
    public let approvals: Int
    public let rejections: Int
    public let reason: String

    public var mayAutoMerge: Bool { state == .trusted }
}

extension Vault {
    /// Every decision recorded under `approvals/` on main, oldest first.
    public func approvalRecords() throws -> [ApprovalRecord] {
        guard let main = try head() else { return [] }
        let tree = try repository.commit(main).tree
        var out: [ApprovalRecord] = []
        for file in try repository.files(in: tree, under: "approvals") where file.path.hasSuffix(".json") {
            if let r = try? JSONDecoder().decode(ApprovalRecord.self, from: try repository.blob(file.oid)) { out.append(r) }
        }
        return out.sorted { ($0.decidedAt, $0.run) < ($1.decidedAt, $1.run) }
    }

    /// The trust `agent` has earned: `autonomy: auto` agents are promoted after `promote_after_approvals`
    /// consecutive approvals (default 3) and demoted by any rejection.
    public func trust(for agent: AgentDefinition, policy: Policy, records: [ApprovalRecord]? = nil) throws -> AgentTrust {
        let mine = try (records ?? approvalRecords()).filter { $0.agent == agent.name }
        var streak = 0
        var everTrusted = false
        var rejectedAfterTrust = false
        let required = policy.autonomy.promoteAfterApprovals
        for r in mine {
            if r.decision == .rejected {
                if streak >= required || everTrusted { rejectedAfterTrust = true }
                everTrusted = false
                streak = 0
            } else {
                streak += 1
                if streak >= required { everTrusted = true; rejectedAfterTrust = false }
            }
        }
        let approvals = mine.filter { $0.decision != .rejected }.count
        let rejections = mine.count - approvals
        let state: AgentTrust.State
        let reason: String
        if agent.effectiveAutonomy(policy) == .advisory {
            state = .advisory
            reason = agent.autonomyIsExplicit ? "autonomy: advisory in \(agent.path); every proposal waits for review"
                : "no autonomy in \(agent.path) and policy default is advisory; every proposal waits for review"
        } else if streak >= required {
            state = .trusted
            reason = "\(streak) consecutive approvals (needs \(required)); low-risk proposals merge automatically"
        } else if rejectedAfterTrust {
            state = .demoted
            reason = "demoted by a rejection; \(streak)/\(required) approvals since"
        } else {
            state = .earning
            reason = "\(streak)/\(required) consecutive approvals before proposals may merge automatically"
        }
        return AgentTrust(agent: agent.name, declared: agent.effectiveAutonomy(policy), state: state, consecutiveApprovals: streak,
                          required: required, approvals: approvals, rejections: rejections, reason: reason)
    }

    /// The vault's policy.json (defaults when missing); a broken file is an error naming the line.
    public func loadPolicy() throws -> Policy {
        let path = absolutePath(Policy.relativePath)
        guard FileManager.default.fileExists(atPath: path) else { return .default }
        return try Policy.load(from: URL(fileURLWithPath: path))
    }
}
