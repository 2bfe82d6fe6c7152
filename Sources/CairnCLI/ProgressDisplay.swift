import CairnKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Draws a library's progress reports on stderr, on one line rewritten in place: only when stderr is a terminal
/// (never into a file, a pipe or a test's capture, and not with `TERM=dumb`), and only once the work has taken
/// longer than a second, so quick commands print nothing extra.
final class ProgressDisplay: @unchecked Sendable {
    private let enabled: Bool
    private let started = DispatchTime.now()
    private var lastDrawn: UInt64 = 0
    private var drawn = false
    private let lock = NSLock()
    /// Seconds before anything is drawn.
    static let delay: Double = 1

    init(env: Environment) {
        enabled = isatty(STDERR_FILENO) == 1 && env.variables["TERM"] != "dumb"
    }

    /// The handler to give the library (nil when nothing would be shown, so it does not even report).
    var handler: ProgressHandler? {
        guard enabled else { return nil }
        return { [self] progress in self.show(progress) }
    }

    private func show(_ p: WorkProgress) {
        let now = DispatchTime.now().uptimeNanoseconds
        lock.lock()
        defer { lock.unlock() }
        guard Double(now - started.uptimeNanoseconds) / 1e9 >= Self.delay else { return }
        // At most ten redraws a second, and always the last one of a task.
        guard now - lastDrawn >= 100_000_000 || p.done == p.total else { return }
        lastDrawn = now
        var text = "cairn: \(p.task) \(p.done)"
        if let total = p.total, total > 0 { text += "/\(total) (\(p.done * 100 / total)%)" }
        write("\r\u{1B}[K" + text)
        drawn = true
    }

    /// Clears the progress line (call before printing results or errors).
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { write("\r\u{1B}[K") }
        drawn = false
    }

    private func write(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { _ = Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}
