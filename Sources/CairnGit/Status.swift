import CGit2
import Foundation

/// How a path differs between `HEAD`, the index and the working tree, collapsed to what an operator cares about.
public enum ChangeKind: String, Sendable, Hashable, Codable {
    case added, modified, deleted, renamed, typechange, untracked, conflicted
}

/// One changed path from `git status`, as a plain value.
public struct StatusEntry: Hashable, Sendable, CustomStringConvertible {
    /// The current path (the new path of a rename).
    public let path: String
    /// The old path of a rename.
    public let oldPath: String?
    /// The change as the working tree shows it relative to `HEAD`.
    public let kind: ChangeKind
    /// True when some of the change is staged in the index.
    public let staged: Bool
    /// True when some of the change exists only in the working tree.
    public let unstaged: Bool

    public init(path: String, oldPath: String? = nil, kind: ChangeKind, staged: Bool = false, unstaged: Bool = true) {
        self.path = path
        self.oldPath = oldPath
        self.kind = kind
        self.staged = staged
        self.unstaged = unstaged
    }

    public var description: String {
        if let oldPath { return "\(kind.rawValue): \(oldPath) -> \(path)" }
        return "\(kind.rawValue): \(path)"
    }
}

/// Options for `Repository.status`.
public struct StatusOptions: Sendable {
    public var includeUntracked = true
    public var includeIgnored = false
    public var detectRenames = true
    /// Compare only the index with the working tree (skip HEAD↔index): correct when the caller knows the
    /// index matches HEAD, and about a third faster on large repositories.
    public var workdirOnly = false
    /// Limit to these pathspecs (empty: everything).
    public var paths: [String] = []
    public init() {}
}

extension Repository {
    /// The working tree's changes against `HEAD` (through the index), respecting `.gitignore`.
    ///
    /// Untracked folders are listed file by file. Reads the index from disk each call.
    public func status(_ options: StatusOptions = StatusOptions()) throws -> [StatusEntry] {
        var opts = git_status_options()
        try check(cairn_git_status_options_init(&opts), "git_status_options_init")
        opts.show = options.workdirOnly ? GIT_STATUS_SHOW_WORKDIR_ONLY : GIT_STATUS_SHOW_INDEX_AND_WORKDIR
        var flags = GIT_STATUS_OPT_EXCLUDE_SUBMODULES.rawValue
        if options.includeUntracked { flags |= GIT_STATUS_OPT_INCLUDE_UNTRACKED.rawValue | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS.rawValue }
        if options.includeIgnored { flags |= GIT_STATUS_OPT_INCLUDE_IGNORED.rawValue }
        if options.detectRenames {
            flags |= GIT_STATUS_OPT_RENAMES_HEAD_TO_INDEX.rawValue | GIT_STATUS_OPT_RENAMES_INDEX_TO_WORKDIR.rawValue
        }
        if !options.paths.isEmpty { flags |= GIT_STATUS_OPT_DISABLE_PATHSPEC_MATCH.rawValue }
        opts.flags = flags
        return try withStrArray(options.paths) { spec in
            opts.pathspec = spec
            var list: OpaquePointer? = nil
            try check(git_status_list_new(&list, pointer, &opts), "git_status_list_new")
            defer { git_status_list_free(list) }
            let count = git_status_list_entrycount(list)
            var out: [StatusEntry] = []
            out.reserveCapacity(count)
            for i in 0..<count {
                guard let e = git_status_byindex(list, i) else { continue }
                if let entry = StatusEntry(e.pointee) { out.append(entry) }
            }
            return out
        }
    }
}

extension StatusEntry {
    init?(_ e: git_status_entry) {
        let s = e.status.rawValue
        func has(_ f: git_status_t) -> Bool { s & f.rawValue != 0 }
        let indexMask = GIT_STATUS_INDEX_NEW.rawValue | GIT_STATUS_INDEX_MODIFIED.rawValue | GIT_STATUS_INDEX_DELETED.rawValue
            | GIT_STATUS_INDEX_RENAMED.rawValue | GIT_STATUS_INDEX_TYPECHANGE.rawValue
        let wtMask = GIT_STATUS_WT_NEW.rawValue | GIT_STATUS_WT_MODIFIED.rawValue | GIT_STATUS_WT_DELETED.rawValue
            | GIT_STATUS_WT_RENAMED.rawValue | GIT_STATUS_WT_TYPECHANGE.rawValue
        staged = s & indexMask != 0
        unstaged = s & wtMask != 0
        let h2i = e.head_to_index?.pointee
        let i2w = e.index_to_workdir?.pointee
        let oldFile = h2i?.old_file ?? i2w?.old_file
        let newFile = i2w?.new_file ?? h2i?.new_file
        guard let newPathPtr = newFile?.path ?? oldFile?.path else { return nil }
        path = String(cString: newPathPtr)
        let old = oldFile?.path.map { String(cString: $0) }

        if has(GIT_STATUS_CONFLICTED) {
            kind = .conflicted
        } else if has(GIT_STATUS_IGNORED) {
            return nil
        } else if has(GIT_STATUS_INDEX_RENAMED) || has(GIT_STATUS_WT_RENAMED) {
            kind = .renamed
        } else if has(GIT_STATUS_INDEX_NEW) && has(GIT_STATUS_WT_DELETED) {
            return nil // added to the index, then deleted: nothing relative to HEAD
        } else if has(GIT_STATUS_INDEX_NEW) {
            kind = .added
        } else if has(GIT_STATUS_WT_NEW) {
            kind = .untracked
        } else if has(GIT_STATUS_INDEX_DELETED) || has(GIT_STATUS_WT_DELETED) {
            kind = .deleted
        } else if has(GIT_STATUS_INDEX_TYPECHANGE) || has(GIT_STATUS_WT_TYPECHANGE) {
            kind = .typechange
        } else {
            kind = .modified
        }
        oldPath = kind == .renamed && old != path ? old : nil
    }
}

/// Calls `body` with a `git_strarray` holding `strings` (NULL-free C strings), freed afterwards.
func withStrArray<T>(_ strings: [String], _ body: (git_strarray) throws -> T) rethrows -> T {
    let cStrings: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { cStrings.forEach { free($0) } }
    var mutable = cStrings
    return try mutable.withUnsafeMutableBufferPointer { buf in
        try body(git_strarray(strings: buf.baseAddress, count: strings.count))
    }
}
