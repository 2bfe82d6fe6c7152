import Foundation

/// Which of the caller's environment variables a command agent receives.
///
/// Callers (the CLI, a server) pass their whole environment in; the library keeps only what a program needs to run
/// and nothing that could hold a secret (API keys, tokens, `SSH_AUTH_SOCK`, cloud profiles). A sandboxed agent's
/// `HOME` and `TMPDIR` are then pointed into its work folder (see `CommandAgentExecutor`).
public enum AgentEnvironment {
    /// The variables passed through, when set.
    public static let passedVariables = ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ"]

    /// The part of `environment` a command agent may see.
    public static func forCommandAgent(_ environment: [String: String]) -> [String: String] {
        environment.filter { passedVariables.contains($0.key) }
    }

    /// The model API key: the variable `.cairn/config.json` names (`model.api_key_env`), when it is set and not empty.
    public static func modelAPIKey(_ environment: [String: String], config: VaultConfig) -> String? {
        let name = config.model.apiKeyEnv
        guard !name.isEmpty, let value = environment[name], !value.isEmpty else { return nil }
        return value
    }
}
