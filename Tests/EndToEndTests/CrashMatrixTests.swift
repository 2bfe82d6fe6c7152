import CairnKit
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The crash matrix: kill -9 at every named crash point (`CrashPoint.allCases`), and at arbitrary moments of long
/// operations. After every kill: `git fsck --strict` is clean, everything reported done is there, no operator edit
/// is lost, and running the command again completes the work once.
@Suite struct CrashMatrixTests {
    /// Kills at every crash point there is. The `switch` names every case, so a point added to `CrashPoint` does
    /// not compile until it has a scenario here; points that also fire per workflow step are killed at each step
    /// of a workflow as well.
    @Test(arguments: CrashPoint.allCases)
    func killNineAtEveryCrashPoint(_ point: CrashPoint) throws {
        if point.firesPerStep { try WorkflowTests().resumeAfterKillNineRunsEachStepExactlyOnce(point) }
        switch point {
        case .snapshotBeforeRef, .snapshotAfterRef: try CrashTests().snapshotSurvivesACrash(point)
        case .agentBeforeRef, .agentAfterRef: try CrashTests().agentRunSurvivesACrash(point)
        case .approveBeforeRef, .approveAfterRef, .approveAfterCheckout: try CrashTests().approveSurvivesACrash(point)
        case .rejectBeforeRef, .rejectAfterRef, .rejectAfterCheckout: try CrashTests().rejectSurvivesACrash(point)
        case .emitBeforeRef, .emitAfterRef, .emitAfterCheckout: try TickTests().aTickStartsTheWorkflowsOfAnEventWhoseEmitDidNotGetTo(point)
        case .tickBeforeRef, .tickAfterRef, .tickAfterCheckout: try TickTests().aTickKilledAroundItsDigestStartsOnceAndWritesTheDigest(point)
        case .noteBeforeLink, .noteAfterLink: try noteNewLeavesNoHalfWrittenNote(point)
        case .indexRebuildBeforeRename: try searchIndexRebuildKilledBeforeTheMoveIsRebuiltCleanly()
        case .indexUpdateBeforeCommit: try searchIndexUpdateKilledMidTransactionLosesNothing()
        case .workflowTaskBeforeRef, .workflowTaskAfterRef, .workflowTaskAfterCheckout:
            try WorkflowTests().aCrashWhileHandingAStepToTheOperatorLeavesOneTask(point)
        case .pruneAfterPack, .pruneAfterJournal, .pruneMidRefs, .pruneBeforeDelete, .pruneMidDelete:
            try PruneTests().aKilledForgetLeavesACompleteHistoryAndTheNextRunFinishes(point: point)
        case .syncBeforePush, .syncBeforeRef, .syncAfterRef, .syncAfterCheckout:
            try SyncTests().killedSyncFinishesOnRerun(point: point)
        case .connectorBeforeRef, .connectorAfterRef, .connectorAfterCheckout:
            try ConnectorE2ETests().pullSurvivesKill9(point: point)
        case .moveBeforeRef, .moveAfterRef, .moveAfterCheckout: try ObsidianMoveTests().aKilledMoveIsAllOrNothing(point)
        case .initAfterObjects: try initKilledAfterItsObjectsStartsOverOnRerun()
        case .outboxBeforeClaimPush, .outboxBeforeSend, .outboxAfterSend, .outboxBeforeRef, .outboxAfterRef, .outboxAfterCheckout:
            try OutboxE2ETests().aCrashAtAnyStepNeverSendsTwiceOrLosesAnItem(point: point)
        case .workflowBeforeStep, .workflowAfterStep, .workflowBeforeCheckpoint, .workflowAfterCheckpoint:
            // Reached only inside a workflow: killed at each step above.
            #expect(point.firesPerStep)
        }
    }

    @Test func crashPointNamesAreUniqueAndArmable() {
        let names = CrashPoint.allCases.map(\.rawValue)
        #expect(Set(names).count == names.count)
        for point in CrashPoint.allCases {
            #expect(CrashPoint(rawValue: point.rawValue) == point)
            #expect(!point.rawValue.contains(":"), "\(point): ':' separates a step")
        }
    }

    private func expectKilled(_ r: CommandResult, _ point: CrashPoint, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.signaled && r.status == 9, "expected SIGKILL at \(point): \(r)", sourceLocation: sourceLocation)
    }

    // MARK: Named points

    func noteNewLeavesNoHalfWrittenNote(_ point: CrashPoint) throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let before = Set(try FileManager.default.contentsOfDirectory(atPath: v + "/memory/working"))
        expectKilled(sb.runCairn(["note", "new", "Call with Dana", "--tier", "working"], cwd: v, env: ["CAIRN_CRASH_AT": point.rawValue]), point)
        let after = Set(try FileManager.default.contentsOfDirectory(atPath: v + "/memory/working")).subtracting(before)
        if point == .noteBeforeLink {
            #expect(after.isEmpty, "a note appeared though it was never linked in: \(after)")
        } else {
            // Linked whole: the complete note, parseable, never an empty file.
            #expect(after == ["call-with-dana.md"], "\(after)")
            let text = try #require(sb.readText(v + "/memory/working/call-with-dana.md"))
            #expect(text.hasPrefix("---\n") && text.contains("title: Call with Dana"), "\(text)")
        }
        // Nothing stray for a snapshot to pick up, and the next note new works.
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).split(separator: "\n").count == after.count)
        let again = sb.runCairn(["note", "new", "Call with Dana", "--tier", "working"], cwd: v)
        #expect(again.status == 0, "\(again)")
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        sb.expectFsckClean(v)
    }

    /// `cairn init` of a folder of notes killed once the notes' objects are written (unsynced, no commit yet): the
    /// repository it leaves says so, and the next `cairn init` starts over and commits every note, exactly once.
    func initKilledAfterItsObjectsStartsOverOnRerun() throws {
        let sb = try Sandbox()
        let folder = sb.work + "/notes"
        for i in 0..<40 { try sb.write(folder + "/memory/knowledge/n\(i).md", "# Note \(i)\n\nbody \(i)\n") }
        try sb.write(folder + "/journal/today.md", "today\n")
        let notes = workingFiles(folder)
        expectKilled(sb.runCairn(["init", folder], env: ["CAIRN_CRASH_AT": CrashPoint.initAfterObjects.rawValue]), .initAfterObjects)
        #expect(sb.exists(folder + "/.git/cairn-init-unfinished"), "the killed init left no mark of being unfinished")
        #expect(sb.git(["rev-parse", "--verify", "HEAD"], cwd: folder).status != 0, "no commit yet")
        // Other commands refuse the half-made vault and say what to do.
        let status = sb.runCairn(["status"], cwd: folder)
        #expect(status.status != 0 && status.stderr.contains("did not finish") && status.stderr.contains("cairn init"), "\(status)")

        let again = sb.runCairn(["init", folder])
        #expect(again.status == 0, "\(again)")
        #expect(!sb.exists(folder + "/.git/cairn-init-unfinished"))
        let committed = try sb.committedFiles(folder)
        for (path, entry) in notes { #expect(committed[path] == entry, "\(path) is not committed as it was") }
        #expect(try sb.gitLines(["rev-list", "HEAD"], cwd: folder).count == 1)
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: folder).isEmpty)
        sb.expectFsckClean(folder)
        // A finished init leaves no mark, and a third init finds a vault.
        let third = sb.runCairn(["init", folder])
        #expect(third.status == 0, "\(third)")
        #expect(try sb.gitLines(["rev-list", "HEAD"], cwd: folder).count == 1)
    }

    func searchIndexRebuildKilledBeforeTheMoveIsRebuiltCleanly() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        expectKilled(sb.runCairn(["index", "--rebuild"], cwd: v, env: ["CAIRN_CRASH_AT": CrashPoint.indexRebuildBeforeRename.rawValue]), .indexRebuildBeforeRename)
        let search = sb.runCairn(["search", "bluebird", "--json"], cwd: v)
        #expect(search.status == 0, "\(search)")
        #expect(search.stdout.contains("memory/projects/bluebird-coffee.md"), "\(search)")
        // The dead process's side file is swept by the next rebuild.
        #expect(sb.runCairn(["index", "--rebuild"], cwd: v).status == 0)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: v + "/.git/cairn").filter { $0.contains(".building-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        sb.expectFsckClean(v)
    }

    func searchIndexUpdateKilledMidTransactionLosesNothing() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        #expect(sb.runCairn(["index"], cwd: v).status == 0)
        try sb.write(v + "/memory/projects/zanzibar.md", "# Zanzibar\nquetzalcoatl\n")
        expectKilled(sb.runCairn(["search", "quetzalcoatl"], cwd: v, env: ["CAIRN_CRASH_AT": CrashPoint.indexUpdateBeforeCommit.rawValue]), .indexUpdateBeforeCommit)
        let search = sb.runCairn(["search", "quetzalcoatl", "--json"], cwd: v)
        #expect(search.status == 0, "\(search)")
        #expect(search.stdout.contains("memory/projects/zanzibar.md"), "\(search)")
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        let after = sb.runCairn(["search", "quetzalcoatl", "--json"], cwd: v)
        #expect(after.stdout.contains("memory/projects/zanzibar.md"), "\(after)")
        sb.expectFsckClean(v)
    }

    // MARK: Arbitrary moments

    /// Delays (ms) at which the long operations below are killed: spread from start-up to past the end.
    static let moments = [5, 15, 30, 60, 100, 160, 250, 400, 700, 1500, 4000]

    /// kill -9 after `milliseconds`; returns the result (status 0 when it finished first).
    func killAfter(_ sb: Sandbox, _ args: [String], cwd: String, milliseconds: Int) -> CommandResult {
        let running = sb.startCairn(args, cwd: cwd)
        usleep(useconds_t(milliseconds * 1000))
        if let p = running.process, p.isRunning { kill(p.processIdentifier, SIGKILL) }
        return running.finish(timeout: 120)
    }

    @Test func snapshotOfManyFilesKilledAtArbitraryMomentsLosesNoEdit() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let files = (0..<1500).map { "memory/knowledge/bulk/n\($0 / 100)/note-\($0).md" }
        var expected: [String: String] = [:]
        var killed = 0
        for (round, ms) in Self.moments.enumerated() {
            // The operator edits a slice of the files before every attempt.
            for (i, path) in files.enumerated() where i % Self.moments.count == round || round == 0 {
                let text = "# Note \(i)\nround \(round)\n"
                try sb.write(v + "/" + path, text)
                expected[path] = text
            }
            let r = killAfter(sb, ["snapshot", "--json"], cwd: v, milliseconds: ms)
            #expect(!r.signaled || r.status == 9, "\(r)")
            if r.signaled { killed += 1 }
            sb.expectFsckClean(v)
            if r.status == 0, let commit = try jsonObject(r.stdoutData)["commit"] as? String {
                #expect(sb.git(["merge-base", "--is-ancestor", commit, "main"], cwd: v).status == 0, "reported \(commit) is not on main")
            }
            // Every edit is still in the working tree whatever happened.
            for (path, text) in expected where sb.readText(v + "/" + path) != text {
                Issue.record("\(path) lost its edit after a kill at \(ms) ms")
                break
            }
        }
        print("crash matrix: snapshot of 1500 files killed in \(killed) of \(Self.moments.count) attempts (the rest finished first)")
        #expect(killed > 0, "no attempt was killed mid-way: the moments are too late for this machine")
        let final = sb.runCairn(["snapshot"], cwd: v)
        #expect(final.status == 0, "\(final)")
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        let committed = try sb.committedFiles(v, rev: "main")
        let wrong = expected.filter { committed[$0.key]?.data != Data($0.value.utf8) }.map(\.key)
        #expect(wrong.isEmpty, "not committed as last edited: \(wrong.prefix(5))")
        // No commit twice: each snapshot commit differs from its parent (nothing re-committed as a no-op duplicate).
        let empty = try sb.gitLines(["log", "--format=%H", "main"], cwd: v).filter {
            sb.git(["diff", "--quiet", "\($0)^", $0], cwd: v).status == 0
        }
        #expect(empty.isEmpty, "empty commits: \(empty)")
        sb.expectFsckClean(v)
    }

    @Test func agentRunAndApproveKilledAtArbitraryMomentsCompleteOnce() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        var killedRuns = 0, killedApprovals = 0
        for (round, ms) in Self.moments.enumerated() {
            let file = "memory/projects/crash-\(round).md"
            try sb.write(v + "/inbox/operator-\(round).md", "# Operator \(round)\n")
            let run = killAfter(sb, ["agent", "run", "note", "--json", "--input", "file=\(file)"], cwd: v, milliseconds: ms)
            if run.signaled { killedRuns += 1 }
            sb.expectFsckClean(v)
            // Re-running returns the pending proposal or makes it: exactly one pending for this input.
            let again = sb.runCairn(["agent", "run", "note", "--json", "--input", "file=\(file)"], cwd: v)
            #expect(again.status == 0, "\(again)")
            let id = try #require(try jsonObject(again.stdoutData)["run"] as? String)
            if run.status == 0, let first = try jsonObject(run.stdoutData)["run"] as? String {
                #expect(first == id, "the re-run made a second proposal \(id) next to \(first)")
            }
            #expect(try sb.refs(v, under: "refs/heads/proposals").count == 1, "round \(round)")

            let approve = killAfter(sb, ["approve", id, "--json"], cwd: v, milliseconds: ms)
            if approve.signaled { killedApprovals += 1 }
            sb.expectFsckClean(v)
            if approve.status == 0, let commit = try jsonObject(approve.stdoutData)["commit"] as? String {
                #expect(sb.git(["merge-base", "--is-ancestor", commit, "main"], cwd: v).status == 0)
            }
            let finish = sb.runCairn(["approve", id], cwd: v)
            #expect(finish.status == 0, "\(finish)")
            #expect(try sb.gitLines(["log", "--format=%s", "--grep=^Cairn-Run: \(id)$", "--grep=^Cairn-Operation: approve$", "--all-match", "main"], cwd: v).count == 1,
                    "round \(round): approved other than once")
            #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
            // The approved change is in the working tree and on main; the operator's edit too.
            #expect(try sb.gitOK(["show", "main:\(file)"], cwd: v).contains("a line from the agent"))
            #expect(sb.readText(v + "/" + file)?.contains("a line from the agent") == true, "round \(round): approved change not in the working tree")
            #expect(sb.readText(v + "/inbox/operator-\(round).md") == "# Operator \(round)\n")
        }
        print("crash matrix: agent run killed in \(killedRuns), approve in \(killedApprovals) of \(Self.moments.count) attempts each")
        #expect(killedRuns > 0 && killedApprovals > 0, "no attempt was killed mid-way")
        let snapshot = sb.runCairn(["snapshot"], cwd: v)
        #expect(snapshot.status == 0, "\(snapshot)")
        let left = try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v)
        #expect(left.isEmpty, "not committed by the snapshot (\(snapshot)): \(left)\n\(sb.git(["diff"], cwd: v).stdout.prefix(3000))")
        for round in Self.moments.indices {
            #expect(try sb.gitOK(["show", "main:inbox/operator-\(round).md"], cwd: v) == "# Operator \(round)")
        }
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
        sb.expectFsckClean(v)
    }
}
