import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct IndexCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "index",
            abstract: "Bring the search index up to date, rebuild it, or show what it holds.",
            discussion: """
            The index lives in .git/cairn/search.sqlite. It is derived from git: deleting it loses nothing, \
            and every search updates it first (it is rebuilt when missing or corrupt).
            """
        )

        @OptionGroup var vaultOptions: VaultOptions

        @Flag(help: "Rebuild the index from scratch.")
        var rebuild = false

        @Flag(help: "Show documents, size, the indexed commit and skipped files.")
        var stats = false

        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let out = Output(env)
            if rebuild && !output.json { ErrorReporting.printError("cairn: rebuilding the search index…") }
            let result: IndexStats
            let display = ProgressLine.onTerminal(env, json: output.json)
            do {
                defer { display?.finish() }
                let index = vault.searchIndex
                index.progress = display?.handler
                result = try index.stats(rebuild: rebuild)
            } catch let error as SearchError {
                throw CLIFailure(message: "\(error)", status: 1)
            }
            if output.json { return try out.json(result) }
            let u = result.update
            let seconds = String(format: "%.3f s", u.seconds)
            switch u.kind {
            case .rebuild: out.line("Rebuilt the index (\(u.reason ?? "requested")): \(u.committedChanges) files from \(vault.branch), \(u.worktreeChanges) uncommitted, in \(seconds).")
            case .incremental: out.line("Updated the index: \(u.committedChanges) committed and \(u.worktreeChanges) uncommitted changes, in \(seconds).")
            case .unchanged: out.line("The index is up to date (checked in \(seconds)).")
            }
            guard stats else { return }
            out.line(out.paint("Index ", .bold) + result.path)
            out.line("  documents:      \(result.documents)" + (result.worktreeDocuments > 0 ? " (\(result.worktreeDocuments) from uncommitted edits)" : ""))
            out.line("  size:           " + ByteCountFormatter.string(fromByteCount: result.bytes, countStyle: .file))
            out.line("  indexed commit: " + (result.indexedCommit.map { String($0.prefix(10)) } ?? "none"))
            out.line("  schema version: \(result.schemaVersion)")
            if let check = u.worktreeCheck {
                let how = check == "watcher" ? "only the paths `cairn watch` reported" : "every note (no watcher running)"
                out.line("  working tree:   \(u.filesStatted ?? 0) files checked, \(how)")
            }
            if result.skipped.isEmpty {
                out.line("  skipped files:  none")
            } else {
                out.line("  skipped files:  \(result.skipped.count)")
                for s in result.skipped { out.line("    " + s.path + ": " + out.paint(s.reason, .yellow)) }
            }
        }
    }
}
