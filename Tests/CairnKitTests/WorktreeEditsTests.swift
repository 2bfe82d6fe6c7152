import CairnGit
import Foundation
import Testing
@testable import CairnKit

/// The operator's edits as `status`, `snapshot` and an agent's pre-run snapshot see them
/// (`Vault.workingTreeEdits`, from the stat cache), judged against `git status`.
@Suite struct WorktreeEditsTests {
    func edits(_ f: VaultFixture, _ paths: [String] = []) throws -> [String] {
        let vault = try f.vault()
        let tree = try vault.head().map { try vault.repository.commit($0).tree }
        return try vault.workingTreeEdits(against: tree, paths: paths).map { "\($0.kind.rawValue) \($0.oldPath.map { $0 + " -> " } ?? "")\($0.path)" }
    }

    @Test func aCleanVaultHasNoEdits() throws {
        let f = try VaultFixture()
        #expect(try edits(f).isEmpty)
        #expect(try edits(f, ["memory/core", "inbox"]).isEmpty)
    }

    @Test func everyKindOfEditIsSeenInScope() throws {
        let f = try VaultFixture()
        let scope = ["memory/core", "inbox"]
        try f.write("memory/core/business.md", "changed\n")
        #expect(try edits(f, scope) == ["modified memory/core/business.md"])
        try f.snapshot()
        try f.write("inbox/new.md", "new\n")
        #expect(try edits(f, scope) == ["untracked inbox/new.md"])
        try f.snapshot()
        try FileManager.default.removeItem(atPath: f.root + "/inbox/new.md")
        #expect(try edits(f, scope) == ["deleted inbox/new.md"])
        try f.snapshot()
        #expect(chmod(f.root + "/inbox/README.md", 0o755) == 0)
        #expect(try edits(f, scope) == ["modified inbox/README.md"], "executable bit")
        try f.snapshot()
        #expect(try edits(f, scope).isEmpty)
        #expect(try f.git("status", "--porcelain", "-uall").isEmpty, "git's index follows every snapshot")
        // An edit outside the scope does not count there, but does for the whole vault.
        try f.write("memory/projects/elsewhere.md", "x\n")
        #expect(try edits(f, scope).isEmpty)
        #expect(try edits(f) == ["untracked memory/projects/elsewhere.md"])
    }

    @Test func aMoveIsOneRenameAndALinkIsATypeChange() throws {
        let f = try VaultFixture()
        try FileManager.default.moveItem(atPath: f.root + "/inbox/README.md", toPath: f.root + "/inbox/moved.md")
        #expect(try edits(f) == ["renamed inbox/README.md -> inbox/moved.md"])
        try f.snapshot()
        try FileManager.default.removeItem(atPath: f.root + "/inbox/moved.md")
        try FileManager.default.createSymbolicLink(atPath: f.root + "/inbox/moved.md", withDestinationPath: "elsewhere")
        #expect(try edits(f) == ["typechange inbox/moved.md"])
    }

    @Test func ignoredFilesDoNotCount() throws {
        let f = try VaultFixture()
        try f.write(".gitignore", "*.tmp\n")
        try f.snapshot()
        try f.write("inbox/scratch.tmp", "junk")
        #expect(try edits(f, ["inbox"]).isEmpty)
        #expect(try f.git("status", "--porcelain", "-uall").isEmpty)
    }

    /// The cache is derived: deleting it, or `.git/cairn/` altogether, gives the same answer.
    @Test func deletingTheCacheGivesTheSameAnswer() throws {
        let f = try VaultFixture()
        try f.write("memory/core/business.md", "changed\n")
        try f.write("inbox/new.md", "new\n")
        let before = try edits(f)
        #expect(before == ["untracked inbox/new.md", "modified memory/core/business.md"])
        try FileManager.default.removeItem(atPath: f.root + "/.git/cairn")
        #expect(try edits(f) == before)
    }

    /// A damaged cache file is derived data: replaced, with the same answer.
    @Test func aDamagedCacheIsReplaced() throws {
        let f = try VaultFixture()
        try f.write("inbox/new.md", "new\n")
        #expect(try edits(f) == ["untracked inbox/new.md"])
        let cache = WorktreeChanges.databasePath(gitDir: try f.vault().gitDir)
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: cache))
        #expect(try edits(f) == ["untracked inbox/new.md"])
        let header = try #require(FileManager.default.contents(atPath: cache)).prefix(15)
        #expect(String(decoding: header, as: UTF8.self) == "SQLite format 3", "made again as a database")
    }

    /// A check limited to some folders stats only those, and leaves what it did not look at to the next full
    /// check: an edit made elsewhere meanwhile, or a file a commit changed elsewhere, is neither lost nor stale.
    @Test func aScopedCheckStatsOnlyItsFoldersAndTheNextFullCheckSeesTheRest() throws {
        let f = try VaultFixture()
        let vault = try f.vault()
        func tree() throws -> OID? { try vault.head().map { try vault.repository.commit($0).tree } }
        let full = try WorktreeChanges.check(vault, against: try tree(), useWatcher: false)
        #expect(full.edits.isEmpty)
        try f.write("memory/projects/elsewhere.md", "outside\n")
        try f.write("inbox/README.md", "inside\n")
        let scoped = try WorktreeChanges.check(vault, against: try tree(), useWatcher: false, scope: ["inbox"])
        let inbox = try FileManager.default.contentsOfDirectory(atPath: f.root + "/inbox").count
        #expect(scoped.filesStatted <= inbox + 1, "only inbox/ (and the new name's folder) was looked at")
        #expect(scoped.filesStatted < full.filesStatted)
        #expect(scoped.edits[PathKey("inbox/README.md")] != nil)
        #expect(try edits(f, ["inbox"]) == ["modified inbox/README.md"])
        // The whole vault: both edits, the one outside the scope included.
        #expect(try edits(f) == ["modified inbox/README.md", "untracked memory/projects/elsewhere.md"])
        // A commit of a file outside the scope, then a scoped check, then a full one: nothing stale is left.
        try f.snapshot()
        try f.write("memory/projects/elsewhere.md", "outside again\n")
        _ = try WorktreeChanges.check(vault, against: try tree(), useWatcher: false, scope: ["inbox"])
        #expect(try edits(f, ["inbox"]).isEmpty)
        #expect(try edits(f) == ["modified memory/projects/elsewhere.md"])
        try f.snapshot()
        #expect(try edits(f, ["inbox"]).isEmpty)
        #expect(try edits(f).isEmpty)
        #expect(try f.git("status", "--porcelain", "-uall").isEmpty)
    }

    /// A check that starts from nothing (no cache: right after `cairn init` or `cairn clone`, or once `.git/cairn/` is
    /// deleted) takes the blob id git's index recorded for each file whose stat still matches, as `git status` does,
    /// and reads every other file: one rewritten behind the same size and modification time (only its change time
    /// tells), and every file when the index was written no later than the files changed (git's racily clean rule).
    @Test func aCheckFromNothingTrustsGitsIndexOnlyWhereTheStatMatches() throws {
        let f = try VaultFixture()
        let vault = try f.vault()
        for i in 0..<50 { try f.write("memory/knowledge/n\(i).md", "note \(i)\n") }
        try f.snapshot()
        #expect(try f.git("status", "--porcelain", "-uall").isEmpty)
        func fromNothing() throws -> WorktreeChanges.Report {
            try FileManager.default.removeItem(atPath: WorktreeChanges.databasePath(gitDir: vault.gitDir))
            let tree = try vault.head().map { try vault.repository.commit($0).tree }
            return try WorktreeChanges.check(vault, against: tree, useWatcher: false, racyMargin: 0)
        }
        let clean = try fromNothing()
        #expect(clean.edits.isEmpty)
        #expect(clean.filesStatted >= 50)
        #expect(clean.filesHashed == 0, "every file matches its entry in git's index: nothing needs reading")

        // Other bytes of the same length, and the old modification time put back: the change time still differs.
        let path = f.root + "/memory/knowledge/n7.md"
        var before = stat()
        #expect(lstat(path, &before) == 0)
        try f.write("memory/knowledge/n7.md", "NOTE 7\n")
        var times = [before.st_atim, before.st_mtim]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        let disguised = try fromNothing()
        #expect(disguised.edits.keys.map(\.path) == ["memory/knowledge/n7.md"])
        #expect(disguised.filesHashed == 1)

        // An index no newer than the files: none of its entries is trusted.
        var old = [timespec(tv_sec: 1, tv_nsec: 0), timespec(tv_sec: 1, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, vault.gitDir + "index", &old, 0) == 0)
        let racy = try fromNothing()
        #expect(racy.filesHashed == racy.filesStatted)
        #expect(racy.edits.keys.map(\.path) == ["memory/knowledge/n7.md"])

        // No index at all: every file is read, and the answer is the same.
        try FileManager.default.removeItem(atPath: vault.gitDir + "index")
        let noIndex = try fromNothing()
        #expect(noIndex.filesHashed == noIndex.filesStatted)
        #expect(noIndex.edits.keys.map(\.path) == ["memory/knowledge/n7.md"])
    }
}
