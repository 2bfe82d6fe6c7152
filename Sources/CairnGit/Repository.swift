import CGit2
import CLooseObjectCheck
import Foundation

/// An open git repository. Owns its libgit2 handle and frees it in `deinit`.
///
/// Not thread-safe: use one `Repository` per thread, as libgit2 requires.
public final class Repository {
    let pointer: OpaquePointer
    /// Trees read as raw bytes (see `RawTree`), so that a lookup and the update that follows read each once.
    var rawTreeCache: [OID: RawTree] = [:]
    var rawTreeCacheBytes = 0
    /// Bytes of tree bodies the cache above may hold before it starts again (a walk that reads each tree once
    /// gains nothing from a large one).
    public var rawTreeCacheLimit = 64 << 20
    /// Set by `PackedWrites`: trees of any size go through the object database (into its in-memory store)
    /// instead of large ones being written loose to disk.
    var largeTreesInMemory = false

    init(pointer: OpaquePointer) {
        Libgit2.ensureInitialized()
        self.pointer = pointer
        guardLooseObjects()
    }

    /// Puts the loose-object check in front of libgit2's loose backend, so that no read of any kind (lookups,
    /// walks, diffs, merges, checkouts) hands libgit2 a truncated loose object: libgit2 1.5.1 inflates one
    /// forever (libgit2/libgit2#7342). Objects found in a pack are read without the check; a loose object costs
    /// one more read and inflate of its file. Loose objects of alternates are not checked.
    private func guardLooseObjects() {
        var odb: OpaquePointer? = nil
        guard git_repository_odb(&odb, pointer) == 0, let odb else { git_error_clear(); return }
        defer { git_odb_free(odb) }
        let objects = String(cString: git_repository_commondir(pointer)) + "objects"
        if cairn_odb_add_loose_object_check(odb, objects, Libgit2.looseCheckPriority) != 0 { git_error_clear() }
    }

    deinit { git_repository_free(pointer) }

    /// Opens the repository at `path` (its working tree or its git directory), without searching upward.
    public convenience init(at path: String) throws {
        Libgit2.ensureInitialized()
        var out: OpaquePointer? = nil
        try check(git_repository_open_ext(&out, path, GIT_REPOSITORY_OPEN_NO_SEARCH.rawValue, nil), "git_repository_open_ext")
        guard let out else { throw GitError(code: -1, message: "no repository at \(path)", function: "git_repository_open_ext") }
        self.init(pointer: out)
    }

    /// Creates a new repository with a working tree at `path`, whose unborn `HEAD` points to `initialBranch`.
    public static func create(at path: String, initialBranch: String = "main", bare: Bool = false) throws -> Repository {
        Libgit2.ensureInitialized()
        var opts = git_repository_init_options()
        try check(cairn_git_repository_init_options_init(&opts), "git_repository_init_options_init")
        opts.flags = GIT_REPOSITORY_INIT_MKPATH.rawValue | GIT_REPOSITORY_INIT_NO_REINIT.rawValue
        if bare { opts.flags |= GIT_REPOSITORY_INIT_BARE.rawValue }
        var out: OpaquePointer? = nil
        try initialBranch.withCString { branch in
            opts.initial_head = branch
            try check(git_repository_init_ext(&out, path, &opts), "git_repository_init_ext")
        }
        guard let out else { throw GitError(code: -1, message: "could not create a repository at \(path)", function: "git_repository_init_ext") }
        return Repository(pointer: out)
    }

    /// The git directory of the repository containing `path`, searching upward; nil when there is none.
    public static func discover(from path: String) -> String? {
        Libgit2.ensureInitialized()
        var buf = git_buf()
        defer { git_buf_dispose(&buf) }
        guard git_repository_discover(&buf, path, 0, nil) == 0, let ptr = buf.ptr else {
            git_error_clear()
            return nil
        }
        return String(cString: ptr)
    }

    /// The working tree's root with a trailing slash, or nil for a bare repository.
    public var workdir: String? {
        git_repository_workdir(pointer).map { String(cString: $0) }
    }

    /// The git directory (`.git/`) with a trailing slash.
    public var gitDir: String { String(cString: git_repository_path(pointer)) }

    public var isBare: Bool { git_repository_is_bare(pointer) == 1 }

    /// True when `HEAD` names a branch that has no commit yet.
    public var isHeadUnborn: Bool { git_repository_head_unborn(pointer) == 1 }

    /// The operation in progress (merge, rebase, cherry-pick…), nil when none.
    public var stateInProgress: String? {
        let state = git_repository_state(pointer)
        switch git_repository_state_t(UInt32(state)) {
        case GIT_REPOSITORY_STATE_NONE: return nil
        case GIT_REPOSITORY_STATE_MERGE: return "merge"
        case GIT_REPOSITORY_STATE_REVERT, GIT_REPOSITORY_STATE_REVERT_SEQUENCE: return "revert"
        case GIT_REPOSITORY_STATE_CHERRYPICK, GIT_REPOSITORY_STATE_CHERRYPICK_SEQUENCE: return "cherry-pick"
        case GIT_REPOSITORY_STATE_BISECT: return "bisect"
        case GIT_REPOSITORY_STATE_REBASE, GIT_REPOSITORY_STATE_REBASE_INTERACTIVE, GIT_REPOSITORY_STATE_REBASE_MERGE: return "rebase"
        case GIT_REPOSITORY_STATE_APPLY_MAILBOX, GIT_REPOSITORY_STATE_APPLY_MAILBOX_OR_REBASE: return "am"
        default: return "unknown operation"
        }
    }

    /// The full name `HEAD` points to (e.g. `refs/heads/main`), also when the branch is unborn; nil when detached.
    public func headReferenceName() throws -> String? {
        var ref: OpaquePointer? = nil
        try check(git_reference_lookup(&ref, pointer, "HEAD"), "git_reference_lookup")
        guard let ref else { return nil }
        defer { git_reference_free(ref) }
        guard git_reference_type(ref) == GIT_REFERENCE_SYMBOLIC, let target = git_reference_symbolic_target(ref) else { return nil }
        return String(cString: target)
    }

    /// Makes `HEAD` point to `refName` (which need not exist yet).
    public func setHead(_ refName: String) throws {
        try check(git_repository_set_head(pointer, refName), "git_repository_set_head")
    }

    /// Resolves a revision expression (`main`, `HEAD~2`, an abbreviated id…) to a commit id.
    public func resolveCommit(_ spec: String) throws -> OID {
        var obj: OpaquePointer? = nil
        try check(git_revparse_single(&obj, pointer, spec), "git_revparse_single")
        guard let obj else { throw GitError(code: GIT_ENOTFOUND.rawValue, message: "revision '\(spec)' not found", function: "git_revparse_single") }
        defer { git_object_free(obj) }
        var commit: OpaquePointer? = nil
        try check(git_object_peel(&commit, obj, GIT_OBJECT_COMMIT), "git_object_peel")
        guard let commit else { throw GitError(code: GIT_ENOTFOUND.rawValue, message: "'\(spec)' is not a commit", function: "git_object_peel") }
        defer { git_object_free(commit) }
        guard let id = git_object_id(commit) else { throw GitError(code: -1, message: "no id", function: "git_object_id") }
        return OID(id.pointee)
    }

    /// Runs `body` with the repository's object database (a reference held for the call).
    func withObjectDatabase<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        var odb: OpaquePointer? = nil
        try check(git_repository_odb(&odb, pointer), "git_repository_odb")
        guard let odb else { throw GitError(code: -1, message: "no object database", function: "git_repository_odb") }
        defer { git_odb_free(odb) }
        return try body(odb)
    }

    /// True when the object database holds `oid`.
    public func contains(_ oid: OID) throws -> Bool {
        var raw = oid.raw
        return try withObjectDatabase { git_odb_exists($0, &raw) == 1 }
    }

    /// Checks every object reachable from `tips` can be read and parsed; returns ids that could not.
    ///
    /// libgit2 has no fsck; this is the closest check it allows (object presence and parse).
    ///
    /// `progress` hears the number of commits checked so far, every 64 commits.
    ///
    /// Each tree is read once. A folder that changed is compared, entry by entry, with the last version of the
    /// same folder that an earlier commit checked completely: an entry with the same name, mode and id was checked
    /// then (its blob found, its subtree walked), so only the entries that differ are looked up. A vault of 100k
    /// notes in a few folders has trees of a megabyte, and each commit changes a handful of their entries.
    public func verifyReachableObjects(from tips: [OID], limit: Int = .max,
                                       progress: ((Int) -> Void)? = nil) throws -> (checked: Int, broken: [String]) {
        var checked = 0
        var broken: [String] = []
        var seenTrees = Set<OID>()
        var seenBlobs = Set<OID>()
        // Folder path → the last version of it checked by a commit whose whole tree was walked without an error.
        var reference: [String: OpaquePointer] = [:]
        defer { for tree in reference.values { git_tree_free(tree) } }
        let walker = try RevWalk(self)
        // A tip or ancestor that cannot be read is reported, not thrown: that is what this check is for.
        for tip in tips {
            do { try walker.push(tip) } catch { broken.append("commit \(tip): \(error)") }
        }
        try withObjectDatabase { odb in
            while true {
                let next: OID?
                do { next = try walker.next() } catch { broken.append("history: \(error)"); break }
                guard let commitID = next, checked < limit else { break }
                checked += 1
                if checked % 64 == 0 { progress?(checked) }
                // The trees this commit read, kept as references once all of them were walked.
                var read: [(path: String, tree: OpaquePointer)] = []
                do {
                    let commit = try self.commit(commitID)
                    var stack = [(id: commit.tree, path: "")]
                    while let (treeID, path) = stack.popLast() {
                        guard seenTrees.insert(treeID).inserted else { continue }
                        var raw = treeID.raw
                        var loaded: OpaquePointer? = nil
                        try check(git_tree_lookup(&loaded, pointer, &raw), "git_tree_lookup")
                        guard let tree = loaded else { throw GitError(code: GIT_ENOTFOUND.rawValue, message: "tree \(treeID) not found", function: "git_tree_lookup") }
                        read.append((path, tree))
                        let old = reference[path]
                        let oldCount = old.map { git_tree_entrycount($0) } ?? 0
                        var j = 0
                        for i in 0..<git_tree_entrycount(tree) {
                            guard let e = git_tree_entry_byindex(tree, i), let id = git_tree_entry_id(e) else { continue }
                            let mode = git_tree_entry_filemode(e)
                            if let old, let name = git_tree_entry_name(e) {
                                // Entries are in name order in both versions: find this name in the old one.
                                var order: Int32 = 1
                                while j < oldCount, let o = git_tree_entry_byindex(old, j), let oldName = git_tree_entry_name(o) {
                                    order = strcmp(oldName, name)
                                    if order >= 0 { break }
                                    j += 1
                                }
                                if order == 0, let o = git_tree_entry_byindex(old, j), git_tree_entry_filemode(o) == mode,
                                   let oldID = git_tree_entry_id(o), git_oid_equal(oldID, id) != 0 {
                                    continue
                                }
                            }
                            switch mode.rawValue {
                            case 0o040000:
                                let name = git_tree_entry_name(e).map { String(cString: $0) } ?? "?"
                                stack.append((OID(id.pointee), path.isEmpty ? name : path + "/" + name))
                            case 0o160000: break
                            default:
                                let oid = OID(id.pointee)
                                var rawBlob = id.pointee
                                if seenBlobs.insert(oid).inserted, git_odb_exists(odb, &rawBlob) != 1 {
                                    let name = git_tree_entry_name(e).map { String(cString: $0) } ?? "?"
                                    broken.append("blob \(oid) (\(name)) is missing")
                                }
                            }
                        }
                    }
                } catch {
                    broken.append("commit \(commitID): \(error)")
                    for r in read { git_tree_free(r.tree) }
                    continue
                }
                for r in read {
                    if let old = reference.updateValue(r.tree, forKey: r.path) { git_tree_free(old) }
                }
            }
        }
        return (checked, broken)
    }
}
