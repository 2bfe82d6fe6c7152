import Foundation

/// How far a long piece of work has got: what the library reports to a caller that shows progress.
///
/// The library never prints; long operations (`doctor`, a full rebuild of the search index, a built-in agent over
/// many notes) take a `ProgressHandler` and call it now and then, from the thread doing the work. The CLI draws it on a terminal; other callers may ignore it.
public struct WorkProgress: Sendable, Equatable {
    /// What is being done, as a short phrase ("checking notes").
    public let task: String
    /// Items done so far.
    public let done: Int
    /// Items in all, when known.
    public let total: Int?

    public init(task: String, done: Int, total: Int?) {
        self.task = task
        self.done = done
        self.total = total
    }
}

/// Receives progress reports; called on the thread doing the work, so it must return quickly.
public typealias ProgressHandler = @Sendable (WorkProgress) -> Void

/// Reports progress of one task at most every `every` items (and at its end), so the work loop pays next to nothing.
struct ProgressReporter {
    let handler: ProgressHandler?
    let task: String
    let total: Int?
    var every = 256
    private(set) var done = 0

    init(_ handler: ProgressHandler?, task: String, total: Int?, every: Int = 256) {
        self.handler = handler
        self.task = task
        self.total = total
        self.every = every
        handler?(WorkProgress(task: task, done: 0, total: total))
    }

    /// Counts `n` more items done.
    mutating func advance(_ n: Int = 1) {
        let before = done / every
        done += n
        if let handler, done / every != before { handler(WorkProgress(task: task, done: done, total: total)) }
    }

    /// Reports the final count.
    func finish() { handler?(WorkProgress(task: task, done: done, total: total)) }
}
