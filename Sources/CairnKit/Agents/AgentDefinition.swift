import Foundation

/// An agent, as defined in `agents/NAME.md`: YAML front matter plus instructions.
public struct AgentDefinition: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable { case command, model, builtin }

    /// The file name without `.md`.
    public let name: String
    /// Vault-relative path of the definition.
    public let path: String
    public let kind: Kind
    public let description: String?
    /// argv for `command` agents.
    public let command: [String]
    /// The built-in's name for `builtin` agents.
    public let builtin: String?
    /// Globs of files the agent is shown.
    public let reads: [String]
    /// Globs of files it may change (policy still applies).
    public let writes: [String]
    public let autonomy: Policy.AutonomyLevel
    /// True when the file sets `autonomy:`; otherwise the policy's `autonomy.default` applies.
    public var autonomyIsExplicit = true
    /// Seconds before the run is stopped.
    public internal(set) var timeout: TimeInterval
    public let model: String?
    public let fallbackModel: String?
    /// `context_tokens:`: tokens of retrieved notes the agent is given besides core memory
    /// (nil: the policy's `memory.context_token_budget`).
    public var contextTokens: Int? = nil
    /// The Markdown body: the prompt for model agents, documentation for the others.
    public let instructions: String
    /// How a command agent is isolated (`sandbox:`; default `auto`).
    public var sandbox: SandboxMode = .auto
    /// `network: true`: a sandboxed command agent may use the network (default: it has none).
    public var network = false

    public static let defaultTimeout: TimeInterval = 120

    /// The autonomy in force: the file's `autonomy:`, else the policy default.
    public func effectiveAutonomy(_ policy: Policy) -> Policy.AutonomyLevel {
        autonomyIsExplicit ? autonomy : policy.autonomy.default
    }
    public static let builtins = ["gc", "digest"]

    /// Parses a definition; every problem is reported as `path:line: reason`.
    public static func parse(path: String, data: Data) throws -> AgentDefinition {
        let note = try NoteParser.parse(path: path, data: data)
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        guard let fm = note.frontMatter else {
            throw NoteError(path: path, line: 1, reason: "an agent needs YAML front matter with at least `kind:`")
        }
        func line(of key: String) -> Int { FrontMatterLines.line(of: key, in: fm) }
        func fail(_ key: String, _ reason: String) -> NoteError { NoteError(path: path, line: line(of: key), reason: reason) }
        func string(_ key: String) throws -> String? {
            guard let v = fm[key] else { return nil }
            if case .null = v { return nil }
            guard let s = v.scalarText else { throw fail(key, "`\(key)` must be text") }
            return s
        }
        func list(_ key: String) throws -> [String] {
            guard let v = fm[key] else { return [] }
            switch v {
            case .null: return []
            case .list(let items):
                return try items.map { item in
                    guard let s = item.scalarText, !s.isEmpty else { throw fail(key, "`\(key)` must be a list of non-empty strings") }
                    return s
                }
            default:
                if let s = v.scalarText, !s.isEmpty { return [s] }
                throw fail(key, "`\(key)` must be a list of strings")
            }
        }
        guard let kindText = try string("kind") else { throw fail("kind", "missing `kind:` (one of command, model, builtin)") }
        guard let kind = Kind(rawValue: kindText) else {
            throw fail("kind", "unknown kind '\(kindText)'; use one of command, model, builtin")
        }
        var command: [String] = []
        if let v = fm["command"] {
            if case .list = v { command = try list("command") } else if let s = try string("command") {
                command = s.split(separator: " ").map(String.init)
            }
        }
        let builtin = try string("builtin")
        switch kind {
        case .command where command.isEmpty:
            throw fail("command", "a command agent needs `command:` (an argv list, e.g. [\"python3\", \"agents/triage.py\"])")
        case .builtin:
            guard let b = builtin else { throw fail("builtin", "a builtin agent needs `builtin:` (one of \(builtins.joined(separator: ", ")))") }
            guard builtins.contains(b) else { throw fail("builtin", "unknown builtin '\(b)'; available: \(builtins.joined(separator: ", "))") }
        default: break
        }
        let reads = try list("reads"), writes = try list("writes")
        for (key, globs) in [("reads", reads), ("writes", writes)] {
            for g in globs where g.hasPrefix("/") || g.split(separator: "/").contains("..") {
                throw fail(key, "glob '\(g)' must be vault-relative (no leading '/', no '..')")
            }
        }
        let explicitAutonomy = try string("autonomy")
        let autonomyText = explicitAutonomy ?? Policy.AutonomyLevel.advisory.rawValue
        guard let autonomy = Policy.AutonomyLevel(rawValue: autonomyText) else {
            throw fail("autonomy", "unknown autonomy '\(autonomyText)'; use advisory or auto")
        }
        var timeout = defaultTimeout
        if let t = try string("timeout") {
            guard let seconds = parseDuration(t), seconds > 0, seconds <= 86_400 else {
                throw fail("timeout", "invalid timeout '\(t)'; use seconds like 90, 90s, 5m or 1h (at most 24h)")
            }
            timeout = seconds
        }
        let model = try string("model")
        if kind == .model, let m = model, m.isEmpty { throw fail("model", "`model:` cannot be empty") }
        var sandbox = SandboxMode.auto
        if case .bool(let on)? = fm["sandbox"] {
            sandbox = on ? .required : .off  // YAML reads a bare off/no/false (on/yes/true) as a boolean
        } else if let text = try string("sandbox") {
            guard let mode = SandboxMode(rawValue: text) else {
                throw fail("sandbox", "unknown sandbox '\(text)'; use auto, required or off")
            }
            sandbox = mode
        }
        var network = false
        if let v = fm["network"] {
            switch v {
            case .bool(let on): network = on
            case .null: break
            default: throw fail("network", "`network` must be true or false")
            }
        }
        var contextTokens: Int? = nil
        if let t = try string("context_tokens") {
            guard let n = Int(t.trimmingCharacters(in: .whitespaces)), n >= 0, n <= 10_000_000 else {
                throw fail("context_tokens", "invalid context_tokens '\(t)'; use a number of tokens, 0 or more (0: core memory only)")
            }
            contextTokens = n
        }
        var definition = AgentDefinition(name: name, path: path, kind: kind, description: try string("description"), command: command,
                                         builtin: builtin, reads: reads, writes: writes, autonomy: autonomy,
                                         autonomyIsExplicit: explicitAutonomy != nil, timeout: timeout,
                                         model: model, fallbackModel: try string("fallback_model"), instructions: note.body)
        definition.sandbox = sandbox
        definition.network = network
        definition.contextTokens = contextTokens
        return definition
    }

    /// Parses `90`, `90s`, `5m`, `1h`, `1.5m` into seconds.
    public static func parseDuration(_ text: String) -> TimeInterval? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            if let v = Double(t.dropLast(suffix.count)) { return v * factor }
        }
        return Double(t)
    }
}

/// Finds the file line of a front matter key, for error messages.
enum FrontMatterLines {
    static func line(of key: String, in fm: FrontMatter) -> Int {
        for (i, line) in fm.yaml.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.hasPrefix(key + ":") { return fm.firstYAMLLine + i }
        }
        return fm.lines.lowerBound
    }
}

/// All agents of a vault, with the definitions that did not parse.
public struct AgentCatalog: Sendable {
    public let agents: [AgentDefinition]
    public let problems: [FileProblem]

    public func agent(named name: String) -> AgentDefinition? { agents.first { $0.name == name } }
}

extension Vault {
    /// The agent `agents/NAME.md` read on its own (a run needs one definition, not the catalog); nil when the
    /// file is missing or invalid, in which case `agentCatalog()` says why.
    public func agentDefinition(named name: String) -> AgentDefinition? {
        guard !name.isEmpty, !name.contains("/"), !name.hasPrefix("."), name.lowercased() != "readme" else { return nil }
        let path = "agents/" + name + ".md"
        guard let data = FileManager.default.contents(atPath: absolutePath(path)) else { return nil }
        return try? AgentDefinition.parse(path: path, data: data)
    }

    /// Reads `agents/*.md` (except README.md) from the working tree.
    public func agentCatalog() -> AgentCatalog {
        let dir = absolutePath("agents")
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter {
            $0.hasSuffix(".md") && $0.lowercased() != "readme.md"
        }.sorted()
        var agents: [AgentDefinition] = [], problems: [FileProblem] = []
        for file in names {
            let path = "agents/" + file
            guard let data = FileManager.default.contents(atPath: absolutePath(path)) else { continue }
            do {
                agents.append(try AgentDefinition.parse(path: path, data: data))
            } catch let e as NoteError {
                problems.append(FileProblem(path: e.path, line: e.line, reason: e.reason))
            } catch {
                problems.append(FileProblem(path: path, reason: "\(error)"))
            }
        }
        return AgentCatalog(agents: agents, problems: problems)
    }
}
