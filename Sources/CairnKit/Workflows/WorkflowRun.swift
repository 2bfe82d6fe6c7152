import Foundation

/// Where a workflow run stands.
public enum WorkflowStatus: String, Sendable, Codable, CaseIterable {
    /// Started or between steps; `advanceWorkflow` goes on.
    case running
    /// A gated step's proposal waits for `cairn approve`.
    case waitingApproval = "waiting-approval"
    /// A step failed and is retried at `retryAt`.
    case waitingRetry = "waiting-retry"
    /// A step was handed to the operator as a task note; `cairn resume` goes on after it.
    case waitingOperator = "waiting-operator"
    /// Stopped by a failure; the task note says what happened.
    case failed
    /// Stopped by `cairn cancel`.
    case cancelled
    /// Every step finished.
    case done

    /// True when nothing will advance the run any more.
    public var isFinal: Bool { self == .failed || self == .cancelled || self == .done }
}

/// One step of a run.
public struct WorkflowStepState: Sendable, Codable, Hashable {
    public enum Status: String, Sendable, Codable {
        case pending
        case waitingApproval = "waiting-approval"
        case waitingRetry = "waiting-retry"
        /// Handed to the operator (`on_failure: task`).
        case waitingOperator = "waiting-operator"
        case done
        case skipped
        /// Failed its last attempt; the workflow stops (compensations run first).
        case failed
        /// Finished by the operator after a hand-off.
        case handedOff = "handed-off"
        case cancelled
    }
    public var id: String
    public var agent: String
    public var status: Status
    /// Attempts started so far (the fallback not counted).
    public var attempts: Int = 0
    /// The agent run of the current attempt (or of the fallback).
    public var run: String?
    /// Every run id of this step, in order (attempts, fallback).
    public var runs: [String] = []
    /// The step's commit (proposal or run record).
    public var commit: String?
    /// The agent run's outcome (`proposed`, `auto-merged`, `no-changes`, `failed`, `blocked`) or `rejected`.
    public var outcome: String?
    public var summary: String?
    /// Files the step changed.
    public var files: [String] = []
    /// `output.KEY: value` lines a command agent printed.
    public var output: [String: String] = [:]
    public var failure: String?
    /// When the next attempt is due (ISO 8601), for `waiting-retry`.
    public var retryAt: String?
    /// True when the fallback agent ran.
    public var usedFallback = false
    /// The compensating run, once started.
    public var compensation: String?
}

/// A workflow run: its inputs, where each step stands, and what waits.
///
/// Stored as `state.json` in a chain of commits on `refs/cairn/workflows/<id>` (never in the working tree
/// or on main); `checkpoint` is the commit it was read from.
public struct WorkflowRun: Sendable, Codable {
    public var version = 1
    public var id: String
    public var workflow: String
    /// The definition's path; the definition itself is pinned in the checkpoint tree as `workflow.md`.
    public var path: String
    public var trigger: String?
    public var input: [String: String]
    public var status: WorkflowStatus
    public var steps: [WorkflowStepState]
    public var startedAt: String
    public var updatedAt: String
    public var finishedAt: String?
    /// What waits or what went wrong, in words.
    public var message: String?
    /// When a `waiting-retry` run is due (ISO 8601).
    public var retryAt: String?
    /// Operator task notes written for this run (vault paths, on main).
    public var tasks: [String] = []
    /// The checkpoint commit this state was read from (nil in the stored file).
    public var checkpoint: String?

    /// The step that is waiting or runs next.
    public var currentStep: WorkflowStepState? {
        steps.first { ![.done, .skipped, .handedOff, .cancelled].contains($0.status) }
    }

    /// `RUN/STEP`, the value of the `Cairn-Workflow` trailer of a step's commit.
    public func trailer(step: String) -> String { "\(id)/\(step)" }

    /// The due date of a waiting retry.
    public var retryDate: Date? { retryAt.flatMap { ISOTime.date(from: $0) } }

}
