import Foundation
import Testing

@testable import CairnKit

// MARK: - A real chat-completions server

/// `Tests/Support/fake_model_server.py` run as a subprocess on 127.0.0.1, answering from a
/// scenario and logging every request; killed with SIGKILL when released.
private final class FakeModelServer {
    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Support/fake_model_server.py").path

    let dir: String
    let process = Process()
    let port: Int
    private(set) var killed = false

    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    /// Starts the server with `steps` (see the script's docstring), one per request in order.
    init(_ steps: [[String: Any]]) throws {
        dir = NSTemporaryDirectory() + "cairn-model-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let scenario = dir + "/scenario.json"
        try JSONSerialization.data(withJSONObject: steps).write(to: URL(fileURLWithPath: scenario))
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script, scenario, dir + "/requests.jsonl"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        var line = Data()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data("\n".utf8) { break }
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSDebugDescriptionErrorKey: "fake model server did not print its port"])
        }
        self.port = port
    }

    /// Stops the server now (SIGKILL: a handler thread may be asleep in a delay step).
    func stop() {
        guard !killed else { return }
        killed = true
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Every request received so far: `path`, `authorization` (or NSNull) and the JSON `body`.
    func requests() -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: dir + "/requests.jsonl") else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// The `model` of each request's body, in order.
    func requestedModels() -> [String] { requests().map { ($0["body"] as? [String: Any])?["model"] as? String ?? "?" } }
}

/// A scenario step: a 200 chat completion whose assistant message is `content`.
private func completion(_ content: String, model: String = "served-model", prompt: Int = 100, completion: Int = 20) -> [String: Any] {
    ["status": 200,
     "body": ["id": "chatcmpl-1", "object": "chat.completion", "model": model,
              "choices": [["index": 0, "message": ["role": "assistant", "content": content], "finish_reason": "stop"]],
              "usage": ["prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion]]]
}

private func status(_ code: Int) -> [String: Any] { ["status": code] }

/// Records the executor's backoff waits instead of sleeping.
private final class SleepLog: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [TimeInterval] = []
    var waits: [TimeInterval] { lock.withLock { values } }
    func record(_ t: TimeInterval) { lock.withLock { values.append(t) } }
}

// MARK: - Fixtures

private let validReply = #"""
{"summary": "Record Acme as a qualified lead",
 "rationale": "The inbox note says Acme signed the NDA.",
 "edits": [{"path": "memory/projects/acme.md", "action": "write", "content": "# Acme\nStatus: qualified\n"},
           {"path": "inbox/acme-nda.md", "action": "delete"}]}
"""#

private let coreText = "We are Fernhill Studio, a one-person design shop in Leeds.\n"
private let projectText = "# Acme\nStatus: lead\nContact: Priya\n"

private func agent(model: String? = "primary-model", fallback: String? = nil, timeout: String = "10s") throws -> AgentDefinition {
    var text = "---\nkind: model\nreads: [\"memory/**\", \"inbox/**\"]\nwrites: [\"memory/projects/**\", \"inbox/**\"]\ntimeout: \(timeout)\n"
    if let model { text += "model: \(model)\n" }
    if let fallback { text += "fallback_model: \(fallback)\n" }
    text += "---\nYou are the research agent. Keep project notes current from new inbox items.\n"
    return try AgentDefinition.parse(path: "agents/research.md", data: Data(text.utf8))
}

private func context() -> AgentContext {
    AgentContext(
        runID: "20260301-090000-research-ab12", agent: "research", input: ["lead": "Acme Corp", "source": "email"],
        base: "4be2c9d", now: "2026-03-01T09:00:00Z",
        core: [ContextItem(path: "memory/core/identity.md", blob: "a1", score: 1, reason: "core", tokens: 15)],
        retrieved: [ContextItem(path: "memory/projects/acme.md", blob: "b2", score: 0.8, reason: "read-scope", tokens: 9),
                    ContextItem(path: "memory/projects/missing.md", blob: "c3", score: 0.5, reason: "read-scope", tokens: 3)])
}

private let files: [(path: String, content: String)] = [
    ("memory/core/identity.md", coreText), ("memory/projects/acme.md", projectText),
]

private func settings(_ server: FakeModelServer, model: String = "vault-model", fallback: String = "") -> VaultConfig.ModelSettings {
    VaultConfig.ModelSettings(baseURL: server.baseURL, model: model, fallbackModel: fallback)
}

private func run(
    _ server: FakeModelServer, agent: AgentDefinition, settings: VaultConfig.ModelSettings? = nil, apiKey: String? = nil,
    sleeps: SleepLog = SleepLog(), attempts: Int = 3, pricing: ModelPricing = .free
) -> ModelOutcome {
    let executor = ModelAgentExecutor(sleep: { sleeps.record($0) }, maxAttemptsPerModel: attempts, baseBackoff: 0.5)
    return executor.run(agent: agent, settings: settings ?? settingsFor(server), apiKey: apiKey,
                        context: context(), files: files, pricing: pricing)
}

private func settingsFor(_ server: FakeModelServer) -> VaultConfig.ModelSettings { settings(server) }

// MARK: - The executor against a real HTTP server

@Suite("Model agents")
struct ModelAgentTests {
    @Test func goodReplyBecomesEditsWithTokensAndCost() throws {
        let server = try FakeModelServer([completion(validReply, prompt: 1200, completion: 300)])
        let outcome = run(server, agent: try agent(), apiKey: "sk-test",
                          pricing: ModelPricing(inputPerMillion: 2, outputPerMillion: 10))

        #expect(outcome.failure == nil)
        #expect(outcome.summary == "Record Acme as a qualified lead")
        #expect(outcome.rationale == "The inbox note says Acme signed the NDA.")
        #expect(outcome.edits == [.write("memory/projects/acme.md", "# Acme\nStatus: qualified\n"), .delete("inbox/acme-nda.md")])
        #expect(outcome.model == "primary-model")
        #expect(outcome.promptTokens == 1200 && outcome.completionTokens == 300)
        #expect(abs(outcome.costUSD - 0.0054) < 1e-12)
        #expect(outcome.replies == [validReply])
        #expect(outcome.attempts.count == 1)
        #expect(outcome.attempts.first?.status == 200 && outcome.attempts.first?.error == nil)

        let requests = server.requests()
        try #require(requests.count == 1)
        #expect(requests[0]["path"] as? String == "/v1/chat/completions")
        #expect(requests[0]["authorization"] as? String == "Bearer sk-test")
        let body = try #require(requests[0]["body"] as? [String: Any])
        #expect(body["model"] as? String == "primary-model")
        #expect((body["temperature"] as? NSNumber)?.doubleValue == 0)
        #expect((body["response_format"] as? [String: Any])?["type"] as? String == "json_object")
        let sent = try #require(body["messages"] as? [[String: String]])
        #expect(sent == outcome.messages)
        try #require(sent.count == 2)
        #expect(sent[0]["role"] == "system" && sent[1]["role"] == "user")
        let system = sent[0]["content"] ?? "", user = sent[1]["content"] ?? ""
        #expect(system.hasPrefix("You are the research agent."))
        #expect(system.contains("Today is 2026-03-01."))
        #expect(system.contains("- memory/projects/**\n- inbox/**"))
        #expect(system.contains("Reply with JSON only"))
        #expect(system.contains(#""action": "write""#))
        #expect(user.hasPrefix("## Task\n\nlead: Acme Corp\nsource: email\n"))
        #expect(user.contains("## Core memory\n\n### memory/core/identity.md\n\n```\n" + coreText + "```\n"))
        #expect(user.contains("## Files\n\n### memory/projects/acme.md\n\n```\n" + projectText + "```\n"))
        #expect(!user.contains("missing.md"), "an item whose content was not passed is left out")
    }

    @Test func noAuthorizationHeaderWithoutAKey() throws {
        let server = try FakeModelServer([completion(validReply), completion(validReply)])
        #expect(run(server, agent: try agent(), apiKey: nil).failure == nil)
        #expect(run(server, agent: try agent(), apiKey: "").failure == nil)
        let requests = server.requests()
        try #require(requests.count == 2)
        #expect(requests.allSatisfy { $0["authorization"] is NSNull })
    }

    @Test func vaultModelIsUsedWhenTheAgentNamesNone() throws {
        let server = try FakeModelServer([completion(validReply)])
        let outcome = run(server, agent: try agent(model: nil))
        #expect(outcome.model == "vault-model")
        #expect(server.requestedModels() == ["vault-model"])
    }

    @Test func fencedReplyWithProseIsAccepted() throws {
        let server = try FakeModelServer([completion("Here is the change:\n```json\n\(validReply)\n```\nLet me know!")])
        let outcome = run(server, agent: try agent())
        #expect(outcome.failure == nil)
        #expect(outcome.edits.count == 2)
    }

    @Test func proseOnlyOnBothModelsFailsWithTheRepliesSaved() throws {
        let server = try FakeModelServer([
            completion("I think Acme should be marked qualified.", prompt: 50, completion: 10),
            completion("Sure! I have updated the note.", prompt: 60, completion: 12),
        ])
        let outcome = run(server, agent: try agent(fallback: "fallback-model"))
        let failure = try #require(outcome.failure)
        #expect(failure.contains("fallback-model"))
        #expect(failure.contains("not JSON: the reply contains no JSON object"))
        #expect(outcome.replies == ["I think Acme should be marked qualified.", "Sure! I have updated the note."])
        #expect(outcome.edits.isEmpty && outcome.summary == nil && outcome.model == nil)
        #expect(outcome.attempts.map(\.model) == ["primary-model", "fallback-model"])
        #expect(outcome.attempts.allSatisfy { $0.status == 200 && ($0.error ?? "").hasPrefix("reply rejected: not JSON") })
        #expect(outcome.promptTokens == 110 && outcome.completionTokens == 22)
        #expect(server.requestedModels() == ["primary-model", "fallback-model"])
    }

    @Test func rateLimitIsRetriedAfterABackoff() throws {
        let server = try FakeModelServer([status(429), completion(validReply)])
        let sleeps = SleepLog()
        let outcome = run(server, agent: try agent(), sleeps: sleeps)
        #expect(outcome.failure == nil)
        #expect(outcome.attempts.map(\.status) == [429, 200])
        #expect(outcome.attempts.map(\.attempt) == [1, 2])
        #expect(outcome.attempts[0].error?.contains("HTTP 429") == true)
        #expect(sleeps.waits == [0.5])
        #expect(server.requestedModels() == ["primary-model", "primary-model"])
    }

    @Test func serverErrorsExhaustThePrimaryThenTheFallbackAnswers() throws {
        let server = try FakeModelServer([status(500), status(502), status(503), completion(validReply, prompt: 7, completion: 3)])
        let sleeps = SleepLog()
        let outcome = run(server, agent: try agent(fallback: "fallback-model"), sleeps: sleeps)
        #expect(outcome.failure == nil)
        #expect(outcome.model == "fallback-model")
        #expect(server.requestedModels() == ["primary-model", "primary-model", "primary-model", "fallback-model"])
        #expect(outcome.attempts.map(\.status) == [500, 502, 503, 200])
        #expect(outcome.attempts.map(\.attempt) == [1, 2, 3, 1])
        #expect(sleeps.waits == [0.5, 1.0], "exponential backoff between attempts of one model, none before the fallback")
        #expect(outcome.promptTokens == 7)
    }

    @Test func slowReplyTimesOutAndIsRetried() throws {
        let server = try FakeModelServer([["delay": 10, "body": [:]], ["delay": 10, "body": [:]]])
        let started = Date()
        let outcome = run(server, agent: try agent(timeout: "1s"), attempts: 2)
        let elapsed = Date().timeIntervalSince(started)
        let failure = try #require(outcome.failure)
        #expect(failure.contains("timed out"))
        #expect(outcome.attempts.count == 2)
        #expect(outcome.attempts.allSatisfy { $0.status == nil && ($0.error ?? "").contains("timed out") })
        #expect(outcome.attempts.allSatisfy { $0.durationMs >= 900 && $0.durationMs < 8000 })
        #expect(elapsed < 16, "each attempt gives up after about 1s, not the server's 10s")
        #expect(server.requests().count == 2)
    }

    @Test func unauthorizedIsNotRetriedOnTheSameModel() throws {
        let server = try FakeModelServer([status(401), status(401)])
        let sleeps = SleepLog()
        let outcome = run(server, agent: try agent(fallback: "fallback-model"), apiKey: "wrong", sleeps: sleeps)
        let failure = try #require(outcome.failure)
        #expect(failure.contains("HTTP 401"))
        #expect(server.requestedModels() == ["primary-model", "fallback-model"])
        #expect(outcome.attempts.map(\.status) == [401, 401])
        #expect(sleeps.waits.isEmpty)
    }

    @Test func malformedBodyFromTheServerIsPermanent() throws {
        let server = try FakeModelServer([["raw": "not json"], completion(validReply)])
        let outcome = run(server, agent: try agent(fallback: "fallback-model"))
        #expect(outcome.model == "fallback-model")
        #expect(outcome.attempts[0].error?.contains("malformed chat completion") == true)
        #expect(outcome.replies.first == "not json", "the raw body is kept for the run record")
        #expect(server.requestedModels() == ["primary-model", "fallback-model"])
    }

    @Test func serverRejectingResponseFormatIsAskedAgainWithoutIt() throws {
        let server = try FakeModelServer([
            ["status": 400, "body": ["error": ["message": "unknown field: response_format"]]], completion(validReply),
        ])
        let outcome = run(server, agent: try agent())
        #expect(outcome.failure == nil)
        let bodies = server.requests().compactMap { $0["body"] as? [String: Any] }
        try #require(bodies.count == 2)
        #expect(bodies[0]["response_format"] != nil)
        #expect(bodies[1]["response_format"] == nil)
    }

    @Test func otherBadRequestsAreNotRepeatedWithoutResponseFormat() throws {
        let server = try FakeModelServer([["status": 400, "body": ["error": ["message": "context length exceeded"]]]])
        let outcome = run(server, agent: try agent())
        #expect(outcome.failure?.contains("context length exceeded") == true)
        #expect(server.requests().count == 1)
    }

    @Test func refusedConnectionIsRetried() throws {
        let closed = try FakeModelServer([])
        closed.stop()
        let sleeps = SleepLog()
        let outcome = run(closed, agent: try agent(), sleeps: sleeps, attempts: 2)
        #expect(outcome.failure != nil)
        #expect(outcome.attempts.count == 2)
        #expect(outcome.attempts.allSatisfy { $0.status == nil })
        #expect(sleeps.waits == [0.5])
    }

    @Test func invalidRepliesFailWithAPreciseReason() throws {
        let replies = [
            #"{"summary": "x", "edits": [{"path": "memory/projects/a.md", "action": "move"}]}"#,
            #"{"edits": []}"#,
            #"{"summary": "x", "edits": [{"path": "inbox/a.md", "action": "delete"}, {"path": "inbox/a.md", "action": "write", "content": "y"}]}"#,
            #"{"summary": "x", "edits": [{"path": "memory/projects/a.md", "action": "write", "content": "a\u0000b"}]}"#,
        ]
        let server = try FakeModelServer(replies.map { completion($0) })
        var failures: [String] = []
        for expected in replies {
            let outcome = run(server, agent: try agent())
            #expect(outcome.replies == [expected])
            #expect(outcome.edits.isEmpty)
            failures.append(outcome.failure ?? "")
        }
        #expect(failures[0].hasSuffix(#"reply rejected: edits[0] (memory/projects/a.md): unknown action "move"; use write or delete"#))
        #expect(failures[1].hasSuffix(#"reply rejected: missing "summary" (one line for the commit subject)"#))
        #expect(failures[2].hasSuffix("reply rejected: edits[1] (inbox/a.md): duplicate path, already changed by edits[0]"))
        #expect(failures[3].hasSuffix("reply rejected: edits[0] (memory/projects/a.md): content contains a NUL byte (binary content is not allowed)"))
    }

    @Test func noModelConfiguredFailsWithoutARequest() throws {
        let server = try FakeModelServer([completion(validReply)])
        let outcome = run(server, agent: try agent(model: nil), settings: settings(server, model: " "))
        #expect(outcome.failure?.contains("no model configured") == true)
        #expect(server.requests().isEmpty)
    }

    @Test func fallbackEqualToThePrimaryIsNotAskedTwice() throws {
        let a = try agent(model: "m1", fallback: "m1")
        #expect(ModelAgentExecutor.models(agent: a, settings: .init(model: "v", fallbackModel: "vf")) == ["m1"])
        let b = try agent(model: nil)
        #expect(ModelAgentExecutor.models(agent: b, settings: .init(model: "v", fallbackModel: "vf")) == ["v", "vf"])
        #expect(ModelAgentExecutor.models(agent: b, settings: .init(model: "v", fallbackModel: "")) == ["v"])
    }

    @Test func promptFencesContentThatHoldsBackticks() throws {
        let messages = ModelAgentExecutor.messages(
            agent: try agent(), context: context(),
            files: [("memory/core/identity.md", "Use ```swift blocks.\n"), ("memory/projects/acme.md", "plain")])
        #expect(messages[1].content.contains("````\nUse ```swift blocks.\n````\n"))
        #expect(messages[1].content.contains("```\nplain\n```\n"))
    }

    @Test func hugeRepliesAreCappedInTheRecord() throws {
        let capped = ModelAgentExecutor.capped(String(repeating: "é", count: 200_000))
        #expect(capped.utf8.count <= ModelOutcome.maxReplyBytes)
        #expect(capped.hasSuffix("bytes]"))
        #expect(ModelAgentExecutor.capped("short") == "short")
    }
}

// MARK: - The reply format

private func reason(_ text: String) -> String? {
    do {
        _ = try ModelReply.parse(text)
        return nil
    } catch {
        return error.reason
    }
}

@Suite("ModelReply")
struct ModelReplyTests {
    @Test func parsesWritesDeletesAndRationale() throws {
        let reply = try ModelReply.parse(validReply)
        #expect(reply.summary == "Record Acme as a qualified lead")
        #expect(reply.rationale == "The inbox note says Acme signed the NDA.")
        #expect(reply.edits == [.write("memory/projects/acme.md", "# Acme\nStatus: qualified\n"), .delete("inbox/acme-nda.md")])
    }

    @Test func noEditsAndNoRationaleAreFine() throws {
        let reply = try ModelReply.parse(#"{"summary": "Nothing to change", "edits": []}"#)
        #expect(reply.edits.isEmpty && reply.rationale == nil)
    }

    @Test func firstBalancedObjectIsTakenFromFencesOrProse() throws {
        #expect(try ModelReply.parse("```json\n\(validReply)\n```").edits.count == 2)
        #expect(try ModelReply.parse("Sure.\n\(validReply)\nAnything else? {not json}").edits.count == 2)
        let tricky = #"{"summary": "Braces } and \" quotes {", "edits": [{"path": "a.md", "action": "write", "content": "}{ \\"}]}"#
        let reply = try ModelReply.parse("ok: " + tricky)
        #expect(reply.summary == #"Braces } and " quotes {"#)
        #expect(reply.edits == [.write("a.md", #"}{ \"#)])
        #expect(ModelReply.firstJSONObject(in: "x {\"a\": {\"b\": 1}} y {\"c\": 2}") == "{\"a\": {\"b\": 1}}")
    }

    @Test func notJSONIsRefused() {
        #expect(reason("I updated the note for you.") == "not JSON: the reply contains no JSON object")
        #expect(reason("  \n") == "not JSON: the reply is empty")
        #expect(reason(#"{"summary": "x", "edits": ["#) == "not JSON: the reply's JSON object is never closed")
        #expect(reason(#"{"summary" "x", "edits": []}"#)?.hasPrefix("not JSON: the reply's object does not parse") == true)
        #expect(reason(#"{summary: 'x'}"#)?.hasPrefix("not JSON") == true)
    }

    @Test func summaryIsRequiredAsOneLine() {
        #expect(reason(#"{"edits": []}"#) == #"missing "summary" (one line for the commit subject)"#)
        #expect(reason(#"{"summary": null, "edits": []}"#) == #"missing "summary" (one line for the commit subject)"#)
        #expect(reason(#"{"summary": "  ", "edits": []}"#) == #""summary" is empty; give one line for the commit subject"#)
        #expect(reason(#"{"summary": 42, "edits": []}"#) == #""summary" must be a string"#)
        #expect(reason(#"{"summary": "a\nb", "edits": []}"#) == #""summary" must be one line (put details in "rationale")"#)
        #expect(reason(#"{"summary": "x", "rationale": ["no"], "edits": []}"#) == #""rationale" must be a string"#)
    }

    @Test func editsMustBeAList() {
        #expect(reason(#"{"summary": "x"}"#) == #"missing "edits" (a list of edits; use [] for no change)"#)
        #expect(reason(#"{"summary": "x", "edits": {"path": "a.md"}}"#) == #""edits" must be a list"#)
        #expect(reason(#"{"summary": "x", "edits": ["a.md"]}"#) == "edits[0] must be an object")
    }

    @Test func eachEditIsTypeChecked() {
        #expect(reason(#"{"summary": "x", "edits": [{"action": "delete"}]}"#) == #"edits[0]: missing "path""#)
        #expect(reason(#"{"summary": "x", "edits": [{"path": 7, "action": "delete"}]}"#) == #"edits[0]: "path" must be a string"#)
        #expect(reason(#"{"summary": "x", "edits": [{"path": "a.md"}]}"#) == #"edits[0] (a.md): missing "action" (write or delete)"#)
        #expect(reason(#"{"summary": "x", "edits": [{"path": "a.md", "action": "rename"}]}"#)
            == #"edits[0] (a.md): unknown action "rename"; use write or delete"#)
        #expect(reason(#"{"summary": "x", "edits": [{"path": "a.md", "action": "write"}]}"#)
            == #"edits[0] (a.md): a write needs "content" as a string (the full new file)"#)
        #expect(reason(#"{"summary": "x", "edits": [{"path": "a.md", "action": "write", "content": 1}]}"#)
            == #"edits[0] (a.md): a write needs "content" as a string (the full new file)"#)
    }

    @Test func pathsAreOnlyTypeChecked() throws {
        // PathGuard judges paths later; the parser passes them through unchanged.
        let reply = try ModelReply.parse(#"{"summary": "x", "edits": [{"path": "../etc/passwd", "action": "delete"}]}"#)
        #expect(reply.edits == [.delete("../etc/passwd")])
    }

    @Test func duplicatePathsAreRefused() {
        #expect(reason(#"{"summary": "x", "edits": [{"path": "a.md", "action": "delete"}, {"path": "b.md", "action": "delete"}, {"path": "a.md", "action": "delete"}]}"#)
            == "edits[2] (a.md): duplicate path, already changed by edits[0]")
        #expect(reason(#"{"summary": "x", "edits": [{"path": "memory/a.md", "action": "delete"}, {"path": "./memory//a.md", "action": "delete"}]}"#)
            == "edits[1] (./memory//a.md): duplicate path, already changed by edits[0]")
    }

    @Test func nulInContentIsRefused() {
        #expect(reason(#"{"summary": "x", "edits": [{"path": "a.bin", "action": "write", "content": "\u0000ELF"}]}"#)
            == "edits[0] (a.bin): content contains a NUL byte (binary content is not allowed)")
    }

    @Test func sizeLimitsAreEnforced() throws {
        func reply(_ edits: [[String: String]]) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: ["summary": "x", "edits": edits]), as: UTF8.self)
        }
        let tooMany = (0...ModelReply.maxEdits).map { ["path": "inbox/\($0).md", "action": "delete"] }
        #expect(reason(try reply(tooMany)) == "too many edits: 201 (at most 200)")
        #expect(try ModelReply.parse(reply(Array(tooMany.dropLast()))).edits.count == 200)

        let big = String(repeating: "a", count: ModelReply.maxFileBytes + 1)
        #expect(reason(try reply([["path": "a.md", "action": "write", "content": big]]))
            == "edits[0] (a.md): content is 1048577 bytes, over the limit of 1048576 bytes (1 MiB) per file")
        let exact = String(repeating: "a", count: ModelReply.maxFileBytes)
        #expect(try ModelReply.parse(reply([["path": "a.md", "action": "write", "content": exact]])).edits.count == 1)

        let nine = (0..<9).map { ["path": "f\($0).md", "action": "write", "content": exact] }
        #expect(reason(try reply(nine)) == "edits carry more than 8388608 bytes (8 MiB) of content in total (passed at edits[8])")
        #expect(try ModelReply.parse(reply(Array(nine.prefix(8)))).edits.count == 8)
    }
}
