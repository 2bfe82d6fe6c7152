import CGit2
import Foundation

/// Who made a commit and when: a plain value.
public struct Signature: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    public var email: String
    public var time: Date
    /// Offset from UTC in minutes.
    public var offsetMinutes: Int

    public init(name: String, email: String, time: Date, offsetMinutes: Int = 0) {
        self.name = name
        self.email = email
        self.time = time
        self.offsetMinutes = offsetMinutes
    }

    init(_ sig: UnsafePointer<git_signature>) {
        name = sig.pointee.name.map { String(cString: $0) } ?? ""
        email = sig.pointee.email.map { String(cString: $0) } ?? ""
        time = Date(timeIntervalSince1970: TimeInterval(sig.pointee.when.time))
        offsetMinutes = Int(sig.pointee.when.offset)
    }

    public var description: String { "\(name) <\(email)>" }

    /// Calls `body` with a libgit2 signature; freed afterwards.
    func withGitSignature<T>(_ body: (UnsafePointer<git_signature>) throws -> T) throws -> T {
        var sig: UnsafeMutablePointer<git_signature>? = nil
        let seconds = git_time_t(time.timeIntervalSince1970.rounded(.down))
        try check(git_signature_new(&sig, name, email, seconds, Int32(offsetMinutes)), "git_signature_new")
        guard let sig else { throw GitError(code: -1, message: "git_signature_new returned no signature", function: "git_signature_new") }
        defer { git_signature_free(sig) }
        return try body(sig)
    }
}
