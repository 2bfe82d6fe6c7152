import Foundation

extension VaultConfig {
    /// `sync`: how this vault syncs across machines (travels with the vault; no secrets).
    public struct SyncSettings: Codable, Sendable, Equatable {
        /// The machine that runs schedules and triggers (`schedules_on`); every other machine's `cairn tick`
        /// leaves workflows to it. Empty: when the vault has no remote, any machine; with a remote, none until named.
        public var schedulesOn: String
        /// Sync with this remote before and after `cairn tick` (`tick_remote`, default "": no sync on tick).
        public var tickRemote: String
        /// The *name* of the environment variable holding the https token (`token_env`, default `CAIRN_SYNC_TOKEN`).
        public var tokenEnv: String
        /// Seconds a sync, clone or `remote` command waits for a remote that sends and takes nothing before it
        /// gives the transfer up (`timeout_seconds`, default 60; 0 waits forever). libgit2 alone would wait forever
        /// on a half-open connection.
        public var timeoutSeconds: Int

        public init(schedulesOn: String = "", tickRemote: String = "", tokenEnv: String = "CAIRN_SYNC_TOKEN",
                    timeoutSeconds: Int = 60) {
            self.schedulesOn = schedulesOn
            self.tickRemote = tickRemote
            self.tokenEnv = tokenEnv
            self.timeoutSeconds = timeoutSeconds
        }

        enum CodingKeys: String, CodingKey {
            case schedulesOn = "schedules_on"
            case tickRemote = "tick_remote"
            case tokenEnv = "token_env"
            case timeoutSeconds = "timeout_seconds"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = SyncSettings()
            schedulesOn = try c.string(.schedulesOn, default: d.schedulesOn)
            tickRemote = try c.string(.tickRemote, default: d.tickRemote)
            tokenEnv = try c.string(.tokenEnv, default: d.tokenEnv)
            timeoutSeconds = try c.integer(.timeoutSeconds, default: d.timeoutSeconds)
        }

        func problems() -> [(keyPath: String, reason: String)] {
            var found: [(keyPath: String, reason: String)] = []
            if !tokenEnv.isEmpty && !VaultConfig.isEnvironmentVariableName(tokenEnv) {
                found.append(("sync.token_env", "must be the name of an environment variable (letters, digits, _), not the token itself"))
            }
            if timeoutSeconds < 0 || timeoutSeconds > 86_400 {
                found.append(("sync.timeout_seconds", "must be a number of seconds from 1 to 86400, or 0 to wait forever"))
            }
            return found
        }
    }
}
