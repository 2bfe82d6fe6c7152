import CairnGit
import Foundation

extension Vault {
    /// The operator's edits: how the working tree differs from `tree` (default: the branch's), as
    /// `WorktreeChanges` finds them, in path order. A file deleted and the same bytes added elsewhere is
    /// one rename. `paths` limits them to those files and folders (vault-relative, no globs).
    func workingTreeEdits(against tree: OID?, paths: [String] = []) throws -> [StatusEntry] {
        let specs = paths.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        // Only the folders asked about are statted (the others' edits are not wanted).
        let report = try WorktreeChanges.check(self, against: tree, scope: specs)
        func wanted(_ path: String) -> Bool {
            specs.isEmpty || specs.contains { $0.isEmpty || path == $0 || path.hasPrefix($0 + "/") }
        }
        var added: [PathKey: DiskFile] = [:]
        var deleted: [PathKey: DiskFile] = [:]
        var entries: [PathKey: StatusEntry] = [:]
        for (key, disk) in report.edits where wanted(key.path) {
            let path = key.path
            let committed = try tree.flatMap { try repository.entry(at: path, in: $0) }
                .flatMap { $0.kind == .tree || $0.kind == .submodule ? nil : DiskFile(oid: BlobID($0.oid.bytes), mode: $0.mode) }
            switch (committed, disk) {
            case (nil, let disk?):
                added[key] = disk
                entries[key] = StatusEntry(path: path, kind: .untracked)
            case (let committed?, nil):
                deleted[key] = committed
                entries[key] = StatusEntry(path: path, kind: .deleted)
            case (let committed?, let disk?):
                let typeChanged = (committed.mode == 0o120000) != (disk.mode == 0o120000)
                entries[key] = StatusEntry(path: path, kind: typeChanged ? .typechange : .modified)
            case (nil, nil):
                continue
            }
        }
        // Renames: an added file with exactly the bytes and mode of a deleted one (each paired once).
        if !added.isEmpty && !deleted.isEmpty {
            var gone: [DiskFile: [PathKey]] = [:]
            for (path, file) in deleted { gone[file, default: []].append(path) }
            for key in gone.keys { gone[key]!.sort { WorktreeChanges.precedes($0.path, $1.path) } }
            for key in added.keys.sorted(by: { WorktreeChanges.precedes($0.path, $1.path) }) {
                guard let file = added[key], var candidates = gone[file], !candidates.isEmpty else { continue }
                let old = candidates.removeFirst()
                gone[file] = candidates
                entries[old] = nil
                entries[key] = StatusEntry(path: key.path, oldPath: old.path, kind: .renamed)
            }
        }
        return entries.keys.sorted { WorktreeChanges.precedes($0.path, $1.path) }.map { entries[$0]! }
    }
}
