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
    }
    /// The note holding the link.
    public let path: String
    public let line: Int
    /// The link as cairn read it (`[[Target#Heading]]`, `![[image.png]]`, `(folder/x.md)`).
    public let link: String
    public let kind: Kind
    /// The note the link resolved to, for missing headings and blocks.
    public let resolved: String?

    public var reason: String {
        switch kind {
        case .unresolved: "unresolved link \(link): no file has that name or path"
        case .missingHeading: "link \(link) leads to \(resolved ?? "?"), which has no such heading"
        case .missingBlock: "link \(link) leads to \(resolved ?? "?"), which has no such block (^id)"
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
    /// Links read: wikilinks and embeds in bodies, relative Markdown links, wikilinks in properties.
    public let links: Int
    /// Links whose name matched several files (resolved by the tie-break of `LinkResolver`).
    public let ambiguous: Int
    /// Links to files that do not exist (yet): normal in Obsidian, counted, listed on request.
    public let unresolved: [LinkProblem]
    /// Links to a heading or block that the existing note does not have: something was renamed.
    public let brokenAnchors: [LinkProblem]
}

extension Vault {
    /// Reads every note of the working tree (committed or not; ignored files, dot-folders and template folders
    /// left out) and resolves each of its links against every file of the vault.
    ///
    /// Writes nothing. Cost: one read of each note (on every core) and one index lookup per link.
    public func checkLinks() throws -> LinkCheckReport {
        let tree = try head().map { try repository.commit($0).tree }
        let settings = ObsidianSettings.read(root: root)
        let files = vaultFiles(tree: tree)
        let paths = files.filter { $0.lowercased().hasSuffix(".md") && !settings.isTemplate($0) }
        return checkLinks(notes: Self.readNotes(paths, root: root, linkChecked: { _ in true }, progress: nil).linked, files: files)
    }

    /// What the link check keeps of a note: its links, the names it can be linked by, and its body (for
    /// headings and blocks, scanned only when a link asks for one).
    struct LinkedNote: Sendable {
        let path: String
        let names: [String]
        let links: [CheckedLink]
        let body: String

        init(_ note: Note) {
            path = note.path
            // Aliases, and cairn's own convention of linking a note by its front matter `title:`.
            names = (note.frontMatter?.aliases ?? []) + (note.frontMatter?.title.map { [$0] } ?? [])
            links = Vault.links(of: note)
            body = note.body
        }
    }

    /// The link check over notes already read (`files`: every file a link may point at).
    func checkLinks(notes: [LinkedNote], files: [String]) -> LinkCheckReport {
        var aliases: [String: [String]] = [:]
        for note in notes where !note.names.isEmpty { aliases[note.path] = note.names }
        let resolver = LinkResolver(paths: files, aliases: aliases)
        let bodies = Dictionary(notes.map { ($0.path, $0.body) }, uniquingKeysWith: { a, _ in a })
        var anchors: [String: NoteAnchors] = [:]
        func anchorsOf(_ path: String) -> NoteAnchors? {
            if let known = anchors[path] { return known }
            guard let body = bodies[path] else { return nil }
            let found = NoteAnchors.scan(body)
            anchors[path] = found
            return found
        }

        var count = 0, ambiguous = 0
        var unresolved: [LinkProblem] = [], broken: [LinkProblem] = []
        for note in notes {
            let path = note.path
            for link in note.links {
                count += 1
                guard let found = resolver.resolve(link.target, from: path, markdown: link.markdown) else {
                    unresolved.append(LinkProblem(path: path, line: link.line, link: link.written, kind: .unresolved, resolved: nil))
                    continue
                }
                if found.ambiguous { ambiguous += 1 }
                guard let subpath = link.subpath, found.path.utf8.count > 3, found.path.lowercased().hasSuffix(".md"),
                      let target = anchorsOf(found.path) else { continue }
                if subpath.hasPrefix("^") {
                    if !target.blocks.contains(subpath.dropFirst().lowercased()) {
                        broken.append(LinkProblem(path: path, line: link.line, link: link.written, kind: .missingBlock, resolved: found.path))
                    }
                } else {
                    let missing = subpath.split(separator: "#").map { NoteAnchors.normalizeHeading($0) }
                        .contains { !$0.isEmpty && !target.headings.contains($0) }
                    if missing {
                        broken.append(LinkProblem(path: path, line: link.line, link: link.written, kind: .missingHeading, resolved: found.path))
                    }
                }
            }
        }
        return LinkCheckReport(notes: notes.count, files: files.count, links: count, ambiguous: ambiguous,
                               unresolved: unresolved, brokenAnchors: broken)
    }

    /// One link of a note, as the checker needs it.
    struct CheckedLink: Sendable {
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
    /// (Obsidian's "Properties": `related: "[[Note]]"`).
    static func links(of note: Note) -> [CheckedLink] {
        var out: [CheckedLink] = []
        if let block = note.frontMatter?.block, block.utf8.contains(0x5B) {
            for w in NoteLinks.scan(block, firstLine: note.frontMatter?.lines.lowerBound ?? 1).wikiLinks {
                out.append(CheckedLink(target: w.target, subpath: w.heading, markdown: false, line: w.line, wiki: w))
            }
        }
        for w in note.links.wikiLinks {
            out.append(CheckedLink(target: w.target, subpath: w.heading, markdown: false, line: w.line, wiki: w))
        }
        for m in note.links.markdownLinks {
            out.append(CheckedLink(target: m.target, subpath: m.fragment, markdown: true, line: m.line))
        }
        return out
    }

    /// Every file of the branch tree plus untracked ones, present in the working tree, outside dot-folders
    /// (`.obsidian/`, `.cairn/`, `.trash/`: Obsidian does not show them, links cannot reach them).
    func vaultFiles(tree: OID?) -> [String] {
        var paths = Set<String>()
        if let tree, let files = try? repository.files(in: tree) {
            for f in files { paths.insert(f.path) }
        }
        if let entries = try? repository.status() {
            for e in entries where e.kind != .deleted && !e.path.hasSuffix("/") { paths.insert(e.path) }
            for e in entries where e.kind == .deleted { paths.remove(e.path) }
        }
        return paths.filter { path in
            !path.hasPrefix(".") && !path.contains("/.") && FileManager.default.fileExists(atPath: absolutePath(path))
        }.sorted()
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

extension Vault {
    /// `report` with each outgoing link resolved by `LinkResolver` against every file of the vault (attachments,
    /// path suffixes…), so `cairn links NOTE` agrees with `cairn doctor`. A link the resolver cannot place keeps
    /// what the search index found (a title, for instance).
    func resolvedAsObsidian(_ report: NoteLinkReport) throws -> NoteLinkReport {
        let tree = try head().map { try repository.commit($0).tree }
        let resolver = LinkResolver(paths: vaultFiles(tree: tree))
        let outgoing = report.outgoing.map { link in
            let found = resolver.resolve(link.target, from: link.source, markdown: link.kind == .markdown)?.path
            return LinkEntry(source: link.source, target: link.target, resolved: found ?? link.resolved, kind: link.kind, line: link.line)
        }
        return NoteLinkReport(path: report.path, title: report.title, outgoing: outgoing, backlinks: report.backlinks)
    }
}
