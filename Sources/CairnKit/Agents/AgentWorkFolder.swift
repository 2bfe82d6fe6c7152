import CairnGit
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A command agent's work folder, kept from one run of the agent to the next, so an agent shown 20,000 notes is not
/// given 20,000 new files on every run: the next run rewrites only the files that are not as it left them (the base
/// moved on, or the agent edited them), the way `git checkout` brings a worktree up to date against its index.
///
/// `TMPDIR/cairn-work-<key>/`, mode 0700, one per vault and agent (`key` hashes the real path of the vault's git
/// folder and the agent's name):
/// - `work/` is the run's work folder, the only one the sandbox sees. Its `files/` stays between runs; everything
///   else in it (the context, the logs, `tmp/`, `home/`) is removed before and after every run.
/// - `manifest` says what `work/files/` holds: for every file the agent left untouched in the last run, its path,
///   blob id, size, mode and stat stamp (inode, modification and change times). It is removed before the agent
///   starts and written again only once the run's changes were collected, so a run that is killed, fails or
///   crashes leaves none and the next run starts from an empty `files/`. A manifest from before the last boot is
///   not trusted (a crash can leave a file's data and times apart).
///
/// Only a file whose stamp is exactly as recorded is kept. Every change to a file (a write, `chmod`, a rename or link
/// over it, `touch -d`) sets its change time to the clock at that moment, and the recorded change times are all
/// before the run's files were shown; so no change after the manifest was written can leave the stamp as it was.
///
/// The folder is locked (`flock`) while a run uses it, and by the clean-up of abandoned folders before it removes
/// one. When it cannot be used (another process holds it, it belongs to someone else or is not a folder), the run
/// takes a fresh `cairn-run-*` folder as before. The lock also keeps the age-based clean-up of `/tmp`
/// (`systemd-tmpfiles --clean`, which skips folders it cannot lock) out while a run uses the folder: kept files
/// grow old, and one deleted under a running agent would look like the agent deleted it. What such a clean-up
/// removes between runs, the next run writes again.
struct AgentWorkFolder {
    static let prefix = "cairn-work-"
    let root: String
    private let fd: Int32

    var workDir: String { root + "/work" }
    var filesDir: String { workDir + "/files" }
    private var manifestPath: String { root + "/manifest" }

    /// Opens (creating it when missing) and locks the folder of `agent` in the vault whose git folder is `gitDir`;
    /// nil when it cannot be used.
    static func open(in workRoot: String, gitDir: String, agent: String) -> AgentWorkFolder? {
        guard let root = path(in: workRoot, gitDir: gitDir, agent: agent), mkdir(root, 0o700) == 0 || errno == EEXIST else { return nil }
        let fd = Glibc.open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        var st = stat(), now = stat()
        // Ours, private, not in use, and still the folder at that path (the clean-up may have removed it between
        // our open and our lock).
        guard fstat(fd, &st) == 0, st.st_uid == getuid(), st.st_mode & 0o7777 == 0o700, flock(fd, LOCK_EX | LOCK_NB) == 0,
              lstat(root, &now) == 0, now.st_ino == st.st_ino, now.st_dev == st.st_dev else {
            close(fd)
            return nil
        }
        futimens(fd, nil)  // in use: the clean-up of abandoned folders goes by this time
        let folder = AgentWorkFolder(root: root, fd: fd)
        // Only `work/` and the manifest belong here: anything else is what an agent without the sandbox wrote
        // next to its folder (`../../x`).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] where name != "work" && name != "manifest" {
            Self.remove(root + "/" + name)
        }
        if lstat(folder.workDir, &st) == 0, st.st_mode & S_IFMT != S_IFDIR { unlink(folder.workDir) }
        guard mkdir(folder.workDir, 0o700) == 0 || errno == EEXIST, lstat(folder.workDir, &st) == 0,
              st.st_mode & S_IFMT == S_IFDIR, st.st_uid == getuid() else {
            close(fd)
            return nil
        }
        folder.removeRunEntries()
        return folder
    }

    /// What `files/` holds as the last run left it, taking the manifest away (until `save`). Nil when there is no
    /// trustworthy manifest; `files/` is then removed, so the run starts from an empty folder.
    func previousFiles() -> [String: CommandAgentExecutor.ShownFile]? {
        let data = FileManager.default.contents(atPath: manifestPath)
        unlink(manifestPath)
        if let data, let files = Self.parse(data, bootID: AgentSandbox.bootID()) { return files }
        Self.remove(filesDir)  // whatever it is now: the agent may have put a link or a file in its place
        return nil
    }

    /// Records what `files/` holds now. Not synced: a manifest that does not survive a crash is only a slower
    /// next run, and one written before a reboot is not trusted anyway.
    func save(_ files: [String: CommandAgentExecutor.ShownFile]) {
        guard !files.isEmpty, let data = Self.encode(files, bootID: AgentSandbox.bootID()) else { return }
        let temporary = manifestPath + ".new"
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let failed = CommandAgentExecutor.writeAll(fd, Data(data)) != nil
        close(fd)
        if failed || rename(temporary, manifestPath) != 0 { unlink(temporary) }
    }

    /// Removes the run's own entries (everything in `work/` but `files/`) and releases the folder.
    func finish() {
        removeRunEntries()
        close(fd)
    }

    private func removeRunEntries() {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: workDir)) ?? [] where name != "files" {
            Self.remove(workDir + "/" + name)
        }
    }

    /// Removes `path`, a folder with all it holds or anything else (never following a link).
    private static func remove(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR { CommandAgentExecutor.removeWorkFolder(path) } else { unlink(path) }
    }

    /// Where the folder of `agent` in the vault whose git folder is `gitDir` is.
    static func path(in workRoot: String, gitDir: String, agent: String) -> String? {
        let real = URL(fileURLWithPath: gitDir).resolvingSymlinksInPath().path
        guard let key = try? Repository.hashBlob(Data((real + "\0" + agent).utf8)).hex.prefix(20) else { return nil }
        var root = workRoot
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        return root + "/" + prefix + key
    }

    /// Removes the folders of `agents` in this vault (they hold copies of notes that history pruning just forgot).
    static func removeAll(in workRoot: String, gitDir: String, agents: [String]) {
        for agent in agents {
            if let path = path(in: workRoot, gitDir: gitDir, agent: agent) { removeIfUnused(path) }
        }
    }

    /// Removes `path` (an abandoned `cairn-work-*` folder) unless a run holds it.
    static func removeIfUnused(_ path: String) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return }
        CommandAgentExecutor.removeWorkFolder(path)
    }

    // MARK: - The manifest

    /// A line `cairn-work-manifest 2 <boot id>`, then one record per file: the blob id (20 bytes), the mode (1 byte:
    /// 1 executable, 0 not), size, inode, modification and change time (seconds, nanoseconds) as 8-byte
    /// little-endian integers, the path's length (2 bytes) and the path.
    static let magic = "cairn-work-manifest 2"

    static func encode(_ files: [String: CommandAgentExecutor.ShownFile], bootID: String?) -> [UInt8]? {
        guard let bootID else { return nil }
        var out = Array("\(magic) \(bootID)\n".utf8)
        out.reserveCapacity(out.count + files.count * 140)
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) } }
        for (path, file) in files {
            let name = Array(path.utf8)
            guard name.count <= Int(UInt16.max) else { continue }
            out += file.oid.bytes
            out.append(file.executable ? 1 : 0)
            let s = file.stamp
            for value in [Int64(file.size), Int64(bitPattern: s.inode), Int64(s.mtime.tv_sec), Int64(s.mtime.tv_nsec),
                          Int64(s.ctime.tv_sec), Int64(s.ctime.tv_nsec)] { append(value) }
            append(UInt16(name.count))
            out += name
        }
        return out
    }

    /// The manifest's files; nil when it is not one, or not from this boot.
    static func parse(_ data: Data, bootID: String?) -> [String: CommandAgentExecutor.ShownFile]? {
        guard let bootID else { return nil }
        let header = Array("\(magic) \(bootID)\n".utf8)
        return data.withUnsafeBytes { buf -> [String: CommandAgentExecutor.ShownFile]? in
            guard buf.count >= header.count, buf.prefix(header.count).elementsEqual(header) else { return nil }
            var files: [String: CommandAgentExecutor.ShownFile] = [:]
            files.reserveCapacity(buf.count / 120)
            var at = header.count
            let fixed = 20 + 1 + 6 * 8 + 2
            func integer(_ offset: Int) -> Int64 { Int64(littleEndian: buf.loadUnaligned(fromByteOffset: offset, as: Int64.self)) }
            while at < buf.count {
                guard buf.count - at >= fixed else { return nil }
                let oid = OID(bytes: Array(buf[at..<at + 20]))
                let executable = buf[at + 20]
                let size = integer(at + 21), inode = integer(at + 29)
                let mtime = timespec(tv_sec: Int(integer(at + 37)), tv_nsec: Int(integer(at + 45)))
                let ctime = timespec(tv_sec: Int(integer(at + 53)), tv_nsec: Int(integer(at + 61)))
                let length = Int(UInt16(littleEndian: buf.loadUnaligned(fromByteOffset: at + 69, as: UInt16.self)))
                at += fixed
                guard executable <= 1, size >= 0, length > 0, buf.count - at >= length,
                      let path = String(validating: buf[at..<at + length], as: UTF8.self) else { return nil }
                at += length
                let stamp = CommandAgentExecutor.Stamp(inode: UInt64(bitPattern: inode), mtime: mtime, ctime: ctime)
                files[path] = CommandAgentExecutor.ShownFile(oid: oid, size: Int(size), executable: executable == 1, stamp: stamp)
            }
            return files
        }
    }
}
/// Brings a reused `files/` folder to what a run shows: keeps each file that is wanted, recorded in the manifest with
/// the blob and mode the run wants, and has exactly the recorded stamp; removes everything else (files the agent
/// wrote or changed, folders nothing wanted is in, links, special files, names that are not UTF-8). What is kept is
/// in `kept`; the caller writes the wanted files that are missing.
struct WorkFolderKeeper {
    typealias ShownFile = CommandAgentExecutor.ShownFile
    private let wanted: [String: TreeFile]
    private let previous: [String: ShownFile]
    private let wantedFolders: Set<String>
    private(set) var kept: [String: ShownFile] = [:]
    /// Wanted folders that exist (and were walked).
    private(set) var folders: Set<String> = []

    init(wanted: [String: TreeFile], previous: [String: ShownFile]) {
        self.wanted = wanted
        self.previous = previous
        var folders = Set<String>()
        for path in wanted.keys {
            var end = path.utf8.count
            let bytes = Array(path.utf8)
            while let slash = bytes[..<end].lastIndex(of: UInt8(ascii: "/")) {
                let folder = String(decoding: bytes[..<slash], as: UTF8.self)
                guard folders.insert(folder).inserted else { break }
                end = slash
            }
        }
        wantedFolders = folders
    }

    /// False when the folder could not be brought into shape (a folder the agent made read-only or unreadable); it
    /// must then be emptied.
    mutating func sweep(_ filesDir: String) -> Bool {
        let fd = open(filesDir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & 0o7777 == 0o755 else { return false }
        return walk(fd, prefix: "", depth: 0)
    }

    private mutating func walk(_ dirFD: Int32, prefix: String, depth: Int) -> Bool {
        guard depth < CommandAgentExecutor.maxFolderDepth, let names = CommandAgentExecutor.entryNames(dirFD) else { return false }
        for name in names {
            var st = stat()
            guard fstatat(dirFD, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
            let bytes = name.dropLast().map { UInt8(bitPattern: $0) }
            let path = String(validating: bytes, as: UTF8.self).map { prefix + $0 }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                if let path, wantedFolders.contains(path), st.st_mode & 0o7777 == 0o755 {
                    let child = openat(dirFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard child >= 0 else { return false }
                    defer { close(child) }
                    guard walk(child, prefix: path + "/", depth: depth + 1) else { return false }
                    folders.insert(path)
                } else {
                    let child = openat(dirFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    guard child >= 0 else { return false }
                    let emptied = CommandAgentExecutor.removeContents(child)
                    close(child)
                    guard emptied, unlinkat(dirFD, name, AT_REMOVEDIR) == 0 else { return false }
                }
            case S_IFREG:
                if let path, let want = wanted[path], let before = previous[path], before.oid == want.oid,
                   before.executable == (want.mode == TreeChange.executableMode), before.size == Int(st.st_size),
                   CommandAgentExecutor.Stamp(st) == before.stamp {
                    kept[path] = before
                } else {
                    guard unlinkat(dirFD, name, 0) == 0 else { return false }
                }
            default:
                guard unlinkat(dirFD, name, 0) == 0 else { return false }
            }
        }
        return true
    }
}
