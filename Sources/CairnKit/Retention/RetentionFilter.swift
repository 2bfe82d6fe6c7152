import CairnGit
import Foundation

/// The tree filter of a prune or a forget: path rules, each active for every commit or only for commits older
/// than a cutoff, each optionally keeping the versions that are current on the branch.
struct RetentionFilter: TreeFilter {
    struct Rule {
        /// The paths the rule removes.
        var globs: [Glob]
        /// Active only for commits whose committer time is before this (seconds since 1970); nil: every commit.
        var before: Int64?
        /// Versions that stay although they match: path → blob (the branch's current files).
        var keep: [String: OID] = [:]
        /// Folders holding a kept version (so such a folder is inspected rather than dropped whole).
        var keepFolders: Set<String> = []

        init(globs: [Glob], before: Int64? = nil, keep: [String: OID] = [:]) {
            self.globs = globs
            self.before = before
            self.keep = keep
            for path in keep.keys {
                var parts = path.split(separator: "/").dropLast()
                while !parts.isEmpty { keepFolders.insert(parts.joined(separator: "/")); parts = parts.dropLast() }
            }
        }
    }

    var rules: [Rule]

    /// Globs for a list of paths to forget: a path without wildcards also covers everything under it.
    static func forgetGlobs(_ paths: [String]) -> [Glob] {
        paths.flatMap { path -> [Glob] in
            let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
            if trimmed.contains(where: { "*?[".contains($0) }) { return [Glob(trimmed)] }
            return [Glob(trimmed), Glob(trimmed + "/**")]
        }
    }

    func rules(forCommitTime time: Int64) -> UInt64 {
        var mask: UInt64 = 0
        for (i, rule) in rules.enumerated() where rule.before.map({ time < $0 }) ?? true { mask |= 1 << UInt64(i) }
        return mask
    }

    func folder(_ path: String, rules mask: UInt64) -> FolderDecision {
        var inspect = false
        for (i, rule) in rules.enumerated() where mask & (1 << UInt64(i)) != 0 {
            for glob in rule.globs {
                if !rule.keepFolders.contains(path), glob.pattern.hasSuffix("/**"),
                   Glob(String(glob.pattern.dropLast(3))).matches(path) {
                    return .drop
                }
                if glob.couldMatch(under: path) { inspect = true }
            }
        }
        return inspect ? .inspect : .keep
    }

    func keepFile(_ path: String, blob: OID, rules mask: UInt64) -> Bool {
        for (i, rule) in rules.enumerated() where mask & (1 << UInt64(i)) != 0 {
            if rule.globs.contains(where: { $0.matches(path) }) && rule.keep[path] != blob { return false }
        }
        return true
    }
}
