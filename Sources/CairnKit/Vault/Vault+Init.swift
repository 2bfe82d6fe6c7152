import CSystemCalls
import CairnGit
import Foundation

/// What `Vault.initialize` did.
public struct InitResult: Sendable, Codable {
    public enum Mode: String, Sendable, Codable {
        /// A new vault in a new or empty folder.
        case created
        /// An existing folder of notes became a vault (first commit holds everything).
        case adoptedFolder = "adopted-folder"
        /// An existing git repository got the scaffolding in one commit; history untouched.
        case adoptedRepository = "adopted-repository"
        /// Already a vault: nothing written.
        case alreadyVault = "already-a-vault"
    }
    public let root: String
    public let mode: Mode
    public let branch: String
    public let commit: String?
    /// Scaffolding files written.
    public let added: [String]
    /// Template files that already existed and were left untouched.
    public let kept: [String]
}

extension Vault {
    /// Creates a vault at `path`, or adopts the notes or git repository already there.
    ///
    /// Never overwrites an existing file and keeps all history. Checks everything it can before writing;
    /// if writing fails midway, removes what it created. `identity` (from `--name/--email`) is stored in
    /// the vault config; without it the operator comes from git config (`globalConfigFile` or libgit2's default).
    public static func initialize(at path: String, template: VaultTemplate, identity: OperatorIdentity?,
                                  globalConfigFile: String?, now: Date) throws -> InitResult {
        let root = normalize(path)
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let exists = fm.fileExists(atPath: root, isDirectory: &isDir)
        if exists && !isDir.boolValue { throw VaultError.cannotAdopt(path: root, reason: "it is a file, not a folder") }

        // An existing repository: here, or one that contains this folder.
        var existingRepo: Repository? = nil
        if exists, let gitDirFound = Repository.discover(from: root) {
            let repo: Repository
            do { repo = try Repository(at: gitDirFound) } catch {
                throw VaultError.brokenRepository(path: gitDirFound, reason: "\(error)")
            }
            if repo.isBare {
                throw VaultError.cannotAdopt(path: root, reason: "\(gitDirFound) is a bare repository (no working tree); clone it first: git clone \(gitDirFound) NOTES")
            }
            let workdir = normalize(repo.workdir ?? "")
            if workdir != root {
                throw VaultError.cannotAdopt(path: root, reason: "it is inside the git repository at \(workdir); run `cairn init \(workdir)` to adopt that repository, or use a folder outside it")
            }
            if let op = repo.stateInProgress {
                throw VaultError.cannotAdopt(path: root, reason: "a git \(op) is in progress; finish or abort it first")
            }
            existingRepo = repo
            if initUnfinished(root, repo) {
                // An init of this folder that never made its commit: its repository holds nothing of the
                // operator's but objects that may not have reached the disk. Start again.
                try fm.removeItem(atPath: root + "/.git")
                existingRepo = nil
            } else {
                unlink(unfinishedMarker(root))  // left by an init that made its commit (or none at all)
            }
        }

        if fm.fileExists(atPath: root + "/" + configPath) {
            if existingRepo != nil {
                let vault = try open(at: root)
                return InitResult(root: root, mode: .alreadyVault, branch: vault.branch, commit: try vault.head()?.hex, added: [], kept: [])
            }
        }

        let operatorID: OperatorIdentity
        if let identity { operatorID = identity } else { operatorID = try gitIdentity(repository: existingRepo, globalConfigFile: globalConfigFile) }

        if let repo = existingRepo {
            return try adoptRepository(repo, root: root, template: template, identity: identity, operatorID: operatorID, now: now)
        }
        let empty = !exists || ((try? fm.contentsOfDirectory(atPath: root))?.isEmpty ?? true)
        if !empty { try preflightFolder(root) }
        return try createRepository(root: root, createdFolder: !exists, adopting: !empty, template: template,
                                    identity: identity, operatorID: operatorID, now: now)
    }

    /// Refuses a folder with files git should not hold, before anything is written.
    static func preflightFolder(_ root: String) throws {
        var problems: [FileProblem] = []
        let fm = FileManager.default
        guard let e = fm.enumerator(atPath: root) else { return }
        let limit = SnapshotOptions().maxFileBytes
        while let rel = e.nextObject() as? String {
            if rel.contains("\u{FFFD}") { problems.append(FileProblem(path: rel, reason: "file name is not valid UTF-8; rename the file")) }
            var st = stat()
            if lstat(root + "/" + rel, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, Int(st.st_size) > limit {
                problems.append(FileProblem(path: rel, reason: "file is too large (\(Int(st.st_size) / 1_048_576) MB, limit \(limit / 1_048_576) MB); move it out of the folder first"))
            }
            if problems.count >= 50 { break }
        }
        if !problems.isEmpty { throw VaultError.invalidFiles(problems) }
    }

    /// The template files, with `.cairn/config.json` carrying the operator and branch when they must be recorded.
    static func scaffolding(_ template: VaultTemplate, identity: OperatorIdentity?, branch: String) -> [VaultTemplate.File] {
        template.files.map { file in
            guard file.path == configPath, identity != nil || branch != "main",
                  var json = (try? JSONSerialization.jsonObject(with: file.data)) as? [String: Any] else { return file }
            if let identity { json["operator"] = ["name": identity.name, "email": identity.email] }
            if branch != "main" { json["branch"] = branch }
            guard var data = try? JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else { return file }
            data.append(0x0A)
            return VaultTemplate.File(path: file.path, data: data)
        }
    }

    /// Writes `files` that do not exist yet; returns (written, kept). Creates parent folders.
    static func writeMissing(_ files: [VaultTemplate.File], root: String, created: inout [String]) throws -> ([String], [String]) {
        let fm = FileManager.default
        var written: [String] = [], kept: [String] = []
        for file in files {
            let full = root + "/" + file.path
            var st = stat()
            if lstat(full, &st) == 0 { kept.append(file.path); continue }
            let dir = (full as NSString).deletingLastPathComponent
            var components: [String] = []
            var d = dir
            while !fm.fileExists(atPath: d) { components.append(d); d = (d as NSString).deletingLastPathComponent }
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
            created.append(contentsOf: components)
            guard fm.createFile(atPath: full, contents: file.data) else {
                throw VaultError.cannotAdopt(path: full, reason: "could not write the file")
            }
            created.append(full)
            written.append(file.path)
        }
        return (written, kept)
    }

    /// `.git/cairn-init-unfinished`: present from the moment `cairn init` creates a repository until its first commit
    /// is on `main`. A repository with it and no commit is one an init was killed in (or lost power in, with objects
    /// that never reached the disk): the next `cairn init` removes it and starts again.
    static func unfinishedMarker(_ root: String) -> String { root + "/.git/cairn-init-unfinished" }

    /// True when `repo` (at `root`) is one a `cairn init` created and never finished: the marker is there and `main`,
    /// where HEAD points, has no commit.
    static func initUnfinished(_ root: String, _ repo: Repository) -> Bool {
        guard FileManager.default.fileExists(atPath: unfinishedMarker(root)) else { return false }
        let mainCommit = (try? repo.referenceTarget("refs/heads/main")) ?? nil
        return mainCommit == nil && (try? repo.headReferenceName()) == "refs/heads/main"
    }

    /// Writes the marker durably (the file and the folder that names it synced).
    static func markInitUnfinished(_ root: String) throws {
        let path = unfinishedMarker(root)
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard fd >= 0 else { throw VaultError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
        let ok = fsync(fd) == 0
        close(fd)
        let dir = Glibc.open(root + "/.git", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { _ = fsync(dir); close(dir) }
        guard ok else { throw VaultError.cannotWrite(path: path, reason: String(cString: strerror(errno))) }
    }

    /// `git add -A` into `index`, writing objects without a sync each, then one sync of the file system they are on
    /// (when syncing is on at all). Each object is still written whole under a temporary name and renamed into place.
    static func addAllSyncedOnce(_ index: Index, gitDir: String) throws {
        let syncing = Libgit2.fsyncEnabled
        Libgit2.setFsync(false)
        defer { Libgit2.setFsync(syncing) }
        try index.addAll()
        guard syncing else { return }
        let rc = cairn_sync_file_system(gitDir + "/objects")
        if rc != 0 { throw VaultError.cannotWrite(path: gitDir + "/objects", reason: String(cString: strerror(-rc))) }
    }

    static func removeCreated(_ created: [String]) {
        // Files first, then folders deepest first.
        for path in created.reversed() { try? FileManager.default.removeItem(atPath: path) }
    }

    private static func createRepository(root: String, createdFolder: Bool, adopting: Bool, template: VaultTemplate,
                                         identity: OperatorIdentity?, operatorID: OperatorIdentity, now: Date) throws -> InitResult {
        var created: [String] = []
        let fm = FileManager.default
        do {
            if createdFolder {
                try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
                created.append(root)
            }
            let repo = try Repository.create(at: root, initialBranch: "main")
            created.append(root + "/.git")
            try markInitUnfinished(root)
            let (written, kept) = try writeMissing(scaffolding(template, identity: identity, branch: "main"), root: root, created: &created)
            let index = try repo.index()
            // Every file of the folder becomes an object at once: the objects are made durable with one sync of the
            // file system instead of libgit2's sync of each object and its folder (adopting 100k notes: 90 s → 22 s).
            // Until the commit exists the marker says the init is unfinished, and a second `cairn init` starts over.
            try addAllSyncedOnce(index, gitDir: root + "/.git")
            CrashPoints.hit(.initAfterObjects)
            let tree = try index.writeTree()
            let subject = adopting ? "Adopt this folder as a Cairn vault" : "Create Cairn vault"
            let message = Trailer.message(subject: subject, trailers: [Trailer("Cairn-Operation", "init")])
            let sig = Signature(name: operatorID.name, email: operatorID.email, time: now)
            let commit = try repo.createCommit(tree: tree, parents: [], author: sig, committer: sig, message: message)
            try repo.updateReference("refs/heads/main", to: commit, expected: nil, message: "cairn init")
            try index.write()
            unlink(unfinishedMarker(root))
            return InitResult(root: root, mode: adopting ? .adoptedFolder : .created, branch: "main", commit: commit.hex, added: written, kept: kept)
        } catch {
            removeCreated(created)
            throw error
        }
    }

    private static func adoptRepository(_ repo: Repository, root: String, template: VaultTemplate, identity: OperatorIdentity?,
                                        operatorID: OperatorIdentity, now: Date) throws -> InitResult {
        guard let headRef = try repo.headReferenceName(), headRef.hasPrefix("refs/heads/") else {
            throw VaultError.cannotAdopt(path: root, reason: "HEAD is detached; switch to a branch first (git switch main)")
        }
        let branch = String(headRef.dropFirst("refs/heads/".count))
        let parent = try repo.referenceTarget(headRef)
        let files = scaffolding(template, identity: identity, branch: branch)
        // Check the index is usable before writing anything.
        let probe = Vault(root: root, repository: repo, config: VaultConfig())
        _ = try probe.usableIndex()
        var created: [String] = []
        do {
            let (written, kept) = try writeMissing(files, root: root, created: &created)
            let tracked: Set<String> = try parent.map { p in Set(try repo.files(in: try repo.commit(p).tree).map(\.path)) } ?? []
            var changes: [TreeChange] = []
            for path in written where !tracked.contains(path) {
                let oid = try repo.writeBlob(fromWorkdirPath: path)
                changes.append(.upsert(path: path, oid: oid, mode: TreeChange.fileMode))
            }
            let parentTree = try parent.map { try repo.commit($0).tree }
            let tree = try repo.updateTree(base: parentTree, changes: changes)
            let message = Trailer.message(subject: "Add Cairn scaffolding", body: changes.map { "A \($0.path)" }.joined(separator: "\n"),
                                          trailers: [Trailer("Cairn-Operation", "init")])
            let sig = Signature(name: operatorID.name, email: operatorID.email, time: now)
            let commit = try repo.createCommit(tree: tree, parents: parent.map { [$0] } ?? [], author: sig, committer: sig, message: message)
            try repo.updateReference(headRef, to: commit, expected: parent, message: "cairn init (adopt)")
            // Stage exactly the scaffolding; the operator's own staged and unstaged changes stay as they were.
            let vault = Vault(root: root, repository: repo, config: VaultConfig())
            let usable = try vault.usableIndex()
            for change in changes { try usable.index.add(path: change.path) }
            try vault.writeIndex(usable)
            return InitResult(root: root, mode: .adoptedRepository, branch: branch, commit: commit.hex, added: written, kept: kept)
        } catch {
            removeCreated(created)
            throw error
        }
    }
}
