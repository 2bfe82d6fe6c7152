import Foundation

/// One request to a model, as the run record keeps it.
public struct ModelAttempt: Sendable, Hashable, Codable {
    /// The model name asked for.
    public let model: String
    /// 1-based, counted per model.
    public let attempt: Int
    /// The HTTP status, nil when no response arrived (timeout, refused connection).
    public let status: Int?
    /// Why the attempt failed (transport, HTTP, or a reply that did not validate); nil when accepted.
    public let error: String?
    public let durationMs: Int

    public init(model: String, attempt: Int, status: Int?, error: String?, durationMs: Int) {
        self.model = model
        self.attempt = attempt
        self.status = status
        self.error = error
        self.durationMs = durationMs
    }
}

/// Price of a model per million tokens, in US dollars.
public struct ModelPricing: Sendable, Hashable, Codable {
    public var inputPerMillion: Double
    public var outputPerMillion: Double

    public init(inputPerMillion: Double, outputPerMillion: Double) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
    }

    /// A local model: nothing to pay.
    public static let free = ModelPricing(inputPerMillion: 0, outputPerMillion: 0)

    /// The cost of `promptTokens` in and `completionTokens` out.
    public func cost(promptTokens: Int, completionTokens: Int) -> Double {
        (Double(promptTokens) * inputPerMillion + Double(completionTokens) * outputPerMillion) / 1_000_000
    }
}

/// Everything a model agent run produced, successful or not, for the proposal and its run record.
public struct ModelOutcome: Sendable, Codable {
    /// The validated edits (empty on failure); paths are not yet checked by `PathGuard`.
    public var edits: [ProposedEdit]
    public var summary: String?
    public var rationale: String?
    /// The model (name as configured) that produced the accepted reply.
    public var model: String?
    /// The prompt as sent: `role` and `content` of each message.
    public var messages: [[String: String]]
    /// Every reply received, in order: the assistant's text for a completion, otherwise the raw
    /// response body (an error page, a malformed body). Each capped at `maxReplyBytes`.
    public var replies: [String]
    public var attempts: [ModelAttempt]
    /// Summed over every attempt, accepted or not.
    public var promptTokens: Int
    public var completionTokens: Int
    public var costUSD: Double
    /// Why the run failed; nil on success.
    public var failure: String?

    /// The cap on each saved reply (256 KiB).
    public static let maxReplyBytes = 256 * 1024

    public var succeeded: Bool { failure == nil }
}

/// Runs a `kind: model` agent against an OpenAI-compatible chat endpoint and turns its reply
/// into proposed edits.
///
/// The executor never touches the vault: it builds the prompt from what it is given, asks the
/// configured model (then the fallback), validates the reply with `ModelReply.parse`, and reports
/// everything — prompt, raw replies, attempts, tokens, cost — so the caller can write the run
/// record whatever happened. It never throws; a failed run has `failure` set.
///
/// Retries: a transient error (timeout, refused connection, 429, 5xx) retries the same model
/// after `baseBackoff · 2^n` seconds, up to `maxAttemptsPerModel` attempts; a permanent error
/// (400, 401, 403, 404, malformed body) or a reply that fails validation moves on to the
/// fallback model at once.
public struct ModelAgentExecutor: Sendable {
    public let sleep: @Sendable (TimeInterval) -> Void
    public let maxAttemptsPerModel: Int
    public let baseBackoff: TimeInterval
    /// The longest wait between attempts, whatever the backoff or `Retry-After` says.
    public static let maxBackoff: TimeInterval = 60

    public init(
        sleep: @escaping @Sendable (TimeInterval) -> Void = { Thread.sleep(forTimeInterval: $0) },
        maxAttemptsPerModel: Int = 3, baseBackoff: TimeInterval = 0.5
    ) {
        self.sleep = sleep
        self.maxAttemptsPerModel = max(1, maxAttemptsPerModel)
        self.baseBackoff = max(0, baseBackoff)
    }

    /// Runs `agent` once.
    ///
    /// - Parameters:
    ///   - settings: the vault's endpoint and default models.
    ///   - apiKey: the key the CLI read from `settings.apiKeyEnv`; nil sends no `Authorization`.
    ///   - files: the contents of the core and read-scope items, looked up by path for the items
    ///     listed in `context.core` and `context.retrieved`.
    ///   - pricing: what the tokens cost.
    public func run(
        agent: AgentDefinition, settings: VaultConfig.ModelSettings, apiKey: String?, context: AgentContext,
        files: [(path: String, content: String)], pricing: ModelPricing
    ) -> ModelOutcome {
        let messages = Self.messages(agent: agent, context: context, files: files)
        var outcome = ModelOutcome(
            edits: [], summary: nil, rationale: nil, model: nil,
            messages: messages.map { ["role": $0.role, "content": $0.content] }, replies: [], attempts: [],
            promptTokens: 0, completionTokens: 0, costUSD: 0, failure: nil)

        let models = Self.models(agent: agent, settings: settings)
        guard !models.isEmpty else {
            outcome.failure = "no model configured: set `model:` in \(agent.path) or `model.model` in \(VaultConfig.relativePath)"
            return outcome
        }
        let client: ModelClient
        do {
            client = try ModelClient(baseURL: settings.baseURL, apiKey: apiKey, timeout: agent.timeout)
        } catch {
            outcome.failure = "\(error.message) (model.base_url in \(VaultConfig.relativePath))"
            return outcome
        }

        var jsonResponse = true
        var lastError = ""
        for model in models {
            attempts: for attempt in 1...maxAttemptsPerModel {
                let started = Date()
                func record(status: Int?, error: String?) {
                    let ms = Int((Date().timeIntervalSince(started) * 1000).rounded())
                    outcome.attempts.append(ModelAttempt(model: model, attempt: attempt, status: status, error: error, durationMs: ms))
                }
                do {
                    let completion = try client.complete(model: model, messages: messages, jsonResponse: jsonResponse)
                    jsonResponse = completion.usedResponseFormat
                    outcome.promptTokens += completion.promptTokens
                    outcome.completionTokens += completion.completionTokens
                    outcome.replies.append(Self.capped(completion.content))
                    do {
                        let reply = try ModelReply.parse(completion.content)
                        record(status: completion.status, error: nil)
                        outcome.edits = reply.edits
                        outcome.summary = reply.summary
                        outcome.rationale = reply.rationale
                        outcome.model = model
                        outcome.costUSD = pricing.cost(promptTokens: outcome.promptTokens, completionTokens: outcome.completionTokens)
                        return outcome
                    } catch {
                        let message = "reply rejected: \(error.reason)"
                        record(status: completion.status, error: message)
                        lastError = "\(model) (attempt \(attempt)): \(message)"
                        break attempts  // the same model at temperature 0 would answer the same
                    }
                } catch {
                    record(status: error.status, error: error.message)
                    if let body = error.body, !body.isEmpty { outcome.replies.append(Self.capped(body)) }
                    lastError = "\(model) (attempt \(attempt)): \(error.message)"
                    guard error.isTransient else { break attempts }
                    if attempt < maxAttemptsPerModel {
                        let backoff = baseBackoff * pow(2, Double(attempt - 1))
                        sleep(min(Self.maxBackoff, max(backoff, error.retryAfter ?? 0)))
                    }
                }
            }
        }
        outcome.costUSD = pricing.cost(promptTokens: outcome.promptTokens, completionTokens: outcome.completionTokens)
        let tried = models.joined(separator: ", then ")
        outcome.failure = "no usable reply from \(tried) after \(outcome.attempts.count) attempt\(outcome.attempts.count == 1 ? "" : "s"); last error: \(lastError)"
        return outcome
    }

    /// The models to ask, in order: the agent's (or the vault's) model, then the fallback.
    /// Empty names are ignored, and a fallback equal to the first model is not asked twice.
    public static func models(agent: AgentDefinition, settings: VaultConfig.ModelSettings) -> [String] {
        func named(_ s: String?) -> String? {
            guard let t = s?.trimmingCharacters(in: .whitespaces), !t.isEmpty else { return nil }
            return t
        }
        var out: [String] = []
        if let m = named(agent.model) ?? named(settings.model) { out.append(m) }
        if let f = named(agent.fallbackModel) ?? named(settings.fallbackModel), !out.contains(f) { out.append(f) }
        return out
    }

    // MARK: The prompt

    /// The system and user messages for a run.
    ///
    /// System: the agent's instructions, today's date, the paths it may change and the reply
    /// format. User: the task input, then `## Core memory` and `## Files`, each item as a
    /// `### path` heading and its content in a fence longer than any backtick run inside it.
    public static func messages(agent: AgentDefinition, context: AgentContext, files: [(path: String, content: String)]) -> [ChatMessage] {
        var system = agent.instructions.trimmingCharacters(in: .whitespacesAndNewlines)
        if !system.isEmpty { system += "\n\n" }
        system += "## How to answer\n\n"
        system += "You are the agent \"\(agent.name)\" of a plain-text memory vault (Markdown files in git). "
        system += "Your reply becomes a proposal that the operator reviews before anything changes.\n\n"
        system += "Today is \(day(context.now)).\n\n"
        if agent.writes.isEmpty {
            system += "You may not change any file: answer with \"edits\": [].\n\n"
        } else {
            system += "You may change only files whose paths match these globs (`**` spans folders); any other path is refused:\n"
            system += agent.writes.map { "- \($0)" }.joined(separator: "\n") + "\n\n"
        }
        system += ModelReply.formatDescription

        var contents: [String: String] = [:]
        for file in files where contents[file.path] == nil { contents[file.path] = file.content }

        var user = "## Task\n\n"
        if context.input.isEmpty {
            user += "(no input)\n"
        } else {
            for key in context.input.keys.sorted() { user += "\(key): \(context.input[key] ?? "")\n" }
        }
        func section(_ title: String, _ items: [ContextItem]) {
            user += "\n## \(title)\n"
            var shown = Set<String>()
            var any = false
            for item in items where !shown.contains(item.label) {
                guard let content = contents[item.label] else { continue }
                shown.insert(item.label)
                any = true
                let fence = Self.fence(for: content)
                let heading = item.lines.map { "\(item.path) (lines \($0))" } ?? item.path
                user += "\n### \(heading)\n\n\(fence)\n\(content)\(content.hasSuffix("\n") ? "" : "\n")\(fence)\n"
            }
            if !any { user += "\n(none)\n" }
        }
        section("Core memory", context.core)
        let corePaths = Set(context.core.map(\.path))
        section("Files", context.retrieved.filter { !corePaths.contains($0.path) })
        return [.system(system), .user(user)]
    }

    /// `YYYY-MM-DD` from an ISO 8601 timestamp; the text itself when it is not one.
    static func day(_ iso: String) -> String {
        let prefix = iso.prefix(10)
        let shape = prefix.count == 10 && prefix.enumerated().allSatisfy { i, c in (i == 4 || i == 7) ? c == "-" : c.isASCII && c.isNumber }
        return shape ? String(prefix) : iso
    }

    /// A backtick fence longer than the longest backtick run in `content` (at least three).
    static func fence(for content: String) -> String {
        var longest = 0, run = 0
        for c in content.unicodeScalars {
            if c == "`" { run += 1; longest = max(longest, run) } else { run = 0 }
        }
        return String(repeating: "`", count: max(3, longest + 1))
    }

    /// `text` cut to at most `ModelOutcome.maxReplyBytes` UTF-8 bytes, on a character boundary,
    /// ending with a note of how much was cut.
    static func capped(_ text: String) -> String {
        guard text.utf8.count > ModelOutcome.maxReplyBytes else { return text }
        let limit = ModelOutcome.maxReplyBytes - 64  // room for the note
        var bytes = 0
        var end = text.startIndex
        for i in text.indices {
            let n = text[i].utf8.count
            if bytes + n > limit { break }
            bytes += n
            end = text.index(after: i)
        }
        return String(text[..<end]) + "\n…[truncated \(text.utf8.count - bytes) bytes]"
    }
}
