import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Links: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "links", 
            abstract: "Show a note's outgoing links and the notes that link to it.",
            discussion: """
            Links resolve as Obsidian resolves them, the same way `cairn doctor` does: wikilinks, embeds, Markdown \
            links and links in properties, to notes or attachments, by name, path suffix, alias or title, \
            case-insensitively. Unresolved links are marked; `cairn links --unresolved` lists them all.
            """
        )

        @OptionGroup var vaultOptions: VaultOptions

        @Argument(help: "The note or attachment: a path (memory/knowledge/pricing.md), a note name (pricing), or a file name (logo.png).")
        var note: String?

        @Flag(help: "List every link of the vault to a file that does not exist (yet), and links to missing headings or blocks.")
        var unresolved = false

        @OptionGroup var output: OutputOptions

        func validate() throws {
            if unresolved == (note != nil) { throw ValidationError("give a note, or --unresolved") }
        }

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            guard let note else { return try listUnresolved(vault, env) }
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

        /// `--unresolved`: every link that does not lead to a file, then every link to a missing heading or block.
        private func listUnresolved(_ vault: Vault, _ env: Environment) throws {
            let report = try vault.checkLinks()
            let out = Output(env)
            if output.json { return try out.json(report) }
            for p in report.unresolved + report.brokenAnchors {
                let place = out.paint("\(p.path):\(p.line)", .magenta) + (p.card.map { " (card \($0))" } ?? "")
                let problem = switch p.kind {
                case .unresolved: ""
                case .missingFile: "  " + out.paint(p.kind.rawValue, .red)
                default: "  " + out.paint(p.kind.rawValue, .red) + " in " + (p.resolved ?? "?")
                }
                out.line(place + "  " + p.link + problem)
            }
            let cards = report.brokenAnchors.filter { $0.kind == .missingFile }.count
            out.line("\(report.unresolved.count) unresolved and \(report.brokenAnchors.count - cards) to a missing heading or block"
                     + (cards == 0 ? "" : ", \(cards) canvas file card\(cards == 1 ? "" : "s") to a missing file")
                     + ", of \(report.links) links in \(report.notes) notes.")
        }
    }
}
