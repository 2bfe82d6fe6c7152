import CairnKit
import Foundation
import Testing

/// What kill -9 at the crash points of snapshot, agent run, approve and reject must leave (CAIRN_CRASH_AT):
/// `git fsck --strict` is clean, no operator edit is lost, and re-running the command completes the work exactly
/// once. Run for every point by `CrashMatrixTests.killNineAtEveryCrashPoint`.
@Suite struct CrashTests {
    private func vaultWithEdits(_ sb: Sandbox) throws -> String {
        let v = try sb.makeVault()
        try Data("# Plan\nship it\n".utf8).write(to: URL(fileURLWithPath: v + "/memory/projects/plan.md"))
        try Data("appended by the operator\n".utf8).write(to: URL(fileURLWithPath: v + "/inbox/note.md"))
        return v
    }

    private func expectKilled(_ r: CommandResult, _ point: CrashPoint, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.signaled && r.status == 9, "expected SIGKILL at \(point): \(r)", sourceLocation: sourceLocation)
    }

    func snapshotSurvivesACrash(_ point: CrashPoint) throws {
        let sb = try Sandbox()
        let v = try vaultWithEdits(sb)
        let before = try sb.gitOK(["rev-parse", "main"], cwd: v)
        expectKilled(sb.runCairn(["snapshot"], cwd: v, env: ["CAIRN_CRASH_AT": point.rawValue]), point)
        sb.expectFsckClean(v)
        // The edits are still in the working tree whatever happened.
        #expect(try String(contentsOfFile: v + "/memory/projects/plan.md", encoding: .utf8) == "# Plan\nship it\n")
        let again = sb.runCairn(["snapshot"], cwd: v)
        #expect(again.status == 0, "\(again)")
        // Exactly one snapshot commit holds the edits, and nothing is left uncommitted.
        #expect(try sb.gitOK(["rev-list", "--count", "\(before)..main"], cwd: v) == "1")
        #expect(try sb.gitOK(["show", "main:memory/projects/plan.md"], cwd: v) == "# Plan\nship it")
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        sb.expectFsckClean(v)
    }

    func agentRunSurvivesACrash(_ point: CrashPoint) throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        expectKilled(sb.runCairn(["agent", "run", "gc"], cwd: v, env: ["CAIRN_CRASH_AT": point.rawValue]), point)
        sb.expectFsckClean(v)
        let again = sb.runCairn(["agent", "run", "gc"], cwd: v)
        #expect(again.status == 0, "\(again)")
        // One pending proposal, never two: a re-run of an identical run returns the pending one.
        let refs = try sb.gitLines(["for-each-ref", "--format=%(refname)", "refs/heads/proposals/"], cwd: v)
        #expect(refs.count == 1, "\(refs)")
        if point == .agentAfterRef { #expect(again.stdout.contains("Already pending"), "\(again)") }
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
    }

    func approveSurvivesACrash(_ point: CrashPoint) throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        #expect(sb.runCairn(["agent", "run", "gc"], cwd: v).status == 0)
        // An operator edit elsewhere must survive whatever happens.
        try Data("operator wip\n".utf8).write(to: URL(fileURLWithPath: v + "/inbox/wip.md"))
        expectKilled(sb.runCairn(["approve", "gc"], cwd: v, env: ["CAIRN_CRASH_AT": point.rawValue]), point)
        sb.expectFsckClean(v)
        #expect(try String(contentsOfFile: v + "/inbox/wip.md", encoding: .utf8) == "operator wip\n")

        // Re-running approve finishes the job (or says it is done), exactly once.
        let again = sb.runCairn(["approve", "gc"], cwd: v)
        #expect(again.status == 0, "\(again)")
        let approvals = try sb.gitLines(["log", "--format=%s", "--grep=^Approve ", "main"], cwd: v)
        #expect(approvals.count == 1, "\(approvals)")
        #expect(try sb.gitLines(["for-each-ref", "--format=%(refname)", "refs/heads/proposals/"], cwd: v).isEmpty)
        #expect(try sb.gitLines(["for-each-ref", "--format=%(refname)", "refs/cairn/archive/"], cwd: v).count == 1)
        // The working tree carries the approved change (never reverted) and the operator's edit.
        #expect(!FileManager.default.fileExists(atPath: v + "/memory/working/this-week.md"))
        #expect(FileManager.default.fileExists(atPath: v + "/memory/knowledge/archive/2026/this-week.md"))
        let snap = sb.runCairn(["snapshot"], cwd: v)
        #expect(snap.status == 0, "\(snap)")
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        #expect(try sb.gitOK(["cat-file", "-e", "main:memory/knowledge/archive/2026/this-week.md"], cwd: v).isEmpty)
        #expect(sb.git(["cat-file", "-e", "main:memory/working/this-week.md"], cwd: v).status != 0, "the approved removal was reverted")
        #expect(try sb.gitOK(["show", "main:inbox/wip.md"], cwd: v) == "operator wip")
        sb.expectFsckClean(v)
    }

    /// git's checkout writes a file in place: killed mid-write, it leaves a new file empty or an updated one cut
    /// short. Re-running must finish those files (their bytes are a prefix of the approved version, so they are
    /// cairn's half-done work, not the operator's), and never record them as matching main while they do not.
    @Test(arguments: ["empty new file", "cut-short new file", "cut-short updated file", "whole file, index not written"])
    func approveKilledMidFileWriteIsFinishedOnRerun(_ shape: String) throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        let file = shape == "cut-short updated file" ? "memory/projects/bluebird-coffee.md" : "memory/projects/crash.md"
        let run = sb.runCairn(["agent", "run", "note", "--json", "--input", "file=\(file)"], cwd: v)
        #expect(run.status == 0, "\(run)")
        let id = try #require(try jsonObject(run.stdoutData)["run"] as? String)
        expectKilled(sb.runCairn(["approve", id], cwd: v, env: ["CAIRN_CRASH_AT": CrashPoint.approveAfterRef.rawValue]), .approveAfterRef)
        // What a checkout killed part way through this file leaves behind.
        let approved = try sb.gitOK(["show", "main:\(file)"], cwd: v) + "\n"
        let bytes = Array(approved.utf8)
        let left: [UInt8]
        switch shape {
        case "empty new file": left = []
        case "whole file, index not written": left = bytes
        default: left = Array(bytes.prefix(bytes.count - 5))
        }
        try Data(left).write(to: URL(fileURLWithPath: v + "/" + file))
        let again = sb.runCairn(["approve", id], cwd: v)
        #expect(again.status == 0, "\(again)")
        #expect(sb.readText(v + "/" + file) == approved, "\(shape): the approved file was not finished")
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        let snap = sb.runCairn(["snapshot"], cwd: v)
        #expect(snap.status == 0, "\(snap)")
        #expect(try sb.gitOK(["show", "main:\(file)"], cwd: v) + "\n" == approved)
        sb.expectFsckClean(v)
    }

    /// A file the operator wrote at the approved path while the approval was interrupted is theirs: kept as it is.
    @Test func approveKilledKeepsAnOperatorFileAtTheNewPath() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        let file = "memory/projects/crash.md"
        let run = sb.runCairn(["agent", "run", "note", "--json", "--input", "file=\(file)"], cwd: v)
        let id = try #require(try jsonObject(run.stdoutData)["run"] as? String)
        expectKilled(sb.runCairn(["approve", id], cwd: v, env: ["CAIRN_CRASH_AT": CrashPoint.approveAfterRef.rawValue]), .approveAfterRef)
        try Data("the operator's own words\n".utf8).write(to: URL(fileURLWithPath: v + "/" + file))
        let again = sb.runCairn(["approve", id], cwd: v)
        #expect(again.status == 0, "\(again)")
        #expect(sb.readText(v + "/" + file) == "the operator's own words\n")
        sb.expectFsckClean(v)
    }

    func rejectSurvivesACrash(_ point: CrashPoint) throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        #expect(sb.runCairn(["agent", "run", "gc"], cwd: v).status == 0)
        expectKilled(sb.runCairn(["reject", "gc"], cwd: v, env: ["CAIRN_CRASH_AT": point.rawValue]), point)
        sb.expectFsckClean(v)
        let again = sb.runCairn(["reject", "gc"], cwd: v)
        #expect(again.status == 0, "\(again)")
        #expect(try sb.gitLines(["log", "--format=%s", "--grep=^Reject ", "main"], cwd: v).count == 1)
        #expect(try sb.gitLines(["for-each-ref", "--format=%(refname)", "refs/heads/proposals/"], cwd: v).isEmpty)
        // The rejected change never reached main or the working tree.
        #expect(FileManager.default.fileExists(atPath: v + "/memory/working/this-week.md"))
        _ = sb.runCairn(["snapshot"], cwd: v)
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        sb.expectFsckClean(v)
    }
}
