import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

// Helpers for the agent, proposal, model and autonomy end-to-end tests: agents written into a vault and
// committed, `cairn agent run --json` with its result parsed, run records read back with `git show`, and a
// real HTTP model server (Tests/Support/fake_model_server.py) on 127.0.0.1.

/// One `cairn agent run --json`: the process result and the parsed `AgentRunResult`.
struct AgentRun: CustomStringConvertible {
    let result: CommandResult
    let json: [String: Any]

    var id: String { json["run"] as? String ?? "" }
    var outcome: String { json["outcome"] as? String ?? "" }
    var ref: String { json["ref"] as? String ?? "" }
    var commit: String { json["commit"] as? String ?? "" }
    var recordPath: String { json["record"] as? String ?? "" }
    var failure: String { json["failure"] as? String ?? "" }
    var blocked: [[String: Any]] { json["blocked"] as? [[String: Any]] ?? [] }
    var description: String { result.description }
}

extension Sandbox {
    /// Writes `agents/NAME.md` (front matter lines without the `---` fences, then `body`) and any extra
    /// files (vault-relative path → content; names in `executable` get mode 755), then commits them all
    /// with `cairn snapshot` so the vault is clean again.
    func addAgent(_ vault: String, _ name: String, frontMatter: String, body: String = "An agent written by a test.\n",
                  files: [String: String] = [:], executable: Set<String> = [],
                  sourceLocation: SourceLocation = #_sourceLocation) throws {
        try write(vault + "/agents/\(name).md", "---\n" + frontMatter + (frontMatter.hasSuffix("\n") ? "" : "\n") + "---\n" + body)
        for (path, text) in files {
            try write(vault + "/" + path, text)
            if executable.contains(path) {
                try #require(chmod(vault + "/" + path, 0o755) == 0, "chmod \(path)", sourceLocation: sourceLocation)
            }
        }
        try snapshot(vault, "Add agent \(name)", sourceLocation: sourceLocation)
    }

    /// `cairn snapshot -m MESSAGE`, required to succeed; `git status` is clean afterwards.
    func snapshot(_ vault: String, _ message: String = "operator edit", sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = runCairn(["snapshot", "-m", message], cwd: vault)
        try #require(r.status == 0, "cairn snapshot failed: \(r)", sourceLocation: sourceLocation)
        try #require(try gitOK(["status", "--porcelain"], cwd: vault) == "", "not clean after snapshot", sourceLocation: sourceLocation)
    }

    /// `cairn agent run NAME --json [--input k=v …]`; requires JSON output (whatever the exit status).
    func runAgent(_ vault: String, _ name: String, inputs: [String] = [], env: [String: String?] = [:],
                  sourceLocation: SourceLocation = #_sourceLocation) throws -> AgentRun {
        let r = runCairn(["agent", "run", name, "--json"] + inputs.flatMap { ["--input", $0] }, cwd: vault, env: env)
        try #require(!r.signaled, "cairn crashed: \(r)", sourceLocation: sourceLocation)
        try #require(r.stdout.hasPrefix("{"), "no JSON result: \(r)", sourceLocation: sourceLocation)
        return AgentRun(result: r, json: try jsonObject(r.stdoutData, sourceLocation: sourceLocation))
    }

    /// `git rev-parse REV` (the full commit id), or nil when it does not resolve.
    func revParse(_ vault: String, _ rev: String) -> String? {
        let r = git(["rev-parse", "--verify", "-q", rev + "^{commit}"], cwd: vault)
        guard r.status == 0 else { return nil }
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every ref name under `prefix` (git for-each-ref).
    func refs(_ vault: String, under prefix: String) throws -> [String] {
        try gitLines(["for-each-ref", "--format=%(refname)", prefix], cwd: vault)
    }

    /// The run record `runs/YYYY/MM/<id>.json` in `rev`, read with `git show`.
    func runRecord(_ vault: String, rev: String, id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let path = "runs/\(id.prefix(4))/\(id.dropFirst(4).prefix(2))/\(id).json"
        let r = git(["show", "\(rev):\(path)"], cwd: vault)
        try #require(r.status == 0, "no run record \(path) in \(rev): \(r)", sourceLocation: sourceLocation)
        return try jsonObject(r.stdoutData, sourceLocation: sourceLocation)
    }

    /// The approval record `approvals/YYYY/MM/<id>.json` on `rev` (default main), or nil when absent.
    func approvalRecord(_ vault: String, id: String, rev: String = "main", sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any]? {
        let path = "approvals/\(id.prefix(4))/\(id.dropFirst(4).prefix(2))/\(id).json"
        let r = git(["show", "\(rev):\(path)"], cwd: vault)
        guard r.status == 0 else { return nil }
        return try jsonObject(r.stdoutData, sourceLocation: sourceLocation)
    }

    /// One trailer's value on `rev` (`git log -1 --format=%(trailers:key=K,valueonly)`).
    func trailer(_ vault: String, _ rev: String, _ key: String) throws -> String {
        try gitOK(["log", "-1", "--format=%(trailers:key=\(key),valueonly)", rev], cwd: vault)
    }

    /// The files a commit changes relative to its first parent, without the run record
    /// (`git diff --name-status --no-renames`), as "M\tpath" lines.
    func changedFiles(_ vault: String, _ rev: String) throws -> [String] {
        try gitLines(["diff", "--name-status", "--no-renames", "\(rev)^", rev], cwd: vault).filter { !$0.contains("\truns/") }
    }

    /// The vault's files as the operator sees them plus main and the proposals, for "the run wrote nothing there".
    func operatorView(_ vault: String) throws -> (files: [String: FileEntry], main: String, status: String) {
        (workingFiles(vault), try gitOK(["rev-parse", "main"], cwd: vault), try gitOK(["status", "--porcelain", "-uall"], cwd: vault))
    }

    /// Requires main, the working tree and `git status` to be as in `before`.
    func expectOperatorViewUnchanged(_ vault: String, since before: (files: [String: FileEntry], main: String, status: String),
                                     sourceLocation: SourceLocation = #_sourceLocation) throws {
        let now = try operatorView(vault)
        #expect(now.main == before.main, "main moved", sourceLocation: sourceLocation)
        #expect(now.status == before.status, "git status changed: \(now.status)", sourceLocation: sourceLocation)
        expectSameFiles(now.files, before.files, "working tree after", "working tree before", sourceLocation: sourceLocation)
    }

    /// Points `.cairn/config.json` at `baseURL` (optionally naming the API key variable) and snapshots it.
    func configureModel(_ vault: String, baseURL: String, apiKeyEnv: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let path = vault + "/.cairn/config.json"
        var config = try jsonObject(read(path), sourceLocation: sourceLocation)
        var model = config["model"] as? [String: Any] ?? [:]
        model["base_url"] = baseURL
        if let apiKeyEnv { model["api_key_env"] = apiKeyEnv }
        config["model"] = model
        try write(path, try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]))
        try snapshot(vault, "Use the test model server", sourceLocation: sourceLocation)
    }
}

// MARK: - A real model server

/// `Tests/Support/fake_model_server.py` running on 127.0.0.1 with a scenario; killed (SIGKILL) when stopped or released.
final class FakeModelServer {
    let port: Int
    let logPath: String
    private let process: Process

    /// Starts the server with `scenario` (see the script's header) in `sandbox`'s folder.
    init(_ sandbox: Sandbox, scenario: [[String: Any]], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let dir = sandbox.root + "/model-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let scenarioPath = dir + "/scenario.json"
        logPath = dir + "/requests.jsonl"
        try JSONSerialization.data(withJSONObject: scenario).write(to: URL(fileURLWithPath: scenarioPath))
        let script = Binaries.packageRoot + "/Tests/Support/fake_model_server.py"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, scenarioPath, logPath]
        p.environment = sandbox.environment()
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        process = p
        // The first line of stdout is the port.
        var buffer = Data()
        let deadline = Date().addingTimeInterval(20)
        while !buffer.contains(0x0A) && Date() < deadline {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
        }
        let line = String(decoding: buffer, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let port = Int(line) else {
            kill(p.processIdentifier, SIGKILL)
            throw HarnessError(description: "the fake model server did not print its port (got '\(line)')")
        }
        self.port = port
    }

    deinit { stop() }

    var baseURL: String { "http://127.0.0.1:\(port)/v1" }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// Every request received so far: `path`, `authorization`, `body`.
    func requests() throws -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: logPath) else { return [] }
        return try data.split(separator: 0x0A).map { try jsonObject(Data($0)) }
    }

    /// A chat-completions body whose assistant message is `content`.
    static func completion(_ content: String, promptTokens: Int = 100, completionTokens: Int = 20) -> [String: Any] {
        ["id": "chatcmpl-test", "object": "chat.completion", "model": "served-model",
         "choices": [["index": 0, "message": ["role": "assistant", "content": content], "finish_reason": "stop"]],
         "usage": ["prompt_tokens": promptTokens, "completion_tokens": completionTokens, "total_tokens": promptTokens + completionTokens]]
    }

    /// A reply in cairn's edit format (ModelReply): `edits` as (path, content) writes.
    static func editReply(summary: String, edits: [(path: String, content: String)], rationale: String? = nil) -> String {
        var object: [String: Any] = ["summary": summary, "edits": edits.map { ["path": $0.path, "action": "write", "content": $0.content] }]
        if let rationale { object["rationale"] = rationale }
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// A monotonic stopwatch for "returned quickly" checks.
struct Stopwatch {
    private let start = ContinuousClock.now
    var seconds: Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}

extension Sandbox {
    /// The note agent's script: appends `- LINE` (input `line`, default "a line from the agent") to the file named
    /// by input `file` (default the Bluebird project note); input `big` adds 450 filler lines (a proposal too large
    /// to merge without review).
    static let noteAgentScript = """
        set -e
        f="${CAIRN_INPUT_FILE:-memory/projects/bluebird-coffee.md}"
        mkdir -p "$(dirname "$f")"
        printf -- '- %s\\n' "${CAIRN_INPUT_LINE:-a line from the agent}" >> "$f"
        if [ -n "$CAIRN_INPUT_BIG" ]; then
          i=0
          while [ $i -lt 450 ]; do echo "filler $i" >> "$f"; i=$((i+1)); done
        fi
        echo "summary: add a line to $f"
        """

    /// A fresh vault with the command agent `name` (`sh agents/NAME.sh`, the note agent's script) committed.
    func makeVaultWithNoteAgent(_ vaultName: String = "vault", agent name: String = "note", autonomy: String = "advisory",
                                sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let v = try makeVault(vaultName, sourceLocation: sourceLocation)
        try addAgent(v, name, frontMatter: """
            kind: command
            command: ["sh", "agents/\(name).sh"]
            reads: ["memory/projects/**"]
            writes: ["memory/projects/**"]
            autonomy: \(autonomy)
            timeout: 30s
            """, files: ["agents/\(name).sh": Self.noteAgentScript], sourceLocation: sourceLocation)
        return v
    }
}

extension Sandbox {
    /// `state(of:)` with the index's modification time left out (its content hash still counts): for commands that
    /// may refresh git's stat cache without changing anything.
    func stateIgnoringIndexTime(of dir: String) -> FolderState {
        FolderState(lines: state(of: dir).lines.map { line in
            guard line.hasPrefix("file .git/index ") else { return line }
            var parts = line.split(separator: " ").map(String.init)
            if parts.count == 6 { parts.remove(at: 4) }  // file PATH MODE SIZE MTIME HASH
            return parts.joined(separator: " ")
        })
    }

    func expectUnchangedIgnoringIndexTime(_ dir: String, since before: FolderState, sourceLocation: SourceLocation = #_sourceLocation) {
        let after = stateIgnoringIndexTime(of: dir)
        #expect(after == before, "\(dir) changed:\n\(before.difference(to: after))", sourceLocation: sourceLocation)
    }
}
