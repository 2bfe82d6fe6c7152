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
    /// Each note is read and parsed once, a batch at a time on every core; what the link check needs of it (its links,
    /// names and body) is kept until the links are checked. `progress` hears how the
    /// notes (and a first build of the search index) are getting on.
    public func doctor(now: Date, progress: ProgressHandler? = nil) -> DoctorReport {
        var findings: [DoctorFinding] = []
        func report(_ path: String?, _ line: Int? = nil, _ message: String) {
            findings.append(DoctorFinding(severity: .error, path: path, line: line, message: message))
        }
        func warn(_ path: String?, _ line: Int? = nil, _ message: String) {
            findings.append(DoctorFinding(severity: .warning, path: path, line: line, message: message))
        }

        // Repository: references resolve and every reachable object reads back.
        var commitsChecked = 0
        var tree: OID? = nil
        do {
            if try repository.headReferenceName() != branchRef {
                warn(nil, nil, "HEAD is not on \(branch); cairn commits only to \(branch)")
            }
            if let tip = try head() {
                tree = try repository.commit(tip).tree
                var tips = [tip]
                tips += try repository.references(withPrefix: Self.proposalPrefix).map(\.target)
                let result = try repository.verifyReachableObjects(from: tips)
                commitsChecked = result.checked
                for b in result.broken { report(".git", nil, b) }
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
        // Config and policy.
        for path in [Vault.configPath, Policy.relativePath] {
            if !fm.fileExists(atPath: absolutePath(path)) {
                report(path, nil, "missing; `cairn init` writes a default")
            } else if let p = validateContent(path: path) {
                report(p.problem.path, p.problem.line, p.problem.reason)
            }
        }
        // Every Markdown file in the working tree (tracked or not; ignored files skipped), read once: checked, and
        // its links kept for the link check below.
        let templates = ObsidianSettings.read(root: root)
        let listing = doctorFiles(tree: tree)
        let notes = listing.markdown.filter { !templates.isTemplate($0) }
        let notesChecked = notes.count
        let linkable = Set(listing.linkable)
        let read = Self.readNotes(notes, root: root, linkChecked: { linkable.contains($0) }, progress: progress)
        for p in read.problems {
            if p.blocksCommit { report(p.problem.path, p.problem.line, p.problem.reason) } else { warn(p.problem.path, p.problem.line, p.problem.reason) }
        }
        // Workflows: definitions (agents, references, cycles, cron) and runs that stopped.
        for f in workflowFindings() { findings.append(f) }
        for path in syncConflicts() {
            report(path, nil, "in conflict from a stopped sync; edit it, then `cairn sync --continue` (or `cairn sync --abort`)")
        }
        // Links, resolved as Obsidian does: a link to a note not written yet is normal (counted); a heading or
        // block that is gone is a warning. A dangling link loses nothing.
        let checked = checkLinks(notes: read.linked, files: listing.linkable)
        for problem in checked.brokenAnchors { warn(problem.path, problem.line, problem.reason) }
        let links: LinkSummary? = LinkSummary(checked)
        // Folders named like .git (any case, trailing dots): git and cairn never look inside them, so their files
        // are never committed, and snapshot cannot see them to say so.
        for folder in gitLookalikeFolders() {
            warn(folder, nil, "a folder named like .git is never committed (git treats it as a repository's own folder); rename it")
        }
        return DoctorReport(root: root, commitsChecked: commitsChecked, notesChecked: notesChecked, findings: findings, links: links)
    }

    /// Reads the notes at `paths` (vault-relative) a batch at a time, on every core: each is checked as
    /// `validateNoteContent` checks it, and read (leniently) for the link check when `linkChecked` says so. Each file
    /// is read and parsed once. Problems in path order.
    static func readNotes(_ paths: [String], root: String, linkChecked: (String) -> Bool,
                          progress: ProgressHandler?) -> (problems: [ValidationProblem], linked: [LinkedNote]) {
        let batchSize = 1024
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 8))
        var reporter = ProgressReporter(progress, task: "checking notes", total: paths.count, every: batchSize)
        var problems: [ValidationProblem] = []
        var linked: [LinkedNote] = []
        linked.reserveCapacity(paths.count)
        for start in stride(from: 0, to: paths.count, by: batchSize) {
            let batch = Array(paths[start..<min(paths.count, start + batchSize)])
            let wanted = batch.map(linkChecked)
            let results = SlotBox<(problem: ValidationProblem?, note: LinkedNote?)>(count: batch.count)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                var i = worker
                while i < batch.count {
                    if let data = FileManager.default.contents(atPath: root + "/" + batch[i]) {
                        let checked = checkNote(path: batch[i], data: data)
                        results.set(i, (checked.problem, wanted[i] ? LinkedNote(checked.note) : nil))
                    }
                    i += workers
                }
            }
            for result in results.values {
                if let problem = result?.problem { problems.append(problem) }
                if let note = result?.note { linked.append(note) }
            }
            reporter.advance(batch.count)
        }
        reporter.finish()
        return (problems, linked)
    }

    /// A note file's bytes parsed once: the problem `validateNoteContent` reports for them (same rules: agent and
    /// workflow definitions and non-text block a commit, the operator's notes only warn), and the note as an editor
    /// shows it (front matter that does not parse counts as none).
    static func checkNote(path: String, data: Data) -> (problem: ValidationProblem?, note: Note) {
        func problem(line: Int?, reason: String) -> ValidationProblem {
            let isText = !data.contains(0) && String(data: data, encoding: .utf8) != nil
            let isDefinition = !isText || isAgentDefinition(path) || isWorkflowDefinition(path)
            return ValidationProblem(problem: FileProblem(path: path, line: line, reason: reason), isFatal: false, blocksCommit: isDefinition)
        }
        let note: Note
        do {
            note = try NoteParser.parse(path: path, data: data)
        } catch {
            return (problem(line: error.line, reason: error.reason), Note(path: path, frontMatter: nil, body: String(decoding: data, as: UTF8.self)))
        }
        if isAgentDefinition(path) {
            do {
                _ = try AgentDefinition.parse(path: path, data: data)
            } catch let error as NoteError {
                return (problem(line: error.line, reason: error.reason), note)
            } catch {
                return (problem(line: nil, reason: "\(error)"), note)
            }
        }
        return (nil, note)
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

    /// The files of the branch tree plus untracked ones, present in the working tree, listed once: the Markdown
    /// files to check (symbolic links left out) and the files a link may point at (dot-folders left out, as
    /// `vaultFiles`).
    func doctorFiles(tree: OID?) -> (markdown: [String], linkable: [String]) {
        var paths = Set<String>()
        var symlinks = Set<String>()
        if let tree, let files = try? repository.files(in: tree) {
            for f in files {
                paths.insert(f.path)
                if f.mode == TreeChange.symlinkMode { symlinks.insert(f.path) }
            }
        }
        if let entries = try? repository.status() {
            for e in entries where e.kind != .deleted && !e.path.hasSuffix("/") { paths.insert(e.path) }
            for e in entries where e.kind == .deleted { paths.remove(e.path) }
        }
        let present = paths.sorted().filter { FileManager.default.fileExists(atPath: absolutePath($0)) }
        let markdown = present.filter { $0.lowercased().hasSuffix(".md") && !symlinks.contains($0) }
        let linkable = present.filter { !$0.hasPrefix(".") && !$0.contains("/.") }
        return (markdown, linkable)
    }
}
