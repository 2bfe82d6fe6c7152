import CGit2
import Foundation

/// The tree, parents and commit time of a commit: what a history walk needs, without the message or signatures.
public struct CommitLinks: Hashable, Sendable {
    public let tree: OID
    public let parents: [OID]
    /// The committer time, in seconds since 1970.
    public let time: Int64
}

extension Repository {
    /// The tree and parents of commit `oid` (libgit2 keeps parsed commits in its object cache).
    public func commitLinks(_ oid: OID) throws -> CommitLinks {
        var raw = oid.raw
        var commit: OpaquePointer? = nil
        try check(git_commit_lookup(&commit, pointer, &raw), "git_commit_lookup")
        defer { git_commit_free(commit) }
        guard let commit, let tree = git_commit_tree_id(commit) else {
            throw GitError(code: -1, message: "commit \(oid) has no tree", function: "git_commit_tree_id")
        }
        let count = git_commit_parentcount(commit)
        var parents: [OID] = []
        parents.reserveCapacity(Int(count))
        for i in 0..<count {
            if let p = git_commit_parent_id(commit, i) { parents.append(OID(p.pointee)) }
        }
        return CommitLinks(tree: OID(tree.pointee), parents: parents, time: Int64(git_commit_time(commit)))
    }
}

/// Finds one path in many trees of the same history, reading each tree on the way at most once.
///
/// A history walk asks for the same path in the tree of every commit and of its parents. Consecutive commits
/// share most folders, so the answer for each folder is remembered by the folder's tree id: only the folders that
/// changed are read, and each of those once, however many commits and parents hold them. Folders are scanned as
/// raw tree bytes for the one name (no object per entry).
public final class PathLookup {
    /// An entry found at the path: its id and mode.
    public struct Found: Hashable, Sendable {
        public let oid: OID
        public let mode: UInt32
        public var isTree: Bool { mode & 0o170000 == 0o040000 }
    }

    let repository: Repository
    /// The path's components, as bytes.
    let components: [[UInt8]]
    /// For each component: tree id → what that tree holds under the component's name.
    private var found: [[OID: Found?]]
    private var remembered = 0
    /// Answers kept before the caches start again (about 100 bytes each).
    static let maxRemembered = 1 << 20

    /// The path, vault-relative, without leading or trailing slashes; "" is the root tree itself.
    public let path: String

    public init(_ repository: Repository, path: String) {
        self.repository = repository
        self.path = path
        components = path.isEmpty ? [] : path.split(separator: "/", omittingEmptySubsequences: true).map { Array($0.utf8) }
        found = Array(repeating: [:], count: components.count)
    }

    /// The entry at the path in tree `root`, or nil when the path is not there.
    public func entry(in root: OID) throws -> Found? {
        var current = Found(oid: root, mode: 0o040000)
        for level in components.indices {
            guard current.isTree else { return nil }
            let next: Found?
            if let known = found[level][current.oid] {
                next = known
            } else {
                next = try repository.scanTree(current.oid, for: components[level])
                if remembered >= Self.maxRemembered {
                    for i in found.indices { found[i].removeAll(keepingCapacity: true) }
                    remembered = 0
                }
                found[level][current.oid] = .some(next)
                remembered += 1
            }
            guard let next else { return nil }
            current = next
        }
        return current
    }

    /// The id of the entry at the path in tree `root` (nil: absent).
    public func oid(in root: OID) throws -> OID? { try entry(in: root)?.oid }
}

extension Repository {
    /// The entry called `name` in tree `tree`, read from the object's raw bytes without parsing other entries.
    func scanTree(_ tree: OID, for name: [UInt8]) throws -> PathLookup.Found? {
        if tree == OID.emptyTree { return nil }
        var raw = tree.raw
        return try withObjectDatabase { odb -> PathLookup.Found? in
            var object: OpaquePointer? = nil
            try check(git_odb_read(&object, odb, &raw), "git_odb_read")
            defer { git_odb_object_free(object) }
            guard git_odb_object_type(object) == GIT_OBJECT_TREE else {
                throw GitError(code: GIT_EINVALIDSPEC.rawValue, message: "object \(tree) is not a tree", function: "git_odb_read")
            }
            let size = git_odb_object_size(object)
            guard size > 0, let data = git_odb_object_data(object) else { return nil }
            let bytes = data.assumingMemoryBound(to: UInt8.self)
            func malformed() -> GitError {
                GitError(code: -1, message: "tree \(tree) is malformed", function: "git_odb_read")
            }
            return try name.withUnsafeBufferPointer { target -> PathLookup.Found? in
                var i = 0
                while i < size {
                    // "<octal mode> <name>\0<20-byte id>"
                    var mode: UInt32 = 0
                    while i < size, bytes[i] != 0x20 {
                        let digit = bytes[i] &- 0x30
                        guard digit < 8 else { throw malformed() }
                        mode = mode << 3 | UInt32(digit)
                        i += 1
                    }
                    i += 1
                    guard i < size, let nul = memchr(bytes + i, 0, size - i) else { throw malformed() }
                    let nameEnd = UnsafePointer<UInt8>(nul.assumingMemoryBound(to: UInt8.self)) - bytes
                    guard nameEnd + 21 <= size else { throw malformed() }
                    if nameEnd - i == target.count, memcmp(bytes + i, target.baseAddress!, target.count) == 0 {
                        var id = git_oid()
                        withUnsafeMutableBytes(of: &id.id) { $0.copyMemory(from: UnsafeRawBufferPointer(start: bytes + nameEnd + 1, count: 20)) }
                        return PathLookup.Found(oid: OID(id), mode: mode)
                    }
                    i = nameEnd + 21
                }
                return nil
            }
        }
    }
}
