import CairnGit
import Foundation

/// What a built-in agent proposes.
public struct BuiltinOutcome: Sendable {
    public var edits: [ProposedEdit]
    public var summary: String
    public var details: [String]
}

/// Agents that need no model, so the loop works offline: `gc` and `digest`.
public enum BuiltinAgents {
    /// Runs built-in `name` against `base`; `reads` and `writes` are the agent definition's globs
    /// (empty: the built-in's defaults). The links they write follow `settings` (the vault's `.obsidian/app.json`).
    public static func run(_ name: String, base: BaseSnapshot, policy: Policy, now: Date,
                           reads: [String] = [], writes: [String] = [], settings: ObsidianSettings = ObsidianSettings(),
                           progress: ProgressHandler? = nil) throws -> BuiltinOutcome {
        switch name {
        case "gc":
            return try garbageCollect(base: base, policy: policy, now: now, reads: reads.isEmpty ? gcDefaultReads : reads,
                                      writes: writes.isEmpty ? gcDefaultWrites : writes, settings: settings, progress: progress)
        case "digest": return try digest(base: base, now: now, settings: settings, progress: progress)
        default: throw VaultError.invalidArgument("unknown builtin agent '\(name)'; available: \(AgentDefinition.builtins.joined(separator: ", "))")
        }
    }

    /// What `gc` reads when its definition names no `reads:` (and may change with no `writes:`).
    static let gcDefaultReads = ["memory/working/**"]
    static let gcDefaultWrites = ["memory/working/**", "memory/knowledge/archive/**"]

    /// Semantic garbage collection, always as a proposal (nothing is deleted without the operator):
    ///
    /// 1. Expired working notes: `memory/working/` notes past their `expires:` date (or older than the
    ///    policy TTL by their `updated:`/`created:` date) move to `memory/knowledge/archive/YYYY/`, unchanged.
    /// 2. Near-duplicates (`NearDuplicateFinder`, Jaccard ≥ 0.7 over 3-word shingles of the bodies): in each
    ///    group the largest note is kept (the first path on a tie); each other one moves to the archive with a
    ///    line pointing to the kept note — or, when it is pinned, core memory, or outside `writes`, becomes a
    ///    task in the review note.
    /// 3. Stale notes: `review_after:` has passed; each becomes a task in the review note
    ///    `memory/working/gc-review-YYYY-MM-DD.md` (unless an open task of an earlier review note names it).
    ///
    /// Only Markdown notes matching `reads` are considered, never the archive or earlier review notes.
    /// Pinned notes are never archived. The same base and clock always give the same proposal.
    static func garbageCollect(base: BaseSnapshot, policy: Policy, now: Date, reads: [String] = gcDefaultReads,
                               writes: [String] = gcDefaultWrites, settings: ObsidianSettings = ObsidianSettings(),
                               progress: ProgressHandler? = nil) throws -> BuiltinOutcome {
        var edits: [ProposedEdit] = []
        var details: [String] = []
        let today = FrontMatter.dayString(now)
        let ttl = TimeInterval(policy.memory.workingTTLDays) * 86_400
        let year = String(today.prefix(4))
        let writable = writes.map(Glob.init)
        let archivePrefix = "memory/knowledge/archive/"
        let reviewPrefix = "memory/working/gc-review-"

        // One pass over the notes, holding per note only what the steps below need (its text is read again only
        // when it is archived or a near-duplicate candidate), so memory stays flat as the vault grows.
        struct Scanned {
            let path: String
            let oid: OID
            let size: Int
            let pinned: Bool
            /// Why it expired (step 1), nil when it stays.
            let expired: String?
            let reviewAfter: Date?
        }
        var notes: [Scanned] = []
        var openTasks = Set<String>()
        var index = NearDuplicateIndex()
        var indexed: [Int] = []  // near-duplicate document number → position in `notes`
        let files = try base.files(matching: reads.map(Glob.init)).filter { $0.path.hasSuffix(".md") }
        /// What one note gives, worked out on any thread from its bytes alone.
        struct Read {
            var openTasks: [String] = []
            /// Nil for a review note or a note that does not parse.
            var note: (pinned: Bool, expired: String?, reviewAfter: Date?)? = nil
            var signature: [UInt64]? = nil
        }
        @Sendable func read(_ path: String, _ data: Data) -> Read {
            var out = Read()
            if path.hasPrefix(reviewPrefix) {
                // Paths named by open tasks (`- [ ] … (`path`)`) of earlier review notes are not asked about again.
                for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix("- [ ]") {
                    for (i, part) in line.split(separator: "`", omittingEmptySubsequences: false).enumerated() where i % 2 == 1 {
                        out.openTasks.append(String(part))
                    }
                }
                return out
            }
            // The front matter and body only: the links and tags a `Note` derives are not needed.
            guard let note = try? NoteParser.split(path: path, data: data) else { return out }
            let frontMatter = note.frontMatter
            let pinned = frontMatter?.pinned ?? false
            var why: String? = nil
            if path.hasPrefix("memory/working/") && !pinned {
                if let expires = frontMatter?.expires.flatMap(FrontMatter.date(from:)) {
                    if expires < now, FrontMatter.dayString(expires) < today { why = "expired on \(FrontMatter.dayString(expires))" }
                } else if policy.memory.workingTTLDays > 0,
                          let stamp = (frontMatter?.updated ?? frontMatter?.created).flatMap(FrontMatter.date(from:)),
                          now.timeIntervalSince(stamp) > ttl {
                    why = "not updated since \(FrontMatter.dayString(stamp)) (TTL \(policy.memory.workingTTLDays) days)"
                }
            }
            if why == nil {
                let shingles = NearDuplicateFinder.shingles(note.body)
                if !shingles.isEmpty { out.signature = NearDuplicateFinder.signature(shingles) }
            }
            out.note = (pinned, why, frontMatter?.reviewAfter.flatMap(FrontMatter.date(from:)))
            return out
        }
        // A batch at a time: its blobs read here (libgit2 wants one thread per repository), then parsed, shingled
        // and signed on every core; only the small `Read` of each note is kept.
        let batchSize = 512
        for start in stride(from: 0, to: files.count, by: batchSize) {
            progress?(WorkProgress(task: "reading notes", done: start, total: files.count))
            let batch: [(file: TreeFile, data: Data)] = files[start..<min(files.count, start + batchSize)].compactMap { file in
                guard !file.path.hasPrefix(archivePrefix), file.mode != TreeChange.symlinkMode,
                      let data = try? base.repository.blob(file.oid) else { return nil }
                return (file, data)
            }
            let results = parallelResults(count: batch.count) { read(batch[$0].file.path, batch[$0].data) }
            for (i, found) in results.enumerated() {
                guard let found else { continue }
                openTasks.formUnion(found.openTasks)
                guard let note = found.note else { continue }
                let file = batch[i].file
                if let signature = found.signature {
                    index.add(signature: signature)
                    indexed.append(notes.count)
                }
                notes.append(Scanned(path: file.path, oid: file.oid, size: batch[i].data.count, pinned: note.pinned,
                                     expired: note.expired, reviewAfter: note.reviewAfter))
            }
        }
        progress?(WorkProgress(task: "reading notes", done: files.count, total: files.count))

        var targets = Set<String>()
        var resolver: LinkResolver? = nil
        /// Every file of the base, for links written the shortest way that still leads to their file.
        func vaultResolver() throws -> LinkResolver {
            if let resolver { return resolver }
            let made = LinkResolver(paths: try base.files(matching: [Glob("**")]).map(\.path))
            resolver = made
            return made
        }
        func archive(_ item: Scanned, appending pointer: ((String) throws -> String)? = nil) throws -> String {
            let name = (item.path as NSString).lastPathComponent
            var target = archivePrefix + "\(year)/\(name)"
            var n = 2
            while base.entry(target) != nil || targets.contains(target) {
                target = archivePrefix + "\(year)/\((name as NSString).deletingPathExtension)-\(n).md"
                n += 1
            }
            targets.insert(target)
            var data = try base.repository.blob(item.oid)
            if let pointer {
                if data.last != UInt8(ascii: "\n") { data.append(UInt8(ascii: "\n")) }
                data.append(Data(("\n" + (try pointer(target)) + "\n").utf8))
            }
            edits.append(.delete(item.path))
            edits.append(.write(target, data))
            return target
        }

        // 1. Expired working notes.
        var archived = Set<String>()
        var expiredCount = 0
        for item in notes {
            guard let why = item.expired else { continue }
            let target = try archive(item, appending: nil)
            archived.insert(item.path)
            expiredCount += 1
            details.append("\(item.path) → \(target): \(why)")
        }

        // 2. Near-duplicates among the notes that stay: LSH candidates, each checked exactly on its shingles
        // (read again for the candidates only).
        progress?(WorkProgress(task: "comparing notes", done: 0, total: nil))
        var shinglesOf: [Int: [UInt64]] = [:]
        func shingles(_ doc: Int) -> [UInt64] {
            if let known = shinglesOf[doc] { return known }
            let item = notes[indexed[doc]]
            let body = (try? base.repository.blob(item.oid)).flatMap { try? NoteParser.split(path: item.path, data: $0) }?.body ?? ""
            let set = NearDuplicateFinder.shingles(body)
            shinglesOf[doc] = set
            return set
        }
        var pairs: [NearDuplicateFinder.Pair] = []
        for (a, b) in index.candidates() {
            let similarity = NearDuplicateFinder.jaccard(shingles(a), shingles(b))
            guard similarity >= NearDuplicateFinder.defaultThreshold else { continue }
            let (x, y) = (notes[indexed[a]].path, notes[indexed[b]].path)
            pairs.append(NearDuplicateFinder.Pair(first: min(x, y), second: max(x, y), similarity: similarity))
        }
        shinglesOf = [:]
        pairs.sort { ($0.first, $0.second) < ($1.first, $1.second) }
        let remaining = notes.filter { $0.expired == nil }
        var byPath: [String: Scanned] = [:]
        for item in remaining { byPath[item.path] = item }
        var parent: [String: String] = [:]
        func root(_ p: String) -> String {
            var x = p
            while let up = parent[x], up != x { x = up }
            return x
        }
        for pair in pairs {
            let a = root(pair.first), b = root(pair.second)
            if a != b { parent[max(a, b)] = min(a, b) }
        }
        var groups: [String: [String]] = [:]
        for path in Set(pairs.flatMap { [$0.first, $0.second] }) { groups[root(path), default: []].append(path) }
        var similarity: [String: Double] = [:]
        for pair in pairs { similarity[pair.first + "\u{0}" + pair.second] = pair.similarity }
        func similarityText(_ a: String, _ b: String) -> String {
            let s = similarity[min(a, b) + "\u{0}" + max(a, b)]
            return s.map { "\(Int(($0 * 100).rounded(.down)))% alike" } ?? "alike through the rest of the group"
        }
        var mergedCount = 0
        var duplicateTasks: [String] = []
        for members in groups.values.sorted(by: { $0.min()! < $1.min()! }) {
            let sorted = members.sorted()
            guard let keep = sorted.max(by: { (byPath[$0]?.size ?? 0, $1) < (byPath[$1]?.size ?? 0, $0) }) else { continue }
            for path in sorted where path != keep {
                guard let item = byPath[path] else { continue }
                let alike = similarityText(path, keep)
                let movable = !item.pinned && !path.hasPrefix("memory/core/") && writable.anyMatches(path)
                if movable {
                    let target = try archive(item) { target in
                        "> Archived by gc on \(today) as a near-duplicate of \(settings.newLink(to: keep, from: target, resolver: try vaultResolver()))"
                            + " (`\(keep)`, \(alike))."
                    }
                    mergedCount += 1
                    details.append("\(path) → \(target): near-duplicate of \(keep) (\(alike)); \(keep) is kept")
                } else if !openTasks.contains(path) {
                    let why = item.pinned ? "pinned" : path.hasPrefix("memory/core/") ? "core memory" : "gc may not change it"
                    duplicateTasks.append("- [ ] `\(path)` is a near-duplicate of `\(keep)` (\(alike)); merge them by hand (\(why)).")
                    details.append("\(path): near-duplicate of \(keep) (\(alike)); left for review (\(why))")
                }
            }
        }

        // 3. Stale notes: review_after has passed.
        var staleTasks: [String] = []
        let edited = Set(edits.map(\.path))
        for item in remaining {
            guard !edited.contains(item.path), !openTasks.contains(item.path),
                  let due = item.reviewAfter, due < now, FrontMatter.dayString(due) < today else { continue }
            let day = FrontMatter.dayString(due)
            staleTasks.append("- [ ] `\(item.path)`: review_after \(day) has passed; check it is still true, then move `review_after:` on or archive it.")
            details.append("\(item.path): review_after \(day) has passed; added to the review note")
        }

        if !staleTasks.isEmpty || !duplicateTasks.isEmpty {
            var text = "---\ntitle: \"Review from gc \(today)\"\ntier: working\ntags: [gc, review]\ncreated: \(today)\n"
            text += "expires: \(FrontMatter.dayString(now.addingTimeInterval(30 * 86_400)))\n---\n\n# Review from gc \(today)\n"
            text += "\nTick a task when it is done; gc does not ask again about a path an open task names.\n"
            if !staleTasks.isEmpty { text += "\n## Stale notes\n\n" + staleTasks.joined(separator: "\n") + "\n" }
            if !duplicateTasks.isEmpty { text += "\n## Near-duplicates\n\n" + duplicateTasks.joined(separator: "\n") + "\n" }
            var path = reviewPrefix + today + ".md"
            var n = 2
            while base.entry(path) != nil { path = reviewPrefix + "\(today)-\(n).md"; n += 1 }
            edits.append(.write(path, text))
        }

        func plural(_ n: Int, _ one: String, _ many: String) -> String { "\(n) \(n == 1 ? one : many)" }
        var parts: [String] = []
        if expiredCount > 0 { parts.append("archive " + plural(expiredCount, "expired working note", "expired working notes")) }
        if mergedCount > 0 { parts.append("archive " + plural(mergedCount, "near-duplicate", "near-duplicates")) }
        let tasks = staleTasks.count + duplicateTasks.count
        if tasks > 0 { parts.append("ask to review " + plural(tasks, "note", "notes")) }
        return BuiltinOutcome(edits: edits, summary: parts.isEmpty ? "nothing to archive" : parts.joined(separator: "; "), details: details)
    }

    /// Writes `memory/working/digests/YYYY-MM-DD.md`: what changed on main since the last digest.
    static func digest(base: BaseSnapshot, now: Date, settings: ObsidianSettings = ObsidianSettings(),
                       progress: ProgressHandler? = nil) throws -> BuiltinOutcome {
        let repo = base.repository
        // The last digest records the commit it covered up to.
        var since: OID? = nil
        var lastName = ""
        for file in try base.files(matching: [Glob("memory/working/digests/*.md")]) where file.path > lastName {
            guard let note = try? NoteParser.parse(path: file.path, data: try repo.blob(file.oid)),
                  let through = note.frontMatter?["through"]?.scalarText, let oid = OID(hex: through) else { continue }
            lastName = file.path
            since = oid
        }
        let walk = try RevWalk(repo, firstParentOnly: true)
        try walk.push(base.commit)
        if let since, (try? repo.commit(since)) != nil { try walk.hide(since) }
        var lines: [String] = []
        var files = Set<String>()
        var count = 0
        while let oid = try walk.next(), count < 200 {
            let c = try repo.commit(oid)
            count += 1
            let parentTree = try c.parents.first.map { try repo.commit($0).tree }
            // `TreeDiff` reads only the trees on changed paths; libgit2's tree diff loaded every folder of both
            // trees, for each of up to 200 commits.
            let changed = try TreeDiff.changes(repo, from: parentTree, to: c.tree).map(\.path).sorted()
                .filter { !$0.hasPrefix("memory/working/digests/") }
            if changed.isEmpty && c.trailer("Cairn-Operation") == nil { continue }
            changed.forEach { files.insert($0) }
            let who = c.trailer("Cairn-Agent").map { "agent \($0)" } ?? c.author.name
            lines.append("- \(FrontMatter.dayString(c.author.time)) — \(c.summary) (\(who), \(changed.count) file\(changed.count == 1 ? "" : "s"))")
        }
        let day = FrontMatter.dayString(now)
        guard !lines.isEmpty else { return BuiltinOutcome(edits: [], summary: "nothing new since the last digest", details: []) }
        let expires = FrontMatter.dayString(now.addingTimeInterval(14 * 86_400))
        var text = "---\ntitle: \"Digest \(day)\"\ntier: working\ntags: [digest]\ncreated: \(day)\nexpires: \(expires)\nthrough: \(base.commit.hex)\n---\n\n"
        text += "# Digest \(day)\n\n## Commits\n\n" + lines.joined(separator: "\n") + "\n\n## Files changed\n\n"
        var path = "memory/working/digests/\(day).md"
        var n = 2
        while base.entry(path) != nil { path = "memory/working/digests/\(day)-\(n).md"; n += 1 }
        // Links as the vault writes new ones (`.obsidian/app.json`); a file deleted since is named by its path.
        let resolver = LinkResolver(paths: try base.files(matching: [Glob("**")]).map(\.path))
        text += files.sorted().prefix(100).map { file in
            guard resolver.resolve(file, from: path)?.path == file else { return "- deleted (`\(file)`)" }
            return "- \(settings.newLink(to: file, from: path, resolver: resolver)) (`\(file)`)"
        }.joined(separator: "\n")
        if files.count > 100 { text += "\n- … and \(files.count - 100) more" }
        text += "\n"
        return BuiltinOutcome(edits: [.write(path, text)], summary: "digest of \(lines.count) change\(lines.count == 1 ? "" : "s") since \(since.map { $0.short() } ?? "the beginning")",
                              details: [path])
    }
}
