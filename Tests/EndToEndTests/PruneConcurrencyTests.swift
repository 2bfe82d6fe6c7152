import Foundation
import Testing

/// Writers that start while a prune rewrites history: the prune holds the vault's writer lock from before its
/// start marker until its objects are deleted, so a snapshot and an agent run started meanwhile wait, then commit
/// on the rewritten history; nothing they wrote is deleted and the repository stays complete.
@Suite struct PruneConcurrencyTests {
    @Test func aSnapshotAndAnAgentRunDuringAPruneWaitThenCommitOnTheNewHistory() throws {
        let sb = try Sandbox()
        let v = sb.work + "/gen"
        let gen = sb.run("/usr/bin/python3", [PruneTests.generator, v, "--notes", "100", "--commits", "500", "--days", "200"],
                         cwd: sb.work, env: sb.environment())
        try #require(gen.status == 0, "\(gen)")
        try sb.cairnOK(["init", "."], cwd: v)
        try sb.addAgent(v, "note", frontMatter: """
            kind: command
            command: ["sh", "agents/note.sh"]
            reads: ["memory/projects/**"]
            writes: ["memory/projects/**"]
            autonomy: advisory
            timeout: 30s
            """, files: ["agents/note.sh": Sandbox.noteAgentScript])
        let oldMain = try sb.gitOK(["rev-parse", "main"], cwd: v)

        let prune = sb.startCairn(["forget", "memory/working", "--include-current", "--reason", "concurrency"], cwd: v)
        // The marker is written once the prune holds the lock and removed when it is done.
        let marker = v + "/.git/cairn/prune-start"
        let deadline = Date().addingTimeInterval(120)
        while !sb.exists(marker) && prune.process?.isRunning == true && Date() < deadline { usleep(2_000) }
        try #require(sb.exists(marker), "the prune finished before a writer could start; make the vault larger")

        try sb.write(v + "/memory/projects/during-prune.md", "# Written while the prune ran\n")
        let snapshot = sb.startCairn(["snapshot", "-m", "edit during the prune"], cwd: v)
        let agent = sb.startCairn(["agent", "run", "note", "--json", "--input", "file=memory/projects/agent-during-prune.md"], cwd: v)
        let pruned = prune.finish()
        let snap = snapshot.finish()
        let run = agent.finish()
        #expect(pruned.status == 0, "\(pruned)")
        #expect(snap.status == 0, "\(snap)")
        #expect(run.status == 0, "\(run)")

        sb.expectFsckClean(v)
        // The snapshot waited: its parent is the rewritten main (or the agent's/another writer's commit on top of it).
        let refMap = try sb.gitLines(["show", "refs/cairn/rewrites:ref-map"], cwd: v)
        let newMain = try #require(refMap.first { $0.hasSuffix(" refs/heads/main") }?.split(separator: " ")[1]).description
        #expect(refMap.contains { $0.hasPrefix(oldMain + " ") }, "\(refMap)")
        #expect(sb.git(["merge-base", "--is-ancestor", newMain, "main"], cwd: v).status == 0)
        #expect(sb.git(["merge-base", "--is-ancestor", oldMain, "main"], cwd: v).status != 0, "nothing was committed on the old history")
        // Committed on the new history: by the snapshot, or by the agent run's own snapshot of its scope when that
        // one took the lock first.
        #expect(!(try sb.gitOK(["log", "--format=%H", "\(newMain)..main", "--", "memory/projects/during-prune.md"], cwd: v)).isEmpty)
        #expect(try sb.gitOK(["show", "main:memory/projects/during-prune.md"], cwd: v) == "# Written while the prune ran")
        // The agent's proposal sits on the new history and is complete.
        let json = try #require(try JSONSerialization.jsonObject(with: run.stdoutData) as? [String: Any])
        #expect(json["outcome"] as? String == "proposed", "\(run)")
        let ref = try #require(json["ref"] as? String)
        #expect(sb.git(["rev-list", "--objects", ref], cwd: v).status == 0)
        #expect(sb.git(["merge-base", "--is-ancestor", newMain, ref], cwd: v).status == 0)
        #expect(try sb.gitOK(["log", "--all", "--format=%H", "--", "memory/working"], cwd: v).isEmpty)
    }
}
