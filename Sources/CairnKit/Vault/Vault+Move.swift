import CairnGit
import Foundation

/// A link whose text a move changed.
public struct LinkUpdate: Sendable, Codable, Hashable, CustomStringConvertible {
    /// The note holding the link (its path after the move).
    public let path: String
    public let line: Int
    /// The link's path as it was written, and as it is now.
    public let old: String
    public let new: String

    public var description: String { "\(path):\(line): \(old) -> \(new)" }
}

/// What `cairn mv` did (or, with `dryRun`, would do).
public struct MoveResult: Sendable, Codable {
    public struct Moved: Sendable, Codable, Hashable {
        public let from: String
        public let to: String
    }
    /// The commit on main; nil for a dry run.
    public let commit: String?
    /// The operator's pending edits committed first (nil when there were none, or for a dry run).
    public let snapshot: String?
    public let moved: [Moved]
    public let links: [LinkUpdate]
    /// Files the move left alone in the working tree because the operator edited them meanwhile.
    public let kept: [String]
}

extension Vault {
    /// Moves or renames a file or folder of the vault and updates, in the same commit, every link whose target
    /// moved — as Obsidian does with "Automatically update internal links" — then updates the working tree.
    ///
    /// Every link of every note (body wikilinks, embeds, Markdown links, wikilinks in properties) is resolved as
    /// Obsidian would before the move (`LinkResolver`); a link is rewritten only when, after the move, it would no
    /// longer lead to the same file (its target moved, or a relative link's note moved, or a moved file now takes
    /// its name). The new link path follows the vault's "New link format" (`.obsidian/app.json`); only the path part
    /// changes — `#heading`, `|display text`, the `!` of embeds, every other byte of the note stay as they were.
    /// Unresolved links are left alone; links in templates are updated too, as Obsidian does.
    ///
    /// The operator's pending edits are committed first (`snapshot`), so nothing in the working tree is lost; the
    /// move is one operator commit (`Cairn-Operation: move`) made from trees, and main moves by compare-and-swap.
    /// Bad arguments (no such file, a destination that exists, a path out of the vault) write nothing.
    public func move(_ from: String, to: String, author: OperatorIdentity, now: Date, dryRun: Bool = false) throws -> MoveResult {
        let source = try Self.movePath(from, role: "source")
        let destination = try Self.movePath(to, role: "destination")
        guard !dryRun else {
            guard let main = try head() else { throw VaultError.invalidArgument("\(branch) has no commit yet; run `cairn snapshot` first") }
            let plan = try planMove(source, to: destination, tree: try repository.commit(main).tree)
            return MoveResult(commit: nil, snapshot: nil, moved: plan.moved, links: plan.links, kept: [])
        }
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        try prepareForWrite(now: now)
        try precheckMove(source, to: destination)
        let snapshot = try snapshotLocked(SnapshotOptions(message: "Snapshot before moving \(source)"), author: author, now: now)
        for _ in 0..<5 {
            guard let main = try head() else { throw VaultError.invalidArgument("\(branch) has no commit yet; run `cairn snapshot` first") }
            let mainCommit = try repository.commit(main)
            let plan = try planMove(source, to: destination, tree: mainCommit.tree)
            let sig = Signature(name: author.name, email: author.email, time: now)
            let subject = plan.moved.count == 1 ? "Move \(plan.moved[0].from) to \(plan.moved[0].to)" : "Move \(source) to \(destination)"
            var body = ""
            if !plan.links.isEmpty {
                let notes = Set(plan.links.map(\.path)).count
                body = "Links updated: \(plan.links.count) in \(notes) note\(notes == 1 ? "" : "s")."
            }
            let message = Trailer.message(subject: subject, body: body, trailers: [Trailer("Cairn-Operation", "move")])
            let commit = try repository.createCommit(tree: plan.tree, parents: [main], author: sig, committer: sig, message: message)
            do {
                let result = try moveMain(from: mainCommit, to: commit, newTree: plan.tree, message: "cairn mv \(source) \(destination)", as: .move)
                if plan.moved.count > 1 || plan.moved.first?.from != source { removeEmptyFolders(under: source) }
                return MoveResult(commit: commit.hex, snapshot: snapshot.commit, moved: plan.moved, links: plan.links, kept: result.kept)
            } catch VaultError.concurrentUpdate {
                continue
            }
        }
        throw VaultError.concurrentUpdate(ref: branchRef)
    }

    /// A path given to `cairn mv`, normalized; refuses paths out of the vault and into dot-folders.
    static func movePath(_ raw: String, role: String) throws -> String {
        let path: String
        do {
            path = try PathGuard.normalize(raw.hasSuffix("/") ? String(raw.dropLast()) : raw)
        } catch {
            throw VaultError.invalidArgument("\(role) '\(raw)': \(error.reason)")
        }
        if path.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
            throw VaultError.invalidArgument("\(role) '\(raw)': cairn mv does not move files in or into dot-folders (.obsidian, .cairn…)")
        }
        return path
    }

    /// Refuses, before anything is committed, a move whose source is neither in the working tree nor on the branch,
    /// or whose destination is taken (an existing folder is fine: the source goes inside it).
    func precheckMove(_ source: String, to destination: String) throws {
        let fm = FileManager.default
        let tree = try head().map { try repository.commit($0).tree }
        let inTree = try tree.flatMap { try repository.entry(at: source, in: $0) } != nil
        var isDir: ObjCBool = false
        guard inTree || fm.fileExists(atPath: absolutePath(source)) else {
            throw VaultError.invalidArgument("no file or folder '\(source)' in \(branch)")
        }
        if fm.fileExists(atPath: absolutePath(destination), isDirectory: &isDir) {
            let sourceIsDir = (try? fm.attributesOfItem(atPath: absolutePath(source))[.type] as? FileAttributeType) == .typeDirectory
            if !isDir.boolValue || fm.fileExists(atPath: absolutePath(destination) + "/" + LinkResolver.fileName(source)) || (sourceIsDir && destination == source) {
                throw VaultError.invalidArgument("'\(destination)' already exists; choose another name or move it first")
            }
        }
    }

    struct MovePlan {
        let tree: OID
        let moved: [MoveResult.Moved]
        let links: [LinkUpdate]
    }

    /// The tree with `source` (a file or a folder of `tree`) at `destination` and the links that lead to what moved
    /// rewritten. An existing folder as destination receives `source` inside it, as `mv` does.
    func planMove(_ source: String, to destination: String, tree: OID) throws -> MovePlan {
        var target = destination
        if let entry = try repository.entry(at: destination, in: tree), entry.kind == .tree {
            target = destination + "/" + LinkResolver.fileName(source)
        }
        let files = try repository.files(in: tree)
        var moves: [String: String] = [:]
        if let file = files.first(where: { $0.path == source }) {
            moves[file.path] = target
        } else {
            for file in files where file.path.hasPrefix(source + "/") {
                moves[file.path] = target + file.path.dropFirst(source.count)
            }
        }
        guard !moves.isEmpty else { throw VaultError.invalidArgument("no file or folder '\(source)' in \(branch)") }
        guard target != source else { throw VaultError.invalidArgument("'\(source)' is already there") }
        if target.hasPrefix(source + "/") { throw VaultError.invalidArgument("cannot move '\(source)' into itself ('\(target)')") }
        let staying = Set(files.map(\.path)).subtracting(moves.keys)
        for new in moves.values.sorted() {
            // A file, or a folder, already at the new path (or a file where the new path needs a folder).
            let parts = new.split(separator: "/")
            let clash = staying.contains(new) || staying.contains { $0.hasPrefix(new + "/") }
                || parts.indices.dropLast().contains { staying.contains(parts[...$0].joined(separator: "/")) }
            if clash || (!moves.keys.contains(new) && FileManager.default.fileExists(atPath: absolutePath(new))) {
                throw VaultError.invalidArgument("'\(new)' already exists; choose another name or move it first")
            }
        }
        let byPath = Dictionary(files.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        var changes: [TreeChange] = []
        for (old, new) in moves {
            let file = byPath[old]!
            changes.append(.remove(path: old))
            changes.append(.upsert(path: new, oid: file.oid, mode: file.mode))
        }
        let moved = try repository.updateTree(base: tree, changes: changes)
        let update = try updateLinks(before: tree, after: moved, moves: moves)
        return MovePlan(tree: update.tree, moved: moves.map { MoveResult.Moved(from: $0.key, to: $0.value) }.sorted { $0.from < $1.from },
                        links: update.links)
    }

    /// `after` (a tree where the files of `moves`, old path → new path, have moved from where they are in
    /// `before`) with each link rewritten that no longer leads where it led in `before`.
    func updateLinks(before: OID, after: OID, moves: [String: String]) throws -> (tree: OID, links: [LinkUpdate]) {
        let rewrites = try linkRewrites(before: before, after: after, moves: moves)
        guard !rewrites.isEmpty else { return (after, []) }
        let tree = try repository.updateTree(base: after, changes: rewrites.map { .upsert(path: $0.path, oid: $0.blob, mode: $0.mode) })
        return (tree, rewrites.flatMap(\.links))
    }

    /// Above this many moved files, `linkRewrites` parses every note instead of searching each for every name.
    static let needleLimit = 64

    /// One file whose links a move rewrote: its new blob and the links that changed.
    struct LinkRewrite {
        let path: String
        let blob: OID
        let mode: UInt32
        let links: [LinkUpdate]
    }

    /// The files of `after` (a tree where the files of `moves`, old path → new path, have moved from where they are
    /// in `before`) whose links no longer lead where they led in `before`, each with its links rewritten (blobs are
    /// written, no tree is), in path order. The one rewrite `cairn mv` and a proposal's renames share.
    ///
    /// Notes are read from `after` (so an edit made with the move is kept); the vault's settings come from the
    /// working tree. Cost: one read of each note and a byte search in it (`LinkNeedles`); a parse and a resolver
    /// lookup per link, twice, of the notes that moved and of those whose bytes can name what moved. A link whose
    /// resolution a move can change names a moved file (old or new name, or an alias), or sits in a moved note: the
    /// others resolve the same before and after. Moves of more than `needleLimit` files parse every note
    /// (`filter: false` too, for tests that compare both ways).
    func linkRewrites(before: OID, after: OID, moves: [String: String], filter: Bool = true) throws -> [LinkRewrite] {
        guard !moves.isEmpty else { return [] }
        let settings = ObsidianSettings.read(root: root)
        let back = Dictionary(moves.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        let files = try repository.files(in: after).filter { !$0.path.hasPrefix(".") && !$0.path.contains("/.") }
        let noteFiles = files.filter { $0.path.lowercased().hasSuffix(".md") && $0.mode != TreeChange.symlinkMode }
        var needles: LinkNeedles?
        if filter && moves.count <= Self.needleLimit {
            // What a link to a moved file spells: its old or new name, or an alias or title it declares.
            var names: [String] = []
            for (old, new) in moves {
                names += [LinkNeedles.stem(of: old), LinkNeedles.stem(of: new)]
                if let file = noteFiles.first(where: { $0.path == new }) {
                    let note = NoteParser.lenient(path: new, data: try repository.blob(file.oid))
                    names += (note.frontMatter?.aliases ?? []) + (note.frontMatter?.title.map { [$0] } ?? [])
                }
            }
            needles = LinkNeedles(names: names, targets: Array(moves.keys) + Array(moves.values))
        }
        var notes: [(file: TreeFile, data: Data, note: Note)] = []
        var aliasesAfter: [String: [String]] = [:]
        var aliasesBefore: [String: [String]] = [:]
        // Templates are not memory, but Obsidian updates their links like any note's: they are read (their
        // placeholders never resolve, so are never rewritten), and their aliases do not count.
        for file in noteFiles {
            let data = try repository.blob(file.oid)
            if let needles, back[file.path] == nil, !needles.mayLink(from: file.path), !needles.mayLink(data) { continue }
            let note = NoteParser.lenient(path: file.path, data: data)
            let names = (note.frontMatter?.aliases ?? []) + (note.frontMatter?.title.map { [$0] } ?? [])
            if !names.isEmpty && !settings.isTemplate(file.path) {
                aliasesAfter[file.path] = names
                aliasesBefore[back[file.path] ?? file.path] = names
            }
            notes.append((file, data, note))
        }
        let oldResolver = LinkResolver(paths: files.map { back[$0.path] ?? $0.path }, aliases: aliasesBefore)
        let newResolver = LinkResolver(paths: files.map(\.path), aliases: aliasesAfter)
        /// The new path text of link `target` in the file now at `newSource` (at `oldSource` before), or nil when the
        /// link is unresolved or still leads where it led.
        func replacement(_ target: String, markdown: Bool, oldSource: String, newSource: String, angle: Bool) -> String? {
            // A link to the note itself (`[[#Heading]]`) follows it wherever it goes.
            guard !target.isEmpty, let was = oldResolver.resolve(target, from: oldSource, markdown: markdown) else { return nil }
            let expected = moves[was.path] ?? was.path
            if newResolver.resolve(target, from: newSource, markdown: markdown)?.path == expected { return nil }
            return LinkText.path(to: expected, from: newSource, markdown: markdown, format: settings.newLinkFormat,
                                 resolver: newResolver, angleBrackets: angle)
        }
        /// The link edits of `links` (scanned from a note, a property block or a canvas card).
        func edits(_ links: NoteLinks, oldSource: String, newSource: String, markdown: Bool = true) -> [(edit: LinkText.Edit, old: String)] {
            var out: [(edit: LinkText.Edit, old: String)] = []
            for w in links.wikiLinks {
                guard let columns = w.columns,
                      let text = replacement(w.target, markdown: false, oldSource: oldSource, newSource: newSource, angle: false) else { continue }
                out.append((LinkText.Edit(line: w.line, columns: columns, text: text), w.target))
            }
            for m in links.markdownLinks where markdown {
                guard let columns = m.columns,
                      let text = replacement(m.target, markdown: true, oldSource: oldSource, newSource: newSource, angle: m.angleBrackets) else { continue }
                out.append((LinkText.Edit(line: m.line, columns: columns, text: text), m.target))
            }
            return out
        }
        var rewrites: [LinkRewrite] = []
        for (file, data, note) in notes {
            let newSource = file.path
            let oldSource = back[newSource] ?? newSource
            var found: [(edit: LinkText.Edit, old: String)] = []
            if let block = note.frontMatter?.block, block.utf8.contains(0x5B) {
                // Only wikilinks count in properties, as in Obsidian.
                found += edits(NoteLinks.scan(block, firstLine: note.frontMatter?.lines.lowerBound ?? 1),
                               oldSource: oldSource, newSource: newSource, markdown: false)
            }
            found += edits(note.links, oldSource: oldSource, newSource: newSource)
            guard !found.isEmpty else { continue }
            let blob = try repository.writeBlob(LinkText.apply(found.map(\.edit), to: data))
            let updates = found.map { LinkUpdate(path: newSource, line: $0.edit.line, old: $0.old, new: $0.edit.text) }
            rewrites.append(LinkRewrite(path: newSource, blob: blob, mode: file.mode, links: updates.sorted { $0.line < $1.line }))
        }
        // Canvas files name the notes on the board by their path from the root (`"file":"Folder/Note.md"`), and their
        // text cards hold Markdown whose links resolve from the canvas file, as a note's do.
        for file in files where file.path.lowercased().hasSuffix(".canvas") && file.mode != TreeChange.symlinkMode {
            let data = try repository.blob(file.oid)
            let oldSource = back[file.path] ?? file.path
            let rewritten = Self.canvasWithMovedFiles(data, moves: moves) { card in
                let found = edits(NoteLinks.scan(card), oldSource: oldSource, newSource: file.path)
                guard !found.isEmpty else { return nil }
                return (String(decoding: LinkText.apply(found.map(\.edit), to: Data(card.utf8)), as: UTF8.self),
                        found.sorted { ($0.edit.line, $0.edit.columns.lowerBound) < ($1.edit.line, $1.edit.columns.lowerBound) }
                            .map { ($0.old, $0.edit.text) })
            }
            guard rewritten.links > 0 else { continue }
            rewrites.append(LinkRewrite(path: file.path, blob: try repository.writeBlob(rewritten.data), mode: file.mode,
                                        links: rewritten.updates.map { LinkUpdate(path: file.path, line: $0.0, old: $0.1, new: $0.2) }
                                            .sorted { $0.line < $1.line }))
        }
        return rewrites.sorted { $0.path < $1.path }
    }

    /// A JSON Canvas file with each `"file": "path"` whose path moved given its new path, and each text card's
    /// `"text"` rewritten by `textLinks` (the card's Markdown → its new Markdown and the links changed, old and new
    /// path text; nil when none). A changed string is written as Obsidian writes JSON (`JSON.stringify`: `/` and
    /// non-ASCII unescaped); every other byte is kept.
    static func canvasWithMovedFiles(_ data: Data, moves: [String: String],
                                     textLinks: (String) -> (text: String, links: [(old: String, new: String)])? = { _ in nil })
        -> (data: Data, links: Int, updates: [(Int, String, String)]) {
        let text = String(decoding: data, as: UTF8.self)
        guard let regex = try? NSRegularExpression(pattern: #""(file|text)"\s*:\s*("(?:[^"\\]|\\.)*")"#) else { return (data, 0, []) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        var out = text
        var updates: [(Int, String, String)] = []
        for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).reversed() {
            guard let key = Range(match.range(at: 1), in: text), let range = Range(match.range(at: 2), in: text),
                  let old = try? JSONDecoder().decode(String.self, from: Data(text[range].utf8)) else { continue }
            let line = text[..<range.lowerBound].utf8.reduce(1) { $1 == 0x0A ? $0 + 1 : $0 }
            let new: String
            var changed: [(Int, String, String)] = []
            if text[key] == "file" {
                guard let moved = moves[old] else { continue }
                new = moved
                changed = [(line, old, moved)]
            } else {
                guard let card = textLinks(old) else { continue }
                new = card.text
                changed = card.links.map { (line, $0.old, $0.new) }
            }
            guard let encoded = try? encoder.encode(new), let target = Range(match.range(at: 2), in: out) else { continue }
            out.replaceSubrange(target, with: String(decoding: encoded, as: UTF8.self))
            updates += changed.reversed()
        }
        return (Data(out.utf8), updates.count, updates.reversed())
    }

    /// Removes the moved folder `folder` and the folders inside it that the move left empty (rmdir never removes
    /// a folder with anything in it, such as a file git ignores).
    func removeEmptyFolders(under folder: String) {
        func visit(_ path: String) {
            let full = absolutePath(path)
            for name in (try? FileManager.default.contentsOfDirectory(atPath: full)) ?? [] {
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: full + "/" + name, isDirectory: &isDir), isDir.boolValue { visit(path + "/" + name) }
            }
            rmdir(full)
        }
        visit(folder)
    }
}
