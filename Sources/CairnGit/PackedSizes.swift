import CGit2Helpers
import Foundation

extension Repository {
    /// The size of each object of `ids` (the bytes of its body), read from the headers of the pack entries
    /// without building any object: a whole entry's header holds its size, and a delta's first inflated bytes
    /// hold the size of the object it builds. The entries are read in pack order, so a large pack is read
    /// forward once instead of window by window; objects no pack holds (loose, in memory) are asked of libgit2.
    /// Ids of missing objects are left out.
    public func objectSizes(_ ids: [OID]) throws -> [OID: Int] {
        var sizes: [OID: Int] = [:]
        sizes.reserveCapacity(ids.count)
        var wanted = Set(ids.map { RawID($0.bytes[...]) })
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
            for (offset, id) in entries {
                guard Int(offset) < input.size - 20,
                      let size = try Self.entrySize(&input, at: offset, pack: name) else { continue }
                sizes[id.oid] = size
                wanted.remove(id)
            }
        }
        for id in wanted {
            if let header = try objectHeader(id.oid) { sizes[id.oid] = header.size }
        }
        return sizes
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
