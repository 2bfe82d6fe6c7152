import Foundation
import Testing

/// `cairn agent list` and `cairn agent run` with the built-in agents: one run is one commit on its own branch,
/// main and the working tree are untouched, and the run record pins what the agent was shown.
@Suite struct AgentRunTests {
    @Test func agentListShowsTheTemplateAgents() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let r = sb.runCairn(["agent", "list"], cwd: v)
        #expect(r.status == 0, "\(r)")
        for (name, kind) in [("digest", "builtin"), ("gc", "builtin"), ("qualify", "model"), ("triage", "model"),
                             ("lead-intake", "command"), ("call-brief", "command")] {
            #expect(r.stdout.contains("\(name)  \(kind)"), "\(name) not listed as \(kind): \(r)")
        }
        #expect(!r.stdout.contains("README"), "agents/README.md is not an agent: \(r)")
        #expect(!r.output.contains("invalid"), "\(r)")

        let j = sb.runCairn(["agent", "list", "--json"], cwd: v)
        #expect(j.status == 0, "\(j)")
        let listing = try jsonObject(j.stdoutData)
        let agents = try #require(listing["agents"] as? [[String: Any]])
        #expect(agents.compactMap { $0["name"] as? String } == ["call-brief", "call-context", "call-summary", "digest", "follow-up", "gc",
                                                              "lead-intake", "lead-score", "qualify", "triage"])
        let gc = try #require(agents.first { $0["name"] as? String == "gc" })
        #expect(gc["kind"] as? String == "builtin")
        #expect(gc["path"] as? String == "agents/gc.md")
        #expect(gc["autonomy"] as? String == "advisory")
        #expect(gc["reads"] as? [String] == ["memory/**"])
        #expect(gc["writes"] as? [String] == ["memory/working/**", "memory/projects/**", "memory/knowledge/**"])
        #expect(gc["timeoutSeconds"] as? Double == 60)
        let digest = try #require(agents.first { $0["name"] as? String == "digest" })
        #expect(digest["autonomy"] as? String == "auto")
        #expect(digest["trust"] as? String == "earning")
        #expect((listing["problems"] as? [Any])?.isEmpty == true, "\(listing)")
    }

    /// A broken definition, the line to look at, and the words the message must contain.
    struct BadAgent: Sendable, CustomStringConvertible {
        let label: String
        let text: String
        let line: Int
        let words: [String]
        var description: String { label }
    }

    static let badAgents: [BadAgent] = [
        BadAgent(label: "unknown kind", text: "---\ndescription: x\nkind: robot\n---\nBody.\n", line: 3, words: ["robot", "command, model, builtin"]),
        BadAgent(label: "command agent without command", text: "---\nkind: command\nreads: [\"inbox/**\"]\ncommand: []\n---\n", line: 4, words: ["command:"]),
        BadAgent(label: "YAML that does not parse", text: "---\nkind: command\ncommand: [\"sh\", \"x.sh\"\nwrites: [a\n---\nBody.\n", line: 4, words: []),
        BadAgent(label: "unknown autonomy", text: "---\nkind: builtin\nbuiltin: gc\nautonomy: yolo\n---\n", line: 4, words: ["yolo", "advisory or auto"]),
        BadAgent(label: "bad timeout", text: "---\nkind: builtin\nbuiltin: gc\ntimeout: soon\n---\n", line: 4, words: ["soon"]),
        BadAgent(label: "writes glob leaving the vault", text: "---\nkind: builtin\nbuiltin: gc\nwrites: [\"../elsewhere/**\"]\n---\n", line: 4, words: ["../elsewhere/**"]),
    ]

    @Test(arguments: badAgents)
    func anInvalidAgentFileIsReportedWithFileAndLine(_ bad: BadAgent) throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/agents/broken.md", bad.text)
        let r = sb.runCairn(["agent", "list"], cwd: v)
        #expect(r.status == 1, "\(r)")
        let problem = r.output.components(separatedBy: "\n").first { $0.contains("agents/broken.md") } ?? ""
        #expect(problem.contains("agents/broken.md:\(bad.line):"), "expected agents/broken.md:\(bad.line): in \(r)")
        for w in bad.words { #expect(problem.contains(w), "'\(w)' missing from: \(problem)") }
        #expect(r.stdout.contains("gc  builtin"), "the valid agents are still listed: \(r)")

        let j = sb.runCairn(["agent", "list", "--json"], cwd: v)
        let problems = try #require(try jsonObject(j.stdoutData)["problems"] as? [[String: Any]])
        #expect(problems.count == 1)
        #expect(problems.first?["path"] as? String == "agents/broken.md")
        #expect(problems.first?["line"] as? Int == bad.line)

        // Running it names the same problem and writes nothing (the broken file is not even snapshotted).
        let before = sb.state(of: v)
        let run = sb.runCairn(["agent", "run", "broken"], cwd: v)
        #expect(run.status == 1, "\(run)")
        #expect(run.stderr.contains("agents/broken.md:\(bad.line)"), "\(run)")
        sb.expectUnchanged(v, since: before)
    }

    @Test
    func agentListJSONExitsNonZeroWhenAnAgentIsInvalid() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/agents/broken.md", "---\nkind: robot\n---\n")
        let j = sb.runCairn(["agent", "list", "--json"], cwd: v)
        #expect(j.status == 1, "\(j)")
        #expect((try jsonObject(j.stdoutData)["problems"] as? [Any])?.count == 1)
    }

    @Test
    func runningAnInvalidAgentDoesNotSuggestAFlagItLacks() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/agents/broken.md", "---\nkind: robot\n---\n")
        let r = sb.runCairn(["agent", "run", "broken"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("agents/broken.md:2"), "\(r)")
        #expect(!r.stderr.contains("--force"), "\(r)")
        #expect(!r.stderr.contains("nothing was committed"), "\(r)")
    }

    @Test func runningAnUnknownAgentFailsAndWritesNothing() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let before = sb.state(of: v)
        let r = sb.runCairn(["agent", "run", "nosuch"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("unknown agent 'nosuch'"), "\(r)")
        #expect(r.stderr.contains("gc"), "the known agents are named: \(r)")
        sb.expectUnchanged(v, since: before)
    }

    @Test func gcProposesOneCommitOnItsOwnBranch() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let main = try sb.gitOK(["rev-parse", "main"], cwd: v)
        let filesBefore = workingFiles(v)
        // The template note expires on 2026-01-19; the sandbox clock says 2026-03-01.
        let run = try sb.runAgent(v, "gc")
        #expect(run.result.status == 0, "\(run)")
        #expect(run.outcome == "proposed", "\(run)")
        let id = run.id
        #expect(id.hasPrefix("20260301-090000-gc-"), "run id: \(id)")
        #expect(run.ref == "refs/heads/proposals/\(id)")

        // Exactly one commit, on its own branch, whose parent is main.
        #expect(try sb.refs(v, under: "refs/heads/proposals") == ["refs/heads/proposals/\(id)"])
        #expect(try sb.gitOK(["rev-list", "--count", "main..proposals/\(id)"], cwd: v) == "1")
        #expect(try sb.gitOK(["rev-parse", "proposals/\(id)^"], cwd: v) == main)
        #expect(try sb.gitOK(["rev-parse", "proposals/\(id)"], cwd: v) == run.commit)
        #expect(try sb.gitOK(["log", "-1", "--format=%an <%ae>", "proposals/\(id)"], cwd: v) == "gc (cairn agent) <gc@agents.cairn.invalid>")
        #expect(try sb.gitOK(["log", "-1", "--format=%cn <%ce>", "proposals/\(id)"], cwd: v) == "\(Sandbox.operatorName) <\(Sandbox.operatorEmail)>")

        // Trailers explain the commit.
        let trailers = try sb.gitOK(["log", "-1", "--format=%(trailers)", "proposals/\(id)"], cwd: v)
        #expect(trailers.contains("Cairn-Run: \(id)"), "\(trailers)")
        #expect(trailers.contains("Cairn-Agent: gc"), "\(trailers)")
        #expect(trailers.contains("Cairn-Base: \(main)"), "\(trailers)")
        #expect(trailers.contains("Cairn-Outcome: proposed"), "\(trailers)")
        #expect(try sb.gitOK(["log", "-1", "--format=%s", "proposals/\(id)"], cwd: v) == "Propose: archive 1 expired working note")

        // The diff: the expired note moves to the archive, unchanged, plus the run record.
        let recordPath = "runs/2026/03/\(id).json"
        #expect(run.recordPath == recordPath)
        let diff = try sb.gitLines(["diff", "--name-status", "--no-renames", "main", "proposals/\(id)"], cwd: v)
        #expect(diff.sorted() == ["A\tmemory/knowledge/archive/2026/this-week.md", "A\t\(recordPath)", "D\tmemory/working/this-week.md"])
        #expect(try sb.gitOK(["rev-parse", "proposals/\(id):memory/knowledge/archive/2026/this-week.md"], cwd: v)
                == (try sb.gitOK(["rev-parse", "main:memory/working/this-week.md"], cwd: v)))

        // The run record parses, and every retrieval item names a blob that exists and is what main had at that path.
        let record = try sb.runRecord(v, rev: "proposals/\(id)", id: id)
        #expect(record["run"] as? String == id)
        #expect(record["agent"] as? String == "gc")
        #expect(record["base"] as? String == main)
        #expect(record["outcome"] as? String == "proposed")
        #expect(record["ref"] as? String == "refs/heads/proposals/\(id)")
        let retrieval = try #require(record["retrieval"] as? [[String: Any]])
        let paths = retrieval.compactMap { $0["path"] as? String }
        #expect(paths.contains("memory/working/this-week.md"), "\(paths)")
        #expect(paths.contains("memory/core/business.md"), "core memory is always shown: \(paths)")
        for item in retrieval {
            let path = try #require(item["path"] as? String), blob = try #require(item["blob"] as? String)
            #expect(sb.git(["cat-file", "-e", blob], cwd: v).status == 0, "blob \(blob) of \(path) is missing")
            #expect(try sb.gitOK(["rev-parse", "main:\(path)"], cwd: v) == blob, "\(path) pinned to the wrong blob")
        }
        let edits = try #require(record["edits"] as? [[String: Any]])
        #expect(Set(edits.compactMap { $0["path"] as? String }) == ["memory/working/this-week.md", "memory/knowledge/archive/2026/this-week.md"])

        // main and the working tree are untouched; git is happy.
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: v) == main)
        #expect(try sb.gitOK(["status", "--porcelain"], cwd: v) == "")
        expectSameFiles(workingFiles(v), filesBefore, "working tree after the run", "before")
        #expect(sb.exists(v + "/memory/working/this-week.md"))
        #expect(!sb.exists(v + "/memory/knowledge/archive/2026/this-week.md"))
        sb.expectFsckClean(v)
    }

    @Test func gcBeforeAnyNoteExpiresRecordsARunWithoutAProposal() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let main = try sb.gitOK(["rev-parse", "main"], cwd: v)
        let run = try sb.runAgent(v, "gc", env: ["CAIRN_NOW": "2026-01-10T09:00:00Z"])
        #expect(run.result.status == 0, "\(run)")
        #expect(run.outcome == "no-changes", "\(run)")
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
        #expect(try sb.refs(v, under: "refs/cairn/runs") == ["refs/cairn/runs/\(run.id)"])
        // The record-only commit adds nothing but its record.
        #expect(try sb.gitLines(["diff", "--name-only", "main", "refs/cairn/runs/\(run.id)"], cwd: v) == ["runs/2026/01/\(run.id).json"])
        #expect(try sb.trailer(v, "refs/cairn/runs/\(run.id)", "Cairn-Outcome") == "no-changes")
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: v) == main)
        #expect(try sb.gitOK(["status", "--porcelain"], cwd: v) == "")
        sb.expectFsckClean(v)
    }

    @Test func operatorEditsAreSnapshottedBeforeTheRunAndBecomeItsBase() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let initial = try sb.gitOK(["rev-parse", "main"], cwd: v)
        try sb.write(v + "/memory/working/scratch.md", "---\nexpires: 2026-02-01\n---\nOld scratch.\n")
        let run = try sb.runAgent(v, "gc")
        #expect(run.outcome == "proposed", "\(run)")
        let main = try sb.gitOK(["rev-parse", "main"], cwd: v)
        #expect(main != initial, "the operator's new note was snapshotted")
        #expect(try sb.gitOK(["rev-parse", "main^"], cwd: v) == initial)
        #expect(try sb.trailer(v, "main", "Cairn-Operation") == "snapshot")
        #expect(try sb.trailer(v, "proposals/\(run.id)", "Cairn-Base") == main)
        // …so the agent saw the new note and proposes archiving it too.
        let diff = try sb.changedFiles(v, "proposals/\(run.id)")
        #expect(diff.contains("D\tmemory/working/scratch.md"), "\(diff)")
        #expect(try sb.gitOK(["status", "--porcelain"], cwd: v) == "")
        #expect(sb.readText(v + "/memory/working/scratch.md") == "---\nexpires: 2026-02-01\n---\nOld scratch.\n")
    }
}
