import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Named places in every writer where a test can make cairn die as if by `kill -9`.
///
/// Disarmed unless the embedding program arms one (the CLI does so only when `CAIRN_CRASH_AT` is set,
/// a switch for tests). The crash tests prove that after dying at any of these points the repository
/// passes `git fsck --strict`, nothing reported done is lost, and re-running completes the work.
public enum CrashPoints {
    nonisolated(unsafe) private static var armed: String?

    /// Every point, in the order the writers pass them.
    public static let all = [
        "snapshot.before-ref", "snapshot.after-ref",
        "agent.before-ref", "agent.after-ref",
        "approve.before-ref", "approve.after-ref", "approve.after-checkout",
        "reject.before-ref", "reject.after-ref", "reject.after-checkout",
        "note.before-link", "note.after-link",
        "index.rebuild.before-rename", "index.update.before-commit",
        // Workflows; each also fires as `NAME:STEP` (agent ones too, for a workflow's step) to stop at one step.
        "workflow.before-step", "workflow.after-step", "workflow.before-checkpoint", "workflow.after-checkpoint",
        "workflow-task.before-ref", "workflow-task.after-ref", "workflow-task.after-checkout",
        // Prune and forget: after the new pack, after the journal, after the first reference switched, before and
        // during the removal of old objects.
        "prune.after-pack", "prune.after-journal", "prune.mid-refs", "prune.before-delete", "prune.mid-delete",
    ]

    /// Arms `name`: the next time a writer reaches it, the process is killed with SIGKILL.
    public static func arm(_ name: String?) { armed = name }

    /// Called by writers at each named point.
    @inline(__always)
    static func hit(_ name: String) {
        guard let armed, armed == name else { return }
        kill(getpid(), SIGKILL)
    }
}
