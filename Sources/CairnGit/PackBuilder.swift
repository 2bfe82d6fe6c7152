import CGit2
import Foundation

/// Builds one pack file from objects of a repository: libgit2's packbuilder, the part of `git repack` it has.
///
/// libgit2 has no `gc`. Keeping only what is reachable is done by inserting the reachable history here,
/// writing the pack into `objects/pack/`, and only then removing the old packs and loose objects
/// (`ObjectStoreFiles`). Objects held by an attached `InMemoryObjects` are read like any other.
public final class PackBuilder {
    let pointer: OpaquePointer
    let repository: Repository

    /// A new, empty builder for `repository`; `threads` 0 lets libgit2 use one per CPU.
    public init(_ repository: Repository, threads: Int = 0) throws {
        var out: OpaquePointer? = nil
        try check(git_packbuilder_new(&out, repository.pointer), "git_packbuilder_new")
        guard let out else { throw GitError(code: -1, message: "no packbuilder", function: "git_packbuilder_new") }
        pointer = out
        self.repository = repository
        git_packbuilder_set_threads(out, UInt32(max(0, threads)))
    }

    deinit { git_packbuilder_free(pointer) }

    /// Inserts every commit reachable from `tips` and every tree and blob they reference.
    public func insertHistory(from tips: [OID]) throws {
        guard !tips.isEmpty else { return }
        let walk = try RevWalk(repository)
        // Insertion order does not matter to the pack; the cheapest walk order does.
        try check(git_revwalk_sorting(walk.pointer, GIT_SORT_NONE.rawValue), "git_revwalk_sorting")
        for tip in tips { try walk.push(tip) }
        try check(git_packbuilder_insert_walk(pointer, walk.pointer), "git_packbuilder_insert_walk")
    }

    /// Inserts one object and, for a tree or commit, everything it references.
    public func insertRecursively(_ oid: OID) throws {
        var raw = oid.raw
        try check(git_packbuilder_insert_recur(pointer, &raw, nil), "git_packbuilder_insert_recur")
    }

    /// Inserts one object alone (a blob staged in the index, for example).
    public func insert(_ oid: OID) throws {
        var raw = oid.raw
        try check(git_packbuilder_insert(pointer, &raw, nil), "git_packbuilder_insert")
    }

    /// How many objects the pack will hold.
    public var objectCount: Int { git_packbuilder_object_count(pointer) }

    /// Writes the pack and its index into `objects/pack/` (durably, when fsync is on) and returns the pack's
    /// name (`pack-<hash>`). The index is renamed into place after the pack, so a reader never sees an index
    /// without its pack; a process that dies midway leaves at most temporary files.
    @discardableResult
    public func write() throws -> String {
        let folder = repository.objectsDirectory + "pack"
        try check(git_packbuilder_write(pointer, folder, 0, nil, nil), "git_packbuilder_write")
        guard let name = git_packbuilder_name(pointer) else {
            throw GitError(code: -1, message: "the packbuilder wrote no pack", function: "git_packbuilder_write")
        }
        return "pack-" + String(cString: name)
    }
}

extension Index {
    /// The object id of every entry, all stages (what `git fsck` counts as reachable from the index).
    public var entryIDs: [OID] {
        var out: [OID] = []
        for i in 0..<git_index_entrycount(pointer) {
            if let e = git_index_get_byindex(pointer, i) { out.append(OID(e.pointee.id)) }
        }
        return out
    }
}
