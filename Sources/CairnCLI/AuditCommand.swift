import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "audit", 
            abstract: "Prove every commit on main is attributable: the operator, or an agent run plus the approval that let it in.",
            discussion: "Exits 1 when a commit is not accounted for (for example one made by hand with git, or an agent commit merged without approval)."
        )
        @OptionGroup var vaultOptions: VaultOptions
        @Flag(help: "List every commit, not only the problems.")
        var all = false
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let report = try vault.audit()
            let out = Output(env)
            if output.json {
                try out.json(report)
            } else {
                for e in report.entries where all || e.verdict == .unattributed {
                    let style: Output.Style = e.verdict == .unattributed ? .red : .green
                    out.line(out.paint(e.verdict.rawValue, style) + "  " + out.paint(String(e.commit.prefix(10)), .yellow) + "  \(e.summary)")
                    out.line("    \(e.author): \(e.reason)")
                }
                out.line(report.clean ? "All \(report.checked) commits on \(vault.branch) are attributable."
                         : "\(report.problems.count) of \(report.checked) commits on \(vault.branch) are not attributable.")
            }
            if !report.clean { throw CLIFailure(message: "", status: 1) }
        }
    }
}
