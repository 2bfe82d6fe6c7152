import CairnGit
import Foundation

/// A commit in human terms: who (the operator or which agent run), what and when.
public struct LogEntry: Sendable, Codable {
    public let commit: String
    public let parents: [String]
    public let summary: String
    public let body: String
    public let authorName: String
    public let authorEmail: String
    public let date: Date
    /// `operator`, `agent`, or `git` (written outside cairn).
    public let actorKind: String
    /// "Ada (operator)", "agent gc, run 2026…", "Ada via git".
    public let actor: String
    /// The Cairn trailers, in order.
    public let trailers: [String: String]
    /// Files changed against the first parent.
    public let changes: [FileChange]
    /// Files changed, and the lines inserted and deleted when `linesCounted`.
    public let stats: DiffStats
    /// False when the commit changed more files than `Vault.maxFilesForLineCounts` (an adopted vault's first commit):
    /// counting their lines would read every file, so `stats` then counts files only (its line counts are 0).
    public let linesCounted: Bool
}

/// A commit with its patch.
public struct ShowResult: Sendable, Codable {
    public let entry: LogEntry
    public let patch: String
}

/// Working-tree changes against a commit, with the patch.
public struct DiffResult: Sendable, Codable {
    public let base: String?
    public let changes: [FileChange]
    public let stats: DiffStats
    public let patch: String
}

extension Vault {
    /// The branch's history, newest first; only commits that changed `path` (a file or folder) when given.
    ///
    /// Commits come in commit-date order as the walk finds them (as `git log` shows them), so the first `limit`
    /// cost the same however deep the history is. With a path, each commit's entry there is compared with its
    /// parents' (see `PathLookup`: only the folders that changed are read).
    public func log(path: String? = nil, limit: Int = 20) throws -> [LogEntry] {
        guard let tip = try head() else { return [] }
        let walk = try DateOrderWalk(repository, from: [tip])
        let filter = path.map { Self.normalizeRelative($0) }
        let lookup = filter.map { PathLookup(repository, path: $0) }
        let differ = CommitDiffer(repository)
        var out: [LogEntry] = []
        while out.count < limit, let (oid, links) = try walk.next() {
            if let lookup {
                let here = try lookup.oid(in: links.tree)
                if links.parents.isEmpty {
                    if here == nil { continue }
                } else {
                    // Changed against any parent (a merge that took the path from one side still counts once).
                    let differs = try links.parents.contains { try lookup.oid(in: walk.links(of: $0).tree) != here }
                    if !differs { continue }
                }
            }
            let parentTree = try links.parents.first.map { try walk.links(of: $0).tree }
            out.append(try entry(for: repository.commit(oid), parentTree: parentTree, path: filter, differ: differ))
        }
        return out
    }

    /// One commit with its full patch against its first parent.
    public func show(_ rev: String) throws -> ShowResult {
        let oid = try resolve(rev)
        let commit = try repository.commit(oid)
        let diff = try repository.diff(from: try commit.parents.first.map { try repository.commit($0).tree }, to: commit.tree)
        return ShowResult(entry: try entry(for: commit, diff: diff), patch: try diff.patch())
    }

    /// The working tree (uncommitted edits included) against `rev` (default: the branch head).
    public func diff(against rev: String? = nil, paths: [String] = []) throws -> DiffResult {
        let base: OID? = try rev.map { try resolve($0) } ?? head()
        let tree = try base.map { try repository.commit($0).tree }
        _ = try usableIndex()
        var options = DiffOptions()
        options.paths = paths.map { Self.normalizeRelative($0) }
        let diff = try repository.diffToWorkdir(from: tree, options: options)
        return DiffResult(base: base?.hex, changes: Self.changes(of: diff), stats: try diff.stats(), patch: try diff.patch())
    }

    /// Resolves a revision, with a clear error when it does not exist.
    public func resolve(_ rev: String) throws -> OID {
        do { return try repository.resolveCommit(rev) } catch { throw VaultError.unknownRevision(rev) }
    }

    /// `commit` against its first parent (whose tree is `parentTree` when the caller knows it); `path` (a file or
    /// folder) limits the changes. `differ` (see `CommitDiffer`) serves a whole listing.
    func entry(for commit: Commit, parentTree: OID?? = nil, path: String? = nil, differ: CommitDiffer? = nil) throws -> LogEntry {
        let parentTree = try parentTree ?? commit.parents.first.map { try repository.commit($0).tree }
        let result = try (differ ?? CommitDiffer(repository)).diff(from: parentTree, to: commit.tree, path: path,
                                                                  maxFilesForLineCounts: Self.maxFilesForLineCounts)
        let changes = result.deltas.map { d in FileChange(path: d.path, oldPath: d.kind == .renamed ? d.oldPath : nil, kind: d.kind) }
        return entry(for: commit, changes: changes,
                     stats: result.stats ?? DiffStats(filesChanged: changes.count, insertions: 0, deletions: 0),
                     linesCounted: result.stats != nil)
    }

    func entry(for commit: Commit, diff: Diff) throws -> LogEntry {
        let changes = Self.changes(of: diff, checkingBinary: false)
        let linesCounted = changes.count <= Self.maxFilesForLineCounts
        let stats = linesCounted ? try diff.stats() : DiffStats(filesChanged: changes.count, insertions: 0, deletions: 0)
        return entry(for: commit, changes: changes, stats: stats, linesCounted: linesCounted)
    }

    private func entry(for commit: Commit, changes: [FileChange], stats: DiffStats, linesCounted: Bool = true) -> LogEntry {
        let trailers = commit.trailers.filter { $0.key.hasPrefix("Cairn-") }
        var map: [String: String] = [:]
        for t in trailers where map[t.key] == nil { map[t.key] = t.value }
        let kind: String
        let actor: String
        let operation = map["Cairn-Operation"]
        if let operation, let agent = map["Cairn-Agent"] {
            // The operator's decision about an agent's run (approve, reject) or policy merging it.
            kind = "operator"
            let verb = operation == "auto-merge" ? "auto-merged by policy" : "\(operation)d"
            actor = "\(commit.author.name) (operator), \(verb) agent \(agent)"
        } else if let agent = map["Cairn-Agent"] {
            kind = "agent"
            actor = "agent \(agent)" + (map["Cairn-Run"].map { ", run \($0)" } ?? "")
        } else if operation != nil {
            kind = "operator"
            actor = "\(commit.author.name) (operator)"
        } else {
            kind = "git"
            actor = "\(commit.author.name) via git"
        }
        return LogEntry(commit: commit.oid.hex, parents: commit.parents.map(\.hex), summary: commit.summary,
                        body: Self.stripTrailers(commit.body), authorName: commit.author.name, authorEmail: commit.author.email,
                        date: commit.author.time, actorKind: kind, actor: actor, trailers: map,
                        changes: changes, stats: stats, linesCounted: linesCounted)
    }

    /// Commits changing more files than this are shown without line counts (see `LogEntry.linesCounted`).
    public static let maxFilesForLineCounts = 2000

    /// The changed files; with `checkingBinary: false` no file's content is read (see `Diff.deltas(checkingBinary:)`).
    static func changes(of diff: Diff, checkingBinary: Bool = true) -> [FileChange] {
        diff.deltas(checkingBinary: checkingBinary).map { d in
            FileChange(path: d.path, oldPath: d.kind == .renamed ? d.oldPath : nil, kind: d.kind)
        }
    }

    /// The body without its trailer paragraph.
    static func stripTrailers(_ body: String) -> String {
        var paragraphs = body.components(separatedBy: "\n\n")
        if let last = paragraphs.last, !Trailer.parse("x\n\n" + last).isEmpty,
           last.split(separator: "\n").allSatisfy({ $0.contains(": ") }) {
            paragraphs.removeLast()
        }
        return paragraphs.joined(separator: "\n\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A vault-relative path without leading `./` or `/` and without a trailing `/`.
    static func normalizeRelative(_ path: String) -> String {
        var p = path
        while p.hasPrefix("./") { p.removeFirst(2) }
        while p.hasPrefix("/") { p.removeFirst() }
        while p.hasSuffix("/") { p.removeLast() }
        return p == "." ? "" : p
    }
}
