import Foundation

/// The operator's verdict on a proposal.
public enum OperatorDecision: String, Sendable, Codable {
    case approve, reject
}

/// What deciding a proposal did: the decision itself, and the workflow runs that went on because of it.
public struct DecisionOutcome: Sendable {
    public let result: DecisionResult
    /// Workflow runs that were waiting on this proposal, as they stand after going on.
    public let advanced: [WorkflowRun]
    /// Set when a workflow waiting on the proposal could not go on; the decision stands and `cairn resume`
    /// continues the run.
    public let workflowProblem: String?
    /// Set when workflow runs wait on this proposal but another machine runs this vault's workflows
    /// (`sync.schedules_on`): they go on there after both machines sync, never here as well.
    public var goesOnElsewhere: String? = nil
}

extension Vault {
    /// Approves or rejects proposal `id` (see `approve` and `reject`), then advances every workflow run waiting on it.
    ///
    /// The decision is committed first and is never undone by what follows: a workflow that cannot go on is reported
    /// in `workflowProblem`, not thrown. Every caller that decides (the CLI, sync, the MCP server) goes through here,
    /// so a decision always moves its workflow the same way.
    public func decide(_ id: String, _ decision: OperatorDecision, note: String?, now: Date,
                       options: WorkflowOptions) throws -> DecisionOutcome {
        let result: DecisionResult
        switch decision {
        case .approve: result = try approve(id, note: note, author: options.author, now: now)
        case .reject: result = try reject(id, note: note, author: options.author, now: now)
        }
        if let owner = workflowOwnerElsewhere(),
           let waiting = try? workflowRuns().filter({ $0.status == .waitingApproval && $0.currentStep?.run == result.id }), !waiting.isEmpty {
            var outcome = DecisionOutcome(result: result, advanced: [], workflowProblem: nil)
            outcome.goesOnElsewhere = "workflow run \(waiting.map(\.id).joined(separator: ", ")) goes on on machine \(owner), which runs this "
                + "vault's workflows (sync.schedules_on), once this decision reaches it: run `cairn sync` here, then it syncs"
            return outcome
        }
        do {
            let advanced = try advanceWorkflows(waitingOn: result.id, now: now, options: options)
            return DecisionOutcome(result: result, advanced: advanced, workflowProblem: nil)
        } catch {
            return DecisionOutcome(result: result, advanced: [], workflowProblem: "\(error)")
        }
    }
}
