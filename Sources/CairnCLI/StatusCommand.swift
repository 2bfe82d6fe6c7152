import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "status", 
            abstract: "Show your uncommitted edits, pending proposals and vault health."
        )

        @OptionGroup var vaultOptions: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let status = try vault.status(now: env.now)
            let out = Output(env)
            let sync = StatusWithRemotes(status: status, remotes: try vault.remoteStatus(), syncConflicts: vault.syncConflicts())
            if output.json { return try out.json(sync) }
            out.line(out.paint("Vault ", .bold) + status.root + " on " + status.branch
                     + (status.head.map { " at " + String($0.prefix(10)) } ?? " (no commits yet)"))
            if status.changes.isEmpty {
                out.line("No uncommitted edits.")
            } else {
                out.line("\(status.changes.count) uncommitted edit\(status.changes.count == 1 ? "" : "s") (commit with `cairn snapshot`):")
                for c in status.changes.prefix(200) { out.line(out.changeLine(c)) }
                if status.changes.count > 200 { out.line("  … and \(status.changes.count - 200) more") }
            }
            out.line("Pending proposals: \(status.pendingProposals)" + (status.pendingProposals > 0 ? " (review with `cairn proposals`)" : ""))
            if !status.problems.isEmpty {
                out.line(out.paint("Problems that would block a snapshot:", .red))
                for p in status.problems { out.line("  \(p)") }
            }
            for l in sync.lines(out) { out.line(l) }
            for w in status.warnings { out.line(out.paint("warning: ", .yellow) + w) }
            if status.problems.isEmpty && status.warnings.isEmpty { out.line("Health: ok") }
        }
    }
}
