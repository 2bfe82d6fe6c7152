import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Forget: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "forget",
            abstract: "Remove every version of files from all history, for good.",
            discussion: """
            For a leaked secret or a right-to-erasure request. Every commit that held one of the paths (or globs) \
            is rewritten without it, commits that only touched it are dropped, and the objects are deleted from \
            the object store. A receipt (what, when, why, which commits changed — never the content) is committed \
            on refs/cairn/rewrites. A file still on the vault's branch is refused unless --include-current. Other \
            machines remove it when they next sync; a hosted remote may keep unreachable objects until its own \
            garbage collection.
            """
        )

        @OptionGroup var vaultOptions: VaultOptions

        @Argument(help: "Vault-relative paths or globs (a folder covers everything under it).")
        var paths: [String]

        @Option(parsing: .unconditional, help: "Why these files are forgotten (recorded in the receipt).")
        var reason: String

        @Flag(name: .customLong("include-current"), help: "Also remove files that are still on the vault's branch.")
        var includeCurrent = false

        @Flag(name: .customLong("dry-run"), help: "Show what would be removed; change nothing.")
        var dryRun = false

        @OptionGroup var output: OutputOptions

        func validate() throws {
            if paths.isEmpty { throw ValidationError("give at least one path to forget") }
            if reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw ValidationError("--reason cannot be empty") }
        }

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let options = PruneOptions(dryRun: dryRun, forget: paths, includeCurrent: includeCurrent, reason: reason)
            let report = try vault.prune(options, policy: try vault.loadPolicy(), author: try env.identity(for: vault),
                                         now: env.now, progress: PruneRendering.progress(env, json: output.json))
            let out = Output(env)
            if output.json { return try out.json(report) }
            if report.isEmpty && report.fileVersionsRemoved == 0 {
                out.line("Nothing to forget: no commit holds \(paths.joined(separator: ", ")).")
                return
            }
            PruneRendering.render(report, out: out, branch: vault.branch)
        }
    }
}
