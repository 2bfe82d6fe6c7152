import Foundation
import Testing

/// `retention.squash_agent_commits_days`: old agent and tick commits on main fold into one commit per day, the
/// operator's own commits stay one by one, and `cairn audit` and `cairn why` still explain the history (they
/// resolve the ids approval records name through the rewrite map). Judged with the git CLI.
@Suite struct SquashTests {
    static let note = "memory/projects/bluebird-coffee.md"

    /// One agent run, approved; returns the run.
    @discardableResult
    func agentLine(_ sb: Sandbox, _ v: String, _ line: String, at time: String, approveAt: String) throws -> AgentRun {
        let run = try sb.runAgent(v, "note", inputs: ["line=\(line)"], env: ["CAIRN_NOW": time])
        try #require(run.outcome == "proposed", "\(run)")
        try sb.cairnOK(["approve", run.id], cwd: v, env: ["CAIRN_NOW": approveAt])
        return run
    }

    @Test func oldAgentCommitsFoldIntoOneCommitPerDayAndAuditAndWhyStillExplainThem() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        try agentLine(sb, v, "one", at: "2026-03-02T10:00:00Z", approveAt: "2026-03-02T10:05:00Z")
        try agentLine(sb, v, "two", at: "2026-03-02T10:10:00Z", approveAt: "2026-03-02T10:15:00Z")
        try sb.write(v + "/memory/projects/acme.md", "# Acme\n")
        try sb.cairnOK(["snapshot", "-m", "operator note"], cwd: v, env: ["CAIRN_NOW": "2026-03-02T11:00:00Z"])
        try agentLine(sb, v, "three", at: "2026-03-02T12:00:00Z", approveAt: "2026-03-02T12:05:00Z")
        try agentLine(sb, v, "four", at: "2026-03-03T10:00:00Z", approveAt: "2026-03-03T10:05:00Z")
        try agentLine(sb, v, "five", at: "2026-04-10T10:00:00Z", approveAt: "2026-04-10T10:05:00Z")
        let policyPath = v + "/policy.json"
        var policy = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: policyPath))) as? [String: Any])
        var retention = policy["retention"] as? [String: Any] ?? [:]
        retention["squash_agent_commits_days"] = 30
        policy["retention"] = retention
        try JSONSerialization.data(withJSONObject: policy, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: policyPath))
        try sb.cairnOK(["snapshot", "-m", "squash old agent commits"], cwd: v, env: ["CAIRN_NOW": "2026-04-10T11:00:00Z"])
        let pending = try sb.runAgent(v, "note", inputs: ["line=six"], env: ["CAIRN_NOW": "2026-04-10T12:00:00Z"])
        try #require(pending.outcome == "proposed", "\(pending)")
        let pendingDiff = try sb.gitOK(["diff", "main", pending.ref], cwd: v)

        let tree = try sb.gitOK(["rev-parse", "main^{tree}"], cwd: v)
        let operatorSubjects = try sb.gitLines(["log", "--first-parent", "--format=%s|%an|%ad|%(trailers:key=Cairn-Operation,valueonly)",
                                                "--grep=Cairn-Operation: snapshot", "main"], cwd: v)
        let oldMerges = try sb.gitLines(["rev-list", "--merges", "--before=2026-03-12", "main"], cwd: v)
        #expect(oldMerges.count == 4)
        let commitsBefore = Int(try sb.gitOK(["rev-list", "--count", "main"], cwd: v))!

        let plan = try sb.cairnOK(["prune", "--dry-run", "--json"], cwd: v, env: ["CAIRN_NOW": "2026-04-11T09:00:00Z"])
        let planJSON = try #require(try JSONSerialization.jsonObject(with: plan.stdoutData) as? [String: Any])
        #expect(planJSON["commits_squashed"] as? Int == 4, "\(plan)")
        #expect(planJSON["day_commits"] as? Int == 3, "\(plan)")
        #expect(planJSON["proposals_rebased"] as? [String] == [pending.id], "\(plan)")
        #expect(try sb.gitLines(["rev-list", "--merges", "main"], cwd: v).count == 5, "a dry run changes nothing")

        try sb.cairnOK(["prune"], cwd: v, env: ["CAIRN_NOW": "2026-04-11T09:00:00Z"])
        sb.expectFsckClean(v)
        #expect(try sb.gitOK(["rev-parse", "main^{tree}"], cwd: v) == tree, "main's files are unchanged")
        // Day 1 before the operator's note, day 1 after it, day 2: three commits; the recent approval stays a merge.
        let squashes = try sb.gitLines(["log", "--first-parent", "--format=%s", "--grep=Cairn-Operation: squash", "main"], cwd: v)
        #expect(squashes == ["Agent and tick commits of 2026-03-03, squashed (1)", "Agent and tick commits of 2026-03-02, squashed (1)",
                             "Agent and tick commits of 2026-03-02, squashed (2)"], "\(squashes)")
        #expect(try sb.gitLines(["rev-list", "--merges", "main"], cwd: v).count == 1)
        // The operator's commits keep subject, author and date, in order.
        #expect(try sb.gitLines(["log", "--first-parent", "--format=%s|%an|%ad|%(trailers:key=Cairn-Operation,valueonly)",
                                 "--grep=Cairn-Operation: snapshot", "main"], cwd: v) == operatorSubjects)
        // 4 merges and their 4 agent commits became 3 commits.
        #expect(Int(try sb.gitOK(["rev-list", "--count", "main"], cwd: v)) == commitsBefore - 5)
        for old in oldMerges { #expect(sb.git(["cat-file", "-e", old], cwd: v).status != 0, "\(old) is gone from the object store") }

        // The pending proposal moved onto the new main with the same change.
        #expect(sb.git(["merge-base", "--is-ancestor", "main", pending.ref], cwd: v).status == 0)
        #expect(try sb.gitOK(["diff", "main", pending.ref], cwd: v) == pendingDiff)
        // Audit attributes every commit; why finds the recent agent commit through the approval's (old) proposal id.
        let audit = sb.runCairn(["audit", "--json"], cwd: v)
        #expect(audit.status == 0, "\(audit)")
        let entries = try #require((try JSONSerialization.jsonObject(with: audit.stdoutData) as? [String: Any])?["entries"] as? [[String: Any]])
        #expect(!entries.contains { $0["verdict"] as? String == "unattributed" }, "\(audit)")
        #expect(entries.contains { $0["verdict"] as? String == "approved-agent" })
        let lines = try #require(sb.readText(v + "/" + Self.note)).split(separator: "\n", omittingEmptySubsequences: false)
        let five = try #require(lines.firstIndex { $0 == "- five" }) + 1
        let why = try sb.cairnOK(["why", "\(Self.note):\(five)", "--json"], cwd: v)
        let whyJSON = try #require(try JSONSerialization.jsonObject(with: why.stdoutData) as? [String: Any])
        #expect(whyJSON["commit"] as? String == (try sb.gitOK(["rev-parse", "main^^2"], cwd: v)), "\(why)")
        let one = try #require(lines.firstIndex { $0 == "- one" }) + 1
        let whyOld = try sb.cairnOK(["why", "\(Self.note):\(one)"], cwd: v)
        #expect(whyOld.stdout.contains("squashed (2)"), "\(whyOld)")
    }
}
