import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Snapshot: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "snapshot", 
            abstract: "Commit every edit in the vault (new, changed, deleted, renamed files) as one commit.",
            discussion: "Front matter, policy.json and config are checked first; a problem stops the commit unless --force."
        )

        @OptionGroup var vaultOptions: VaultOptions

        @Option(name: .shortAndLong, parsing: .unconditional, help: "The commit message (default: a summary of the change); it may start with a dash.")
        var message: String?

        @Flag(help: "Commit files even when their front matter or JSON is invalid.")
        var force = false

        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let message, message.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw ValidationError("the message cannot be empty")
            }
        }

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let result = try vault.snapshot(SnapshotOptions(message: message, force: force),
                                            author: try env.identity(for: vault), now: env.now)
            let out = Output(env)
            if output.json { return try out.json(result) }
            for w in result.warnings { ErrorReporting.printError("warning: \(w)") }
            guard let commit = result.commit else {
                out.line("Nothing to commit: the vault matches \(vault.branch).")
                return
            }
            let subject = result.message?.split(separator: "\n").first.map(String.init) ?? ""
            out.line("Committed \(result.changes.count) change\(result.changes.count == 1 ? "" : "s") as \(out.paint(String(commit.prefix(10)), .yellow)): \(subject)")
            for c in result.changes.prefix(50) { out.line(out.changeLine(c)) }
            if result.changes.count > 50 { out.line("  … and \(result.changes.count - 50) more") }
        }
    }
}
