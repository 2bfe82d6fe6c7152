import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct MCPCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "mcp",
            abstract: "Serve the vault as memory to an AI client over the Model Context Protocol (stdio).",
            discussion: """
            Started by the client (Claude Desktop, Claude Code, Cursor…), which talks to it on stdin and stdout. \
            The client can search and read notes, list notes, recent changes and proposals, explain lines, run \
            agents and start workflows; every change it makes is a proposal of the agent mcp:<client> that you \
            review with `cairn proposals` and `cairn review`. The server runs until the client closes its input; \
            while it runs it watches the working tree (unless `cairn watch` already does), so edits saved in an \
            editor are seen by the next call without statting every note.
            """
        )

        @OptionGroup var vaultOptions: VaultOptions
        @Flag(name: .customLong("no-watch"),
              help: "Do not watch the working tree while serving (each search then checks every note for edits).")
        var noWatch = false

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            var options = MCPServerOptions(author: try env.identity(for: vault), clock: Self.clock(env))
            options.agentEnvironment = env.variables.filter { ["PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ"].contains($0.key) }
            if !vault.config.model.apiKeyEnv.isEmpty { options.apiKey = env.variables[vault.config.model.apiKeyEnv] }
            options.version = CairnVersion.string
            options.watchWorkingTree = !noWatch
            let root = vault.root
            let done = DispatchSemaphore(value: 0)
            nonisolated(unsafe) var failure: (any Error)? = nil
            Task.detached {
                do { try await CairnMCPServer.serve(root: root, options: options, input: STDIN_FILENO, output: STDOUT_FILENO) } catch {
                    failure = error
                }
                done.signal()
            }
            done.wait()
            if let failure { throw failure }
        }

        /// `CAIRN_NOW` fixes the clock (tests); otherwise the time of each call.
        static func clock(_ env: Environment) -> @Sendable () -> Date {
            let fixed = env.variables["CAIRN_NOW"] != nil ? env.now : nil
            return { fixed ?? Date() }
        }
    }
}
