import CGit2
import Foundation

/// A tree object's bytes with the offsets of its entries, parsed without allocating per entry.
///
/// Vault folders such as `inbox/` hold thousands of notes, so their tree objects run to hundreds of kilobytes.
/// Reading one through libgit2 builds an object per entry, and rewriting it through a tree builder copies every
/// entry into a map, sorts them and serializes them again. A change touching a few names needs none of that:
/// find the names by binary search over these offsets and splice the bytes (see `Repository.updateTree`).
struct RawTree {
    struct Entry {
        /// Offset of the entry's first byte (its mode).
        var start: Int
        var nameStart: Int
        /// Offset of the NUL after the name; the 20-byte id follows it.
        var nameEnd: Int
        var isTree: Bool
        var end: Int { nameEnd + 21 }
    }

    let bytes: [UInt8]
    let entries: [Entry]

    static let empty = RawTree(bytes: [], entries: [])

    /// Parses `bytes` as a tree object's body; nil when it is malformed.
    init?(bytes: [UInt8]) {
        var entries: [Entry] = []
        let ok = bytes.withUnsafeBufferPointer { buf -> Bool in
            let n = buf.count
            var i = 0
            while i < n {
                let start = i
                var isTree = false
                // Mode: octal digits then a space; "40000" is a tree.
                while i < n, buf[i] != 0x20 {
                    guard buf[i] >= 0x30, buf[i] <= 0x37 else { return false }
                    i += 1
                }
                guard i < n, i > start else { return false }
                isTree = i - start == 5 && buf[start] == 0x34 && buf[start + 1] == 0x30
                i += 1
                let nameStart = i
                guard let base = buf.baseAddress, let nul = memchr(base + i, 0, n - i) else { return false }
                let nameEnd = UnsafePointer<UInt8>(nul.assumingMemoryBound(to: UInt8.self)) - base
                guard nameEnd > nameStart, nameEnd + 21 <= n else { return false }
                entries.append(Entry(start: start, nameStart: nameStart, nameEnd: nameEnd, isTree: isTree))
                i = nameEnd + 21
            }
            return true
        }
        guard ok else { return nil }
        // Binary search and splicing rely on git's order; a tree out of order (only a damaged or hand-made
        // object can be) is refused rather than spliced into one with duplicate names.
        let ordered = bytes.withUnsafeBufferPointer { buf -> Bool in
            guard let base = buf.baseAddress else { return true }
            for i in entries.indices.dropFirst() {
                let a = entries[i - 1], b = entries[i]
                guard Self.compare(base + a.nameStart, a.nameEnd - a.nameStart, a.isTree,
                                   base + b.nameStart, b.nameEnd - b.nameStart, b.isTree) < 0 else { return false }
            }
            return true
        }
        guard ordered else { return nil }
        self.bytes = bytes
        self.entries = entries
    }

    private init(bytes: [UInt8], entries: [Entry]) {
        self.bytes = bytes
        self.entries = entries
    }

    func name(_ e: Entry) -> ArraySlice<UInt8> { bytes[e.nameStart..<e.nameEnd] }

    func oid(_ e: Entry) -> OID { bytes.withUnsafeBytes { OID(pointer: $0.baseAddress! + e.nameEnd + 1) } }

    func mode(_ e: Entry) -> UInt32 {
        var m: UInt32 = 0
        for b in bytes[e.start..<(e.nameStart - 1)] { m = m << 3 | UInt32(b - 0x30) }
        return m
    }

    func treeEntry(_ e: Entry) -> TreeEntry { TreeEntry(nameBytes: Array(name(e)), oid: oid(e), mode: mode(e)) }

    /// git's tree order: names compared bytewise, a tree's name as if it ended in "/".
    /// Only the sign of the result means anything.
    static func compare(_ a: ArraySlice<UInt8>, _ aTree: Bool, _ b: ArraySlice<UInt8>, _ bTree: Bool) -> Int {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                guard let sa = pa.baseAddress, let sb = pb.baseAddress else {
                    // An empty name (only in a malformed tree): the byte after it decides.
                    let ca: UInt8 = a.first ?? (aTree ? 0x2F : 0), cb: UInt8 = b.first ?? (bTree ? 0x2F : 0)
                    return Int(ca) - Int(cb)
                }
                return compare(sa, a.count, aTree, sb, b.count, bTree)
            }
        }
    }

    /// `compare` on names in place (one `memcmp`: trees are checked and matched entry by entry).
    static func compare(_ a: UnsafePointer<UInt8>, _ na: Int, _ aTree: Bool, _ b: UnsafePointer<UInt8>, _ nb: Int, _ bTree: Bool) -> Int {
        let n = Swift.min(na, nb)
        let c = memcmp(a, b, n)
        if c != 0 { return Int(c) }
        let ca: UInt8 = na > n ? a[n] : (aTree ? 0x2F : 0)
        let cb: UInt8 = nb > n ? b[n] : (bTree ? 0x2F : 0)
        return Int(ca) - Int(cb)
    }

    /// The index of the first entry not ordered before (`name`, `isTree`).
    func lowerBound(_ name: ArraySlice<UInt8>, isTree: Bool) -> Int {
        var lo = 0, hi = entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let e = entries[mid]
            if Self.compare(self.name(e), e.isTree, name, isTree) < 0 { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Walks this tree against an earlier version `base` of the same folder, in order: `body` gets each entry's
    /// index with the index of the byte-identical entry of `base` (same mode, name and id), or nil;
    /// `unmatchedBase` gets each entry of `base` that has no identical entry here (removed or changed).
    /// Identical entries are found by comparing their bytes, so consecutive versions cost one `memcmp` each.
    func match(against base: RawTree, _ body: (Int, Int?) -> Void, unmatchedBase: (Int) -> Void) {
        let mine = entries, theirs = base.entries
        bytes.withUnsafeBufferPointer { a in
            base.bytes.withUnsafeBufferPointer { b in
                var j = 0
                for i in mine.indices {
                    let e = mine[i]
                    var matched: Int? = nil
                    while j < theirs.count {
                        let o = theirs[j]
                        let n = e.end - e.start
                        if o.end - o.start == n, memcmp(a.baseAddress! + e.start, b.baseAddress! + o.start, n) == 0 {
                            matched = j
                            j += 1
                            break
                        }
                        let c = RawTree.compare(b.baseAddress! + o.nameStart, o.nameEnd - o.nameStart, o.isTree,
                                                a.baseAddress! + e.nameStart, e.nameEnd - e.nameStart, e.isTree)
                        if c > 0 { break }
                        unmatchedBase(j)
                        j += 1
                        if c == 0 { break }
                    }
                    body(i, matched)
                }
                while j < theirs.count {
                    unmatchedBase(j)
                    j += 1
                }
            }
        }
    }

    /// The index of the entry called `name`, file or folder.
    func index(of name: ArraySlice<UInt8>) -> Int? {
        for isTree in [false, true] {
            let i = lowerBound(name, isTree: isTree)
            if i < entries.count, entries[i].isTree == isTree, self.name(entries[i]) == name { return i }
        }
        return nil
    }
}

extension Repository {
    /// The tree `oid` as raw bytes with entry offsets, from a per-repository cache.
    func rawTree(_ oid: OID) throws -> RawTree {
        if oid == OID.emptyTree { return .empty }
        if let cached = rawTreeCache[oid] { return cached }
        var raw = oid.raw
        let bytes: [UInt8] = try withObjectDatabase { odb in
            var object: OpaquePointer? = nil
            try check(git_odb_read(&object, odb, &raw), "git_odb_read")
            defer { git_odb_object_free(object) }
            guard git_odb_object_type(object) == GIT_OBJECT_TREE else {
                throw GitError(code: GIT_EINVALIDSPEC.rawValue, message: "object \(oid) is not a tree", function: "git_odb_read")
            }
            let size = git_odb_object_size(object)
            return size == 0 ? [] : Array(UnsafeRawBufferPointer(start: git_odb_object_data(object), count: size))
        }
        guard let tree = RawTree(bytes: bytes) else {
            throw GitError(code: -1, message: "tree \(oid) is malformed (bad entry or entries out of order)", function: "git_odb_read")
        }
        // Bounded: a process that walks many trees keeps only the most recent few megabytes.
        rawTreeCacheBytes += bytes.count
        if rawTreeCacheBytes > rawTreeCacheLimit { rawTreeCache.removeAll(); rawTreeCacheBytes = bytes.count }
        rawTreeCache[oid] = tree
        return tree
    }
}
