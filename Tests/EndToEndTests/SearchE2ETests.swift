import Foundation
import Testing

/// `cairn search`, `cairn index` and `cairn links` through the built binary, judged by `git grep` and
/// `git rev-parse`: results equal a brute-force scan, ranking favours titles, errors are clear, and the
/// derived index survives deletion, corruption and every kind of change.
@Suite struct SearchE2ETests {
    static let generator: String = {
        let local = Binaries.packageRoot + "/../shared/corpus/gen_vault.py"
        return FileManager.default.fileExists(atPath: local) ? local : "/work/shared/corpus/gen_vault.py"
    }()

    /// A gen_vault.py vault of `notes` notes adopted with `cairn init`; returns its path and sample words.
    func generatedVault(_ sb: Sandbox, notes: Int = 150) throws -> (path: String, common: [String], rare: [String]) {
        let path = sb.work + "/gen"
        let r = sb.run("/usr/bin/env", ["python3", Self.generator, path, "--notes", "\(notes)", "--commits", "3", "--bytes", "700"],
                       cwd: sb.work, env: sb.environment())
        try #require(r.status == 0, "gen_vault.py failed: \(r)")
        let info = try jsonObject(r.stdoutData)
        let initResult = sb.runCairn(["init", path])
        try #require(initResult.status == 0, "cairn init failed: \(initResult)")
        return (path, info["common_words"] as? [String] ?? [], info["rare_words"] as? [String] ?? [])
    }

    /// `cairn search ARGS --json`, required to succeed.
    func search(_ sb: Sandbox, _ v: String, _ args: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let r = sb.runCairn(["search"] + args + ["--json"], cwd: v)
        try #require(r.status == 0, "cairn search \(args) failed: \(r)", sourceLocation: sourceLocation)
        return try jsonObject(r.stdoutData, sourceLocation: sourceLocation)
    }

    func hits(_ results: [String: Any]) -> [[String: Any]] { results["hits"] as? [[String: Any]] ?? [] }

    /// Paths of the indexable files (`.md`, `.markdown`, `.txt`) in the working tree holding `word` as a whole word.
    func bruteForce(_ sb: Sandbox, _ v: String, _ word: String) throws -> Set<String> {
        let r = sb.git(["grep", "-l", "-i", "-w", "--untracked", "-e", word, "--", "*.md", "*.markdown", "*.txt"], cwd: v)
        try #require(r.status == 0 || r.status == 1, "git grep failed: \(r)")
        return Set(r.stdout.split(separator: "\n").map(String.init))
    }

    /// Every hit (path, blob, source, score rounded to 1e-9) for each word, plus the index's counts: what an
    /// incrementally updated index must share with a rebuilt one.
    func fingerprint(_ sb: Sandbox, _ v: String, words: [String]) throws -> [String] {
        var lines: [String] = []
        for word in words {
            for hit in hits(try search(sb, v, [word, "--limit", "100000"])) {
                let score = (hit["score"] as? Double).map { String(format: "%.9f", $0) } ?? "?"
                lines.append("\(word) \(hit["path"] ?? "") \(hit["blob"] ?? "") \(hit["source"] ?? "") \(hit["title"] ?? "") \(score)")
            }
        }
        let stats = sb.runCairn(["index", "--stats", "--json"], cwd: v)
        try #require(stats.status == 0, "\(stats)")
        let s = try jsonObject(stats.stdoutData)
        lines.append("documents \(s["documents"] ?? "") worktree \(s["worktreeDocuments"] ?? "")")
        for skipped in s["skipped"] as? [[String: Any]] ?? [] { lines.append("skipped \(skipped["path"] ?? "") \(skipped["reason"] ?? "")") }
        return lines.sorted()
    }

    @Test func resultsEqualABruteForceScanForExactTerms() throws {
        let sb = try Sandbox()
        let (v, common, rare) = try generatedVault(sb)
        #expect(common.count >= 3 && rare.count >= 3)
        for word in common.prefix(3) + rare {
            let found = Set(hits(try search(sb, v, [word, "--limit", "100000"])).compactMap { $0["path"] as? String })
            let expected = try bruteForce(sb, v, word)
            #expect(found == expected, "\(word): only cairn \(found.subtracting(expected).sorted()), only git grep \(expected.subtracting(found).sorted())")
        }
        // Uncommitted edits count too: a new note and an edit that removes the word.
        let word = rare[0]
        let before = try bruteForce(sb, v, word)
        let victim = try #require(before.sorted().first)
        try sb.write(v + "/" + victim, "no longer about it\n")
        try sb.write(v + "/inbox/fresh.md", "# Fresh\n\nA new note about \(word.uppercased()).\n")
        let found = Set(hits(try search(sb, v, [word, "--limit", "100000"])).compactMap { $0["path"] as? String })
        #expect(found == (try bruteForce(sb, v, word)))
        #expect(found.contains("inbox/fresh.md") && !found.contains(victim))
    }

    @Test func aTitleMatchRanksAboveASingleMention() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let filler = String(repeating: "other supplier business of the month ", count: 20)
        try sb.write(v + "/memory/knowledge/a-mention.md", "# Notes\n\n\(filler) kestrel \(filler)\n")
        try sb.write(v + "/memory/projects/kestrel-plan.md", "---\ntitle: Kestrel plan\n---\n\nWhat we will do next quarter.\n")
        try sb.write(v + "/memory/knowledge/z-mention.md", "# More notes\n\nOnce: kestrel.\n")
        try sb.snapshot(v)
        let paths = hits(try search(sb, v, ["kestrel"])).compactMap { $0["path"] as? String }
        #expect(paths.first == "memory/projects/kestrel-plan.md", "\(paths)")
        #expect(Set(paths) == ["memory/projects/kestrel-plan.md", "memory/knowledge/a-mention.md", "memory/knowledge/z-mention.md"])
    }

    @Test func jsonNamesTheCommitAndTheBlobOfEveryHit() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/projects/osprey.md", "---\ntitle: Osprey\ntags: [birds]\n---\n\nThe osprey contract renews in May.\n")
        try sb.snapshot(v)
        let results = try search(sb, v, ["osprey", "renews"])
        #expect(results["query"] as? String == "osprey renews")
        #expect(results["indexedCommit"] as? String == (try sb.gitOK(["rev-parse", "main"], cwd: v)))
        let hit = try #require(hits(results).first)
        #expect(hits(results).count == 1)
        #expect(hit["path"] as? String == "memory/projects/osprey.md")
        #expect(hit["title"] as? String == "Osprey")
        #expect(hit["tags"] as? [String] == ["birds"])
        #expect(hit["source"] as? String == "commit")
        #expect(hit["blob"] as? String == (try sb.gitOK(["rev-parse", "main:memory/projects/osprey.md"], cwd: v)))
        #expect((hit["snippet"] as? String)?.contains("«osprey»") == true, "\(hit)")
        #expect(hit["line"] as? Int == 6)
        #expect((hit["score"] as? Double ?? 0) > 0)
    }

    @Test func aQuerySyntaxErrorIsAClearMessageAndExitsOne() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        for (query, message) in [(["\"unclosed phrase"], "unclosed quote"), (["--", "-only"], "only excludes"),
                                 (["tier:nowhere"], "unknown tier"), (["tag:"], "'tag:' needs a value")] {
            let r = sb.runCairn(["search"] + query, cwd: v)
            #expect(r.status == 1, "\(query): \(r)")
            #expect(r.stderr.contains(message), "\(query): \(r)")
            #expect(!r.stderr.lowercased().contains("sqlite") && !r.stderr.contains("fts5"), "\(query): \(r)")
            #expect(r.stdout.isEmpty, "\(query): \(r)")
        }
        // FTS5 operators in user input are plain words, never syntax.
        for query in ["AND OR NEAR(", "title:x", "a^b", "*", "\"\""] {
            let r = sb.runCairn(["search", query], cwd: v)
            #expect(r.status == 0 || (r.status == 1 && r.stderr.contains("empty")), "\(query): \(r)")
            #expect(!r.stderr.lowercased().contains("sqlite") && !r.stderr.contains("fts5"), "\(query): \(r)")
        }
    }

    @Test func aQueryMayStartWithAnExcludedWordWithoutDoubleDash() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/knowledge/pene-plain.md", "# Plain\n\nThe pene batch shipped.\n")
        try sb.write(v + "/memory/knowledge/pene-mowa.md", "# Both\n\nThe pene batch, mowa edition.\n")
        try sb.snapshot(v)
        func paths(_ results: [String: Any]) -> [String] { hits(results).compactMap { $0["path"] as? String }.sorted() }
        // `-mowa` first is the query's exclusion, as it is after `--` and after a word; options still work around it.
        let first = try search(sb, v, ["-mowa", "pene"])
        #expect(first["query"] as? String == "-mowa pene", "\(first)")
        #expect(paths(first) == ["memory/knowledge/pene-plain.md"])
        let terminated = sb.runCairn(["search", "--json", "--", "-mowa", "pene"], cwd: v)
        #expect(terminated.status == 0, "\(terminated)")
        #expect(paths(try jsonObject(terminated.stdoutData)) == ["memory/knowledge/pene-plain.md"])
        #expect(paths(try search(sb, v, ["pene", "-mowa"])) == ["memory/knowledge/pene-plain.md"])
        #expect(paths(try search(sb, v, ["--limit", "5", "-mowa", "--tier", "knowledge", "pene"])) == ["memory/knowledge/pene-plain.md"])
        let text = sb.runCairn(["search", "-mowa", "pene"], cwd: v)
        #expect(text.status == 0 && text.stdout.contains("memory/knowledge/pene-plain.md") && !text.stdout.contains("pene-mowa"), "\(text)")
        // Only exclusions is the query's own error, not a usage error.
        let only = sb.runCairn(["search", "-mowa"], cwd: v)
        #expect(only.status == 1 && only.stderr.contains("only excludes"), "\(only)")
        // A misspelt `--option` is still refused rather than searched for; `--` makes it a word.
        let typo = sb.runCairn(["search", "pene", "--limt", "5"], cwd: v)
        #expect(typo.status != 0 && typo.stderr.contains("--limt") && typo.stdout.isEmpty, "\(typo)")
        #expect(sb.runCairn(["search", "--", "pene", "--limt"], cwd: v).status == 0)
        // Help is still help.
        for flag in ["--help", "-h"] {
            let help = sb.runCairn(["search", flag], cwd: v)
            #expect(help.status == 0 && help.stdout.contains("USAGE: cairn search") && help.stdout.contains("--limit"), "\(flag): \(help)")
        }
    }

    @Test func deletingTheDerivedFolderLosesNothing() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/knowledge/heron.md", "# Heron\n\nHeron facts.\n")
        try sb.snapshot(v)
        let first = hits(try search(sb, v, ["heron"]))
        #expect(first.count == 1)
        try FileManager.default.removeItem(atPath: v + "/.git/cairn")
        let r = sb.runCairn(["search", "heron"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("memory/knowledge/heron.md"), "\(r)")
        #expect(r.stderr.contains("built the search index"), "\(r)")
        #expect(sb.exists(v + "/.git/cairn/search.sqlite"))
        sb.expectFsckClean(v)
    }

    @Test func aCorruptIndexIsDetectedAndRebuilt() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/knowledge/plover.md", "# Plover\n\nPlover facts.\n")
        try sb.snapshot(v)
        _ = try search(sb, v, ["plover"])
        let db = v + "/.git/cairn/search.sqlite"
        let original = try #require(sb.read(db))

        // Garbage in place of the whole file.
        try sb.write(db, Data(repeating: 0x5A, count: 8192))
        var results = try search(sb, v, ["plover"])
        #expect(hits(results).map { $0["path"] as? String } == ["memory/knowledge/plover.md"])
        var update = try #require(results["update"] as? [String: Any])
        #expect(update["kind"] as? String == "rebuild", "\(update)")

        // A file cut short (the tail of its pages missing).
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + suffix) }
        try sb.write(db, original.prefix(original.count / 3))
        results = try search(sb, v, ["plover"])
        #expect(hits(results).map { $0["path"] as? String } == ["memory/knowledge/plover.md"])
        update = try #require(results["update"] as? [String: Any])
        #expect(update["kind"] as? String == "rebuild", "\(update)")
        #expect((update["reason"] as? String)?.isEmpty == false)
    }

    @Test func incrementalUpdatesEqualARebuildAfterAddEditDeleteAndRename() throws {
        let sb = try Sandbox()
        let (v, common, rare) = try generatedVault(sb, notes: 120)
        let words = Array(common.prefix(2)) + rare + ["plover", "stint"]
        _ = try fingerprint(sb, v, words: words)  // builds the index

        let notes = try sb.gitLines(["ls-files", "memory/knowledge"], cwd: v).filter { $0.hasSuffix(".md") }
        try #require(notes.count >= 6)
        func expectMatchesRebuild(_ step: String) throws {
            let incremental = try fingerprint(sb, v, words: words)
            let r = sb.runCairn(["index", "--rebuild"], cwd: v)
            try #require(r.status == 0, "\(r)")
            let rebuilt = try fingerprint(sb, v, words: words)
            let onlyIncremental = Set(incremental).subtracting(rebuilt).sorted(), onlyRebuilt = Set(rebuilt).subtracting(incremental).sorted()
            #expect(incremental == rebuilt, "\(step): only incremental \(onlyIncremental); only rebuilt \(onlyRebuilt)")
        }

        // Committed: add, edit, delete, rename (with and without a content change).
        try sb.write(v + "/memory/knowledge/plover.md", "---\ntitle: Plover\n---\n\nPlover and \(rare[0]) [[\(notes[0])]].\n")
        try sb.write(v + "/" + notes[1], "---\ntitle: Rewritten\n---\n\nNow about stint and \(common[0]).\n")
        try FileManager.default.removeItem(atPath: v + "/" + notes[2])
        try sb.gitOK(["mv", notes[3], "memory/knowledge/renamed-plain.md"], cwd: v)
        try sb.gitOK(["mv", notes[4], "memory/projects/renamed-edited.md"], cwd: v)
        try sb.write(v + "/memory/projects/renamed-edited.md", "# Renamed\n\nstint \(rare[1])\n")
        try sb.snapshot(v)
        try expectMatchesRebuild("committed changes")

        // Uncommitted: the same kinds of change in the working tree, then a binary and a huge file.
        try sb.write(v + "/inbox/stint.md", "# Stint\n\nstint stint \(rare[2])\n")
        try sb.write(v + "/memory/knowledge/plover.md", "# Plover\n\nEdited, without the rare word.\n")
        try FileManager.default.removeItem(atPath: v + "/" + notes[5])
        try FileManager.default.moveItem(atPath: v + "/memory/knowledge/renamed-plain.md", toPath: v + "/inbox/moved.md")
        try expectMatchesRebuild("uncommitted changes")

        // Committing them, and more edits on top.
        try sb.snapshot(v)
        try sb.write(v + "/inbox/stint.md", "# Stint\n\nback to \(rare[0])\n")
        try expectMatchesRebuild("committed, then edited again")
        sb.expectFsckClean(v)
    }

    @Test func indexStatsListSkippedBinaryAndHugeFilesWithTheReason() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        // The size limit comes from the vault's config (default 64 MiB): 1 MiB here.
        let configURL = URL(fileURLWithPath: v + "/.cairn/config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["search"] = ["max_file_mib": 1]
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted]).write(to: configURL)
        var binary = Data("# Looks like a note\n".utf8)
        binary.append(contentsOf: [0, 1, 2, 0])
        try sb.write(v + "/memory/knowledge/blob.md", binary)
        try sb.write(v + "/memory/knowledge/huge.txt", String(repeating: "lorem ipsum dolor sit amet\n", count: 100_000))
        try sb.write(v + "/memory/knowledge/fine.md", "# Fine\n\nlorem\n")
        // Snapshot refuses a Markdown file with NUL bytes unless forced; an operator may force it.
        let snap = sb.runCairn(["snapshot", "--force", "-m", "odd files"], cwd: v)
        try #require(snap.status == 0, "\(snap)")

        let r = sb.runCairn(["index", "--stats"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("skipped files:  2"), "\(r)")
        #expect(r.stdout.contains("memory/knowledge/blob.md: binary (contains NUL bytes)"), "\(r)")
        #expect(r.stdout.contains("memory/knowledge/huge.txt: larger than 1 MiB (2.6 MiB; raise search.max_file_mib in .cairn/config.json to include it)"), "\(r)")

        let json = try jsonObject(sb.runCairn(["index", "--stats", "--json"], cwd: v).stdoutData)
        let skipped = try #require(json["skipped"] as? [[String: Any]])
        #expect(skipped.compactMap { $0["path"] as? String } == ["memory/knowledge/blob.md", "memory/knowledge/huge.txt"])
        // Skipped files are not searchable; the others are, and every search says what it could not look inside.
        let found = try search(sb, v, ["lorem"])
        #expect(hits(found).compactMap { $0["path"] as? String } == ["memory/knowledge/fine.md"])
        #expect((found["skipped"] as? [[String: Any]])?.compactMap { $0["path"] as? String } == ["memory/knowledge/blob.md", "memory/knowledge/huge.txt"])
        let text = sb.runCairn(["search", "lorem"], cwd: v)
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("Not searched: 2 files left out of the index"), "\(text)")
        #expect(text.stdout.contains("    memory/knowledge/huge.txt: larger than 1 MiB"), "\(text)")
        let miss = sb.runCairn(["search", "nothing-matches-this"], cwd: v)
        #expect(miss.stdout.hasPrefix("No notes match nothing-matches-this.\n\nNot searched: 2 files"), "\(miss)")
        // (Raising the limit rebuilds the index and finds the file: SearchIndexTests.changingTheLimitReindexes.)
    }

    @Test func linksListsOutgoingLinksAndBacklinks() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/projects/avocet.md", "---\ntitle: Avocet\n---\n\nSee [[Godwit]] and [[Nowhere]].\n")
        try sb.write(v + "/memory/knowledge/godwit.md", "# Godwit\n\nBack to [avocet](../projects/avocet.md).\n")
        try sb.snapshot(v)
        let r = sb.runCairn(["links", "memory/projects/avocet.md", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let report = try jsonObject(r.stdoutData)
        let outgoing = try #require(report["outgoing"] as? [[String: Any]])
        #expect(outgoing.map { "\($0["target"] ?? "") -> \($0["resolved"] ?? "BROKEN")" } == ["Godwit -> memory/knowledge/godwit.md", "Nowhere -> BROKEN"])
        let backlinks = try #require(report["backlinks"] as? [[String: Any]])
        #expect(backlinks.compactMap { $0["source"] as? String } == ["memory/knowledge/godwit.md"])
        let missing = sb.runCairn(["links", "no-such-note"], cwd: v)
        #expect(missing.status == 1 && missing.stderr.contains("no note 'no-such-note'"), "\(missing)")
        // By name and by title too; and with no search index yet, `links` builds none to look the note up.
        #expect(sb.runCairn(["links", "godwit"], cwd: v).stdout.hasPrefix("memory/knowledge/godwit.md  Godwit\n"))
        #expect(sb.runCairn(["links", "Avocet"], cwd: v).stdout.hasPrefix("memory/projects/avocet.md  Avocet\n"))
        #expect(!FileManager.default.fileExists(atPath: v + "/.git/cairn/search.sqlite"), "cairn links built the search index")
        // A link to a note not written yet is "unresolved", as Obsidian says: doctor counts it and stays healthy,
        // `links --unresolved` lists it.
        let doctor = sb.runCairn(["doctor"], cwd: v)
        #expect(doctor.status == 0, "\(doctor)")
        #expect(doctor.stdout.contains("1 unresolved"), "\(doctor)")
        #expect(!doctor.stdout.contains("[[Nowhere]]"), "\(doctor)")
        #expect(sb.runCairn(["links", "--unresolved"], cwd: v).stdout.contains("memory/projects/avocet.md:5  [[Nowhere]]"))
    }

    @Test func linksFindsAnAttachmentByItsNameAsALinkWould() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try FileManager.default.createDirectory(atPath: v + "/assets/img", withIntermediateDirectories: true)
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0]).write(to: URL(fileURLWithPath: v + "/assets/img/logo.png"))
        try sb.write(v + "/memory/knowledge/brand.md", "# Brand\n\nOur mark: ![[logo.png]]\n")
        try sb.write(v + "/memory/projects/site.md", "# Site\n\nHeader [logo](../../assets/img/logo.png) on top.\n")
        for folder in ["a", "b"] {
            try FileManager.default.createDirectory(atPath: v + "/" + folder, withIntermediateDirectories: true)
            try sb.write(v + "/\(folder)/chart.pdf", "%PDF-1.4 \(folder)\n")
        }
        try sb.snapshot(v)
        // By file name (any case) and by a path suffix, as `![[logo.png]]` and `[[img/logo.png]]` find it.
        for name in ["logo.png", "LOGO.png", "img/logo.png", "assets/img/logo.png"] {
            let r = sb.runCairn(["links", name, "--json"], cwd: v)
            #expect(r.status == 0, "\(name): \(r)")
            guard r.status == 0 else { continue }
            let report = try jsonObject(r.stdoutData)
            #expect(report["path"] as? String == "assets/img/logo.png", "\(name): \(report)")
            let backlinks = (report["backlinks"] as? [[String: Any]] ?? []).map { "\($0["source"] ?? ""):\($0["line"] ?? "")" }
            #expect(backlinks == ["memory/knowledge/brand.md:3", "memory/projects/site.md:3"], "\(name): \(report)")
        }
        let text = sb.runCairn(["links", "logo.png"], cwd: v)
        #expect(text.stdout.hasPrefix("assets/img/logo.png  logo.png\n") && text.stdout.contains("Links in (2):"), "\(text)")
        // Two files of that name: which one is meant is asked, not guessed; the path settles it.
        let both = sb.runCairn(["links", "chart.pdf"], cwd: v)
        #expect(both.status == 1 && both.stderr.contains("a/chart.pdf") && both.stderr.contains("b/chart.pdf")
                && both.stderr.contains("give the path") && both.stdout.isEmpty, "\(both)")
        #expect(sb.runCairn(["links", "b/chart.pdf"], cwd: v).stdout.hasPrefix("b/chart.pdf  chart.pdf\n"))
        // `[[logo]]` is not a link to logo.png in Obsidian, so `links logo` does not find it either.
        let stem = sb.runCairn(["links", "logo"], cwd: v)
        #expect(stem.status == 1 && stem.stderr.contains("no note 'logo'"), "\(stem)")
    }
}
