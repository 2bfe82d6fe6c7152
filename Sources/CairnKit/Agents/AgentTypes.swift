import CairnGit
import Foundation

/// One change an agent proposes: write a file (create or replace) or delete one.
public struct ProposedEdit: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Action: String, Sendable, Codable { case write, delete }
    /// Vault-relative path exactly as the agent gave it (normalized later by `PathGuard`).
    public var path: String
    public var action: Action
    /// The new content for `write`.
    public var content: Data?
    /// True when the agent marked the file executable (command agents only).
    public var executable: Bool

    public init(path: String, action: Action, content: Data? = nil, executable: Bool = false) {
        self.path = path
        self.action = action
        self.content = content
        self.executable = executable
    }

    public static func write(_ path: String, _ content: Data) -> ProposedEdit { ProposedEdit(path: path, action: .write, content: content) }
    public static func write(_ path: String, _ text: String) -> ProposedEdit { write(path, Data(text.utf8)) }
    public static func delete(_ path: String) -> ProposedEdit { ProposedEdit(path: path, action: .delete) }

    public var description: String { "\(action.rawValue) \(path)" }
}

/// One memory item shown to an agent, pinned by blob id so a run can be explained and replayed.
public struct ContextItem: Sendable, Hashable, Codable {
    public let path: String
    /// The blob id of the exact content shown.
    public let blob: String
    /// Retrieval score (1 for always-loaded core memory).
    public let score: Double
    /// Why it was selected: "core", "search: <words>" (ranked for the task), "read-scope" (filling the budget by path).
    public let reason: String
    /// Estimated tokens (bytes / 4, rounded up) of what is shown: the note, or the passage.
    public let tokens: Int
    /// For a passage of a note too long to show whole: its lines in the blob, `first-last` (1-based, inclusive).
    /// Absent when the whole note is shown.
    public let lines: String?

    public init(path: String, blob: String, score: Double, reason: String, tokens: Int, lines: String? = nil) {
        self.path = path
        self.blob = blob
        self.score = score
        self.reason = reason
        self.tokens = tokens
        self.lines = lines
    }

    /// What the item shows: its path, with `:first-last` for a passage.
    public var label: String { lines.map { "\(path):\($0)" } ?? path }

    /// The text the item shows, cut from the note's `content`: the whole of it, or the passage's lines.
    public func excerpt(of content: String) -> String {
        guard let lines, let dash = lines.firstIndex(of: "-"), let first = Int(lines[..<dash]),
              let last = Int(lines[lines.index(after: dash)...]), first >= 1, last >= first else { return content }
        let all = content.components(separatedBy: "\n")
        guard first <= all.count else { return "" }
        return all[(first - 1)..<min(last, all.count)].joined(separator: "\n") + "\n"
    }

    /// The token estimate used everywhere in cairn: one token per 4 bytes, rounded up.
    public static func estimateTokens(_ byteCount: Int) -> Int { (byteCount + 3) / 4 }
}

/// What an agent run gets besides its files: identity, inputs and the memory selected for it.
public struct AgentContext: Sendable, Codable {
    public let runID: String
    public let agent: String
    /// `--input k=v` values.
    public let input: [String: String]
    /// The `main` commit the agent reads.
    public let base: String
    /// The run's clock (ISO 8601), so agents need not read the system time.
    public let now: String
    /// Always-loaded `memory/core/` notes, within the policy's core token budget.
    public let core: [ContextItem]
    /// Notes of the agent's read scope selected for the task (best matches first), within its context budget.
    public let retrieved: [ContextItem]

    public init(runID: String, agent: String, input: [String: String], base: String, now: String, core: [ContextItem], retrieved: [ContextItem]) {
        self.runID = runID
        self.agent = agent
        self.input = input
        self.base = base
        self.now = now
        self.core = core
        self.retrieved = retrieved
    }
}

/// A read-only view of the base commit an agent works from.
public struct BaseSnapshot {
    public let repository: Repository
    public let commit: OID
    public let tree: OID

    public init(repository: Repository, commit: OID, tree: OID) {
        self.repository = repository
        self.commit = commit
        self.tree = tree
    }

    /// The content of `path` at the base, nil when absent (or not a file).
    public func file(_ path: String) -> Data? {
        guard let e = try? repository.entry(at: path, in: tree), e.kind != .tree, e.kind != .submodule else { return nil }
        return try? repository.blob(e.oid)
    }

    /// The tree entry at `path`, nil when absent.
    public func entry(_ path: String) -> TreeEntry? { try? repository.entry(at: path, in: tree) }

    /// Files whose paths match any of `globs`, without walking subtrees that cannot match.
    public func files(matching globs: [Glob]) throws -> [TreeFile] {
        guard !globs.isEmpty else { return [] }
        var out: [TreeFile] = []
        // Start at each glob's literal folder (`inbox/bench/**` → `inbox/bench`) instead of the root, so a
        // narrow glob never lists the large folders around it.
        var stack: [(String, OID)] = []
        var starts = Set<String>()
        for glob in globs {
            let literal = Glob.literalPrefix(glob.pattern)
            if literal.isEmpty { stack = [("", tree)]; starts = [""]; break }
            starts.insert(literal)
        }
        if stack.isEmpty {
            let sorted = starts.sorted()
            for start in sorted where !sorted.contains(where: { $0 != start && start.hasPrefix($0 + "/") }) {
                guard let entry = try repository.entry(at: start, in: tree) else { continue }
                if entry.kind == .tree {
                    stack.append((start + "/", entry.oid))
                } else if entry.kind != .submodule, globs.anyMatches(start) {
                    out.append(TreeFile(path: start, oid: entry.oid, mode: entry.mode))
                }
            }
        }
        while let (prefix, oid) = stack.popLast() {
            for e in try repository.tree(oid).entries {
                let path = prefix + e.name
                switch e.kind {
                case .tree:
                    if globs.contains(where: { $0.couldMatch(under: path) }) { stack.append((path + "/", e.oid)) }
                case .submodule: continue
                default:
                    if globs.anyMatches(path) { out.append(TreeFile(path: path, oid: e.oid, mode: e.mode)) }
                }
            }
        }
        return out.sorted { $0.path < $1.path }
    }
}
