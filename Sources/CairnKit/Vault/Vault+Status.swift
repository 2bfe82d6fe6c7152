import CairnGit
import Foundation

/// The vault at a glance: what the operator changed, what waits for review, what needs attention.
public struct VaultStatus: Sendable, Codable {
    public let root: String
    public let branch: String
    /// The branch's commit, nil before the first.
    public let head: String?
    /// Edits in the working tree not yet committed by `snapshot`.
    public let changes: [FileChange]
    /// Proposal branches waiting for review.
    public let pendingProposals: Int
    /// Problems in changed files (front matter, JSON, names, sizes) that would block a snapshot.
    public let problems: [FileProblem]
    /// Other things that need attention (lock files, index format, wrong branch).
    public let warnings: [String]

    public var isClean: Bool { changes.isEmpty }
}

extension Vault {
    /// Prefix of the proposal branches (one per pending agent run).
    public static let proposalPrefix = "refs/heads/proposals/"

    /// Reads the vault's state. Writes nothing but the stat cache in `.git/cairn/` (derived data; not
    /// git's index, which it does not read either).
    public func status(now: Date) throws -> VaultStatus {
        var warnings: [String] = []
        let headRef = try repository.headReferenceName()
        if headRef != branchRef {
            warnings.append("HEAD is on \(headRef ?? "a detached commit"), not \(branch); cairn writes only to \(branch)")
        }
        if let op = repository.stateInProgress { warnings.append("a git \(op) is in progress") }
        for lock in LockFiles.find(gitDir: gitDir, now: now) {
            warnings.append("lock file .git/\(lock.description)" + (lock.abandoned ? "; the next write removes it" : ""))
        }
        if FileManager.default.fileExists(atPath: CheckoutJournal.path(gitDir: gitDir)) {
            warnings.append("an approval was interrupted before the working tree was updated; the next cairn write (e.g. `cairn snapshot`) finishes it")
        }
        if try repository.configBool("core.sparseCheckout") == true || (try repository.configBool("index.sparse")) == true {
            _ = try usableIndex()  // refused, with the reason and the fix
        }
        if let w = indexFormatWarning() { warnings.append(w) }
        let entries = try workingTreeEdits(against: try head().map { try repository.commit($0).tree })
        var changes: [FileChange] = []
        var problems: [FileProblem] = []
        let templates = entries.isEmpty ? ObsidianSettings() : ObsidianSettings.read(root: root)
        for entry in entries {
            changes.append(FileChange(path: entry.path, oldPath: entry.oldPath, kind: entry.kind == .untracked ? .added : entry.kind))
            if let p = validateForCommit(entry, maxFileBytes: SnapshotOptions().maxFileBytes, templates: templates) {
                if p.blocksCommit { problems.append(p.problem) } else { warnings.append("\(p.problem) (snapshot commits it as it is)") }
            }
        }
        let pending = try repository.references(withPrefix: Self.proposalPrefix).count
        return VaultStatus(root: root, branch: branch, head: try head()?.hex, changes: changes,
                           pendingProposals: pending, problems: problems, warnings: warnings)
    }
}
