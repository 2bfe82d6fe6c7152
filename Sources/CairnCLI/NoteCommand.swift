import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct NoteCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "note",
            abstract: "Work with notes.",
            subcommands: [New.self]
        )

        struct New: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "new", 
                abstract: "Create a note with front matter in its tier's folder and open it in $EDITOR.",
                discussion: "The file name is the title's slug; an existing file is never overwritten. Commit it with `cairn snapshot`."
            )

            @OptionGroup var vaultOptions: VaultOptions

            @Argument(help: "The note's title.")
            var title: String

            @Option(help: ArgumentHelp("The memory tier: \(Tier.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "tier"))
            var tier: String = Tier.working.rawValue

            @Option(name: .customLong("tag"), help: "A tag (repeat for several).")
            var tags: [String] = []

            @Flag(help: "Do not open an editor, even on a terminal.")
            var noEdit = false

            @OptionGroup var output: OutputOptions

            func validate() throws {
                guard Tier(rawValue: tier) != nil else {
                    throw ValidationError("unknown tier '\(tier)'; choose one of \(Tier.allCases.map(\.rawValue).joined(separator: ", "))")
                }
            }

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                let path = try vault.newNote(title: title, tier: Tier(rawValue: tier) ?? .working, tags: tags, now: env.now)
                let out = Output(env)
                if output.json { return try out.json(["path": path]) }
                out.line("Created \(path)")
                let editor = env.variables["VISUAL"] ?? env.variables["EDITOR"]
                guard !noEdit, env.stdoutIsTerminal, env.stdinIsTerminal, let editor, !editor.isEmpty else { return }
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
                process.arguments = ["-c", "\(editor) \"$1\"", "editor", vault.absolutePath(path)]
                try process.run()
                process.waitUntilExit()
            }
        }
    }
}
