import CGit2
import Foundation

extension Repository {
    /// Stores `data` as a blob and returns its id.
    public func writeBlob(_ data: Data) throws -> OID {
        var out = git_oid()
        try data.withUnsafeBytes { buf in
            _ = try check(git_blob_create_from_buffer(&out, pointer, buf.baseAddress, buf.count), "git_blob_create_from_buffer")
        }
        return OID(out)
    }

    /// Stores the file at `path` (relative to the working tree, filters applied as git add would) as a blob.
    public func writeBlob(fromWorkdirPath path: String) throws -> OID {
        var out = git_oid()
        try check(git_blob_create_from_workdir(&out, pointer, path), "git_blob_create_from_workdir")
        return OID(out)
    }

    /// The content of blob `oid`.
    public func blob(_ oid: OID) throws -> Data {
        var raw = oid.raw
        var blob: OpaquePointer? = nil
        try check(git_blob_lookup(&blob, pointer, &raw), "git_blob_lookup")
        guard let blob else { throw GitError(code: GIT_ENOTFOUND.rawValue, message: "blob \(oid) not found", function: "git_blob_lookup") }
        defer { git_blob_free(blob) }
        let size = Int(git_blob_rawsize(blob))
        guard size > 0, let content = git_blob_rawcontent(blob) else { return Data() }
        return Data(bytes: content, count: size)
    }

    /// True when the blob looks binary by git's rules (NUL bytes or too many non-text bytes).
    public func blobIsBinary(_ oid: OID) throws -> Bool {
        var raw = oid.raw
        var blob: OpaquePointer? = nil
        try check(git_blob_lookup(&blob, pointer, &raw), "git_blob_lookup")
        defer { git_blob_free(blob) }
        return git_blob_is_binary(blob) == 1
    }

    /// The id `data` would have as a blob, without storing it.
    public static func hashBlob(_ data: Data) throws -> OID {
        Libgit2.ensureInitialized()
        var out = git_oid()
        try data.withUnsafeBytes { buf in
            _ = try check(git_odb_hash(&out, buf.baseAddress, buf.count, GIT_OBJECT_BLOB), "git_odb_hash")
        }
        return OID(out)
    }
}
