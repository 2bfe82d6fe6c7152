import Foundation
import Testing

/// Model agents against a real HTTP server speaking the chat-completions API on 127.0.0.1
/// (Tests/Support/fake_model_server.py): replies become proposals, bad replies and outages fail cleanly with
/// the evidence in the run record, the API key goes only where it belongs, and hostile paths are refused.
@Suite struct ModelAgentE2ETests {
    static let bluebird = "memory/projects/bluebird-coffee.md"

    /// A vault whose config points at `server`, with model agent `writer` (reads and writes memory/projects/**).
    func vault(_ sb: Sandbox, _ server: FakeModelServer, timeout: String = "10s", extra: String = "",
               apiKeyEnv: String? = nil) throws -> String {
        let v = try sb.makeVault()
        try sb.configureModel(v, baseURL: server.baseURL, apiKeyEnv: apiKeyEnv)
        try sb.addAgent(v, "writer", frontMatter: """
            kind: model
            reads: ["memory/projects/**"]
            writes: ["memory/projects/**"]
            timeout: \(timeout)
            \(extra)
            """, body: "Keep the project notes up to date. Only add facts from the input.\n")
        return v
    }

    static func goodReply(_ sb: Sandbox, _ v: String) throws -> (reply: String, content: String) {
        let content = (sb.readText(v + "/" + bluebird) ?? "") + "- 2026-03-01: Dana signed off the dashboard.\n"
        return (FakeModelServer.editReply(summary: "record Dana's sign-off", edits: [(bluebird, content)], rationale: "The input says so."), content)
    }

    @Test func aGoodReplyBecomesAProposalWithModelAndTokenTrailers() throws {
        let sb = try Sandbox()
        // The reply is computed from the template note, which every fresh vault has.
        let probe = try sb.makeVault("probe")
        let (reply, content) = try Self.goodReply(sb, probe)
        let server = try FakeModelServer(sb, scenario: [["body": FakeModelServer.completion(reply, promptTokens: 1500, completionTokens: 334)]])
        let v = try vault(sb, server)
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "writer", inputs: ["event=signoff"])
        #expect(run.result.status == 0, "\(run)")
        #expect(run.outcome == "proposed", "\(run)")
        let p = "proposals/\(run.id)"
        #expect(try sb.gitOK(["rev-list", "--count", "main..\(p)"], cwd: v) == "1")
        #expect(try sb.changedFiles(v, p) == ["M\t\(Self.bluebird)"])
        #expect(try sb.gitOK(["show", "\(p):\(Self.bluebird)"], cwd: v) + "\n" == content)
        #expect(try sb.gitOK(["log", "-1", "--format=%s", p], cwd: v) == "Propose: record Dana's sign-off")
        #expect(try sb.gitOK(["log", "-1", "--format=%b", p], cwd: v).contains("The input says so."), "the rationale is in the message")
        #expect(try sb.trailer(v, p, "Cairn-Model") == "llama3.2")
        #expect(try sb.trailer(v, p, "Cairn-Tokens") == "1834")
        #expect(try sb.trailer(v, p, "Cairn-Cost-USD") == "0.0000")
        #expect(try sb.trailer(v, p, "Cairn-Agent") == "writer")

        // What went over the wire: one POST to /v1/chat/completions for the configured model, with the
        // instructions, the input, core memory and the read scope — and nothing outside it.
        let requests = try server.requests()
        #expect(requests.count == 1)
        let request = try #require(requests.first)
        #expect(request["path"] as? String == "/v1/chat/completions")
        #expect(request["authorization"] is NSNull, "no key configured, no Authorization header: \(request)")
        let body = try #require(request["body"] as? [String: Any])
        #expect(body["model"] as? String == "llama3.2")
        let messages = try #require(body["messages"] as? [[String: Any]])
        let prompt = messages.compactMap { $0["content"] as? String }.joined(separator: "\n")
        #expect(prompt.contains("Keep the project notes up to date."))
        #expect(prompt.contains("event: signoff"))
        #expect(prompt.contains("### memory/core/business.md"))
        #expect(prompt.contains("### \(Self.bluebird)"))
        #expect(!prompt.contains("### inbox/"), "the inbox is outside the read scope")

        // The run record keeps the prompt, the reply and the token counts.
        let record = try sb.runRecord(v, rev: p, id: run.id)
        let model = try #require(record["model"] as? [String: Any])
        #expect(model["model"] as? String == "llama3.2")
        #expect(model["promptTokens"] as? Int == 1500)
        #expect(model["completionTokens"] as? Int == 334)
        #expect(model["replies"] as? [String] == [reply])
        #expect((model["messages"] as? [[String: String]])?.count == 2)
        try sb.expectOperatorViewUnchanged(v, since: before)
        sb.expectFsckClean(v)
    }

    @Test func aMalformedReplyFailsAndTheReplyIsKeptInTheRecord() throws {
        let sb = try Sandbox()
        let garbage = "Sure! Here is what I would change: add a line about Dana. Hope that helps"
        let server = try FakeModelServer(sb, scenario: [["body": FakeModelServer.completion(garbage)]])
        let v = try vault(sb, server)
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "writer")
        #expect(run.result.status == 1, "\(run)")
        #expect(run.outcome == "failed", "\(run)")
        #expect(run.failure.contains("reply rejected"), "\(run)")
        #expect(run.failure.contains("not JSON"), "\(run)")
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
        #expect(run.ref == "refs/cairn/runs/\(run.id)")
        let record = try sb.runRecord(v, rev: run.ref, id: run.id)
        #expect(record["outcome"] as? String == "failed")
        let model = try #require(record["model"] as? [String: Any])
        #expect(model["replies"] as? [String] == [garbage])
        #expect(try server.requests().count == 1, "a reply that does not validate is not asked again of the same model")
        try sb.expectOperatorViewUnchanged(v, since: before)
        sb.expectFsckClean(v)
    }

    @Test func aRateLimitThenSuccessIsRetriedIntoAProposal() throws {
        let sb = try Sandbox()
        let probe = try sb.makeVault("probe")
        let (reply, content) = try Self.goodReply(sb, probe)
        let server = try FakeModelServer(sb, scenario: [
            ["status": 429, "headers": ["Retry-After": "0"]],
            ["body": FakeModelServer.completion(reply)],
        ])
        let v = try vault(sb, server)
        let run = try sb.runAgent(v, "writer")
        #expect(run.result.status == 0, "\(run)")
        #expect(run.outcome == "proposed", "\(run)")
        #expect(try sb.gitOK(["show", "proposals/\(run.id):\(Self.bluebird)"], cwd: v) + "\n" == content)
        #expect(try server.requests().count == 2)
        let model = try #require(try sb.runRecord(v, rev: "proposals/\(run.id)", id: run.id)["model"] as? [String: Any])
        let attempts = try #require(model["attempts"] as? [[String: Any]])
        #expect(attempts.compactMap { $0["status"] as? Int } == [429, 200], "\(attempts)")
        #expect(attempts.first?["model"] as? String == "llama3.2")
    }

    @Test func serverErrorsFallBackToTheFallbackModel() throws {
        let sb = try Sandbox()
        let probe = try sb.makeVault("probe")
        let (reply, content) = try Self.goodReply(sb, probe)
        let server = try FakeModelServer(sb, scenario: [
            ["status": 500], ["status": 503], ["status": 500],
            ["body": FakeModelServer.completion(reply)],
        ])
        let v = try vault(sb, server, extra: "fallback_model: tiny-fallback")
        let run = try sb.runAgent(v, "writer")
        #expect(run.result.status == 0, "\(run)")
        #expect(run.outcome == "proposed", "\(run)")
        let p = "proposals/\(run.id)"
        #expect(try sb.gitOK(["show", "\(p):\(Self.bluebird)"], cwd: v) + "\n" == content)
        #expect(try sb.trailer(v, p, "Cairn-Model") == "tiny-fallback", "the proposal names the model that answered")
        let models = try server.requests().compactMap { ($0["body"] as? [String: Any])?["model"] as? String }
        #expect(models == ["llama3.2", "llama3.2", "llama3.2", "tiny-fallback"])
        let record = try sb.runRecord(v, rev: p, id: run.id)
        #expect((record["model"] as? [String: Any])?["model"] as? String == "tiny-fallback")
    }

    @Test func serverErrorsWithoutAFallbackFail() throws {
        let sb = try Sandbox()
        let server = try FakeModelServer(sb, scenario: [])  // every request gets a 500
        let v = try vault(sb, server)
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "writer")
        #expect(run.result.status == 1, "\(run)")
        #expect(run.outcome == "failed", "\(run)")
        #expect(run.failure.contains("after 3 attempts"), "\(run)")
        #expect(run.failure.contains("500"), "\(run)")
        #expect(try server.requests().count == 3)
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
        let model = try #require(try sb.runRecord(v, rev: run.ref, id: run.id)["model"] as? [String: Any])
        #expect((model["replies"] as? [String])?.first?.contains("scenario exhausted") == true, "the error body is kept: \(model)")
        try sb.expectOperatorViewUnchanged(v, since: before)
    }

    @Test func aSlowReplyTimesOutAndIsRetried() throws {
        let sb = try Sandbox()
        let probe = try sb.makeVault("probe")
        let (reply, _) = try Self.goodReply(sb, probe)
        let server = try FakeModelServer(sb, scenario: [
            ["delay": 4, "body": FakeModelServer.completion(reply)],
            ["body": FakeModelServer.completion(reply)],
        ])
        let v = try vault(sb, server, timeout: "1s")
        let clock = Stopwatch()
        let run = try sb.runAgent(v, "writer")
        #expect(clock.seconds < 4, "the client did not give up on the slow reply (took \(clock.seconds) s)")
        #expect(run.outcome == "proposed", "\(run)")
        let model = try #require(try sb.runRecord(v, rev: "proposals/\(run.id)", id: run.id)["model"] as? [String: Any])
        let attempts = try #require(model["attempts"] as? [[String: Any]])
        #expect(attempts.count == 2, "\(attempts)")
        #expect((attempts.first?["error"] as? String)?.contains("timed out") == true, "\(attempts)")
    }

    @Test func aModelThatIsAlwaysTooSlowFailsWithTimedOut() throws {
        let sb = try Sandbox()
        let slow: [String: Any] = ["delay": 3, "body": FakeModelServer.completion("{}")]
        let server = try FakeModelServer(sb, scenario: [slow, slow, slow, slow])
        let v = try vault(sb, server, timeout: "1s")
        let before = try sb.operatorView(v)
        let clock = Stopwatch()
        let run = try sb.runAgent(v, "writer")
        #expect(clock.seconds < 15, "took \(clock.seconds) s")
        #expect(run.result.status == 1, "\(run)")
        #expect(run.outcome == "failed", "\(run)")
        #expect(run.failure.contains("timed out"), "\(run)")
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
        try sb.expectOperatorViewUnchanged(v, since: before)
    }

    @Test func theAPIKeyIsSentAsBearerAndWrittenNowhere() throws {
        let sb = try Sandbox()
        let probe = try sb.makeVault("probe")
        let (reply, _) = try Self.goodReply(sb, probe)
        let key = "test-key-4c1d8e2f9a7b6053"
        let server = try FakeModelServer(sb, scenario: [["body": FakeModelServer.completion(reply)]])
        // The config names the variable; a differently named one holding another value must not be used.
        let v = try vault(sb, server, apiKeyEnv: "ACME_LLM_KEY")
        let run = try sb.runAgent(v, "writer", env: ["ACME_LLM_KEY": key, "CAIRN_MODEL_API_KEY": "wrong-variable"])
        #expect(run.outcome == "proposed", "\(run)")
        let requests = try server.requests()
        #expect(requests.count == 1)
        #expect(requests.first?["authorization"] as? String == "Bearer \(key)")
        #expect(!String(decoding: try JSONSerialization.data(withJSONObject: requests.first?["body"] ?? [:]), as: UTF8.self).contains(key),
                "the key is not in the request body")

        // Approve it too, so main, archive refs and approval records all exist; then look everywhere.
        #expect(sb.runCairn(["approve", run.id], cwd: v).status == 0)
        let refs = try sb.gitLines(["for-each-ref", "--format=%(refname)"], cwd: v)
        #expect(!refs.isEmpty)
        let grep = sb.git(["grep", "-F", "-e", key] + refs, cwd: v)
        #expect(grep.status == 1 && grep.stdout.isEmpty, "the API key reached the repository: \(grep)")
        let log = sb.git(["log", "--all", "--format=%B"], cwd: v)
        #expect(!log.stdout.contains(key), "the API key is in a commit message")
        // Nor in any file of the vault, .git included (caches, logs, config; objects are checked by git grep above).
        let raw = sb.run("/bin/grep", ["-r", "-l", "-F", "-e", key, v], cwd: sb.work, env: sb.environment())
        #expect(raw.status == 1 && raw.stdout.isEmpty, "the API key is in files: \(raw)")
    }

    @Test func withoutTheKeyVariableNoAuthorizationIsSent() throws {
        let sb = try Sandbox()
        let probe = try sb.makeVault("probe")
        let (reply, _) = try Self.goodReply(sb, probe)
        let server = try FakeModelServer(sb, scenario: [["body": FakeModelServer.completion(reply)]])
        let v = try vault(sb, server, apiKeyEnv: "ACME_LLM_KEY")
        let run = try sb.runAgent(v, "writer", env: ["CAIRN_MODEL_API_KEY": "not-the-configured-variable"])
        #expect(run.outcome == "proposed", "\(run)")
        #expect(try server.requests().first?["authorization"] is NSNull)
    }

    static let hostilePaths = ["../x.md", ".git/config", "/etc/passwd", "memory/../../x.md", "memory/projects/../../../x.md", "policy.json",
                               "agents/writer.md"]

    @Test(arguments: hostilePaths)
    func aReplyWithAHostilePathIsBlockedAndWritesNothing(_ path: String) throws {
        let sb = try Sandbox()
        let reply = FakeModelServer.editReply(summary: "helpful change", edits: [
            ("memory/projects/fine.md", "# Fine\n"), (path, "[core]\n\tfsmonitor = touch /tmp/pwned\n"),
        ])
        let server = try FakeModelServer(sb, scenario: [["body": FakeModelServer.completion(reply)]])
        let v = try vault(sb, server)
        let gitConfig = sb.read(v + "/.git/config")
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "writer")
        #expect(run.result.status == 1, "\(run)")
        #expect(run.outcome == "blocked", "\(run)")
        #expect(run.blocked.contains { $0["path"] as? String == path }, "the hostile path is named: \(run)")
        #expect(!run.blocked.contains { $0["path"] as? String == "memory/projects/fine.md" }, "\(run)")
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
        #expect(try sb.gitLines(["diff", "--name-only", "main", run.ref], cwd: v) == ["runs/2026/03/\(run.id).json"],
                "not even the harmless edit is committed")
        try sb.expectOperatorViewUnchanged(v, since: before)
        #expect(sb.read(v + "/.git/config") == gitConfig)
        #expect(!sb.exists(sb.work + "/x.md") && !sb.exists(sb.root + "/x.md") && !sb.exists(v + "/x.md"))
        sb.expectFsckClean(v)
    }
}
