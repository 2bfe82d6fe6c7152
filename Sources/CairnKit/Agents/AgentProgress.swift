import Foundation

/// How far a long agent run has got, for a caller that shows progress (the CLI, on a terminal).
///
/// The library only reports; it never prints. Reports come from the thread doing the work, often (every thousand
/// notes), so a handler should be cheap and decide itself what to show and when.
public struct AgentProgress: Sendable, Equatable, CustomStringConvertible {
    public typealias Handler = @Sendable (AgentProgress) -> Void

    /// What is being done, in words (`reading notes`).
    public let step: String
    /// Items done so far.
    public let done: Int
    /// Items in all, when known.
    public let total: Int?

    public init(step: String, done: Int, total: Int?) {
        self.step = step
        self.done = done
        self.total = total
    }

    public var description: String {
        guard let total else { return done > 0 ? "\(step) \(done)" : step }
        return "\(step) \(done.formatted(.number))/\(total.formatted(.number))"
    }
}
