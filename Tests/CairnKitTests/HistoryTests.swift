import CairnGit
import Foundation
import Testing
@testable import CairnKit

/// `Vault.log`, judged with the git CLI: the same commits in the same order, with or without a path, and line
/// counts only where they are cheap.
@Suite struct HistoryTests {
    @Test func logListsWhatGitLogListsWithAndWithoutAPath() throws {
        let f = try VaultFixture()
        for i in 0..<6 {
            try f.write("memory/projects/acme/plan.md", "# Plan\n\nstep \(i)\n")
            if i % 2 == 0 { try f.write("inbox/item-\(i).md", "# Item \(i)\n") }
            try f.snapshot("round \(i)")
        }
        let vault = try f.vault()
        let all = try vault.log(limit: 100).map(\.commit)
        #expect(all == (try f.git("log", "--format=%H", "main")).split(separator: "\n").map(String.init))
        for path in ["memory/projects/acme/plan.md", "memory/projects", "inbox", "inbox/item-2.md", "missing.md"] {
            let ours = try vault.log(path: path, limit: 100).map(\.commit)
            let git = try f.git("log", "--format=%H", "main", "--", path).split(separator: "\n").map(String.init)
            #expect(ours == git, "\(path)")
        }
        #expect(try vault.log(path: "memory/projects/acme/plan.md", limit: 2).count == 2)
    }

    @Test func lineCountsMatchGitAndAreLeftOutForAHugeCommit() throws {
        let f = try VaultFixture()
        for i in 0...Vault.maxFilesForLineCounts { try f.write("memory/knowledge/bulk/n\(i).md", "# Note \(i)\n") }
        try f.snapshot("many notes")
        try f.write("memory/knowledge/bulk/n1.md", "# Note one\nsecond line\n")
        try f.snapshot("one edit")
        let entries = try f.vault().log(limit: 2)
        #expect(entries[0].linesCounted)
        #expect(entries[0].stats == DiffStats(filesChanged: 1, insertions: 2, deletions: 1))
        #expect(try f.git("log", "-1", "--format=", "--shortstat", "main").contains("1 file changed, 2 insertions(+), 1 deletion(-)"))
        #expect(!entries[1].linesCounted)
        #expect(entries[1].stats.filesChanged == Vault.maxFilesForLineCounts + 1)
        #expect(entries[1].changes.count == Vault.maxFilesForLineCounts + 1)
    }

    /// Each entry's files and line counts are `git log --numstat`'s, through an edit, an added and a deleted note,
    /// a moved note and a commit that changed nothing; with a path, only that path's share.
    @Test func changesAndLineCountsMatchGitNumstat() throws {
        let f = try VaultFixture()
        try f.write("memory/projects/acme/plan.md", "# Plan\n\none\ntwo\nthree\nfour\nfive\n")
        try f.write("inbox/a.md", "# A\n\nfrom a customer\n")
        try f.snapshot("start")
        try f.write("memory/projects/acme/plan.md", "# Plan\n\none\n2\nthree\nfour\nfive\nsix\n")
        try f.write("inbox/b.md", "# B\n")
        try FileManager.default.removeItem(atPath: f.root + "/inbox/a.md")
        try f.snapshot("edit, add, delete")
        try FileManager.default.moveItem(atPath: f.root + "/inbox/b.md", toPath: f.root + "/memory/b.md")
        try f.snapshot("move")
        try f.git("commit", "-q", "--allow-empty", "-m", "nothing")
        let vault = try f.vault()
        for path: String? in [nil, "memory", "inbox/b.md"] {
            let entries = try vault.log(path: path, limit: 4)
            #expect(!entries.isEmpty)
            for e in entries {
                let numstat = try f.gitStatus(["show", "--format=", "--numstat", "-M", e.commit] + (path.map { ["--", $0] } ?? [])).out
                let rows = numstat.split(separator: "\n").map { $0.split(separator: "\t", maxSplits: 2) }
                let insertions = rows.reduce(0) { $0 + (Int($1[0]) ?? 0) }, deletions = rows.reduce(0) { $0 + (Int($1[1]) ?? 0) }
                #expect(e.stats == DiffStats(filesChanged: rows.count, insertions: insertions, deletions: deletions), "\(e.summary) \(path ?? "")")
                #expect(e.changes.count == rows.count, "\(e.summary) \(path ?? "")")
            }
        }
        let nothing = try #require(try vault.log(limit: 1).first)
        #expect(nothing.summary == "nothing" && nothing.changes.isEmpty && nothing.stats.filesChanged == 0)
        let moved = try #require(try vault.log(limit: 2).last)
        #expect(moved.changes.map(\.kind) == [.renamed])
    }
}
