import ArgumentParser
import CairnGit
import CairnKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Cairn {
    struct RemoteCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "remote",
            abstract: "Add, list or remove the remotes this vault syncs with.",
            discussion: "Remotes live in .git/config (the URL only). Tokens are read from the environment variable that .cairn/config.json names (sync.token_env), never stored.",
            subcommands: [Add.self, List.self, Remove.self], defaultSubcommand: List.self)

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "add", abstract: "Add a remote by name and URL.")
            @OptionGroup var vaultOptions: VaultOptions
            @Argument(help: "The remote's name (e.g. origin).") var name: String
            @Argument(help: "A path, file://, ssh://, user@host:path, git:// or https:// URL.") var url: String
            @OptionGroup var output: OutputOptions

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                let info = try vault.addRemote(name: name, url: Environment.remoteURL(url, cwd: env.cwd))
                let out = Output(env)
                if output.json { return try out.json(info) }
                out.line("Added remote \(info.name) → \(info.url). Sync with `cairn sync \(info.name)`.")
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List the remotes with their URLs.")
            @OptionGroup var vaultOptions: VaultOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                let remotes = try vault.remotes()
                let out = Output(env)
                if output.json { return try out.json(remotes) }
                if remotes.isEmpty { out.line("No remotes. Add one with `cairn remote add NAME URL`."); return }
                for r in remotes { out.line("\(r.name)\t\(r.url)") }
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a remote (nothing on the remote is touched).")
            @OptionGroup var vaultOptions: VaultOptions
            @Argument(help: "The remote's name.") var name: String

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                try vault.removeRemote(name: name)
                Output(env).line("Removed remote \(name).")
            }
        }
    }
}

extension Environment {
    /// Relative local paths become absolute (a remote's URL must not depend on the folder cairn ran in).
    static func remoteURL(_ url: String, cwd: String) -> String {
        if url.contains("://") || url.hasPrefix("/") { return url }
        // scp-like user@host:path, or host:path
        if let colon = url.firstIndex(of: ":"), !url[..<colon].contains("/") { return url }
        return (URL(fileURLWithPath: cwd).appendingPathComponent(url).standardizedFileURL.path)
    }

    /// A server that drops the connection while cairn writes to it (mid-push) must become an error that names the
    /// remote and says what to do, not a silent death by SIGPIPE.
    static func surviveBrokenConnections() { signal(SIGPIPE, SIG_IGN) }

    /// What transports may use, read from the environment: the token from the variable the vault names, the
    /// usual ssh key files and known_hosts under $HOME, ssh-agent when it runs. Nothing here is ever printed.
    /// `timeoutSeconds`: how long a connection may wait for the remote (the vault's `sync.timeout_seconds`).
    func transportCredentials(tokenEnv: String, timeoutSeconds: Int = TransportCredentials.defaultTimeoutSeconds) throws -> TransportCredentials {
        var c = TransportCredentials()
        c.timeoutSeconds = timeoutSeconds
        if !tokenEnv.isEmpty, let token = variables[tokenEnv], !token.isEmpty { c.token = token }
        if let home = variables["HOME"], !home.isEmpty {
            c.knownHostsFile = home + "/.ssh/known_hosts"
            c.sshKeyFiles = ["id_ed25519", "id_ecdsa", "id_rsa"].map { home + "/.ssh/" + $0 }
        }
        c.useSSHAgent = !(variables["SSH_AUTH_SOCK"] ?? "").isEmpty
        c.sshUser = variables["USER"]
        // https needs libgit2's certificate set-up; a test's or a company's own CA comes from SSL_CERT_FILE.
        if let ca = variables["SSL_CERT_FILE"], !ca.isEmpty { try Libgit2.setCALocations(file: ca) } else { try Libgit2.enableTLS() }
        return c
    }
}
