import CairnGit
import Foundation

extension Vault {
    /// Messages fetched per IMAP command.
    static let mailFetchBatch = 50

    /// Fetches the messages of each folder above the cursor (a changed UIDVALIDITY starts the folder over; the
    /// note paths, derived from each Message-ID, keep that from importing anything twice).
    func pullMail(_ definition: ConnectorDefinition, state: ConnectorState, tree: OID, now: Date,
                  environment: ConnectorEnvironment) throws -> ImportBatch {
        let credentials = try Credentials.resolve(definition, vaultRoot: root, environment: environment)
        let client = try IMAPClient(definition, credentials: credentials)
        var batch = ImportBatch(state: state)
        var folders = state.folders ?? [:]
        var seen = Set<String>()
        // Attachments go where the vault's Obsidian settings put new ones, when it says (else beside each note).
        let settings = ObsidianSettings.read(root: root)
        var placement: MailNote.AttachmentPlacement? = settings.attachmentFolderIsSet
            ? MailNote.AttachmentPlacement(settings: settings, files: LinkResolver(paths: try repository.files(in: tree).map(\.path))) : nil
        for folder in definition.folders {
            let status = try client.status(folder)
            var cursor = folders[folder] ?? ConnectorState.Folder(uidValidity: status.uidValidity, lastUID: 0)
            if cursor.uidValidity != status.uidValidity {
                batch.warnings.append("\(folder): UIDVALIDITY changed (\(cursor.uidValidity) → \(status.uidValidity)); the folder is read again and messages already imported are skipped")
                cursor = ConnectorState.Folder(uidValidity: status.uidValidity, lastUID: 0)
            }
            // Nothing new: UIDNEXT says so without selecting the folder.
            if status.uidNext > 0 && status.uidNext - 1 <= cursor.lastUID {
                folders[folder] = cursor
                continue
            }
            let uids = try client.search(folder, after: cursor.lastUID, since: definition.since)
            // A few messages per FETCH: fewer round trips, while a folder of large mails never sits in memory at once.
            // The next group is asked for before this one becomes notes, so the server reads it meanwhile.
            let groups = stride(from: 0, to: uids.count, by: Self.mailFetchBatch).map {
                Array(uids[$0..<min($0 + Self.mailFetchBatch, uids.count)])
            }
            var pending = try groups.first.map { try client.startFetch(folder, uids: $0) }
            for (n, group) in groups.enumerated() {
                guard let current = pending else { break }
                let messages = try client.finishFetch(current)
                pending = n + 1 < groups.count ? try client.startFetch(folder, uids: groups[n + 1]) : nil
                for uid in group {
                    guard let raw = messages[uid] else {
                        batch.warnings.append("\(folder) UID \(uid): gone from the server before it was fetched; skipped")
                        cursor.lastUID = max(cursor.lastUID, uid)
                        continue
                    }
                    let before = placement
                    let note = MailNote.make(raw: raw, folder: folder, uid: uid, connector: definition.name,
                                             maxAttachmentBytes: definition.maxAttachmentBytes, placement: &placement)
                    batch.warnings += note.warnings
                    let present = try repository.entry(at: note.path, in: tree) != nil
                    if seen.contains(note.path) || present {
                        batch.skipped += 1
                        placement = before  // its attachments were not written: their names are free again
                    } else {
                        seen.insert(note.path)
                        batch.files += note.files
                        batch.imported.append(note.path)
                        batch.mustBeNew.insert(note.path)
                        if placement != nil { batch.attachmentsOf[note.path] = note.files.dropFirst().map(\.path) }
                    }
                    cursor.lastUID = max(cursor.lastUID, uid)
                }
            }
            folders[folder] = cursor
        }
        batch.state.folders = folders
        client.logout()
        return batch
    }
}
