import Foundation

/// Why a vault operation could not be done. Each message names the file or folder and says what to do.
public enum VaultError: Error, CustomStringConvertible, Sendable, Equatable {
    /// No vault at or above the given folder.
    case notAVault(path: String)
    /// A git repository without the Cairn scaffolding.
    case notInitialized(path: String)
    /// `cairn init` of this folder was killed (or lost power) before its first commit.
    case initUnfinished(path: String)
    /// `cairn init` target problems.
    case cannotAdopt(path: String, reason: String)
    /// The repository cannot be opened or read.
    case brokenRepository(path: String, reason: String)
    /// No operator name/email could be found.
    case noIdentity
    /// Files that cannot be committed as they are (invalid front matter, huge, bad names…).
    case invalidFiles([FileProblem])
    /// Another process holds the vault or a git lock.
    case locked(path: String, reason: String)
    /// The git index is in a format libgit2 cannot use, with the fix.
    case unsupportedIndex(reason: String, fix: String)
    /// `HEAD` is not on the vault's branch.
    case wrongBranch(expected: String, actual: String)
    /// A revision that does not resolve.
    case unknownRevision(String)
    /// A note that already exists, or a bad note request.
    case noteExists(path: String)
    case invalidArgument(String)
    /// Another writer moved the branch while we worked, too many times.
    case concurrentUpdate(ref: String)
    /// A file or folder cairn must write cannot be written (read-only or full disk, permissions).
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .notAVault(let path):
            return "not a Cairn vault: \(path) (no git repository here or above); create one with `cairn init`, or pass --vault PATH"
        case .notInitialized(let path):
            return "\(path) is a git repository but not a Cairn vault (no .cairn/config.json); run `cairn init \(path)` to adopt it"
        case .initUnfinished(let path):
            return "\(path): `cairn init` of this folder did not finish (nothing of yours was lost); run `cairn init \(path)` again"
        case .cannotAdopt(let path, let reason):
            return "cannot create a vault at \(path): \(reason)"
        case .brokenRepository(let path, let reason):
            return "the git repository at \(path) cannot be read: \(reason); run `cairn doctor` or `git fsck` to inspect it"
        case .noIdentity:
            return "no operator identity: set \"operator\" (name, email) in .cairn/config.json, or `git config --global user.name NAME` and `git config --global user.email EMAIL`, or pass --name/--email to `cairn init`"
        case .invalidFiles(let problems):
            let lines = problems.map { "  \($0)" }.joined(separator: "\n")
            return "nothing was committed; fix these files first (or pass --force to commit them as they are):\n\(lines)"
        case .locked(let path, let reason):
            return "\(path) is locked: \(reason)"
        case .unsupportedIndex(let reason, let fix):
            return "the git index cannot be used: \(reason); to fix: \(fix)"
        case .wrongBranch(let expected, let actual):
            return "HEAD is on \(actual), not the vault's branch \(expected); run `git switch \(expected)` first"
        case .unknownRevision(let rev):
            return "unknown revision '\(rev)': give a commit id, a branch, or an expression like HEAD~1"
        case .noteExists(let path):
            return "\(path) already exists; choose another title"
        case .invalidArgument(let message):
            return message
        case .cannotWrite(let path, let reason):
            return "cannot write \(path): \(reason); nothing was changed — make the vault writable (a read-only or full disk?) and try again"
        case .concurrentUpdate(let ref):
            return "\(ref) kept moving while cairn was writing (another process?); nothing was lost — run the command again"
        }
    }
}

/// A problem with one file — a configuration file that does not parse or check, an invalid agent or workflow
/// definition, a note doctor or snapshot refuses — naming the file and, when known, the line.
///
/// Printed as `path:line: reason` (or `path: reason` when no line applies), the form editors and terminals
/// recognise, for example `policy.json:7: review.max_files: must be at least 1, not 0`. Thrown by the
/// configuration readers; collected in lists by doctor, snapshot and the catalogs.
public struct FileProblem: Error, Hashable, Sendable, CustomStringConvertible, Codable {
    /// The file, as the caller named it (usually relative to the vault root).
    public let path: String
    /// The 1-based line of the problem, when it can be located.
    public let line: Int?
    /// What is wrong, in words the operator can act on.
    public let reason: String

    public init(path: String, line: Int? = nil, reason: String) {
        self.path = path
        self.line = line
        self.reason = reason
    }

    public var description: String {
        if let line { return "\(path):\(line): \(reason)" }
        return "\(path): \(reason)"
    }
}
