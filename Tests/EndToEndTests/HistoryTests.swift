import Foundation
import Testing

/// `cairn log`, `show`, `diff` and `status`: reading history and uncommitted edits, as text and JSON.
@Suite struct HistoryTests {
    /// A vault with three snapshots on top of the init commit; returns its path.
    private func vaultWithHistory(_ sb: Sandbox) throws -> String {
        let v = try sb.makeVault()
        try sb.write(v + "/memory/working/a.md", "# A\n\nfirst line\n")
        try #require(sb.runCairn(["snapshot"], cwd: v).status == 0)
        try sb.write(v + "/memory/core/business.md", "# Business\n\nWe roast coffee.\n")
        try #require(sb.runCairn(["snapshot", "-m", "Describe the business"], cwd: v).status == 0)
        try sb.write(v + "/memory/working/a.md", "# A\n\nfirst line\nsecond line\n")
        try #require(sb.runCairn(["snapshot"], cwd: v).status == 0)
        return v
    }

    @Test func logTextShowsSummariesAndTheOperator() throws {
        let sb = try Sandbox()
        let v = try vaultWithHistory(sb)
        let r = sb.runCairn(["log"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let head = try sb.gitOK(["rev-parse", "--short=10", "HEAD"], cwd: v)
        #expect(r.stdout.hasPrefix("\(head)  Edit memory/working/a.md\n"), "\(r)")
        for subject in ["Edit memory/working/a.md", "Describe the business", "Add memory/working/a.md", "Create Cairn vault"] {
            #expect(r.stdout.contains(subject), "\(subject) missing: \(r)")
        }
        #expect(r.stdout.components(separatedBy: "Ada Operator (operator)").count - 1 == 4, "\(r)")
    }

    @Test func logJSONListsEveryCommitNewestFirst() throws {
        let sb = try Sandbox()
        let v = try vaultWithHistory(sb)
        let r = sb.runCairn(["log", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let entries = try jsonArray(r.stdoutData)
        #expect(entries.map { $0["commit"] as? String } == (try sb.gitLines(["rev-list", "HEAD"], cwd: v)))
        #expect(entries.map { $0["summary"] as? String } == (try sb.gitLines(["log", "--format=%s"], cwd: v)))
        #expect(entries.allSatisfy { $0["actorKind"] as? String == "operator" && $0["authorEmail"] as? String == "ada@example.com" })
        let trailers = entries.first?["trailers"] as? [String: Any]
        #expect(trailers?["Cairn-Operation"] as? String == "snapshot")
        #expect(entries.first?["date"] as? String == "2026-03-01T09:00:00Z")
    }

    @Test func logOfAPathListsOnlyCommitsThatTouchedIt() throws {
        let sb = try Sandbox()
        let v = try vaultWithHistory(sb)
        let expected = try sb.gitLines(["rev-list", "HEAD", "--", "memory/working/a.md"], cwd: v)
        #expect(expected.count == 2)
        let r = sb.runCairn(["log", "--json", "memory/working/a.md"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try jsonArray(r.stdoutData).map { $0["commit"] as? String } == expected)
        // A path relative to the current folder means the same file.
        let sub = sb.runCairn(["log", "--json", "a.md"], cwd: v + "/memory/working")
        #expect(try jsonArray(sub.stdoutData).map { $0["commit"] as? String } == expected, "\(sub)")
        let core = sb.runCairn(["log", "--json", "memory/core"], cwd: v)
        #expect(try jsonArray(core.stdoutData).map { $0["summary"] as? String } == ["Describe the business", "Create Cairn vault"])
    }

    @Test func logNLimitsTheCount() throws {
        let sb = try Sandbox()
        let v = try vaultWithHistory(sb)
        let r = sb.runCairn(["log", "-n", "1", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try jsonArray(r.stdoutData).map { $0["commit"] as? String } == [try sb.gitOK(["rev-parse", "HEAD"], cwd: v)])
        let text = sb.runCairn(["log", "-n", "1"], cwd: v)
        #expect(!text.stdout.contains("Describe the business"), "\(text)")
    }

    @Test func showHEADIncludesThePatchAndTrailer() throws {
        let sb = try Sandbox()
        let v = try vaultWithHistory(sb)
        let r = sb.runCairn(["show", "HEAD"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.hasPrefix("commit \(try sb.gitOK(["rev-parse", "HEAD"], cwd: v))\n"), "\(r)")
        #expect(r.stdout.contains("By:     Ada Operator (operator) <ada@example.com>"), "\(r)")
        #expect(r.stdout.contains("Cairn-Operation: snapshot"), "\(r)")
        #expect(r.stdout.contains("diff --git a/memory/working/a.md b/memory/working/a.md"), "\(r)")
        #expect(r.stdout.contains("\n+second line\n"), "\(r)")
        let older = sb.runCairn(["show", "HEAD~1", "--json"], cwd: v)
        let entry = try #require(try jsonObject(older.stdoutData)["entry"] as? [String: Any])
        #expect(entry["summary"] as? String == "Describe the business")
    }

    @Test func showUnknownRevisionIsAClearError() throws {
        let sb = try Sandbox()
        let v = try vaultWithHistory(sb)
        let r = sb.runCairn(["show", "nonexistent"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("unknown revision 'nonexistent'"), "\(r)")
        #expect(r.stdout.isEmpty, "\(r)")
    }

    @Test func diffShowsUncommittedEditsAsAPatchAndWritesNothing() throws {
        let sb = try Sandbox()
        let v = try vaultWithHistory(sb)
        let clean = sb.runCairn(["diff"], cwd: v)
        #expect(clean.status == 0 && clean.stdout == "No differences.\n", "\(clean)")
        try sb.write(v + "/memory/core/business.md", "# Business\n\nWe roast coffee.\nAnd sell beans online.\n")
        let before = sb.state(of: v)
        let r = sb.runCairn(["diff"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("diff --git a/memory/core/business.md b/memory/core/business.md"), "\(r)")
        #expect(r.stdout.contains("\n+And sell beans online.\n"), "\(r)")
        #expect(r.stdout.contains("1 file changed, 1 insertions(+), 0 deletions(-)"), "\(r)")
        sb.expectUnchanged(v, since: before)
    }

    @Test func diffJSONIsValidAndListsTheChange() throws {
        let sb = try Sandbox()
        let v = try vaultWithHistory(sb)
        try sb.write(v + "/memory/core/business.md", "# Business\n\nWe roast tea now.\n")
        let r = sb.runCairn(["diff", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let diff = try jsonObject(r.stdoutData)
        #expect(diff["base"] as? String == (try sb.gitOK(["rev-parse", "HEAD"], cwd: v)))
        let changes = try #require(diff["changes"] as? [[String: Any]])
        #expect(changes.count == 1)
        #expect(changes.first?["path"] as? String == "memory/core/business.md")
        #expect(changes.first?["kind"] as? String == "modified")
        #expect((diff["patch"] as? String)?.contains("+We roast tea now.") == true)
    }

    @Test func noColorMeansNoEscapeCodesInAnyOutput() throws {
        let sb = try Sandbox()
        let v = try vaultWithHistory(sb)
        try sb.write(v + "/memory/core/business.md", "# Business\n\nchanged\n")
        // CAIRN_COLOR=always forces color off a terminal, so escape codes would show here if NO_COLOR were ignored.
        let commands = [["status"], ["log"], ["show", "HEAD"], ["diff"], ["diff", "--stat"], ["doctor"], ["snapshot"], ["show"]]
        for command in commands {
            let r = sb.runCairn(command, cwd: v, env: ["NO_COLOR": "1", "CAIRN_COLOR": "always"])
            #expect(r.status == 0, "\(command): \(r)")
            #expect(!r.stdoutData.contains(0x1B) && !r.stderrData.contains(0x1B), "\(command) printed escape codes")
        }
        // The check can fail: without NO_COLOR, forced color does produce escape codes.
        let colored = sb.runCairn(["log"], cwd: v, env: ["NO_COLOR": nil, "CAIRN_COLOR": "always"])
        #expect(colored.stdoutData.contains(0x1B), "\(colored)")
    }

    @Test func statusJSONListsChangesWithTheirKinds() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/core/business.md", "# Business\n\nchanged\n")
        try FileManager.default.removeItem(atPath: v + "/memory/working/this-week.md")
        try sb.write(v + "/memory/working/new.md", "# New\n")
        let mv = sb.run("/bin/mv", ["memory/projects/bluebird-coffee.md", "memory/knowledge/bluebird-coffee.md"], cwd: v, env: sb.environment())
        try #require(mv.status == 0, "\(mv)")
        let before = sb.state(of: v)
        let r = sb.runCairn(["status", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let status = try jsonObject(r.stdoutData)
        #expect(status["branch"] as? String == "main")
        #expect(status["root"] as? String == v)
        let changes = try #require(status["changes"] as? [[String: Any]])
        var kinds: [String: String] = [:]
        for c in changes { kinds[c["path"] as? String ?? "?"] = c["kind"] as? String }
        #expect(kinds == [
            "memory/core/business.md": "modified",
            "memory/working/this-week.md": "deleted",
            "memory/working/new.md": "added",
            "memory/knowledge/bluebird-coffee.md": "renamed",
        ])
        let rename = changes.first { $0["kind"] as? String == "renamed" }
        #expect(rename?["oldPath"] as? String == "memory/projects/bluebird-coffee.md")
        let text = sb.runCairn(["status"], cwd: v)
        #expect(text.stdout.contains("4 uncommitted edits"), "\(text)")
        #expect(text.stdout.contains("renamed  memory/projects/bluebird-coffee.md -> memory/knowledge/bluebird-coffee.md"), "\(text)")
        sb.expectUnchanged(v, since: before)
    }
}
