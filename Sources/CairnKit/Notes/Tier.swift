/// The memory tier a note belongs to, which decides how long it lives and when agents see it.
///
/// Each tier is a folder of the vault (see `folder`). A note's tier comes from its front matter
/// `tier:` key when present, otherwise from the folder it is stored in.
public enum Tier: String, Sendable, CaseIterable, Codable {
    /// Always-loaded memory, given to every agent.
    case core
    /// Short-term memory: scratch and daily notes that expire.
    case working
    /// Medium-term project and customer state.
    case projects
    /// Long-term knowledge.
    case knowledge
    /// Raw incoming items waiting for triage.
    case inbox

    /// The vault-relative folder holding notes of this tier, with `/` separators and no trailing slash.
    public var folder: String {
        switch self {
        case .core: "memory/core"
        case .working: "memory/working"
        case .projects: "memory/projects"
        case .knowledge: "memory/knowledge"
        case .inbox: "inbox"
        }
    }

    /// The tier whose folder contains `path`, or `nil` when the path lies outside every tier folder.
    ///
    /// `path` is vault-relative with `/` separators; a leading `./` is ignored. Only whole path
    /// components match: `memory/coredump/x.md` is not in `memory/core`. The folder itself
    /// (`memory/core`) counts as inside its tier.
    public static func fromPath(_ path: String) -> Tier? {
        var normalized = Substring(path)
        while normalized.hasPrefix("./") {
            normalized = normalized.dropFirst(2)
        }
        for tier in Tier.allCases {
            let folder = tier.folder
            if normalized == folder || normalized.hasPrefix(folder + "/") {
                return tier
            }
        }
        return nil
    }

    /// A human-readable list of the allowed tier names, for error messages.
    /// Singular and common spellings operators already use (`project`, `work`, `long-term`…).
    static func alias(_ name: String) -> Tier? {
        switch name {
        case "project": return .projects
        case "work", "short-term", "scratch": return .working
        case "long-term", "reference", "archive": return .knowledge
        case "always", "pinned-core": return .core
        default: return nil
        }
    }

    static var allowedNames: String {
        allCases.map(\.rawValue).joined(separator: ", ")
    }
}
