import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct NoteCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "note",
            abstract: "Work with notes.",
            subcommands: [New.self, Daily.self]
        )

        struct New: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "new", 
                abstract: "Create a note with front matter in its tier's folder and open it in $EDITOR.",
                discussion: """
                The file name is the title's slug; an existing file is never overwritten. Commit it with `cairn snapshot`. \
                Without --tier, an Obsidian vault's "Folder to create new notes in" (.obsidian/app.json) is used when set.
                """
            )

            @OptionGroup var vaultOptions: VaultOptions

            @Argument(help: "The note's title.")
            var title: String

            @Option(help: ArgumentHelp("The memory tier: \(Tier.allCases.map(\.rawValue).joined(separator: ", ")) (default: working).", valueName: "tier"))
            var tier: String?

            @Option(name: .customLong("tag"), help: "A tag (repeat for several).")
            var tags: [String] = []

            @Flag(help: "Do not open an editor, even on a terminal.")
            var noEdit = false

            @OptionGroup var output: OutputOptions

            func validate() throws {
                guard let tier, Tier(rawValue: tier) == nil else { return }
                throw ValidationError("unknown tier '\(tier)'; choose one of \(Tier.allCases.map(\.rawValue).joined(separator: ", "))")
            }

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                // An Obsidian vault's own folder for new notes, unless a tier was asked for.
                let folder = tier == nil ? ObsidianSettings.read(root: vault.root).newFileFolder : nil
                let path = try vault.newNote(title: title, tier: tier.flatMap(Tier.init(rawValue:)) ?? .working, tags: tags, now: env.now, folder: folder)
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

        struct Daily: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "daily",
                abstract: "Open today's daily note, creating it where Obsidian's Daily notes plugin would.",
                discussion: """
                Folder, file name format and template come from .obsidian/daily-notes.json; the template's {{date}}, \
                {{time}} and {{title}} are filled in. Without those settings: memory/working/YYYY-MM-DD.md. An existing \
                note is never overwritten. Commit it with `cairn snapshot`.
                """
            )

            @OptionGroup var vaultOptions: VaultOptions

            @Flag(help: "Do not open an editor, even on a terminal.")
            var noEdit = false

            @OptionGroup var output: OutputOptions

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                let result = try vault.dailyNote(now: env.now, timeZone: TimeZone.current)
                let out = Output(env)
                if output.json { return try out.json(result) }
                out.line((result.created ? "Created " : "Today's note: ") + result.path)
                let editor = env.variables["VISUAL"] ?? env.variables["EDITOR"]
                guard !noEdit, env.stdoutIsTerminal, env.stdinIsTerminal, let editor, !editor.isEmpty else { return }
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/bin/sh")
                process.arguments = ["-c", "\(editor) \"$1\"", "editor", vault.absolutePath(result.path)]
                try process.run()
                process.waitUntilExit()
            }
        }
    }
}
