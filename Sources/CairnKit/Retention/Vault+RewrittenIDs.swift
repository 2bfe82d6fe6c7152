import CairnGit
import Foundation

/// Commit ids as they were before history rewrites, mapped to what they are now: approval records, workflow
/// state and the tick's memory name commits by id, and a prune or forget changes those ids.
public struct RewrittenIDs: Sendable {
    /// Old id → current id (nil: the commit left history with nothing of its ancestry kept). Ids never rewritten
    /// are absent.
    public let map: [OID: OID?]

    /// The current id of `id`: itself when never rewritten, nil when it left history.
    public func current(_ id: OID) -> OID? {
        if let mapped = map[id] { return mapped }
        return id
    }

    /// `current` for a hex id; text that is not an id is returned unchanged.
    public func current(hex: String) -> String? {
        guard let id = OID(hex: hex) else { return hex }
        return current(id)?.hex
    }
}

extension Vault {
    /// Every rewrite recorded on `refs/cairn/rewrites`, chained: a commit rewritten twice maps to its latest id.
    /// Empty when history was never rewritten (reads one reference).
    public func rewrittenIDs() throws -> RewrittenIDs {
        guard try repository.referenceTarget(RewriteRecord.reference) != nil else { return RewrittenIDs(map: [:]) }
        return RewrittenIDs(map: RewriteFollower.combinedMap(try RewriteRecord.load(from: repository)))
    }
}
