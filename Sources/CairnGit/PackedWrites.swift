import CGit2
import CGit2Helpers
import Foundation

/// Writes the objects of one large change (a connector pull of a thousand messages) to disk as one pack, made
/// durable with one sync, instead of a loose object per blob and tree with two syncs each.
///
/// Write through `repository`, a handle of its own whose writes land in memory (an attached `InMemoryObjects`,
/// trees of any size included); then `save(_:)` writes every object reachable from the new commit that the disk
/// store lacks. A change of fewer than `packThreshold` objects is written loose, as git leaves a fetch of fewer
/// than `transfer.unpackLimit` (100) objects loose, so that small, frequent changes do not pile up packs.
///
/// Nothing reaches the disk before `save`; a process killed during it leaves at most temporary files in
/// `objects/pack/` (`PackWriter`; or, below the threshold, complete loose objects that nothing references yet), never a pack
/// without its index nor an object that refers to a missing one.
public final class PackedWrites {
    /// The handle to write the new objects through.
    public let repository: Repository
    let disk: Repository
    let memory: InMemoryObjects

    /// Below this many new objects (or without libcrypto's SHA-1, which a pack needs), `save` writes loose objects.
    public static let packThreshold = 100

    /// zlib level for the pack's objects: git's level for loose objects (speed over size; `git gc` may repack).
    static let compressionLevel: Int32 = 1

    /// Prepares writes into `disk`'s object database.
    public init(_ disk: Repository) throws {
        self.disk = disk
        repository = try Repository(at: disk.gitDir)
        memory = try InMemoryObjects(repository)
        repository.largeTreesInMemory = true
    }

    deinit { try? memory.reset() }

    /// Stores `data` as a blob in memory and returns its id.
    ///
    /// Straight into the in-memory store: libgit2's writers first look for the object on disk, and on a miss re-read
    /// the pack folder (`git_odb_refresh`), which for a thousand new notes was a thousand directory scans.
    public func writeBlob(_ data: Data) throws -> OID {
        guard let write = memory.backend.pointee.write else {
            throw GitError(code: -1, message: "the in-memory store cannot be written", function: "PackedWrites.writeBlob")
        }
        var oid = git_oid()
        func store(_ buf: UnsafeRawBufferPointer) throws {
            _ = try check(git_odb_hash(&oid, buf.baseAddress, data.count, GIT_OBJECT_BLOB), "git_odb_hash")
            _ = try check(write(memory.backend, &oid, buf.baseAddress, data.count, GIT_OBJECT_BLOB), "mempack write")
        }
        // The data's own bytes (no copy); a valid pointer for the empty blob.
        if data.isEmpty { try [UInt8(0)].withUnsafeBytes(store) } else { try data.withUnsafeBytes(store) }
        return OID(oid)
    }

    /// Writes every object reachable from `tip` that `disk` lacks, durably; returns the pack's name (`pack-<hash>`),
    /// or nil when the objects were few enough to be written loose (or there were none).
    @discardableResult
    public func save(_ tip: OID) throws -> String? {
        let objects = try newObjects(from: tip)
        defer { try? memory.reset() }
        if objects.isEmpty { return nil }
        if objects.count < Self.packThreshold || !PackWriter.available {
            // Leaves first (the list is in walk order, parents before children): a kill midway leaves no object
            // that refers to a missing one.
            for o in objects.reversed() {
                if o.kind == .tree { _ = try disk.writeTreeObject(o.bytes) } else { _ = try disk.writeRawObject(o.kind, o.bytes) }
            }
            return nil
        }
        // Whole objects, no deltas: see `PackWriter` for how the pack and its index reach the disk.
        let pack = try PackWriter(folder: disk.objectsDirectory + "pack/", count: objects.count, level: Self.compressionLevel)
        for o in objects { try pack.append(o.kind, o.bytes, of: RawID(o.oid.bytes[...])) }
        let name = try pack.finish()
        try disk.refreshObjects()
        return name
    }

    /// The objects reachable from `tip` that are not on disk, parents before children. An object found on disk is
    /// not entered: everything it refers to is there too (objects reach the disk after what they refer to).
    func newObjects(from tip: OID) throws -> [(oid: OID, kind: ObjectKind, bytes: [UInt8])] {
        var out: [(oid: OID, kind: ObjectKind, bytes: [UInt8])] = []
        var seen = Set<OID>()
        var stack = [tip]
        while let oid = stack.popLast() {
            guard seen.insert(oid).inserted, try !onDisk(oid) else { continue }
            let (kind, bytes) = try repository.rawObject(oid)
            out.append((oid, kind, bytes))
            switch kind {
            case .commit:
                // Header lines up to the first empty line: `tree X` and `parent X` name objects.
                var start = 0
                while start < bytes.count, bytes[start] != 0x0A {
                    let end = bytes[start...].firstIndex(of: 0x0A) ?? bytes.count
                    let line = bytes[start..<end]
                    for key in ["tree ", "parent "] where line.starts(with: key.utf8) {
                        if let id = OID(hex: String(decoding: line.dropFirst(key.utf8.count), as: UTF8.self)) { stack.append(id) }
                    }
                    start = end + 1
                }
            case .tree:
                guard let tree = RawTree(bytes: bytes) else {
                    throw GitError(code: -1, message: "tree \(oid) is malformed", function: "PackedWrites.save")
                }
                for e in tree.entries {
                    // Gitlinks (mode 160000) name commits of another repository.
                    if bytes[e.start] == 0x31 && bytes[e.start + 1] == 0x36 { continue }
                    stack.append(OID(bytes: Array(bytes[(e.nameEnd + 1)..<(e.nameEnd + 21)])))
                }
            case .blob, .tag:
                break
            }
        }
        return out
    }

    /// Whether `disk` has `oid`, without re-reading the pack folder on a miss (libgit2 does by default, which is a
    /// directory scan per new object). A pack another process added since the handle opened is not seen; an object
    /// in it is then packed twice, which git allows.
    private func onDisk(_ oid: OID) throws -> Bool {
        var raw = oid.raw
        return try disk.withObjectDatabase { git_odb_exists_ext($0, &raw, UInt32(GIT_ODB_LOOKUP_NO_REFRESH.rawValue)) == 1 }
    }
}
