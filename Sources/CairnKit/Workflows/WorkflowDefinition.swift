import Foundation

/// When a workflow starts by itself, from its `on:` key.
public enum WorkflowTrigger: Sendable, Hashable, Codable, CustomStringConvertible {
    /// A five-field cron expression (`"0 16 * * 5"`), checked by `cairn tick`.
    case schedule(String)
    /// Globs; due when a commit on main adds or changes a matching file.
    case paths([String])
    /// A name; due when `cairn emit NAME` is called.
    case event(String)

    public var description: String {
        switch self {
        case .schedule(let cron): return "schedule \"\(cron)\""
        case .paths(let globs): return "paths " + globs.joined(separator: " ")
        case .event(let name): return "event \(name)"
        }
    }
}

/// One input a workflow takes.
public struct WorkflowInput: Sendable, Hashable, Codable {
    public let name: String
    /// True when the input has no default and must be given.
    public let required: Bool
    public let defaultValue: String?
    public let description: String?
}

/// One step: one agent run, one commit.
public struct WorkflowStep: Sendable, Hashable, Codable {
    /// `gate:` — whether the workflow waits for the operator's approval of the step's proposal.
    public enum Gate: String, Sendable, Hashable, Codable { case auto, approve }

    /// `on_failure:` — what happens when the step has failed its last attempt.
    public enum FailurePolicy: Sendable, Hashable, Codable, CustomStringConvertible {
        /// Stop the workflow (after running the compensations of the steps before it).
        case fail
        /// Go on with the next step.
        case skip
        /// Pause and hand the step to the operator as a task note (`task` or `operator` in the file).
        case task
        /// Run this agent instead, once.
        case fallback(String)

        public var description: String {
            switch self {
            case .fail: return "fail"
            case .skip: return "skip"
            case .task: return "task"
            case .fallback(let agent): return agent
            }
        }

        /// The word as written in the file (`fail`, `skip`, `task` or `operator`, else a fallback agent's name).
        public init(word: String) {
            switch word {
            case "fail": self = .fail
            case "skip": self = .skip
            case "task", "operator": self = .task
            default: self = .fallback(word)
            }
        }

        public init(from decoder: any Decoder) throws { self.init(word: try decoder.singleValueContainer().decode(String.self)) }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encode(description)
        }
    }

    /// A compensating agent run: undoes the step's effects when a later step makes the workflow fail.
    public struct Compensation: Sendable, Hashable, Codable {
        public let agent: String
        /// Agent inputs; values may use templates (see `WorkflowTemplate`).
        public let with: [String: String]
    }

    public let id: String
    public let agent: String
    /// Agent inputs (`with:`); values may use `{{inputs.NAME}}`, `{{steps.ID.FIELD}}`, `{{run.id}}`, `{{run.trigger}}`.
    public let with: [String: String]
    public let gate: Gate
    /// Extra attempts after a failure.
    public let retries: Int
    /// The wait before the first retry; doubled for each further one.
    public let backoff: TimeInterval
    /// Overrides the agent's own `timeout:` when set.
    public let timeout: TimeInterval?
    public let onFailure: FailurePolicy
    public let compensate: Compensation?
    /// Steps that must finish first: `needs:` plus every step the templates refer to.
    public let needs: [String]
    /// The file line where the step starts, for messages.
    public let line: Int
}

/// A workflow, as defined in `workflows/NAME.md`: YAML front matter plus a description in Markdown.
public struct WorkflowDefinition: Sendable, Hashable, Codable {
    /// The file name without `.md`.
    public let name: String
    /// Vault-relative path of the definition.
    public let path: String
    public let description: String?
    public let inputs: [WorkflowInput]
    /// Steps in the order they run: file order, except that a step runs after the steps it needs.
    public let steps: [WorkflowStep]
    public let triggers: [WorkflowTrigger]
    /// The Markdown body.
    public let body: String

    public static let defaultBackoff: TimeInterval = 60
    public static let maxRetries = 10

    public func step(_ id: String) -> WorkflowStep? { steps.first { $0.id == id } }

    /// The cron expressions of `on: schedule`.
    public var schedules: [String] { triggers.compactMap { if case .schedule(let c) = $0 { return c } else { return nil } } }
    /// The globs of `on: paths`.
    public var pathGlobs: [String] { triggers.flatMap { t -> [String] in if case .paths(let g) = t { return g } else { return [] } } }
    /// The names of `on: event`.
    public var events: [String] { triggers.compactMap { if case .event(let e) = $0 { return e } else { return nil } } }

    /// Parses a definition, checking everything that needs no other file: keys and their types, step ids,
    /// templates, references between steps and cycles among them, cron expressions. Agent names are checked
    /// by `validate(agents:)`. Every problem is reported as `path:line: reason`.
    public static func parse(path: String, data: Data) throws -> WorkflowDefinition {
        let note = try NoteParser.parse(path: path, data: data)
        let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        guard let fm = note.frontMatter else {
            throw NoteError(path: path, line: 1, reason: "a workflow needs YAML front matter with at least `steps:`")
        }
        let lines = YAMLLines(yaml: fm.yaml, firstLine: fm.firstYAMLLine, fallback: fm.lines.lowerBound)
        func fail(_ line: Int, _ reason: String) -> NoteError { NoteError(path: path, line: line, reason: reason) }
        let topLine = { (key: String) in lines.topLevel(key) }

        func stringMap(_ value: YAMLValue?, line: Int, what: String) throws -> [String: String] {
            guard let value else { return [:] }
            switch value {
            case .null: return [:]
            case .map(let pairs):
                var out: [String: String] = [:]
                for (k, v) in pairs {
                    guard let s = v.scalarText ?? (v == .null ? "" : nil) else { throw fail(line, "\(what): '\(k)' must be text") }
                    out[k] = s
                }
                return out
            default: throw fail(line, "\(what) must be a mapping of input names to values")
            }
        }

        /// File order, except a step runs after those it needs; a cycle is an error naming its steps.
        func order(_ steps: [WorkflowStep]) throws -> [WorkflowStep] {
            var done: [WorkflowStep] = []
            var placed = Set<String>()
            var remaining = steps
            while !remaining.isEmpty {
                guard let i = remaining.firstIndex(where: { $0.needs.allSatisfy(placed.contains) }) else {
                    let cycle = remaining.map(\.id)
                    let first = remaining[0]
                    throw fail(first.line, "steps \(cycle.joined(separator: ", ")) depend on each other in a cycle (through `needs:` or {{steps.…}} references); break the cycle")
                }
                placed.insert(remaining[i].id)
                done.append(remaining.remove(at: i))
            }
            return done
        }


        // inputs
        var inputs: [WorkflowInput] = []
        switch fm["inputs"] {
        case nil, .null?: break
        case .map(let pairs)?:
            for (key, value) in pairs {
                guard Self.isIdentifier(key) else { throw fail(topLine("inputs"), "input name '\(key)' must be letters, digits, '-' or '_'") }
                switch value {
                case .map:
                    var required = false
                    if let r = value["required"] {
                        guard case .bool(let b) = r else { throw fail(lines.nested("inputs", key), "`required:` of input '\(key)' must be true or false") }
                        required = b
                    }
                    let def = value["default"].flatMap { $0.scalarText }
                    if required && def != nil { throw fail(lines.nested("inputs", key), "input '\(key)' cannot be required and have a default") }
                    inputs.append(WorkflowInput(name: key, required: required, defaultValue: def, description: value["description"]?.scalarText))
                case .null:
                    inputs.append(WorkflowInput(name: key, required: true, defaultValue: nil, description: nil))
                default:
                    guard let s = value.scalarText else { throw fail(lines.nested("inputs", key), "input '\(key)' must be a mapping or a default value") }
                    inputs.append(WorkflowInput(name: key, required: false, defaultValue: s, description: nil))
                }
            }
        case .list(let items)?:
            for item in items {
                guard let s = item.scalarText, Self.isIdentifier(s) else { throw fail(topLine("inputs"), "`inputs:` must name inputs (letters, digits, '-' or '_')") }
                inputs.append(WorkflowInput(name: s, required: true, defaultValue: nil, description: nil))
            }
        default:
            throw fail(topLine("inputs"), "`inputs:` must be a mapping of input names to {required, default, description}")
        }

        // on
        var triggers: [WorkflowTrigger] = []
        if let on = fm["on"] {
            var pairs: [(key: String, value: YAMLValue)] = []
            switch on {
            case .map(let p): pairs = p
            case .null: break
            default: throw fail(topLine("on"), "`on:` must be a mapping with schedule, paths and/or event")
            }
            for (key, value) in pairs {
                let line = lines.nested("on", key)
                let texts: [String]
                switch value {
                case .list(let items): texts = try items.map { guard let s = $0.scalarText, !s.isEmpty else { throw fail(line, "`on: \(key)` must be text or a list of text") }; return s }
                default:
                    guard let s = value.scalarText, !s.isEmpty else { throw fail(line, "`on: \(key)` must be text or a list of text") }
                    texts = [s]
                }
                switch key {
                case "schedule":
                    for cron in texts {
                        if let problem = WorkflowCron.problem(cron) { throw fail(line, "invalid cron expression \"\(cron)\": \(problem)") }
                        triggers.append(.schedule(cron))
                    }
                case "paths":
                    for g in texts where g.hasPrefix("/") || g.split(separator: "/").contains("..") {
                        throw fail(line, "glob '\(g)' must be vault-relative (no leading '/', no '..')")
                    }
                    triggers.append(.paths(texts))
                case "event":
                    for e in texts where !e.allSatisfy({ $0.isLetter || $0.isNumber || "._-:".contains($0) }) {
                        throw fail(line, "event name '\(e)' may use letters, digits, '.', '_', '-' and ':' only")
                    }
                    triggers += texts.map(WorkflowTrigger.event)
                default:
                    throw fail(line, "unknown trigger '\(key)' in `on:`; use schedule, paths or event")
                }
            }
        }
        guard let stepsValue = fm["steps"] else { throw fail(fm.lines.lowerBound, "missing `steps:` (a list of steps, each with `id:` and `agent:`)") }
        guard case .list(let items) = stepsValue, !items.isEmpty else { throw fail(topLine("steps"), "`steps:` must be a non-empty list of steps") }
        var steps: [WorkflowStep] = []
        var seen = Set<String>()
        let inputNames = Set(inputs.map(\.name))
        for (index, item) in items.enumerated() {
            let stepLine = lines.stepItem(index)
            func keyLine(_ key: String) -> Int { lines.stepKey(index, key) ?? stepLine }
            guard case .map = item else { throw fail(stepLine, "step \(index + 1) must be a mapping with `id:` and `agent:`") }
            guard let id = item["id"]?.scalarText, !id.isEmpty else { throw fail(stepLine, "step \(index + 1) has no `id:`") }
            guard Self.isIdentifier(id), id.count <= 40 else { throw fail(keyLine("id"), "step id '\(id)' must be letters, digits, '-' or '_' (at most 40)") }
            guard seen.insert(id).inserted else { throw fail(keyLine("id"), "step id '\(id)' is used twice") }
            guard let agent = item["agent"]?.scalarText, !agent.isEmpty else { throw fail(stepLine, "step '\(id)' has no `agent:`") }
            let with = try stringMap(item["with"], line: keyLine("with"), what: "`with:` of step '\(id)'")
            var gate = WorkflowStep.Gate.approve
            if let g = item["gate"]?.scalarText {
                guard let parsed = WorkflowStep.Gate(rawValue: g) else { throw fail(keyLine("gate"), "unknown gate '\(g)' in step '\(id)'; use auto or approve") }
                gate = parsed
            }
            var retries = 0
            if let r = item["retries"] {
                guard case .int(let n) = r, n >= 0, n <= maxRetries else { throw fail(keyLine("retries"), "`retries:` of step '\(id)' must be a whole number from 0 to \(maxRetries)") }
                retries = n
            }
            var backoff = defaultBackoff
            if let b = item["backoff"]?.scalarText {
                guard let s = AgentDefinition.parseDuration(b), s >= 0, s <= 86_400 else {
                    throw fail(keyLine("backoff"), "invalid backoff '\(b)' in step '\(id)'; use 0, 30s, 5m or 1h (at most 24h)")
                }
                backoff = s
            }
            var timeout: TimeInterval? = nil
            if let t = item["timeout"]?.scalarText {
                guard let s = AgentDefinition.parseDuration(t), s > 0, s <= 86_400 else {
                    throw fail(keyLine("timeout"), "invalid timeout '\(t)' in step '\(id)'; use seconds like 90, 90s, 5m or 1h (at most 24h)")
                }
                timeout = s
            }
            var onFailure = WorkflowStep.FailurePolicy.fail
            if let f = item["on_failure"]?.scalarText {
                if f.isEmpty { throw fail(keyLine("on_failure"), "`on_failure:` of step '\(id)' is empty") }
                onFailure = .init(word: f)
            }
            var compensate: WorkflowStep.Compensation? = nil
            if let c = item["compensate"] {
                if let a = c.scalarText, !a.isEmpty {
                    compensate = .init(agent: a, with: [:])
                } else if case .map = c, let a = c["agent"]?.scalarText, !a.isEmpty {
                    compensate = .init(agent: a, with: try stringMap(c["with"], line: keyLine("compensate"), what: "`compensate: with:` of step '\(id)'"))
                } else {
                    throw fail(keyLine("compensate"), "`compensate:` of step '\(id)' must name an agent, or be {agent: NAME, with: {...}}")
                }
            }
            var needs: [String] = []
            if let n = item["needs"] {
                switch n {
                case .list(let l): needs = l.compactMap(\.scalarText)
                default: if let s = n.scalarText { needs = [s] }
                }
            }
            // Templates: every reference must name a declared input or a step of this workflow.
            // A compensation may use its own step's output (it undoes it); `with:` may not.
            var templates = with.values.map { ($0, false) }
            if let compensate { templates += compensate.with.values.map { ($0, true) } }
            for (t, isCompensation) in templates {
                let refs: [WorkflowTemplate.Reference]
                do { refs = try WorkflowTemplate.references(in: t) } catch let e as WorkflowTemplate.SyntaxError {
                    throw fail(keyLine("with"), "step '\(id)': \(e.reason)")
                }
                for r in refs {
                    switch r {
                    case .input(let name):
                        if !inputNames.contains(name) {
                            throw fail(keyLine("with"), "step '\(id)' uses {{inputs.\(name)}}, but the workflow declares no input '\(name)'"
                                       + (inputNames.isEmpty ? "" : " (inputs: \(inputNames.sorted().joined(separator: ", ")))"))
                        }
                    case .step(let other, _):
                        if other == id {
                            if isCompensation { continue }
                            throw fail(keyLine("with"), "step '\(id)' refers to its own output")
                        }
                        needs.append(other)
                    case .run: break
                    }
                }
            }
            steps.append(WorkflowStep(id: id, agent: agent, with: with, gate: gate, retries: retries, backoff: backoff,
                                      timeout: timeout, onFailure: onFailure, compensate: compensate,
                                      needs: Array(Set(needs)).sorted(), line: stepLine))
        }
        let ids = Set(steps.map(\.id))
        for s in steps {
            for n in s.needs where !ids.contains(n) {
                throw fail(s.line, "step '\(s.id)' refers to step '\(n)', which this workflow does not have (steps: \(steps.map(\.id).joined(separator: ", ")))")
            }
        }
        let ordered = try order(steps)
        return WorkflowDefinition(name: name, path: path, description: fm["description"]?.scalarText, inputs: inputs,
                                  steps: ordered, triggers: triggers, body: note.body)
    }

    static func isIdentifier(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy { ($0.isASCII && CharacterSet.alphanumerics.contains($0)) || $0 == "-" || $0 == "_" }
    }

    /// Problems that need the agent catalog: steps, fallbacks and compensations naming agents that do not exist.
    public func problems(agents: AgentCatalog) -> [FileProblem] {
        var out: [FileProblem] = []
        let known = agents.agents.map(\.name)
        func check(_ agent: String, _ role: String, _ step: WorkflowStep) {
            guard agents.agent(named: agent) == nil else { return }
            let broken = agents.problems.contains { ($0.path as NSString).lastPathComponent == agent + ".md" }
            out.append(FileProblem(path: path, line: step.line, reason: broken
                ? "step '\(step.id)' uses agent '\(agent)' (\(role)), whose definition agents/\(agent).md is invalid"
                : "step '\(step.id)' uses unknown agent '\(agent)' (\(role)); agents in this vault: \(known.isEmpty ? "none" : known.joined(separator: ", "))"))
        }
        for s in steps {
            check(s.agent, "agent", s)
            if case .fallback(let f) = s.onFailure { check(f, "on_failure fallback", s) }
            if let c = s.compensate { check(c.agent, "compensate", s) }
        }
        return out
    }
}

/// Line numbers of keys in a front matter block, found in its text (the YAML parser keeps no positions
/// for nested values). Good for block style; flow style falls back to the enclosing key's line.
struct YAMLLines {
    let lines: [Substring]
    let firstLine: Int
    let fallback: Int

    init(yaml: String, firstLine: Int, fallback: Int) {
        lines = yaml.split(separator: "\n", omittingEmptySubsequences: false)
        self.firstLine = firstLine
        self.fallback = fallback
    }

    private func indent(_ l: Substring) -> Int { l.prefix { $0 == " " }.count }
    private func isKey(_ l: Substring, _ key: String) -> Bool {
        let t = l.drop { $0 == " " || $0 == "-" }.drop { $0 == " " }
        return t.hasPrefix(key + ":") || t.hasPrefix("\"\(key)\":") || t.hasPrefix("'\(key)':")
    }

    func topLevel(_ key: String) -> Int {
        lines.firstIndex { indent($0) == 0 && isKey($0, key) }.map { firstLine + $0 } ?? fallback
    }

    /// The line of `key` inside the top-level mapping `parent` (its own line when not found).
    func nested(_ parent: String, _ key: String) -> Int {
        guard let p = lines.firstIndex(where: { indent($0) == 0 && isKey($0, parent) }) else { return fallback }
        var i = p + 1
        while i < lines.count, lines[i].trimmingCharacters(in: .whitespaces).isEmpty || indent(lines[i]) > 0 {
            if isKey(lines[i], key) { return firstLine + i }
            i += 1
        }
        return firstLine + p
    }

    /// The line indexes of the list items under `steps:`.
    private var stepItems: [Int] {
        guard let p = lines.firstIndex(where: { indent($0) == 0 && isKey($0, "steps") }) else { return [] }
        var items: [Int] = []
        var itemIndent: Int? = nil
        var i = p + 1
        while i < lines.count {
            let l = lines[i]
            let trimmed = l.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty && !trimmed.hasPrefix("#") {
                if indent(l) == 0 && !trimmed.hasPrefix("-") { break }
                if trimmed.hasPrefix("-") && (itemIndent == nil || indent(l) == itemIndent) {
                    itemIndent = indent(l)
                    items.append(i)
                }
            }
            i += 1
        }
        return items
    }

    func stepItem(_ index: Int) -> Int {
        let items = stepItems
        return index < items.count ? firstLine + items[index] : topLevel("steps")
    }

    func stepKey(_ index: Int, _ key: String) -> Int? {
        let items = stepItems
        guard index < items.count else { return nil }
        let end = index + 1 < items.count ? items[index + 1] : lines.count
        for i in items[index]..<end where isKey(lines[i], key) { return firstLine + i }
        return nil
    }
}
