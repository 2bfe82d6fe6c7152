import CGit2
import Foundation

/// A commit read from the repository: a plain value.
public struct Commit: Hashable, Sendable {
    public let oid: OID
    public let tree: OID
    public let parents: [OID]
    public let author: Signature
    public let committer: Signature
    /// The full message, trailers included.
    public let message: String

    /// The first line of the message.
    public var summary: String {
        String(message.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
    }

    /// The message without its first line, trimmed.
    public var body: String {
        let parts = message.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
        return parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespacesAndNewlines) : ""
    }

    /// The trailers (`Key: value` lines of the last paragraph), in order, as git parses them.
    public var trailers: [Trailer] { Trailer.parse(message) }

    /// The value of the first trailer named `key`.
    public func trailer(_ key: String) -> String? { trailers.first { $0.key == key }?.value }

    /// Every trailer's first value by key, from one parse of the message (for reading several).
    public var trailerValues: [String: String] {
        var values: [String: String] = [:]
        for t in trailers where values[t.key] == nil { values[t.key] = t.value }
        return values
    }
}

/// A git trailer, `Key: value`.
public struct Trailer: Hashable, Sendable, CustomStringConvertible {
    public let key: String
    public let value: String
    public init(_ key: String, _ value: String) { self.key = key; self.value = value }
    public var description: String { "\(key): \(value)" }

    /// Parses trailers with libgit2's parser (same rules as `git interpret-trailers`).
    public static func parse(_ message: String) -> [Trailer] {
        Libgit2.ensureInitialized()
        var arr = git_message_trailer_array()
        guard git_message_trailers(&arr, message) == 0 else { git_error_clear(); return [] }
        defer { _ = cairn_git_message_trailers_free_shim(&arr) }
        var out: [Trailer] = []
        guard let base = arr.trailers else { return out }
        for i in 0..<arr.count {
            let t = base[i]
            guard let k = t.key, let v = t.value else { continue }
            out.append(Trailer(String(cString: k), String(cString: v)))
        }
        return out
    }

    /// Builds a message from a subject, an optional body and trailers, in git's layout.
    public static func message(subject: String, body: String = "", trailers: [Trailer]) -> String {
        var text = subject.trimmingCharacters(in: .whitespacesAndNewlines) + "\n"
        let trimmedBody = body.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmedBody.isEmpty { text += "\n" + trimmedBody + "\n" }
        if !trailers.isEmpty {
            text += "\n" + trailers.map { "\($0.key): \($0.value)" }.joined(separator: "\n") + "\n"
        }
        return text
    }
}

extension Repository {
    /// Reads commit `oid`.
    public func commit(_ oid: OID) throws -> Commit {
        var raw = oid.raw
        var c: OpaquePointer? = nil
        try check(git_commit_lookup(&c, pointer, &raw), "git_commit_lookup")
        guard let c else { throw GitError(code: GIT_ENOTFOUND.rawValue, message: "commit \(oid) not found", function: "git_commit_lookup") }
        defer { git_commit_free(c) }
        var parents: [OID] = []
        for i in 0..<git_commit_parentcount(c) {
            if let p = git_commit_parent_id(c, i) { parents.append(OID(p.pointee)) }
        }
        guard let tree = git_commit_tree_id(c), let author = git_commit_author(c), let committer = git_commit_committer(c) else {
            throw GitError(code: -1, message: "commit \(oid) is malformed", function: "git_commit_lookup")
        }
        let message = git_commit_message_raw(c).map { String(cString: $0) } ?? ""
        return Commit(oid: oid, tree: OID(tree.pointee), parents: parents, author: Signature(author),
                      committer: Signature(committer), message: message)
    }

    /// Writes a commit object (no reference is moved: update one with `updateReference`).
    public func createCommit(tree: OID, parents: [OID], author: Signature, committer: Signature, message: String) throws -> OID {
        var treeRaw = tree.raw
        var treeObj: OpaquePointer? = nil
        try check(git_tree_lookup(&treeObj, pointer, &treeRaw), "git_tree_lookup")
        defer { git_tree_free(treeObj) }
        var parentObjs: [OpaquePointer?] = []
        defer { parentObjs.forEach { git_commit_free($0) } }
        for p in parents {
            var raw = p.raw
            var obj: OpaquePointer? = nil
            try check(git_commit_lookup(&obj, pointer, &raw), "git_commit_lookup")
            parentObjs.append(obj)
        }
        var out = git_oid()
        _ = try author.withGitSignature { a in
            try committer.withGitSignature { c in
                try parentObjs.withUnsafeMutableBufferPointer { buf in
                    // No encoding header: UTF-8 is git's default, and `git commit` writes none for it,
                    // so the same tree, parents, signatures and message give the same id as git's.
                    _ = try check(git_commit_create(&out, pointer, nil, a, c, nil, message, treeObj, parents.count, buf.baseAddress),
                              "git_commit_create")
                }
            }
        }
        return OID(out)
    }
}
