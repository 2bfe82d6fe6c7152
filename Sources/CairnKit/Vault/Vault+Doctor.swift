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
    public func doctor(now: Date) -> DoctorReport {
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
        // Every Markdown file in the working tree (tracked or not; ignored files skipped).
        var notesChecked = 0
        for path in markdownFiles(tree: tree) {
            notesChecked += 1
            if let p = validateContent(path: path) { report(p.problem.path, p.problem.line, p.problem.reason) }
        }
        // Workflows: definitions (agents, references, cycles, cron) and runs that stopped.
        for f in workflowFindings() { findings.append(f) }
        for path in syncConflicts() {
            report(path, nil, "in conflict from a stopped sync; edit it, then `cairn sync --continue` (or `cairn sync --abort`)")
        }
        // Links to notes or files that do not exist, from the search index (derived data in .git/cairn/,
        // brought up to date or rebuilt first). Warnings: a dangling link loses nothing.
        if tree != nil {
            do {
                for link in try brokenLinks() { warn(link.path, link.line, link.problem.reason) }
            } catch {
                warn(".git/cairn", nil, "links not checked: \(error)")
            }
        }
        // Folders named like .git (any case, trailing dots): git and cairn never look inside them, so their files
        // are never committed, and snapshot cannot see them to say so.
        for folder in gitLookalikeFolders() {
            warn(folder, nil, "a folder named like .git is never committed (git treats it as a repository's own folder); rename it")
        }
        return DoctorReport(root: root, commitsChecked: commitsChecked, notesChecked: notesChecked, findings: findings)
    }

    /// Vault-relative folders below the root whose name is `.git` in any case (or with trailing dots or spaces).
    func gitLookalikeFolders() -> [String] {
        guard let e = FileManager.default.enumerator(atPath: root) else { return [] }
        var out: [String] = []
        while let rel = e.nextObject() as? String {
            if rel == ".git" { e.skipDescendants(); continue }
            let name = (rel as NSString).lastPathComponent
            let trimmed = String(name.lowercased().reversed().drop { $0 == "." || $0 == " " }.reversed())
            guard trimmed == ".git" else { continue }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: absolutePath(rel), isDirectory: &isDir), isDir.boolValue {
                out.append(rel)
                e.skipDescendants()
            }
        }
        return out.sorted()
    }

    /// Markdown files of the branch tree plus untracked ones, present in the working tree.
    func markdownFiles(tree: OID?) -> [String] {
        var paths = Set<String>()
        if let tree, let files = try? repository.files(in: tree) {
            for f in files where f.path.lowercased().hasSuffix(".md") && f.mode != TreeChange.symlinkMode { paths.insert(f.path) }
        }
        if let entries = try? repository.status() {
            for e in entries where e.kind != .deleted && e.path.lowercased().hasSuffix(".md") { paths.insert(e.path) }
            for e in entries where e.kind == .deleted { paths.remove(e.path) }
        }
        return paths.sorted().filter { FileManager.default.fileExists(atPath: absolutePath($0)) }
    }
}
