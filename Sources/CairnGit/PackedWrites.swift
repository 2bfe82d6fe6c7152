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
/// Nothing reaches the disk before `save`; a process killed during it leaves at most a temporary file in
/// `objects/pack/` (or, below the threshold, complete loose objects that nothing references yet), never a pack
/// without its index nor an object that refers to a missing one.
public final class PackedWrites {
    /// The handle to write the new objects through.
    public let repository: Repository
    let disk: Repository
    let memory: InMemoryObjects

    /// Below this many new objects, `save` writes loose objects.
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
        let bytes = data.isEmpty ? [0] : [UInt8](data) // a valid pointer even for the empty blob
        try bytes.withUnsafeBytes { buf in
            _ = try check(git_odb_hash(&oid, buf.baseAddress, data.count, GIT_OBJECT_BLOB), "git_odb_hash")
            _ = try check(write(memory.backend, &oid, buf.baseAddress, data.count, GIT_OBJECT_BLOB), "mempack write")
        }
        return OID(oid)
    }

    /// Writes every object reachable from `tip` that `disk` lacks, durably; returns the pack's name (`pack-<hash>`),
    /// or nil when the objects were few enough to be written loose (or there were none).
    @discardableResult
    public func save(_ tip: OID) throws -> String? {
        let objects = try newObjects(from: tip)
        defer { try? memory.reset() }
        if objects.isEmpty { return nil }
        if objects.count < Self.packThreshold {
            // Leaves first (the list is in walk order, parents before children): a kill midway leaves no object
            // that refers to a missing one.
            for o in objects.reversed() {
                if o.kind == .tree { _ = try disk.writeTreeObject(o.bytes) } else { _ = try disk.writeRawObject(o.kind, o.bytes) }
            }
            return nil
        }
        let name = try Self.writePack(objects, into: disk.objectsDirectory + "pack", sync: Libgit2.fsyncEnabled)
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

    /// Writes `objects` (whole, no deltas) as a version 2 pack and its version 2 index into `folder`: each to a
    /// temporary file, synced, then the pack renamed into place before the index (git and libgit2 use a pack only
    /// through its index), then the folder synced. Returns `pack-<pack checksum>`.
    static func writePack(_ objects: [(oid: OID, kind: ObjectKind, bytes: [UInt8])], into folder: String, sync: Bool) throws -> String {
        var pack: [UInt8] = Array("PACK".utf8)
        appendBigEndian(&pack, UInt32(2))
        appendBigEndian(&pack, UInt32(objects.count))
        var entries: [(oid: OID, offset: Int, crc: UInt32)] = []
        entries.reserveCapacity(objects.count)
        for o in objects {
            let offset = pack.count
            let type: Int
            switch o.kind {
            case .commit: type = 1
            case .tree: type = 2
            case .blob: type = 3
            case .tag: type = 4
            }
            var size = o.bytes.count
            var byte = UInt8(type << 4) | UInt8(size & 0x0F)
            size >>= 4
            while size > 0 {
                pack.append(byte | 0x80)
                byte = UInt8(size & 0x7F)
                size >>= 7
            }
            pack.append(byte)
            let bound = cairn_deflate_bound(o.bytes.count)
            let before = pack.count
            pack.append(contentsOf: repeatElement(0, count: bound))
            let written = pack.withUnsafeMutableBytes { dst in
                o.bytes.withUnsafeBytes { src in
                    cairn_deflate(src.baseAddress, src.count, dst.baseAddress! + before, bound, compressionLevel)
                }
            }
            guard written >= 0 else { throw GitError(code: -1, message: "zlib could not compress object \(o.oid)", function: "PackedWrites") }
            pack.removeLast(bound - Int(written))
            let crc = pack.withUnsafeBytes { cairn_crc32(0, $0.baseAddress! + offset, $0.count - offset) }
            entries.append((o.oid, offset, crc))
        }
        let packChecksum = sha1(pack)
        pack += packChecksum

        entries.sort { $0.oid < $1.oid }
        for i in entries.indices.dropFirst() where entries[i].oid == entries[i - 1].oid {
            throw GitError(code: -1, message: "object \(entries[i].oid) is twice in one pack", function: "PackedWrites")
        }
        var index: [UInt8] = [0xFF, 0x74, 0x4F, 0x63]
        appendBigEndian(&index, UInt32(2))
        var fanout = [UInt32](repeating: 0, count: 256)
        for e in entries { fanout[Int(e.oid.bytes[0])] += 1 }
        var running: UInt32 = 0
        for i in 0..<256 { running += fanout[i]; appendBigEndian(&index, running) }
        for e in entries { index += e.oid.bytes }
        for e in entries { appendBigEndian(&index, e.crc) }
        var large: [UInt64] = []
        for e in entries {
            if e.offset < 0x8000_0000 {
                appendBigEndian(&index, UInt32(e.offset))
            } else {
                appendBigEndian(&index, 0x8000_0000 | UInt32(large.count))
                large.append(UInt64(e.offset))
            }
        }
        for offset in large {
            appendBigEndian(&index, UInt32(offset >> 32))
            appendBigEndian(&index, UInt32(offset & 0xFFFF_FFFF))
        }
        index += packChecksum
        index += sha1(index)

        let name = "pack-" + OID(bytes: packChecksum).hex
        if mkdir(folder, 0o777) != 0 && errno != EEXIST { throw failure("create", folder) }
        let packPath = folder + "/" + name + ".pack"
        let indexPath = folder + "/" + name + ".idx"
        if access(indexPath, F_OK) == 0 && access(packPath, F_OK) == 0 { return name } // the same objects, already there
        let packTemp = try writeTemporary(pack, in: folder, prefix: "tmp_pack_", sync: sync)
        var renamed = false
        defer { if !renamed { unlink(packTemp) } }
        let indexTemp = try writeTemporary(index, in: folder, prefix: "tmp_idx_", sync: sync)
        defer { unlink(indexTemp) } // nothing left once renamed
        guard rename(packTemp, packPath) == 0 else { throw failure("rename into place", packPath) }
        renamed = true
        guard rename(indexTemp, indexPath) == 0 else { throw failure("rename into place", indexPath) }
        if sync { try syncFolder(folder) }
        return name
    }

    private static func appendBigEndian(_ out: inout [UInt8], _ v: UInt32) {
        out.append(UInt8(v >> 24)); out.append(UInt8((v >> 16) & 0xFF)); out.append(UInt8((v >> 8) & 0xFF)); out.append(UInt8(v & 0xFF))
    }

    private static func sha1(_ bytes: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 20)
        bytes.withUnsafeBytes { src in out.withUnsafeMutableBufferPointer { cairn_sha1(src.baseAddress, src.count, $0.baseAddress!) } }
        return out
    }

    private static func failure(_ what: String, _ path: String) -> GitError {
        GitError(code: -1, message: "could not \(what) \(path): \(String(cString: strerror(errno)))", function: "PackedWrites")
    }

    /// `bytes` in a new read-only file `folder/prefixXXXXXX`, synced when `sync`; returns its path.
    private static func writeTemporary(_ bytes: [UInt8], in folder: String, prefix: String, sync: Bool) throws -> String {
        var template = Array((folder + "/" + prefix + "XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw failure("create a temporary file in", folder) }
        let path = String(cString: template)
        var ok = false
        defer { close(fd); if !ok { unlink(path) } }
        try bytes.withUnsafeBytes { buf in
            var offset = 0
            while offset < buf.count {
                let n = write(fd, buf.baseAddress! + offset, buf.count - offset)
                if n < 0 { if errno == EINTR { continue }; throw failure("write", path) }
                offset += n
            }
        }
        guard fchmod(fd, 0o444) == 0 else { throw failure("set the mode of", path) }
        if sync, fsync(fd) != 0 { throw failure("fsync", path) }
        ok = true
        return path
    }

    private static func syncFolder(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw failure("open", path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw failure("fsync", path) }
    }
}
