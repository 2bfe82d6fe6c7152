import Foundation

/// Why a model's reply was refused; `reason` says exactly what is wrong, for the run record.
public struct ModelReplyError: Error, Sendable, Hashable, CustomStringConvertible {
    public let reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
}

/// The answer a model agent must give: a commit summary, an optional rationale and whole-file edits.
///
/// ```json
/// {"summary": "one line for the commit subject", "rationale": "optional longer text",
///  "edits": [{"path": "memory/projects/acme.md", "action": "write", "content": "full new file content"},
///            {"path": "inbox/x.md", "action": "delete"}]}
/// ```
///
/// `parse` is strict: it checks types, limits and duplicates, and refuses anything else with a
/// precise reason. Paths are only type-checked here; `PathGuard` and policy judge them later.
public struct ModelReply: Sendable, Hashable {
    /// One line for the commit subject.
    public var summary: String
    /// Why, in the model's words; nil when not given.
    public var rationale: String?
    /// The proposed changes, in the order given.
    public var edits: [ProposedEdit]

    public init(summary: String, rationale: String? = nil, edits: [ProposedEdit]) {
        self.summary = summary
        self.rationale = rationale
        self.edits = edits
    }

    /// Most edits one reply may carry.
    public static let maxEdits = 200
    /// Largest content of one written file, in UTF-8 bytes (1 MiB).
    public static let maxFileBytes = 1 << 20
    /// Largest content of all written files together, in UTF-8 bytes (8 MiB).
    public static let maxTotalBytes = 8 << 20

    /// The reply format as the model is told it, for the system prompt.
    public static let formatDescription = """
        Reply with JSON only: one JSON object, no prose before or after it, no code fences. Its exact shape:

        {"summary": "one line for the commit subject",
         "rationale": "optional: why, in a few sentences",
         "edits": [{"path": "memory/projects/acme.md", "action": "write", "content": "the full new file content"},
                   {"path": "inbox/x.md", "action": "delete"}]}

        - "summary" (string, required): one line, under 72 characters, saying what the change does.
        - "rationale" (string, optional): longer explanation for the reviewer.
        - "edits" (list, required): use [] when nothing should change. Each edit is an object with:
          - "path" (string): the file's path relative to the vault root, like memory/projects/acme.md.
          - "action": "write" creates or replaces the whole file; "delete" removes it.
          - "content" (string, for "write" only): the COMPLETE new text of the file, not a diff or an excerpt.
        - Each path at most once; at most \(maxEdits) edits; at most 1 MiB per file and 8 MiB in total.
        """

    /// Parses and validates a model's reply text.
    ///
    /// Accepts the JSON object alone, inside ```json fences, or with prose around it — the first
    /// balanced top-level `{…}` is taken. Nothing else is repaired.
    ///
    /// - Throws: `ModelReplyError` naming the first problem (with the edit's index and path).
    public static func parse(_ text: String) throws(ModelReplyError) -> ModelReply {
        guard let json = firstJSONObject(in: text) else {
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { throw ModelReplyError("not JSON: the reply is empty") }
            if text.contains("{") { throw ModelReplyError("not JSON: the reply's JSON object is never closed") }
            throw ModelReplyError("not JSON: the reply contains no JSON object")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json.utf8))
        } catch {
            throw ModelReplyError("not JSON: the reply's object does not parse (\(jsonErrorDetail(error)))")
        }
        guard let root = object as? [String: Any] else { throw ModelReplyError("not JSON: the reply must be a JSON object") }

        guard let rawSummary = root["summary"], !(rawSummary is NSNull) else {
            throw ModelReplyError("missing \"summary\" (one line for the commit subject)")
        }
        guard let summaryText = string(rawSummary) else { throw ModelReplyError("\"summary\" must be a string") }
        let summary = summaryText.trimmingCharacters(in: .whitespacesAndNewlines)
        if summary.isEmpty { throw ModelReplyError("\"summary\" is empty; give one line for the commit subject") }
        if summary.contains(where: \.isNewline) { throw ModelReplyError("\"summary\" must be one line (put details in \"rationale\")") }

        var rationale: String?
        if let raw = root["rationale"], !(raw is NSNull) {
            guard let text = string(raw) else { throw ModelReplyError("\"rationale\" must be a string") }
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            rationale = trimmed.isEmpty ? nil : trimmed
        }

        guard let rawEdits = root["edits"], !(rawEdits is NSNull) else {
            throw ModelReplyError("missing \"edits\" (a list of edits; use [] for no change)")
        }
        guard let list = rawEdits as? [Any] else { throw ModelReplyError("\"edits\" must be a list") }
        if list.count > maxEdits { throw ModelReplyError("too many edits: \(list.count) (at most \(maxEdits))") }

        var edits: [ProposedEdit] = []
        var seen: [String: Int] = [:]
        var total = 0
        for (i, item) in list.enumerated() {
            guard let edit = item as? [String: Any] else { throw ModelReplyError("edits[\(i)] must be an object") }
            guard let rawPath = edit["path"], !(rawPath is NSNull) else { throw ModelReplyError("edits[\(i)]: missing \"path\"") }
            guard let path = string(rawPath) else { throw ModelReplyError("edits[\(i)]: \"path\" must be a string") }
            let at = "edits[\(i)] (\(path))"
            guard let rawAction = edit["action"], !(rawAction is NSNull) else {
                throw ModelReplyError("\(at): missing \"action\" (write or delete)")
            }
            guard let actionText = string(rawAction) else { throw ModelReplyError("\(at): \"action\" must be a string (write or delete)") }
            guard let action = ProposedEdit.Action(rawValue: actionText) else {
                throw ModelReplyError("\(at): unknown action \"\(actionText)\"; use write or delete")
            }
            // Duplicates are judged on the normalized form when there is one, so `./a.md` and `a.md` collide.
            let key = (try? PathGuard.normalize(path)) ?? path
            if let first = seen[key] { throw ModelReplyError("\(at): duplicate path, already changed by edits[\(first)]") }
            seen[key] = i
            switch action {
            case .delete:
                edits.append(.delete(path))
            case .write:
                guard let rawContent = edit["content"], let content = string(rawContent) else {
                    throw ModelReplyError("\(at): a write needs \"content\" as a string (the full new file)")
                }
                if content.unicodeScalars.contains("\u{0}") {
                    throw ModelReplyError("\(at): content contains a NUL byte (binary content is not allowed)")
                }
                let bytes = content.utf8.count
                if bytes > maxFileBytes {
                    throw ModelReplyError("\(at): content is \(bytes) bytes, over the limit of \(maxFileBytes) bytes (1 MiB) per file")
                }
                total += bytes
                if total > maxTotalBytes {
                    throw ModelReplyError("edits carry more than \(maxTotalBytes) bytes (8 MiB) of content in total (passed at edits[\(i)])")
                }
                edits.append(.write(path, content))
            }
        }
        return ModelReply(summary: summary, rationale: rationale, edits: edits)
    }

    /// The first balanced top-level `{…}` in `text`, honoring JSON strings and escapes; nil when
    /// there is no `{` or it is never closed.
    static func firstJSONObject(in text: String) -> Substring? {
        let scalars = text.unicodeScalars
        guard let start = scalars.firstIndex(of: "{") else { return nil }
        var depth = 0, inString = false, escaped = false
        var i = start
        while i < scalars.endIndex {
            let c = scalars[i]
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else if c == "\"" {
                inString = true
            } else if c == "{" || c == "[" {
                depth += 1
            } else if c == "}" || c == "]" {
                depth -= 1
                if depth == 0 {
                    return Substring(scalars[start...i])
                }
            }
            i = scalars.index(after: i)
        }
        return nil
    }

    /// A JSON string value; numbers and booleans are not strings.
    private static func string(_ value: Any) -> String? { value as? String }

    private static func jsonErrorDetail(_ error: any Error) -> String {
        let ns = error as NSError
        return (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
    }
}
