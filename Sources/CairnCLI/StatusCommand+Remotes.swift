import CairnKit
import Foundation

/// `cairn status --json`: the vault's status with each remote's ahead/behind and last sync, and a stopped sync's conflicts.
struct StatusWithRemotes: Encodable {
    let status: VaultStatus
    let remotes: [RemoteStatus]
    let syncConflicts: [String]

    enum Keys: String, CodingKey { case remotes, syncConflicts }

    func encode(to encoder: any Encoder) throws {
        try status.encode(to: encoder)
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(remotes, forKey: .remotes)
        try c.encode(syncConflicts, forKey: .syncConflicts)
    }

    /// The lines `cairn status` prints about remotes and a stopped sync.
    func lines(_ out: Output) -> [String] {
        var lines: [String] = []
        for r in remotes {
            let position = r.ahead == 0 && r.behind == 0 ? "in step" : "\(r.ahead) ahead, \(r.behind) behind"
            lines.append("Remote \(r.name): \(position) (as last fetched); " + (r.lastSync.map { "last sync \($0)" } ?? "never synced"))
        }
        if !syncConflicts.isEmpty {
            lines.append(out.paint("A sync stopped on conflicts in: ", .red) + syncConflicts.joined(separator: ", ")
                         + " — edit them, then `cairn sync --continue` (or `--abort`)")
        }
        return lines
    }
}
