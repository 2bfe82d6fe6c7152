import CairnGit
import Foundation

/// What one pull did.
public struct ConnectorPullResult: Sendable, Codable {
    public let connector: String
    public let kind: String
    /// The commit on main, nil when nothing was new.
    public let commit: String?
    /// Vault paths of the notes written (attachments not listed).
    public let imported: [String]
    /// Notes updated from the source (calendar events, contacts).
    public let updated: [String]
    /// Items already in the vault, skipped.
    public let skipped: Int
    /// Problems with single items that did not stop the pull (each names the item).
    public let warnings: [String]
}

/// A connector as `cairn connector list` shows it.
public struct ConnectorSummary: Sendable, Codable {
    public let name: String
    public let kind: String
    public let path: String
    public let lastPull: String?
    public let due: Bool
    public let problem: String?
}

/// A connector's cursor and bookkeeping, committed at `.cairn/connectors/NAME.json` in the same commit as what it
/// imported, so a crash can never separate them and a synced machine does not import again.
struct ConnectorState: Codable {
    struct Folder: Codable, Equatable {
        var uidValidity: UInt64
        var lastUID: UInt64
    }
    var lastPull: String?
    var folders: [String: Folder]?
    /// Contacts and calendar: for each note path, the field values (or content hash) last imported, to tell
    /// operator edits from source changes.
    var imported: [String: [String: String]]?

    static func path(_ name: String) -> String { ".cairn/connectors/\(name).json" }
}

extension Vault {
    /// Every `connectors/*.md` on main, parsed; files that fail to parse are returned as problems.
    public func connectorDefinitions() throws -> (definitions: [ConnectorDefinition], problems: [ConnectorError]) {
        guard let main = try head() else { return ([], []) }
        let tree = try repository.commit(main).tree
        var definitions: [ConnectorDefinition] = []
        var problems: [ConnectorError] = []
        for file in try repository.files(in: tree, under: ConnectorDefinition.folder + "/")
        where file.path.hasSuffix(".md") && !file.path.dropFirst(ConnectorDefinition.folder.count + 1).contains("/")
            && !file.path.hasSuffix("/README.md") {
            do {
                definitions.append(try ConnectorDefinition.parse(path: file.path, data: try repository.blob(file.oid)))
            } catch let e as ConnectorError {
                problems.append(e)
            }
        }
        return (definitions, problems)
    }

    /// Problems in `connectors/*.md` in the working tree, as `file:line: reason` (for `cairn doctor`).
    public func connectorProblems() -> [NoteError] {
        let folder = absolutePath(ConnectorDefinition.folder)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var problems: [NoteError] = []
        for name in names.sorted() where name.hasSuffix(".md") && name != "README.md" {
            let rel = ConnectorDefinition.folder + "/" + name
            guard let data = FileManager.default.contents(atPath: folder + "/" + name) else { continue }
            do { _ = try ConnectorDefinition.parse(path: rel, data: data) } catch {
                if case .invalid(let list) = error { problems += list }
            }
        }
        return problems
    }

    func connectorDefinition(named name: String) throws -> ConnectorDefinition {
        let (definitions, problems) = try connectorDefinitions()
        if let d = definitions.first(where: { $0.name == name }) { return d }
        for case .invalid(let list) in problems where list.first?.path == "\(ConnectorDefinition.folder)/\(name).md" {
            throw ConnectorError.invalid(list)
        }
        throw ConnectorError.unknown(name: name, known: definitions.map(\.name).sorted())
    }

    func connectorState(_ name: String, tree: OID) throws -> ConnectorState {
        guard let entry = try repository.entry(at: ConnectorState.path(name), in: tree) else { return ConnectorState() }
        return (try? JSONDecoder().decode(ConnectorState.self, from: try repository.blob(entry.oid))) ?? ConnectorState()
    }

    /// The connectors and whether each is due for a pull at `now`.
    public func connectorList(now: Date) throws -> [ConnectorSummary] {
        let (definitions, problems) = try connectorDefinitions()
        let tree = try head().map { try repository.commit($0).tree }
        var list: [ConnectorSummary] = []
        for d in definitions {
            let state = try tree.map { try connectorState(d.name, tree: $0) } ?? ConnectorState()
            let last = state.lastPull.flatMap(ISOTime.date(from:))
            let due = d.pulls && (last.map { now.timeIntervalSince($0) >= d.every } ?? true)
            list.append(ConnectorSummary(name: d.name, kind: d.kind.rawValue, path: d.path, lastPull: state.lastPull, due: due, problem: nil))
        }
        for case .invalid(let errors) in problems {
            guard let first = errors.first else { continue }
            let name = String(first.path.split(separator: "/").last ?? "").replacingOccurrences(of: ".md", with: "")
            list.append(ConnectorSummary(name: name, kind: "?", path: first.path, lastPull: nil, due: false, problem: first.description))
        }
        return list.sorted { $0.name < $1.name }
    }

    /// Pulls connector `name` now: new items become notes in one commit on main with a `Cairn-Connector` trailer,
    /// together with the connector's cursor.
    ///
    /// Guarantees: an item is never imported twice (its note path is derived from the item and checked against
    /// main, and the cursor moves in the same commit); a failure or a kill at any point leaves main either
    /// without the pull or with all of it; credentials are never written or shown.
    public func pullConnector(_ name: String, now: Date, author: OperatorIdentity, environment: ConnectorEnvironment) throws -> ConnectorPullResult {
        let definition = try connectorDefinition(named: name)
        guard let main = try head() else { throw VaultError.invalidArgument("\(branch) has no commit yet; run `cairn snapshot` first") }
        let baseTree = try repository.commit(main).tree
        let state = try connectorState(name, tree: baseTree)
        var batch: ImportBatch
        switch definition.kind {
        case .imap:
            batch = try pullMail(definition, state: state, tree: baseTree, now: now, environment: environment)
        case .ical, .caldav:
            batch = try pullCalendar(definition, state: state, tree: baseTree, now: now, environment: environment)
        case .contacts:
            batch = try pullContacts(definition, state: state, tree: baseTree, now: now, environment: environment)
        case .smtp, .webhook:
            throw VaultError.invalidArgument("connectors/\(name).md is a \(definition.kind.rawValue) connector: it sends outbox items (`cairn outbox send`); there is nothing to pull")
        }
        batch.state.lastPull = ISOTime.string(now)
        return try commitImport(definition, batch: batch, now: now, author: author)
    }

    /// Pulls every connector that is due; one failing connector does not stop the others.
    public func pullDueConnectors(now: Date, author: OperatorIdentity, environment: ConnectorEnvironment) throws -> [(name: String, result: Result<ConnectorPullResult, any Error>)] {
        var results: [(name: String, result: Result<ConnectorPullResult, any Error>)] = []
        for c in try connectorList(now: now) where c.due {
            do { results.append((c.name, .success(try pullConnector(c.name, now: now, author: author, environment: environment)))) } catch { results.append((c.name, .failure(error))) }
        }
        return results
    }
}

/// What a pull wants to commit: files by path, and the new state.
struct ImportBatch {
    var files: [(path: String, data: Data)] = []
    var imported: [String] = []
    var updated: [String] = []
    var skipped = 0
    var warnings: [String] = []
    var state: ConnectorState
    /// Paths that must still be absent from main when the commit is made (new notes), so a concurrent pull of
    /// the same connector never writes an item twice.
    var mustBeNew: Set<String> = []
    /// Attachments written away from their note (the vault's attachment folder), by note path.
    var attachmentsOf: [String: [String]] = [:]
}

extension Vault {
    /// One commit on main with `batch`'s files and state; nothing when no note changed.
    func commitImport(_ definition: ConnectorDefinition, batch: ImportBatch, now: Date, author: OperatorIdentity) throws -> ConnectorPullResult {
        func result(_ commit: String?, _ b: ImportBatch) -> ConnectorPullResult {
            ConnectorPullResult(connector: definition.name, kind: definition.kind.rawValue, commit: commit, imported: b.imported,
                                updated: b.updated, skipped: b.skipped, warnings: b.warnings)
        }
        let lock = try VaultLock(gitDir: gitDir)
        defer { withExtendedLifetime(lock) {} }
        try prepareForWrite(now: now)
        guard let main = try head() else { throw VaultError.invalidArgument("\(branch) has no commit yet") }
        let mainCommit = try repository.commit(main)
        var b = batch
        // Another pull may have landed meanwhile: drop what it already imported.
        var dropped = Set<String>()
        for path in b.mustBeNew where try repository.entry(at: path, in: mainCommit.tree) != nil { dropped.insert(path) }
        if !dropped.isEmpty {
            let theirs = Set(dropped.flatMap { b.attachmentsOf[$0] ?? [] })
            b.files.removeAll { f in theirs.contains(f.path) || dropped.contains { f.path == $0 || f.path.hasPrefix(String($0.dropLast(3)) + "/") } }
            b.imported.removeAll { dropped.contains($0) }
            b.skipped += dropped.count
        }
        if b.imported.isEmpty && b.updated.isEmpty {
            // Nothing new: the cursor alone is not worth a commit unless it moved (a UIDVALIDITY change).
            let old = try connectorState(definition.name, tree: mainCommit.tree)
            if (old.folders ?? [:]) == (b.state.folders ?? [:]) {
                return result(nil, b)
            }
        }
        // An attachment name chosen as free that a file took meanwhile: nothing is written (the cursor stays), so the
        // next pull names it again.
        let placed = Set(b.attachmentsOf.filter { !dropped.contains($0.key) }.flatMap(\.value))
        for path in placed.sorted() where try repository.entry(at: path, in: mainCommit.tree) != nil {
            throw VaultError.invalidArgument("\(definition.name): the attachment path \(path) was taken while pulling; nothing was written, pull again")
        }
        // The new objects go to disk together at the end: as one pack, synced once, when there are many (a pull
        // of a thousand messages), loose otherwise; before main moves either way.
        let packed = try PackedWrites(repository)
        let objects = packed.repository
        var changes: [TreeChange] = []
        for f in b.files {
            changes.append(.upsert(path: f.path, oid: try packed.writeBlob(f.data), mode: TreeChange.fileMode))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var stateData = try encoder.encode(b.state)
        stateData.append(0x0A)
        changes.append(.upsert(path: ConnectorState.path(definition.name), oid: try packed.writeBlob(stateData), mode: TreeChange.fileMode))
        let tree = try objects.updateTree(base: mainCommit.tree, changes: changes)
        var subject = "Pull \(definition.name): \(b.imported.count) new"
        if !b.updated.isEmpty { subject += ", \(b.updated.count) updated" }
        let body = (b.imported.map { "+ \($0)" } + b.updated.map { "~ \($0)" }).prefix(200).joined(separator: "\n")
        let message = Trailer.message(subject: subject, body: body, trailers: [
            Trailer("Cairn-Operation", "connector"), Trailer("Cairn-Connector", definition.name),
        ])
        let sig = Signature(name: author.name, email: author.email, time: now)
        let commit = try objects.createCommit(tree: tree, parents: [main], author: sig, committer: sig, message: message)
        try packed.save(commit)
        _ = try moveMain(from: mainCommit, to: commit, newTree: tree, message: "cairn connector \(definition.name)", as: .connector)
        return result(commit.hex, b)
    }
}
