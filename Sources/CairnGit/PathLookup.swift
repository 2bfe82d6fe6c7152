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
    /// The tree, parents and committer time of commit `oid`, read from the commit's header alone.
    ///
    /// A history walk reads tens of thousands of commits for these three fields; `git_commit_lookup` would also
    /// copy out the message and both signatures and keep a parsed object in the cache for each.
    public func commitLinks(_ oid: OID) throws -> CommitLinks {
        var raw = oid.raw
        return try withObjectDatabase { odb -> CommitLinks in
            var object: OpaquePointer? = nil
            try check(git_odb_read(&object, odb, &raw), "git_odb_read")
            defer { git_odb_object_free(object) }
            func malformed() -> GitError {
                GitError(code: GIT_EINVALIDSPEC.rawValue, message: "object \(oid) is not a well-formed commit", function: "git_odb_read")
            }
            guard git_odb_object_type(object) == GIT_OBJECT_COMMIT, let data = git_odb_object_data(object) else { throw malformed() }
            let buf = UnsafeBufferPointer(start: data.assumingMemoryBound(to: UInt8.self), count: git_odb_object_size(object))
            var tree: OID? = nil, parents: [OID] = [], time: Int64? = nil
            var i = 0
            // Header lines up to the blank line before the message: "tree <hex>", "parent <hex>"…, "committer … <time> <zone>".
            while i < buf.count, buf[i] != 0x0A {
                var end = i
                while end < buf.count, buf[end] != 0x0A { end += 1 }
                let line = UnsafeBufferPointer(rebasing: buf[i..<end])
                if Self.hasPrefix(line, "tree ") {
                    guard tree == nil, let id = Self.oid(hex: UnsafeBufferPointer(rebasing: line[5...])) else { throw malformed() }
                    tree = id
                } else if Self.hasPrefix(line, "parent ") {
                    guard let id = Self.oid(hex: UnsafeBufferPointer(rebasing: line[7...])) else { throw malformed() }
                    parents.append(id)
                } else if Self.hasPrefix(line, "committer "), time == nil {
                    // The seconds follow the last '>' (the end of the e-mail address).
                    guard var j = line.lastIndex(of: 0x3E) else { throw malformed() }
                    j += 1
                    while j < line.count, line[j] == 0x20 { j += 1 }
                    var seconds: Int64 = 0, digits = 0
                    while j < line.count, line[j] >= 0x30, line[j] <= 0x39, digits < 18 {
                        seconds = seconds * 10 + Int64(line[j] - 0x30); j += 1; digits += 1
                    }
                    time = seconds
                }
                i = end + 1
            }
            guard let tree else { throw malformed() }
            return CommitLinks(tree: tree, parents: parents, time: time ?? 0)
        }
    }

    private static func hasPrefix(_ line: UnsafeBufferPointer<UInt8>, _ prefix: StaticString) -> Bool {
        prefix.utf8Start.withMemoryRebound(to: UInt8.self, capacity: prefix.utf8CodeUnitCount) { p in
            line.count >= prefix.utf8CodeUnitCount && memcmp(line.baseAddress!, p, prefix.utf8CodeUnitCount) == 0
        }
    }

    /// 40 hex digits (and nothing else) as an id.
    private static func oid(hex: UnsafeBufferPointer<UInt8>) -> OID? {
        guard hex.count == 40 else { return nil }
        var out = [UInt8](repeating: 0, count: 20)
        for k in 0..<20 {
            func value(_ c: UInt8) -> UInt8? {
                switch c {
                case 0x30...0x39: return c - 0x30
                case 0x61...0x66: return c - 0x57
                case 0x41...0x46: return c - 0x37
                default: return nil
                }
            }
            guard let h = value(hex[2 * k]), let l = value(hex[2 * k + 1]) else { return nil }
            out[k] = h << 4 | l
        }
        return OID(bytes: out)
    }
}

/// Finds one path in many trees of the same history, reading only the folders on the way that changed.
///
/// A history walk asks for the same path in the tree of every commit and of its parents. Consecutive commits
/// share most folders, so the answer for each folder is remembered by the folder's tree id: only the folders that
/// changed are read, each once (until the cache starts again), however many commits and parents hold them. Folders are scanned as
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
    /// Answers kept before the caches start again (about 100 bytes each). Small: the answers worth keeping are
    /// those for folders that did not change, asked again commit after commit and read again once after a clear;
    /// a large cache mostly holds root trees never asked again, and growing and freeing it cost a tenth of a walk.
    static let maxRemembered = 1 << 14

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
                        return PathLookup.Found(oid: OID(pointer: bytes + nameEnd + 1), mode: mode)
                    }
                    i = nameEnd + 21
                }
                return nil
            }
        }
    }
}
