import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", 
            abstract: "Show one commit: who made it, why (its Cairn trailers) and its diff."
        )

        @OptionGroup var vaultOptions: VaultOptions

        @Argument(help: "A commit id (abbreviated is fine), a branch, or an expression like HEAD~1.")
        var rev: String = "HEAD"

        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let result = try vault.show(rev)
            let out = Output(env)
            if output.json { return try out.json(result) }
            let e = result.entry
            var text = out.paint("commit \(e.commit)", .yellow) + "\n"
            text += "By:     \(e.actor) <\(e.authorEmail)>\n"
            text += "Date:   \(Output.day(e.date))\n"
            for (k, v) in e.trailers.sorted(by: { $0.key < $1.key }) { text += "\(k): \(v)\n" }
            text += "\n    \(e.summary)\n"
            if !e.body.isEmpty { text += e.body.split(separator: "\n", omittingEmptySubsequences: false).map { "    \($0)" }.joined(separator: "\n") + "\n" }
            text += "\n \(e.stats.filesChanged) file\(e.stats.filesChanged == 1 ? "" : "s") changed, \(e.stats.insertions) insertions(+), \(e.stats.deletions) deletions(-)\n\n"
            text += out.colorPatch(result.patch)
            out.page(text, env: env)
        }
    }
}
