import ArgumentParser
import CairnGit
import CairnKit
import Foundation

extension Cairn {
    struct Doctor: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "doctor", 
            abstract: "Check the repository, the layout, every note's front matter, policy.json and config.",
            discussion: "Writes nothing. Exits 1 when it finds errors."
        )

        @OptionGroup var vaultOptions: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let display = ProgressLine.onTerminal(env, json: output.json)
            let report = vault.doctor(now: env.now, progress: display?.handler)
            display?.finish()
            let out = Output(env)
            if output.json {
                try out.json(report)
            } else {
                out.line("Checked \(report.commitsChecked) commits and \(report.notesChecked) Markdown files in \(report.root) (libgit2 \(Libgit2.version)).")
                for f in report.findings {
                    out.line(out.paint(f.severity.rawValue, f.severity == .error ? .red : .yellow) + ": " + String(f.description.drop(while: { $0 != ":" }).dropFirst(2)))
                }
                if let l = report.links {
                    var line = "Links: \(l.links) checked against \(l.files) files"
                    if l.unresolved > 0 { line += "; \(l.unresolved) unresolved (to notes not written yet; `cairn links --unresolved` lists them)" }
                    if l.ambiguous > 0 { line += "; \(l.ambiguous) by a name several files share" }
                    out.line(line + ".")
                }
                out.line(report.healthy ? out.paint("No errors.", .green) : "\(report.errors) error\(report.errors == 1 ? "" : "s") found.")
            }
            if !report.healthy { throw CLIFailure(message: "", status: 1) }
        }
    }
}
