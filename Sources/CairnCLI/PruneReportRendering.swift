import CairnKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Text for `cairn prune` and `cairn forget`: the plan or the summary of what was removed, and progress.
enum PruneRendering {
    static func bytes(_ n: Int) -> String { ByteCountFormatter.string(fromByteCount: Int64(n), countStyle: .file) }

    /// A progress line on stderr, only on a terminal (rewrites of large vaults take a while).
    static func progress(_ env: Environment, json: Bool) -> (PruneProgress) -> Void {
        guard !json, isatty(STDERR_FILENO) == 1 else { return { _ in } }
        return { p in
            let text: String
            switch p.phase {
            case .rewriting: text = "rewriting commits \(p.done)/\(p.total)"
            case .packing: text = p.total > 0 ? "packed \(p.total) objects" : "packing the objects still reachable"
            case .switching: text = "switching \(p.total) references"
            case .removing: text = "removing old packs and loose objects"
            case .reindexing: text = "rebuilding the search index"
            }
            ErrorReporting.printError("\u{1B}[2K\rcairn: \(text)\u{1B}[1A")
        }
    }

    static func render(_ r: PruneReport, out: Output, branch: String) {
        if r.resumedInterrupted { out.line("Finished an interrupted prune first.") }
        for w in r.warnings { ErrorReporting.printError("warning: \(w)") }
        if r.isEmpty {
            out.line(r.dryRun ? "Nothing to prune: no rule removes anything from history." : "Nothing to remove: history already follows the rules.")
            return
        }
        out.line(out.paint(r.dryRun ? "Plan (dry run; nothing was changed):" : (r.operation == "forget" ? "Forgotten:" : "Pruned:"), .bold))
        for rule in r.rules { out.line("  rule: \(rule)") }
        out.line("  commits: \(r.commitsWalked) walked, \(r.commitsRewritten) \(r.dryRun ? "to rewrite" : "rewritten") (same message, author, dates), "
                 + "\(r.commitsDropped) \(r.dryRun ? "to drop" : "dropped") (they only touched what is removed)")
        if !r.proposalsRebased.isEmpty {
            out.line("  pending proposals \(r.dryRun ? "to move" : "moved") onto the new history: \(r.proposalsRebased.joined(separator: ", "))")
        }
        if r.commitsSquashed > 0 {
            out.line("  squash: \(r.commitsSquashed) agent and tick commits \(r.dryRun ? "to fold" : "folded") into \(r.dayCommits) "
                     + "commit\(r.dayCommits == 1 ? "" : "s") (one per day)")
        }
        if !r.referencesDeleted.isEmpty {
            out.line("  references \(r.dryRun ? "to delete" : "deleted"): \(r.referencesDeleted.count)")
            for name in r.referencesDeleted.prefix(10) { out.line("    \(name)") }
            if r.referencesDeleted.count > 10 { out.line("    … and \(r.referencesDeleted.count - 10) more") }
        }
        out.line("  references \(r.dryRun ? "to move" : "moved"): \(r.referencesRewritten.count)")
        out.line("  file versions \(r.dryRun ? "to remove" : "removed"): \(r.fileVersionsRemoved) in \(r.paths.count) paths, \(bytes(r.contentBytesRemoved)) uncompressed")
        for p in r.paths.prefix(15) { out.line("    \(p.path): \(p.versions) version\(p.versions == 1 ? "" : "s"), \(bytes(p.bytes))") }
        if r.paths.count > 15 { out.line("    … and \(r.paths.count - 15) more paths") }
        if let after = r.diskBytesAfter {
            out.line("  object store: \(bytes(r.diskBytesBefore)) → \(bytes(after)) (\(bytes(r.diskBytesBefore - after)) reclaimed)")
        } else {
            out.line("  object store now: \(bytes(r.diskBytesBefore)), about \(bytes(r.diskBytesReclaimable)) to reclaim")
        }
        if !r.workingTreeRemoved.isEmpty { out.line("  removed from the working tree: \(r.workingTreeRemoved.joined(separator: ", "))") }
        if let record = r.record {
            out.line("  record: \(String(record.prefix(10))) on refs/cairn/rewrites (old → new commit map and receipt; `git show \(String(record.prefix(10)))`)")
        }
        if !r.dryRun {
            out.line("Other machines follow the rewrite when they next sync. A hosted remote may keep the old objects until its own garbage collection; ask the host to run it.")
        }
        out.line(String(format: "  (%.1f s)", r.seconds))
    }
}
