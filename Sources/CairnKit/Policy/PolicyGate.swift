import CairnGit
import Foundation

/// One reason a proposal is refused or must wait for the operator.
public struct PolicyFinding: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The rule that produced it (one of `PolicyFinding.Rule`).
    public let rule: String
    /// The path involved, exactly as the agent gave it; nil for rules about the whole proposal.
    public let path: String?
    /// What is wrong and what to do about it, in words.
    public let message: String

    public init(rule: String, path: String?, message: String) {
        self.rule = rule
        self.path = path
        self.message = message
    }

    /// `path: message [rule]`, with control characters in the path made visible.
    public var description: String {
        guard let path else { return "\(message) [\(rule)]" }
        return "\(PolicyGate.display(path)): \(message) [\(rule)]"
    }

    /// The rule ids `PolicyGate` uses.
    public enum Rule {
        /// A path that is not a plain vault-relative path, two edits of one file, or a path that
        /// collides with another by case or Unicode normalization. Blocks.
        public static let path = "path"
        /// A write without content, or a delete of a folder. Blocks.
        public static let edit = "edit"
        /// The path, or a folder above it, is a symbolic link or a file in the base. Blocks.
        public static let symlink = "symlink"
        /// The path is protected by `protected_paths` (or built in). Blocks.
        public static let protected = "protected"
        /// The path is outside the agent's `writes:` globs. Blocks.
        public static let writes = "writes"
        /// The written content looks like it holds a credential. Blocks.
        public static let secret = "secret"
        /// The proposal is larger than `review.max_files` or `review.max_changed_lines`. Needs review.
        public static let size = "size"
        /// `memory/core/` would grow over `memory.core_token_budget`. Needs review.
        public static let coreBudget = "core-budget"
        /// Written content is binary (has NUL bytes). Needs review.
        public static let binary = "binary"
        /// A file would be made executable. Needs review.
        public static let executable = "executable"
        /// The base commit could not be read. Blocks.
        public static let base = "base"
        /// A rename's links left in a protected note, or rewritten in more notes than `review.max_files`
        /// (`links.update_on_rename`). Needs review.
        public static let links = "links"
    }
}

/// How big a proposal is.
public struct ProposalSize: Sendable, Hashable, Codable {
    /// Files added, changed or deleted.
    public var files: Int
    /// Lines only in the new versions (counted as a multiset per file).
    public var addedLines: Int
    /// Lines only in the old versions.
    public var removedLines: Int

    public init(files: Int = 0, addedLines: Int = 0, removedLines: Int = 0) {
        self.files = files
        self.addedLines = addedLines
        self.removedLines = removedLines
    }

    /// Added plus removed lines, what `review.max_changed_lines` limits.
    public var changedLines: Int { addedLines + removedLines }
}

/// What policy says about one proposal.
///
/// Encoding leaves out `edits` (their content is in the commit, and a refused proposal's content
/// must not reach a run record): a decoded verdict has no edits.
public struct PolicyVerdict: Sendable, Codable {
    /// Reasons the run fails; nothing is written.
    public var blocked: [PolicyFinding]
    /// Reasons the proposal must wait for the operator, even from an `auto` agent.
    public var needsReview: [PolicyFinding]
    /// The edits to commit: paths normalized by `PathGuard`, no-ops removed, in the agent's order.
    public var edits: [ProposedEdit]
    /// Files and lines the edits change.
    public var size: ProposalSize
    /// Credentials found in written content (redacted).
    public var secrets: [SecretFinding]

    /// True when the proposal must not be committed.
    public var isBlocked: Bool { !blocked.isEmpty }

    public init(blocked: [PolicyFinding] = [], needsReview: [PolicyFinding] = [], edits: [ProposedEdit] = [],
                size: ProposalSize = ProposalSize(), secrets: [SecretFinding] = []) {
        self.blocked = blocked
        self.needsReview = needsReview
        self.edits = edits
        self.size = size
        self.secrets = secrets
    }

    enum CodingKeys: String, CodingKey {
        case blocked
        case needsReview = "needs_review"
        case size, secrets
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        blocked = try c.decode([PolicyFinding].self, forKey: .blocked)
        needsReview = try c.decode([PolicyFinding].self, forKey: .needsReview)
        size = try c.decode(ProposalSize.self, forKey: .size)
        secrets = try c.decodeIfPresent([SecretFinding].self, forKey: .secrets) ?? []
        edits = []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(blocked, forKey: .blocked)
        try c.encode(needsReview, forKey: .needsReview)
        try c.encode(size, forKey: .size)
        try c.encode(secrets, forKey: .secrets)
    }
}

/// Checks an agent's proposed edits against the policy and the base commit (design invariant 2).
///
/// Blocks (the run fails, nothing is written): paths `PathGuard` refuses; two edits of one file
/// (also `a.md` and `./a.md`, or names that differ only by case or Unicode normalization, which
/// would clash on macOS and Windows); a path that clashes that way with a file already in the
/// base; a path through a symbolic link or through a file of the base; deleting or overwriting a
/// folder; protected paths; paths outside the agent's `writes:`; credentials in written content.
///
/// Needs review (an `auto` agent waits for the operator): more files or changed lines than
/// `review` allows; `memory/core/` growing over its token budget; binary or executable files.
///
/// No-ops (writing a file's current content and mode, deleting a missing file) are dropped
/// without a finding. Protected paths and `secret_scan.allow_paths` match like gitignore: compared
/// after Unicode NFC and case folding, a pattern without a `/` matches a file or folder name at
/// any depth (`.git*` covers `memory/.gitattributes`), a pattern with one is anchored at the vault
/// root, and a pattern that matches a folder covers everything in it. `writes:` globs are matched
/// exactly, as `Glob` does: an allow-list is read strictly.
///
/// The gate only reads the base: it never writes objects, refs or files.
public struct PolicyGate {
    public let policy: Policy
    public let scanner: SecretScanner

    public init(policy: Policy, scanner: SecretScanner = SecretScanner()) {
        self.policy = policy
        self.scanner = scanner
    }

    /// The verdict on `edits` by `agent` against `base`.
    public func evaluate(edits: [ProposedEdit], agent: AgentDefinition, base: BaseSnapshot) -> PolicyVerdict {
        var verdict = PolicyVerdict()
        func block(_ rule: String, _ path: String?, _ message: String) {
            verdict.blocked.append(PolicyFinding(rule: rule, path: path, message: message))
        }
        func review(_ rule: String, _ path: String?, _ message: String) {
            verdict.needsReview.append(PolicyFinding(rule: rule, path: path, message: message))
        }

        // 1. Paths: normalize, and refuse two edits of the same file however spelled.
        var candidates: [(raw: String, edit: ProposedEdit)] = []
        var seen: [String: String] = [:]  // comparable path → raw path of the first edit
        for edit in edits {
            let normalized: String
            do {
                normalized = try PathGuard.normalize(edit.path)
            } catch {
                block(PolicyFinding.Rule.path, edit.path, error.reason)
                continue
            }
            let key = PathGuard.comparable(normalized)
            if let first = seen[key] {
                block(PolicyFinding.Rule.path, edit.path,
                      "paths collide: '\(Self.display(first))' and '\(Self.display(edit.path))' name the same file"
                      + (first == edit.path ? "" : " (they differ only by spelling, case or Unicode normalization)"))
                continue
            }
            seen[key] = edit.path
            var copy = edit
            copy.path = normalized
            candidates.append((edit.path, copy))
        }
        // A path that one edit writes as a file and another uses as a folder.
        let writtenFiles = Set(candidates.filter { $0.edit.action == .write }.map { PathGuard.comparable($0.edit.path) })
        for (raw, edit) in candidates {
            let parts = PathGuard.comparable(edit.path).split(separator: "/")
            for depth in parts.indices.dropLast() {
                let folder = parts[...depth].joined(separator: "/")
                if writtenFiles.contains(folder) {
                    block(PolicyFinding.Rule.path, raw,
                          "paths collide: '\(folder)' is written as a file by this proposal and used as a folder here")
                    break
                }
            }
        }

        // 2. The base: symbolic links, files used as folders, case clashes, folders; then no-ops.
        let deleted = Set(candidates.filter { $0.edit.action == .delete }.map(\.edit.path))
        let walker = BaseWalker(base: base, deleted: deleted)
        var effective: [(raw: String, edit: ProposedEdit, old: TreeEntry?)] = []
        var changing: [(raw: String, edit: ProposedEdit)] = []  // every edit but the no-ops, blocked or not
        for (raw, edit) in candidates {
            let state: BaseWalker.State
            do {
                state = try walker.inspect(edit.path)
            } catch {
                block(PolicyFinding.Rule.base, raw, "could not read the base commit \(base.commit.short()): \(error)")
                changing.append((raw, edit))
                continue
            }
            if case .missing = state, edit.action == .delete { continue }  // deleting a missing file: a no-op
            changing.append((raw, edit))
            var old: TreeEntry? = nil
            switch state {
            case .missing:
                break
            case .entry(let entry):
                switch entry.kind {
                case .symlink:
                    block(PolicyFinding.Rule.symlink, raw,
                          "is a symbolic link in the base; agents cannot change links or write through them")
                    continue
                case .tree:
                    block(edit.action == .delete ? PolicyFinding.Rule.edit : PolicyFinding.Rule.path, raw,
                          edit.action == .delete
                          ? "is a folder; an edit can only delete files, one by one"
                          : "is a folder in the base; writing a file there would replace everything in it")
                    continue
                case .submodule:
                    block(PolicyFinding.Rule.path, raw, "is a submodule; agents cannot change submodules")
                    continue
                case .blob, .executable:
                    old = entry
                }
            case .throughSymlink(let link):
                block(PolicyFinding.Rule.symlink, raw,
                      "'\(link)' is a symbolic link in the base; writing through it could leave the vault")
                continue
            case .throughFile(let file):
                block(PolicyFinding.Rule.symlink, raw,
                      "'\(file)' is a file in the base, not a folder, so nothing can be created under it")
                continue
            case .clash(let existing):
                block(PolicyFinding.Rule.path, raw,
                      "paths collide: the base has '\(Self.display(existing))', which differs only by case or Unicode normalization")
                continue
            }
            if edit.action == .write {
                guard let content = edit.content else {
                    block(PolicyFinding.Rule.edit, raw, "a write needs content")
                    continue
                }
                if let old, old.kind == (edit.executable ? .executable : .blob),
                   let oid = try? Repository.hashBlob(content), oid == old.oid {
                    changing.removeLast()
                    continue  // same content and mode: a no-op
                }
            }
            effective.append((raw, edit, old))
        }
        verdict.edits = effective.map(\.edit)

        // 3. Where the agent may write (also for edits already refused above, to name every reason).
        let writes = agent.writes.map { Glob($0.precomposedStringWithCanonicalMapping) }
        for (raw, edit) in changing {
            if let pattern = protectedPattern(for: edit.path) {
                block(PolicyFinding.Rule.protected, raw,
                      "is protected by policy ('\(pattern)'); agents can never change it")
            }
            if !writes.anyMatches(edit.path) {
                block(PolicyFinding.Rule.writes, raw, agent.writes.isEmpty
                      ? "agent '\(agent.name)' has no `writes:` globs, so it may not change any file"
                      : "agent '\(agent.name)' may only write \(agent.writes.joined(separator: ", "))")
            }
        }

        // 4. Content, and the size of the change.
        var size = ProposalSize(files: effective.count)
        for (raw, edit, old) in effective {
            let oldContent = old.flatMap { try? base.repository.blob($0.oid) } ?? Data()
            let newContent = edit.action == .write ? (edit.content ?? Data()) : Data()
            let oldLines = Self.lineCounts(oldContent), newLines = Self.lineCounts(newContent)
            for (line, n) in newLines { size.addedLines += max(0, n - (oldLines[line] ?? 0)) }
            for (line, n) in oldLines { size.removedLines += max(0, n - (newLines[line] ?? 0)) }
            guard edit.action == .write else { continue }

            if SecretScanner.isBinary(newContent) {
                review(PolicyFinding.Rule.binary, raw,
                       "is binary (\(newContent.count) bytes with NUL bytes); agents normally write text, so look at it before it merges")
            }
            if edit.executable && old?.kind != .executable {
                review(PolicyFinding.Rule.executable, raw, "would be made executable")
            }
            if policy.secretScan.enabled, !isAllowedSecretPath(edit.path) {
                let lines = newContent.split(separator: 0x0A, omittingEmptySubsequences: false)
                for finding in scanner.scan(path: edit.path, data: newContent) {
                    // A line that is already in the base version of the file was not written by the agent.
                    if finding.line <= lines.count, oldLines[Data(lines[finding.line - 1])] != nil { continue }
                    verdict.secrets.append(finding)
                    block(PolicyFinding.Rule.secret, raw,
                          "line \(finding.line): looks like a credential (\(finding.rule), \(finding.excerpt)); remove it, "
                          + "or add `\(SecretScanner.allowMarker)` to the line if it is not one")
                }
            }
        }
        verdict.size = size
        if size.files > policy.review.maxFiles {
            review(PolicyFinding.Rule.size, nil,
                   "changes \(size.files) files, more than review.max_files (\(policy.review.maxFiles))")
        }
        if size.changedLines > policy.review.maxChangedLines {
            review(PolicyFinding.Rule.size, nil,
                   "changes \(size.changedLines) lines (+\(size.addedLines) −\(size.removedLines)), more than review.max_changed_lines (\(policy.review.maxChangedLines))")
        }

        // 5. The always-loaded core memory and its token budget.
        let corePrefix = "memory/core/"
        let coreEdits = effective.filter { PathGuard.comparable($0.edit.path).hasPrefix(corePrefix) }
        if !coreEdits.isEmpty {
            do {
                var tokens: [String: Int] = [:]
                for file in try base.files(matching: [Glob(corePrefix + "**")]) {
                    tokens[file.path] = ContextItem.estimateTokens(try base.repository.blob(file.oid).count)
                }
                let before = tokens.values.reduce(0, +)
                for (_, edit, _) in coreEdits {
                    tokens[edit.path] = edit.action == .write ? ContextItem.estimateTokens(edit.content?.count ?? 0) : nil
                }
                let after = tokens.values.reduce(0, +)
                let budget = policy.memory.coreTokenBudget
                if after > budget && after > before {
                    review(PolicyFinding.Rule.coreBudget, nil,
                           "memory/core/ would grow from ~\(before) to ~\(after) tokens, over memory.core_token_budget (\(budget))")
                }
            } catch {
                block(PolicyFinding.Rule.base, nil, "could not read memory/core/ in the base commit \(base.commit.short()): \(error)")
            }
        }
        return verdict
    }

    // MARK: Path rules

    /// The protected pattern that covers `path` (a normalized vault-relative path), or nil.
    public func protectedPattern(for path: String) -> String? {
        policy.effectiveProtectedPaths.first { Self.matchesLikeGitignore(pattern: $0, path: path) }
    }

    /// True when `secret_scan.allow_paths` exempts `path` from the secret scan.
    public func isAllowedSecretPath(_ path: String) -> Bool {
        policy.secretScan.allowPaths.contains { Self.matchesLikeGitignore(pattern: $0, path: path) }
    }

    /// Matches `path` against `pattern` the way protected paths are read.
    ///
    /// Both are compared in `PathGuard.comparable` form (NFC, lower case). A pattern without a `/`
    /// (a trailing one aside) matches any single file or folder name at any depth; otherwise it is
    /// anchored at the root. Either way, matching a folder above `path` counts, as in gitignore.
    public static func matchesLikeGitignore(pattern: String, path: String) -> Bool {
        var trimmed = PathGuard.comparable(pattern)
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard !trimmed.isEmpty else { return false }
        let glob = Glob(trimmed)
        let parts = PathGuard.comparable(path).split(separator: "/").map(String.init)
        if !trimmed.contains("/") {
            return parts.contains { glob.matches($0) }
        }
        var prefix = ""
        for part in parts {
            prefix = prefix.isEmpty ? part : prefix + "/" + part
            if glob.matches(prefix) { return true }
        }
        return false
    }

    // MARK: Helpers

    /// How often each line occurs; a final line without a newline counts.
    static func lineCounts(_ data: Data) -> [Data: Int] {
        var counts: [Data: Int] = [:]
        var lines = data.split(separator: 0x0A, omittingEmptySubsequences: false)
        if lines.last?.isEmpty == true { lines.removeLast() }
        for line in lines { counts[Data(line), default: 0] += 1 }
        return counts
    }

    /// `path` with control characters shown as `\u{…}` escapes, safe to print.
    static func display(_ path: String) -> String {
        var out = ""
        for scalar in path.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F {
                out += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

/// Looks up proposed paths in the base tree, reading each tree once.
private final class BaseWalker {
    enum State {
        /// Nothing at the path (folders above it may be missing too).
        case missing
        /// An entry at exactly this path.
        case entry(TreeEntry)
        /// A folder above the path is a symbolic link (its path).
        case throughSymlink(String)
        /// A folder above the path is a file (its path).
        case throughFile(String)
        /// A name on the way differs from an existing one only by case or Unicode normalization.
        case clash(String)
    }

    let base: BaseSnapshot
    /// Files this proposal deletes: a folder may replace one of them.
    let deleted: Set<String>
    private var trees: [OID: Tree] = [:]

    init(base: BaseSnapshot, deleted: Set<String>) {
        self.base = base
        self.deleted = deleted
    }

    func tree(_ oid: OID) throws -> Tree {
        if let t = trees[oid] { return t }
        let t = try base.repository.tree(oid)
        trees[oid] = t
        return t
    }

    /// What the base has at the normalized `path`.
    func inspect(_ path: String) throws -> State {
        let parts = path.split(separator: "/").map(String.init)
        var oid = base.tree
        var prefix = ""
        for (index, name) in parts.enumerated() {
            let here = prefix + name
            let isLast = index == parts.count - 1
            // A direct lookup (libgit2's sorted search) when the name exists; the full listing, which costs
            // a Swift value per entry, only to look for case or normalization clashes.
            if let entry = try base.repository.entry(at: name, in: oid) {
                if isLast { return .entry(entry) }
                switch entry.kind {
                case .tree:
                    oid = entry.oid
                    prefix = here + "/"
                case .symlink:
                    return .throughSymlink(here)
                case .blob, .executable:
                    return deleted.contains(here) ? .missing : .throughFile(here)
                case .submodule:
                    return .throughFile(here)
                }
            } else {
                let key = PathGuard.comparable(name)
                if let other = try tree(oid).entries.first(where: { PathGuard.comparable($0.name) == key }) {
                    return .clash(prefix + other.name)
                }
                return .missing
            }
        }
        return .missing
    }
}
