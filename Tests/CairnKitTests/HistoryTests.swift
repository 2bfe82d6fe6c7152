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
}
