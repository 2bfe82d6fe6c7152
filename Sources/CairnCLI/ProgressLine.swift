import CairnGit
import CairnKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Shows a long command's progress as one line on standard error, rewritten in place: only when standard error is
/// a terminal (never into a pipe, a file, a test's capture or `--json` output), not with `TERM=dumb`, only once the
/// work has taken more than a second (quick commands print nothing extra), and at most ten times a second — except
/// that a task's start, new phase and end are always drawn. `finish()` clears the line before results or errors.
///
/// One display for every kind of report: the library's `WorkProgress` (doctor, index, agent runs) and libgit2's
/// transfer progress (clone, sync), which it words the way git does.
///
/// Tasks that run at once (doctor checks the history on a thread of its own while it reads the notes) share the
/// line, in the order they started, instead of taking turns on it: "checking history 40,000 · notes 12,000/100,000
/// (12%)". A task leaves the line once its end is drawn (done = total), or when it has not been heard from for
/// `staleAfter` (a count without a total says nothing when it ends).
final class ProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private var lastDrawn: Duration?
    private var visible = false
    /// One task on the line: its latest text, its phase (a transfer's "Receiving objects"), when it was last heard.
    private struct Task {
        let key: String
        var text: String
        var phase: String
        var heard: Duration
    }
    /// The tasks under way, in the order they started.
    private var tasks: [Task] = []
    /// A task not heard from for this long has ended without saying so.
    static let staleAfter: Duration = .seconds(5)
    /// Time since the line was made.
    private let elapsed: @Sendable () -> Duration
    /// Where the line's bytes go (standard error).
    private let output: @Sendable (String) -> Void
    /// Time before anything is drawn.
    static let delay: Duration = .seconds(1)

    /// A progress line for this process, or nil when nothing would be shown.
    static func onTerminal(_ env: Environment, json: Bool) -> ProgressLine? {
        guard !json, isatty(STDERR_FILENO) == 1, env.variables["TERM"] != "dumb" else { return nil }
        return ProgressLine()
    }

    /// A line written to standard error, timed by the continuous clock.
    convenience init() {
        let started = ContinuousClock.now
        self.init(elapsed: { ContinuousClock.now - started }, output: { text in
            let bytes = Array(text.utf8)
            bytes.withUnsafeBytes { _ = Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
        })
    }

    /// A line timed by `elapsed` and written to `output` (tests give their own clock and capture).
    init(elapsed: @escaping @Sendable () -> Duration, output: @escaping @Sendable (String) -> Void) {
        self.elapsed = elapsed
        self.output = output
    }

    /// The handler to give the library for its work reports.
    var handler: ProgressHandler {
        { [self] p in update(p.task, text: Self.text(p), phase: p.task, ended: p.total != nil && p.done == p.total) }
    }

    /// The handler to give a fetch, push or clone: one task whose phases follow each other.
    var transferHandler: @Sendable (TransferProgress) -> Void {
        { [self] p in
            guard let line = Self.text(p) else { return }
            update("transfer", text: line, phase: String(line.prefix { $0 != ":" }), ended: false)
        }
    }

    /// The tasks' texts as one line, a leading word they repeat said once: "checking history 640 · notes 3/10 (30%)".
    static func compose(_ texts: [String]) -> String {
        guard let first = texts.first else { return "" }
        let verb = first.prefix { $0 != " " } + " "
        return ([first] + texts.dropFirst().map { $0.hasPrefix(verb) ? String($0.dropFirst(verb.count)) : $0 })
            .joined(separator: " · ")
    }

    /// "checking notes 1,200/100,000 (1%)"
    static func text(_ p: WorkProgress) -> String {
        guard let total = p.total, total > 0 else { return p.done > 0 ? "\(p.task) \(p.done.formatted(.number))" : p.task }
        return "\(p.task) \(p.done.formatted(.number))/\(total.formatted(.number)) (\(p.done * 100 / total)%)"
    }

    /// "Receiving objects: 45% (450/1000), 1.2 MiB", as git words it; nil when there is nothing to say yet.
    static func text(_ p: TransferProgress) -> String? {
        func percent(_ done: Int, _ total: Int) -> String { "\(done * 100 / max(1, total))% (\(done)/\(total))" }
        switch p.direction {
        case .sending:
            guard p.totalObjects > 0 else { return nil }
            return "Sending objects: \(percent(p.receivedObjects, p.totalObjects)), \(size(p.receivedBytes))"
        case .receiving:
            if p.totalDeltas > 0 && p.receivedObjects == p.totalObjects {
                return "Resolving deltas: \(percent(p.indexedDeltas, p.totalDeltas))"
            }
            guard p.totalObjects > 0 else { return nil }
            return "Receiving objects: \(percent(p.receivedObjects, p.totalObjects)), \(size(p.receivedBytes))"
        }
    }

    static func size(_ bytes: Int) -> String {
        if bytes >= 1 << 20 { return String(format: "%.1f MiB", Double(bytes) / Double(1 << 20)) }
        return "\(bytes / 1024) KiB"
    }

    /// Records a task's report and redraws the line: at once when a task starts, ends or enters a new phase, else
    /// at most every 100 ms — so two tasks reporting in turn never make the line flicker between them.
    private func update(_ key: String, text: String, phase: String, ended: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let now = elapsed()
        let before = tasks.count
        tasks.removeAll { $0.key != key && now - $0.heard > Self.staleAfter }
        var changed = tasks.count != before || ended
        if let i = tasks.firstIndex(where: { $0.key == key }) {
            if tasks[i].phase != phase { changed = true }
            tasks[i].text = text
            tasks[i].phase = phase
            tasks[i].heard = now
        } else {
            tasks.append(Task(key: key, text: text, phase: phase, heard: now))
            changed = true
        }
        let line = Self.compose(tasks.map(\.text))
        if ended { tasks.removeAll { $0.key == key } }
        guard now > Self.delay else { return }
        if !changed, let lastDrawn, now - lastDrawn < .milliseconds(100) { return }
        lastDrawn = now
        visible = true
        write("\r\u{1B}[K" + line)
    }

    /// Clears the line (call before printing results or errors).
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if visible { write("\r\u{1B}[K") }
        visible = false
        tasks.removeAll()
    }

    private func write(_ text: String) { output(text) }
}
