import Foundation
import Testing

/// Memory retrieval for agent runs, through the built binary: an agent is shown core memory plus the
/// read-scope notes that best match its task within its context budget, and the run record lists each
/// item with the blob it showed (checked with `git cat-file`); nothing outside the read scope is retrieved.
@Suite struct RetrievalE2ETests {
    static let target = "memory/projects/zephyr-quokka.md"
    static let targetText = "---\ntitle: Zephyr quokka migration\n---\n\nThe quokka migration moves the zephyr ledger on 2026-04-02.\n"
    static let outside = "inbox/quokka-secret.md"
    static let body = "Answer questions about the quokka migration and the zephyr ledger.\n"

    /// A vault with 30 filler project notes (sorted before the target, ~110 tokens each), the target note,
    /// and a note outside the read scope that matches the task best of all.
    func vault(_ sb: Sandbox) throws -> String {
        let v = try sb.makeVault()
        for i in 0..<30 {
            let filler = String(repeating: "routine supplier notes and invoices ", count: 12)
            try sb.write(v + "/memory/projects/aaa-filler-\(String(format: "%02d", i)).md", "# Filler \(i)\n\n\(filler)\n")
        }
        try sb.write(v + "/" + Self.target, Self.targetText)
        try sb.write(v + "/" + Self.outside, "quokka quokka zephyr migration ledger: never shown to project agents\n")
        try sb.snapshot(v, "notes")
        return v
    }

    func retrieval(_ record: [String: Any]) throws -> [[String: Any]] {
        try #require(record["retrieval"] as? [[String: Any]])
    }

    /// Each item's blob is what `main` has at its path, and `git cat-file` returns that content.
    func expectPinned(_ sb: Sandbox, _ v: String, _ items: [[String: Any]], sourceLocation: SourceLocation = #_sourceLocation) throws {
        for item in items {
            let path = try #require(item["path"] as? String), blob = try #require(item["blob"] as? String)
            #expect(try sb.gitOK(["cat-file", "-t", blob], cwd: v) == "blob", sourceLocation: sourceLocation)
            #expect(try sb.gitOK(["rev-parse", "main:\(path)"], cwd: v) == blob, "\(path) pinned to the wrong blob", sourceLocation: sourceLocation)
            let size = Int(try sb.gitOK(["cat-file", "-s", blob], cwd: v)) ?? -1
            #expect(item["tokens"] as? Int == (size + 3) / 4, "\(path): tokens are bytes / 4 rounded up", sourceLocation: sourceLocation)
        }
    }

    @Test func aModelAgentSeesTheBestMatchingNoteAndTheRecordPinsIt() throws {
        let sb = try Sandbox()
        let server = try FakeModelServer(sb, scenario: [["body": FakeModelServer.completion(
            FakeModelServer.editReply(summary: "nothing to change", edits: []))]])
        let v = try vault(sb)
        try sb.configureModel(v, baseURL: server.baseURL)
        try sb.addAgent(v, "ledger", frontMatter: """
            kind: model
            reads: ["memory/projects/**"]
            writes: ["memory/projects/**"]
            context_tokens: 400
            """, body: Self.body)
        let run = try sb.runAgent(v, "ledger", inputs: ["question=When does the quokka migration happen?"])
        #expect(run.result.status == 0, "\(run)")
        #expect(run.outcome == "no-changes", "\(run)")

        // The prompt holds core memory and the retrieved note, not the out-of-scope one.
        let requests = try server.requests()
        let body = try #require(requests.first?["body"] as? [String: Any])
        let prompt = (try #require(body["messages"] as? [[String: Any]])).compactMap { $0["content"] as? String }.joined(separator: "\n")
        #expect(prompt.contains("### \(Self.target)"), "\(prompt)")
        #expect(prompt.contains("moves the zephyr ledger on 2026-04-02"), "\(prompt)")
        #expect(prompt.contains("### memory/core/"), "core memory is always loaded: \(prompt)")
        #expect(!prompt.contains("never shown to project agents"), "\(prompt)")

        // The run record lists the chain: core first, then the search hit with its score and why.
        let record = try sb.runRecord(v, rev: run.ref, id: run.id)
        let items = try retrieval(record)
        try expectPinned(sb, v, items)
        let paths = items.compactMap { $0["path"] as? String }
        #expect(!paths.contains(Self.outside), "\(paths)")
        #expect(paths.allSatisfy { $0.hasPrefix("memory/core/") || $0.hasPrefix("memory/projects/") }, "\(paths)")
        let core = items.filter { $0["reason"] as? String == "core" }
        #expect(!core.isEmpty && core.allSatisfy { ($0["path"] as? String)?.hasPrefix("memory/core/") == true })
        let hit = try #require(items.first { $0["path"] as? String == Self.target }, "\(paths)")
        let reason = try #require(hit["reason"] as? String)
        #expect(reason.hasPrefix("search: ") && reason.contains("quokka"), "\(reason)")
        #expect((hit["score"] as? Double ?? 0) > 0)
        // Within the budget: the retrieved (non-core) items add up to at most context_tokens.
        let used = items.filter { $0["reason"] as? String != "core" }.reduce(0) { $0 + ($1["tokens"] as? Int ?? 0) }
        #expect(used <= 400, "\(items)")
        // Path order alone would have filled the budget with filler notes: the target is there because it matched.
        #expect(used > 0)
    }

    @Test func aCommandAgentGetsTheSameItemsInItsContextFile() throws {
        let sb = try Sandbox()
        let server = try FakeModelServer(sb, scenario: [["body": FakeModelServer.completion(
            FakeModelServer.editReply(summary: "nothing to change", edits: []))]])
        let v = try vault(sb)
        try sb.configureModel(v, baseURL: server.baseURL)
        let frontMatter = """
            reads: ["memory/projects/**"]
            writes: ["memory/projects/**"]
            context_tokens: 400
            """
        try sb.addAgent(v, "ledger", frontMatter: "kind: model\n" + frontMatter, body: Self.body)
        try sb.addAgent(v, "ledger-cmd", frontMatter: "kind: command\ncommand: [\"sh\", \"agents/ledger-cmd.sh\"]\n" + frontMatter,
                        body: Self.body, files: ["agents/ledger-cmd.sh": "cat \"$CAIRN_CONTEXT\"\n"])
        let input = ["question=When does the quokka migration happen?"]
        let model = try sb.runAgent(v, "ledger", inputs: input)
        let command = try sb.runAgent(v, "ledger-cmd", inputs: input)
        #expect(command.result.status == 0, "\(command)")

        // The context file the command saw (echoed to its captured stdout) lists the same items as its record.
        let record = try sb.runRecord(v, rev: command.ref, id: command.id)
        let stdout = try #require((record["command"] as? [String: Any])?["stdout"] as? String)
        let context = try jsonObject(Data(stdout.utf8))
        let core = try #require(context["core"] as? [[String: Any]]), retrieved = try #require(context["retrieved"] as? [[String: Any]])
        func key(_ item: [String: Any]) -> String {
            "\(item["path"] ?? "") \(item["blob"] ?? "") \(item["reason"] ?? "") \(item["tokens"] ?? "")"
        }
        let recorded = try retrieval(record)
        #expect((core + retrieved).map(key) == recorded.map(key))
        #expect(retrieved.contains { $0["path"] as? String == Self.target }, "\(retrieved)")
        #expect(!retrieved.contains { $0["path"] as? String == Self.outside })
        try expectPinned(sb, v, recorded)

        // Same task, same scope and budget: the model agent was shown the same items. (Its base differs only by
        // the command agent's definition, which is outside both scopes.)
        let modelItems = try retrieval(try sb.runRecord(v, rev: model.ref, id: model.id))
        #expect(modelItems.map(key) == recorded.map(key))
    }

    @Test func aBudgetOfZeroGivesCoreMemoryOnly() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try sb.addAgent(v, "lister", frontMatter: """
            kind: command
            command: ["sh", "agents/lister.sh"]
            reads: ["memory/projects/**"]
            context_tokens: 0
            """, files: ["agents/lister.sh": "cat \"$CAIRN_CONTEXT\"\n"])
        let run = try sb.runAgent(v, "lister", inputs: ["question=quokka"])
        #expect(run.result.status == 0, "\(run)")
        let items = try retrieval(try sb.runRecord(v, rev: run.ref, id: run.id))
        #expect(!items.isEmpty && items.allSatisfy { $0["reason"] as? String == "core" }, "\(items)")
    }
}
