import Foundation
import Testing

/// `cairn audit` proves every commit on main is attributable and flags what is not.
@Suite struct AuditTests {
    @Test func cairnsOwnHistoryIsClean() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        #expect(sb.runCairn(["agent", "run", "gc"], cwd: v).status == 0)
        #expect(sb.runCairn(["approve", "gc"], cwd: v).status == 0)
        try Data("more\n".utf8).write(to: URL(fileURLWithPath: v + "/inbox/more.md"))
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        let r = sb.runCairn(["audit", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let json = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
        let entries = try #require(json["entries"] as? [[String: Any]])
        #expect(entries.count == 4)
        #expect(Set(entries.compactMap { $0["verdict"] as? String }) == ["operator", "approved-agent"])
    }

    @Test func aCommitForgedWithGitIsFlagged() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try Data("slipped in\n".utf8).write(to: URL(fileURLWithPath: v + "/inbox/forged.md"))
        try sb.commitAll(v, "sneaky change")
        let forged = try sb.gitOK(["rev-parse", "HEAD"], cwd: v)
        let r = sb.runCairn(["audit"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.contains(String(forged.prefix(10))) && r.stdout.contains("unattributed"), "\(r)")
        #expect(r.stdout.contains("1 of 2 commits"), "\(r)")
    }

    @Test func anAgentCommitMergedWithoutApprovalIsFlagged() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        #expect(sb.runCairn(["agent", "run", "gc"], cwd: v).status == 0)
        let branch = try sb.gitOK(["for-each-ref", "--format=%(refname:short)", "refs/heads/proposals/"], cwd: v)
        // Bypass review: fast-forward main to the agent's commit with plain git.
        try sb.gitOK(["merge", "--ff-only", "-q", branch], cwd: v)
        let r = sb.runCairn(["audit"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.contains("without an approval record"), "\(r)")
    }
}
