import CGit2Helpers
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Repository {
    /// The size of each object of `ids` (the bytes of its body), read from the headers of the pack entries
    /// without building any object: a whole entry's header holds its size, and a delta's first inflated bytes
    /// hold the size of the object it builds. The entries are read in pack order, so a large pack is read
    /// forward once instead of window by window; objects no pack holds (loose, in memory) are asked of libgit2.
    /// Ids of missing objects are left out.
    public func objectSizes(_ ids: [OID]) throws -> [OID: Int] {
        try objectSizes(ids, countStored: false).sizes
    }

    /// `objectSizes(ids)`, and the bytes these objects take in the object store (`stored`): their pack entries
    /// (deltas where the pack holds deltas), or their loose files. Objects held only in memory count nothing.
    public func objectSizesAndStoredBytes(_ ids: [OID]) throws -> (sizes: [OID: Int], stored: Int) {
        try objectSizes(ids, countStored: true)
    }

    private func objectSizes(_ ids: [OID], countStored: Bool) throws -> (sizes: [OID: Int], stored: Int) {
        var sizes: [OID: Int] = [:]
        sizes.reserveCapacity(ids.count)
        var wanted = Set(ids.map { RawID($0.bytes[...]) })
        var storedBytes = 0
        let folder = objectsDirectory + "pack/"
        for name in ObjectStoreFiles(self).packs() where !wanted.isEmpty {
            guard let index = try? PackIndexFile(path: folder + name + ".idx"),
                  var input = try? PackInput(path: folder + name + ".pack") else { continue }
            var entries: [(offset: UInt64, id: RawID)] = []
            for i in 0..<index.count {
                let id = index.rawID(i)
                if wanted.contains(id) { entries.append((index.offset(i), id)) }
            }
            entries.sort { $0.offset < $1.offset }
            // An entry runs to the next one (or to the trailer): every offset of the pack, sorted.
            var offsets: [UInt64] = []
            if countStored && !entries.isEmpty {
                offsets = (0..<index.count).map { index.offset($0) }
                offsets.sort()
            }
            var o = 0
            for (offset, id) in entries {
                guard Int(offset) < input.size - 20,
                      let size = try Self.entrySize(&input, at: offset, pack: name) else { continue }
                sizes[id.oid] = size
                wanted.remove(id)
                if countStored {
                    while o < offsets.count && offsets[o] <= offset { o += 1 }
                    storedBytes += Int((o < offsets.count ? offsets[o] : UInt64(input.size - 20)) - offset)
                }
            }
        }
        for id in wanted {
            if let header = try objectHeader(id.oid) { sizes[id.oid] = header.size }
            if countStored {
                let hex = id.oid.hex
                var st = stat()
                if stat(objectsDirectory + String(hex.prefix(2)) + "/" + String(hex.dropFirst(2)), &st) == 0 { storedBytes += Int(st.st_size) }
            }
        }
        return (sizes, storedBytes)
    }

    /// The size of the object the pack entry at `offset` holds or builds; nil when the entry cannot be read
    /// this way (the caller asks libgit2).
    private static func entrySize(_ input: inout PackInput, at offset: UInt64, pack: String) throws -> Int? {
        let bytes = try input.read(at: offset, count: min(4096, input.size - 20 - Int(offset)))
        let parsed = try ReachablePack.parseEntryHeader(bytes, at: offset, pack: pack)
        if parsed.type != 6 && parsed.type != 7 { return parsed.size }
        // A delta starts with the base's size and the result's size, 7 bits per byte each.
        var prefix = [UInt8](repeating: 0, count: 32)
        let data = bytes[(bytes.startIndex + parsed.dataStart)...]
        let produced = data.withUnsafeBytes { src in
            prefix.withUnsafeMutableBytes { cairn_inflate_prefix(src.baseAddress, src.count, $0.baseAddress, $0.count) }
        }
        guard produced > 0 else { return nil }
        var i = 0
        func varint() -> Int? {
            var value = 0, shift = 0
            while i < produced {
                let b = prefix[i]
                i += 1
                value |= Int(b & 0x7F) << shift
                shift += 7
                if b & 0x80 == 0 { return value }
                if shift > 56 { return nil }
            }
            return nil
        }
        guard varint() != nil, let size = varint() else { return nil }
        return size
    }
}
