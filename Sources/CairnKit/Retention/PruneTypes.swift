import CairnGit
import Foundation

/// What `Vault.prune` does.
public struct PruneOptions: Sendable {
    /// Plan only: rewrite in memory, report, change nothing.
    public var dryRun: Bool
    /// Paths (or globs) whose every version leaves all history. When set, this is a forget: the policy's
    /// retention rules are not applied, only these paths.
    public var forget: [String]
    /// Let a forget remove paths that are still on the branch (otherwise refused).
    public var includeCurrent: Bool
    /// Why (recorded in the receipt).
    public var reason: String?
    /// Threads that decide the rewritten trees, each over a run of the history (0: one per CPU; 1: this one).
    /// The plan and the result are the same for any value.
    public var threads: Int

    public init(dryRun: Bool = false, forget: [String] = [], includeCurrent: Bool = false, reason: String? = nil, threads: Int = 0) {
        self.dryRun = dryRun
        self.forget = forget
        self.includeCurrent = includeCurrent
        self.reason = reason
        self.threads = threads
    }
}

/// Where a prune is, for a progress line.
public struct PruneProgress: Sendable {
    public enum Phase: String, Sendable { case rewriting, packing, switching, removing, reindexing }
    public let phase: Phase
    public let done: Int
    public let total: Int
}

/// One path whose versions leave history.
public struct PrunedPath: Codable, Sendable, Equatable {
    public let path: String
    /// Distinct versions (blobs) removed.
    public let versions: Int
    /// Their uncompressed size in bytes.
    public let bytes: Int
}

/// The plan (dry run) or the result of a prune or forget.
public struct PruneReport: Codable, Sendable {
    public var dryRun: Bool
    /// `prune` or `forget`.
    public var operation: String
    /// The rules applied, in words.
    public var rules: [String] = []
    public var commitsWalked = 0
    /// Commits whose id changes (kept with new ids).
    public var commitsRewritten = 0
    /// Commits that leave history (they only touched what was removed).
    public var commitsDropped = 0
    /// Agent and tick commits folded into one commit per day, and the day commits that replace them.
    public var commitsSquashed = 0
    public var dayCommits = 0
    public var referencesRewritten: [String] = []
    public var referencesDeleted: [String] = []
    /// Paths whose versions leave, with counts (largest first).
    public var paths: [PrunedPath] = []
    public var fileVersionsRemoved = 0
    /// Uncompressed bytes of the file versions that leave (their content; what they free on disk is `diskBytesReclaimable`).
    public var contentBytesRemoved = 0
    /// Bytes of the object store (packs and loose objects) before, and after when it ran.
    public var diskBytesBefore = 0
    public var diskBytesAfter: Int?
    /// Estimate of the object-store bytes a prune frees: what the removed versions take in it as stored.
    public var diskBytesReclaimable = 0
    /// The rewrite record on `refs/cairn/rewrites`, when written.
    public var record: String?
    /// Files removed from the working tree (`--include-current`, only those without uncommitted edits).
    public var workingTreeRemoved: [String] = []
    /// Pending proposals moved onto the rewritten history (run ids), and those with nothing of their change left
    /// (they only touched what was removed: reject them).
    public var proposalsRebased: [String] = []
    public var proposalsEmptied: [String] = []
    /// True when an interrupted prune was finished first.
    public var resumedInterrupted = false
    public var warnings: [String] = []
    public var seconds = 0.0

    /// True when there is nothing to remove.
    public var isEmpty: Bool { commitsRewritten == 0 && commitsDropped == 0 && commitsSquashed == 0 && referencesDeleted.isEmpty }

    enum CodingKeys: String, CodingKey {
        case dryRun = "dry_run", operation, rules
        case commitsWalked = "commits_walked", commitsRewritten = "commits_rewritten", commitsDropped = "commits_dropped"
        case commitsSquashed = "commits_squashed", dayCommits = "day_commits"
        case referencesRewritten = "references_rewritten", referencesDeleted = "references_deleted"
        case paths
        case fileVersionsRemoved = "file_versions_removed", contentBytesRemoved = "content_bytes_removed"
        case diskBytesBefore = "disk_bytes_before", diskBytesAfter = "disk_bytes_after"
        case diskBytesReclaimable = "disk_bytes_reclaimable"
        case record, warnings, seconds
        case workingTreeRemoved = "working_tree_removed"
        case resumedInterrupted = "resumed_interrupted"
        case proposalsRebased = "proposals_rebased", proposalsEmptied = "proposals_emptied"
    }
}

/// The last step of a prune written down before any reference moves, so that a crash at any point after
/// it is finished by the next `cairn prune` (or `Vault.finishInterruptedPrune`): `.git/cairn/prune-journal.json`.
struct PruneJournal: Codable {
    /// The pack holding every object reachable after the switch.
    var pack: String
    /// Packs present before, removed at the end.
    var oldPacks: [String]
    /// The references to switch, old → new.
    var references: [RewriteRecord.ReferenceChange]
    /// Tips whose history is in `pack`: only when every reference points at one may old objects go.
    var packedTips: [String]
    /// File-system time at the start: loose objects newer than this are kept (a concurrent writer's).
    var startedAt: Double
    /// Paths to take out of `.git/index` and, when unchanged (path → blob), out of the working tree.
    var removeFromWorkingTree: [String: String]

    static func path(gitDir: String) -> String { gitDir + "cairn/prune-journal.json" }
}
