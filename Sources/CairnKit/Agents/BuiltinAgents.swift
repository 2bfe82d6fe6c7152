import CairnGit
import Foundation

/// What a built-in agent proposes.
public struct BuiltinOutcome: Sendable {
    public var edits: [ProposedEdit]
    public var summary: String
    public var details: [String]
}

/// Agents that need no model, so the loop works offline: `gc` and `digest`.
public enum BuiltinAgents {
    /// Runs built-in `name` against `base`.
    public static func run(_ name: String, base: BaseSnapshot, policy: Policy, now: Date) throws -> BuiltinOutcome {
        switch name {
        case "gc": return try garbageCollect(base: base, policy: policy, now: now)
        case "digest": return try digest(base: base, now: now)
        default: throw VaultError.invalidArgument("unknown builtin agent '\(name)'; available: \(AgentDefinition.builtins.joined(separator: ", "))")
        }
    }

    /// Proposes moving `memory/working/` notes past their `expires:` date (or older than the policy TTL by their
    /// `updated:`/`created:` date) to `memory/knowledge/archive/YYYY/`, unchanged. Pinned notes stay.
    static func garbageCollect(base: BaseSnapshot, policy: Policy, now: Date) throws -> BuiltinOutcome {
        var edits: [ProposedEdit] = []
        var details: [String] = []
        let today = FrontMatter.dayString(now)
        let ttl = TimeInterval(policy.memory.workingTTLDays) * 86_400
        let year = String(today.prefix(4))
        for file in try base.files(matching: [Glob("memory/working/**")]) where file.path.hasSuffix(".md") {
            guard let data = try? base.repository.blob(file.oid), let note = try? NoteParser.parse(path: file.path, data: data) else { continue }
            if note.pinned { continue }
            var why: String? = nil
            if let expires = note.expiresDate {
                if expires < now, FrontMatter.dayString(expires) < today { why = "expired on \(FrontMatter.dayString(expires))" }
            } else if policy.memory.workingTTLDays > 0,
                      let stamp = (note.frontMatter?.updated ?? note.frontMatter?.created).flatMap(FrontMatter.date(from:)),
                      now.timeIntervalSince(stamp) > ttl {
                why = "not updated since \(FrontMatter.dayString(stamp)) (TTL \(policy.memory.workingTTLDays) days)"
            }
            guard let why else { continue }
            let name = (file.path as NSString).lastPathComponent
            var target = "memory/knowledge/archive/\(year)/\(name)"
            var n = 2
            while base.entry(target) != nil || edits.contains(where: { $0.path == target }) {
                target = "memory/knowledge/archive/\(year)/\((name as NSString).deletingPathExtension)-\(n).md"
                n += 1
            }
            edits.append(.delete(file.path))
            edits.append(.write(target, data))
            details.append("\(file.path) → \(target): \(why)")
        }
        let count = details.count
        return BuiltinOutcome(edits: edits, summary: count == 0 ? "nothing to archive" : "archive \(count) expired working note\(count == 1 ? "" : "s")",
                              details: details)
    }

    /// Writes `memory/working/digests/YYYY-MM-DD.md`: what changed on main since the last digest.
    static func digest(base: BaseSnapshot, now: Date) throws -> BuiltinOutcome {
        let repo = base.repository
        // The last digest records the commit it covered up to.
        var since: OID? = nil
        var lastName = ""
        for file in try base.files(matching: [Glob("memory/working/digests/*.md")]) where file.path > lastName {
            guard let note = try? NoteParser.parse(path: file.path, data: try repo.blob(file.oid)),
                  let through = note.frontMatter?["through"]?.scalarText, let oid = OID(hex: through) else { continue }
            lastName = file.path
            since = oid
        }
        let walk = try RevWalk(repo, firstParentOnly: true)
        try walk.push(base.commit)
        if let since, (try? repo.commit(since)) != nil { try walk.hide(since) }
        var lines: [String] = []
        var files = Set<String>()
        var count = 0
        while let oid = try walk.next(), count < 200 {
            let c = try repo.commit(oid)
            count += 1
            let parentTree = try c.parents.first.map { try repo.commit($0).tree }
            let changed = try repo.diff(from: parentTree, to: c.tree).deltas.map(\.path)
                .filter { !$0.hasPrefix("memory/working/digests/") }
            if changed.isEmpty && c.trailer("Cairn-Operation") == nil { continue }
            changed.forEach { files.insert($0) }
            let who = c.trailer("Cairn-Agent").map { "agent \($0)" } ?? c.author.name
            lines.append("- \(FrontMatter.dayString(c.author.time)) — \(c.summary) (\(who), \(changed.count) file\(changed.count == 1 ? "" : "s"))")
        }
        let day = FrontMatter.dayString(now)
        guard !lines.isEmpty else { return BuiltinOutcome(edits: [], summary: "nothing new since the last digest", details: []) }
        let expires = FrontMatter.dayString(now.addingTimeInterval(14 * 86_400))
        var text = "---\ntitle: \"Digest \(day)\"\ntier: working\ntags: [digest]\ncreated: \(day)\nexpires: \(expires)\nthrough: \(base.commit.hex)\n---\n\n"
        text += "# Digest \(day)\n\n## Commits\n\n" + lines.joined(separator: "\n") + "\n\n## Files changed\n\n"
        text += files.sorted().prefix(100).map { "- [[\(($0 as NSString).lastPathComponent.replacingOccurrences(of: ".md", with: ""))]] (`\($0)`)" }.joined(separator: "\n")
        if files.count > 100 { text += "\n- … and \(files.count - 100) more" }
        text += "\n"
        var path = "memory/working/digests/\(day).md"
        var n = 2
        while base.entry(path) != nil { path = "memory/working/digests/\(day)-\(n).md"; n += 1 }
        return BuiltinOutcome(edits: [.write(path, text)], summary: "digest of \(lines.count) change\(lines.count == 1 ? "" : "s") since \(since.map { $0.short() } ?? "the beginning")",
                              details: [path])
    }
}
