import CairnGit
import Foundation
import Testing
@testable import CairnKit

@Suite struct RetentionTests {
    /// Runs git in `dir` with the fixture's hermetic environment.
    func git(_ f: VaultFixture, _ dir: String, _ args: String...) throws -> (status: Int32, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        p.environment = ["HOME": f.dir, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"]
        let out = Pipe()
        p.standardOutput = out
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// A vault whose history once held `secret.txt` (added, then deleted).
    func vaultWithForgottenSecret() throws -> (VaultFixture, blob: String) {
        let f = try VaultFixture()
        try f.write("memory/projects/a.md", "# A\n")
        try f.snapshot()
        try f.write("secret.txt", "token=AKIAIOSFODNN7EXAMPLE\n")
        try f.snapshot()
        let blob = try f.git("rev-parse", "HEAD:secret.txt").trimmingCharacters(in: .whitespacesAndNewlines)
        try FileManager.default.removeItem(atPath: f.root + "/secret.txt")
        try f.write("memory/projects/a.md", "# A\nmore\n")
        try f.snapshot()
        return (f, blob)
    }

    @Test func policyReadsTheRetentionRules() throws {
        let text = #"{"retention": {"keep_working_history_days": 30, "forget": ["old/**"], "prune_every_days": 7}}"#
        let p = try Policy.parse(Data(text.utf8), path: "policy.json")
        #expect(p.retention.keepWorkingHistoryDays == 30)
        #expect(p.retention.forget == ["old/**"])
        #expect(p.retention.pruneEveryDays == 7)
        #expect(p.retention.keepArchivedProposalsDays == 90)
        #expect(Policy.default.retention.keepWorkingHistoryDays == nil)
        #expect(throws: FileProblem.self) {
            try Policy.parse(Data(#"{"retention": {"keep_working_history_days": 0}}"#.utf8), path: "policy.json")
        }
        #expect(throws: FileProblem.self) {
            try Policy.parse(Data(#"{"retention": {"forget": [""]}}"#.utf8), path: "policy.json")
        }
    }

    @Test func filterKeepsCurrentVersionsAndDropsWholeFolders() {
        let current = OID(hex: String(repeating: "a", count: 40))!
        let old = OID(hex: String(repeating: "b", count: 40))!
        let filter = RetentionFilter(rules: [
            .init(globs: [Glob("memory/working/**")], before: 1000, keep: ["memory/working/keep.md": current]),
            .init(globs: RetentionFilter.forgetGlobs(["secrets"])),
        ])
        #expect(filter.rules(forCommitTime: 999) == 0b11)
        #expect(filter.rules(forCommitTime: 1000) == 0b10)
        #expect(filter.folder("memory/working", rules: 0b11) == .inspect) // a kept version lives there
        #expect(filter.folder("secrets", rules: 0b10) == .drop)
        #expect(filter.folder("memory/projects", rules: 0b11) == .keep)
        #expect(filter.keepFile("memory/working/keep.md", blob: current, rules: 0b11))
        #expect(!filter.keepFile("memory/working/keep.md", blob: old, rules: 0b11))
        #expect(!filter.keepFile("memory/working/other.md", blob: old, rules: 0b01))
        #expect(filter.keepFile("memory/working/other.md", blob: old, rules: 0b10))
        #expect(!filter.keepFile("secrets", blob: old, rules: 0b10))
    }

    @Test func forgetRemovesEveryVersionAndRecordsAReceiptWithoutContent() throws {
        let (f, blob) = try vaultWithForgottenSecret()
        let treeBefore = try f.git("rev-parse", "HEAD^{tree}")
        let subjectsBefore = try f.git("log", "--format=%s%n%an%n%ad")
        let report = try f.vault().prune(PruneOptions(forget: ["secret.txt"], reason: "leaked key"), policy: .default,
                                         author: f.identity, now: f.now)
        #expect(report.fileVersionsRemoved == 1)
        #expect(report.commitsRewritten == 1) // the deletion's snapshot also edited a.md, so it stays
        #expect(report.commitsDropped == 1)   // the snapshot that only added it
        #expect(try f.git("rev-parse", "HEAD^{tree}") == treeBefore)
        #expect(try f.fsckClean())
        #expect(try f.gitStatus(["cat-file", "-e", blob]).status != 0)
        #expect(try f.git("rev-list", "--all", "--objects").contains(blob) == false)
        // Messages, authors and dates of kept commits are unchanged (the dropped one is missing).
        let after = try f.git("log", "--format=%s%n%an%n%ad")
        #expect(subjectsBefore.components(separatedBy: "\n").count == after.components(separatedBy: "\n").count + 3)
        // The receipt says what and why, never the content.
        let records = try RewriteRecord.load(from: f.vault().repository)
        #expect(records.count == 1)
        #expect(records[0].receipt.forgottenPaths == ["secret.txt"])
        #expect(records[0].receipt.reason == "leaked key")
        let recordText = try f.git("log", "-p", RewriteRecord.reference)
        #expect(!recordText.contains("AKIAIOSFODNN7EXAMPLE"))
        #expect(recordText.contains("Cairn-Operation: forget"))
        // Every old id resolves to its new one.
        let map = records[0].commits
        for (old, new) in map {
            #expect(try f.gitStatus(["cat-file", "-e", old.hex]).status != 0)
            if let new { #expect(try f.gitStatus(["cat-file", "-e", new.hex]).status == 0) }
        }
    }

    @Test func forgettingACurrentFileNeedsIncludeCurrent() throws {
        let f = try VaultFixture()
        try f.write("inbox/customer.md", "Jane Doe, 12 Main St\n")
        try f.snapshot()
        let head = try f.git("rev-parse", "HEAD")
        #expect(throws: RetentionError.self) {
            try f.vault().prune(PruneOptions(forget: ["inbox/customer.md"], reason: "erasure request"), policy: .default,
                                author: f.identity, now: f.now)
        }
        #expect(try f.git("rev-parse", "HEAD") == head)
        #expect(f.read("inbox/customer.md") != nil)
        let report = try f.vault().prune(PruneOptions(forget: ["inbox/customer.md"], includeCurrent: true, reason: "erasure request"),
                                         policy: .default, author: f.identity, now: f.now)
        #expect(report.workingTreeRemoved == ["inbox/customer.md"])
        #expect(f.read("inbox/customer.md") == nil)
        #expect(try f.git("ls-tree", "-r", "--name-only", "HEAD").contains("inbox/customer.md") == false)
        #expect(try f.git("status", "--porcelain").isEmpty)
        #expect(try f.fsckClean())
    }

    @Test func dryRunChangesNothing() throws {
        let (f, blob) = try vaultWithForgottenSecret()
        let refs = try f.git("for-each-ref")
        let objects = try f.git("count-objects", "-v")
        let report = try f.vault().prune(PruneOptions(dryRun: true, forget: ["secret.txt"]), policy: .default,
                                         author: f.identity, now: f.now)
        #expect(report.fileVersionsRemoved == 1)
        #expect(report.paths == [PrunedPath(path: "secret.txt", versions: 1, bytes: 27)])
        #expect(try f.git("for-each-ref") == refs)
        #expect(try f.git("count-objects", "-v") == objects)
        #expect(try f.gitStatus(["cat-file", "-e", blob]).status == 0)
    }

    @Test func anotherMachineFollowsTheRewriteWithItsOwnCommits() throws {
        let (a, blob) = try vaultWithForgottenSecret()
        let bPath = a.dir + "/b"
        #expect(try git(a, a.dir, "clone", "-q", a.root, bPath).status == 0)
        _ = try git(a, bPath, "fetch", "-q", "origin", "refs/cairn/*:refs/cairn/*")
        #expect(try git(a, bPath, "cat-file", "-e", blob).status == 0)
        // B commits on top of the old history.
        try Data("# B's note\n".utf8).write(to: URL(fileURLWithPath: bPath + "/memory/projects/b.md"))
        let b = try Vault.open(at: bPath)
        let local = try b.snapshot(SnapshotOptions(message: "note from B"), author: a.identity, now: a.now)
        #expect(local.commit != nil)

        // A forgets; B fetches the new history and the record, then follows.
        _ = try a.vault().prune(PruneOptions(forget: ["secret.txt"], reason: "leaked"), policy: .default, author: a.identity, now: a.now)
        #expect(try git(a, bPath, "fetch", "-q", "origin", "+refs/heads/main:refs/remotes/origin/main",
                        "+refs/cairn/rewrites:refs/remotes/origin/cairn-rewrites").status == 0)
        let tip = try #require(OID(hex: try git(a, bPath, "rev-parse", "refs/remotes/origin/cairn-rewrites").out))
        let report = try Vault.open(at: bPath).followRewrites(to: tip, author: a.identity, now: a.now)
        #expect(report.records == [tip.hex])
        #expect(report.commitsMoved.count == 1)
        // B's commit now sits on A's new main, keeps its message, and the secret is gone from B entirely.
        let aMain = try a.git("rev-parse", "main").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try git(a, bPath, "rev-parse", "main^").out == aMain)
        #expect(try git(a, bPath, "log", "-1", "--format=%s", "main").out == "note from B")
        #expect(try git(a, bPath, "cat-file", "-e", blob).status != 0)
        let fsck = try git(a, bPath, "fsck", "--strict")
        #expect(fsck.status == 0, "\(fsck.out)")
        #expect(try git(a, bPath, "rev-parse", RewriteRecord.reference).out == tip.hex)
        #expect(try git(a, bPath, "show", "main:memory/projects/b.md").out == "# B's note")
        // Following again does nothing.
        let again = try Vault.open(at: bPath).followRewrites(to: tip, author: a.identity, now: a.now)
        #expect(again.records.isEmpty)
    }

    @Test func combinedMapFollowsTwoRewrites() {
        func id(_ c: Character) -> OID { OID(hex: String(repeating: c, count: 40))! }
        let receipt = RewriteReceipt(operation: "prune", at: "", by: "", reason: nil, forgottenPaths: [], rules: [],
                                     commitsRewritten: 0, commitsDropped: 0, referencesDeleted: [], fileVersionsRemoved: 0, notice: "")
        let first = RewriteRecord(commits: [id("a"): id("b"), id("c"): nil], references: [], receipt: receipt)
        let second = RewriteRecord(commits: [id("b"): id("d")], references: [], receipt: receipt)
        let map = RewriteFollower.combinedMap([first, second])
        #expect(map[id("a")] == .some(id("d")))
        #expect(map[id("b")] == .some(id("d")))
        #expect(map[id("c")] == .some(nil))
    }
}
