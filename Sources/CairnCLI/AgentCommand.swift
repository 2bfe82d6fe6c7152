import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct AgentCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "agent",
            abstract: "List and run the vault's agents.",
            subcommands: [List.self, Run.self]
        )

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List the agents in agents/ and report invalid definitions.")
            @OptionGroup var vaultOptions: VaultOptions
            @OptionGroup var output: OutputOptions

            struct Row: Encodable {
                let name, kind, path, autonomy, trust, trustReason: String
                let description: String?
                let reads, writes: [String]
                let timeoutSeconds: Double
            }
            struct Listing: Encodable { let agents: [Row]; let problems: [FileProblem] }

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                let catalog = vault.agentCatalog()
                let policy = try vault.loadPolicy()
                let records = try vault.approvalRecords()
                let rows = try catalog.agents.map { a -> Row in
                    let t = try vault.trust(for: a, policy: policy, records: records)
                    return Row(name: a.name, kind: a.kind.rawValue, path: a.path, autonomy: a.effectiveAutonomy(policy).rawValue, trust: t.state.rawValue,
                               trustReason: t.reason, description: a.description, reads: a.reads, writes: a.writes, timeoutSeconds: a.timeout)
                }
                let out = Output(env)
                if output.json {
                    try out.json(Listing(agents: rows, problems: catalog.problems))
                    if !catalog.problems.isEmpty { throw CLIFailure(message: "", status: 1) }
                    return
                }
                if rows.isEmpty { out.line("No agents in agents/.") }
                for r in rows {
                    out.line(out.paint(r.name, .bold) + "  " + r.kind + ", " + r.autonomy + (r.trust == "advisory" ? "" : " (\(r.trust))")
                             + (r.description.map { " — \($0)" } ?? ""))
                    out.line("    reads " + (r.reads.isEmpty ? "nothing" : r.reads.joined(separator: " ")) + "; writes "
                             + (r.writes.isEmpty ? "nothing" : r.writes.joined(separator: " ")))
                }
                for p in catalog.problems { out.line(out.paint("invalid: ", .red) + p.description) }
                if !catalog.problems.isEmpty { throw CLIFailure(message: "", status: 1) }
            }
        }

        struct Run: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "run", 
                abstract: "Run an agent against main and record its proposal as one commit on its own branch.",
                discussion: "Your edits are snapshotted first. Review the proposal with `cairn review`, then `cairn approve` or `cairn reject`."
            )
            @OptionGroup var vaultOptions: VaultOptions
            @Argument(help: "The agent's name (its file in agents/ without .md).")
            var name: String
            @OptionGroup var input: InputOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                var options = AgentRunOptions()
                options.input = input.values
                options.environment = env.variables
                let progress = ProgressLine.onTerminal(env, json: output.json)
                options.progress = progress?.handler
                let fixed = env.variables["CAIRN_NOW"] != nil ? env.now : nil
                let result: AgentRunResult
                do {
                    defer { progress?.finish() }
                    result = try vault.runAgent(name, options: options, author: try env.identity(for: vault), clock: { fixed ?? Date() })
                }
                let out = Output(env)
                if output.json { try out.json(result) } else { render(result, out) }
                if result.outcome == .failed || result.outcome == .blocked { throw CLIFailure(message: "", status: 1) }
            }

            func render(_ r: AgentRunResult, _ out: Output) {
                switch r.outcome {
                case .proposed:
                    if r.alreadyPending { out.line("Already pending from an identical run (same agent, base and input):") }
                    out.line("Run \(r.run): \(r.agent) proposes \(r.summary)")
                    for c in r.changes { out.line(out.changeLine(c)) }
                    out.linkUpdates(r.links)
                    for f in r.needsReview { out.line(out.paint("needs review: ", .yellow) + f.description) }
                    out.line("Review with `cairn review \(r.run)`, then `cairn approve \(r.run)` or `cairn reject \(r.run)`.")
                case .autoMerged:
                    out.line("Run \(r.run): \(r.agent) changed \(r.summary); merged by policy (\(r.autoMerge?.commit.prefix(10) ?? "")).")
                    for c in r.changes { out.line(out.changeLine(c)) }
                    out.linkUpdates(r.links)
                case .noChanges:
                    out.line("Run \(r.run): \(r.agent) proposes no changes (\(r.summary)).")
                case .failed, .blocked:
                    ErrorReporting.printError("cairn: run \(r.run) \(r.outcome.rawValue): \(r.failure ?? "")")
                    for f in r.blocked { ErrorReporting.printError("  \(f.description)") }
                    ErrorReporting.printError("The run record is on \(r.ref) (`git show \(r.ref):\(r.record)`).")
                }
            }
        }
    }
}
