import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Prune: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "prune",
            abstract: "Apply the retention rules of policy.json to history and delete what they remove.",
            discussion: """
            Rewrites every commit the rules touch (kept commits keep message, author, dates and trailers), \
            switches all references together, expires reflogs and deletes the objects nothing reaches any more. \
            The files on the vault's branch are not changed. The old → new commit map and a receipt are committed \
            on refs/cairn/rewrites. Run with --dry-run first to see the plan.
            """
        )

        @OptionGroup var vaultOptions: VaultOptions

        @Flag(name: .customLong("dry-run"), help: "Show what would be rewritten and removed; change nothing.")
        var dryRun = false

        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let policy = try vault.loadPolicy()
            let report = try vault.prune(PruneOptions(dryRun: dryRun), policy: policy, author: try env.identity(for: vault),
                                         now: env.now, progress: PruneRendering.progress(env, json: output.json))
            let out = Output(env)
            if output.json { return try out.json(report) }
            PruneRendering.render(report, out: out, branch: vault.branch)
        }
    }
}
