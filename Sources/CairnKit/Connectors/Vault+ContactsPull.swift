import CairnGit
import Foundation

extension Vault {
    /// Reads a connector's `source:`: an http(s) URL (through libcurl), or a file (absolute, `~/`, or vault-relative).
    func readSource(_ definition: ConnectorDefinition, environment: ConnectorEnvironment) throws -> Data {
        guard let source = definition.source else { throw ConnectorError.badItem(connector: definition.name, item: "source", reason: "no source:") }
        if source.hasPrefix("http://") || source.hasPrefix("https://") {
            let credentials = try Credentials.resolve(definition, vaultRoot: root, environment: environment)
            let session = try CurlSession(connector: definition.name, credentials: credentials, caFile: definition.caFile,
                                          requireTLS: source.hasPrefix("https://"), timeoutSeconds: definition.timeoutSeconds)
            let r = session.request(source)
            guard r.error == 0 else { throw ConnectorError.transport(connector: definition.name, item: source, reason: r.message) }
            guard (200..<300).contains(r.status) else { throw ConnectorError.transport(connector: definition.name, item: source, reason: "the server answered \(r.status)") }
            return r.body
        }
        var path = source
        if path.hasPrefix("~/"), let home = environment.home { path = home + path.dropFirst(1) }
        if !path.hasPrefix("/") { path = absolutePath(path) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConnectorError.badItem(connector: definition.name, item: source, reason: "cannot read the file")
        }
        return data
    }

    /// Imports contacts from a CSV or vCard export into `memory/projects/contacts/` (or `path:`).
    ///
    /// Merge, not overwrite: a field the operator changed since the last import is kept (the import remembers what it
    /// wrote in the connector's state); keys and text the operator added are never touched.
    func pullContacts(_ definition: ConnectorDefinition, state: ConnectorState, tree: OID, now: Date,
                      environment: ConnectorEnvironment) throws -> ImportBatch {
        let data = try readSource(definition, environment: environment)
        let source = definition.source ?? ""
        let isVCard = source.lowercased().hasSuffix(".vcf") || source.lowercased().hasSuffix(".vcard")
            || String(decoding: data.prefix(200), as: UTF8.self).uppercased().contains("BEGIN:VCARD")
        let parsed: (contacts: [(row: Int, contact: ContactRecord)], warnings: [String])
        do { parsed = isVCard ? try VCardContacts.parse(data) : try CSVContacts.parse(data) } catch {
            guard case .bad(let item, let reason) = error else { throw error }
            throw ConnectorError.badItem(connector: definition.name, item: "\(source): \(item)", reason: reason)
        }
        let folder = definition.destination ?? "memory/projects/contacts"
        var batch = ImportBatch(state: state)
        batch.warnings = parsed.warnings.map { "\(source): \($0)" }
        var imported = state.imported ?? [:]
        var pathsByKey: [String: String] = [:]
        for (path, fields) in imported { if let k = fields["key"] { pathsByKey[k] = path } }
        var seen = Set<String>()
        for (row, contact) in parsed.contacts {
            guard seen.insert(contact.key).inserted else {
                batch.warnings.append("\(source): \(isVCard ? "card" : "line") \(row): \(contact.key) appears again; the first one is kept")
                continue
            }
            var path = pathsByKey[contact.key] ?? "\(folder)/\(Slug.make(contact.name.isEmpty ? contact.email : contact.name)).md"
            let existing = try repository.entry(at: path, in: tree)
            if pathsByKey[contact.key] == nil, existing != nil {
                // Another contact (or the operator's own note) has that name: keep both.
                path = "\(folder)/\(Slug.make(contact.name.isEmpty ? contact.email : contact.name))-\(Slug.make(contact.email.isEmpty ? String(row) : contact.email)).md"
            }
            var last: [String: String] = ["key": contact.key]
            for f in contact.fields { last[f.key] = f.value }
            if let entry = try repository.entry(at: path, in: tree) {
                let current = String(decoding: try repository.blob(entry.oid), as: UTF8.self)
                let (text, kept) = ContactNote.merge(current, contact: contact, lastImported: imported[path] ?? [:])
                for k in kept { batch.warnings.append("\(path): kept your edit of \(k)") }
                if text != current {
                    batch.files.append((path, Data(text.utf8)))
                    batch.updated.append(path)
                } else {
                    batch.skipped += 1
                }
            } else {
                batch.files.append((path, Data(ContactNote.render(contact, connector: definition.name).utf8)))
                batch.imported.append(path)
                batch.mustBeNew.insert(path)
            }
            imported[path] = last
        }
        batch.state.imported = imported
        return batch
    }
}

/// Contact notes: rendering a new one, and merging an import into one the operator may have edited.
enum ContactNote {
    static func render(_ c: ContactRecord, connector: String) -> String {
        var text = "---\n"
        for f in c.fields where !f.value.isEmpty { text += "\(f.key): \(FrontMatter.yamlScalar(f.value))\n" }
        text += "tier: projects\ntags: [contact]\nsource: \(FrontMatter.yamlScalar("contacts:" + connector))\n---\n"
        text += "# \(c.name.isEmpty ? c.email : c.name)\n"
        if !c.notes.isEmpty { text += "\n" + c.notes + "\n" }
        return text
    }

    /// Updates the managed front matter keys whose value is still what the last import wrote; returns the new text
    /// and the keys kept because the operator changed them. Every other line is kept byte for byte.
    static func merge(_ text: String, contact: ContactRecord, lastImported: [String: String]) -> (String, [String]) {
        var lines = text.components(separatedBy: "\n")
        guard lines.first == "---", let close = lines.dropFirst().firstIndex(where: { $0 == "---" || $0 == "..." }) else { return (text, []) }
        var kept: [String] = []
        var end = close
        for f in contact.fields {
            let index = lines[1..<end].firstIndex { $0.hasPrefix(f.key + ":") }
            let current = index.map { valueOf(lines[$0], key: f.key) }
            let previous = lastImported[f.key]
            if let current, current == f.value { continue }
            // Changed by the operator since the import (or added by them): theirs wins.
            if let current, let previous, current != previous { kept.append(f.key); continue }
            if current != nil && previous == nil && !lastImported.isEmpty { kept.append(f.key); continue }
            if f.value.isEmpty {
                if let index { lines.remove(at: index); end -= 1 }
                continue
            }
            let line = "\(f.key): \(FrontMatter.yamlScalar(f.value))"
            if let index { lines[index] = line } else { lines.insert(line, at: end); end += 1 }
        }
        return (lines.joined(separator: "\n"), kept)
    }

    private static func valueOf(_ line: String, key: String) -> String {
        var v = line.dropFirst(key.count + 1).trimmingCharacters(in: .whitespaces)
        if v.count >= 2, (v.hasPrefix("\"") && v.hasSuffix("\"")) || (v.hasPrefix("'") && v.hasSuffix("'")) {
            v = String(v.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
        }
        return v
    }
}
