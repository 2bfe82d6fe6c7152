import Foundation
import Testing
@testable import CairnCLI
import CairnKit

/// `ProgressLine`: what a terminal shows of a long command's progress, driven with a fake clock and captured.
@Suite struct ProgressLineTests {
    /// A clock the test moves, and every frame the line draws (the text after each `\r\e[K`).
    final class Screen: @unchecked Sendable {
        private let lock = NSLock()
        private var now: Duration = .zero
        private var written = ""
        var frames: [String] {
            lock.withLock { written.components(separatedBy: "\r\u{1B}[K").dropFirst().map { $0 } }
        }
        func advance(_ d: Duration) { lock.withLock { now += d } }
        func line() -> ProgressLine {
            ProgressLine(elapsed: { [self] in lock.withLock { now } }, output: { [self] text in lock.withLock { written += text } })
        }
    }

    /// Doctor reads the notes while the history is checked on another thread: the two tasks' reports interleave.
    /// The line shows both at once and is redrawn at most ten times a second, instead of switching between them.
    @Test func twoTasksAtOnceShareOneSteadyLine() {
        let screen = Screen()
        let line = screen.line()
        let report = line.handler
        screen.advance(.seconds(2))
        report(WorkProgress(task: "checking history", done: 0, total: nil))
        report(WorkProgress(task: "checking notes", done: 0, total: 100_000))
        // Two seconds of reports 5 ms apart, alternating: 400 reports.
        for i in 1...400 {
            screen.advance(.milliseconds(5))
            if i.isMultiple(of: 2) {
                report(WorkProgress(task: "checking notes", done: i * 100, total: 100_000))
            } else {
                report(WorkProgress(task: "checking history", done: i * 64, total: nil))
            }
        }
        screen.advance(.milliseconds(150))
        report(WorkProgress(task: "checking history", done: 25_600, total: nil))
        let frames = screen.frames
        #expect(frames.count <= 2 + 2 * 10 + 1, "redrawn \(frames.count) times in two seconds: \(frames.prefix(6))")
        let both = frames.dropFirst()  // the first frame may come before the second task's first report
        #expect(!both.isEmpty)
        for frame in both {
            #expect(frame.hasPrefix("checking history ") && frame.contains(" · notes "), "\(frame)")
        }
        #expect(frames.last == "checking history 25,600 · notes 40,000/100,000 (40%)", "\(frames.last ?? "")")
    }

    /// A finished task leaves the line (after its end is drawn); one not heard from for a while leaves it too.
    @Test func finishedAndStaleTasksLeaveTheLine() {
        let screen = Screen()
        let report = screen.line().handler
        screen.advance(.seconds(2))
        report(WorkProgress(task: "checking history", done: 640, total: nil))
        report(WorkProgress(task: "checking notes", done: 100, total: 100))
        #expect(screen.frames.last == "checking history 640 · notes 100/100 (100%)")
        screen.advance(.milliseconds(200))
        report(WorkProgress(task: "checking history", done: 1_280, total: nil))
        #expect(screen.frames.last == "checking history 1,280")
        screen.advance(.seconds(10))
        report(WorkProgress(task: "indexing notes", done: 10, total: 50))
        #expect(screen.frames.last == "indexing notes 10/50 (20%)")
    }

    @Test func nothingIsDrawnInTheFirstSecond() {
        let screen = Screen()
        let report = screen.line().handler
        report(WorkProgress(task: "checking notes", done: 1, total: 10))
        screen.advance(.milliseconds(900))
        report(WorkProgress(task: "checking notes", done: 2, total: 10))
        #expect(screen.frames.isEmpty)
        screen.advance(.milliseconds(200))
        report(WorkProgress(task: "checking notes", done: 3, total: 10))
        #expect(screen.frames == ["checking notes 3/10 (30%)"])
    }
}
