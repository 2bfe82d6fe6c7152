import CairnGit
import Foundation

/// Squashes agent and tick commits older than a cutoff on a branch's first-parent line into one commit per day,
/// after the tree filter of a prune ran (it works on the filtered ids).
///
/// - Walking the first-parent line oldest first, each run of consecutive squashable commits of one UTC day
///   (committer time before the cutoff; `Cairn-Operation` tick, approve or auto-merge) becomes one commit: the
///   last one's tree, author and committer, one parent (the new id of the commit before the run), a message
///   listing what it replaces and `Cairn-Operation: squash`. The agents' proposal commits those merges brought
///   in leave the line with them.
/// - Every other commit of the line (the operator's own) keeps its tree, message, author, dates and trailers;
///   only its parents change, to the new ids.
/// - Commits off the line that other references reach (pending or archived proposals, run records) are rebuilt
///   on the new ids the same way, so nothing keeps the squashed history alive.
/// Objects are written through `repository` (attach an `InMemoryObjects` to keep them off the disk).
struct HistorySquash {
    let repository: Repository
    /// Seconds since 1970: commits whose committer time is before this may be squashed.
    let cutoff: Int64
    /// Commit id → its id after the squash, for every commit looked at (the same id when unchanged).
    private(set) var map: [OID: OID] = [:]
    /// Commits folded into a day's commit, and the day commits written.
    private(set) var squashed = 0
    private(set) var days = 0

    init(repository: Repository, cutoff: Int64) {
        self.repository = repository
        self.cutoff = cutoff
    }

    static let squashableOperations: Set<String> = ["tick", "approve", "auto-merge"]

    private static let dayFormat: DateFormatter = {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        return f
    }()

    /// Squashes the first-parent line ending at `tip`; returns the new tip.
    mutating func squash(line tip: OID) throws -> OID {
        var line: [OID] = []
        var next: OID? = tip
        while let id = next, map[id] == nil {
            line.append(id)
            next = try repository.commit(id).parents.first
        }
        var newParent: OID? = next.flatMap { map[$0] }
        var group: [Commit] = []
        var groupDay = ""
        for id in line.reversed() {
            let c = try repository.commit(id)
            let time = Int64(c.committer.time.timeIntervalSince1970)
            if time < cutoff, Self.squashableOperations.contains(c.trailer("Cairn-Operation") ?? "") {
                let day = Self.dayFormat.string(from: c.committer.time)
                if !group.isEmpty && day != groupDay { newParent = try flush(&group, day: groupDay, parent: newParent) }
                groupDay = day
                group.append(c)
                continue
            }
            newParent = try flush(&group, day: groupDay, parent: newParent)
            let rebuilt = try reparent(id, firstParent: newParent)
            map[id] = rebuilt
            newParent = rebuilt
        }
        newParent = try flush(&group, day: groupDay, parent: newParent)
        return newParent ?? tip
    }

    /// One commit for a day's run of squashable commits; every member maps to it.
    private mutating func flush(_ group: inout [Commit], day: String, parent: OID?) throws -> OID? {
        guard let last = group.last else { return parent }
        var subjects = group.map { "- " + $0.summary }
        if subjects.count > 40 { subjects = Array(subjects.prefix(40)) + ["- … and \(group.count - 40) more"] }
        let agents = Set(group.compactMap { $0.trailer("Cairn-Agent") }).sorted()
        var trailers = [Trailer("Cairn-Operation", "squash"), Trailer("Cairn-Squashed", "\(group.count)"), Trailer("Cairn-Day", day)]
        if !agents.isEmpty { trailers.append(Trailer("Cairn-Agents", agents.joined(separator: ", "))) }
        let message = Trailer.message(subject: "Agent and tick commits of \(day), squashed (\(group.count))",
                                      body: subjects.joined(separator: "\n"), trailers: trailers)
        let commit = try repository.createCommit(tree: last.tree, parents: parent.map { [$0] } ?? [], author: last.author,
                                                 committer: last.committer, message: message)
        for c in group { map[c.oid] = commit }
        squashed += group.count
        days += 1
        group.removeAll()
        return commit
    }

    /// `id` with its first parent replaced and its other parents rebuilt; byte for byte otherwise.
    private mutating func reparent(_ id: OID, firstParent: OID?) throws -> OID {
        let (_, bytes) = try repository.rawObject(id)
        guard let parsed = RawCommit(bytes) else { throw GitError(code: -1, message: "commit \(id) is malformed", function: "squash") }
        var parents: [OID] = firstParent.map { [$0] } ?? []
        for p in parsed.parents.dropFirst() { let q = try rebuild(p); if !parents.contains(q) { parents.append(q) } }
        if parents == parsed.parents { return id }
        var out = Array("tree \(parsed.tree.hex)\n".utf8)
        for p in parents { out += Array("parent \(p.hex)\n".utf8) }
        out += bytes[parsed.restStart...]
        return try repository.writeRawObject(.commit, out)
    }

    /// The new id of a commit off the squashed line: rebuilt on the new ids of its parents (depth first, without
    /// recursion), the same id when none of its ancestors changed.
    mutating func rebuild(_ tip: OID) throws -> OID {
        if let known = map[tip] { return known }
        var stack: [OID] = [tip]
        while let id = stack.last {
            if map[id] != nil { stack.removeLast(); continue }
            let (kind, bytes) = try repository.rawObject(id)
            guard kind == .commit, let parsed = RawCommit(bytes) else { map[id] = id; stack.removeLast(); continue }
            let missing = parsed.parents.filter { map[$0] == nil }
            if !missing.isEmpty { stack += missing; continue }
            stack.removeLast()
            var parents: [OID] = []
            for p in parsed.parents where !parents.contains(map[p]!) { parents.append(map[p]!) }
            if parents == parsed.parents { map[id] = id; continue }
            var out = Array("tree \(parsed.tree.hex)\n".utf8)
            for p in parents { out += Array("parent \(p.hex)\n".utf8) }
            out += bytes[parsed.restStart...]
            map[id] = try repository.writeRawObject(.commit, out)
        }
        return map[tip]!
    }
}
