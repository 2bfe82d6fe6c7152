import Foundation
import Testing

/// Several cairn processes at once on one vault: snapshots, agent runs and decisions serialize on the vault
/// lock and move refs by compare-and-swap, so nothing is lost, nothing runs twice and git stays consistent.
@Suite struct ConcurrencyTests {
    @Test func mixedWritersAtOnceLoseNothing() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        // Pending work for the deciders.
        #expect(sb.runCairn(["agent", "run", "gc"], cwd: v).status == 0)
        let before = try sb.gitOK(["rev-parse", "main"], cwd: v)
        // Operator edits spread over the vault, written before the storm.
        for i in 0..<6 {
            try Data("edit \(i)\n".utf8).write(to: URL(fileURLWithPath: v + "/inbox/concurrent-\(i).md"))
        }
        let commands: [[String]] = [
            ["snapshot", "-m", "one"], ["snapshot", "-m", "two"], ["agent", "run", "digest"],
            ["approve", "gc"], ["agent", "run", "digest", "--input", "k=2"], ["snapshot", "-m", "three"],
            ["status"], ["proposals"],
        ]
        let running = commands.map { sb.startCairn($0, cwd: v) }
        let results = running.map { $0.finish(timeout: 120) }
        for (cmd, r) in zip(commands, results) {
            #expect(r.status == 0 && !r.signaled, "cairn \(cmd.joined(separator: " ")): \(r)")
        }
        sb.expectFsckClean(v)
        // Every operator edit is on main, exactly once (no lost update, no duplicate commit of the same edit).
        for i in 0..<6 {
            #expect(try sb.gitOK(["show", "main:inbox/concurrent-\(i).md"], cwd: v) == "edit \(i)")
            let touching = try sb.gitLines(["log", "--format=%H", "\(before)..main", "--", "inbox/concurrent-\(i).md"], cwd: v)
            #expect(touching.count == 1, "inbox/concurrent-\(i).md committed \(touching.count) times")
        }
        // The approval happened exactly once and the gc proposal is archived.
        #expect(try sb.gitLines(["log", "--format=%s", "--grep=^Approve ", "main"], cwd: v).count == 1)
        #expect(try sb.gitLines(["for-each-ref", "--format=%(refname)", "refs/cairn/archive/"], cwd: v).count == 1)
        // Two digest runs with different inputs: two proposals, each one commit on main's history.
        let proposals = try sb.gitLines(["for-each-ref", "--format=%(refname)", "refs/heads/proposals/"], cwd: v)
        #expect(proposals.count == 2, "\(proposals)")
        for ref in proposals {
            #expect(try sb.gitOK(["rev-list", "--count", "main..\(ref)"], cwd: v) == "1")
        }
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
    }
}
