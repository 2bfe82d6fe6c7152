import Foundation
import Testing

/// `autonomy: auto`: an agent earns the right to merge on its own after `promote_after_approvals` (3) approvals,
/// loses it with a rejection, and never skips review for a proposal that policy says needs it.
@Suite struct AutonomyTests {
    /// Runs the auto agent once, writing a file of its own (no proposal is ever stale), at a distinct time.
    func run(_ sb: Sandbox, _ v: String, _ n: Int, extra: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> AgentRun {
        try sb.runAgent(v, "scribe", inputs: ["file=memory/projects/log/\(n).md", "line=entry \(n)"] + extra,
                        env: ["CAIRN_NOW": String(format: "2026-03-01T09:%02d:00Z", n)], sourceLocation: sourceLocation)
    }

    func trust(_ sb: Sandbox, _ v: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let r = sb.runCairn(["policy", "--json"], cwd: v)
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        let agents = try #require(try jsonObject(r.stdoutData)["agents"] as? [[String: Any]], sourceLocation: sourceLocation)
        return try #require(agents.first { $0["agent"] as? String == "scribe" }, sourceLocation: sourceLocation)
    }

    @Test func anAutoAgentIsProposedThreeTimesThenMergesOnItsOwnUntilARejection() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent(agent: "scribe", autonomy: "auto")
        #expect(try trust(sb, v)["state"] as? String == "earning")

        // Runs 1–3 wait for review, however well they behave.
        for n in 1...3 {
            let r = try run(sb, v, n)
            #expect(r.outcome == "proposed", "run \(n): \(r)")
            #expect(try sb.refs(v, under: "refs/heads/proposals") == ["refs/heads/proposals/\(r.id)"], "run \(n)")
            #expect(sb.git(["cat-file", "-e", "main:memory/projects/log/\(n).md"], cwd: v).status != 0, "run \(n) reached main unreviewed")
            let t = try trust(sb, v)
            #expect(t["state"] as? String == "earning", "before approval \(n): \(t)")
            #expect(t["consecutiveApprovals"] as? Int == n - 1)
            let a = sb.runCairn(["approve", r.id], cwd: v, env: ["CAIRN_NOW": String(format: "2026-03-01T09:%02d:30Z", n)])
            #expect(a.status == 0, "\(a)")
        }
        let trusted = try trust(sb, v)
        #expect(trusted["state"] as? String == "trusted", "\(trusted)")
        #expect(trusted["consecutiveApprovals"] as? Int == 3)
        let policyText = sb.runCairn(["policy"], cwd: v)
        #expect(policyText.stdout.contains("scribe — trusted"), "\(policyText)")
        #expect(policyText.stdout.contains("after 3 consecutive approvals"), "\(policyText)")

        // Run 4 merges by policy.
        let mainBefore = try sb.gitOK(["rev-parse", "main"], cwd: v)
        let fourth = try run(sb, v, 4)
        #expect(fourth.result.status == 0, "\(fourth)")
        #expect(fourth.outcome == "auto-merged", "\(fourth)")
        #expect(fourth.result.stdout.contains("\"autoMerge\""), "\(fourth)")
        let proposal = try sb.gitOK(["rev-parse", "refs/cairn/archive/\(fourth.id)"], cwd: v)
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
        #expect(try sb.gitOK(["log", "-1", "--format=%P", "main"], cwd: v) == "\(mainBefore) \(proposal)")
        #expect(try sb.trailer(v, "main", "Cairn-Operation") == "auto-merge")
        #expect(try sb.trailer(v, "main", "Cairn-Run") == fourth.id)
        #expect(!(try sb.trailer(v, "main", "Cairn-Policy-Rule")).isEmpty)
        #expect(try sb.trailer(v, proposal, "Cairn-Outcome") == "auto-merged")
        let approval = try #require(try sb.approvalRecord(v, id: fourth.id))
        #expect(approval["decision"] as? String == "auto-approved")
        #expect(approval["decidedBy"] as? String == "policy")
        #expect((approval["rule"] as? String)?.contains("3 consecutive approvals") == true, "\(approval)")
        #expect(sb.readText(v + "/memory/projects/log/4.md") == "- entry 4\n", "the working tree follows main")
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v) == "")
        let why = sb.runCairn(["why", "memory/projects/log/4.md:1"], cwd: v)
        #expect(why.stdout.contains("Decided auto-approved by policy"), "\(why)")

        // Even a trusted agent waits when policy says the proposal needs review (too many lines).
        let big = try run(sb, v, 5, extra: ["big=1"])
        #expect(big.outcome == "proposed", "\(big)")
        #expect((big.json["needsReview"] as? [[String: Any]])?.contains { $0["rule"] as? String == "size" } == true, "\(big)")
        #expect(sb.git(["cat-file", "-e", "main:memory/projects/log/5.md"], cwd: v).status != 0)

        // Rejecting it demotes the agent: the next run waits again.
        let rej = sb.runCairn(["reject", big.id, "--note", "too much"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T09:05:30Z"])
        #expect(rej.status == 0, "\(rej)")
        let demoted = try trust(sb, v)
        #expect(demoted["state"] as? String == "demoted", "\(demoted)")
        #expect(demoted["consecutiveApprovals"] as? Int == 0)
        #expect(sb.runCairn(["policy"], cwd: v).stdout.contains("scribe — demoted"))
        let sixth = try run(sb, v, 6)
        #expect(sixth.outcome == "proposed", "\(sixth)")
        #expect(try sb.refs(v, under: "refs/heads/proposals") == ["refs/heads/proposals/\(sixth.id)"])
        #expect(sb.git(["cat-file", "-e", "main:memory/projects/log/6.md"], cwd: v).status != 0)
        sb.expectFsckClean(v)
    }

    @Test func anAdvisoryAgentNeverMergesOnItsOwn() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent(agent: "scribe", autonomy: "advisory")
        for n in 1...4 {
            let r = try run(sb, v, n)
            #expect(r.outcome == "proposed", "run \(n): \(r)")
            #expect(sb.runCairn(["approve", r.id], cwd: v, env: ["CAIRN_NOW": String(format: "2026-03-01T09:%02d:30Z", n)]).status == 0)
        }
        let t = try trust(sb, v)
        #expect(t["state"] as? String == "advisory", "\(t)")
        let fifth = try run(sb, v, 5)
        #expect(fifth.outcome == "proposed", "\(fifth)")
        #expect(try sb.refs(v, under: "refs/heads/proposals") == ["refs/heads/proposals/\(fifth.id)"])
    }

    @Test func promotionFollowsPromoteAfterApprovalsInPolicy() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent(agent: "scribe", autonomy: "auto")
        let policyPath = v + "/policy.json"
        var policy = try jsonObject(sb.read(policyPath))
        policy["autonomy"] = ["default": "advisory", "promote_after_approvals": 1]
        try sb.write(policyPath, try JSONSerialization.data(withJSONObject: policy, options: [.prettyPrinted, .sortedKeys]))
        try sb.snapshot(v, "trust after one approval")
        let first = try run(sb, v, 1)
        #expect(first.outcome == "proposed", "\(first)")
        #expect(sb.runCairn(["approve", first.id], cwd: v, env: ["CAIRN_NOW": "2026-03-01T09:01:30Z"]).status == 0)
        let second = try run(sb, v, 2)
        #expect(second.outcome == "auto-merged", "\(second)")
        #expect(try sb.trailer(v, "main", "Cairn-Operation") == "auto-merge")
    }

    @Test
    func anAgentWithoutAutonomyTakesThePolicyDefault() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        var policy = try jsonObject(sb.read(v + "/policy.json"))
        policy["autonomy"] = ["default": "auto", "promote_after_approvals": 3]
        try sb.write(v + "/policy.json", try JSONSerialization.data(withJSONObject: policy, options: [.prettyPrinted, .sortedKeys]))
        try sb.addAgent(v, "plain", frontMatter: "kind: builtin\nbuiltin: gc\nreads: [\"memory/working/**\"]\nwrites: [\"memory/working/**\"]")
        let listing = try jsonObject(sb.runCairn(["agent", "list", "--json"], cwd: v).stdoutData)
        let plain = try #require((listing["agents"] as? [[String: Any]])?.first { $0["name"] as? String == "plain" })
        #expect(plain["autonomy"] as? String == "auto", "\(plain)")
        #expect(plain["trust"] as? String == "earning", "\(plain)")
    }
}
