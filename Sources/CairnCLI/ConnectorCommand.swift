import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct ConnectorCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "connector",
            abstract: "List the vault's connectors and pull new items from them.",
            discussion: "Connectors are connectors/NAME.md files (no secrets: they name an environment variable or a 0600 credentials file outside the vault). A pull is one commit on main with a Cairn-Connector trailer.",
            subcommands: [List.self, Pull.self]
        )

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List the connectors, when each last pulled and whether it is due.")
            @OptionGroup var vaultOptions: VaultOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                let list = try vault.connectorList(now: env.now)
                let out = Output(env)
                if output.json { return try out.json(list) }
                if list.isEmpty { out.line("No connectors in connectors/.") }
                for c in list {
                    if let problem = c.problem { out.line(out.paint("invalid: ", .red) + problem); continue }
                    out.line("\(out.paint(c.name, .bold)) (\(c.kind)) last pull \(c.lastPull ?? "never")\(c.due ? ", due" : "")")
                }
                if list.contains(where: { $0.problem != nil }) { throw CLIFailure(message: "", status: 1) }
            }
        }

        struct Pull: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "pull", abstract: "Import what is new from a connector as notes, in one commit on main.")
            @OptionGroup var vaultOptions: VaultOptions
            @Argument(help: "The connector's name (connectors/NAME.md).")
            var name: String
            @OptionGroup var output: OutputOptions

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                let result = try vault.pullConnector(name, now: env.now, author: try env.identity(for: vault), environment: env.connectorEnvironment)
                let out = Output(env)
                if output.json { return try out.json(result) }
                ConnectorCLI.render(result, out: out)
            }
        }
    }
}

enum ConnectorCLI {
    /// The lines `cairn tick` shows for its pulls and sends.
    static func lines(_ report: ConnectorTickReport, out: Output) -> [String] {
        var lines: [String] = []
        for p in report.pulls {
            if let error = p.error { lines.append(out.paint("failed ", .red) + "pull \(p.connector): \(error)") }
            else if let r = p.result, r.commit != nil { lines.append("pulled \(p.connector): \(r.imported.count) new, \(r.updated.count) updated") }
        }
        for a in report.sends { lines.append("outbox \(a.id): \(a.state)" + (a.detail.isEmpty ? "" : " — \(a.detail)")) }
        return lines
    }

    static func render(_ r: ConnectorPullResult, out: Output) {
        if let commit = r.commit {
            var line = "Pulled \(r.connector): \(r.imported.count) new"
            if !r.updated.isEmpty { line += ", \(r.updated.count) updated" }
            if r.skipped > 0 { line += ", \(r.skipped) already in the vault" }
            out.line(line + " (\(commit.prefix(10))).")
            for p in r.imported { out.line("  + \(p)") }
            for p in r.updated { out.line("  ~ \(p)") }
        } else {
            out.line("Nothing new from \(r.connector)" + (r.skipped > 0 ? " (\(r.skipped) already in the vault)." : "."))
        }
        for w in r.warnings { out.line(out.paint("warning: ", .yellow) + w) }
    }
}

extension Environment {
    /// The environment and home folder connectors may take credentials from; retries wait `CAIRN_BACKOFF_SCALE` × their delay.
    var connectorEnvironment: ConnectorEnvironment {
        ConnectorEnvironment(variables: variables, home: variables["HOME"],
                             backoffScale: variables["CAIRN_BACKOFF_SCALE"].flatMap(Double.init) ?? 1,
                             machine: variables["CAIRN_MACHINE"] ?? ProcessInfo.processInfo.hostName)
    }

    /// The connector environment for sending: with the credentials that push an outbox claim to the vault's remote.
    func connectorEnvironment(sending vault: Vault) -> ConnectorEnvironment {
        var e = connectorEnvironment
        e.transport = try? transportCredentials(tokenEnv: vault.config.sync.tokenEnv, timeoutSeconds: vault.config.sync.timeoutSeconds)
        return e
    }
}
