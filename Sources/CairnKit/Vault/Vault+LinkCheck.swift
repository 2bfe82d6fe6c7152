import CairnGit
import Foundation

/// A link that does not lead where it says.
public struct LinkProblem: Sendable, Codable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        /// No file has that name or path: a note not written yet, in Obsidian's words "unresolved".
        case unresolved
        /// The note exists but has no such heading.
        case missingHeading = "missing-heading"
        /// The note exists but has no such block identifier.
        case missingBlock = "missing-block"
        /// A canvas file card names a file that does not exist.
        case missingFile = "missing-file"
    }
    /// The note holding the link.
    public let path: String
    public let line: Int
    /// The link as cairn read it (`[[Target#Heading]]`, `![[image.png]]`, `(folder/x.md)`).
    public let link: String
    public let kind: Kind
    /// The note the link resolved to, for missing headings and blocks.
    public let resolved: String?
    /// For a link on a canvas: the `id` of its card (a text card holding the link, or a file card).
    public var card: String? = nil

    public var reason: String {
        let place = card.map { " in card \($0)" } ?? ""
        return switch kind {
        case .unresolved: "unresolved link \(link)\(place): no file has that name or path"
        case .missingHeading: "link \(link)\(place) leads to \(resolved ?? "?"), which has no such heading"
        case .missingBlock: "link \(link)\(place) leads to \(resolved ?? "?"), which has no such block (^id)"
        case .missingFile: "file card \(card ?? "?") shows \(link), which does not exist"
        }
    }

    public var description: String { "\(path):\(line): \(reason)" }
}

/// Every link of the vault checked the way Obsidian resolves it (`LinkResolver`).
public struct LinkCheckReport: Sendable, Codable {
    /// Markdown notes whose links were read (templates and dot-folders are not notes).
    public let notes: Int
    /// Files a link may point at (notes and attachments).
    public let files: Int
    /// Links read: wikilinks and embeds in bodies, relative Markdown links, wikilinks in properties, and on canvas
    /// boards the links of text cards and the files of file cards.
    public let links: Int
    /// Links whose name matched several files (resolved by the tie-break of `LinkResolver`).
    public let ambiguous: Int
    /// Links to files that do not exist (yet): normal in Obsidian, counted, listed on request.
    public let unresolved: [LinkProblem]
    /// Links to a heading or block that the existing note does not have, and canvas file cards showing a file that
    /// does not exist: something was renamed or deleted.
    public let brokenAnchors: [LinkProblem]
}

extension Vault {
    /// Reads every note of the working tree (committed or not; ignored files, dot-folders and template folders
    /// left out) and resolves each of its links against every file of the vault.
    ///
    /// Writes nothing but the stat cache of `WorktreeChanges`. Cost: one read of each note and one index lookup per link.
    public func checkLinks() throws -> LinkCheckReport {
        try readNotes(validating: false).links
    }

    /// What one read of every note found: the link check, and the problems of the notes named in `validating`.
    struct NotesRead {
        var links: LinkCheckReport
        /// In path order.
        var problems: [ValidationProblem]
        /// Notes validated.
        var validated: Int
    }

    /// One note as the link check (and `doctor`'s validation) needs it, without its text.
    struct NoteFacts {
        var links: [CheckedLink] = []
        var names: [String] = []
        var anchors: NoteAnchors? = nil
        var isLinkNote = false
        var problem: ValidationProblem? = nil
    }

    /// Every note's links and the resolver they resolve with: what the link check, `cairn links NOTE` and doctor
    /// share, so that a link resolves one way everywhere.
    struct LinkGraph {
        /// Every file a link may lead to (notes and attachments, outside dot-folders), in path order.
        var files: [String]
        /// The notes whose links count (Markdown, not templates), in path order.
        var linkNotes: [String]
        /// What was read of each note of `linkNotes` (and of each note validated).
        var facts: [String: NoteFacts]
        var resolver: LinkResolver
        var problems: [ValidationProblem]
        var validated: Int
        /// The cards of each canvas file (`.canvas`, JSON Canvas), in path order.
        var canvases: [(path: String, cards: [CanvasCard])] = []
    }

    /// The link check of `checkLinks`, plus (`validating`) the validation `validateNoteContent` does of every
    /// Markdown note but templates, dot-folders included (those outside the link check's set are read for that alone).
    func readNotes(validating: Bool, progress: ProgressHandler? = nil) throws -> NotesRead {
        let graph = try readLinkGraph(validating: validating, progress: progress)
        return NotesRead(links: graph.check(), problems: graph.problems, validated: graph.validated)
    }

    /// Reads every note of the working tree once, a batch at a time on every core, keeping only its links, names
    /// and anchors, and indexes every file of the vault for `LinkResolver` (aliases and titles included).
    func readLinkGraph(validating: Bool, progress: ProgressHandler? = nil) throws -> LinkGraph {
        let tree = try head().map { try repository.commit($0).tree }
        let settings = ObsidianSettings.read(root: root)
        let all = try workingTreeFiles(tree: tree)
        let files = all.map(\.path).filter { !$0.hasPrefix(".") && !$0.contains("/.") }
        let linkNotes = files.filter { $0.lowercased().hasSuffix(".md") && !settings.isTemplate($0) }
        // What `doctor` validates: every Markdown note, dot-folders included, but not symbolic links of the tree.
        let validate = validating ? Set(all.filter { !$0.symlink && $0.path.lowercased().hasSuffix(".md") && !settings.isTemplate($0.path) }
            .map(\.path)) : []
        let paths = Array(Set(linkNotes).union(validate)).sorted()
        let linked = Set(linkNotes)
        let root = self.root

        var facts: [String: NoteFacts] = [:]
        facts.reserveCapacity(linkNotes.count)
        var problems: [ValidationProblem] = []
        let batchSize = 1024
        var reporter = ProgressReporter(progress, task: "checking notes", total: paths.count, every: batchSize)
        for start in stride(from: 0, to: paths.count, by: batchSize) {
            let batch = Array(paths[start..<min(paths.count, start + batchSize)])
            let results = parallelResults(count: batch.count) { i -> NoteFacts? in
                let path = batch[i]
                guard let data = FileManager.default.contents(atPath: root + "/" + path) else { return nil }
                return Self.noteFacts(path: path, data: data, links: linked.contains(path), validate: validate.contains(path))
            }
            for (i, found) in results.enumerated() {
                guard let found else { continue }
                if let p = found.problem { problems.append(p) }
                if found.isLinkNote { facts[batch[i]] = found }
            }
            reporter.advance(batch.count)
        }
        reporter.finish()

        var aliases: [String: [String]] = [:]
        for (path, note) in facts where !note.names.isEmpty && linked.contains(path) { aliases[path] = note.names }
        // Canvas boards: their text cards hold Markdown whose links resolve from the canvas file, as a note's do.
        let canvases = files.filter { $0.lowercased().hasSuffix(".canvas") }.compactMap { path in
            FileManager.default.contents(atPath: root + "/" + path).map { (path: path, cards: CanvasCard.read($0)) }
        }
        return LinkGraph(files: files, linkNotes: linkNotes, facts: facts, resolver: LinkResolver(paths: files, aliases: aliases),
                         problems: problems, validated: validate.count, canvases: canvases)
    }


    /// Parses one note read from disk: once for both the link check (`links`) and validation (`validate`, as
    /// `validateNoteContent` judges it).
    static func noteFacts(path: String, data: Data, links: Bool, validate: Bool) -> NoteFacts {
        var facts = NoteFacts()
        // Split only: the tags, title and tier a `Note` derives are not needed here.
        let parsed = try? NoteParser.split(path: path, data: data)
        if validate, parsed == nil || isAgentDefinition(path) {
            facts.problem = validateNoteContent(path: path, data: data)
        }
        if links {
            // Read as an editor shows it: front matter that does not parse counts as none (`NoteParser.lenient`).
            let frontMatter = parsed?.frontMatter
            let body = parsed?.body ?? String(decoding: data, as: UTF8.self)
            facts.isLinkNote = true
            facts.links = Self.links(frontMatter: frontMatter, body: NoteLinks.scan(body, firstLine: (frontMatter?.lines.upperBound ?? 0) + 1))
            // Aliases, and cairn's own convention of linking a note by its front matter `title:`.
            facts.names = (frontMatter?.aliases ?? []) + (frontMatter?.title.map { [$0] } ?? [])
            facts.anchors = NoteAnchors.scan(body)
        }
        return facts
    }

    /// One link of a note, as the checker needs it.
    struct CheckedLink {
        /// The path part (before `#`).
        let target: String
        /// After `#`: heading(s) or `^block`.
        let subpath: String?
        let markdown: Bool
        let line: Int
        /// The wikilink, for `written`.
        var wiki: WikiLink? = nil

        /// The link as reported (made only for links with a problem).
        var written: String {
            if let wiki { return wiki.description }
            return "(" + target + (subpath.map { "#" + $0 } ?? "") + ")"
        }
    }

    /// Wikilinks and embeds of the body, relative Markdown links, and wikilinks inside front matter values
    /// (Obsidian's "Properties": `related: "[[Note]]"`); `body` is what `NoteLinks.scan` found in the note's body.
    static func links(frontMatter: FrontMatter?, body: NoteLinks) -> [CheckedLink] {
        var out: [CheckedLink] = []
        if let block = frontMatter?.block, block.utf8.contains(0x5B) {
            for w in NoteLinks.scan(block, firstLine: frontMatter?.lines.lowerBound ?? 1).wikiLinks {
                out.append(CheckedLink(target: w.target, subpath: w.heading, markdown: false, line: w.line, wiki: w))
            }
        }
        for w in body.wikiLinks {
            out.append(CheckedLink(target: w.target, subpath: w.heading, markdown: false, line: w.line, wiki: w))
        }
        for m in body.markdownLinks {
            out.append(CheckedLink(target: m.target, subpath: m.fragment, markdown: true, line: m.line))
        }
        return out
    }

    /// Every file of the branch tree plus untracked ones, present in the working tree, outside dot-folders
    /// (`.obsidian/`, `.cairn/`, `.trash/`: Obsidian does not show them, links cannot reach them).
    func vaultFiles(tree: OID?) -> [String] {
        ((try? workingTreeFiles(tree: tree)) ?? []).map(\.path).filter { !$0.hasPrefix(".") && !$0.contains("/.") }
    }

    /// Every file of the working tree git would record, in path order: the files of `tree` less those the operator
    /// deleted, plus the untracked ones (ignored files left out), as `WorktreeChanges` finds them (no file is
    /// statted twice); `symlink` for a symbolic link of the tree.
    func workingTreeFiles(tree: OID?) throws -> [(path: String, symlink: Bool)] {
        var files: [String: Bool] = [:]
        if let tree {
            for f in try repository.files(in: tree) { files[f.path] = f.mode == TreeChange.symlinkMode }
        }
        for e in try workingTreeEdits(against: tree) {
            if e.kind == .deleted { files[e.path] = nil; continue }
            if let old = e.oldPath { files[old] = nil }
            if files[e.path] == nil { files[e.path] = false }
        }
        return files.map { (path: $0.key, symlink: $0.value) }.sorted { $0.path < $1.path }
    }
}

/// The counts of a link check, as `cairn doctor` reports them.
public struct LinkSummary: Sendable, Codable, Hashable {
    public let links: Int
    public let files: Int
    public let ambiguous: Int
    public let unresolved: Int
    public let brokenAnchors: Int

    public init(_ report: LinkCheckReport) {
        links = report.links
        files = report.files
        ambiguous = report.ambiguous
        unresolved = report.unresolved.count
        brokenAnchors = report.brokenAnchors.count
    }
}

extension Vault.LinkGraph {
    /// Every link of every note resolved: the counts, the unresolved links, and the links to a heading or block that
    /// the note they lead to does not have.
    func check() -> LinkCheckReport {
        var count = 0, ambiguous = 0
        var unresolved: [LinkProblem] = [], broken: [LinkProblem] = []
        var notes = 0
        func check(_ link: Vault.CheckedLink, from path: String, card: String? = nil) {
            count += 1
            guard let found = resolver.resolve(link.target, from: path, markdown: link.markdown) else {
                unresolved.append(LinkProblem(path: path, line: link.line, link: link.written, kind: .unresolved, resolved: nil, card: card))
                return
            }
            if found.ambiguous { ambiguous += 1 }
            guard let subpath = link.subpath, found.path.utf8.count > 3, found.path.lowercased().hasSuffix(".md"),
                  let target = facts[found.path]?.anchors else { return }
            if subpath.hasPrefix("^") {
                if !target.blocks.contains(subpath.dropFirst().lowercased()) {
                    broken.append(LinkProblem(path: path, line: link.line, link: link.written, kind: .missingBlock, resolved: found.path, card: card))
                }
            } else {
                let missing = subpath.split(separator: "#").map { NoteAnchors.normalizeHeading($0) }
                    .contains { !$0.isEmpty && !target.headings.contains($0) }
                if missing {
                    broken.append(LinkProblem(path: path, line: link.line, link: link.written, kind: .missingHeading, resolved: found.path, card: card))
                }
            }
        }
        for path in linkNotes {
            guard let note = facts[path] else { continue }
            notes += 1
            for link in note.links { check(link, from: path) }
        }
        let existing = canvases.isEmpty ? [] : Set(files)
        for canvas in canvases {
            for card in canvas.cards {
                if let file = card.file {
                    count += 1
                    if existing.contains(file) { continue }
                    broken.append(LinkProblem(path: canvas.path, line: card.line, link: file, kind: .missingFile, resolved: nil, card: card.id))
                }
                for link in card.links { check(link, from: canvas.path, card: card.id) }
            }
        }
        let report = LinkCheckReport(notes: notes, files: files.count, links: count, ambiguous: ambiguous,
                                     unresolved: unresolved, brokenAnchors: broken)
        return report
    }
}
