import CGit2
import CGit2Helpers
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes one pack holding exactly the objects reachable from some tips, by copying what the existing packs
/// already hold: the `git repack -a -d` of a rewrite, without a delta search.
///
/// Each reachable object found in a pack is copied entry for entry (its compressed bytes unchanged); a delta
/// whose base is also kept stays a delta (an offset delta gets its new offset); a delta whose base is not kept,
/// and every object found only outside the packs (loose, or in an attached `InMemoryObjects`), is read whole
/// and compressed anew. Old packs are read through a window of `pread`s and the new one written through a
/// buffer, so resident memory stays at a few tens of megabytes plus the set of reachable ids, whatever the
/// size of the packs.
///
/// The pack and its index are written through `PackWriter`: a writer killed midway leaves only
/// `tmp_cairn_pack_*` files, which the next one removes (`removeLeftovers`).
public struct ReachablePack {
    public static let temporaryPrefix = "tmp_cairn_pack_"

    let repository: Repository
    /// Compression level of objects written whole (zlib 1–9).
    public var level: Int32 = 1

    public init(_ repository: Repository) { self.repository = repository }

    /// What a write produced.
    public struct Result {
        /// `pack-<hash>`.
        public var name: String
        public var objects: Int
        /// Entries copied from old packs, of which deltas.
        public var copied: Int
        public var copiedDeltas: Int
        /// Objects compressed anew (deltas whose base left, loose and in-memory objects), of which new deltas
        /// (folder versions written as deltas of another version).
        public var written: Int
        public var writtenDeltas = 0
    }

    /// Removes temporary files a killed writer left in `objects/pack/` (call with the writer lock held).
    public func removeLeftovers() {
        let folder = repository.objectsDirectory + "pack/"
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix(Self.temporaryPrefix) {
            unlink(folder + name)
        }
    }

    /// Every object reachable from `tips` (commits, trees, blobs or tags) plus the objects `extra` names alone.
    /// Submodule entries (commits of another repository) are not followed.
    public func reachable(from tips: [OID], extra: [OID] = []) throws -> Set<RawID> {
        var seen = Set<RawID>()
        var commits: [OID] = []
        var trees: [OID] = []
        func add(_ oid: OID, _ kind: ObjectKind?) throws {
            guard seen.insert(RawID(oid.bytes[...])).inserted else { return }
            let kind = try kind ?? repository.objectHeader(oid)?.kind
            switch kind {
            case .commit: commits.append(oid)
            case .tree: trees.append(oid)
            case .tag:
                let (_, bytes) = try repository.rawObject(oid)
                guard bytes.count >= 47, bytes.starts(with: Array("object ".utf8)),
                      let target = OID(hex: String(decoding: bytes[7..<47], as: UTF8.self)) else {
                    throw GitError(code: -1, message: "tag \(oid) is malformed", function: "reachable")
                }
                try add(target, nil)
            case .blob: break
            case nil: throw GitError(code: GIT_ENOTFOUND.rawValue, message: "object \(oid) is missing", function: "reachable")
            }
        }
        for tip in tips { try add(tip, nil) }
        for oid in extra { seen.insert(RawID(oid.bytes[...])) }
        while !commits.isEmpty || !trees.isEmpty {
            while let oid = commits.popLast() {
                let (kind, bytes) = try repository.rawObject(oid)
                guard kind == .commit, let parsed = RawCommit(bytes) else {
                    throw GitError(code: -1, message: "commit \(oid) is malformed", function: "reachable")
                }
                try add(parsed.tree, .tree)
                for p in parsed.parents { try add(p, .commit) }
            }
            while let oid = trees.popLast() {
                let raw = try repository.rawTree(oid)
                raw.bytes.withUnsafeBufferPointer { buf in
                    for e in raw.entries {
                        // Mode 160000 (a submodule's commit) lives in another repository.
                        if !e.isTree && e.nameStart - e.start == 7 && buf[e.start] == 0x31 && buf[e.start + 1] == 0x36 { continue }
                        guard seen.insert(RawID(buf, at: e.nameEnd + 1)).inserted else { continue }
                        if e.isTree { trees.append(raw.oid(e)) }
                    }
                }
            }
        }
        return seen
    }

    /// Writes the pack of `objects` (from `reachable`) into `objects/pack/` and returns its name and counts.
    /// `progress` gets (objects done, total) now and then. `objects` is emptied as they are written (one set
    /// of ids in memory instead of two).
    public func write(_ objects: inout Set<RawID>, progress: (Int, Int) -> Void = { _, _ in }) throws -> Result {
        let folder = repository.objectsDirectory + "pack/"
        removeLeftovers()
        let total = objects.count
        let out = try PackWriter(folder: folder, count: total, level: level)
        var result = Result(name: "", objects: total, copied: 0, copiedDeltas: 0, written: 0)
        func report() { if out.entries.count % 65_536 == 0 { progress(out.entries.count, total) } }

        func writeWhole(_ id: RawID) throws -> UInt64 {
            let (kind, body) = try repository.rawObject(id.oid)
            let offset = try out.append(kind, body, of: id)
            objects.remove(id)
            result.written += 1
            report()
            return offset
        }

        // Copy from each pack, in the order of the pack (a delta's base comes before it).
        for name in ObjectStoreFiles(repository).packs() {
            let index = try PackIndexFile(path: folder + name + ".idx")
            var input = try PackInput(path: folder + name + ".pack")
            // Entries by offset: position p runs from sorted[p].offset to the next one (or the trailer).
            var sorted: [(offset: UInt64, index: Int32)] = (0..<index.count).map { (index.offset($0), Int32($0)) }
            sorted.sort { $0.offset < $1.offset }
            // New offset of each entry copied, by position (0: not copied).
            var newOffsets = [UInt64](repeating: 0, count: sorted.count)
            func position(_ offset: UInt64) -> Int? {
                var lo = 0, hi = sorted.count
                while lo < hi { let mid = (lo + hi) / 2; if sorted[mid].offset < offset { lo = mid + 1 } else { hi = mid } }
                return lo < sorted.count && sorted[lo].offset == offset ? lo : nil
            }
            let end = UInt64(input.size - 20)
            for p in sorted.indices {
                let id = index.id(Int(sorted[p].index))
                guard objects.contains(id) else { continue }
                let offset = sorted[p].offset
                let next = p + 1 < sorted.count ? sorted[p + 1].offset : end
                let bytes = try input.read(at: offset, count: Int(next - offset))
                let parsed = try Self.parseEntryHeader(bytes, at: offset, pack: name)
                var entry: [UInt8]
                switch parsed.type {
                case 6:
                    guard let bp = position(offset - parsed.baseDistance), newOffsets[bp] != 0 else {
                        newOffsets[p] = try writeWhole(id)
                        continue
                    }
                    entry = Array(bytes[bytes.startIndex..<(bytes.startIndex + parsed.sizeEnd)])
                    entry += Self.offsetDistance(out.offset - newOffsets[bp])
                    entry += bytes[(bytes.startIndex + parsed.dataStart)...]
                    result.copiedDeltas += 1
                case 7:
                    // A delta on a base named by id: written whole (pack-objects, fast-import and libgit2 write
                    // offset deltas; these are rare).
                    newOffsets[p] = try writeWhole(id)
                    continue
                default:
                    entry = Array(bytes)
                }
                newOffsets[p] = try out.append(entry: entry, of: id)
                objects.remove(id)
                result.copied += 1
                report()
            }
        }
        // What no pack holds: loose objects and new ones (a rewrite's trees and commits).
        try writeRest(&objects, to: out, result: &result, report: report)
        guard out.entries.count == total else {
            throw GitError(code: -1, message: "pack has \(out.entries.count) objects, \(total) expected", function: "ReachablePack")
        }
        progress(total, total)
        result.name = try out.finish()
        return result
    }

    /// Longest delta chain of the trees `writeRest` writes as deltas (git's default `--depth`).
    static let maximumDepth = 50

    /// Writes the objects no pack holds. Commits, blobs and tags go whole. A new tree goes as a delta of the
    /// version of the same folder written just before it when that delta is less than half its size: a rewrite
    /// makes a new version of each folder it changed for every commit it rewrote, and a version differs from the
    /// next by the few entries a commit touched — written whole, the folder versions of a long history can
    /// outweigh everything the rewrite removed.
    ///
    /// Trees are met from the newest commit to the oldest (committer time), each folder before the folders in it,
    /// so the newest version of a folder is whole and older ones are deltas of newer ones, as in git's packs;
    /// chains stop at `maximumDepth`. Objects are taken in id order, so the same objects make the same pack.
    private func writeRest(_ objects: inout Set<RawID>, to out: PackWriter, result: inout Result, report: () -> Void) throws {
        var commits: [(time: Int64, tree: RawID)] = []
        // Afterwards `objects` holds the trees left to write.
        for id in objects.sorted(by: { IndexKey($0) < IndexKey($1) }) {
            let (kind, body) = try repository.rawObject(id.oid)
            if kind == .tree { continue }
            if kind == .commit, let parsed = RawCommit(body) { commits.append((parsed.committerTime, RawID(parsed.tree.bytes[...]))) }
            try out.append(kind, body, of: id)
            objects.remove(id)
            result.written += 1
            report()
        }
        guard !objects.isEmpty else { return }
        commits.sort { $0.time != $1.time ? $0.time > $1.time : IndexKey($0.tree) < IndexKey($1.tree) }

        // The last version written of each folder path: its entries, offset in the new pack, depth of its chain.
        var last: [String: (raw: RawTree, offset: UInt64, depth: Int)] = [:]
        func place(_ id: RawID, path: String, children: inout [(RawID, String)]) throws {
            let (_, body) = try repository.rawObject(id.oid)
            let raw = RawTree(bytes: body)
            var offset: UInt64? = nil
            var depth = 0
            if let raw, let base = last[path], base.depth < Self.maximumDepth {
                let delta = Self.treeDelta(from: base.raw, to: raw)
                if delta.count < body.count / 2 {
                    offset = try out.appendDelta(delta, baseOffset: base.offset, of: id)
                    depth = base.depth + 1
                    result.writtenDeltas += 1
                }
            }
            let at = try offset ?? out.append(.tree, body, of: id)
            objects.remove(id)
            result.written += 1
            report()
            guard let raw else { return }
            last[path] = (raw, at, depth)
            raw.bytes.withUnsafeBufferPointer { buf in
                for e in raw.entries where e.isTree {
                    let child = RawID(buf, at: e.nameEnd + 1)
                    if objects.contains(child) { children.append((child, path + "/" + String(decoding: raw.name(e), as: UTF8.self))) }
                }
            }
        }
        var stack: [(RawID, String)] = []
        for commit in commits where objects.contains(commit.tree) {
            stack.append((commit.tree, ""))
            while let (id, path) = stack.popLast() {
                guard objects.contains(id) else { continue }
                var children: [(RawID, String)] = []
                try place(id, path: path, children: &children)
                stack += children.reversed()
            }
        }
        // Trees no new commit holds (named by a reference or the index): whole.
        for id in objects.sorted(by: { IndexKey($0) < IndexKey($1) }) {
            var none: [(RawID, String)] = []
            try place(id, path: "\u{0}" + String(describing: id.oid), children: &none)
        }
    }

    /// A git delta that builds `target` from `base` (two versions of a folder): runs of entries identical in both
    /// are copied from `base`, the other entries inserted.
    static func treeDelta(from base: RawTree, to target: RawTree) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        func varint(_ value: Int) {
            var v = value
            repeat {
                var b = UInt8(v & 0x7F)
                v >>= 7
                if v > 0 { b |= 0x80 }
                out.append(b)
            } while v > 0
        }
        varint(base.bytes.count)
        varint(target.bytes.count)
        var copyStart = 0, copyEnd = 0
        var insertStart = 0, insertEnd = 0
        func flushCopy() {
            var at = copyStart
            while at < copyEnd {
                let n = min(copyEnd - at, 0x10000)
                var command: UInt8 = 0x80
                var args: [UInt8] = []
                for i in 0..<4 where (at >> (8 * i)) & 0xFF != 0 { command |= 1 << UInt8(i); args.append(UInt8((at >> (8 * i)) & 0xFF)) }
                for i in 0..<3 where (n >> (8 * i)) & 0xFF != 0 { command |= 0x10 << UInt8(i); args.append(UInt8((n >> (8 * i)) & 0xFF)) }
                out.append(command)
                out += args
                at += n
            }
            copyStart = 0; copyEnd = 0
        }
        func flushInsert() {
            var at = insertStart
            while at < insertEnd {
                let n = min(insertEnd - at, 0x7F)
                out.append(UInt8(n))
                out += target.bytes[at..<(at + n)]
                at += n
            }
            insertStart = 0; insertEnd = 0
        }
        target.match(against: base, { i, matched in
            let e = target.entries[i]
            if let j = matched {
                flushInsert()
                let b = base.entries[j]
                if copyEnd > copyStart && copyEnd == b.start {
                    copyEnd = b.end
                } else {
                    flushCopy()
                    copyStart = b.start; copyEnd = b.end
                }
            } else {
                flushCopy()
                if insertEnd > insertStart { insertEnd = e.end } else { insertStart = e.start; insertEnd = e.end }
            }
        }, unmatchedBase: { _ in })
        flushCopy()
        flushInsert()
        return out
    }

    /// A pack entry's header: type and inflated size.
    static func entryHeader(type: UInt8, size: Int) -> [UInt8] {
        var size = size
        var out: [UInt8] = [UInt8(type << 4) | UInt8(size & 0x0F)]
        size >>= 4
        while size > 0 {
            out[out.count - 1] |= 0x80
            out.append(UInt8(size & 0x7F))
            size >>= 7
        }
        return out
    }

    /// An offset delta's distance to its base, in git's encoding.
    static func offsetDistance(_ distance: UInt64) -> [UInt8] {
        var d = distance
        var out: [UInt8] = [UInt8(d & 0x7F)]
        d >>= 7
        while d > 0 {
            d -= 1
            out.append(0x80 | UInt8(d & 0x7F))
            d >>= 7
        }
        return out.reversed()
    }

    struct ParsedHeader {
        var type: UInt8
        /// The entry's size: of the object for a whole entry, of the delta data for a delta.
        var size: Int = 0
        /// Where the size ends (the distance or base id of a delta starts there).
        var sizeEnd: Int
        /// Where the compressed data starts.
        var dataStart: Int
        var baseDistance: UInt64 = 0
        var baseID: RawID? = nil
    }

    static func parseEntryHeader(_ bytes: ArraySlice<UInt8>, at offset: UInt64, pack: String) throws -> ParsedHeader {
        func bad() -> GitError { GitError(code: -1, message: "\(pack).pack: bad entry at offset \(offset)", function: "ReachablePack") }
        var i = bytes.startIndex
        guard i < bytes.endIndex else { throw bad() }
        let type = (bytes[i] >> 4) & 7
        // Type, then the size: 4 bits, then 7 bits per byte while the high bit is set.
        var size = Int(bytes[i] & 0x0F)
        var shift = 4
        while bytes[i] & 0x80 != 0 {
            i += 1
            guard i < bytes.endIndex, shift <= 56 else { throw bad() }
            size |= Int(bytes[i] & 0x7F) << shift
            shift += 7
        }
        i += 1
        var parsed = ParsedHeader(type: type, size: size, sizeEnd: i - bytes.startIndex, dataStart: i - bytes.startIndex)
        switch type {
        case 1, 2, 3, 4: break
        case 6:
            guard i < bytes.endIndex else { throw bad() }
            var c = bytes[i]; i += 1
            var d = UInt64(c & 0x7F)
            while c & 0x80 != 0 {
                guard i < bytes.endIndex else { throw bad() }
                c = bytes[i]; i += 1
                d = ((d + 1) << 7) | UInt64(c & 0x7F)
            }
            guard d > 0, d <= offset else { throw bad() }
            parsed.baseDistance = d
            parsed.dataStart = i - bytes.startIndex
        case 7:
            guard i + 20 <= bytes.endIndex else { throw bad() }
            parsed.baseID = RawID(bytes[i..<(i + 20)])
            parsed.dataStart = i + 20 - bytes.startIndex
        default: throw bad()
        }
        return parsed
    }
}

extension RawID {
    /// The id as an `OID`.
    var oid: OID {
        var a = self.a, b = self.b, c = self.c
        var out = [UInt8](repeating: 0, count: 20)
        withUnsafeBytes(of: &a) { out.replaceSubrange(0..<8, with: $0) }
        withUnsafeBytes(of: &b) { out.replaceSubrange(8..<16, with: $0) }
        withUnsafeBytes(of: &c) { out.replaceSubrange(16..<20, with: $0) }
        return OID(bytes: out)
    }
}

/// An object id ordered as git orders ids in an index (bytewise).
struct IndexKey: Comparable {
    let hi: UInt64, mid: UInt64, lo: UInt32

    init(_ id: RawID) {
        hi = UInt64(littleEndian: id.a).byteSwapped
        mid = UInt64(littleEndian: id.b).byteSwapped
        lo = UInt32(littleEndian: id.c).byteSwapped
    }

    var firstByte: UInt8 { UInt8(hi >> 56) }
    var bytes: [UInt8] { bigEndian(hi) + bigEndian(mid) + bigEndian(lo) }

    static func < (l: IndexKey, r: IndexKey) -> Bool { (l.hi, l.mid, l.lo) < (r.hi, r.mid, r.lo) }
}

func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    var v = value.bigEndian
    return withUnsafeBytes(of: &v) { Array($0) }
}

/// A pack index (version 2) read whole: ids and offsets by position.
struct PackIndexFile {
    let bytes: [UInt8]
    let count: Int

    init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GitError(code: -1, message: "cannot read \(path)", function: "ReachablePack")
        }
        bytes = [UInt8](data)
        guard bytes.count >= 8 + 1024 + 40, bytes[0..<8].elementsEqual([0xFF, 0x74, 0x4F, 0x63, 0, 0, 0, 2]) else {
            throw GitError(code: -1, message: "\(path) is not a version 2 pack index", function: "ReachablePack")
        }
        count = Int(Self.u32(bytes, 8 + 255 * 4))
        guard bytes.count >= 8 + 1024 + count * 28 + 40 else {
            throw GitError(code: -1, message: "\(path) is truncated", function: "ReachablePack")
        }
    }

    static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }

    func rawID(_ i: Int) -> RawID { bytes.withUnsafeBufferPointer { RawID($0, at: 8 + 1024 + i * 20) } }
    func id(_ i: Int) -> RawID { rawID(i) }

    func offset(_ i: Int) -> UInt64 {
        let base = 8 + 1024 + count * 24
        let o = Self.u32(bytes, base + i * 4)
        if o & 0x8000_0000 == 0 { return UInt64(o) }
        let at = base + count * 4 + Int(o & 0x7FFF_FFFF) * 8
        return UInt64(Self.u32(bytes, at)) << 32 | UInt64(Self.u32(bytes, at + 4))
    }
}

/// An old pack read forward through a window of `pread`s (entries are visited in pack order).
struct PackInput {
    let fd: Int32
    let size: Int
    var window: [UInt8] = []
    var windowStart: UInt64 = 0

    init(path: String) throws {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw GitError(code: -1, message: "cannot open \(path): \(String(cString: strerror(errno)))", function: "ReachablePack") }
        var st = stat()
        fstat(fd, &st)
        size = Int(st.st_size)
    }

    /// `count` bytes at `offset` (a slice of the window).
    mutating func read(at offset: UInt64, count: Int) throws -> ArraySlice<UInt8> {
        if offset < windowStart || offset + UInt64(count) > windowStart + UInt64(window.count) {
            let want = max(count, 8 << 20)
            let n = min(want, size - Int(offset))
            guard n >= count else { throw GitError(code: -1, message: "pack entry at \(offset) runs past the end", function: "ReachablePack") }
            if window.count != n { window = [UInt8](repeating: 0, count: n) }
            var got = 0
            try window.withUnsafeMutableBytes { buf in
                while got < n {
                    let r = pread(fd, buf.baseAddress! + got, n - got, off_t(offset) + off_t(got))
                    guard r > 0 else { throw GitError(code: -1, message: "cannot read a pack: \(String(cString: strerror(errno)))", function: "ReachablePack") }
                    got += r
                }
            }
            windowStart = offset
        }
        let start = Int(offset - windowStart)
        return window[start..<(start + count)]
    }
}

/// A version 2 pack and its version 2 index written into `folder` (ending in "/"), whole objects and entries
/// copied as they are, the one pack writer (`ReachablePack`, `PackedWrites`).
///
/// Entries go through an 8 MB buffer to a temporary file, hashed as they go; `finish` ends the pack with its
/// checksum, writes the index beside it, each synced (when fsync is on), renames the pack into place before the
/// index (git and libgit2 use a pack only through its index), then syncs the folder. Until then both files are
/// named `ReachablePack.temporaryPrefix…`: a writer that fails or is dropped removes them, one killed leaves them
/// for `ReachablePack.removeLeftovers`.
final class PackWriter {
    let folder: String
    /// Compression level of objects written whole (zlib 1–9).
    let level: Int32
    private let path: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private(set) var offset: UInt64 = 0
    private var ctx = cairn_sha1_ctx()
    private(set) var entries: [(key: IndexKey, offset: UInt64, crc: UInt32)] = []
    private var done = false

    /// Whether libcrypto's SHA-1, which a pack needs, could be loaded.
    static var available: Bool { cairn_sha1_stream_available() != 0 }

    /// Starts a pack of `count` objects.
    init(folder: String, count: Int, level: Int32) throws {
        guard Self.available else {
            throw GitError(code: -1, message: "libcrypto's SHA-1 is not available to write a pack", function: "PackWriter")
        }
        if mkdir(folder, 0o777) != 0 && errno != EEXIST { throw Self.failure("create", folder) }
        var template = Array((folder + ReachablePack.temporaryPrefix + "XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw Self.failure("create a temporary file in", folder) }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        self.folder = folder
        self.level = level
        self.fd = fd
        path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        _ = cairn_sha1_stream_init(&ctx)
        buffer.reserveCapacity(8 << 20)
        entries.reserveCapacity(count)
        try append(Array("PACK".utf8) + [0, 0, 0, 2] + bigEndian(UInt32(count)))
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
        if !done { unlink(path); unlink(path + ".idx") }
    }

    /// Appends `entry` (header and data, as in a pack) for object `id`; returns its offset.
    @discardableResult
    func append(entry: [UInt8], of id: RawID) throws -> UInt64 {
        let at = offset
        try append(entry)
        entries.append((IndexKey(id), at, cairn_crc32(0, entry, entry.count)))
        return at
    }

    /// Appends object `id` whole, its `body` compressed at `level`; returns its offset.
    @discardableResult
    func append(_ kind: ObjectKind, _ body: [UInt8], of id: RawID) throws -> UInt64 {
        let type: UInt8 = switch kind { case .commit: 1; case .tree: 2; case .blob: 3; case .tag: 4 }
        return try append(entry: compressed(ReachablePack.entryHeader(type: type, size: body.count), body, id), of: id)
    }

    /// Appends object `id` as `delta` (git's delta format) of the entry at `baseOffset` in this pack, compressed
    /// at `level`; returns its offset.
    @discardableResult
    func appendDelta(_ delta: [UInt8], baseOffset: UInt64, of id: RawID) throws -> UInt64 {
        let header = ReachablePack.entryHeader(type: 6, size: delta.count) + ReachablePack.offsetDistance(offset - baseOffset)
        return try append(entry: compressed(header, delta, id), of: id)
    }

    /// `header` followed by `body` compressed at `level`.
    private func compressed(_ header: [UInt8], _ body: [UInt8], _ id: RawID) throws -> [UInt8] {
        var entry = header
        let bound = cairn_deflate_bound(body.count)
        let start = entry.count
        entry += [UInt8](repeating: 0, count: bound)
        let n = body.withUnsafeBytes { src in
            entry.withUnsafeMutableBytes { dst in cairn_deflate(src.baseAddress, src.count, dst.baseAddress! + start, bound, level) }
        }
        guard n >= 0 else { throw GitError(code: -1, message: "zlib could not compress object \(id.oid)", function: "PackWriter") }
        entry.removeLast(bound - n)
        return entry
    }

    private func append(_ bytes: [UInt8]) throws {
        buffer += bytes
        offset += UInt64(bytes.count)
        if buffer.count >= 8 << 20 { try flush() }
    }

    private func flush() throws {
        _ = buffer.withUnsafeBytes { cairn_sha1_stream_update(&ctx, $0.baseAddress, $0.count) }
        try Self.write(fd, buffer, path)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Ends the pack with its checksum, writes its index and renames both into place; returns `pack-<checksum>`.
    func finish() throws -> String {
        try flush()
        var checksum = [UInt8](repeating: 0, count: 20)
        _ = cairn_sha1_stream_final(&ctx, &checksum)
        try Self.write(fd, checksum, path)
        let packFD = fd
        fd = -1 // closed by seal, even when it throws
        try Self.seal(packFD, path)

        entries.sort { $0.key < $1.key }
        for i in entries.indices.dropFirst() where entries[i].key == entries[i - 1].key {
            throw GitError(code: -1, message: "object \(OID(bytes: entries[i].key.bytes)) is twice in one pack", function: "PackWriter")
        }
        var idx: [UInt8] = [0xFF, 0x74, 0x4F, 0x63, 0, 0, 0, 2]
        var fanout = [UInt32](repeating: 0, count: 256)
        for e in entries { fanout[Int(e.key.firstByte)] += 1 }
        var running: UInt32 = 0
        for i in 0..<256 { running += fanout[i]; idx += bigEndian(running) }
        for e in entries { idx += e.key.bytes }
        for e in entries { idx += bigEndian(e.crc) }
        var large: [UInt64] = []
        for e in entries {
            if e.offset < 0x8000_0000 {
                idx += bigEndian(UInt32(e.offset))
            } else {
                idx += bigEndian(UInt32(0x8000_0000) | UInt32(large.count))
                large.append(e.offset)
            }
        }
        for o in large { idx += bigEndian(o) }
        idx += checksum
        var digest = [UInt8](repeating: 0, count: 20)
        _ = cairn_fast_sha1(idx, idx.count, &digest)
        idx += digest

        let name = "pack-" + OID(bytes: checksum).hex
        let (packPath, indexPath) = (folder + name + ".pack", folder + name + ".idx")
        if access(indexPath, F_OK) == 0 && access(packPath, F_OK) == 0 { return name } // the same objects, already there
        let indexFD = open(path + ".idx", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
        guard indexFD >= 0 else { throw Self.failure("create", path + ".idx") }
        try Self.write(indexFD, idx, path + ".idx")
        try Self.seal(indexFD, path + ".idx")
        guard rename(path, packPath) == 0 else { throw Self.failure("rename into place", packPath) }
        guard rename(path + ".idx", indexPath) == 0 else { throw Self.failure("rename into place", indexPath) }
        done = true
        if Libgit2.fsyncEnabled {
            let dir = open(folder, O_RDONLY | O_DIRECTORY)
            guard dir >= 0 else { throw Self.failure("open", folder) }
            defer { Glibc.close(dir) }
            guard fsync(dir) == 0 else { throw Self.failure("fsync", folder) }
        }
        return name
    }

    private static func write(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws {
        try bytes.withUnsafeBytes { buf in
            var at = 0
            while at < buf.count {
                let n = Glibc.write(fd, buf.baseAddress! + at, buf.count - at)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw failure("write", path) }
                at += n
            }
        }
    }

    /// Makes the file read-only, syncs it when fsync is on, and closes it.
    private static func seal(_ fd: Int32, _ path: String) throws {
        defer { Glibc.close(fd) }
        guard fchmod(fd, 0o444) == 0 else { throw failure("set the mode of", path) }
        if Libgit2.fsyncEnabled, fsync(fd) != 0 { throw failure("fsync", path) }
    }

    private static func failure(_ what: String, _ path: String) -> GitError {
        GitError(code: -1, message: "could not \(what) \(path): \(String(cString: strerror(errno)))", function: "PackWriter")
    }
}
