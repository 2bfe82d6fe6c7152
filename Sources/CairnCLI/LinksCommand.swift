import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Links: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "links", 
            abstract: "Show a note's outgoing links and the notes that link to it.",
            discussion: """
            Links are [[wikilinks]] (resolved by file name, alias or title, case-insensitively) and \
            Markdown links to relative paths. Broken links are marked; `cairn doctor` lists them all.
            """
        )

        @OptionGroup var vaultOptions: VaultOptions

        @Argument(help: "The note: a path (memory/knowledge/pricing.md) or a note name (pricing).")
        var note: String

        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let name = FileManager.default.fileExists(atPath: env.absolute(note)) ? try vaultRelative(note, vault: vault, env: env) : note
            let report: NoteLinkReport
            do {
                report = try vault.links(note: name)
            } catch let error as SearchError {
                throw CLIFailure(message: "\(error)", status: 1)
            }
            let out = Output(env)
            if output.json { return try out.json(report) }
            out.line(out.paint(report.path, .magenta) + "  " + out.paint(report.title, .bold))
            out.line("Links out (\(report.outgoing.count)):")
            for l in report.outgoing {
                let shown = l.kind == .wiki ? "[[\(l.target)]]" : "(\(l.target))"
                let to = l.resolved.map { " → " + $0 } ?? " " + out.paint("broken", .red)
                out.line("  \(l.line): \(shown)\(to)")
            }
            out.line("Links in (\(report.backlinks.count)):")
            for l in report.backlinks {
                out.line("  " + out.paint("\(l.source):\(l.line)", .magenta) + "  " + (l.kind == .wiki ? "[[\(l.target)]]" : "(\(l.target))"))
            }
        }
    }
}
