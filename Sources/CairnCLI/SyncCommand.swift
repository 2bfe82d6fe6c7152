import ArgumentParser
import CairnKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Cairn {
    struct Sync: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "sync",
            abstract: "Commit your edits, take in a remote's changes, and push yours.",
            discussion: """
            Snapshot → fetch → integrate the remote's main (fast-forward, else a merge commit) → push. Proposals, \
            decisions, run records and workflow state travel too. A real conflict stops before committing and \
            leaves markers in the files: edit them, then `cairn sync --continue` (or `--abort`).
            """)

        @OptionGroup var vaultOptions: VaultOptions
        @Argument(help: "The remote (default: the only one, else origin).") var remote: String?
        @Flag(name: .customLong("continue"), help: "Finish a sync that stopped on conflicts, after editing the files.") var continueSync = false
        @Flag(help: "Give up a sync that stopped on conflicts; everything goes back as it was.") var abort = false
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if continueSync && abort { throw ValidationError("--continue and --abort cannot be combined") }
        }

        func run() throws {
            Environment.surviveBrokenConnections()
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let report: SyncReport
            let progress = ProgressLine.onTerminal(env, json: output.json)
            defer { progress?.finish() }
            if abort {
                report = try vault.abortSync(now: env.now)
            } else {
                var options = SyncOptions(author: try env.identity(for: vault),
                                          credentials: try env.transportCredentials(tokenEnv: vault.config.sync.tokenEnv, timeoutSeconds: vault.config.sync.timeoutSeconds))
                options.progress = progress?.transferHandler
                report = continueSync ? try vault.continueSync(options: options, now: env.now)
                                      : try vault.sync(remote: remote, options: options, now: env.now)
            }
            progress?.finish()
            Self.render(report, env: env, json: output.json)
            if report.outcome == .conflicts { throw CLIFailure(message: "", status: 1) }
        }

        static func render(_ report: SyncReport, env: Environment, json: Bool) {
            let out = Output(env)
            if json { try? out.json(report); return }
            switch report.outcome {
            case .aborted:
                out.line("Sync aborted: \(report.conflicts.joined(separator: ", ")) put back as they were; main unchanged.")
                return
            case .conflicts:
                ErrorReporting.printError("cairn: sync with \(report.remote) stopped on conflicts; nothing was committed:")
                for p in report.conflicts { ErrorReporting.printError("  both changed: \(p)") }
                ErrorReporting.printError("Edit those files (remove the <<<<<<< ======= >>>>>>> markers), then run `cairn sync --continue`; "
                                          + "`cairn sync --abort` puts everything back.")
            case .synced:
                if let s = report.snapshotCommit { out.line("Committed your edits as \(s.prefix(10)).") }
                out.line("Synced with \(report.remote): main \(report.integration)" + (report.main.map { " at \($0.prefix(10))" } ?? "")
                         + "; \(report.pushed.count) ref\(report.pushed.count == 1 ? "" : "s") pushed, \(report.received.count) received"
                         + (report.attempts > 1 ? " (after \(report.attempts) tries: another machine pushed meanwhile)" : "") + ".")
            }
            for n in report.notices { out.line(out.paint("note: ", .yellow) + n) }
        }
    }
}

extension Environment {
    /// This computer's host name (the default machine name).
    static var hostName: String? {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count) == 0 else { return nil }
        let name = String(cString: buf)
        return name.isEmpty ? nil : name
    }
}
