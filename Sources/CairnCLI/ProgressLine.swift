import CairnKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Shows library progress as one line on standard error, rewritten in place: only when standard error is a
/// terminal (never in a pipe, a log or `--json` output), only once the work has taken more than a second, and at
/// most ten times a second. `finish()` clears the line.
final class ProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private let started = ContinuousClock.now
    private var lastDrawn: ContinuousClock.Instant?
    private var visible = false

    /// A progress line for this process, or nil when standard error is not a terminal (or `TERM=dumb`).
    static func onTerminal(_ env: Environment) -> ProgressLine? {
        guard isatty(STDERR_FILENO) == 1, env.variables["TERM"] != "dumb" else { return nil }
        return ProgressLine()
    }

    /// The handler to give the library.
    var handler: AgentProgress.Handler { { [self] progress in update(progress) } }

    func update(_ progress: AgentProgress) {
        lock.lock()
        defer { lock.unlock() }
        let now = ContinuousClock.now
        guard now - started > .seconds(1) else { return }
        if let lastDrawn, now - lastDrawn < .milliseconds(100) { return }
        lastDrawn = now
        visible = true
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + progress.description + "…").utf8))
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if visible { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        visible = false
    }
}
