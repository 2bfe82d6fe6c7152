import CairnGit
import Foundation
import GRDB
import Testing
@testable import CairnKit

/// The working-tree check behind every search: the stat cache every command shares (`WorktreeChanges`) finds
/// uncommitted edits without git's index, and an incremental update always equals a rebuild.
@Suite struct SearchWorktreeTests {
    /// Paths of the hits for `word`, through `index` (so its racy margin applies).
    func paths(_ index: SearchIndex, _ word: String) throws -> Set<String> {
        Set(try index.search(SearchQuery.parse(word), limit: 1000).hits.map(\.path))
    }

    func mtime(_ path: String) throws -> timespec {
        var st = stat()
        #expect(lstat(path, &st) == 0)
        return st.st_mtim
    }

    func setMtime(_ path: String, _ time: timespec) {
        var times = [time, time]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
    }

    @Test func anEditKeepingSizeAndMtimeIsFoundByCtime() throws {
        let f = try VaultFixture()
        try f.write("memory/knowledge/fruit.md", "---\ntitle: Fruit\n---\n\nthe kiwi is here\n")
        try f.snapshot()
        let vault = try f.vault()
        let index = vault.searchIndex
        index.racyMargin = 0  // nothing counts as racy: only the stat comparison can find the edit
        #expect(try paths(index, "kiwi") == ["memory/knowledge/fruit.md"])
        #expect(try paths(index, "kiwi") == ["memory/knowledge/fruit.md"])
        #expect(index.lastScan?.filesHashed == 0, "an unchanged tree hashes nothing")

        // Same size, same mtime (set back), same folder: only ctime moves.
        let full = f.root + "/memory/knowledge/fruit.md"
        let before = try mtime(full)
        var st = stat()
        #expect(lstat(full, &st) == 0)
        let size = st.st_size
        let handle = try #require(FileHandle(forUpdatingAtPath: full))
        try handle.seek(toOffset: UInt64(size) - 13)
        handle.write(Data("lime is here\n".utf8))  // "kiwi is here\n" → "lime is here\n", same length
        try handle.close()
        setMtime(full, before)
        #expect(lstat(full, &st) == 0 && st.st_size == size)
        #expect(try mtime(full).tv_sec == before.tv_sec && (try mtime(full)).tv_nsec == before.tv_nsec)

        #expect(try paths(index, "lime") == ["memory/knowledge/fruit.md"])
        #expect(index.lastScan?.filesHashed == 1)
        #expect(try paths(index, "kiwi").isEmpty)
        let hit = try #require(try index.search(SearchQuery.parse("lime")).hits.first)
        #expect(hit.source == "worktree")
    }

    @Test func aFreshlyWrittenFileIsRacyAndHashedAgainUntilItAges() throws {
        let f = try VaultFixture()
        try f.write("memory/knowledge/a.md", "plain apricot\n")
        try f.snapshot()
        let vault = try f.vault()
        let index = vault.searchIndex  // default margin: written just now, so racy
        #expect(try paths(index, "apricot") == ["memory/knowledge/a.md"])
        try f.write("memory/knowledge/a.md", "plain avocado\n")
        #expect(try paths(index, "avocado") == ["memory/knowledge/a.md"])
        #expect(try paths(index, "avocado") == ["memory/knowledge/a.md"])
        #expect((index.lastScan?.filesHashed ?? 0) >= 1, "a racy entry is re-hashed on the next check")
        let racy = try DatabaseQueue(path: WorktreeChanges.databasePath(gitDir: vault.gitDir)).read { db in
            try WorktreeChanges.load(db)["memory/knowledge"]?.allFiles.first { $0.name == "a.md" }?.racy
        }
        #expect(racy == true)
    }

    @Test func addDeleteRenameAndNewFoldersMatchARebuild() throws {
        let g = try GeneratedVault(notes: 200, commits: 2)
        let f = g.fixture
        let vault = try g.vault()
        let index = vault.searchIndex
        index.racyMargin = 0
        _ = try index.update()
        let files = try vault.repository.files(in: try vault.repository.commit(try #require(try vault.head())).tree)
            .map(\.path).filter { $0.hasPrefix("memory/knowledge/") && $0.hasSuffix(".md") }
        let deleted = files[0], renamed = files[1], edited = files[2]

        try f.write("memory/knowledge/added-quetzal.md", "# Added\n\nquetzal\n")
        try f.write("brand/new/folder/deep-quetzal.md", "# Deep\n\nquetzal in a new folder\n")
        try FileManager.default.removeItem(atPath: f.root + "/" + deleted)
        try FileManager.default.moveItem(atPath: f.root + "/" + renamed, toPath: f.root + "/inbox/renamed-elsewhere.md")
        try f.write(edited, (f.read(edited) ?? "") + "\nquetzal appended\n")

        #expect(try paths(index, "quetzal") == ["memory/knowledge/added-quetzal.md", "brand/new/folder/deep-quetzal.md", edited])
        let incremental = try index.contentsForComparison()
        #expect(!incremental.contains { $0.hasPrefix("doc \(deleted) ") })
        #expect(!incremental.contains { $0.hasPrefix("doc \(renamed) ") })
        #expect(incremental.contains { $0.hasPrefix("doc inbox/renamed-elsewhere.md ") && $0.contains(" worktree ") })
        try index.update(rebuild: true)
        #expect(incremental == (try index.contentsForComparison()))

        // Committing it all: every overlaid document becomes the committed one.
        try f.snapshot("all of it")
        let committed = try index.contentsForComparison()
        #expect(!committed.contains { $0.contains(" worktree ") })
        try index.update(rebuild: true)
        #expect(committed == (try index.contentsForComparison()))

        // Removing a whole folder removes its notes.
        try FileManager.default.removeItem(atPath: f.root + "/brand")
        #expect(try paths(index, "quetzal") == ["memory/knowledge/added-quetzal.md", edited])
    }

    @Test func ignoredUntrackedFilesStayOutUntilTheRuleChanges() throws {
        let f = try VaultFixture()
        try f.write(".gitignore", "scratch/\n*.tmp.md\n")
        try f.write("memory/knowledge/keep.md", "kept gooseberry\n")
        try f.snapshot()
        let vault = try f.vault()
        let index = vault.searchIndex
        index.racyMargin = 0
        try f.write("scratch/notes.md", "ignored gooseberry\n")
        try f.write("memory/knowledge/draft.tmp.md", "ignored gooseberry too\n")
        #expect(try paths(index, "gooseberry") == ["memory/knowledge/keep.md"])
        #expect(try f.git("status", "--porcelain").isEmpty, "git agrees: nothing untracked")

        // Force-added and committed with git, the ignored file is tracked: it counts (its folder's stat did not change).
        _ = try f.git("add", "-f", "scratch/notes.md")
        _ = try f.git("commit", "-q", "-m", "force")
        #expect(try paths(index, "gooseberry") == ["memory/knowledge/keep.md", "scratch/notes.md"])
        // Untracked again (still on disk, still ignored): it leaves the index.
        _ = try f.git("rm", "-q", "--cached", "scratch/notes.md")
        _ = try f.git("commit", "-q", "-m", "unforce")
        #expect(try paths(index, "gooseberry") == ["memory/knowledge/keep.md"])
        #expect(FileManager.default.fileExists(atPath: f.root + "/scratch/notes.md"))

        // The rule changes: the file is no longer ignored, though its folder did not change.
        try f.write(".gitignore", "scratch/\n")
        #expect(try paths(index, "gooseberry") == ["memory/knowledge/keep.md", "memory/knowledge/draft.tmp.md"])
        try index.update(rebuild: true)
        #expect(try paths(index, "gooseberry") == ["memory/knowledge/keep.md", "memory/knowledge/draft.tmp.md"])
    }

    @Test func aCommitMadeOutsideCairnIsReconciledWithTheDisk() throws {
        let f = try VaultFixture()
        try f.write("memory/knowledge/n.md", "first damson\n")
        try f.snapshot()
        let vault = try f.vault()
        let index = vault.searchIndex
        index.racyMargin = 0
        #expect(try paths(index, "damson") == ["memory/knowledge/n.md"])
        // Stage one version, commit it with git, and leave another on disk.
        try f.write("memory/knowledge/n.md", "second elderberry\n")
        _ = try f.git("add", "memory/knowledge/n.md")
        try f.write("memory/knowledge/n.md", "third fig\n")
        _ = try f.git("commit", "-q", "-m", "by hand")
        #expect(try paths(index, "fig") == ["memory/knowledge/n.md"])
        #expect(try paths(index, "elderberry").isEmpty)
        // Restoring the committed version clears the overlay.
        _ = try f.git("checkout", "--", "memory/knowledge/n.md")
        let hits = try index.search(SearchQuery.parse("elderberry")).hits
        #expect(hits.map(\.path) == ["memory/knowledge/n.md"] && hits.first?.source == "commit")
        let incremental = try index.contentsForComparison()
        try index.update(rebuild: true)
        #expect(incremental == (try index.contentsForComparison()))
    }
}
