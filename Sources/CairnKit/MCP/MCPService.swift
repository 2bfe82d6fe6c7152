import CairnGit
import Foundation
import MCP
#if canImport(Glibc)
import Glibc
#endif

/// What `cairn mcp` takes from its caller: who the operator is, the clock, and what agents it runs may get.
public struct MCPServerOptions: Sendable {
    /// The operator: commits of snapshots and runs are made on their behalf.
    public var author: OperatorIdentity
    /// The time stamped on commits.
    public var clock: @Sendable () -> Date
    /// Environment for command agents started by `run_agent` (the CLI passes PATH, HOME, LANG; never secrets).
    public var agentEnvironment: [String: String] = [:]
    /// The model API key, read by the caller from the variable `.cairn/config.json` names.
    public var apiKey: String?
    /// The version reported to clients.
    public var version = "0"
    /// Whether the server watches the working tree while it runs (when no `cairn watch` does), so that a search
    /// checks only what changed since the last call instead of statting every note.
    public var watchWorkingTree = true

    public init(author: OperatorIdentity, clock: @escaping @Sendable () -> Date) {
        self.author = author
        self.clock = clock
    }
}

/// A tool call the client got wrong or the vault refused: reported to the client as a tool error it can read.
struct ToolFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The vault behind `cairn mcp`: one open repository and search index kept warm between calls, each call run in
/// turn (the actor serializes them). Reads show the working tree, so an edit saved in an editor is seen by the next
/// call; every write is a proposal of the agent `mcp:<client>`.
public actor MCPService {
    let vault: Vault
    let options: MCPServerOptions
    /// The agent identity of the connected client, `mcp:<client name>`.
    private(set) var agentName = "mcp:client"

    /// The largest file `read_note` returns.
    static let maxReadBytes = 8 << 20

    public init(root: String, options: MCPServerOptions) throws {
        let vault = try Vault.open(at: root)
        self.vault = vault
        self.options = options
    }

    /// The change feed this server runs for itself (nil: `cairn watch` runs, or watching is off or failed).
    private var watcher: VaultWatcher.InProcess?

    /// Starts watching the working tree for the server's lifetime (see `MCPServerOptions.watchWorkingTree`), unless
    /// a watcher already answers for the vault. Called before every call too: when the watcher this server relied on
    /// went away (another server's that exited, a `cairn watch` that was stopped, its own), this server starts its
    /// own again; while another one's socket file is there, that check is one `access` call. A watcher that cannot
    /// start (the kernel's inotify limit) is not tried again: searches then check every note.
    func startWatching() {
        guard options.watchWorkingTree, !watchFailed else { return }
        if let running = watcher {
            if running.failure == nil { return }
            watcher = nil
        } else if watchTried && access(WatchClient.socketPath(gitDir: vault.gitDir), F_OK) == 0 {
            return
        }
        watchTried = true
        do { watcher = try VaultWatcher.startInProcess(vault: vault) } catch { watchFailed = true }
    }
    private var watchTried = false
    private var watchFailed = false

    /// Stops the watcher `startWatching` started, if any.
    func stopWatching() {
        watcher?.stop()
        watcher = nil
    }

    /// Names the agent identity after the client (`mcp:claude-code`), from the name it gave at initialization.
    func setClient(_ name: String) {
        let slug = String(Slug.make(name).prefix(40))
        agentName = "mcp:" + (slug == "untitled" ? "client" : slug)
    }

    /// Returns once no call is running (calls run one at a time on the actor).
    func idle() {}

    // MARK: - Tools

    /// Runs tool `name`. Unknown tools are protocol errors; anything the tool itself refuses is a tool error
    /// result with the reason, so the model can read it and try again.
    func call(_ name: String, _ arguments: [String: Value]) throws -> CallTool.Result {
        guard let tool = MCPTools.all.first(where: { $0.name == name }) else {
            throw MCPError.invalidParams("unknown tool '\(PolicyGate.display(String(name.prefix(100))))'; tools: "
                                         + MCPTools.all.map(\.name).joined(separator: ", "))
        }
        startWatching()
        do {
            let args = Arguments(tool: name, values: arguments)
            try args.only(Set((tool.inputSchema.objectValue?["properties"]?.objectValue ?? [:]).keys))
            let result: any Encodable
            switch name {
            case MCPTools.search: result = try search(args)
            case MCPTools.read: result = try read(args)
            case MCPTools.list: result = try list(args)
            case MCPTools.recent: result = try recent(args)
            case MCPTools.propose: result = try propose(args)
            case MCPTools.proposals: result = try proposals(args)
            case MCPTools.explain: result = try explain(args)
            case MCPTools.runAgent: result = try runAgent(args)
            default: result = try startWorkflow(args)
            }
            let json = try Self.encode(result)
            let structured: Value? = try JSONDecoder().decode(Value.self, from: json)
            return CallTool.Result(content: [.text(text: String(decoding: json, as: UTF8.self), annotations: nil, _meta: nil)],
                                   structuredContent: structured, isError: false)
        } catch {
            return CallTool.Result(content: [.text(text: "\(name): \(error)", annotations: nil, _meta: nil)], isError: true)
        }
    }

    static func encode(_ value: any Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(value)
    }

    struct Found: Encodable {
        let path: String
        let lines: String?
        let title: String
        let tier: String?
        let tags: [String]
        let score: Double
        let text: String
        let blob: String
        let uncommitted: Bool
    }
    struct SearchOutput: Encodable { let query: String; let results: [Found] }

    func search(_ args: Arguments) throws -> SearchOutput {
        let query = try args.string("query") ?? ""
        let tier = try args.string("tier"), tag = try args.string("tag"), path = try args.string("path")
        let limit = try args.int("limit", in: 1...50) ?? 10
        if query.allSatisfy(\.isWhitespace) && tier == nil && tag == nil && path == nil {
            throw ToolFailure("give a query, or a filter (tier, tag, path)")
        }
        let results = try vault.search(query, tier: tier, tag: tag, path: path, limit: limit)
        let passages = results.hits.map { hit -> Found in
            var lines: String? = nil, text = hit.snippet(open: "", close: "")
            if let data = try? readFile(hit.path).data, !data.contains(0) {
                let passages = Passage.split(String(decoding: data, as: UTF8.self), maxTokens: 300)
                let body = passages.count > 1 && passages[0].firstLine == 1 && data.starts(with: Data("---".utf8)) ? Array(passages.dropFirst()) : passages
                let chosen = hit.line.flatMap { l in passages.first { $0.firstLine <= l && l <= $0.lastLine } } ?? body.first
                if let chosen { lines = chosen.lineRange; text = chosen.text }
            }
            return Found(path: hit.path, lines: lines, title: hit.title, tier: hit.tier, tags: hit.tags, score: hit.score,
                           text: text, blob: hit.blob, uncommitted: hit.source == "worktree")
        }
        return SearchOutput(query: query, results: passages)
    }

    struct ReadOutput: Encodable {
        let path: String
        let blob: String
        let lines: String
        let totalLines: Int
        let content: String
        /// False when the file differs from main (an edit not yet committed).
        let committed: Bool
    }

    func read(_ args: Arguments) throws -> ReadOutput {
        let (path, data) = try readFile(try args.required("path"))
        if data.contains(0) { throw ToolFailure("\(path) is binary (\(data.count) bytes); read_note returns text only") }
        let blob = try Repository.hashBlob(data).hex
        var all = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        if all.last == "" { all.removeLast() }
        let first = try args.int("start_line", in: 1...Int.max) ?? 1
        let last = min(try args.int("end_line", in: 1...Int.max) ?? all.count, all.count)
        if first > max(all.count, 1) { throw ToolFailure("\(path) has \(all.count) lines; start_line \(first) is past its end") }
        if last < first && !all.isEmpty { throw ToolFailure("end_line \(last) is before start_line \(first)") }
        let content = all.isEmpty ? "" : all[(first - 1)...(last - 1)].joined(separator: "\n") + "\n"
        let committed = try vault.head().flatMap { try vault.repository.entry(at: path, in: try vault.repository.commit($0).tree) }?.oid.hex == blob
        return ReadOutput(path: path, blob: blob, lines: all.isEmpty ? "0-0" : "\(first)-\(last)", totalLines: all.count,
                          content: content, committed: committed)
    }

    /// A regular file of the working tree, by a vault-relative path: no `..`, no absolute path, no `.git`, and no
    /// symbolic link anywhere on the way, so nothing outside the vault can be read.
    func readFile(_ raw: String) throws -> (path: String, data: Data) {
        let path: String
        do { path = try PathGuard.normalize(raw) } catch { throw ToolFailure("\(PolicyGate.display(raw)): \(error.reason)") }
        var here = vault.root
        let parts = path.split(separator: "/")
        for (i, part) in parts.enumerated() {
            here += "/" + part
            var st = stat()
            guard lstat(here, &st) == 0 else { throw ToolFailure("\(path): no such file in the vault") }
            let type = st.st_mode & S_IFMT
            if type == S_IFLNK { throw ToolFailure("\(path): \(parts[...i].joined(separator: "/")) is a symbolic link; links are not followed") }
            if i < parts.count - 1 { if type != S_IFDIR { throw ToolFailure("\(path): no such file in the vault") }; continue }
            if type == S_IFDIR { throw ToolFailure("\(path) is a folder; list_notes lists its notes") }
            guard type == S_IFREG else { throw ToolFailure("\(path) is not a regular file") }
            if Int(st.st_size) > Self.maxReadBytes { throw ToolFailure("\(path) is too large to read (\(st.st_size) bytes)") }
        }
        let fd = open(here, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw ToolFailure("\(path): cannot be read (\(String(cString: strerror(errno))))") }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        let data = try handle.readToEnd() ?? Data()
        return (path, data.prefix(Self.maxReadBytes))
    }

    struct NoteRow: Encodable { let path: String; let title: String; let tier: String?; let tags: [String]; let uncommitted: Bool }
    struct ListOutput: Encodable { let folder: String; let notes: [NoteRow] }

    func list(_ args: Arguments) throws -> ListOutput {
        var folder = try args.string("folder") ?? "memory"
        while folder.hasSuffix("/") { folder.removeLast() }
        let glob = folder.isEmpty ? "**" : folder.contains("*") ? folder : folder + "/**"
        let limit = try args.int("limit", in: 1...1000) ?? 100
        let results = try vault.search("", tier: try args.string("tier"), tag: try args.string("tag"), path: glob, limit: limit)
        let rows = results.hits.map { NoteRow(path: $0.path, title: $0.title, tier: $0.tier, tags: $0.tags, uncommitted: $0.source == "worktree") }
        return ListOutput(folder: folder, notes: rows.sorted { $0.path < $1.path })
    }

    struct Change: Encodable {
        let commit: String
        let date: Date
        let actor: String
        let summary: String
        let files: [String]
        let run: String?
    }

    struct RecentOutput: Encodable { let changes: [Change] }

    func recent(_ args: Arguments) throws -> RecentOutput {
        let path = try args.string("path")
        if let path { do { _ = try PathGuard.normalize(path) } catch { throw ToolFailure("\(PolicyGate.display(path)): \(error.reason)") } }
        return RecentOutput(changes: try vault.log(path: path, limit: try args.int("limit", in: 1...200) ?? 20).map {
            Change(commit: $0.commit, date: $0.date, actor: $0.actor, summary: $0.summary, files: $0.changes.map(\.path),
                   run: $0.trailers["Cairn-Run"])
        })
    }

    struct ProposeOutput: Encodable {
        let proposal: String
        let agent: String
        /// pending (waits for review), stale (cannot be approved), merged (policy merged it), or no-changes.
        let status: String
        let commit: String
        let files: [FileChange]
        let needsReview: [String]
        let stale: [String]
        let message: String
    }

    func propose(_ args: Arguments) throws -> ProposeOutput {
        let summary = try args.required("summary")
        let rationale = try args.string("rationale")
        let items = try args.objects("edits")
        guard !items.isEmpty else { throw ToolFailure("edits is empty; give at least one edit") }
        guard items.count <= 50 else { throw ToolFailure("edits has \(items.count) items; at most 50 files per proposal") }
        let requests = try items.enumerated().map { i, item -> EditRequest in
            let a = Arguments(tool: "edits[\(i)]", values: item)
            try a.only(["path", "action", "content", "start_line", "end_line", "expected_blob"])
            let actionText = try a.required("action")
            guard let action = EditRequest.Action(rawValue: actionText) else {
                throw ToolFailure("edits[\(i)].action '\(actionText.prefix(40))' is not one of create, replace, append, delete")
            }
            let start = try a.int("start_line", in: 1...Int.max), end = try a.int("end_line", in: 1...Int.max)
            var lines: ClosedRange<Int>? = nil
            if start != nil || end != nil {
                guard let start, let end else { throw ToolFailure("edits[\(i)]: give both start_line and end_line") }
                guard end >= start else { throw ToolFailure("edits[\(i)]: end_line \(end) is before start_line \(start)") }
                lines = start...end
            }
            return EditRequest(path: try a.required("path"), action: action, content: try a.string("content"), lines: lines,
                               expectedBlob: try a.string("expected_blob"))
        }
        let result = try vault.proposeEdits(requests, agent: Vault.clientAgent(named: agentName), summary: summary, rationale: rationale,
                                            author: options.author, clock: options.clock)
        let run = result.run
        let status: String
        let message: String
        switch run.outcome {
        case .autoMerged:
            status = "merged"
            message = "policy merged the proposal on its own (\(agentName) has earned autonomy)"
        case .noChanges:
            status = "no-changes"
            message = "the files already have this content; nothing to propose"
        default:
            status = result.stale.isEmpty ? "pending" : "stale"
            message = result.stale.isEmpty
                ? "proposal \(run.run) waits for the operator's review (cairn review \(run.run)); nothing changes until they approve"
                : "proposal \(run.run) is stale: " + result.stale.map(\.description).joined(separator: "; ")
                  + ". It cannot be approved; read the note again and propose from the current version"
        }
        return ProposeOutput(proposal: run.run, agent: run.agent, status: status, commit: run.commit, files: run.changes,
                             needsReview: run.needsReview.filter { $0.rule != PolicyFinding.Rule.stale }.map(\.description),
                             stale: result.stale.map(\.description), message: message)
    }

    struct ProposalRow: Encodable {
        let id: String
        let agent: String
        let status: String
        let summary: String
        let createdAt: Date?
        let files: [String]
        let stalePaths: [String]
        let needsReview: [String]
    }

    struct ProposalsOutput: Encodable { let proposals: [ProposalRow] }

    func proposals(_ args: Arguments) throws -> ProposalsOutput {
        func row(_ p: ProposalSummary) -> ProposalRow {
            ProposalRow(id: p.id, agent: p.agent, status: p.stalePaths.isEmpty ? "pending" : "stale", summary: p.subject,
                        createdAt: p.createdAt, files: p.changes.map(\.path), stalePaths: p.stalePaths, needsReview: p.needsReview)
        }
        guard let id = try args.string("id") else { return ProposalsOutput(proposals: try vault.proposals().map(row)) }
        if RunID.isValid(id), let recorded = try vault.decision(on: id) {
            return ProposalsOutput(proposals: [ProposalRow(id: id, agent: recorded?.agent ?? "?", status: recorded?.decision.rawValue ?? "decided",
                                summary: recorded?.note ?? "", createdAt: nil, files: recorded?.files ?? [], stalePaths: [], needsReview: [])])
        }
        let (rid, commit) = try vault.resolveProposal(id)
        return ProposalsOutput(proposals: [row(try vault.summary(id: rid, commit: commit))])
    }

    func explain(_ args: Arguments) throws -> WhyResult {
        let path = try args.required("path")
        do { _ = try PathGuard.normalize(path) } catch { throw ToolFailure("\(PolicyGate.display(path)): \(error.reason)") }
        return try vault.why(path: path, line: try args.int("line", in: 1...Int.max))
    }

    func runAgent(_ args: Arguments) throws -> AgentRunResult {
        var run = AgentRunOptions()
        run.input = try args.stringMap("input")
        run.environment = options.agentEnvironment
        run.apiKey = options.apiKey
        return try vault.runAgent(try args.required("name"), options: run, author: options.author, clock: options.clock)
    }

    func startWorkflow(_ args: Arguments) throws -> WorkflowRun {
        var workflow = WorkflowOptions(author: options.author)
        workflow.environment = options.agentEnvironment
        workflow.apiKey = options.apiKey
        workflow.clock = options.clock
        return try vault.startWorkflow(name: try args.required("name"), input: try args.stringMap("input"), trigger: agentName,
                                       now: options.clock(), options: workflow)
    }

    // MARK: - Resources

    static let coreURI = "cairn://core"
    static let notePrefix = "cairn://note/"

    func resources() throws -> [Resource] {
        var out = [Resource(name: "core-memory", uri: Self.coreURI, title: "Core memory",
                            description: "Every note of memory/core/, the always-loaded memory, in one text.", mimeType: "text/markdown")]
        for path in try coreNotes() {
            out.append(Resource(name: path, uri: Self.notePrefix + path, title: path, mimeType: "text/markdown"))
        }
        return out
    }

    func readResource(_ uri: String) throws -> ReadResource.Result {
        if uri == Self.coreURI {
            var text = ""
            for path in try coreNotes() {
                let data = try readFile(path).data
                text += "<!-- \(path) -->\n" + String(decoding: data, as: UTF8.self)
                if !text.hasSuffix("\n") { text += "\n" }
            }
            return .init(contents: [.text(text, uri: uri, mimeType: "text/markdown")])
        }
        guard uri.hasPrefix(Self.notePrefix), let path = String(uri.dropFirst(Self.notePrefix.count)).removingPercentEncoding else {
            throw MCPError.invalidParams("unknown resource '\(uri.prefix(200))'; use \(Self.coreURI) or \(Self.notePrefix)PATH")
        }
        do {
            let (normalized, data) = try readFile(path)
            if data.contains(0) { throw ToolFailure("\(normalized) is binary; only text is served") }
            return .init(contents: [.text(String(decoding: data, as: UTF8.self), uri: uri, mimeType: "text/markdown")])
        } catch let failure as ToolFailure {
            throw MCPError.invalidParams(failure.description)
        }
    }

    /// The notes of `memory/core/` in the working tree, by path.
    func coreNotes() throws -> [String] {
        let dir = vault.absolutePath("memory/core")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return names.filter { $0.hasSuffix(".md") && !$0.hasPrefix(".") }.sorted().map { "memory/core/" + $0 }
            .filter { (try? readFile($0)) != nil }
    }
}

/// A tool call's arguments, read with type checks whose errors name the argument.
struct Arguments {
    let tool: String
    let values: [String: Value]

    func value(_ key: String) -> Value? {
        guard let v = values[key], !v.isNull else { return nil }
        return v
    }

    func string(_ key: String) throws -> String? {
        guard let v = value(key) else { return nil }
        guard let s = v.stringValue else { throw ToolFailure("\(key) must be a string") }
        return s
    }

    func required(_ key: String) throws -> String {
        guard let s = try string(key) else { throw ToolFailure("\(key) is required") }
        return s
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let v = value(key) else { return nil }
        let n: Int
        if let i = v.intValue { n = i } else if let d = v.doubleValue, d == d.rounded(), abs(d) < 1e15 { n = Int(d) } else {
            throw ToolFailure("\(key) must be a whole number")
        }
        guard range.contains(n) else {
            throw ToolFailure("\(key) must be \(range.upperBound == Int.max ? "at least \(range.lowerBound)" : "between \(range.lowerBound) and \(range.upperBound)")")
        }
        return n
    }

    func objects(_ key: String) throws -> [[String: Value]] {
        guard let v = value(key) else { throw ToolFailure("\(key) is required") }
        guard let items = v.arrayValue else { throw ToolFailure("\(key) must be an array") }
        return try items.enumerated().map { i, item in
            guard let o = item.objectValue else { throw ToolFailure("\(key)[\(i)] must be an object") }
            return o
        }
    }

    func stringMap(_ key: String) throws -> [String: String] {
        guard let v = value(key) else { return [:] }
        guard let o = v.objectValue else { throw ToolFailure("\(key) must be an object of strings") }
        return try o.mapValues { item in
            if let s = item.stringValue { return s }
            if let i = item.intValue { return String(i) }
            if let b = item.boolValue { return String(b) }
            throw ToolFailure("\(key) values must be strings")
        }
    }

    /// Refuses keys not in `allowed` (a misspelled argument must not be silently ignored).
    func only(_ allowed: Set<String>) throws {
        if let unknown = values.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ToolFailure("\(tool): unknown argument '\(PolicyGate.display(String(unknown.prefix(60))))'; arguments: \(allowed.sorted().joined(separator: ", "))")
        }
    }
}
