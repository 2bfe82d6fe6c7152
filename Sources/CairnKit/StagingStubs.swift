#if CAIRN_STUBS
import Foundation
public struct PolicyFinding: Sendable, Hashable, Codable, CustomStringConvertible { public let rule: String; public let path: String?; public let message: String; public var description: String { message } }
public struct ProposalSize: Sendable, Codable { public var files: Int; public var addedLines: Int; public var removedLines: Int }
public struct PolicyVerdict: Sendable, Codable { public var blocked: [PolicyFinding]; public var needsReview: [PolicyFinding]; public var edits: [ProposedEdit]; public var size: ProposalSize; public var isBlocked: Bool { !blocked.isEmpty } }
public struct PolicyGate { public init(policy: Policy) {}; public func evaluate(edits: [ProposedEdit], agent: AgentDefinition, base: BaseSnapshot) -> PolicyVerdict { PolicyVerdict(blocked: [], needsReview: [], edits: edits, size: ProposalSize(files: 0, addedLines: 0, removedLines: 0)) } }
#endif
