import Foundation
import Testing
@testable import CairnGit

/// `CommitDiffer` (the changes and line counts of `cairn log`) against libgit2's full tree diff and the git CLI.
@Suite struct CommitDifferTests {
    /// SplitMix64: the same edits on every run.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    /// A line from a small vocabulary, so that texts repeat lines (blank ones most) as notes do: the cases where a
    /// line diff has several equally short answers.
    static func line(_ r: inout Random) -> String {
        let words = ["", "", "", "- [ ] follow up", "## Notes", "tags: [a, b]", "---", "see [[Plan]]", "ok"]
        let w = words[r.below(words.count)]
        return r.below(3) == 0 ? w : w + " \(r.below(40))"
    }

    /// `lines` with a few random edits: lines inserted, deleted, replaced, blocks moved or rewritten.
    static func edit(_ lines: [String], _ r: inout Random) -> [String] {
        var out = lines
        for _ in 0...r.below(4) {
            let at = r.below(out.count + 1)
            switch r.below(6) {
            case 0, 1: out.insert(contentsOf: (0...r.below(5)).map { _ in line(&r) }, at: at)
            case 2: if at < out.count { out.removeSubrange(at..<min(out.count, at + 1 + r.below(4))) }
            case 3: if at < out.count { out[at] = line(&r) }
            case 4:
                // A block moved elsewhere.
                guard at < out.count else { continue }
                let block = Array(out[at..<min(out.count, at + 1 + r.below(6))])
                out.removeSubrange(at..<at + block.count)
                out.insert(contentsOf: block, at: r.below(out.count + 1))
            default:
                // A whole stretch rewritten (long changes take xdiff's heuristics).
                guard at < out.count else { continue }
                out.replaceSubrange(at..<min(out.count, at + r.below(300)), with: (0..<r.below(300)).map { _ in line(&r) })
            }
        }
        return out
    }

    func tree(_ t: TestRepo, _ commit: OID?) throws -> OID? { try commit.map { try t.repo.commit($0).tree } }

    /// Lines added and removed in `commit` against its parent by `git diff-tree --numstat` (a binary file is "-").
    func gitNumstat(_ t: TestRepo, _ commit: OID) throws -> (files: Int, insertions: Int, deletions: Int) {
        let rows = try t.gitRaw(["diff-tree", "-r", "--numstat", "--no-renames", "--root", "--no-commit-id", commit.hex]).lines
        var add = 0, del = 0
        for row in rows {
            let cols = row.split(separator: "\t")
            add += Int(cols[0]) ?? 0
            del += Int(cols[1]) ?? 0
        }
        return (rows.count, add, del)
    }

    func expectSame(_ t: TestRepo, _ differ: CommitDiffer, _ old: OID?, _ new: OID?, path: String? = nil,
                    _ label: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let ours = try differ.diff(from: try tree(t, old), to: try tree(t, new), path: path, maxFilesForLineCounts: 2000)
        var options = DiffOptions()
        options.paths = path.map { [$0] } ?? []
        let full = try t.repo.diff(from: try tree(t, old), to: try tree(t, new), options: options)
        #expect(ours.deltas == full.deltas(checkingBinary: false), "\(label)", sourceLocation: sourceLocation)
        #expect(ours.stats == (try full.stats()), "\(label)", sourceLocation: sourceLocation)
    }

    /// Hundreds of random edits to notes with many repeated and blank lines, files with and without a last
    /// newline, binary files, deletions and new files: the same deltas and line counts as libgit2's own tree diff,
    /// and the same counts as `git diff-tree --numstat`.
    @Test func randomEditsCountAsLibgit2AndGitCount() throws {
        let t = try TestRepo()
        var r = Random(state: 14)
        let paths = ["a.md", "memory/b.md", "memory/deep/c.md", "memory/deep/c-d.md", "memory/deep.md", "inbox/e.md", "z.md"]
        var texts: [String: [String]] = [:]
        var commits: [OID] = []
        var withLines = 0
        for i in 0..<150 {
            var change: [String: String?] = [:]
            // Now and then a commit deletes a note, never alongside a new one (libgit2 could take the pair for a rename).
            if r.below(12) == 0, let path = texts.keys.sorted().first(where: { _ in r.below(2) == 0 }) {
                change[path] = .some(nil)
                texts[path] = nil
            } else {
                for _ in 0...r.below(3) {
                    let path = paths[r.below(paths.count)]
                    let lines = texts[path].map { Self.edit($0, &r) } ?? (0..<(1 + r.below(60))).map { _ in Self.line(&r) }
                    texts[path] = lines
                    var text = lines.joined(separator: "\n")
                    if r.below(5) != 0 || text.isEmpty { text += "\n" }
                    if i % 37 == 36 { text = "binary\u{0}" + text }
                    change[path] = text
                }
            }
            if change.isEmpty { continue }
            commits.append(try t.commit(change, message: "edit \(i)"))
        }
        let differ = CommitDiffer(t.repo)
        for (i, commit) in commits.enumerated() {
            let parent = i == 0 ? nil : commits[i - 1]
            try expectSame(t, differ, parent, commit, "commit \(i)")
            try expectSame(t, differ, parent, commit, path: "memory/deep", "commit \(i), memory/deep")
            let ours = try differ.diff(from: try tree(t, parent), to: try tree(t, commit), maxFilesForLineCounts: 2000)
            let stats = try #require(ours.stats)
            let git = try gitNumstat(t, commit)
            #expect(stats.filesChanged == git.files && stats.insertions == git.insertions && stats.deletions == git.deletions,
                    "commit \(i): ours \(stats), git \(git)")
            if stats.insertions + stats.deletions > 0 { withLines += 1 }
        }
        #expect(commits.count > 100 && withLines > 100)
    }

    /// Renames, a mode change, a file that became a folder, an empty commit, and more files than lines are
    /// counted for: the same as libgit2's tree diff, which the differ falls back to for some of them.
    @Test func renamesModesAndKindChangesAsLibgit2() throws {
        let t = try TestRepo()
        try t.write("memory/a.md", "a\n"); try t.write("inbox/x.md", "x\nsome lines\nmore\n"); try t.write("notes", "file\n")
        try t.write("run.sh", "echo\n")
        var commits = [try t.commitAllWithCLI("one")]
        try t.git("mv", "inbox/x.md", "inbox/y.md")
        commits.append(try t.commitAllWithCLI("rename"))
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: t.path + "/run.sh")
        commits.append(try t.commitAllWithCLI("mode"))
        try t.delete("notes"); try t.write("notes/inner.md", "now a folder\n")
        commits.append(try t.commitAllWithCLI("file to folder"))
        commits.append(try t.commitAllWithCLI("empty"))
        for i in 0..<5 { try t.write("many/\(i).md", "\(i)\n") }
        commits.append(try t.commitAllWithCLI("many"))
        let differ = CommitDiffer(t.repo)
        for (i, commit) in commits.enumerated() {
            for path in [nil, "memory", "inbox", "notes", "run.sh", "missing"] {
                try expectSame(t, differ, i == 0 ? nil : commits[i - 1], commit, path: path, "commit \(i), \(path ?? "all")")
            }
        }
        let few = try differ.diff(from: try tree(t, commits[4]), to: try tree(t, commits[5]), maxFilesForLineCounts: 4)
        #expect(few.stats == nil && few.deltas.count == 5)
    }

    /// A `.gitattributes` that makes notes binary for diffs (`-diff`) is honoured, as libgit2 and git honour it.
    @Test func attributesFileTurnsLineCountsOff() throws {
        let t = try TestRepo()
        let one = try t.commit(["memory/a.md": "a\nb\n", "c.txt": "c\n"])
        let two = try t.commit(["memory/a.md": "a\nb\nc\n", "c.txt": "c\nd\n"])
        let before = try CommitDiffer(t.repo).diff(from: try tree(t, one), to: try tree(t, two), maxFilesForLineCounts: 10)
        #expect(before.stats?.insertions == 2)
        try t.write("memory/.gitattributes", "*.md -diff\n")
        let after = try CommitDiffer(t.repo).diff(from: try tree(t, one), to: try tree(t, two), maxFilesForLineCounts: 10)
        #expect(after.stats?.insertions == 1, "the note counts as binary, the text file does not")
        #expect(after.stats?.insertions == (try gitNumstat(t, two)).insertions)
    }
}
