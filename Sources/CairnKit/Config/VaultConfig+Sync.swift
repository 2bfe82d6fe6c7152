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

        public init(schedulesOn: String = "", tickRemote: String = "", tokenEnv: String = "CAIRN_SYNC_TOKEN") {
            self.schedulesOn = schedulesOn
            self.tickRemote = tickRemote
            self.tokenEnv = tokenEnv
        }

        enum CodingKeys: String, CodingKey {
            case schedulesOn = "schedules_on"
            case tickRemote = "tick_remote"
            case tokenEnv = "token_env"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = SyncSettings()
            schedulesOn = try c.string(.schedulesOn, default: d.schedulesOn)
            tickRemote = try c.string(.tickRemote, default: d.tickRemote)
            tokenEnv = try c.string(.tokenEnv, default: d.tokenEnv)
        }

        func problems() -> [(keyPath: String, reason: String)] {
            var found: [(keyPath: String, reason: String)] = []
            if !tokenEnv.isEmpty && !VaultConfig.isEnvironmentVariableName(tokenEnv) {
                found.append(("sync.token_env", "must be the name of an environment variable (letters, digits, _), not the token itself"))
            }
            return found
        }
    }
}
