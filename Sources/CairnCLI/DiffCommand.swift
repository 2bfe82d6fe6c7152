import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Diff: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "diff", 
            abstract: "Show your uncommitted edits as a diff (against the last commit, or REV)."
        )

        @OptionGroup var vaultOptions: VaultOptions

        @Argument(help: "Compare the working tree with this commit (default: the vault branch's head).")
        var rev: String?

        @Flag(help: "Only the summary: files changed, insertions, deletions.")
        var stat = false

        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let result = try vault.diff(against: rev)
            let out = Output(env)
            if output.json { return try out.json(result) }
            if result.changes.isEmpty { out.line("No differences."); return }
            var text = ""
            if stat {
                for c in result.changes { text += out.changeLine(c) + "\n" }
            } else {
                text += out.colorPatch(result.patch)
            }
            text += " \(result.stats.filesChanged) file\(result.stats.filesChanged == 1 ? "" : "s") changed, \(result.stats.insertions) insertions(+), \(result.stats.deletions) deletions(-)\n"
            out.page(text, env: env)
        }
    }
}
