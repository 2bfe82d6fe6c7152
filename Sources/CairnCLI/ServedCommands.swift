import ArgumentParser
import CairnKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The commands a vault's watcher runs for the `cairn` front end (launcher/cairn.c): today `search`.
///
/// The watcher is a warm cairn process that already knows which files changed, so a search run there
/// skips the process start-up (Swift runtime, libgit2, SQLite, the argument parser's set-up) and the
/// round trip to ask for the changes. It behaves as cairn-core would: the same parsing, the same
/// vault discovery from the client's folder and environment, the same output and exit status, on
/// the client's descriptors. Anything else is left to cairn-core, before anything is written: other
/// commands, help and usage errors, another vault, or an environment that would make this process
/// behave differently from a fresh one (another HOME or git configuration, cairn's test switches).
enum ServedCommands {
    /// Variables read by the process itself (libgit2, the time zone, cairn's switches) rather than
    /// through `Environment`: a client must have the watcher's values, or cairn-core runs its command.
    static func mustMatch(_ key: String) -> Bool {
        if ["CAIRN_VAULT", "CAIRN_COLOR", "CAIRN_PAGER", "CAIRN_NO_SERVER"].contains(key) { return false }
        return key.hasPrefix("CAIRN_") || key.hasPrefix("GIT_") || key.hasPrefix("XDG_")
            || ["HOME", "TZ", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR"].contains(key)
    }

    /// Runs `request` when it is a search of the watcher's vault; nil leaves it to cairn-core.
    static func serve(_ request: VaultWatcher.CommandRequest, watcherRoot: String,
                      ownEnvironment: [String: String] = ProcessInfo.processInfo.environment) -> VaultWatcher.CommandResult? {
        for key in Set(request.environment.keys).union(ownEnvironment.keys) where mustMatch(key) {
            if request.environment[key] != ownEnvironment[key] { return nil }
        }
        // The search command's own parser: the same result as the root's for `search …`, without setting
        // up every other command (help, usage errors and the rest throw, and go to cairn-core).
        guard request.arguments.first == "search",
              let search = try? Cairn.Search.parse(Array(request.arguments.dropFirst())) else { return nil }
        let capture = Streams.Capture()
        let env = Environment(variables: request.environment, cwd: request.cwd,
                              stdoutIsTerminal: isatty(request.output) == 1, stdinIsTerminal: isatty(request.input) == 1,
                              streams: Streams(capture: capture))
        guard let vault = try? search.vaultOptions.open(env), WatchClient.normalizedRoot(vault.root) == watcherRoot else {
            return nil
        }
        vault.searchConnection = request.search
        var status: Int32 = 0
        do {
            try search.run(env: env, vault: vault)
        } catch {
            status = ErrorReporting.report(error, streams: env.streams)
        }
        return VaultWatcher.CommandResult(status: status, output: capture.chunks)
    }
}
