import CairnGit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Shows a fetch, push or clone's progress on standard error, one line rewritten in place, the way git does
/// ("Receiving objects: 45% (450/1000), 1.2 MiB"): only when standard error is a terminal (never into a pipe, a
/// file or a test's capture), not with `TERM=dumb`, not with `--json`, only once the transfer has taken more than a
/// second, and at most ten times a second. `finish()` clears the line before results or errors are printed.
final class TransferProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private let started = ContinuousClock.now
    private var lastDrawn: ContinuousClock.Instant?
    private var lastPhase = ""
    private var visible = false
    /// Time before anything is drawn (quick transfers print nothing extra).
    static let delay: Duration = .seconds(1)

    /// A progress line for this process, or nil when nothing would be shown.
    static func onTerminal(_ env: Environment, json: Bool) -> TransferProgressLine? {
        guard !json, isatty(STDERR_FILENO) == 1, env.variables["TERM"] != "dumb" else { return nil }
        return TransferProgressLine()
    }

    /// The handler to give the library.
    var handler: @Sendable (TransferProgress) -> Void { { [self] p in update(p) } }

    /// The line for one report, nil when there is nothing to say yet.
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

    func update(_ p: TransferProgress) {
        guard let line = Self.text(p) else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = ContinuousClock.now
        guard now - started > Self.delay else { return }
        // A new phase (receiving → resolving) is always drawn; otherwise at most ten redraws a second.
        let phase = String(line.prefix { $0 != ":" })
        if phase == lastPhase, let lastDrawn, now - lastDrawn < .milliseconds(100) { return }
        lastDrawn = now
        lastPhase = phase
        visible = true
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
    }

    /// Clears the line (call before printing results or errors).
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if visible { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        visible = false
    }
}
