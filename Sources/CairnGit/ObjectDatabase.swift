import CGit2
import Foundation

/// The type of a git object.
public enum ObjectKind: Sendable, Hashable {
    case commit, tree, blob, tag

    init?(_ type: git_object_t) {
        switch type {
        case GIT_OBJECT_COMMIT: self = .commit
        case GIT_OBJECT_TREE: self = .tree
        case GIT_OBJECT_BLOB: self = .blob
        case GIT_OBJECT_TAG: self = .tag
        default: return nil
        }
    }

    var gitType: git_object_t {
        switch self {
        case .commit: return GIT_OBJECT_COMMIT
        case .tree: return GIT_OBJECT_TREE
        case .blob: return GIT_OBJECT_BLOB
        case .tag: return GIT_OBJECT_TAG
        }
    }
}

extension Repository {
    /// The object `oid` as its type and body bytes (what git hashes after the `<type> <size>\0` header).
    public func rawObject(_ oid: OID) throws -> (kind: ObjectKind, bytes: [UInt8]) {
        var raw = oid.raw
        return try withObjectDatabase { odb in
            var object: OpaquePointer? = nil
            try check(git_odb_read(&object, odb, &raw), "git_odb_read")
            defer { git_odb_object_free(object) }
            guard let kind = ObjectKind(git_odb_object_type(object)) else {
                throw GitError(code: -1, message: "object \(oid) has an unknown type", function: "git_odb_read")
            }
            let size = git_odb_object_size(object)
            let bytes = size == 0 ? [] : Array(UnsafeRawBufferPointer(start: git_odb_object_data(object), count: size))
            return (kind, bytes)
        }
    }

    /// The type and size of object `oid` without reading its body where the store allows it; nil when it is absent.
    public func objectHeader(_ oid: OID) throws -> (kind: ObjectKind, size: Int)? {
        var raw = oid.raw
        return try withObjectDatabase { odb in
            var size = 0
            var type = GIT_OBJECT_INVALID
            let rc = git_odb_read_header(&size, &type, odb, &raw)
            if rc == GIT_ENOTFOUND.rawValue { git_error_clear(); return nil }
            try check(rc, "git_odb_read_header")
            return ObjectKind(type).map { ($0, size) }
        }
    }

    /// Writes an object from its body bytes and returns its id (nothing is written when it exists).
    ///
    /// Goes to the highest-priority writable store: an attached `InMemoryObjects` when there is one.
    public func writeRawObject(_ kind: ObjectKind, _ bytes: [UInt8]) throws -> OID {
        try withObjectDatabase { odb in
            var out = git_oid()
            try bytes.withUnsafeBytes { buf in
                _ = try check(git_odb_write(&out, odb, buf.baseAddress, buf.count, kind.gitType), "git_odb_write")
            }
            return OID(out)
        }
    }

    /// The id `bytes` would have as an object of `kind`, without writing it.
    public func hashRawObject(_ kind: ObjectKind, _ bytes: [UInt8]) throws -> OID {
        var out = git_oid()
        try bytes.withUnsafeBytes { buf in
            _ = try check(git_odb_hash(&out, buf.baseAddress, buf.count, kind.gitType), "git_odb_hash")
        }
        return OID(out)
    }

    /// The repository's `objects/` folder, with a trailing slash.
    public var objectsDirectory: String { String(cString: git_repository_commondir(pointer)) + "objects/" }

    /// Makes objects written to disk by another handle or process visible to this one.
    public func refreshObjects() throws {
        try withObjectDatabase { _ = try check(git_odb_refresh($0), "git_odb_refresh") }
    }
}

/// An in-memory object store attached in front of a repository's object database (libgit2's mempack).
///
/// While attached, every object the repository writes lands in memory only, and reads see those objects
/// first. Nothing reaches the disk until a `ReachablePack` or `PackedWrites` writes a pack from it, so a process
/// that dies before then leaves the object store exactly as it was. The store lives as long as the repository
/// handle (the object database owns it); `reset()` frees the objects it holds.
public final class InMemoryObjects {
    let backend: UnsafeMutablePointer<git_odb_backend>
    let repository: Repository

    /// Attaches a new in-memory store to `repository`.
    public init(_ repository: Repository) throws {
        var out: UnsafeMutablePointer<git_odb_backend>? = nil
        try check(git_mempack_new(&out), "git_mempack_new")
        guard let out else { throw GitError(code: -1, message: "no mempack", function: "git_mempack_new") }
        try repository.withObjectDatabase { odb in
            // Priority above the loose (1) and pack (2) backends: writes and reads go here first.
            _ = try check(git_odb_add_backend(odb, out, 1000), "git_odb_add_backend")
        }
        backend = out
        self.repository = repository
    }

    /// Writes an object straight into memory and returns its id.
    ///
    /// `Repository.writeRawObject` goes through `git_odb_write`, which first looks for the object in every
    /// store, touching a loose file and rescanning the pack folder when it is absent: a few syscalls per object,
    /// most of the time of a rewrite that writes a hundred thousand new ones. An object that a pack already
    /// holds is then held twice, which costs only memory.
    public func write(_ kind: ObjectKind, _ bytes: [UInt8]) throws -> OID {
        guard !bytes.isEmpty, let write = backend.pointee.write else { return try repository.writeRawObject(kind, bytes) }
        var oid = git_oid()
        try bytes.withUnsafeBytes { buf in
            _ = try check(git_odb_hash(&oid, buf.baseAddress, buf.count, kind.gitType), "git_odb_hash")
            _ = try check(write(backend, &oid, buf.baseAddress, buf.count, kind.gitType), "git_mempack write")
        }
        return OID(oid)
    }

    /// Frees every object held in memory (for objects already written into a pack, or a discarded plan).
    public func reset() throws {
        try check(git_mempack_reset(backend), "git_mempack_reset")
    }
}
