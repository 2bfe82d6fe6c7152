import Foundation

/// Why a proposal cannot be shown, approved or rejected.
public enum ProposalError: Error, CustomStringConvertible, Sendable, Equatable {
    case unknown(String)
    case ambiguous(String, [String])
    case nonePending
    /// `main` changed files the proposal also changes since the agent read them, or the merge conflicts.
    case stale(id: String, paths: [String], conflict: Bool)
    case malformed(id: String, reason: String)
    /// The proposal was decided already (e.g. a command re-run after a crash): nothing more to do.
    case alreadyDecided(id: String, decision: String)
    /// The proposal was decided the other way already.
    case conflictingDecision(id: String, decision: String)

    public var description: String {
        switch self {
        case .unknown(let id):
            return "no pending proposal '\(id)'; `cairn proposals` lists them"
        case .ambiguous(let id, let matches):
            return "'\(id)' matches several proposals: \(matches.joined(separator: ", ")); give more of the id"
        case .nonePending:
            return "no pending proposals"
        case .stale(let id, let paths, let conflict):
            let list = paths.prefix(10).joined(separator: ", ")
            let why = conflict ? "its changes conflict with main in" : "main changed these files after the agent read them:"
            return "proposal \(id) is stale: \(why) \(list); nothing was merged — reject it (`cairn reject \(id)`) and run the agent again"
        case .alreadyDecided(let id, let decision):
            return "proposal \(id) was already \(decision); nothing to do"
        case .conflictingDecision(let id, let decision):
            return "proposal \(id) was already \(decision); a decision is final (run the agent again for a new proposal)"
        case .malformed(let id, let reason):
            return "proposal \(id) cannot be read: \(reason)"
        }
    }
}
