import Foundation

/// A JSON file cairn reads (policy.json, .cairn/config.json): decoded with line-numbered errors, then
/// checked value by value. One implementation of load/parse/validate serves every such file.
protocol CheckedConfig: Decodable {
    /// Every value out of range, in file order, as key path and reason.
    func problems() -> [(keyPath: String, reason: String)]
}

extension CheckedConfig {
    static func loadChecked(from url: URL) throws -> Self {
        try parseChecked(ConfigFile.read(url, path: url.path), path: url.path)
    }

    static func parseChecked(_ data: Data, path: String) throws -> Self {
        let (value, lines) = try ConfigFile.decode(Self.self, from: data, path: path)
        if let problem = value.problems().first {
            throw FileProblem(path: path, line: lines.line(for: problem.keyPath), reason: "\(problem.keyPath): \(problem.reason)")
        }
        return value
    }

    func validateChecked(path: String) throws {
        if let problem = problems().first {
            throw FileProblem(path: path, reason: "\(problem.keyPath): \(problem.reason)")
        }
    }
}
