import CairnKit
import Foundation

/// `cairn tick` syncing before and after its work when `.cairn/config.json` names `sync.tick_remote`.
enum TickSync {
    /// Syncs with `remote`; a failure is reported on stderr and never stops the tick (the next tick tries again).
    static func run(_ vault: Vault, remote: String, env: Environment, when: String) {
        Environment.surviveBrokenConnections()
        do {
            let options = SyncOptions(author: try env.identity(for: vault),
                                      credentials: try env.transportCredentials(tokenEnv: vault.config.sync.tokenEnv))
            let report = try vault.sync(remote: remote, options: options, now: env.now)
            if report.outcome == .conflicts {
                ErrorReporting.printError("cairn: tick: sync with \(remote) \(when) the tick stopped on conflicts in "
                                          + report.conflicts.joined(separator: ", ") + "; resolve them and run `cairn sync --continue`")
            }
            for n in report.notices { ErrorReporting.printError("cairn: tick: sync: \(n)") }
        } catch {
            ErrorReporting.printError("cairn: tick: sync with \(remote) \(when) the tick failed: \(error)")
        }
    }
}
