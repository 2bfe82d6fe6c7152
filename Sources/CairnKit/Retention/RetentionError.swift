import Foundation

/// Why a prune or a forget could not be done. Nothing was changed when one of these is thrown.
public enum RetentionError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Paths to forget that are still on the branch, without `--include-current`.
    case stillCurrent(paths: [String], branch: String)
    /// A path to forget that cannot be a vault path.
    case invalidPath(String, reason: String)
    /// The rewrite would change the branch's tree although nothing current was to be forgotten.
    case branchTreeChanged(branch: String)
    /// A reference moved while the prune ran; the old objects were kept.
    case referencesMoved([String])
    /// A rewrite record on `refs/cairn/rewrites` that cannot be read.
    case malformedRecord(commit: String, reason: String)
    /// This machine and the remote each rewrote history since they last synced.
    case concurrentRewrites(remote: String)

    public var description: String {
        switch self {
        case .stillCurrent(let paths, let branch):
            return "\(paths.joined(separator: ", ")) \(paths.count == 1 ? "is" : "are") still on \(branch); "
                + "forgetting removes \(paths.count == 1 ? "it" : "them") from \(branch) too — run again with --include-current, "
                + "or delete the file and `cairn snapshot` first if only its history should go"
        case .invalidPath(let path, let reason):
            return "cannot forget '\(path)': \(reason)"
        case .branchTreeChanged(let branch):
            return "the prune would change the files on \(branch); nothing was changed (this is a bug: please report the policy.json used)"
        case .referencesMoved(let names):
            return "\(names.joined(separator: ", ")) moved while the prune ran; the old objects were kept — run `cairn prune` again"
        case .malformedRecord(let commit, let reason):
            return "rewrite record \(commit) on refs/cairn/rewrites cannot be read: \(reason)"
        case .concurrentRewrites(let remote):
            return "this vault and \(remote) each rewrote history (prune or forget) since they last synced; nothing was changed. "
                + "Keep one: clone \(remote) afresh (`cairn clone`) and prune or forget there again"
        }
    }
}
