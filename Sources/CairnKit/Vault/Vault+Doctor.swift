import CairnGit
import Foundation

/// One finding of `cairn doctor`.
public struct DoctorFinding: Sendable, Codable, Hashable, CustomStringConvertible {
    public enum Severity: String, Sendable, Codable { case error, warning }
    public let severity: Severity
    public let path: String?
    public let line: Int?
    public let message: String

    public var description: String {
        var where_ = path ?? ""
        if let line, path != nil { where_ += ":\(line)" }
        return where_.isEmpty ? "\(severity.rawValue): \(message)" : "\(severity.rawValue): \(where_): \(message)"
    }
}

/// The result of `cairn doctor`.
public struct DoctorReport: Sendable, Codable {
    public let root: String
    public let commitsChecked: Int
    public let notesChecked: Int
    public let findings: [DoctorFinding]
    /// Links read and how they resolve (nil when links could not be checked); unresolved links are counted
    /// here, not reported one by one (`cairn links --unresolved` lists them).
    public var links: LinkSummary? = nil
    public var errors: Int { findings.filter { $0.severity == .error }.count }
    public var healthy: Bool { errors == 0 }
}

extension Vault {
    /// The folders every vault has.
    public static let layoutFolders = ["memory/core", "memory/working", "memory/projects", "memory/knowledge",
                                       "inbox", "agents", "workflows", "approvals", "runs"]

    /// Checks the repository, the layout, every note's front matter, policy.json, config and links between notes.
    ///
    /// Writes nothing to the vault or its history; only the derived search index under `.git/cairn/` may be updated.
    /// Notes are read and checked a batch at a time on every core, never held together; `progress` hears how the
    /// notes (and a first build of the search index) are getting on.
    ///
    /// `progress` is called from one thread at a time (the history check runs beside the other checks).
    public func doctor(now: Date, progress: ProgressHandler? = nil) -> DoctorReport {
        let progress = progress.map(Self.oneAtATime)
        // Every tree of the history is read once: libgit2's cache of them would only grow (to 800 MB at 100k notes).
        Libgit2.setObjectCaching(false)
        defer { Libgit2.setObjectCaching(true) }
        var findings: [DoctorFinding] = []
        func report(_ path: String?, _ line: Int? = nil, _ message: String) {
            findings.append(DoctorFinding(severity: .error, path: path, line: line, message: message))
        }
        func warn(_ path: String?, _ line: Int? = nil, _ message: String) {
            findings.append(DoctorFinding(severity: .warning, path: path, line: line, message: message))
        }

        // Repository: references resolve and every reachable object reads back. The history is checked on a thread
        // of its own (with its own repository handle) while the notes are read; its findings go where they belong.
        var commitsChecked = 0
        var history: HistoryCheck? = nil
        var historyFindingsAt = 0
        do {
            if try repository.headReferenceName() != branchRef {
                warn(nil, nil, "HEAD is not on \(branch); cairn commits only to \(branch)")
            }
            if let tip = try head() {
                _ = try repository.commit(tip).tree
                var tips = [tip]
                tips += try repository.references(withPrefix: Self.proposalPrefix).map(\.target)
                history = HistoryCheck(gitDir: gitDir, tips: tips, progress: progress)
                historyFindingsAt = findings.count
            } else {
                report(nil, nil, "\(branch) has no commit yet; run `cairn snapshot`")
            }
        } catch {
            report(".git", nil, "repository cannot be read: \(error)")
        }
        if let op = repository.stateInProgress { warn(nil, nil, "a git \(op) is in progress") }
        for p in connectorProblems() { report(p.path, p.line, p.reason) }
        for lock in LockFiles.find(gitDir: gitDir, now: now) {
            warn(".git/\(lock.path)", nil, "lock file: \(lock.reason)")
        }
        do {
            let usable = try usableIndex()
            if let w = usable.warning { warn(".git/index", nil, w) }
        } catch {
            report(".git/index", nil, "\(error)")
        }

        // Layout.
        let fm = FileManager.default
        for folder in Self.layoutFolders {
            var isDir: ObjCBool = false
            if !fm.fileExists(atPath: absolutePath(folder), isDirectory: &isDir) || !isDir.boolValue {
                warn(folder, nil, "missing folder (part of the vault layout)")
            }
        }
        let templates = ObsidianSettings.read(root: root)
        // Config and policy.
        for path in [Vault.configPath, Policy.relativePath] {
            if !fm.fileExists(atPath: absolutePath(path)) {
                report(path, nil, "missing; `cairn init` writes a default")
            } else if let p = validateContent(path: path, templates: templates) {
                report(p.problem.path, p.problem.line, p.problem.reason)
            }
        }
        // Every Markdown file in the working tree (tracked or not; ignored files skipped), read once for both its
        // own check and the links between notes. Links are resolved as Obsidian does: a link to a note not written
        // yet is normal (counted); a heading or block that is gone is a warning. A dangling link loses nothing.
        var notesChecked = 0
        var links: LinkSummary? = nil
        var checked: NotesRead? = nil
        do {
            checked = try readNotes(validating: true, progress: progress)
        } catch {
            warn(nil, nil, "notes and links not checked: \(error)")
        }
        if let checked {
            notesChecked = checked.validated
            for p in checked.problems {
                if p.blocksCommit { report(p.problem.path, p.problem.line, p.problem.reason) } else { warn(p.problem.path, p.problem.line, p.problem.reason) }
            }
        }
        // Workflows: definitions (agents, references, cycles, cron) and runs that stopped.
        for f in workflowFindings() { findings.append(f) }
        for path in syncConflicts() {
            report(path, nil, "in conflict from a stopped sync; edit it, then `cairn sync --continue` (or `cairn sync --abort`)")
        }
        if let checked {
            for problem in checked.links.brokenAnchors { warn(problem.path, problem.line, problem.reason) }
            links = LinkSummary(checked.links)
        }
        // Folders named like .git (any case, trailing dots): git and cairn never look inside them, so their files
        // are never committed, and snapshot cannot see them to say so.
        for folder in gitLookalikeFolders() {
            warn(folder, nil, "a folder named like .git is never committed (git treats it as a repository's own folder); rename it")
        }
        if let history {
            var found: [DoctorFinding] = []
            switch history.wait() {
            case let .success(result):
                commitsChecked = result.checked
                found = result.broken.map { DoctorFinding(severity: .error, path: ".git", line: nil, message: $0) }
            case let .failure(error):
                found = [DoctorFinding(severity: .error, path: ".git", line: nil, message: "repository cannot be read: \(error)")]
            }
            findings.insert(contentsOf: found, at: historyFindingsAt)
        }
        return DoctorReport(root: root, commitsChecked: commitsChecked, notesChecked: notesChecked, findings: findings, links: links)
    }

    /// `handler` behind a lock: called by one thread at a time.
    private static func oneAtATime(_ handler: @escaping ProgressHandler) -> ProgressHandler {
        let lock = NSLock()
        return { progress in
            lock.lock()
            defer { lock.unlock() }
            handler(progress)
        }
    }

    /// Vault-relative folders below the root whose name is `.git` in any case (or with trailing dots or spaces).
    /// Lists folders only (`readdir` types, no stat of files), never entering `.git` or a look-alike.
    func gitLookalikeFolders() -> [String] {
        var out: [String] = []
        func visit(_ rel: String) {
            guard let dir = opendir(rel.isEmpty ? root : root + "/" + rel) else { return }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
                }
                if name == "." || name == ".." { continue }
                let path = rel.isEmpty ? name : rel + "/" + name
                var isDir = entry.pointee.d_type == UInt8(DT_DIR)
                if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                    var st = stat()
                    isDir = lstat(root + "/" + path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
                }
                guard isDir else { continue }
                if path == ".git" { continue }
                let trimmed = String(name.lowercased().reversed().drop { $0 == "." || $0 == " " }.reversed())
                if trimmed == ".git" { out.append(path); continue }
                visit(path)
            }
        }
        visit("")
        return out.sorted()
    }
}

/// `Repository.verifyReachableObjects` run on a thread of its own, with a repository handle of its own (libgit2's
/// objects are not shared between threads), so that doctor's other checks need not wait for it.
private final class HistoryCheck: @unchecked Sendable {
    private var result: Result<(checked: Int, broken: [String]), any Error> = .success((0, []))
    private let done = DispatchSemaphore(value: 0)

    private let progress: ProgressHandler?

    init(gitDir: String, tips: [OID], progress: ProgressHandler?) {
        self.progress = progress
        let thread = Thread { [self] in
            result = Result {
                try Repository(at: gitDir).verifyReachableObjects(from: tips) { [self] checked in
                    self.progress?(WorkProgress(task: "checking history", done: checked, total: nil))
                }
            }
            done.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// The check's result, once it has finished.
    func wait() -> Result<(checked: Int, broken: [String]), any Error> {
        done.wait()
        return result
    }
}
