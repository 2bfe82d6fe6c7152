import CGit2
import CGit2Helpers
import Foundation

extension Repository {
    /// Objects at least this large are written by `writeStoredLooseObject` instead of libgit2.
    static let storedObjectThreshold = 32 << 10

    /// Writes a tree object from its body bytes and returns its id (nothing is written when it exists).
    func writeTreeObject(_ body: [UInt8]) throws -> OID {
        try withObjectDatabase { odb in
            var out = git_oid()
            if body.count < Self.storedObjectThreshold || largeTreesInMemory {
                try body.withUnsafeBytes { buf in
                    _ = try check(git_odb_write(&out, odb, buf.baseAddress, buf.count, GIT_OBJECT_TREE), "git_odb_write")
                }
                return OID(out)
            }
            // Large trees: hashed with hardware SHA-1 when libcrypto offers it (the object is names and ids cairn
            // serialized itself; agent paths are valid Unicode without control characters, so no collision blocks),
            // libgit2's collision-detecting SHA-1 otherwise; then written with stored blocks.
            var content = Array("tree \(body.count)\0".utf8)
            content.append(contentsOf: body)
            let fast = content.withUnsafeBytes { buf in
                withUnsafeMutableBytes(of: &out.id) { cairn_fast_sha1(buf.baseAddress, buf.count, $0.baseAddress!.assumingMemoryBound(to: UInt8.self)) }
            }
            if fast != 0 {
                try body.withUnsafeBytes { buf in
                    _ = try check(git_odb_hash(&out, buf.baseAddress, buf.count, GIT_OBJECT_TREE), "git_odb_hash")
                }
            }
            let oid = OID(out)
            if git_odb_exists(odb, &out) != 1 { try writeStoredLooseObject(oid, content: content) }
            return oid
        }
    }

    /// Writes a loose object whose zlib stream uses stored (uncompressed) blocks.
    ///
    /// Any zlib stream is a valid loose object, and git and libgit2 read this one like any other. Compressing a
    /// large tree is most of the cost of rewriting it (a 10,000-note folder is a 560 KB tree, and half its bytes
    /// are object ids, which do not compress), while `git gc` recompresses loose objects when it packs them
    /// anyway. Same durability as libgit2's writer: a temporary file in the object's folder, fsynced, renamed
    /// into place, then the folder fsynced.
    /// `content` is the object as git hashes it: `<type> <size>\0` and the body.
    func writeStoredLooseObject(_ oid: OID, content: [UInt8]) throws {
        let stream = Self.storedZlibStream(content)

        let objects = String(cString: git_repository_commondir(pointer)) + "objects/"
        let hex = oid.hex
        let folder = objects + hex.prefix(2)
        let final = folder + "/" + hex.dropFirst(2)
        let sync = Libgit2.fsyncEnabled
        func failure(_ what: String, _ path: String) -> GitError {
            GitError(code: -1, message: "could not \(what) \(path): \(String(cString: strerror(errno)))", function: "write loose object")
        }
        if mkdir(folder, 0o777) == 0 {
            if sync { try fsyncDirectory(objects) }
        } else if errno != EEXIST {
            throw failure("create", folder)
        }
        var template = Array((folder + "/tmp_obj_XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw failure("create a temporary file in", folder) }
        let tmp = String(cString: template)
        var ok = false
        defer { if !ok { unlink(tmp) } }
        do {
            defer { close(fd) }
            try stream.withUnsafeBytes { buf in
                var offset = 0
                while offset < buf.count {
                    let n = write(fd, buf.baseAddress! + offset, buf.count - offset)
                    if n < 0 { if errno == EINTR { continue }; throw failure("write", tmp) }
                    offset += n
                }
            }
            guard fchmod(fd, 0o444) == 0 else { throw failure("set the mode of", tmp) }
            if sync, fsync(fd) != 0 { throw failure("fsync", tmp) }
        }
        guard rename(tmp, final) == 0 else { throw failure("rename into place", final) }
        ok = true
        if sync { try fsyncDirectory(folder) }
    }

    private func fsyncDirectory(_ path: String) throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw GitError(code: -1, message: "could not open \(path): \(String(cString: strerror(errno)))", function: "fsync") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw GitError(code: -1, message: "could not fsync \(path): \(String(cString: strerror(errno)))", function: "fsync") }
    }

    /// `data` as a zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 §3.2.4).
    static func storedZlibStream(_ data: [UInt8]) -> [UInt8] {
        let blockSize = 65535
        let blocks = max(1, (data.count + blockSize - 1) / blockSize)
        var out: [UInt8] = []
        out.reserveCapacity(data.count + blocks * 5 + 6)
        out.append(0x78); out.append(0x01) // deflate, 32 KiB window, no dictionary, fastest level; (0x7801 % 31 == 0)
        var offset = 0
        repeat {
            let length = min(blockSize, data.count - offset)
            let final = offset + length == data.count
            out.append(final ? 1 : 0)
            out.append(UInt8(length & 0xff)); out.append(UInt8(length >> 8))
            out.append(UInt8(~length & 0xff)); out.append(UInt8((~length >> 8) & 0xff))
            out.append(contentsOf: data[offset..<(offset + length)])
            offset += length
        } while offset < data.count
        let checksum = adler32(data)
        out.append(UInt8(checksum >> 24)); out.append(UInt8((checksum >> 16) & 0xff))
        out.append(UInt8((checksum >> 8) & 0xff)); out.append(UInt8(checksum & 0xff))
        return out
    }

    static func adler32(_ data: [UInt8]) -> UInt32 {
        data.withUnsafeBytes { UInt32(cairn_adler32($0.baseAddress, $0.count)) }
    }
}
