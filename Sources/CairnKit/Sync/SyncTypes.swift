import CairnGit
import Foundation

/// What the caller of `sync` passes in: credentials it read, who commits, and how often to retry a push race.
public struct SyncOptions: Sendable {
    public var author: OperatorIdentity
    public var credentials: TransportCredentials
    /// Pushes tried when another machine pushed first (each retry fetches and integrates again).
    public var maxAttempts = 5
    /// Called with transfer progress (the CLI draws it on a terminal).
    public var progress: (@Sendable (TransferProgress) -> Void)?

    public init(author: OperatorIdentity, credentials: TransportCredentials = TransportCredentials()) {
        self.author = author
        self.credentials = credentials
    }
}

/// What `cairn sync` did.
public struct SyncReport: Sendable, Codable {
    public enum Outcome: String, Sendable, Codable {
        /// Everything integrated and pushed.
        case synced
        /// Stopped before committing: files hold conflict markers (`--continue` / `--abort`).
        case conflicts
        /// `--abort` put everything back.
        case aborted
    }
    public let remote: String
    public let outcome: Outcome
    /// The snapshot of local edits committed first, if any.
    public let snapshotCommit: String?
    /// How main was integrated: `up to date`, `fast-forward`, `merged`, `pushed`.
    public let integration: String
    /// Main after the sync.
    public let main: String?
    /// References sent to the remote (created, moved, deleted).
    public let pushed: [String]
    /// References taken from the remote.
    public let received: [String]
    /// Files left with conflict markers (outcome `conflicts`).
    public let conflicts: [String]
    /// Things the operator must know, in words (a decision overruled, a deleted file kept, a ref kept aside).
    public let notices: [String]
    /// How many times the push had to be tried.
    public let attempts: Int
}

/// Per-remote state shown by `cairn status`.
public struct RemoteStatus: Sendable, Codable {
    public let name: String
    public let url: String
    /// Commits on local main that the remote's main (as last fetched) lacks.
    public let ahead: Int
    /// Commits on the remote's main (as last fetched) that local main lacks.
    public let behind: Int
    /// When this machine last synced with it, nil when never.
    public let lastSync: String?
}

/// Why a sync, clone or remote command could not go on. Each message says what to do.
public enum SyncError: Error, CustomStringConvertible, Sendable, Equatable {
    case unknownRemote(String, known: [String])
    case noRemote
    case invalidRemoteName(String)
    case invalidURL(String)
    case remoteExists(String)
    case conflictsPending(paths: [String])
    case nothingToContinue
    case markersRemain(paths: [String])
    case mainMovedDuringConflict
    case remoteKeepsMoving(remote: String, attempts: Int)
    case pushRejected(remote: String, reasons: [String])
    case unrelatedHistories(remote: String)
    case cloneTargetExists(String)
    case notAVaultRemote(String)
    case emptyRemote(String)

    public var description: String {
        switch self {
        case .unknownRemote(let name, let known):
            return "no remote named \(name)" + (known.isEmpty ? "; add one with `cairn remote add NAME URL`" : " (remotes: \(known.joined(separator: ", ")))")
        case .noRemote:
            return "this vault has no remote; add one with `cairn remote add NAME URL`"
        case .invalidRemoteName(let name):
            return "\"\(name)\" is not a valid remote name (letters, digits, '-', '_', '.'; not starting with '-' or '.')"
        case .invalidURL(let url):
            return "\"\(url)\" is not a remote URL cairn can use: give a path, file://, ssh://, user@host:path, git:// or https:// URL "
                + "without a password or token in it (name the token's environment variable in .cairn/config.json, sync.token_env)"
        case .remoteExists(let name):
            return "a remote named \(name) exists already; remove it first with `cairn remote remove \(name)`"
        case .conflictsPending(let paths):
            return "a sync stopped on conflicts in \(paths.joined(separator: ", ")); edit those files (remove the <<<<<<< ======= >>>>>>> markers), "
                + "then run `cairn sync --continue`, or `cairn sync --abort` to put everything back"
        case .nothingToContinue:
            return "no sync is waiting for --continue or --abort"
        case .markersRemain(let paths):
            return "conflict markers remain in \(paths.joined(separator: ", ")); edit them away, then run `cairn sync --continue` again"
        case .mainMovedDuringConflict:
            return "main moved while the sync waited on conflicts; run `cairn sync --abort`, then `cairn sync` again"
        case .remoteKeepsMoving(let remote, let attempts):
            return "\(remote) kept moving: another machine pushed first \(attempts) times in a row; nothing local is lost — run `cairn sync` again"
        case .pushRejected(let remote, let reasons):
            return "\(remote) refused the push: \(reasons.joined(separator: "; ")); nothing local is lost"
        case .unrelatedHistories(let remote):
            return "\(remote)'s main shares no history with this vault's main (rewritten by retention elsewhere, or another vault); "
                + "nothing was merged or pushed — clone the remote afresh with `cairn clone` and move local notes over"
        case .cloneTargetExists(let path):
            return "\(path) exists and is not empty; clone into a new folder"
        case .notAVaultRemote(let url):
            return "\(url) holds a git repository but not a cairn vault (no .cairn/config.json on its main)"
        case .emptyRemote(let url):
            return "\(url) has no main branch to clone; push a vault to it first (`cairn remote add` and `cairn sync` on the vault)"
        }
    }
}

/// A sync stopped on conflicts, waiting for `--continue` or `--abort` (`.git/cairn/sync-merge.json`).
struct PendingSyncMerge: Codable {
    var remote: String
    /// Local main when the merge stopped.
    var ours: String
    /// The remote main being merged.
    var theirs: String
    /// The merged tree, conflicted files holding their markers.
    var tree: String
    var conflicts: [String]
    var notices: [String]
    var snapshotCommit: String?

    static func path(gitDir: String) -> String { gitDir + "cairn/sync-merge.json" }
}

/// When a machine last synced with a remote (`.git/cairn/sync/<remote>.json`, a machine's own memory).
struct SyncStamp: Codable {
    var at: String
    var main: String?

    static func path(gitDir: String, remote: String) -> String { gitDir + "cairn/sync/\(remote).json" }
}
