import CSystemCalls
import CairnGit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Vault {
    /// Writes into the working tree, and stages, the regular files that tree `to` adds and tree `from` lacks, when
    /// nothing is in their way: what a pull's checkout is made of (a thousand new notes). libgit2's checkout of the
    /// same files spends most of its time resolving each file's attributes (a `realpath` and a `.gitattributes` probe
    /// per folder level, per file); here they are checked once per folder, and each file is written once.
    ///
    /// A path is left to libgit2's checkout (not in the returned set) unless: its name is plain (no `.git…`-like or
    /// odd component, which libgit2 alone judges), nothing is at it in the working tree, the index has nothing there
    /// but the same blob, its folders are real folders (no symlink or file in the way) and no line-ending or
    /// attribute setting could filter it (no `core.autocrlf`, no attributes file of any kind on its way). Those are
    /// exactly the cases where libgit2's safe checkout would write the blob's bytes unchanged.
    ///
    /// Each file is written unnamed (`O_TMPFILE`) and linked into place whole, never replacing anything; the index
    /// entry takes the file's own stat data, so `git status` trusts it. A kill before the index is written leaves
    /// whole files that the checkout journal's recovery (`removeHalfWrittenFiles`, which removes files equal to the
    /// target) takes away and writes again.
    func writeAddedFiles(_ paths: [String], from: OID, to: OID, index: Index) throws -> Set<String> {
        guard !paths.isEmpty, try addedFilesNeedNoFilter() else { return [] }
        var writer = AddedFileWriter(root: root)
        defer { writer.closeAll() }
        var plainFolders: [String: Bool] = [:]
        var written = Set<String>()
        var candidates: [(path: String, entry: TreeEntry)] = []
        for path in paths where Self.isPlainAddedPath(path) {
            guard try repository.entry(at: path, in: from) == nil, let entry = try repository.entry(at: path, in: to),
                  entry.mode == 0o100644 || entry.mode == 0o100755 else { continue }
            if let staged = index.stagedFile(path: path), staged.oid != entry.oid || staged.mode != entry.mode { continue }
            if index.hasEntry(withPrefix: path + "/") { continue }
            guard try foldersAreUnfiltered(path, tree: to, index: index, known: &plainFolders) else { continue }
            candidates.append((path, entry))
        }
        for (n, c) in candidates.enumerated() {
            // Halfway: files linked, none staged yet (the crash matrix kills here).
            if n == candidates.count / 2 && n > 0 { CrashPoints.hit(.connectorMidCheckout) }
            let data = try repository.blob(c.entry.oid)
            guard let st = try writer.create(c.path, data: data, executable: c.entry.mode == 0o100755) else { continue }
            try index.add(path: c.path, oid: c.entry.oid, stat: st)
            written.insert(c.path)
        }
        if !written.isEmpty { try index.write() }
        return written
    }

    /// No line-ending conversion or attribute file applies anywhere in the repository's configuration: no
    /// `core.autocrlf` that converts on checkout, no `core.attributesFile`, no global, system or `info/attributes`
    /// file (the per-folder `.gitattributes` are checked per path).
    func addedFilesNeedNoFilter() throws -> Bool {
        if let crlf = try repository.configString("core.autocrlf")?.lowercased(), !["false", "input", "no", "off", "0"].contains(crlf) {
            return false
        }
        if try repository.configString("core.attributesFile") != nil { return false }
        let env = ProcessInfo.processInfo.environment
        var files = [gitDir + "info/attributes", "/etc/gitattributes"]
        if let xdg = env["XDG_CONFIG_HOME"], !xdg.isEmpty { files.append(xdg + "/git/attributes") }
        if let home = env["HOME"], !home.isEmpty { files.append(home + "/.config/git/attributes") }
        var st = stat()
        return !files.contains { lstat($0, &st) == 0 || errno != ENOENT }
    }

    /// No `.gitattributes` in any folder above `path`: not in tree `to`, not staged, not in the working tree.
    private func foldersAreUnfiltered(_ path: String, tree: OID, index: Index, known: inout [String: Bool]) throws -> Bool {
        var folder = ""
        var rest = Substring(path)
        while true {
            if let ok = known[folder] {
                if !ok { return false }
            } else {
                let file = folder.isEmpty ? ".gitattributes" : folder + "/.gitattributes"
                var st = stat()
                let ok = try repository.entry(at: file, in: tree) == nil && index.stagedFile(path: file) == nil
                    && lstat(root + "/" + file, &st) != 0 && errno == ENOENT
                known[folder] = ok
                if !ok { return false }
            }
            guard let slash = rest.firstIndex(of: "/") else { return true }
            folder = folder.isEmpty ? String(rest[..<slash]) : folder + "/" + rest[..<slash]
            rest = rest[rest.index(after: slash)...]
        }
    }

    /// A path whose every component is an ordinary name: not empty, `.` or `..`; no `\`, `:`, control character
    /// or trailing dot or space; not starting with `.git` or `git~` in any case; a leading dot only on an ASCII name.
    /// Anything else is left to libgit2, which knows git's rules for them.
    static func isPlainAddedPath(_ path: String) -> Bool {
        for component in path.utf8.split(separator: 0x2F, omittingEmptySubsequences: false) {
            guard let first = component.first, let last = component.last,
                  !(component.count <= 2 && component.allSatisfy { $0 == 0x2E }),
                  last != 0x2E, last != 0x20,
                  !component.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == 0x5C || $0 == 0x3A }) else { return false }
            let lower = component.prefix(4).map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 }
            if lower == Array(".git".utf8) || lower == Array("git~".utf8) { return false }
            if first == 0x2E && component.contains(where: { $0 >= 0x80 }) { return false }
        }
        return !path.isEmpty
    }
}

/// Creates new files under a vault root through one open descriptor per folder.
private struct AddedFileWriter {
    let root: String
    private var folders: [String: Int32] = [:]
    /// Cleared when the file system has no unnamed files: then each file is created under its name (O_EXCL).
    private var unnamed = true

    init(root: String) { self.root = root }

    mutating func closeAll() {
        for fd in folders.values where fd >= 0 { close(fd) }
        folders.removeAll()
    }

    /// Writes `data` at vault path `path` if nothing is there and its folders are plain folders (made as
    /// needed); returns the new file's stat, or nil when something is in the way.
    mutating func create(_ path: String, data: Data, executable: Bool) throws -> stat? {
        let slash = path.lastIndex(of: "/")
        let folder = slash.map { String(path[..<$0]) } ?? ""
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let dirfd = try folderDescriptor(folder)
        guard dirfd >= 0 else { return nil }
        var st = stat()
        guard fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0, errno == ENOENT else { return nil }
        let mode: mode_t = executable ? 0o755 : 0o644
        if unnamed {
            let fd = cairn_open_unnamed(dirfd, UInt32(mode))
            if fd >= 0 {
                defer { close(fd) }
                try writeAll(fd, data, path)
                if cairn_link_unnamed(fd, dirfd, name) != 0 {
                    if errno == EEXIST { return nil }
                    throw VaultError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
                }
                guard fstat(fd, &st) == 0 else { throw VaultError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
                return st
            }
            guard [EOPNOTSUPP, EISDIR, EINVAL, ENOENT].contains(errno) else {
                throw VaultError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
            }
            unnamed = false
        }
        // Without unnamed files a kill can leave this file cut short: the checkout journal's recovery removes a file
        // that is a prefix of its blob and writes it again.
        let fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else {
            if errno == EEXIST { return nil }
            throw VaultError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        do { try writeAll(fd, data, path) } catch { unlinkat(dirfd, name, 0); throw error }
        guard fstat(fd, &st) == 0 else { throw VaultError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        return st
    }

    private func writeAll(_ fd: Int32, _ data: Data, _ path: String) throws {
        try data.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < buffer.count {
                let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw VaultError.cannotWrite(path: path, reason: String(cString: strerror(errno)))
                }
                offset += n
            }
        }
    }

    /// The open folder `folder` (vault-relative, "" for the root), made with its parents as needed; -1 when a
    /// component is not a real folder (a file or a symlink is there).
    private mutating func folderDescriptor(_ folder: String) throws -> Int32 {
        if let fd = folders[folder] { return fd }
        var fd: Int32
        if folder.isEmpty {
            fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else { throw VaultError.cannotWrite(path: root, reason: String(cString: strerror(errno))) }
        } else {
            let slash = folder.lastIndex(of: "/")
            let parent = slash.map { String(folder[..<$0]) } ?? ""
            let name = slash.map { String(folder[folder.index(after: $0)...]) } ?? folder
            let parentFD = try folderDescriptor(parent)
            guard parentFD >= 0 else { folders[folder] = -1; return -1 }
            if mkdirat(parentFD, name, 0o755) != 0 && errno != EEXIST {
                throw VaultError.cannotWrite(path: folder, reason: String(cString: strerror(errno)))
            }
            // O_NOFOLLOW: a symlink in the way is not followed (ELOOP/ENOTDIR: not a plain folder).
            fd = openat(parentFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd < 0 {
                guard errno == ELOOP || errno == ENOTDIR else {
                    throw VaultError.cannotWrite(path: folder, reason: String(cString: strerror(errno)))
                }
                fd = -1
            }
        }
        folders[folder] = fd
        return fd
    }
}
