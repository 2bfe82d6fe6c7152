import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "search", 
            abstract: "Search the vault's notes, best matches first.",
            discussion: """
            QUERY: words (all must match), "quoted phrases", prefix*, -word to exclude, and the filters \
            tag:NAME, tier:NAME and path:GLOB. A -word may come first (cairn search -draft invoice); put `--` \
            before the query when one of its words is -h or starts with two dashes (cairn search -- invoice -h). \
            Ranking is BM25; matches in titles count most, then tags. \
            The index (.git/cairn/search.sqlite) is brought up to date with main and your uncommitted edits first.
            """
        )

        @OptionGroup var vaultOptions: VaultOptions

        /// Every argument that is not one of the options, `-word` exclusions included (a plain array would leave a
        /// leading `-word` to the option parser, which refuses it); `queryWords` takes out the `--` terminator.
        @Argument(parsing: .allUnrecognized, help: "What to search for (several arguments are joined with spaces).")
        var query: [String] = []

        /// The query's words as typed: `query` without the first `--` (the terminator; later ones are words).
        var queryWords: [String] {
            guard let terminator = query.firstIndex(of: "--") else { return query }
            var words = query
            words.remove(at: terminator)
            return words
        }

        @Option(help: ArgumentHelp("Only notes of this tier: \(Tier.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "tier"))
        var tier: String?

        @Option(help: "Only notes with this tag.")
        var tag: String?

        @Option(help: ArgumentHelp("Only notes whose path matches this glob (e.g. 'memory/projects/**').", valueName: "glob"))
        var path: String?

        @Option(help: "How many results to show.")
        var limit: Int = 20

        @Option(name: .customLong("bench-runs"), help: .hidden)
        var benchRuns: Int?

        @OptionGroup var output: OutputOptions

        func validate() throws {
            if limit < 1 { throw ValidationError("--limit must be at least 1") }
            // `--word` is no query syntax: before `--` it is a misspelt or misplaced option, refused as before.
            for word in query.prefix(while: { $0 != "--" }) where word.hasPrefix("--") {
                throw ValidationError("Unknown option '\(word.prefix { $0 != "=" })'; to search for it, put `--` before the query (cairn search -- \(word))")
            }
            if queryWords.isEmpty && tier == nil && tag == nil && path == nil {
                throw ValidationError("give a query, or a filter (--tier, --tag, --path) to list notes")
            }
        }

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let text = queryWords.joined(separator: " ")
            if let benchRuns {
                // Benchmarks only: the in-process query time, repeated on one open index (JSON).
                let timing = try vault.searchIndex.timeQuery(try SearchQuery.parse(text), limit: limit, runs: benchRuns)
                return try Output(env).json(SearchTiming(update: timing.update, seconds: timing.seconds, cpuSeconds: timing.cpuSeconds, hits: timing.hits))
            }
            let results: SearchResults
            do {
                results = try vault.search(text, tier: tier, tag: tag, path: path, limit: limit)
            } catch let error as SearchError {
                throw CLIFailure(message: "\(error)", status: 1)
            }
            let out = Output(env)
            if output.json { return try out.json(results) }
            if results.update.kind == .rebuild {
                ErrorReporting.printError("cairn: built the search index (\(String(format: "%.1f", results.update.seconds)) s)")
            }
            defer { Self.renderSkipped(results.skipped, out) }
            if results.hits.isEmpty {
                out.line("No notes match \(text.isEmpty ? "the filters" : text).")
                return
            }
            for hit in results.hits {
                let location = hit.path + (hit.line.map { ":\($0)" } ?? "")
                var header = out.paint(location, .magenta) + "  " + out.paint(hit.title, .bold)
                if let tier = hit.tier { header += "  " + out.paint(tier, .cyan) }
                if hit.source == "worktree" { header += "  " + out.paint("(uncommitted)", .yellow) }
                out.line(header)
                let snippet = out.color
                    ? hit.snippet(open: "\u{1B}[1;31m", close: "\u{1B}[0m")
                    : hit.snippet(open: "", close: "")
                if !snippet.isEmpty { out.line("    " + snippet) }
            }
        }
    }
}

extension Cairn.Search {
    /// Shows, under the results, the files the search could not look inside, so that a miss is never silent.
    static func renderSkipped(_ skipped: [SkippedFile], _ out: Output) {
        guard !skipped.isEmpty else { return }
        out.line("")
        out.line(out.paint("Not searched: \(skipped.count) file\(skipped.count == 1 ? "" : "s") left out of the index", .yellow))
        for file in skipped.prefix(10) { out.line("    \(file.path): \(file.reason)") }
        if skipped.count > 10 { out.line("    … and \(skipped.count - 10) more (cairn index --stats lists them all)") }
    }
}

/// What `cairn search --bench-runs N` prints.
struct SearchTiming: Encodable {
    let update: IndexUpdate
    let seconds: [Double]
    let cpuSeconds: [Double]
    let hits: Int
}
