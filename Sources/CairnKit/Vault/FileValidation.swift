import CairnGit
import Foundation

/// A reason not to commit a file; `isFatal` problems cannot be overridden with `--force`.
struct ValidationProblem {
    let problem: FileProblem
    let isFatal: Bool
    /// `false` for the operator's own notes: their front matter is cairn's reading, not a rule, so the file
    /// is committed as it is and the problem is only a warning (the note is read as having no front matter).
    var blocksCommit = true
}

extension Vault {
    /// Checks a changed file before it is committed: a name git and every platform can carry, a size git
    /// handles well, and valid front matter / JSON for the files cairn itself reads.
    /// `templates`: the vault's Obsidian settings, read once by the caller for all its files.
    func validateForCommit(_ entry: StatusEntry, maxFileBytes: Int, templates: ObsidianSettings) -> ValidationProblem? {
        guard entry.kind != .deleted else { return nil }
        let path = entry.path
        if path.contains("\u{FFFD}") {
            return ValidationProblem(problem: FileProblem(path: path, reason: "file name is not valid UTF-8; rename the file"), isFatal: true)
        }
        let full = absolutePath(path)
        var st = stat()
        guard lstat(full, &st) == 0 else { return nil } // vanished meanwhile: status will see it next time
        if (st.st_mode & S_IFMT) == S_IFLNK { return validateSymlink(path: path) }
        if Int(st.st_size) > maxFileBytes {
            let mb = Double(st.st_size) / 1_048_576
            return ValidationProblem(problem: FileProblem(path: path, reason: String(format: "file is too large (%.1f MB, limit %d MB); keep it outside the vault or add it to .gitignore", mb, maxFileBytes / 1_048_576)), isFatal: true)
        }
        return validateContent(path: path, templates: templates)
    }

    /// Parses the files cairn reads (notes, agents, workflows, policy, config) and refuses leftover conflict
    /// markers; nil when fine or not such a file. The file is read once for both checks.
    func validateContent(path: String, templates: ObsidianSettings) -> ValidationProblem? {
        let full = absolutePath(path)
        if path == Policy.relativePath || path == Vault.configPath {
            guard let data = FileManager.default.contents(atPath: full) else { return nil }
            do {
                if path == Policy.relativePath { _ = try Policy.parse(data, path: path) } else { _ = try VaultConfig.parse(data, path: path) }
            } catch let error as FileProblem {
                return ValidationProblem(problem: error, isFatal: false)
            } catch {
                return ValidationProblem(problem: FileProblem(path: path, reason: "\(error)"), isFatal: false)
            }
            return nil
        }
        let isMarkdown = path.lowercased().hasSuffix(".md")
        var st = stat()
        guard lstat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let markersChecked = st.st_size < Self.conflictMarkerLimit
        guard markersChecked || isMarkdown, let data = FileManager.default.contents(atPath: full) else { return nil }
        if markersChecked, data.count < Self.conflictMarkerLimit, ConflictMarkers.present(in: data) {
            return Self.conflictMarkerProblem(path: path)
        }
        // Templates (Obsidian's Templates or Templater folder) hold placeholders such as `{{date}}` or `<% … %>`:
        // they are not notes, and are not read as notes.
        if isMarkdown, templates.isTemplate(path) { return nil }
        return Self.validateNoteContent(path: path, data: data)
    }

    /// Parses a Markdown file cairn reads (a note, an agent or workflow definition) at `full`; nil when fine, not
    /// Markdown, or unreadable (callers leave templates out first). Touches nothing but the file, so notes can be checked on several threads.
    static func validateNoteContent(path: String, full: String) -> ValidationProblem? {
        guard path.lowercased().hasSuffix(".md") else { return nil }
        guard let data = FileManager.default.contents(atPath: full) else { return nil }
        return validateNoteContent(path: path, data: data)
    }

    /// Parses the bytes `data` of the Markdown file at `path` (see `validateNoteContent(path:full:)`).
    static func validateNoteContent(path: String, data: Data) -> ValidationProblem? {
        guard path.lowercased().hasSuffix(".md") else { return nil }
        // Agent and workflow definitions are run by cairn: one that cannot be read is refused like bad JSON.
        // Any other note is the operator's: committed as it is, the problem reported as a warning — unless it is
        // not text at all (NUL bytes, invalid UTF-8), which no editor of notes produces.
        let isText = !data.contains(0) && String(data: data, encoding: .utf8) != nil
        let isDefinition = !isText || Self.isAgentDefinition(path) || Self.isWorkflowDefinition(path)
        do {
            try NoteParser.validate(path: path, data: data)
            if Self.isAgentDefinition(path) { _ = try AgentDefinition.parse(path: path, data: data) }
        } catch let error as NoteError {
            return ValidationProblem(problem: FileProblem(path: path, line: error.line, reason: error.reason), isFatal: false,
                                     blocksCommit: isDefinition)
        } catch {
            return ValidationProblem(problem: FileProblem(path: path, reason: "\(error)"), isFatal: false, blocksCommit: isDefinition)
        }
        return nil
    }

    /// `workflows/NAME.md` (not README.md): the files the workflow catalog reads.
    static func isWorkflowDefinition(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        return parts.count == 2 && parts[0] == "workflows" && parts[1].hasSuffix(".md") && parts[1].lowercased() != "readme.md"
    }

    /// `agents/NAME.md` (not README.md): the files `agentCatalog()` reads.
    static func isAgentDefinition(_ path: String) -> Bool {
        let parts = path.split(separator: "/")
        return parts.count == 2 && parts[0] == "agents" && parts[1].hasSuffix(".md") && parts[1].lowercased() != "readme.md"
    }

    /// A symbolic link is committed as a link; one that leads out of the vault or into `.git` is refused, since
    /// whoever follows it (an editor, a clone on another machine, a tool) would read or write outside the vault.
    func validateSymlink(path: String) -> ValidationProblem? {
        guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: absolutePath(path)) else { return nil }
        func problem(_ reason: String) -> ValidationProblem {
            ValidationProblem(problem: FileProblem(path: path, reason: "symbolic link to '\(target)' \(reason); replace it with the file itself"), isFatal: false)
        }
        if target.hasPrefix("/") || target.hasPrefix("~") { return problem("points outside the vault (an absolute path)") }
        var parts = path.split(separator: "/").dropLast().map(String.init)
        for piece in target.split(separator: "/") {
            switch piece {
            case ".": continue
            case "..":
                if parts.isEmpty { return problem("points outside the vault") }
                parts.removeLast()
            default: parts.append(String(piece))
            }
        }
        if let first = parts.first, PathGuard.comparable(first) == ".git" { return problem("points into .git") }
        return nil
    }

    /// Added or renamed paths whose name differs from another entry of the same folder (committed or added in this
    /// snapshot) only in case or Unicode normalization: the two become one file on macOS and Windows clones.
    ///
    /// Names are compared as bytes (Swift's `String` equality would call an NFC and an NFD name the same). Cost:
    /// one tree read per folder that gains a name, and one lookup per name.
    func nameCollisions(_ entries: [StatusEntry], parentTree: OID?) throws -> [ValidationProblem] {
        let added = entries.filter { $0.kind == .untracked || $0.kind == .added || $0.kind == .renamed }
        guard !added.isEmpty else { return [] }
        typealias Bytes = [UInt8]
        let deleted = Set((entries.filter { $0.kind == .deleted }.map(\.path) + entries.compactMap(\.oldPath)).map { Bytes($0.utf8) })
        // Folder → (comparable form → the exact names with that form), from the parent tree and from what is added.
        var folders: [Bytes: [Bytes: Set<Bytes>]] = [:]
        func load(_ folder: ArraySlice<Substring>) throws -> Bytes {
            let key = Bytes(folder.joined(separator: "/").utf8)
            guard folders[key] == nil else { return key }
            var names: [Bytes: Set<Bytes>] = [:]
            if let parentTree {
                let tree = folder.isEmpty ? parentTree
                    : try repository.entry(at: folder.joined(separator: "/"), in: parentTree).flatMap { $0.kind == .tree ? $0.oid : nil }
                if let tree {
                    for e in try repository.tree(tree).entries where !deleted.contains(folder.isEmpty ? e.nameBytes : key + [0x2F] + e.nameBytes) {
                        names[Self.comparableName(e.nameBytes), default: []].insert(e.nameBytes)
                    }
                }
            }
            folders[key] = names
            return key
        }
        let split = added.map { $0.path.split(separator: "/") }
        for parts in split {
            for i in parts.indices {
                let key = try load(parts[..<i])
                let name = Bytes(parts[i].utf8)
                folders[key]?[Self.comparableName(name), default: []].insert(name)
            }
        }
        var problems: [ValidationProblem] = []
        var reported = Set<Bytes>()
        for parts in split {
            for i in parts.indices {
                let folder = parts[..<i].joined(separator: "/")
                let name = Bytes(parts[i].utf8)
                guard let other = folders[Bytes(folder.utf8)]?[Self.comparableName(name)]?.first(where: { $0 != name }) else { continue }
                let mine = parts[...i].joined(separator: "/")
                let theirs = (folder.isEmpty ? "" : folder + "/") + String(decoding: other, as: UTF8.self)
                let pair = [Bytes(mine.utf8), Bytes(theirs.utf8)].sorted { $0.lexicographicallyPrecedes($1) }
                guard reported.insert(pair[0] + [0] + pair[1]).inserted else { break }
                problems.append(ValidationProblem(problem: FileProblem(path: mine, reason:
                    "name differs only in case or Unicode normalization from \(theirs); the two would be one file on macOS and Windows — rename one"),
                    isFatal: false))
                break
            }
        }
        return problems
    }

    /// A name's form for look-alike comparison (`PathGuard.comparable`), with a fast path for ASCII names.
    static func comparableName(_ name: [UInt8]) -> [UInt8] {
        if name.allSatisfy({ $0 < 0x80 }) { return name.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 0x20 : $0 } }
        return Array(PathGuard.comparable(String(decoding: name, as: UTF8.self)).utf8)
    }
}

extension Vault {
    /// Files at least this large are not searched for conflict markers.
    static let conflictMarkerLimit = 8 * 1024 * 1024

    /// Refuses a text file that still holds conflict markers (a sync's `<<<<<<<`/`=======`/`>>>>>>>`); `--force` commits it.
    static func conflictMarkerProblem(path: String) -> ValidationProblem {
        ValidationProblem(problem: FileProblem(path: path, reason: "holds conflict markers (<<<<<<< ======= >>>>>>>) from a sync; "
                                              + "edit them away and run `cairn sync --continue`, or commit as is with --force"), isFatal: false)
    }
}
