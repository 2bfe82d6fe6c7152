import Foundation

/// Why a workflow could not be started, resumed or cancelled. Messages name the file or run and say what to do.
public enum WorkflowError: Error, CustomStringConvertible, Sendable, Equatable {
    /// No `workflows/NAME.md`.
    case unknownWorkflow(String, known: [String])
    /// The definition has problems (file, line, reason).
    case invalid([FileProblem])
    /// Inputs missing or not declared.
    case badInput(path: String, line: Int?, reason: String)
    /// No run with that id (or prefix/suffix).
    case unknownRun(String)
    case ambiguousRun(String, [String])
    /// The run cannot do what was asked in its state.
    case notActive(id: String, status: WorkflowStatus, reason: String)
    /// The stored state cannot be read.
    case corrupt(id: String, reason: String)
    /// A quota or the circuit breaker of the workflow refuses a new run; nothing was written.
    case startRefused(RunLimitError)

    public var description: String {
        switch self {
        case .unknownWorkflow(let name, let known):
            return "unknown workflow '\(name)'; workflows in this vault: \(known.isEmpty ? "none" : known.joined(separator: ", ")) (see workflows/)"
        case .invalid(let problems):
            return "the workflow cannot run; fix these first:\n" + problems.map { "  \($0)" }.joined(separator: "\n")
        case .badInput(let path, let line, let reason):
            return FileProblem(path: path, line: line, reason: reason).description
        case .unknownRun(let id):
            return "no workflow run '\(id)'; `cairn runs` lists them"
        case .ambiguousRun(let id, let matches):
            return "'\(id)' matches several workflow runs: \(matches.joined(separator: ", ")); give more of the id"
        case .notActive(let id, let status, let reason):
            return "workflow run \(id) is \(status.rawValue): \(reason)"
        case .corrupt(let id, let reason):
            return "the state of workflow run \(id) cannot be read: \(reason); `git log refs/cairn/workflows/\(id)` shows its checkpoints"
        case .startRefused(let limit):
            return limit.description
        }
    }
}
