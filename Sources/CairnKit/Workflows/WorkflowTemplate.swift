import Foundation

/// The `{{ … }}` placeholders of step inputs.
///
/// - `{{inputs.NAME}}` — a workflow input (given, or its default).
/// - `{{steps.ID.FIELD}}` — what an earlier step produced: `run` (its run id), `commit`, `outcome`
///   (`proposed`, `auto-merged`, `no-changes`), `summary`, `files` (changed paths, space-separated), or
///   `output.KEY` — a line `output.KEY: value` that a command agent printed.
/// - `{{run.id}}`, `{{run.workflow}}`, `{{run.trigger}}` — the workflow run itself.
///
/// Anything else between `{{` and `}}` is an error when the workflow is parsed, never at run time.
public enum WorkflowTemplate {
    public enum Reference: Hashable, Sendable {
        case input(String)
        case step(String, field: String)
        case run(String)
    }

    public struct SyntaxError: Error, Sendable { public let reason: String }

    static let stepFields = ["run", "commit", "outcome", "summary", "files"]
    static let runFields = ["id", "workflow", "trigger"]

    /// The placeholders in `text`, checked for shape.
    public static func references(in text: String) throws -> [Reference] {
        try pieces(text).compactMap { piece in
            guard case .reference(let expr) = piece else { return nil }
            return try parse(expr)
        }
    }

    /// `text` with every placeholder replaced by `resolve`'s value.
    public static func expand(_ text: String, resolve: (Reference) -> String) throws -> String {
        var out = ""
        for piece in try pieces(text) {
            switch piece {
            case .literal(let s): out += s
            case .reference(let expr): out += resolve(try parse(expr))
            }
        }
        return out
    }

    private enum Piece { case literal(String), reference(String) }

    private static func pieces(_ text: String) throws -> [Piece] {
        var out: [Piece] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            out.append(.literal(String(rest[..<open.lowerBound])))
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw SyntaxError(reason: "'{{' without a closing '}}' in \"\(text)\"")
            }
            out.append(.reference(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)))
            rest = rest[close.upperBound...]
        }
        out.append(.literal(String(rest)))
        return out
    }

    private static func parse(_ expr: String) throws -> Reference {
        let parts = expr.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        switch parts.first {
        case "inputs" where parts.count == 2 && !parts[1].isEmpty:
            return .input(parts[1])
        case "steps" where parts.count == 3 && !parts[1].isEmpty:
            let field = parts[2]
            guard stepFields.contains(field) || (field.hasPrefix("output.") && field.count > "output.".count) else {
                throw SyntaxError(reason: "{{\(expr)}}: a step offers \(stepFields.joined(separator: ", ")) and output.KEY")
            }
            return .step(parts[1], field: field)
        case "run" where parts.count == 2 && runFields.contains(parts[1]):
            return .run(parts[1])
        default:
            throw SyntaxError(reason: "unknown placeholder {{\(expr)}}; use {{inputs.NAME}}, {{steps.ID.FIELD}} or {{run.id}}")
        }
    }
}

/// Checks `on: schedule` cron expressions with the parser `cairn tick` uses.
enum WorkflowCron {
    /// Nil when `expression` is a valid cron expression, else what is wrong.
    static func problem(_ expression: String) -> String? {
        do {
            _ = try CronSchedule(parsing: expression)
            return nil
        } catch {
            return (error.field.map { "\($0.rawValue) field " } ?? "") + error.reason
        }
    }
}
