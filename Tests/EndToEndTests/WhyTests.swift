import Foundation
import Testing

/// `cairn why PATH:LINE`: blame → commit → run record → approval, for agent lines and operator lines.
@Suite struct WhyTests {
    static let bluebird = "memory/projects/bluebird-coffee.md"

    /// The 1-based number of the first line of `path` in the working tree equal to `text`.
    func lineNumber(_ sb: Sandbox, _ path: String, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
        let lines = (sb.readText(path) ?? "").components(separatedBy: "\n")
        let i = try #require(lines.firstIndex(of: text), "no line '\(text)' in \(path)", sourceLocation: sourceLocation)
        return i + 1
    }

    @Test func whyNamesTheAgentRunInputsAndApprovalOfAnApprovedLine() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        let run = try sb.runAgent(v, "note", inputs: ["line=Acme asked for a call", "lead=acme"])
        #expect(run.outcome == "proposed", "\(run)")
        let approved = sb.runCairn(["approve", run.id, "--note", "checked with Dana"], cwd: v)
        #expect(approved.status == 0, "\(approved)")
        let n = try lineNumber(sb, v + "/" + Self.bluebird, "- Acme asked for a call")

        let r = sb.runCairn(["why", "\(Self.bluebird):\(n)"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("\(Self.bluebird):\(n): - Acme asked for a call"), "\(r)")
        #expect(r.stdout.contains("agent note"), "\(r)")
        #expect(r.stdout.contains("Run     \(run.id)"), "\(r)")
        #expect(r.stdout.contains("Input   lead=acme line=Acme asked for a call"), "\(r)")
        #expect(r.stdout.contains("\(Self.bluebird) @ "), "the retrieval chain is shown: \(r)")
        #expect(r.stdout.contains("Decided approved by \(Sandbox.operatorName)"), "\(r)")
        #expect(r.stdout.contains("checked with Dana"), "\(r)")

        let j = try jsonObject(sb.runCairn(["why", "\(Self.bluebird):\(n)", "--json"], cwd: v).stdoutData)
        #expect(j["run"] as? String == run.id)
        #expect(j["agent"] as? String == "note")
        #expect(j["actorKind"] as? String == "agent")
        #expect(j["commit"] as? String == (try sb.gitOK(["rev-parse", "refs/cairn/archive/\(run.id)"], cwd: v)), "the agent's commit")
        #expect(j["input"] as? [String: String] == ["line": "Acme asked for a call", "lead": "acme"])
        #expect((j["approval"] as? [String: Any])?["decision"] as? String == "approved")
        // The retrieval chain pins the exact blob the agent read: the note as it was on the base.
        let base = try sb.gitOK(["rev-parse", "refs/cairn/archive/\(run.id)^"], cwd: v)
        let items = try #require(j["retrieval"] as? [[String: Any]])
        let shown = try #require(items.first { $0["path"] as? String == Self.bluebird })
        #expect(shown["blob"] as? String == (try sb.gitOK(["rev-parse", "\(base):\(Self.bluebird)"], cwd: v)))

        // A path given relative to the current folder works too.
        let sub = sb.runCairn(["why", "bluebird-coffee.md:\(n)"], cwd: v + "/memory/projects")
        #expect(sub.status == 0 && sub.stdout.contains("Run     \(run.id)"), "\(sub)")
    }

    @Test func whyOfAnOperatorLineSaysOperator() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        // An approved agent line exists in the same file, so blame has to tell the lines apart.
        let run = try sb.runAgent(v, "note", inputs: ["line=agent line"])
        #expect(sb.runCairn(["approve", run.id], cwd: v).status == 0)
        try sb.write(v + "/" + Self.bluebird, (sb.readText(v + "/" + Self.bluebird) ?? "") + "- operator line\n")
        try sb.snapshot(v, "my own note")
        let n = try lineNumber(sb, v + "/" + Self.bluebird, "- operator line")
        let r = sb.runCairn(["why", "\(Self.bluebird):\(n)"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("(operator)"), "\(r)")
        #expect(r.stdout.contains(Sandbox.operatorName), "\(r)")
        #expect(!r.stdout.contains("Run "), "an operator line has no run: \(r)")
        #expect(!r.stdout.contains("agent note"), "\(r)")
        let j = try jsonObject(sb.runCairn(["why", "\(Self.bluebird):\(n)", "--json"], cwd: v).stdoutData)
        #expect(j["actorKind"] as? String == "operator")
        #expect(j["run"] == nil || j["run"] is NSNull)

        // A template line (from `cairn init`) is the operator's too.
        let first = sb.runCairn(["why", "memory/core/business.md:1"], cwd: v)
        #expect(first.status == 0 && first.stdout.contains("(operator)"), "\(first)")
    }

    @Test func whyOfALineThatDoesNotExistFailsClearly() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let r = sb.runCairn(["why", "memory/core/business.md:9999"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("line 9999 does not exist"), "\(r)")
        let missing = sb.runCairn(["why", "memory/nope.md:1"], cwd: v)
        #expect(missing.status == 1, "\(missing)")
        #expect(missing.stderr.contains("memory/nope.md"), "\(missing)")
    }
}
