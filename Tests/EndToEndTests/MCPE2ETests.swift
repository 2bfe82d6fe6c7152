import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `cairn mcp` driven by a real MCP client — the official Python SDK (`Tests/Support/mcp_client.py`) — over stdio:
/// reads see the working tree, every write is a proposal of `mcp:<client>` reviewed with the CLI, a write based on
/// an old version is a stale proposal, and hostile input is refused with a clear error while nothing is written
/// (judged with the git CLI).
@Suite struct MCPE2ETests {
    static let client = Binaries.packageRoot + "/Tests/Support/mcp_client.py"
    static let bluebird = "memory/projects/bluebird-coffee.md"

    /// Runs one client session with `steps`; returns one result per step.
    func session(_ sb: Sandbox, _ vault: String, _ steps: [[String: Any]], client: String = "pytest-client",
                 sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        let input = try JSONSerialization.data(withJSONObject: steps)
        let r = sb.run("/usr/bin/env", ["python3", Self.client, "session", "--cairn", Binaries.cairn ?? "cairn", "--vault", vault,
                                        "--client-name", client], cwd: sb.work, stdin: input, env: sb.environment(), timeout: 120)
        try #require(r.status == 0, "mcp client failed: \(r)", sourceLocation: sourceLocation)
        let results = try jsonArray(r.stdoutData, sourceLocation: sourceLocation)
        try #require(results.count == steps.count, "\(r)", sourceLocation: sourceLocation)
        return results
    }

    func call(_ tool: String, _ args: [String: Any]) -> [String: Any] { ["op": "call", "tool": tool, "args": args] }

    func blob(_ sb: Sandbox, _ vault: String, _ path: String) throws -> String { try sb.gitOK(["hash-object", path], cwd: vault) }

    @Test func clientSearchesReadsProposesAndTheOperatorApprovesWithTheCLI() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let before = try blob(sb, v, Self.bluebird)
        let r = try session(sb, v, [
            ["op": "init"],
            ["op": "tools"],
            call("search_memory", ["query": "refunds reason", "tier": "projects"]),
            call("read_note", ["path": Self.bluebird, "start_line": 11, "end_line": 13]),
            call("propose_edit", ["summary": "Record the Dana call", "rationale": "She confirmed the refund breakdown.",
                                  "edits": [["path": Self.bluebird, "action": "append", "expected_blob": before,
                                             "content": "- 2026-03-01: Dana confirmed refunds by reason are enough.\n"],
                                            ["path": "memory/working/dana-call.md", "action": "create",
                                             "content": "# Dana call\n\nRefunds by reason: confirmed.\n"]]]),
            call("list_proposals", [:]),
            ["op": "resources"],
            ["op": "resource", "uri": "cairn://core"],
        ])
        #expect(r[0]["server"] as? String == "cairn", "\(r[0])")

        // Tools: names, and hints a client can trust.
        let tools = try #require(r[1]["tools"] as? [[String: Any]])
        let byName = Dictionary(uniqueKeysWithValues: tools.compactMap { t in (t["name"] as? String).map { ($0, t) } })
        #expect(Set(byName.keys) == ["search_memory", "read_note", "list_notes", "recent_changes", "propose_edit", "list_proposals",
                                     "explain_line", "run_agent", "start_workflow"])
        for name in ["search_memory", "read_note", "list_notes", "recent_changes", "list_proposals", "explain_line"] {
            #expect(byName[name]?["read_only"] as? Bool == true, "\(name) is read-only")
        }
        for name in ["propose_edit", "run_agent", "start_workflow"] {
            #expect(byName[name]?["read_only"] as? Bool == false, "\(name) writes")
            #expect(byName[name]?["destructive"] as? Bool == false, "\(name) only proposes: nothing is overwritten without review")
        }
        #expect(byName["propose_edit"]?["required"] as? [String] == ["summary", "edits"])

        // Search: passages with path and lines.
        let hits = try #require((r[2]["structured"] as? [String: Any])?["results"] as? [[String: Any]], "\(r[2])")
        let hit = try #require(hits.first { $0["path"] as? String == Self.bluebird }, "\(hits)")
        let lines = try #require(hit["lines"] as? String)
        #expect((hit["text"] as? String)?.contains("refunds") == true || (hit["text"] as? String)?.contains("Refunds") == true, "\(hit)")
        #expect(hit["blob"] as? String == before)
        let range = lines.split(separator: "-").compactMap { Int($0) }
        #expect(range.count == 2 && range[0] <= range[1] && range[0] > 10, "a body passage, not the front matter: \(lines)")

        // Read: a line range with the blob id of the whole file (git's own hash of it).
        let read = try #require(r[3]["structured"] as? [String: Any], "\(r[3])")
        #expect(read["blob"] as? String == before)
        #expect(read["lines"] as? String == "11-13")
        #expect((read["content"] as? String)?.hasPrefix("# Bluebird Coffee — analytics rebuild\n") == true, "\(read)")
        #expect(read["committed"] as? Bool == true)

        // Propose: one proposal of mcp:pytest-client, pending review; main untouched.
        let proposed = try #require(r[4]["structured"] as? [String: Any], "\(r[4])")
        #expect(r[4]["is_error"] as? Bool == false)
        #expect(proposed["status"] as? String == "pending", "\(proposed)")
        #expect(proposed["agent"] as? String == "mcp:pytest-client")
        let id = try #require(proposed["proposal"] as? String)
        #expect(try blob(sb, v, Self.bluebird) == before, "the working tree is untouched")
        #expect(try sb.gitOK(["show", "main:" + Self.bluebird], cwd: v).contains("Dana confirmed") == false)
        let pending = try #require((r[5]["structured"] as? [String: Any])?["proposals"] as? [[String: Any]], "\(r[5])")
        #expect(pending.compactMap { $0["id"] as? String } == [id] && pending.first?["status"] as? String == "pending", "\(pending)")
        #expect((r[6]["uris"] as? [String])?.contains("cairn://core") == true, "\(r[6])")
        #expect((r[7]["text"] as? String)?.contains("memory/core/business.md") == true, "\(r[7])")

        // The operator sees it in `cairn proposals`; the commit is an agent run like any other.
        let queue = try jsonArray(sb.runCairn(["proposals", "--json"], cwd: v).stdoutData)
        #expect(queue.compactMap { $0["id"] as? String } == [id])
        #expect(queue.first?["agent"] as? String == "mcp:pytest-client")
        let message = try sb.gitOK(["log", "-1", "--format=%B", "proposals/" + id], cwd: v)
        #expect(message.hasPrefix("Propose: Record the Dana call"), "\(message)")
        for trailer in ["Cairn-Run: \(id)", "Cairn-Agent: mcp:pytest-client", "Cairn-Base: ", "Cairn-Outcome: proposed"] {
            #expect(message.contains(trailer), "\(trailer) in \(message)")
        }
        let record = try jsonObject(Data(try sb.gitOK(["show", "proposals/\(id):runs/2026/03/\(id).json"], cwd: v).utf8))
        #expect(record["agent"] as? String == "mcp:pytest-client")
        #expect(record["kind"] as? String == "client")
        #expect((record["edits"] as? [[String: Any]])?.count == 2)
        #expect(try sb.gitLines(["diff", "--name-only", "proposals/\(id)^", "proposals/\(id)"], cwd: v)
                == ["memory/projects/bluebird-coffee.md", "memory/working/dana-call.md", "runs/2026/03/\(id).json"])

        // Approve with the CLI, then read the new content back through MCP.
        let approve = sb.runCairn(["approve", id], cwd: v)
        #expect(approve.status == 0, "\(approve)")
        let after = try session(sb, v, [
            call("read_note", ["path": Self.bluebird]),
            call("list_proposals", ["id": id]),
            call("recent_changes", ["limit": 3]),
            call("explain_line", ["path": "memory/working/dana-call.md", "line": 3]),
        ])
        let note = try #require(after[0]["structured"] as? [String: Any], "\(after[0])")
        #expect((note["content"] as? String)?.hasSuffix("- 2026-03-01: Dana confirmed refunds by reason are enough.\n") == true)
        #expect(note["blob"] as? String == (try blob(sb, v, Self.bluebird)))
        #expect(after[1]["text"] as? String != nil && (after[1]["text"] as? String ?? "").contains("\"status\":\"approved\""), "\(after[1])")
        #expect((after[2]["text"] as? String ?? "").contains("Approve Record the Dana call"), "\(after[2])")
        let why = try #require(after[3]["structured"] as? [String: Any], "\(after[3])")
        #expect(why["agent"] as? String == "mcp:pytest-client" && why["run"] as? String == id, "\(why)")
        try sb.gitOK(["fsck", "--strict"], cwd: v)
    }

    @Test func aWriteBasedOnAnOldVersionIsAStaleProposalNeverAnOverwrite() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let read = try blob(sb, v, Self.bluebird)
        let original = try #require(sb.read(v + "/" + Self.bluebird))
        let edited = String(decoding: original, as: UTF8.self) + "- operator: edited in the editor meanwhile\n"
        let r = try session(sb, v, [
            call("read_note", ["path": Self.bluebird]),
            ["op": "write", "path": Self.bluebird, "content": edited],
            call("read_note", ["path": Self.bluebird]),
            call("propose_edit", ["summary": "Rewrite the note", "edits": [
                ["path": Self.bluebird, "action": "replace", "expected_blob": read, "content": "# Bluebird\n\nShort now.\n"]]]),
        ])
        #expect((r[0]["structured"] as? [String: Any])?["blob"] as? String == read)
        let second = try #require(r[2]["structured"] as? [String: Any], "\(r[2])")
        #expect(second["blob"] as? String != read, "the editor's save is seen on the next call")
        #expect(second["committed"] as? Bool == false)
        let proposed = try #require(r[3]["structured"] as? [String: Any], "\(r[3])")
        #expect(proposed["status"] as? String == "stale", "\(proposed)")
        #expect((proposed["message"] as? String ?? "").contains("changed meanwhile"), "\(proposed)")
        let id = try #require(proposed["proposal"] as? String)
        // The proposal is based on the commit that had the version read, so main changed the file since.
        #expect(try sb.gitOK(["rev-parse", "proposals/\(id)^:" + Self.bluebird], cwd: v) == read)
        let listed = try jsonArray(sb.runCairn(["proposals", "--json"], cwd: v).stdoutData)
        #expect(listed.first?["stalePaths"] as? [String] == [Self.bluebird], "\(listed)")
        let approve = sb.runCairn(["approve", id], cwd: v)
        #expect(approve.status == 1 && approve.stderr.contains("stale"), "\(approve)")
        // The operator's edit is on main (snapshotted before the proposal) and in the working tree.
        #expect(try sb.gitOK(["show", "main:" + Self.bluebird], cwd: v).hasSuffix("- operator: edited in the editor meanwhile"))
        #expect(sb.read(v + "/" + Self.bluebird) == Data(edited.utf8))
        try sb.gitOK(["fsck", "--strict"], cwd: v)
    }

    @Test func editsMadeInAnEditorAreSeenOnTheNextCall() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let r = try session(sb, v, [
            call("search_memory", ["query": "zebrafish"]),
            ["op": "write", "path": "memory/working/aquarium.md", "content": "# Aquarium\n\nThe zebrafish need a heater.\n"],
            call("search_memory", ["query": "zebrafish"]),
            call("list_notes", ["folder": "memory/working"]),
            ["op": "write", "path": "memory/working/aquarium.md", "content": "# Aquarium\n\nThe guppies need a heater.\n"],
            call("search_memory", ["query": "zebrafish"]),
        ])
        func paths(_ result: [String: Any]) -> [String] {
            ((result["structured"] as? [String: Any])?["results"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
        }
        #expect(paths(r[0]).isEmpty, "\(r[0])")
        #expect(paths(r[2]) == ["memory/working/aquarium.md"], "\(r[2])")
        let hit = try #require(((r[2]["structured"] as? [String: Any])?["results"] as? [[String: Any]])?.first)
        #expect(hit["uncommitted"] as? Bool == true && hit["lines"] as? String == "1-3", "\(hit)")
        let notes = ((r[3]["structured"] as? [String: Any])?["notes"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
        #expect(notes.contains("memory/working/aquarium.md") && notes.contains("memory/working/this-week.md"), "\(notes)")
        #expect(paths(r[5]).isEmpty, "the second save replaced the word: \(r[5])")
    }

    @Test func filtersLineRangesDeletesAndNoteResources() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let pricing = "memory/knowledge/pricing.md"
        let pricingBlob = try blob(sb, v, pricing)
        let this = "memory/working/this-week.md"
        let r = try session(sb, v, [
            call("search_memory", ["query": "", "tag": "pricing"]),
            call("search_memory", ["query": "", "path": "memory/core/**"]),
            call("search_memory", ["query": "milestone*", "tier": "knowledge"]),
            ["op": "templates"],
            ["op": "resource", "uri": "cairn://note/" + Self.bluebird],
            ["op": "resource", "uri": "cairn://note/memory/core/business.md"],
            call("read_note", ["path": this, "start_line": 2, "end_line": 3]),
            call("propose_edit", ["summary": "Tidy up", "edits": [
                ["path": pricing, "action": "delete", "expected_blob": pricingBlob],
                ["path": this, "action": "replace", "start_line": 2, "end_line": 3, "content": "title: Next week\ntier: working\n"],
            ]]),
            call("propose_edit", ["summary": "Delete a note changed meanwhile", "edits": [
                ["path": this, "action": "delete", "expected_blob": String(repeating: "0", count: 40)]]]),
        ])
        func paths(_ result: [String: Any]) -> [String] {
            ((result["structured"] as? [String: Any])?["results"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
        }
        #expect(paths(r[0]) == [pricing], "the tag filter: \(r[0])")
        #expect(Set(paths(r[1])) == ["memory/core/business.md", "memory/core/operating-principles.md"], "the path filter: \(r[1])")
        #expect(paths(r[2]) == [pricing], "the tier filter (the word is in three tiers): \(r[2])")
        #expect(r[3]["templates"] as? [String] == ["cairn://note/{+path}"], "\(r[3])")
        #expect(r[4]["text"] as? String == sb.readText(v + "/" + Self.bluebird), "a note resource is the file as it is")
        #expect(r[5]["text"] as? String == sb.readText(v + "/memory/core/business.md"))
        let lines = try #require(r[6]["structured"] as? [String: Any], "\(r[6])")
        #expect(lines["lines"] as? String == "2-3" && (lines["content"] as? String)?.hasPrefix("title: ") == true, "\(lines)")

        let proposed = try #require(r[7]["structured"] as? [String: Any], "\(r[7])")
        #expect(proposed["status"] as? String == "pending", "\(proposed)")
        let id = try #require(proposed["proposal"] as? String)
        #expect(sb.git(["cat-file", "-e", "proposals/\(id):" + pricing], cwd: v).status != 0, "deleted in the proposal")
        let edited = try sb.gitOK(["show", "proposals/\(id):" + this], cwd: v)
        let original = try sb.gitOK(["show", "main:" + this], cwd: v).split(separator: "\n", omittingEmptySubsequences: false)
        var expected = original
        expected.replaceSubrange(1...2, with: ["title: Next week", "tier: working"])
        #expect(edited == expected.joined(separator: "\n"), "only lines 2-3 replaced")
        #expect(FileManager.default.fileExists(atPath: v + "/" + pricing), "the working tree is untouched")
        // A blob id that main never had for the file is refused, not guessed at.
        #expect(r[8]["is_error"] as? Bool == true && (r[8]["text"] as? String ?? "").contains("is not one that main has had"), "\(r[8])")
        #expect(try jsonArray(sb.runCairn(["proposals", "--json"], cwd: v).stdoutData).count == 1)
        try sb.gitOK(["fsck", "--strict"], cwd: v)
    }

    @Test func quotasAndEarnedAutonomyApplyToTheClientLikeToAnyAgent() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        // The operator lets agents earn autonomy after one approval, and allows this client three runs a day.
        let policyPath = v + "/policy.json"
        var policy = try jsonObject(try #require(sb.read(policyPath)))
        policy["autonomy"] = ["default": "auto", "promote_after_approvals": 1]
        var quotas = policy["quotas"] as? [String: Any] ?? [:]
        quotas["agents"] = ["mcp:pytest-client": ["runs_per_day": 3]]
        policy["quotas"] = quotas
        try sb.write(policyPath, try JSONSerialization.data(withJSONObject: policy, options: [.prettyPrinted, .sortedKeys]))
        try #require(sb.runCairn(["snapshot", "-m", "policy: autonomy after one approval, 3 client runs a day"], cwd: v).status == 0)
        func note(_ n: Int) -> [String: Any] {
            call("propose_edit", ["summary": "Note \(n)", "edits": [
                ["path": "memory/working/note-\(n).md", "action": "create", "content": "# Note \(n)\n\nWritten by the client.\n"]]])
        }
        let first = try session(sb, v, [note(1)])
        let firstID = try #require((first[0]["structured"] as? [String: Any])?["proposal"] as? String, "\(first[0])")
        #expect((first[0]["structured"] as? [String: Any])?["status"] as? String == "pending", "advisory until approved: \(first[0])")
        #expect(sb.runCairn(["approve", firstID], cwd: v).status == 0)

        let r = try session(sb, v, [note(2), note(3), note(4)])
        // Earned: one approval in a row, so a low-risk proposal merges on its own, with its approval record.
        let second = try #require(r[0]["structured"] as? [String: Any], "\(r[0])")
        #expect(second["status"] as? String == "merged", "\(second)")
        #expect(try sb.gitOK(["show", "main:memory/working/note-2.md"], cwd: v) == "# Note 2\n\nWritten by the client.")
        let secondID = try #require(second["proposal"] as? String)
        #expect(try sb.gitOK(["log", "--format=%B", "main"], cwd: v).contains("Cairn-Run: \(secondID)"), "its run is on main")
        let approvals = try sb.gitOK(["ls-tree", "-r", "--name-only", "main", "approvals"], cwd: v).split(separator: "\n")
        #expect(approvals.contains { $0.contains(secondID) }, "with its approval record: \(approvals)")
        // The third run of the day is the last allowed; the fourth is refused by the quota and writes nothing.
        #expect((r[1]["structured"] as? [String: Any])?["status"] as? String == "merged", "\(r[1])")
        #expect(r[2]["is_error"] as? Bool == true, "\(r[2])")
        #expect((r[2]["text"] as? String ?? "").contains("quotas.agents.mcp:pytest-client"), "\(r[2])")
        #expect(sb.git(["cat-file", "-e", "main:memory/working/note-4.md"], cwd: v).status != 0)
        #expect(!FileManager.default.fileExists(atPath: v + "/memory/working/note-4.md"))
        let refsAfter = try sb.gitLines(["for-each-ref", "--format=%(refname)"], cwd: v)
        #expect(refsAfter.filter { $0.contains("note-4") || $0.hasPrefix("refs/heads/proposals/") }.isEmpty, "\(refsAfter)")
        try sb.gitOK(["fsck", "--strict"], cwd: v)
    }

    @Test func runAgentAndStartWorkflowRunTheVaultsOwnAgentsUnderPolicy() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let r = try session(sb, v, [
            call("run_agent", ["name": "digest"]),
            call("start_workflow", ["name": "weekly-review"]),
            call("run_agent", ["name": "digest", "input": ["x": ["nested": true]]]),
        ])
        let run = try #require(r[0]["structured"] as? [String: Any], "\(r[0])")
        #expect(run["agent"] as? String == "digest" && run["outcome"] as? String == "proposed", "earning autonomy: reviewed first: \(run)")
        let id = try #require(run["run"] as? String)
        let queue = try jsonArray(sb.runCairn(["proposals", "--json"], cwd: v).stdoutData)
        #expect(queue.contains { $0["id"] as? String == id && $0["agent"] as? String == "digest" }, "\(queue)")
        let message = try sb.gitOK(["log", "-1", "--format=%B", "proposals/" + id], cwd: v)
        #expect(message.contains("Cairn-Agent: digest") && message.contains("Cairn-Run: \(id)"), "\(message)")

        let workflow = try #require(r[1]["structured"] as? [String: Any], "\(r[1])")
        #expect(workflow["workflow"] as? String == "weekly-review", "\(workflow)")
        #expect(workflow["trigger"] as? String == "mcp:pytest-client", "who started it is recorded: \(workflow)")
        #expect((workflow["steps"] as? [Any])?.count == 2, "\(workflow)")
        let runID = try #require(workflow["id"] as? String)
        #expect(try sb.gitLines(["for-each-ref", "--format=%(refname)", "refs/cairn/workflows/"], cwd: v).contains { $0.contains(runID) })
        #expect(r[2]["is_error"] as? Bool == true && (r[2]["text"] as? String ?? "").contains("input values must be strings"), "\(r[2])")
        try sb.gitOK(["fsck", "--strict"], cwd: v)
    }

    @Test func theServerWatchesTheWorkingTreeWhileItRuns() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        func running() throws -> Bool? { try jsonObject(sb.runCairn(["watch", "status", "--json"], cwd: v).stdoutData)["running"] as? Bool }
        #expect(try running() == false)
        let r = try session(sb, v, [
            call("search_memory", ["query": "kumquat"]),
            ["op": "cairn", "args": ["watch", "status", "--json"]],
            ["op": "write", "path": "memory/working/fruit.md", "content": "# Fruit\n\nKumquat season.\n"],
            call("search_memory", ["query": "kumquat"]),
            ["op": "cairn", "args": ["watch", "stop"]],
            ["op": "write", "path": "memory/working/fruit.md", "content": "# Fruit\n\nKumquat and lime season.\n"],
            call("search_memory", ["query": "lime"]),
            ["op": "cairn", "args": ["watch", "status", "--json"]],
        ])
        let status = try jsonObject(Data((r[1]["stdout"] as? String ?? "").utf8))
        #expect(status["running"] as? Bool == true, "a watcher answers while the server runs: \(r[1])")
        #expect(((r[3]["structured"] as? [String: Any])?["results"] as? [[String: Any]])?.first?["path"] as? String
                == "memory/working/fruit.md", "\(r[3])")
        // Stopped from outside, it is started again by the next call, which sees the edit made meanwhile.
        #expect(r[4]["status"] as? Int == 0, "\(r[4])")
        #expect(((r[6]["structured"] as? [String: Any])?["results"] as? [[String: Any]])?.first?["path"] as? String
                == "memory/working/fruit.md", "\(r[6])")
        #expect(try jsonObject(Data((r[7]["stdout"] as? String ?? "").utf8))["running"] as? Bool == true, "\(r[7])")
        // It stops with the server, leaving no watcher behind.
        #expect(try running() == false)
        // With `cairn watch` running, the server uses that one and leaves it running.
        #expect(sb.runCairn(["watch", "start"], cwd: v).status == 0)
        defer { _ = sb.runCairn(["watch", "stop"], cwd: v) }
        let before = try jsonObject(sb.runCairn(["watch", "status", "--json"], cwd: v).stdoutData)
        let again = try session(sb, v, [call("search_memory", ["query": "kumquat"])])
        #expect(((again[0]["structured"] as? [String: Any])?["results"] as? [[String: Any]])?.count == 1, "\(again[0])")
        let after = try jsonObject(sb.runCairn(["watch", "status", "--json"], cwd: v).stdoutData)
        #expect((after["watcher"] as? [String: Any])?["pid"] as? Int == (before["watcher"] as? [String: Any])?["pid"] as? Int
                && after["running"] as? Bool == true, "\(before) \(after)")
    }

    @Test func hostileArgumentsAreRefusedWithClearErrorsAndNothingIsWritten() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        // A symbolic link out of the vault, committed with git (cairn itself refuses to commit one), so the state
        // below is stable.
        try #require(symlink("/etc/passwd", v + "/memory/working/passwd.md") == 0)
        try sb.commitAll(v, "a link out of the vault")
        let refs = try sb.gitOK(["for-each-ref"], cwd: v)
        let state = sb.state(of: v + "/memory")
        let token = "ghp_" + "Q7mZ2vR8pL4tN9wK3bYc6HdJ1sF5gA0xE2uT"
        func create(_ path: String, _ content: String = "x\n") -> [String: Any] {
            call("propose_edit", ["summary": "hostile", "edits": [["path": path, "action": "create", "content": content]]])
        }
        let cases: [(step: [String: Any], expect: String)] = [
            (call("read_note", ["path": "../../../etc/passwd"]), "'..' is not allowed"),
            (call("read_note", ["path": "/etc/passwd"]), "absolute paths are not allowed"),
            (call("read_note", ["path": ".git/config"]), "'.git' is not allowed"),
            (call("read_note", ["path": "memory/working/passwd.md"]), "symbolic link"),
            (call("read_note", ["path": "memory"]), "is a folder"),
            (create("../outside.md"), "'..' is not allowed"),
            (create("memory/../../outside.md"), "'..' is not allowed"),
            (create("/tmp/outside.md"), "absolute paths are not allowed"),
            (create(".git/hooks/pre-commit"), "'.git' is not allowed"),
            (create("policy.json", "{}\n"), "protected"),
            (create("agents/evil.md"), "protected"),
            (create("README.md"), "may only write memory/**, inbox/**"),
            (create("memory/working/passwd.md/x.md"), "symbolic link"),
            (call("propose_edit", ["summary": "hostile", "edits": [["path": "memory/working/passwd.md", "action": "replace", "content": "x\n"]]]),
             "symbolic link"),
            (create("memory/working/huge.md", String(repeating: "a", count: 2 << 20)), "more than the 1048576"),
            (create("memory/working/binary.md", "PNG\u{0}\u{1}\u{2}"), "NUL bytes"),
            (create("memory/working/keys.md", "token: \(token)\n"), "looks like a credential"),
            (call("propose_edit", ["summary": "x", "edits": "memory/a.md"]), "edits must be an array"),
            (call("propose_edit", ["summary": "x", "edits": [] as [Any]]), "give at least one"),
            (call("propose_edit", ["summary": "x", "edits": [["path": "memory/a.md", "action": "chmod"]]]), "not one of create"),
            (call("propose_edit", ["summary": "x", "edits": [["path": "memory/a.md", "action": "create"]]]), "create needs content"),
            (call("propose_edit", ["summary": "x", "edits": [["path": Self.bluebird, "action": "replace", "content": "y",
                                                               "expected_blob": "not-a-blob"]]]), "is not a blob id"),
            (call("propose_edit", ["summary": "x", "edits": [["path": Self.bluebird, "action": "replace", "content": "y",
                                                               "start_line": 9000, "end_line": 9001]]]), "do not exist"),
            (call("search_memory", ["query": "x", "limit": "ten"]), "limit must be a whole number"),
            (call("search_memory", ["query": "x", "colour": "red"]), "unknown argument 'colour'"),
            (call("search_memory", ["query": "\"unbalanced"]), "unclosed quote"),
            (create(Self.bluebird), "already exists"),
            (call("read_note", [:]), "path is required"),
            (call("run_agent", ["name": "../gc"]), "unknown agent"),
            (call("start_workflow", ["name": "nope"]), "nope"),
        ]
        var steps = cases.map(\.step)
        steps.append(call("no_such_tool", [:]))
        steps.append(["op": "resource", "uri": "cairn://note/../../etc/passwd"])
        steps.append(["op": "resource", "uri": "file:///etc/passwd"])
        let r = try session(sb, v, steps)
        for (i, c) in cases.enumerated() {
            #expect(r[i]["is_error"] as? Bool == true, "case \(i) \(c.step) must fail: \(r[i])")
            let text = r[i]["text"] as? String ?? ""
            #expect(text.contains(c.expect), "case \(i): '\(c.expect)' in \(text)")
            #expect(!text.contains("root:x:0"), "nothing outside the vault is shown: \(text)")
        }
        let unknown = try #require(r[cases.count]["protocol_error"] as? [String: Any], "\(r[cases.count])")
        #expect(unknown["code"] as? Int == -32602 && (unknown["message"] as? String ?? "").contains("unknown tool 'no_such_tool'"))
        for i in [cases.count + 1, cases.count + 2] {
            let e = try #require(r[i]["protocol_error"] as? [String: Any], "\(r[i])")
            #expect(!((e["message"] as? String ?? "").contains("root:x:0")), "\(e)")
        }

        // Bytes that are not JSON-RPC at all, a truncated message, a request of 20 MB: each answered, the server lives on.
        let rawSteps: [[String: Any]] = [
            ["send": "this is not json"], ["expect": 1],
            ["send": "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/li"], ["expect": 1],
            ["send_huge": 20 << 20, "id": 77], ["expect": 1],
            ["send": "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"raw\",\"version\":\"1\"}}}"],
            ["expect": 1],
            ["send": "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"],
            ["send": "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}"], ["expect": 1],
            ["send": "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"no/such/method\"}"], ["expect": 1],
            // JSON, but not JSON-RPC a server can act on: each gets an error, and the ones with an id carry it.
            ["send": "[]"], ["expect": 1],
            ["send": "42"], ["expect": 1],
            ["send": String(repeating: "[", count: 200_000) + String(repeating: "]", count: 200_000)], ["expect": 1],
            ["send": "{\"jsonrpc\":\"2.0\",\"id\":21,\"method\":\"tools/call\",\"params\":{\"name\":5}}"], ["expect": 1],
            ["send": "{\"jsonrpc\":\"2.0\",\"id\":22,\"method\":\"tools/call\",\"params\":{\"name\":\"read_note\",\"arguments\":[1]}}"],
            ["expect": 1],
            ["send": "{\"jsonrpc\":\"2.0\",\"id\":23,\"method\":\"tools/call\",\"params\":{\"name\":\"read_note\",\"arguments\":{\"path\":"
                + String(repeating: "[", count: 400) + String(repeating: "]", count: 400) + "}}}"], ["expect": 1],
            ["send_hex": Data("{\"jsonrpc\":\"2.0\",\"id\":24,\"method\":\"tools/call\",\"params\":{\"name\":\"read_note\",\"arguments\":{\"path\":\"memory/".utf8)
                .map { String(format: "%02x", $0) }.joined() + "fffe" + Data(".md\"}}}".utf8).map { String(format: "%02x", $0) }.joined()],
            ["expect": 1],
        ]
        let raw = sb.run("/usr/bin/env", ["python3", Self.client, "raw", "--cairn", Binaries.cairn ?? "cairn", "--vault", v],
                         cwd: sb.work, stdin: try JSONSerialization.data(withJSONObject: rawSteps), env: sb.environment(), timeout: 120)
        try #require(raw.status == 0, "\(raw)")
        let rawResult = try jsonObject(raw.stdoutData)
        let received = try #require(rawResult["received"] as? [[String: Any]], "\(raw)")
        try #require(received.count == 13, "\(received)")
        func error(_ m: [String: Any]) -> (code: Int?, message: String) {
            let e = m["error"] as? [String: Any]
            return (e?["code"] as? Int, e?["message"] as? String ?? "")
        }
        #expect(error(received[0]).code == -32700 && received[0]["id"] is NSNull, "\(received[0])")
        #expect(error(received[1]).code == -32700, "\(received[1])")
        #expect(error(received[2]).code == -32600 && received[2]["id"] as? Int == 77 && error(received[2]).message.contains("larger than 16 MiB"),
                "\(received[2])")
        #expect(received[3]["id"] as? Int == 1 && received[3]["result"] != nil, "\(received[3])")
        #expect(received[4]["id"] as? Int == 2 && ((received[4]["result"] as? [String: Any])?["tools"] as? [Any])?.count == 9, "\(received[4])")
        #expect(received[5]["id"] as? Int == 3 && error(received[5]).code == -32601, "\(received[5])")
        let expected: [(index: Int, id: Int?, code: Int, message: String)] = [
            (6, nil, -32600, "a JSON-RPC message is an object"),
            (7, nil, -32600, "a JSON-RPC message is an object"),
            (8, nil, -32600, "at most 64 are accepted"),
            (9, 21, -32602, "name must be a string"),
            (10, 22, -32602, "arguments must be an object"),
            (11, 23, -32600, "at most 64 are accepted"),
            (12, nil, -32700, "not valid JSON"),
        ]
        for c in expected {
            let e = error(received[c.index])
            #expect(e.code == c.code && e.message.contains(c.message) && received[c.index]["result"] == nil, "case \(c.index): \(received[c.index])")
            if let id = c.id {
                #expect(received[c.index]["id"] as? Int == id, "case \(c.index) answers request \(id): \(received[c.index])")
            } else {
                #expect(received[c.index]["id"] is NSNull, "case \(c.index) has no id to answer: \(received[c.index])")
            }
        }
        #expect(rawResult["alive"] as? Bool == true && rawResult["exit"] as? Int == 0, "exits when its input closes: \(rawResult)")

        // Nothing was written: no ref moved or appeared, the notes are as they were, the repository is sound.
        #expect(try sb.gitOK(["for-each-ref"], cwd: v) == refs)
        #expect(sb.state(of: v + "/memory") == state)
        #expect(sb.runCairn(["proposals"], cwd: v).stdout.contains("No pending proposals."))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/outside.md") && !FileManager.default.fileExists(atPath: sb.work + "/outside.md"))
        try sb.gitOK(["fsck", "--strict"], cwd: v)
    }
}
