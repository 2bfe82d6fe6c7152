import CairnGit
import Foundation

/// One history rewrite as recorded under `refs/cairn/rewrites`: which commit became which, which references
/// moved, and which paths were forgotten — never any content.
///
/// `refs/cairn/rewrites` is a chain of commits, one per rewrite (each the parent of the next), so it syncs like
/// any vault state and `git log refs/cairn/rewrites` lists every prune and erasure. Each commit's tree holds:
/// - `commit-map`: a line `OLD NEW` per commit whose id changed (`NEW` all zeros: dropped with no ancestor left),
///   the format of git-filter-repo's `.git/filter-repo/commit-map`;
/// - `ref-map`: a line `OLD NEW NAME` per reference that moved or was deleted (zeros for none);
/// - `receipt.json`: what, when, why, by whom, and the counts (`RewriteReceipt`).
///
/// The ids in the map are text, not object links, so the record keeps nothing of the old history alive.
public struct RewriteRecord: Sendable {
    /// The reference holding the chain.
    public static let reference = "refs/cairn/rewrites"

    /// The record commit itself (nil until written).
    public var id: OID?
    /// Old commit id → new id (nil: dropped, nothing of its ancestry left). Unchanged commits are absent.
    public var commits: [OID: OID?]
    /// Every reference the rewrite moved or deleted.
    public var references: [ReferenceChange]
    public var receipt: RewriteReceipt

    public init(id: OID? = nil, commits: [OID: OID?], references: [ReferenceChange], receipt: RewriteReceipt) {
        self.id = id
        self.commits = commits
        self.references = references
        self.receipt = receipt
    }

    /// A reference's value before and after (nil: absent).
    public struct ReferenceChange: Sendable, Codable, Equatable {
        public let name: String
        public let old: OID?
        public let new: OID?
        public init(name: String, old: OID?, new: OID?) { self.name = name; self.old = old; self.new = new }

        enum CodingKeys: String, CodingKey { case name, old, new }
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decode(String.self, forKey: .name)
            old = try c.decodeIfPresent(String.self, forKey: .old).flatMap(OID.init(hex:))
            new = try c.decodeIfPresent(String.self, forKey: .new).flatMap(OID.init(hex:))
        }
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encodeIfPresent(old?.hex, forKey: .old)
            try c.encodeIfPresent(new?.hex, forKey: .new)
        }
    }

    /// Where `old` went: `.some(new)` when this rewrite changed it (new nil: dropped), nil when it did not touch it.
    public func resolve(_ old: OID) -> OID?? { commits[old] }

    private static let zero = String(repeating: "0", count: 40)

    /// The `commit-map` text.
    func commitMapText() -> String {
        var out = "old new\n"
        for (old, new) in commits.sorted(by: { $0.key < $1.key }) { out += "\(old.hex) \(new?.hex ?? Self.zero)\n" }
        return out
    }

    /// The `ref-map` text.
    func refMapText() -> String {
        var out = "old new ref\n"
        for r in references { out += "\(r.old?.hex ?? Self.zero) \(r.new?.hex ?? Self.zero) \(r.name)\n" }
        return out
    }

    /// Writes the record as a commit whose parent is the current `refs/cairn/rewrites` (the reference is not
    /// moved: the caller switches it with the others). Returns the commit id.
    func write(to repository: Repository, parent: OID?, author: Signature) throws -> OID {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let files: [(String, Data)] = [
            ("commit-map", Data(commitMapText().utf8)),
            ("receipt.json", try encoder.encode(receipt) + Data("\n".utf8)),
            ("ref-map", Data(refMapText().utf8)),
        ]
        var entries: [(name: String, blob: OID)] = []
        for (name, data) in files { entries.append((name, try repository.writeRawObject(.blob, Array(data)))) }
        let tree = try repository.makeFlatTree(entries)
        let message = Trailer.message(subject: receipt.subject, body: receipt.bodyText,
                                      trailers: [Trailer("Cairn-Operation", receipt.operation),
                                                 Trailer("Cairn-Rewrite-Commits", "\(commits.count)")])
        return try repository.createCommit(tree: tree, parents: parent.map { [$0] } ?? [], author: author, committer: author, message: message)
    }

    /// Every record on the chain ending at `tip` (default: `refs/cairn/rewrites`), oldest first.
    public static func load(from repository: Repository, tip: OID? = nil) throws -> [RewriteRecord] {
        guard var next = try tip ?? repository.referenceTarget(reference) else { return [] }
        var out: [RewriteRecord] = []
        while true {
            out.append(try read(next, from: repository))
            guard let parent = try repository.commit(next).parents.first else { break }
            next = parent
        }
        return out.reversed()
    }

    /// Reads one record commit.
    public static func read(_ commit: OID, from repository: Repository) throws -> RewriteRecord {
        let tree = try repository.commit(commit).tree
        func text(_ name: String) throws -> String {
            guard let entry = try repository.entry(at: name, in: tree) else {
                throw RetentionError.malformedRecord(commit: commit.hex, reason: "no \(name)")
            }
            return String(decoding: try repository.blob(entry.oid), as: UTF8.self)
        }
        var commits: [OID: OID?] = [:]
        for line in try text("commit-map").split(separator: "\n").dropFirst() {
            let f = line.split(separator: " ")
            guard f.count == 2, let old = OID(hex: String(f[0])), let new = OID(hex: String(f[1])) else {
                throw RetentionError.malformedRecord(commit: commit.hex, reason: "bad commit-map line '\(line)'")
            }
            commits[old] = .some(new.hex == zero ? nil : new)
        }
        var refs: [ReferenceChange] = []
        for line in try text("ref-map").split(separator: "\n").dropFirst() {
            let f = line.split(separator: " ", maxSplits: 2)
            guard f.count == 3, let old = OID(hex: String(f[0])), let new = OID(hex: String(f[1])) else {
                throw RetentionError.malformedRecord(commit: commit.hex, reason: "bad ref-map line '\(line)'")
            }
            refs.append(ReferenceChange(name: String(f[2]), old: old.hex == zero ? nil : old, new: new.hex == zero ? nil : new))
        }
        let receipt: RewriteReceipt
        do {
            receipt = try JSONDecoder().decode(RewriteReceipt.self, from: Data(try text("receipt.json").utf8))
        } catch let error as RetentionError {
            throw error
        } catch {
            throw RetentionError.malformedRecord(commit: commit.hex, reason: "receipt.json: \(error)")
        }
        return RewriteRecord(id: commit, commits: commits, references: refs, receipt: receipt)
    }
}

/// The receipt of a rewrite: what was removed, when, why and by whom — names and counts, never content.
public struct RewriteReceipt: Sendable, Codable, Equatable {
    /// `prune` or `forget`.
    public var operation: String
    public var at: String
    public var by: String
    public var reason: String?
    /// The path globs whose every version left history (what a syncing machine must also remove from its own
    /// commits).
    public var forgottenPaths: [String]
    /// The retention rules applied, in words.
    public var rules: [String]
    public var commitsRewritten: Int
    public var commitsDropped: Int
    public var referencesDeleted: [String]
    public var fileVersionsRemoved: Int
    /// What the operator must know about copies elsewhere.
    public var notice: String

    public static let remoteNotice = "Removed from this vault's history and object store. Other machines remove it when they "
        + "next sync. A hosted remote may keep unreachable objects until its own garbage collection (GitHub keeps "
        + "force-pushed commits reachable for a while): ask the host to run garbage collection or delete cached views."

    enum CodingKeys: String, CodingKey {
        case operation, at, by, reason, rules, notice
        case forgottenPaths = "forgotten_paths"
        case commitsRewritten = "commits_rewritten"
        case commitsDropped = "commits_dropped"
        case referencesDeleted = "references_deleted"
        case fileVersionsRemoved = "file_versions_removed"
    }

    var subject: String {
        if operation == "forget" {
            return "Forget \(forgottenPaths.count) path\(forgottenPaths.count == 1 ? "" : "s")" + (reason.map { ": \($0)" } ?? "")
        }
        return "Prune history: \(commitsRewritten) commits rewritten, \(fileVersionsRemoved) file versions removed"
    }

    var bodyText: String {
        var lines: [String] = []
        if !forgottenPaths.isEmpty { lines.append("Forgotten: " + forgottenPaths.joined(separator: ", ")) }
        lines += rules.map { "Rule: \($0)" }
        if !referencesDeleted.isEmpty { lines.append("References deleted: \(referencesDeleted.count)") }
        lines.append("Commits rewritten: \(commitsRewritten), dropped: \(commitsDropped)")
        lines.append(notice)
        return lines.joined(separator: "\n")
    }
}
