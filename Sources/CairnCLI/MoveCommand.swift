import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Move: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "mv",
            abstract: "Move or rename a note, attachment or folder and update the links to it in the same commit.",
            discussion: """
            As Obsidian's "Automatically update internal links": every wikilink, embed, Markdown link and property \
            link that led to what moved is rewritten (only its path; headings, display text and every other byte stay), \
            in the vault's "New link format" (.obsidian/app.json). Your pending edits are committed first. Paths are \
            relative to the current folder; an existing folder as NEW receives OLD inside it.
            """
        )

        @OptionGroup var vaultOptions: VaultOptions

        @Argument(help: "The file or folder to move.")
        var old: String

        @Argument(help: "Its new path, or an existing folder to move it into.")
        var new: String

        @Flag(help: "Show what would move and which links would change; write nothing.")
        var dryRun = false

        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let result = try vault.move(try vaultRelative(old, vault: vault, env: env), to: try vaultRelative(new, vault: vault, env: env),
                                        author: try env.identity(for: vault), now: env.now, dryRun: dryRun)
            let out = Output(env)
            if output.json { return try out.json(result) }
            for m in result.moved.prefix(50) { out.line("  \(m.from) -> \(m.to)") }
            if result.moved.count > 50 { out.line("  … and \(result.moved.count - 50) more") }
            for l in result.links.prefix(200) {
                out.line("  " + out.paint("\(l.path):\(l.line)", .magenta) + "  \(l.old) -> \(l.new)")
            }
            if result.links.count > 200 { out.line("  … and \(result.links.count - 200) more links") }
            let notes = Set(result.links.map(\.path)).count
            let summary = "\(result.moved.count) file\(result.moved.count == 1 ? "" : "s"), \(result.links.count) link\(result.links.count == 1 ? "" : "s") in \(notes) note\(notes == 1 ? "" : "s")"
            if let commit = result.commit {
                out.line("Moved \(summary) as \(out.paint(String(commit.prefix(10)), .yellow)).")
            } else {
                out.line("Would move \(summary) (dry run; nothing written).")
            }
            for path in result.kept {
                ErrorReporting.printError("warning: \(path) was edited meanwhile and left as it is; `cairn status` shows it")
            }
        }
    }
}
