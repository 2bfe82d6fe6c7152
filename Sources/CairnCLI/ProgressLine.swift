import CairnGit
import CairnKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Shows a long command's progress as one line on standard error, rewritten in place: only when standard error is
/// a terminal (never into a pipe, a file, a test's capture or `--json` output), not with `TERM=dumb`, only once the
/// work has taken more than a second (quick commands print nothing extra), and at most ten times a second — except
/// that a new phase and the end of a task are always drawn. `finish()` clears the line before results or errors.
///
/// One display for every kind of report: the library's `WorkProgress` (doctor, index, agent runs) and libgit2's
/// transfer progress (clone, sync), which it words the way git does.
final class ProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private let started = ContinuousClock.now
    private var lastDrawn: ContinuousClock.Instant?
    private var lastPhase = ""
    private var visible = false
    /// Time before anything is drawn.
    static let delay: Duration = .seconds(1)

    /// A progress line for this process, or nil when nothing would be shown.
    static func onTerminal(_ env: Environment, json: Bool) -> ProgressLine? {
        guard !json, isatty(STDERR_FILENO) == 1, env.variables["TERM"] != "dumb" else { return nil }
        return ProgressLine()
    }

    /// The handler to give the library for its work reports.
    var handler: ProgressHandler {
        { [self] p in draw(Self.text(p), phase: p.task, always: p.total != nil && p.done == p.total) }
    }

    /// The handler to give a fetch, push or clone.
    var transferHandler: @Sendable (TransferProgress) -> Void {
        { [self] p in
            guard let line = Self.text(p) else { return }
            draw(line, phase: String(line.prefix { $0 != ":" }), always: false)
        }
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

    private func draw(_ line: String, phase: String, always: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let now = ContinuousClock.now
        guard now - started > Self.delay else { return }
        if !always, phase == lastPhase, let lastDrawn, now - lastDrawn < .milliseconds(100) { return }
        lastDrawn = now
        lastPhase = phase
        visible = true
        write("\r\u{1B}[K" + line)
    }

    /// Clears the line (call before printing results or errors).
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if visible { write("\r\u{1B}[K") }
        visible = false
    }

    private func write(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { _ = Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
