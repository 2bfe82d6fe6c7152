import Foundation
import Testing

/// The review queue end to end: `cairn proposals`, `review`, `approve` and `reject`, judged with git. Approving
/// merges the agent's commit with an approval record and never loses an operator edit; a proposal whose files
/// changed on main since the agent read them is refused; rejecting keeps the agent's change out of main.
@Suite struct ProposalFlowTests {
    static let bluebird = "memory/projects/bluebird-coffee.md"

    @Test func proposalsListsWhatIsPendingOldestFirst() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        let empty = sb.runCairn(["proposals"], cwd: v)
        #expect(empty.status == 0 && empty.stdout.contains("No pending proposals."), "\(empty)")
        #expect(try jsonArray(sb.runCairn(["proposals", "--json"], cwd: v).stdoutData).isEmpty)

        let gc = try sb.runAgent(v, "gc", env: ["CAIRN_NOW": "2026-03-01T09:00:00Z"])
        let note = try sb.runAgent(v, "note", inputs: ["line=call Dana"], env: ["CAIRN_NOW": "2026-03-01T10:00:00Z"])
        #expect(gc.outcome == "proposed" && note.outcome == "proposed", "\(gc)\n\(note)")

        let r = sb.runCairn(["proposals"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let lines = r.stdout.components(separatedBy: "\n")
        let gcLine = try #require(lines.firstIndex { $0.hasPrefix(gc.id) }, "\(r)")
        let noteLine = try #require(lines.firstIndex { $0.hasPrefix(note.id) }, "\(r)")
        #expect(gcLine < noteLine, "oldest first: \(r)")
        #expect(lines[gcLine].contains("Propose: archive 1 expired working note"), "\(r)")
        #expect(lines[noteLine].contains("Propose: add a line to \(Self.bluebird)"), "\(r)")
        #expect(lines[noteLine + 1].contains("agent note, 1 file"), "\(r)")

        let j = try jsonArray(sb.runCairn(["proposals", "--json"], cwd: v).stdoutData)
        #expect(j.compactMap { $0["id"] as? String } == [gc.id, note.id])
        #expect(j.compactMap { $0["agent"] as? String } == ["gc", "note"])
        let noteJSON = try #require(j.last)
        #expect(noteJSON["commit"] as? String == (try sb.gitOK(["rev-parse", "proposals/\(note.id)"], cwd: v)))
        #expect(noteJSON["base"] as? String == (try sb.gitOK(["rev-parse", "proposals/\(note.id)^"], cwd: v)))
        #expect((noteJSON["changes"] as? [[String: Any]])?.compactMap { $0["path"] as? String } == [Self.bluebird])
        #expect((noteJSON["stalePaths"] as? [String])?.isEmpty == true)
    }

    @Test
    func proposalStatsCountOnlyTheAgentsChanges() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        let note = try sb.runAgent(v, "note")
        let j = try jsonArray(sb.runCairn(["proposals", "--json"], cwd: v).stdoutData)
        let stats = try #require(j.first?["stats"] as? [String: Any])
        #expect(stats["filesChanged"] as? Int == 1, "\(stats)")
        #expect(stats["insertions"] as? Int == 1, "\(stats)")
        #expect(stats["deletions"] as? Int == 0, "\(stats)")
        #expect(sb.runCairn(["proposals"], cwd: v).stdout.contains("1 file, +1 -0"))
        #expect(sb.runCairn(["review", note.id], cwd: v).stdout.contains(" 1 file changed, 1 insertions(+), 0 deletions(-)"))
    }

    @Test func reviewShowsTheDiffAndTheRunRecord() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        let note = try sb.runAgent(v, "note", inputs: ["line=Dana wants refunds by reason"])
        let main = try sb.gitOK(["rev-parse", "main"], cwd: v)
        let before = sb.state(of: v)
        let r = sb.runCairn(["review", note.id], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("proposal \(note.id)"), "\(r)")
        #expect(r.stdout.contains("Agent:  note"), "\(r)")
        #expect(r.stdout.contains("Base:   \(main.prefix(10))"), "\(r)")
        #expect(r.stdout.contains("Input:  line=Dana wants refunds by reason"), "\(r)")
        #expect(r.stdout.contains("Shown:  3 memory items"), "core memory and the project note: \(r)")
        #expect(r.stdout.contains("diff --git a/\(Self.bluebird) b/\(Self.bluebird)"), "\(r)")
        #expect(r.stdout.contains("\n+- Dana wants refunds by reason\n"), "\(r)")
        #expect(r.stdout.contains("cairn approve \(note.id)"), "\(r)")

        // Without an id: the oldest pending one. By the agent's name: its one pending proposal.
        #expect(sb.runCairn(["review"], cwd: v).stdout.contains("proposal \(note.id)"))
        #expect(sb.runCairn(["review", "note"], cwd: v).stdout.contains("proposal \(note.id)"))
        let j = try jsonObject(sb.runCairn(["review", note.id, "--json"], cwd: v).stdoutData)
        #expect((j["proposal"] as? [String: Any])?["id"] as? String == note.id)
        #expect((j["patch"] as? String)?.contains("+- Dana wants refunds by reason") == true)
        #expect((j["record"] as? [String: Any])?["input"] as? [String: String] == ["line": "Dana wants refunds by reason"])
        sb.expectUnchanged(v, since: before)  // reviewing writes nothing
    }

    @Test func approveMergesTheProposalWithAnApprovalRecordAndKeepsOperatorEdits() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let run = try sb.runAgent(v, "gc")
        #expect(run.outcome == "proposed", "\(run)")
        let proposal = try sb.gitOK(["rev-parse", "proposals/\(run.id)"], cwd: v)
        let mainBefore = try sb.gitOK(["rev-parse", "main"], cwd: v)

        // The operator is in the middle of editing other files.
        let pricing = v + "/memory/knowledge/pricing.md"
        let edited = (sb.readText(pricing) ?? "") + "\nNew tier: data health check, 1 200 EUR.\n"
        try sb.write(pricing, edited)
        try sb.write(v + "/memory/working/ideas.md", "# Ideas\n\n- newsletter on refunds\n")

        let r = sb.runCairn(["approve", run.id], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("Approved \(run.id)"), "\(r)")
        let recordPath = "approvals/2026/03/\(run.id).json"
        #expect(r.stdout.contains(recordPath), "\(r)")

        // main: snapshot of the operator's edits, then the merge with the proposal as second parent.
        let merge = try sb.gitOK(["rev-parse", "main"], cwd: v)
        let parents = try sb.gitOK(["log", "-1", "--format=%P", "main"], cwd: v).split(separator: " ").map(String.init)
        #expect(parents.count == 2, "a merge commit: \(parents)")
        #expect(parents.last == proposal, "the proposal is the second parent")
        let snapshot = try #require(parents.first)
        #expect(try sb.gitOK(["rev-parse", "\(snapshot)^"], cwd: v) == mainBefore)
        #expect(try sb.trailer(v, snapshot, "Cairn-Operation") == "snapshot")
        #expect(try sb.gitOK(["show", "\(snapshot):memory/knowledge/pricing.md"], cwd: v) + "\n" == edited)
        #expect(try sb.trailer(v, "main", "Cairn-Operation") == "approve")
        #expect(try sb.trailer(v, "main", "Cairn-Run") == run.id)
        #expect(try sb.trailer(v, "main", "Cairn-Proposal") == proposal)
        #expect(try sb.gitOK(["log", "-1", "--format=%an <%ae>", "main"], cwd: v) == "\(Sandbox.operatorName) <\(Sandbox.operatorEmail)>")
        #expect(try sb.gitOK(["merge-base", "--is-ancestor", proposal, "main"], cwd: v).isEmpty)

        // The approval record.
        let approval = try #require(try sb.approvalRecord(v, id: run.id))
        #expect(approval["decision"] as? String == "approved")
        #expect(approval["run"] as? String == run.id)
        #expect(approval["agent"] as? String == "gc")
        #expect(approval["proposal"] as? String == proposal)
        #expect(approval["base"] as? String == mainBefore)
        #expect((approval["decidedBy"] as? String)?.contains(Sandbox.operatorEmail) == true)
        #expect(try sb.gitLines(["diff", "--name-only", "--no-renames", "\(snapshot)", "main"], cwd: v).sorted()
                == [recordPath, "memory/knowledge/archive/2026/this-week.md", "memory/working/this-week.md", "runs/2026/03/\(run.id).json"])

        // Refs: the proposal branch is gone, the archive points at the proposal commit.
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
        #expect(try sb.gitOK(["rev-parse", "refs/cairn/archive/\(run.id)"], cwd: v) == proposal)

        // The working tree has the agent's change and the operator's edits, and is clean.
        #expect(!sb.exists(v + "/memory/working/this-week.md"))
        #expect(sb.read(v + "/memory/knowledge/archive/2026/this-week.md") != nil)
        #expect(sb.readText(pricing) == edited)
        #expect(sb.readText(v + "/memory/working/ideas.md") == "# Ideas\n\n- newsletter on refunds\n")
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v) == "")
        #expect(sb.runCairn(["proposals"], cwd: v).stdout.contains("No pending proposals."))
        sb.expectFsckClean(v)
        try sb.expectCloneReproduces(v)
    }

    @Test func approveMergesThreeWayWhenMainChangedOtherFiles() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        let run = try sb.runAgent(v, "note", inputs: ["line=from the agent"])
        // main moves on (another file) before the decision.
        let pricing = v + "/memory/knowledge/pricing.md"
        try sb.write(pricing, (sb.readText(pricing) ?? "") + "- operator line\n")
        try sb.snapshot(v)
        let r = sb.runCairn(["approve", run.id], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try sb.gitOK(["show", "main:\(Self.bluebird)"], cwd: v).hasSuffix("- from the agent"))
        #expect(try sb.gitOK(["show", "main:memory/knowledge/pricing.md"], cwd: v).hasSuffix("- operator line"))
        #expect(sb.readText(v + "/" + Self.bluebird)?.hasSuffix("- from the agent\n") == true)
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v) == "")
        sb.expectFsckClean(v)
    }

    @Test func approveRefusesAProposalWhoseFileChangedOnMain() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        let run = try sb.runAgent(v, "note", inputs: ["line=from the agent"])
        let proposal = try sb.gitOK(["rev-parse", "proposals/\(run.id)"], cwd: v)
        // The operator edits the same file and snapshots it.
        let operatorText = (sb.readText(v + "/" + Self.bluebird) ?? "") + "- operator's own line\n"
        try sb.write(v + "/" + Self.bluebird, operatorText)
        try sb.snapshot(v)

        // `cairn proposals` already flags it.
        #expect(sb.runCairn(["proposals"], cwd: v).stdout.contains("stale"))
        let listed = try jsonArray(sb.runCairn(["proposals", "--json"], cwd: v).stdoutData)
        #expect(listed.first?["stalePaths"] as? [String] == [Self.bluebird])

        let before = sb.stateIgnoringIndexTime(of: v)
        let r = sb.runCairn(["approve", run.id], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("stale"), "\(r)")
        #expect(r.stderr.contains(Self.bluebird), "the file is named: \(r)")
        #expect(r.stderr.contains("cairn reject \(run.id)"), "the way out is named: \(r)")
        sb.expectUnchangedIgnoringIndexTime(v, since: before)
        #expect(try sb.gitOK(["rev-parse", "proposals/\(run.id)"], cwd: v) == proposal)
        #expect(sb.git(["merge-base", "--is-ancestor", proposal, "main"], cwd: v).status == 1, "not merged")
        #expect(try sb.approvalRecord(v, id: run.id) == nil)
        #expect(sb.readText(v + "/" + Self.bluebird) == operatorText)
    }

    @Test func approveRefusesWhenTheOperatorIsEditingTheSameFileAndKeepsTheEdit() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        let run = try sb.runAgent(v, "note", inputs: ["line=from the agent"])
        let proposal = try sb.gitOK(["rev-parse", "proposals/\(run.id)"], cwd: v)
        // Not snapshotted: approve snapshots it first, and then the proposal is stale.
        let operatorText = (sb.readText(v + "/" + Self.bluebird) ?? "") + "- typed but not committed\n"
        try sb.write(v + "/" + Self.bluebird, operatorText)
        let r = sb.runCairn(["approve", run.id], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("stale"), "\(r)")
        #expect(sb.readText(v + "/" + Self.bluebird) == operatorText, "the operator's edit is intact")
        #expect(try sb.gitOK(["show", "main:\(Self.bluebird)"], cwd: v) + "\n" == operatorText, "…and committed by the snapshot")
        #expect(sb.git(["merge-base", "--is-ancestor", proposal, "main"], cwd: v).status == 1, "not merged")
        #expect(try sb.refs(v, under: "refs/heads/proposals") == ["refs/heads/proposals/\(run.id)"])
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v) == "")
    }

    @Test func rejectRecordsTheDecisionAndKeepsTheChangeOutOfMain() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        let run = try sb.runAgent(v, "note", inputs: ["line=should never land"])
        let proposal = try sb.gitOK(["rev-parse", "proposals/\(run.id)"], cwd: v)
        let mainBefore = try sb.gitOK(["rev-parse", "main"], cwd: v)
        let files = workingFiles(v)
        let r = sb.runCairn(["reject", run.id, "--note", "not a fact"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("Rejected \(run.id)"), "\(r)")
        #expect(try sb.gitOK(["rev-parse", "main^"], cwd: v) == mainBefore)
        #expect(try sb.gitOK(["log", "-1", "--format=%P", "main"], cwd: v) == mainBefore, "not a merge")
        #expect(try sb.trailer(v, "main", "Cairn-Operation") == "reject")
        #expect(try sb.gitLines(["diff", "--name-only", mainBefore, "main"], cwd: v) == ["approvals/2026/03/\(run.id).json"])
        let approval = try #require(try sb.approvalRecord(v, id: run.id))
        #expect(approval["decision"] as? String == "rejected")
        #expect(approval["note"] as? String == "not a fact")
        #expect(approval["proposal"] as? String == proposal)
        #expect(!(try sb.gitOK(["show", "main:\(Self.bluebird)"], cwd: v)).contains("should never land"))
        #expect(sb.git(["merge-base", "--is-ancestor", proposal, "main"], cwd: v).status == 1)
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
        #expect(try sb.gitOK(["rev-parse", "refs/cairn/archive/\(run.id)"], cwd: v) == proposal)
        var expected = files
        expected["approvals/2026/03/\(run.id).json"] = FileEntry(data: try #require(sb.read(v + "/approvals/2026/03/\(run.id).json")), executable: false)
        expectSameFiles(workingFiles(v), expected, "working tree", "before plus the record")
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v) == "")
        sb.expectFsckClean(v)
    }

    @Test(arguments: [["approve", "nosuch"], ["reject", "nosuch"], ["review", "nosuch"], ["approve", "20991231-000000-note-0000"]])
    func decidingAnUnknownProposalFailsClearly(_ args: [String]) throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        let pending = try sb.runAgent(v, "note")  // one proposal waits; an unknown id must not pick it
        #expect(pending.outcome == "proposed")
        let before = sb.stateIgnoringIndexTime(of: v)
        let r = sb.runCairn(args, cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("no pending proposal '\(args[1])'"), "\(r)")
        #expect(r.stderr.contains("cairn proposals"), "\(r)")
        sb.expectUnchangedIgnoringIndexTime(v, since: before)
        #expect(try sb.refs(v, under: "refs/heads/proposals") == ["refs/heads/proposals/\(pending.id)"])
    }

    @Test
    func approvingAnUnknownIdWritesNothingAtAll() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        _ = try sb.runAgent(v, "note")
        let before = sb.state(of: v)
        let r = sb.runCairn(["approve", "nosuch"], cwd: v)
        #expect(r.status == 1, "\(r)")
        sb.expectUnchanged(v, since: before)
    }

    @Test func approvingByAgentNamePicksItsOnePendingProposal() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        let gc = try sb.runAgent(v, "gc")
        let note = try sb.runAgent(v, "note")
        #expect(gc.outcome == "proposed" && note.outcome == "proposed")
        let r = sb.runCairn(["approve", "note"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("Approved \(note.id)"), "\(r)")
        #expect(try sb.approvalRecord(v, id: note.id)?["decision"] as? String == "approved")
        #expect(try sb.refs(v, under: "refs/heads/proposals") == ["refs/heads/proposals/\(gc.id)"], "gc's proposal still waits")
    }

    @Test func anAgentNameWithTwoPendingProposalsIsAmbiguous() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        let a = try sb.runAgent(v, "note", inputs: ["file=memory/projects/a.md"])
        let b = try sb.runAgent(v, "note", inputs: ["file=memory/projects/b.md"])
        #expect(a.outcome == "proposed" && b.outcome == "proposed" && a.id != b.id, "\(a)\n\(b)")
        let before = sb.stateIgnoringIndexTime(of: v)
        let r = sb.runCairn(["approve", "note"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("matches several proposals"), "\(r)")
        #expect(r.stderr.contains(a.id) && r.stderr.contains(b.id), "\(r)")
        sb.expectUnchangedIgnoringIndexTime(v, since: before)
    }

    @Test func decidingAnApprovedProposalAgainChangesNothing() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        let run = try sb.runAgent(v, "note")
        #expect(sb.runCairn(["approve", run.id], cwd: v).status == 0)
        let main = try sb.gitOK(["rev-parse", "main"], cwd: v)
        let before = sb.stateIgnoringIndexTime(of: v)
        // Approving again is a no-op that says so.
        let again = sb.runCairn(["approve", run.id], cwd: v)
        #expect(again.status == 0, "\(again)")
        #expect(again.stdout.contains("already approved"), "\(again)")
        // Rejecting what was approved must not pretend to reject, nor change anything.
        let reject = sb.runCairn(["reject", run.id], cwd: v)
        #expect(reject.stdout.contains("already approved") || reject.stderr.contains("already approved"), "\(reject)")
        sb.expectUnchangedIgnoringIndexTime(v, since: before)
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: v) == main)
        #expect(try sb.approvalRecord(v, id: run.id)?["decision"] as? String == "approved")
    }
}
