import Foundation

/// A problem with a vault configuration file, naming the file and, when known, the line.
///
/// Printed as `path:line: reason` (or `path: reason` when no line applies), the form editors and
/// terminals recognise, for example `policy.json:7: review.max_files: must be at least 1, not 0`.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The file, as the caller named it (usually relative to the vault root).
    public var path: String
    /// The 1-based line of the problem, when it can be located.
    public var line: Int?
    /// What is wrong, in words the operator can act on.
    public var reason: String

    /// Creates an error for `path`, optionally at `line`.
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
