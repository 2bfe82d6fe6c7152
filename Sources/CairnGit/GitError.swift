import CGit2

/// An error reported by libgit2, with the library's error class and message.
///
/// Match well-known codes with `catch GitError.notFound`, like GRDB's `DatabaseError`.
public struct GitError: Error, CustomStringConvertible, Sendable, Equatable {
    /// libgit2's return code (`git_error_code`, negative).
    public let code: Int32
    /// libgit2's error class (`git_error_t`), 0 when none was set.
    public let errorClass: Int32
    /// libgit2's message, or a description of the failed call.
    public let message: String
    /// The libgit2 function that failed.
    public let function: String

    public init(code: Int32, errorClass: Int32 = 0, message: String, function: String) {
        self.code = code
        self.errorClass = errorClass
        self.message = message
        self.function = function
    }

    public var description: String { message }

    /// True when the operating system refused a write: a full disk, a read-only file system, a file size limit,
    /// permissions.
    public var isWriteRefused: Bool {
        guard errorClass == Int32(GIT_ERROR_OS.rawValue) || errorClass == Int32(GIT_ERROR_FILESYSTEM.rawValue) else { return false }
        let lower = message.lowercased()
        return ["no space left", "read-only file system", "file too large", "permission denied", "disk quota"].contains { lower.contains($0) }
    }

    /// True when the error says the repository itself is damaged (missing or corrupt objects, a truncated pack,
    /// an unreadable ref or index) rather than that an operation failed: what `git fsck` would report.
    public var isRepositoryDamage: Bool {
        let damagedClasses = [GIT_ERROR_ODB, GIT_ERROR_ZLIB, GIT_ERROR_OBJECT].map { Int32($0.rawValue) }
        if damagedClasses.contains(errorClass) { return true }
        let lower = message.lowercased()
        if lower.contains("corrupt") || lower.contains("truncated") || lower.contains("object not found") { return true }
        return errorClass == Int32(GIT_ERROR_REFERENCE.rawValue) && lower.contains("invalid")
    }

    /// A code-only pattern, so `catch GitError.notFound` reads naturally.
    public struct Code: Sendable {
        public let rawValue: Int32
        public static func ~= (pattern: Code, error: any Error) -> Bool {
            (error as? GitError)?.code == pattern.rawValue
        }
    }

    public static let notFound = Code(rawValue: GIT_ENOTFOUND.rawValue)
    public static let exists = Code(rawValue: GIT_EEXISTS.rawValue)
    public static let ambiguous = Code(rawValue: GIT_EAMBIGUOUS.rawValue)
    public static let unbornBranch = Code(rawValue: GIT_EUNBORNBRANCH.rawValue)
    public static let locked = Code(rawValue: GIT_ELOCKED.rawValue)
    public static let modified = Code(rawValue: GIT_EMODIFIED.rawValue)
    public static let conflict = Code(rawValue: GIT_ECONFLICT.rawValue)
    public static let invalidSpec = Code(rawValue: GIT_EINVALIDSPEC.rawValue)
    public static let bareRepository = Code(rawValue: GIT_EBAREREPO.rawValue)
    public static let uncommitted = Code(rawValue: GIT_EUNCOMMITTED.rawValue)
}

/// The one checked-call helper: every libgit2 call that returns a status goes through here.
///
/// Reads and clears `git_error_last()` so a stale message never leaks into a later error.
@inline(__always)
@discardableResult
func check(_ rc: Int32, _ function: @autoclosure () -> String) throws -> Int32 {
    guard rc < 0 else { return rc }
    var message = "\(function()) failed (code \(rc))"
    var errorClass: Int32 = 0
    if let last = git_error_last(), let text = last.pointee.message {
        message = String(cString: text).trimmingTrailingNewlines()
        errorClass = last.pointee.klass
    }
    git_error_clear()
    throw GitError(code: rc, errorClass: errorClass, message: message, function: function())
}

extension String {
    func trimmingTrailingNewlines() -> String {
        var s = Substring(self)
        while s.last == "\n" || s.last == "\r" { s.removeLast() }
        return String(s)
    }
}
