import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A named place in a writer where a test can make cairn die as if by `kill -9`.
///
/// The cases are the whole list: the crash tests kill at every `CrashPoint.allCases` (see
/// `CrashMatrixTests.killNineAtEveryCrashPoint`, whose exhaustive `switch` does not compile until a new point has a
/// scenario). The raw value is the name `CAIRN_CRASH_AT` takes.
public enum CrashPoint: String, CaseIterable, Sendable, CustomStringConvertible {
    case snapshotBeforeRef = "snapshot.before-ref", snapshotAfterRef = "snapshot.after-ref"
    case agentBeforeRef = "agent.before-ref", agentAfterRef = "agent.after-ref"
    case approveBeforeRef = "approve.before-ref", approveAfterRef = "approve.after-ref"
    case approveAfterCheckout = "approve.after-checkout"
    case rejectBeforeRef = "reject.before-ref", rejectAfterRef = "reject.after-ref"
    case rejectAfterCheckout = "reject.after-checkout"
    case emitBeforeRef = "emit.before-ref", emitAfterRef = "emit.after-ref", emitAfterCheckout = "emit.after-checkout"
    case tickBeforeRef = "tick.before-ref", tickAfterRef = "tick.after-ref", tickAfterCheckout = "tick.after-checkout"
    case noteBeforeLink = "note.before-link", noteAfterLink = "note.after-link"
    case indexRebuildBeforeRename = "index.rebuild.before-rename", indexUpdateBeforeCommit = "index.update.before-commit"
    case workflowBeforeStep = "workflow.before-step", workflowAfterStep = "workflow.after-step"
    case workflowBeforeCheckpoint = "workflow.before-checkpoint", workflowAfterCheckpoint = "workflow.after-checkpoint"
    case workflowTaskBeforeRef = "workflow-task.before-ref", workflowTaskAfterRef = "workflow-task.after-ref"
    case workflowTaskAfterCheckout = "workflow-task.after-checkout"
    // Prune and forget: after the new pack, after the journal, after the first reference switched, before and
    // during the removal of old objects.
    case pruneAfterPack = "prune.after-pack", pruneAfterJournal = "prune.after-journal", pruneMidRefs = "prune.mid-refs"
    case pruneBeforeDelete = "prune.before-delete", pruneMidDelete = "prune.mid-delete"
    // Sync: before the push, and around moving main to the integrated history.
    case syncBeforePush = "sync.before-push"
    case syncBeforeRef = "sync.before-ref", syncAfterRef = "sync.after-ref", syncAfterCheckout = "sync.after-checkout"
    // Connector pulls, and outbox sends (around the wire and around recording the state).
    case connectorBeforeRef = "connector.before-ref", connectorAfterRef = "connector.after-ref"
    case connectorAfterCheckout = "connector.after-checkout"
    case outboxBeforeSend = "outbox.before-send", outboxAfterSend = "outbox.after-send"
    case outboxBeforeClaimPush = "outbox.before-claim-push"
    case outboxBeforeRef = "outbox.before-ref", outboxAfterRef = "outbox.after-ref", outboxAfterCheckout = "outbox.after-checkout"
    // cairn init of a folder: the notes' objects written, not yet synced or committed.
    case initAfterObjects = "init.after-objects"
    // cairn mv: around moving main to the commit with the moved files and updated links.
    case moveBeforeRef = "move.before-ref", moveAfterRef = "move.after-ref", moveAfterCheckout = "move.after-checkout"

    public var description: String { rawValue }

    /// Whether the point also fires as `NAME:STEP` when a workflow step reaches it, so that a test can stop at
    /// one step's boundary.
    public var firesPerStep: Bool {
        switch self {
        case .agentBeforeRef, .agentAfterRef, .workflowBeforeStep, .workflowAfterStep,
             .workflowBeforeCheckpoint, .workflowAfterCheckpoint:
            return true
        default:
            return false
        }
    }
}

/// The writers that move `main` through `Vault.moveMain`, each with its three crash points.
enum MainMove: String, Sendable {
    case approve, reject, emit, tick, sync, connector, outbox, move
    case workflowTask = "workflow-task"

    var beforeRef: CrashPoint {
        switch self {
        case .approve: .approveBeforeRef
        case .reject: .rejectBeforeRef
        case .emit: .emitBeforeRef
        case .tick: .tickBeforeRef
        case .sync: .syncBeforeRef
        case .connector: .connectorBeforeRef
        case .outbox: .outboxBeforeRef
        case .move: .moveBeforeRef
        case .workflowTask: .workflowTaskBeforeRef
        }
    }

    var afterRef: CrashPoint {
        switch self {
        case .approve: .approveAfterRef
        case .reject: .rejectAfterRef
        case .emit: .emitAfterRef
        case .tick: .tickAfterRef
        case .sync: .syncAfterRef
        case .connector: .connectorAfterRef
        case .outbox: .outboxAfterRef
        case .move: .moveAfterRef
        case .workflowTask: .workflowTaskAfterRef
        }
    }

    var afterCheckout: CrashPoint {
        switch self {
        case .approve: .approveAfterCheckout
        case .reject: .rejectAfterCheckout
        case .emit: .emitAfterCheckout
        case .tick: .tickAfterCheckout
        case .sync: .syncAfterCheckout
        case .connector: .connectorAfterCheckout
        case .outbox: .outboxAfterCheckout
        case .move: .moveAfterCheckout
        case .workflowTask: .workflowTaskAfterCheckout
        }
    }
}

/// Arms and fires the crash points.
///
/// Disarmed unless the embedding program arms one (the CLI does so only when `CAIRN_CRASH_AT` is set,
/// a switch for tests). The crash tests prove that after dying at any of these points the repository
/// passes `git fsck --strict`, nothing reported done is lost, and re-running completes the work.
public enum CrashPoints {
    nonisolated(unsafe) private static var armed: String?

    /// Arms `name` (a `CrashPoint` raw value, or `NAME:STEP` for a point that fires per step): the next time
    /// a writer reaches it, the process is killed with SIGKILL.
    public static func arm(_ name: String?) { armed = name }

    /// Called by writers at each point; `step` also fires `NAME:STEP` for points that fire per step.
    @inline(__always)
    static func hit(_ point: CrashPoint, step: String? = nil) {
        guard let armed else { return }
        if armed == point.rawValue { kill(getpid(), SIGKILL) }
        if let step, armed == point.rawValue + ":" + step { kill(getpid(), SIGKILL) }
    }
}
