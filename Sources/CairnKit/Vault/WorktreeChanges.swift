import CairnGit
import Foundation
import GRDB

/// Finds the operator's edits: which paths of the working tree differ from a commit's tree. The one way
/// cairn sees edits — `status`, `snapshot` (and so the snapshot before an agent run or an approval) and
/// the search index all ask it — from a stat cache in `.git/cairn/worktree.sqlite`, fed by the watcher's
/// change list when one runs (`cairn watch`), without git's index or status.
///
/// For every folder of the working tree the cache holds the folder's own stat and, for each file in it,
/// the stat it had (inode, size, mtime and ctime in nanoseconds, mode) and the blob id of the bytes read
/// *after* that stat. A check stats every cached file (`fstatat` relative to its folder, both cores) and
/// re-reads and hashes only those whose stat differs. With a watcher, only the folders and files it
/// reported since the last check are looked at; without an answer within `WatchClient.syncTimeout`,
/// everything is.
///
/// Why an edit cannot be missed:
/// - Any write, truncate or rename onto a file sets its ctime to the current time, and no call lets a
///   program set ctime back (`touch -d`, `utimensat` set mtime and atime only, and they too set ctime
///   to now). So an edit in place, even one that keeps the size and restores the mtime, changes ctime;
///   an editor that writes a new file and renames it over the old one changes the inode as well.
/// - The one gap is a write within the file system's timestamp granularity of the moment the file was
///   hashed (the "racy" case git has too): ctime could then equal the cached one. As git does, an entry
///   whose mtime or ctime is not older than the time it was hashed (by `racyMargin`) is marked racy and
///   is re-hashed on every check until a later hash finds it older than that.
/// - New, deleted and renamed files change their folder's mtime and ctime: only then is the folder
///   listed again (with the same racy rule for folders). Folders holding files changed by a commit are
///   listed again as well, since whether an untracked name is ignored depends on what is tracked, and
///   every folder is listed again when a `.gitignore` or `.git/info/exclude` changed.
/// Untracked files that `.gitignore` ignores are left out, as `git status` leaves them out; untracked
/// folders are entered; nested repositories, `.git` and files other than regular ones and symbolic
/// links are not. Contents are hashed as they are (no clean filters or line-ending conversion).
///
/// The cache also keeps the answer of the last check — the paths that differed from which tree — so a
/// check costs what changed on disk plus a diff of the tree against the last one, not a walk of the tree.
struct WorktreeChanges {
    /// Entries changed this close to the time they were hashed (or listed) are checked again next time:
    /// more than the coarsest common timestamp granularity (2 s on FAT, 1 s on ext3 and HFS+).
    static let defaultRacyMargin: Int64 = 3_000_000_000

    /// A file's stat as far as change detection goes.
    struct Stat: Equatable, Sendable {
        var ino: UInt64
        var size: Int64
        var mtime: Int64
        var ctime: Int64
        var mode: UInt32

        init(_ st: stat) {
            ino = UInt64(st.st_ino)
            size = Int64(st.st_size)
            mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
            ctime = Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec)
            mode = UInt32(st.st_mode)
        }

        init(ino: UInt64, size: Int64, mtime: Int64, ctime: Int64, mode: UInt32) {
            self.ino = ino; self.size = size; self.mtime = mtime; self.ctime = ctime; self.mode = mode
        }

        var isRegular: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFREG) }
        var isSymlink: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFLNK) }
        /// The mode git records for a file with this stat: a link, an executable or a plain file.
        var gitMode: UInt32 { isSymlink ? 0o120000 : (mode & 0o100 != 0 ? 0o100755 : 0o100644) }
        func isRacy(at now: Int64, margin: Int64) -> Bool { mtime >= now - margin || ctime >= now - margin }
    }

    /// A cached file: its stat, whether that stat was racy when hashed, and its blob id (nil: not a regular file).
    struct FileEntry: Sendable {
        var name: String
        var stat: Stat
        var racy: Bool
        var oid: BlobID?

        /// What git would record for the file (nil: not a regular file or link).
        var disk: DiskFile? { oid.map { DiskFile(oid: $0, mode: stat.gitMode) } }
        /// A file just listed, never statted: its entry must be checked.
        static func placeholder(_ name: String) -> FileEntry {
            FileEntry(name: name, stat: Stat(ino: 0, size: -1, mtime: 0, ctime: 0, mode: 0), racy: true, oid: nil)
        }
        var isPlaceholder: Bool { stat.ino == 0 && stat.size == -1 }
    }

    /// A cached folder: its stat, the indexable files and subfolders listed, and the `.gitignore` stat.
    struct DirEntry: Sendable {
        var stat: Stat
        var racy: Bool
        /// The files, when decoded (`raw` is nil); a folder read from the cache keeps its stored bytes
        /// instead, checked without decoding them (see `checkFiles`).
        var files: [FileEntry]
        var dirs: [String]
        var ignoreFile: Stat?
        var raw: RawFiles? = nil

        /// The files, decoding the stored bytes if need be.
        var allFiles: [FileEntry] { raw.map(WorktreeChanges.decodeFiles) ?? files }
    }

    /// The stored file records of a folder: `count` records from byte `offset` of `data`.
    struct RawFiles: Sendable {
        let data: Data
        let offset: Int
        let count: Int
    }

    /// What a check found: paths whose working-tree content may differ from last time, with the blob id
    /// now on disk (nil: absent or not a regular file).
    struct Result {
        var candidates: [PathKey: DiskFile?] = [:]
        /// Every listed folder after the check (files sorted by name), to look up paths that are not candidates.
        var folders: [String: DirEntry] = [:]
        /// True when no cache was there: every file on disk is a candidate, and files not on disk are unknown.
        var fromScratch = false
        /// True when only the folders of reported changes were looked at (`runFocused`): `folders` then
        /// lacks the others, which are read from the cache.
        var focused = false
        var dirsRead = 0
        var filesHashed = 0
        var filesStatted = 0
    }

    let root: String
    let gitDir: String
    let repository: Repository
    let tree: OID?
    var racyMargin: Int64 = WorktreeChanges.defaultRacyMargin

    /// The blob id of the file at `path` after a check (nil: absent or not a regular file).
    /// A folder the check did not look at is read from the cache in `db`.
    static func disk(at path: String, in result: Result, db: Database) throws -> DiskFile? {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard let files = try (result.folders[dir] ?? (result.focused ? loadFolder(db, dir) : nil))?.allFiles else { return nil }
        var lo = 0, hi = files.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if precedes(files[mid].name, name) { lo = mid + 1 } else { hi = mid }
        }
        return lo < files.count && files[lo].name == name ? files[lo].disk : nil
    }

    // MARK: - Scanning

    /// Scans the working tree against the cache in `db`, writes the new cache, and returns the changes.
    /// `committed`: the files `main` changed since the last check; a folder is listed again when one of
    /// them appears in it that the cache does not list (it may have been an ignored untracked file, now
    /// tracked) or leaves `main` while listed (it may now be ignored), or when it is not cached at all.
    func run(_ db: Database, committed: [TreeDiff.Change], relistEverything: Bool = false) throws -> Result {
        var cache = try Self.load(db)
        var relist = Set<String>()
        var listedNames: [String: Set<String>] = [:]
        for change in committed {
            let slash = change.path.lastIndex(of: "/")
            var dir = slash.map { String(change.path[..<$0]) } ?? ""
            let name = slash.map { String(change.path[change.path.index(after: $0)...]) } ?? change.path
            guard cache[dir] != nil else {
                // A folder the cache does not know: list the nearest known ancestor again.
                while cache[dir] == nil, let up = dir.lastIndex(of: "/") { dir = String(dir[..<up]) }
                if cache[dir] == nil { dir = "" }
                relist.insert(dir)
                continue
            }
            if listedNames[dir] == nil { listedNames[dir] = Set(cache[dir]!.allFiles.map(\.name)) }
            let known = listedNames[dir]!.contains(name)
            if (change.new != nil && !known) || (change.new == nil && known) { relist.insert(dir) }
        }
        var result = Result()
        result.fromScratch = cache.isEmpty
        // Starting from nothing (the first check after `cairn init` or `cairn clone`, or after `.git/cairn/` was
        // deleted): git's index says what most files hold, as `git status` trusts it.
        let hints = cache.isEmpty ? Self.indexHints(gitDir: gitDir, repository: repository) : [:]
        let ignoreKey = Self.ignoreKey(gitDir: gitDir)
        let storedIgnoreKey = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'worktree_ignore'")
        let relistAll = relistEverything || cache.isEmpty || storedIgnoreKey != ignoreKey
        if storedIgnoreKey != ignoreKey {
            try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES ('worktree_ignore', ?)", arguments: [ignoreKey])
        }

        // Folders first (sequential: listing may ask libgit2 about ignore rules), then files (parallel).
        var listed: [(dir: String, entry: DirEntry, old: DirEntry?, relisted: Bool)] = []
        var seen = Set<String>()
        var ignoreChanged = false
        func visit(_ dir: String) throws {
            seen.insert(dir)
            let old = cache[dir]
            let full = dir.isEmpty ? root : root + "/" + dir
            var st = stat()
            guard lstat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { return }
            let dirStat = Stat(st)
            let now = Self.now()
            var entry: DirEntry
            var relisted = false
            if let old, !relistAll, !old.racy, old.stat == dirStat, !relist.contains(dir) {
                entry = old
            } else {
                entry = try list(dir, full: full, stat: dirStat, now: now, old: old)
                relisted = true
                result.dirsRead += 1
            }
            if Self.refreshIgnoreFile(&entry, full: full) {
                if old != nil { ignoreChanged = true }
                relisted = true
            }
            listed.append((dir, entry, old, relisted))
            for sub in entry.dirs { try visit(dir.isEmpty ? sub : dir + "/" + sub) }
        }
        try visit("")
        if ignoreChanged && !relistAll {
            // A .gitignore changed: list every folder again with the new rules.
            return try run(db, committed: committed, relistEverything: true)
        }

        try checkAndStore(db, listed.map { Visited(dir: $0.dir, entry: $0.entry, old: $0.old, relisted: $0.relisted, only: nil,
                                                   hints: hints[$0.dir]) },
                          into: &result)
        // Folders that are gone: every file they held is gone.
        for (dir, entry) in cache where !seen.contains(dir) {
            let prefix = dir.isEmpty ? "" : dir + "/"
            for f in entry.allFiles { result.candidates[PathKey(prefix + f.name)] = .some(nil) }
            try db.execute(sql: "DELETE FROM worktree_dirs WHERE dir = ?", arguments: [dir])
        }
        cache.removeAll()
        return result
    }

    /// A folder looked at by a check: its entry after listing (or the cached one), the cached one, whether
    /// it was listed again, and which files to stat (nil: all).
    struct Visited {
        var dir: String
        var entry: DirEntry
        var old: DirEntry?
        var relisted: Bool
        var only: Set<String>?
        /// git's index entries of the folder's files, by name (only when the cache knew nothing).
        var hints: [String: IndexStatEntry]? = nil
    }

    /// Stats the files of the visited folders against their cached entries (both cores), hashes the
    /// ones that differ or were racy, records what changed in `result` and writes the changed folders.
    private func checkAndStore(_ db: Database, _ visited: [Visited], into result: inout Result) throws {
        let scanRoot = self.root
        let margin = racyMargin
        let checked = parallelResults(count: visited.count, workers: min(2, max(1, visited.count))) { i in
            Self.checkFiles(root: scanRoot, dir: visited[i].dir, entry: visited[i].entry, margin: margin, only: visited[i].only,
                            hints: visited[i].hints)
        }
        for (i, item) in visited.enumerated() {
            guard let check = checked[i] else { continue }
            result.filesHashed += check.hashed
            result.filesStatted += check.statted
            var entry = item.entry
            if let files = check.files {
                entry.files = files
                entry.raw = nil
            }
            let prefix = item.dir.isEmpty ? "" : item.dir + "/"
            for (name, oid) in check.changes { result.candidates[PathKey(prefix + name)] = .some(oid) }
            if item.relisted, let old = item.old {
                let names = Set(entry.allFiles.map(\.name))
                for f in old.allFiles where !names.contains(f.name) { result.candidates[PathKey(prefix + f.name)] = .some(nil) }
            }
            result.folders[item.dir] = entry
            if item.old == nil || item.relisted || check.modified {
                try db.cachedStatement(sql: "INSERT OR REPLACE INTO worktree_dirs(dir, state) VALUES (?, ?)")
                    .execute(arguments: [item.dir, Self.encode(entry)])
            }
        }
    }

    /// Like `run`, but looks only at the folders of `changed` (paths the change feed reported since the
    /// last check: files or folders, possibly gone) and those commits' changes call for; every other
    /// folder is known unchanged. Falls back to `run` when the ignore files outside the tree changed or
    /// the cache lacks the root.
    func runFocused(_ db: Database, committed: [TreeDiff.Change], changed: [String]) throws -> Result {
        let ignoreKey = Self.ignoreKey(gitDir: gitDir)
        guard try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'worktree_ignore'") == ignoreKey,
              try Self.loadFolder(db, "") != nil else {
            return try run(db, committed: committed)
        }
        var cache: [String: DirEntry?] = [:]
        func cached(_ dir: String) throws -> DirEntry? {
            if let hit = cache[dir] { return hit }
            var entry = try Self.loadFolder(db, dir)
            if let raw = entry?.raw { entry!.files = Self.decodeFiles(raw); entry!.raw = nil }
            cache[dir] = .some(entry)
            return entry
        }
        func knownAncestor(_ dir: String) throws -> String {
            var d = dir
            while try cached(d) == nil, !d.isEmpty { d = d.lastIndex(of: "/").map { String(d[..<$0]) } ?? "" }
            return d
        }

        // What to look at: folders holding reported paths (only those files), reported folders the cache
        // knows (all of them, recursively), and the folders commits' changes call for (see `run`).
        var relist = Set<String>()
        var named: [String: Set<String>] = [:]
        var targets: [String: Bool] = [:]  // folder → recursively
        for change in committed {
            let (dir, name) = Self.split(change.path)
            guard let entry = try cached(dir) else { relist.insert(try knownAncestor(dir)); continue }
            let known = entry.files.contains { $0.name == name }
            if (change.new != nil && !known) || (change.new == nil && known) { relist.insert(dir) }
        }
        for path in changed {
            let (dir, name) = Self.split(path)
            named[dir, default: []].insert(name)
            if try cached(path) != nil { targets[path] = true }
        }
        for dir in relist.union(named.keys) where targets[dir] == nil {
            if try cached(dir) != nil {
                targets[dir] = false
            } else {
                // Unknown to the cache (new, ignored or inside a nested repository): the nearest known
                // folder's listing decides whether it is looked at.
                let up = try knownAncestor(dir)
                relist.insert(up)
                if targets[up] == nil { targets[up] = false }
            }
        }

        var result = Result()
        result.focused = true
        var visited: [Visited] = []
        var seen = Set<String>()
        var removed = Set<String>()
        var ignoreChanged = false
        func removeSubtree(_ dir: String) throws {
            guard !dir.isEmpty else { return }
            let rows = try Row.fetchAll(db, sql: "SELECT dir, state FROM worktree_dirs WHERE dir = ? OR (dir >= ? AND dir < ?)",
                                        arguments: [dir, dir + "/", dir + "0"])
            for row in rows {
                let path: String = row["dir"]
                seen.insert(path)
                removed.insert(path)
                guard let entry = Self.decode(row["state"]) else { continue }
                for f in entry.allFiles { result.candidates[PathKey(path + "/" + f.name)] = .some(nil) }
            }
            try db.execute(sql: "DELETE FROM worktree_dirs WHERE dir = ? OR (dir >= ? AND dir < ?)", arguments: [dir, dir + "/", dir + "0"])
        }
        func visit(_ dir: String, recursively: Bool) throws {
            guard seen.insert(dir).inserted else { return }
            let old = try cached(dir)
            let full = dir.isEmpty ? root : root + "/" + dir
            var st = stat()
            guard lstat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                try removeSubtree(dir)
                return
            }
            let dirStat = Stat(st)
            var relisted = old == nil || old!.stat != dirStat || relist.contains(dir) || (recursively && old!.racy)
            if !relisted, let old, let names = named[dir] {
                // A name the listing lacks: created within the folder's timestamp granularity of the listing.
                let listedNames = Set(old.files.map(\.name)).union(old.dirs)
                relisted = names.contains { !listedNames.contains($0) }
            }
            var entry: DirEntry
            if let old, !relisted {
                entry = old
            } else {
                entry = try list(dir, full: full, stat: dirStat, now: Self.now(), old: old)
                result.dirsRead += 1
            }
            if Self.refreshIgnoreFile(&entry, full: full) {
                if old != nil { ignoreChanged = true }
                relisted = true
            }
            visited.append(Visited(dir: dir, entry: entry, old: old, relisted: relisted,
                                   only: recursively || old == nil ? nil : named[dir] ?? []))
            let oldDirs = Set(old?.dirs ?? [])
            for sub in entry.dirs where recursively || !oldDirs.contains(sub) {
                try visit(dir.isEmpty ? sub : dir + "/" + sub, recursively: true)
            }
            for sub in oldDirs where !entry.dirs.contains(sub) { try removeSubtree(dir.isEmpty ? sub : dir + "/" + sub) }
        }
        // Recursive visits first, so a folder inside one is not looked at twice.
        for (dir, recursively) in targets.sorted(by: { ($0.value ? 0 : 1, $0.key) < ($1.value ? 0 : 1, $1.key) }) {
            try visit(dir, recursively: recursively)
        }
        if ignoreChanged {
            return try run(db, committed: committed, relistEverything: true)
        }
        try checkAndStore(db, visited.filter { !removed.contains($0.dir) }, into: &result)
        return result
    }

    /// Records the stat of the folder's `.gitignore` in `entry`; true when it changed.
    static func refreshIgnoreFile(_ entry: inout DirEntry, full: String) -> Bool {
        var st = stat()
        let ignoreStat = lstat(full + "/.gitignore", &st) == 0 ? Stat(st) : nil
        guard ignoreStat != entry.ignoreFile else { return false }
        entry.ignoreFile = ignoreStat
        return true
    }

    static func split(_ path: String) -> (dir: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    /// One folder's cache entry (nil when not cached or unreadable).
    static func loadFolder(_ db: Database, _ dir: String) throws -> DirEntry? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT state FROM worktree_dirs WHERE dir = ?"), arguments: [dir]).flatMap(decode)
    }

    /// Lists a folder: its indexable files and subfolders, leaving out untracked names `.gitignore` ignores.
    private func list(_ dir: String, full: String, stat dirStat: Stat, now: Int64, old: DirEntry?) throws -> DirEntry {
        guard let handle = opendir(full) else {
            return DirEntry(stat: dirStat, racy: true, files: [], dirs: [], ignoreFile: nil)
        }
        defer { closedir(handle) }
        var tracked: Set<String>? = nil
        func isTracked(_ name: String) throws -> Bool {
            if tracked == nil {
                var names = Set<String>()
                if let tree {
                    let folder: OID? = dir.isEmpty ? tree : try repository.entry(at: dir, in: tree).flatMap { $0.kind == .tree ? $0.oid : nil }
                    if let folder { names = Set(try repository.tree(folder).entries.map(\.name)) }
                }
                tracked = names
            }
            return tracked!.contains(name)
        }
        let prefix = dir.isEmpty ? "" : dir + "/"
        var files: [FileEntry] = []
        var dirs: [String] = []
        var oldFiles: [String: FileEntry] = [:]
        for f in old?.allFiles ?? [] { oldFiles[f.name] = f }
        while let e = readdir(handle) {
            let name = withUnsafePointer(to: &e.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            // `.git` in any case: git never tracks what is under such a folder (nor does libgit2 add it).
            if name == "." || name == ".." || name.lowercased() == ".git" { continue }
            var type = e.pointee.d_type
            if type == UInt8(DT_UNKNOWN) {
                var st = stat()
                guard lstat(full + "/" + name, &st) == 0 else { continue }
                type = (st.st_mode & S_IFMT) == S_IFDIR ? UInt8(DT_DIR) : UInt8(DT_REG)
            }
            if type == UInt8(DT_DIR) {
                if access(full + "/" + name + "/.git", F_OK) == 0 { continue }  // a nested repository
                if try !isTracked(name), try repository.isIgnored(prefix + name + "/") { continue }
                dirs.append(name)
            } else if type == UInt8(DT_REG) || type == UInt8(DT_LNK) {
                if try !isTracked(name), try repository.isIgnored(prefix + name) { continue }
                // Keep what is known about the file; its stat is checked next.
                files.append(oldFiles[name] ?? .placeholder(name))
            }
        }
        files.sort { Self.precedes($0.name, $1.name) }
        dirs.sort()
        return DirEntry(stat: dirStat, racy: dirStat.isRacy(at: now, margin: racyMargin), files: files, dirs: dirs, ignoreFile: old?.ignoreFile)
    }

    /// What checking one folder's files found.
    struct Checked: Sendable {
        /// The folder's files now (those gone are dropped); nil when nothing changed.
        var files: [FileEntry]?
        /// Files whose blob id changed (nil: gone or no longer a regular file), new files included.
        var changes: [(String, DiskFile?)]
        var hashed: Int
        /// True when any entry changed (the cached folder must be written).
        var modified: Bool
        /// Files statted.
        var statted: Int
    }

    /// Stats the folder's files; re-hashes those whose stat differs from the cache or was racy.
    /// With `only`, just the files named there and files new to the cache are looked at (the others are
    /// known unchanged from the change feed).
    static func checkFiles(root: String, dir: String, entry: DirEntry, margin: Int64, only: Set<String>? = nil,
                           hints: [String: IndexStatEntry]? = nil) -> Checked {
        let full = dir.isEmpty ? root : root + "/" + dir
        var changes: [(String, DiskFile?)] = []
        let fd = open(full, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else {
            return Checked(files: [], changes: entry.allFiles.map { ($0.name, nil) }, hashed: 0, modified: true, statted: 0)
        }
        defer { close(fd) }
        // The common case, without decoding: every stored stat still matches and none was racy.
        if only == nil, let raw = entry.raw, unchanged(fd, raw) {
            return Checked(files: nil, changes: [], hashed: 0, modified: false, statted: raw.count)
        }
        var files = entry.allFiles
        var dropped: [Int] = []
        var hashed = 0
        var statted = 0
        var modified = false
        for i in files.indices {
            if let only, !only.contains(files[i].name), !files[i].isPlaceholder { continue }
            statted += 1
            var st = stat()
            guard fstatat(fd, files[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                if files[i].name.unicodeScalars.contains("\u{FFFD}") {
                    // A name that is not valid UTF-8, listed in its repaired form, which cannot be opened:
                    // kept as a file of unknown content, so status names it and snapshot refuses it.
                    if files[i].oid != unreadableName {
                        files[i].oid = unreadableName
                        files[i].stat = Stat(ino: 0, size: -2, mtime: 0, ctime: 0, mode: UInt32(S_IFREG) | 0o644)
                        files[i].racy = false
                        modified = true
                        changes.append((files[i].name, files[i].disk))
                    }
                    continue
                }
                dropped.append(i)
                changes.append((files[i].name, nil))
                continue
            }
            let current = Stat(st)
            if current == files[i].stat && !files[i].racy { continue }
            modified = true
            let before = files[i].disk
            if current.isSymlink {
                let now = now()
                files[i].stat = current
                files[i].racy = current.isRacy(at: now, margin: margin)
                files[i].oid = linkTarget(fd, files[i].name).flatMap { try? Repository.hashBlob($0) }.map { BlobID($0.bytes) }
                hashed += 1
            } else if !current.isRegular {
                files[i].stat = current
                files[i].racy = false
                files[i].oid = nil
            } else if files[i].isPlaceholder, let hint = hints?[files[i].name], hint.describes(current),
                      !current.isRacy(at: now(), margin: margin) {
                // Unchanged since git recorded it (and not racily so): the blob id git recorded, unread.
                files[i].stat = current
                files[i].racy = false
                files[i].oid = BlobID(hint.oid.bytes)
            } else {
                let now = now()
                guard let (readStat, oid) = hash(fd, files[i].name) else {
                    dropped.append(i)
                    changes.append((files[i].name, nil))
                    continue
                }
                hashed += 1
                files[i].stat = readStat
                files[i].racy = readStat.isRacy(at: now, margin: margin)
                files[i].oid = oid
            }
            if files[i].disk != before { changes.append((files[i].name, files[i].disk)) }
        }
        if !dropped.isEmpty {
            modified = true
            for i in dropped.reversed() { files.remove(at: i) }
        }
        return Checked(files: files, changes: changes, hashed: hashed, modified: modified, statted: statted)
    }

    /// git's index (`.git/index`) as hints by folder and name, for a check that starts from nothing. An entry is
    /// left out when git could not have been sure of it: changed no earlier than the index file was written (git's
    /// "racily clean" rule; git and libgit2 shrink such an entry's size to 0 so it never matches), a conflict
    /// stage, a link or a submodule. Empty when there is no readable index.
    static func indexHints(gitDir: String, repository: Repository) -> [String: [String: IndexStatEntry]] {
        let path = gitDir + "index"
        var st = stat()
        guard lstat(path, &st) == 0, let index = try? Index.open(path: path, repository: repository) else { return [:] }
        let written = Stat(st).mtime
        var hints: [String: [String: IndexStatEntry]] = [:]
        for e in index.statEntries where e.mode == 0o100644 || e.mode == 0o100755 {
            guard e.mtime < written, e.ctime < written else { continue }
            let (dir, name) = split(e.path)
            hints[dir, default: [:]][name] = e
        }
        return hints
    }

    /// Opens, stats and reads a file, and returns that stat with the blob id of the bytes read.
    static func hash(_ dirfd: Int32, _ name: String) -> (Stat, BlobID?)? {
        guard let (stat, data) = readFile(dirfd, name) else { return nil }
        guard let data else { return (stat, nil) }
        return (stat, (try? Repository.hashBlob(data)).map { BlobID($0.bytes) })
    }

    /// The bytes of the regular file at `path` (not followed if it is a symlink), with the stat taken as it
    /// was opened; nil when it cannot be opened or read, or is not a regular file.
    static func readFile(_ path: String) -> (Stat, Data)? {
        guard let (stat, data) = readFile(AT_FDCWD, path), let data else { return nil }
        return (stat, data)
    }

    /// Opens, stats and reads `name` in the folder `dirfd`; the data is nil for anything but a regular file.
    private static func readFile(_ dirfd: Int32, _ name: String) -> (Stat, Data?)? {
        let fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        let stat = Stat(st)
        guard stat.isRegular else { return (stat, nil) }
        var data = Data(count: Int(max(0, st.st_size)))
        var filled = 0
        let ok = data.withUnsafeMutableBytes { buf -> Bool in
            while filled < buf.count {
                let n = read(fd, buf.baseAddress! + filled, buf.count - filled)
                if n < 0 { if errno == EINTR { continue }; return false }
                if n == 0 { break }
                filled += n
            }
            return true
        }
        guard ok else { return nil }
        if filled < data.count { data.count = filled }
        return (stat, data)
    }

    /// The stand-in blob id of a file whose name is not valid UTF-8 (see `checkFiles`).
    static let unreadableName = BlobID([UInt8](repeating: 0, count: 20))

    /// The target of the symbolic link `name` in the folder `dirfd` (the bytes git stores for a link).
    static func linkTarget(_ dirfd: Int32, _ name: String) -> Data? {
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = buffer.withUnsafeMutableBytes { readlinkat(dirfd, name, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count) }
        guard n >= 0, n < buffer.count else { return nil }
        return Data(buffer[0..<n])
    }

    /// The order of a folder's files in the cache: by UTF-8 bytes (cheaper than `String`'s `<`).
    static func precedes(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    static func now() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_REALTIME, &t)
        return Int64(t.tv_sec) * 1_000_000_000 + Int64(t.tv_nsec)
    }

    /// The stats of the ignore files outside the working tree's folders (`.git/info/exclude`, the config).
    static func ignoreKey(gitDir: String) -> String {
        ["info/exclude", "config"].map { name -> String in
            var st = stat()
            guard lstat(gitDir + name, &st) == 0 else { return "-" }
            let s = Stat(st)
            return "\(s.ino):\(s.size):\(s.mtime):\(s.ctime)"
        }.joined(separator: " ")
    }

    // MARK: - Storage

    static func load(_ db: Database) throws -> [String: DirEntry] {
        var out: [String: DirEntry] = [:]
        let rows = try Row.fetchCursor(db, sql: "SELECT dir, state FROM worktree_dirs")
        while let row = try rows.next() {
            let data: Data = row["state"]
            if let entry = decode(data) { out[row["dir"]] = entry }
        }
        return out
    }

    static func encode(_ e: DirEntry) -> Data {
        var w = [UInt8]()
        w.reserveCapacity(64 + (e.raw?.count ?? e.files.count) * 80)
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { w.append(contentsOf: $0) } }
        func stat(_ s: Stat) { u64(s.ino); u64(UInt64(bitPattern: s.size)); u64(UInt64(bitPattern: s.mtime)); u64(UInt64(bitPattern: s.ctime)); u64(UInt64(s.mode)) }
        func string(_ s: String) { let b = Array(s.utf8); u64(UInt64(b.count)); w.append(contentsOf: b) }
        w.append(2)  // format
        stat(e.stat)
        w.append(e.racy ? 1 : 0)
        if let i = e.ignoreFile { w.append(1); stat(i) } else { w.append(0) }
        u64(UInt64(e.dirs.count))
        for d in e.dirs { string(d) }
        u64(UInt64(e.allFiles.count))
        for f in e.allFiles {
            string(f.name)
            w.append(0)  // so the stored name can be passed to fstatat as it is
            stat(f.stat)
            w.append((f.racy ? 1 : 0) | (f.oid != nil ? 2 : 0))
            if let oid = f.oid { w.append(contentsOf: oid.bytes) }
        }
        return Data(w)
    }

    /// Decodes a folder's header (stat, subfolders); its file records stay raw until needed.
    static func decode(_ data: Data) -> DirEntry? {
        data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) -> DirEntry? in
            var p = 0
            func byte() -> UInt8? { guard p < buf.count else { return nil }; p += 1; return buf[p - 1] }
            func u64() -> UInt64? {
                guard p + 8 <= buf.count else { return nil }
                let v = buf.loadUnaligned(fromByteOffset: p, as: UInt64.self)
                p += 8
                return UInt64(littleEndian: v)
            }
            func stat() -> Stat? {
                guard let a = u64(), let b = u64(), let c = u64(), let d = u64(), let m = u64() else { return nil }
                return Stat(ino: a, size: Int64(bitPattern: b), mtime: Int64(bitPattern: c), ctime: Int64(bitPattern: d), mode: UInt32(truncatingIfNeeded: m))
            }
            func string() -> String? {
                guard let n = u64().map(Int.init), n >= 0, p + n <= buf.count else { return nil }
                defer { p += n }
                return String(decoding: UnsafeRawBufferPointer(rebasing: buf[p..<(p + n)]), as: UTF8.self)
            }
            guard byte() == 2, let dirStat = stat(), let racy = byte(), let hasIgnore = byte() else { return nil }
            let ignore = hasIgnore == 1 ? stat() : nil
            guard let dirCount = u64(), dirCount < 1 << 24 else { return nil }
            var dirs: [String] = []
            for _ in 0..<dirCount { guard let d = string() else { return nil }; dirs.append(d) }
            guard let fileCount = u64(), fileCount < 1 << 24 else { return nil }
            let raw = RawFiles(data: data, offset: p, count: Int(fileCount))
            guard validRecords(buf, raw) else { return nil }
            return DirEntry(stat: dirStat, racy: racy != 0, files: [], dirs: dirs, ignoreFile: ignore, raw: raw)
        }
    }

    /// Walks the file records: for each, the name (with its length, NUL-terminated), the stat fields,
    /// the flags and the blob id when present. Stops early when `body` returns false; false when a
    /// record is cut short.
    @discardableResult
    static func forEachRecord(_ buf: UnsafeRawBufferPointer, _ raw: RawFiles,
                              _ body: (UnsafeRawBufferPointer, Stat, UInt8, BlobID?) -> Bool) -> Bool {
        var p = raw.offset
        for _ in 0..<raw.count {
            guard p + 8 <= buf.count else { return false }
            let n = Int(UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: p, as: UInt64.self)))
            p += 8
            guard n >= 0, n < 1 << 20, p + n + 1 + 40 + 1 <= buf.count else { return false }
            let name = UnsafeRawBufferPointer(rebasing: buf[p..<(p + n + 1)])  // with the NUL
            p += n + 1
            func u64(_ at: Int) -> UInt64 { UInt64(littleEndian: buf.loadUnaligned(fromByteOffset: p + at, as: UInt64.self)) }
            let stat = Stat(ino: u64(0), size: Int64(bitPattern: u64(8)), mtime: Int64(bitPattern: u64(16)),
                            ctime: Int64(bitPattern: u64(24)), mode: UInt32(truncatingIfNeeded: u64(32)))
            p += 40
            let flags = buf[p]
            p += 1
            var oid: BlobID? = nil
            if flags & 2 != 0 {
                guard p + 20 <= buf.count else { return false }
                oid = BlobID(UnsafeRawBufferPointer(rebasing: buf[p..<(p + 20)]))
                p += 20
            }
            if !body(name, stat, flags, oid) { return true }
        }
        return true
    }

    static func validRecords(_ buf: UnsafeRawBufferPointer, _ raw: RawFiles) -> Bool {
        forEachRecord(buf, raw) { name, _, _, _ in name.last == 0 }
    }

    static func decodeFiles(_ raw: RawFiles) -> [FileEntry] {
        var files: [FileEntry] = []
        files.reserveCapacity(raw.count)
        raw.data.withUnsafeBytes { buf in
            forEachRecord(buf, raw) { name, stat, flags, oid in
                files.append(FileEntry(name: String(decoding: UnsafeRawBufferPointer(rebasing: name.dropLast()), as: UTF8.self),
                                       stat: stat, racy: flags & 1 != 0, oid: oid))
                return true
            }
        }
        return files
    }

    /// True when every stored file still has its stored stat and none was racy (no decoding, no allocation).
    static func unchanged(_ dirfd: Int32, _ raw: RawFiles) -> Bool {
        var same = true
        raw.data.withUnsafeBytes { buf in
            forEachRecord(buf, raw) { name, stored, flags, _ in
                var st = stat()
                let rc = fstatat(dirfd, name.baseAddress!.assumingMemoryBound(to: CChar.self), &st, AT_SYMLINK_NOFOLLOW)
                if rc != 0 || flags & 1 != 0 || Stat(st) != stored { same = false }
                return same
            }
        }
        return same
    }
}

/// A blob id as a plain 20-byte value (no allocation per cached file).
struct BlobID: Hashable, Sendable {
    let a: UInt64, b: UInt64, c: UInt32

    init<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        var x = [UInt8](bytes)
        if x.count < 20 { x += [UInt8](repeating: 0, count: 20 - x.count) }
        a = x.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt64.self) }
        b = x.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self) }
        c = x.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 16, as: UInt32.self) }
    }

    init(_ raw: UnsafeRawBufferPointer) {
        a = raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        b = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        c = raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
    }

    var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(20)
        withUnsafeBytes(of: a) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: b) { out.append(contentsOf: $0) }
        withUnsafeBytes(of: c) { out.append(contentsOf: $0) }
        return out
    }

    var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(40)
        for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A path compared byte for byte. Swift's `String` equality is canonical, so `café` written precomposed
/// and decomposed would be one key, while git and the file system keep them as two files.
struct PathKey: Hashable, Sendable {
    let path: String
    init(_ path: String) { self.path = path }
    static func == (a: PathKey, b: PathKey) -> Bool {
        var x = a.path, y = b.path
        return x.withUTF8 { xs in
            y.withUTF8 { ys in xs.count == ys.count && (xs.isEmpty || memcmp(xs.baseAddress!, ys.baseAddress!, xs.count) == 0) }
        }
    }
    // The bytes in one call (a byte at a time was a tenth of a first check of 100k files).
    func hash(into hasher: inout Hasher) {
        var p = path
        p.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// A file as git would record it from the working tree: its blob id and mode (0o100644, 0o100755 or
/// 0o120000 for a symbolic link).
public struct DiskFile: Hashable, Sendable {
    let oid: BlobID
    public let mode: UInt32

    public var blob: OID { OID(hex: oid.hex)! }
}

extension WorktreeChanges {
    /// What a check found.
    struct Report {
        /// Every path whose state on disk differs from the tree: what is on disk (nil: absent, or not a
        /// file git records).
        var edits: [PathKey: DiskFile?]
        /// True when the watcher's change list narrowed the check.
        var focused: Bool
        /// True when a watcher answered (with changes or asking for a full check).
        var watched = false
        var dirsRead = 0
        var filesHashed = 0
        var filesStatted = 0
        var candidates = 0
    }

    static func databasePath(gitDir: String) -> String { gitDir + "cairn/worktree.sqlite" }

    /// Checks the working tree of `vault` against `tree` (nil: no commit yet). The cache is read and
    /// written in one transaction; when it cannot be written (a read-only `.git`), the check runs
    /// against an empty cache in memory and is simply a full one.
    ///
    /// `scope`: when not empty, only these folders and files (vault-relative, no globs) need an answer: without a
    /// watcher, only they are statted (as if the watcher had reported them; see `runFocused`), and the report's
    /// edits outside them may be stale. The cache stays right: what was not looked at keeps its old stat.
    static func check(_ vault: Vault, against tree: OID?, useWatcher: Bool = true, scope: [String] = [],
                      racyMargin: Int64 = defaultRacyMargin) throws -> Report {
        let queue = openCache(gitDir: vault.gitDir)
        do {
            // IMMEDIATE: two commands checking at once take turns (the busy timeout waits) instead of
            // both reading and one failing to upgrade its lock.
            var report: Report? = nil
            try queue.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    report = try check(db, vault, against: tree, useWatcher: useWatcher, scope: scope, racyMargin: racyMargin)
                    return .commit
                }
            }
            if useWatcher && !report!.watched { WatchAutoStart.afterUnwatchedCheck(vault, filesStatted: report!.filesStatted) }
            return report!
        } catch let error as DatabaseError where error.resultCode != .SQLITE_BUSY {
            // An unreadable or unwritable cache: start again from nothing (derived data), in memory.
            try? FileManager.default.removeItem(atPath: databasePath(gitDir: vault.gitDir))
            let memory = try DatabaseQueue()
            try memory.write { try createSchema($0) }
            return try memory.write { db in try check(db, vault, against: tree, useWatcher: false, scope: [], racyMargin: racyMargin) }
        }
    }

    /// The cache database (created when missing); an in-memory one when the file cannot be opened.
    private static func openCache(gitDir: String) -> DatabaseQueue {
        let path = databasePath(gitDir: gitDir)
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        try? FileManager.default.createDirectory(atPath: gitDir + "cairn", withIntermediateDirectories: true)
        // A file that is not a database of ours (damaged, cut short) is derived data: removed and made again.
        for attempt in 0..<2 {
            do {
                let queue = try DatabaseQueue(path: path, configuration: config)
                let version = try queue.read { db -> Int in
                    try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                }
                if version != schemaVersion {
                    try queue.writeWithoutTransaction { db in
                        try db.execute(sql: "DROP TABLE IF EXISTS worktree_dirs; DROP TABLE IF EXISTS meta; DROP TABLE IF EXISTS edits")
                        try createSchema(db)
                    }
                }
                return queue
            } catch let error as DatabaseError where attempt == 0 && error.resultCode != .SQLITE_BUSY
                        && FileManager.default.fileExists(atPath: path) {
                try? FileManager.default.removeItem(atPath: path)
            } catch {
                break
            }
        }
        // Read-only `.git` (or a file that cannot be replaced): a cache in memory, so this check is a full one.
        let memory = try! DatabaseQueue()
        try? memory.write { try createSchema($0) }
        return memory
    }

    static let schemaVersion = 1

    private static func createSchema(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE IF NOT EXISTS worktree_dirs(dir TEXT PRIMARY KEY, state BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS edits(path TEXT PRIMARY KEY, oid BLOB, mode INTEGER NOT NULL);
            PRAGMA user_version = \(schemaVersion);
            """)
    }

    private static func check(_ db: Database, _ vault: Vault, against tree: OID?, useWatcher: Bool, scope: [String],
                              racyMargin: Int64) throws -> Report {
        let head = tree?.hex ?? ""
        let lastTree = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'tree'")
        var committed: [TreeDiff.Change] = []
        var full = lastTree == nil
        if let lastTree, lastTree != head {
            if lastTree.isEmpty || OID(hex: lastTree) != nil,
               let changes = try? TreeDiff.changes(vault.repository, from: OID(hex: lastTree), to: tree) {
                committed = changes
            } else {
                full = true
            }
        }
        if full { try db.execute(sql: "DELETE FROM worktree_dirs; DELETE FROM edits; DELETE FROM meta") }
        var scan = WorktreeChanges(root: vault.root, gitDir: vault.gitDir, repository: vault.repository, tree: tree)
        scan.racyMargin = racyMargin
        // The token is asked for before looking, so a change made while this check runs is reported next time.
        let storedToken = full ? nil : try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'watch_token'")
        let feed = useWatcher ? WatchClient.sync(gitDir: vault.gitDir, root: vault.root, since: storedToken) : nil
        let found: Result
        switch feed {
        case .changes(let token, let paths)?:
            found = try scan.runFocused(db, committed: committed, changed: paths)
            try setMeta(db, "watch_token", token)
        case .rescan(let token)?:
            found = try scan.run(db, committed: committed)
            try setMeta(db, "watch_token", token)
        case nil:
            // The stored token stays valid: the watcher that handed it out (if it still runs) recorded
            // every change since, and a watcher started later has another epoch.
            // With a scope, only its folders are looked at, the way reported paths are (`runFocused`).
            found = scope.isEmpty || scope.contains("") ? try scan.run(db, committed: committed)
                : try scan.runFocused(db, committed: committed, changed: scope)
        }

        var edits: [PathKey: DiskFile?] = [:]
        if found.fromScratch {
            // Nothing was known about the disk: every file on disk against every committed file.
            var committedFiles: [PathKey: DiskFile] = [:]
            if let tree {
                for file in try vault.repository.files(in: tree) where file.mode != 0o160000 {
                    committedFiles[PathKey(file.path)] = DiskFile(oid: BlobID(file.oid.bytes), mode: file.mode)
                }
            }
            for (dir, entry) in found.folders {
                let prefix = dir.isEmpty ? "" : dir + "/"
                for f in entry.allFiles {
                    let path = PathKey(prefix + f.name)
                    if committedFiles.removeValue(forKey: path) != f.disk { edits[path] = .some(f.disk) }
                }
            }
            for path in committedFiles.keys { edits[path] = .some(nil) }
            try db.execute(sql: "DELETE FROM edits")
            for (path, disk) in edits { try insertEdit(db, path.path, disk) }
        } else {
            // What may have changed: the paths edited before, those whose disk state changed, and those
            // the commits since the last check changed.
            let rows = try Row.fetchAll(db, sql: "SELECT path, oid, mode FROM edits")
            for row in rows {
                let oid: Data? = row["oid"]
                edits[PathKey(row["path"])] = .some(oid.map { DiskFile(oid: BlobID($0), mode: UInt32(row["mode"] as Int64)) })
            }
            var paths = Set(edits.keys)
            for path in found.candidates.keys { paths.insert(path) }
            for change in committed { paths.insert(PathKey(change.path)) }
            var committedFiles: [PathKey: DiskFile]? = nil
            if paths.count > 2000, let tree {
                var map: [PathKey: DiskFile] = [:]
                for file in try vault.repository.files(in: tree) where file.mode != 0o160000 {
                    map[PathKey(file.path)] = DiskFile(oid: BlobID(file.oid.bytes), mode: file.mode)
                }
                committedFiles = map
            }
            func committedFile(_ key: PathKey) throws -> DiskFile? {
                if let committedFiles { return committedFiles[key] }
                guard let tree, let entry = try vault.repository.entry(at: key.path, in: tree),
                      entry.kind != .tree, entry.kind != .submodule else { return nil }
                return DiskFile(oid: BlobID(entry.oid.bytes), mode: entry.mode)
            }
            for path in paths {
                let disk = try found.candidates[path] ?? disk(at: path.path, in: found, db: db)
                let before = edits[path]
                if disk == (try committedFile(path)) {
                    guard before != nil else { continue }
                    edits[path] = nil
                    try db.execute(sql: "DELETE FROM edits WHERE path = ?", arguments: [path.path])
                } else if before == nil || before! != disk {
                    edits[path] = .some(disk)
                    try insertEdit(db, path.path, disk)
                }
            }
        }
        if lastTree != head { try setMeta(db, "tree", head) }
        return Report(edits: edits, focused: found.focused, watched: feed != nil, dirsRead: found.dirsRead,
                      filesHashed: found.filesHashed, filesStatted: found.filesStatted, candidates: found.candidates.count)
    }

    private static func insertEdit(_ db: Database, _ path: String, _ disk: DiskFile?) throws {
        try db.cachedStatement(sql: "INSERT OR REPLACE INTO edits(path, oid, mode) VALUES (?, ?, ?)")
            .execute(arguments: [path, disk.map { Data($0.oid.bytes) }, Int64(disk?.mode ?? 0)])
    }

    private static func setMeta(_ db: Database, _ key: String, _ value: String) throws {
        try db.execute(sql: "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", arguments: [key, value])
    }
}

extension IndexStatEntry {
    /// True when `stat` is the file git recorded: a regular file with the same mode, inode, size and times to the
    /// nanosecond (git's index keeps inode and size in 32 bits).
    func describes(_ stat: WorktreeChanges.Stat) -> Bool {
        stat.isRegular && stat.gitMode == mode && UInt32(truncatingIfNeeded: stat.ino) == ino
            && UInt32(truncatingIfNeeded: stat.size) == size && stat.mtime == mtime && stat.ctime == ctime
    }
}
