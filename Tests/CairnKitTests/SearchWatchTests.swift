import CairnGit
import Foundation
import Testing
@testable import CairnKit

/// A watcher running on a thread of the test process, stopped through its socket like `cairn watch stop`.
final class RunningWatcher: @unchecked Sendable {
    let vault: Vault
    private let finished = DispatchSemaphore(value: 0)
    private(set) var failure: Error?
    private let watcher: VaultWatcher

    init(_ vault: Vault) throws {
        self.vault = vault
        watcher = VaultWatcher(vault: vault)
        let ready = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            do { try self.watcher.run { ready.signal() } } catch { failure = error; ready.signal() }
            finished.signal()
        }
        thread.start()
        ready.wait()
        if let failure { throw failure }
    }

    /// True when the watcher's thread ended within `seconds`.
    func waitForExit(seconds: Double = 10) -> Bool { finished.wait(timeout: .now() + seconds) == .success }

    func stop() {
        WatchClient.stop(gitDir: vault.gitDir, root: vault.root)
        _ = waitForExit()
    }
}

/// The change feed: with a watcher running, the working-tree check looks only at reported paths, and
/// what it finds is exactly what a full check finds.
@Suite struct SearchWatchTests {
    func paths(_ index: SearchIndex, _ word: String) throws -> Set<String> {
        Set(try index.search(SearchQuery.parse(word), limit: 1000).hits.map(\.path))
    }

    /// A full check (no watcher) after the watched one: it must find nothing left to change.
    func expectFullCheckFindsNothing(_ vault: Vault, _ comment: Comment) throws {
        let full = vault.searchIndex
        full.useWatcher = false
        let update = try full.update()
        #expect(update.worktreeChanges == 0, comment)
        #expect(full.lastScan?.focused == false)
    }

    @Test func anEditIsFoundByStattingOnlyTheReportedFile() throws {
        let g = try GeneratedVault(notes: 200, commits: 2)
        let vault = try g.vault()
        let watcher = try RunningWatcher(vault)
        defer { watcher.stop() }
        let index = vault.searchIndex
        _ = try index.update()  // no token yet: a full check, which takes the first token
        #expect(index.lastScan?.focused == false)
        #expect((index.lastScan?.filesStatted ?? 0) >= 200)

        _ = try index.update()
        #expect(index.lastScan?.focused == true)
        #expect(index.lastScan?.filesStatted == 0, "nothing changed, nothing statted")

        // Written and searched at once: the cookie handshake makes the watcher report it.
        try g.fixture.write("memory/knowledge/axolotl.md", "# Axolotl\n\nthe axolotl regrows\n")
        #expect(try paths(index, "axolotl") == ["memory/knowledge/axolotl.md"])
        #expect(index.lastScan?.focused == true)
        #expect(index.lastScan?.filesStatted == 1)
        #expect(index.lastScan?.filesHashed == 1)
        try expectFullCheckFindsNothing(vault, "after one new note")

        // The full check kept the token: the next watched check is focused again.
        try g.fixture.write("memory/knowledge/axolotl.md", "# Axolotl\n\nthe axolotl swims\n")
        #expect(try paths(index, "regrows").isEmpty)
        #expect(try paths(index, "swims").contains("memory/knowledge/axolotl.md"))
        #expect(index.lastScan?.focused == true)
    }

    @Test func randomEditsUnderAWatcherMatchAFullCheckAndARebuild() throws {
        let g = try GeneratedVault(notes: 150, commits: 2)
        let f = g.fixture
        let vault = try g.vault()
        let watcher = try RunningWatcher(vault)
        defer { watcher.stop() }
        let index = vault.searchIndex
        _ = try index.update()

        var rng = SplitMix64(state: 42)
        func notes() -> [String] {
            let e = FileManager.default.enumerator(atPath: f.root)!
            var out: [String] = []
            while let p = e.nextObject() as? String {
                if p.hasPrefix(".git") || p.hasPrefix(".cairn") { continue }
                if p.hasSuffix(".md") { out.append(p) }
            }
            return out.sorted()
        }
        func folders() -> [String] {
            Array(Set(notes().compactMap { p in p.lastIndex(of: "/").map { String(p[..<$0]) } })).sorted()
        }
        var focusedSteps = 0
        for step in 0..<36 {
            let all = notes()
            let op = step < 30 ? Int.random(in: 0..<10, using: &rng) : step - 30
            let pick = all[Int.random(in: 0..<all.count, using: &rng)]
            let word = "marker\(step)"
            var movedFolder = false
            switch op {
            case 0, 1: try f.write(pick, (f.read(pick) ?? "") + "\n\(word) appended\n")
            case 2: try f.write((folders().randomElement(using: &rng) ?? "inbox") + "/new-\(step).md", "# New \(step)\n\n\(word)\n")
            case 3: try f.write("fresh-\(step)/deeper/note-\(step).md", "# Deep \(step)\n\n\(word) deep\n")
            case 4: try FileManager.default.removeItem(atPath: f.root + "/" + pick)
            case 5: try FileManager.default.moveItem(atPath: f.root + "/" + pick, toPath: f.root + "/inbox/moved-\(step).md")
            case 6:
                let dir = folders().filter { $0.contains("/") }.randomElement(using: &rng) ?? "inbox"
                try FileManager.default.moveItem(atPath: f.root + "/" + dir, toPath: f.root + "/" + dir + "-moved-\(step)")
                movedFolder = true
            case 7:
                let dir = folders().filter { $0.contains("/") }.randomElement(using: &rng) ?? "inbox"
                try FileManager.default.removeItem(atPath: f.root + "/" + dir)
            case 8: try f.write("memory/knowledge/picture-\(step).png", "\u{0}binary")
            default:
                // The same bytes written again: a new ctime, no new content.
                try f.write(pick, f.read(pick) ?? "")
            }
            _ = try index.update()
            let focused = index.lastScan?.focused == true
            if focused { focusedSteps += 1 }
            if !movedFolder && step > 0 { #expect(focused, "step \(step) (operation \(op)) should be focused") }
            try expectFullCheckFindsNothing(vault, "step \(step), operation \(op)")
            if step % 12 == 11 {
                let incremental = try index.contentsForComparison()
                // The rebuild asks the watcher too (a full check that takes a new token), so the next step stays focused.
                try index.update(rebuild: true)
                #expect(incremental == (try index.contentsForComparison()), "step \(step): incremental differs from a rebuild")
            }
        }
        #expect(focusedSteps >= 25)
    }

    @Test func aNewIgnoreRuleAndADeletedFolderAreFollowed() throws {
        let f = try VaultFixture()
        try f.write("memory/knowledge/keep.md", "kept pomelo\n")
        try f.snapshot()
        let vault = try f.vault()
        let watcher = try RunningWatcher(vault)
        defer { watcher.stop() }
        let index = vault.searchIndex
        _ = try index.update()
        try f.write("scratch/draft.md", "draft pomelo\n")
        try f.write("scratch/sub/deeper.md", "deeper pomelo\n")
        #expect(try paths(index, "pomelo") == ["memory/knowledge/keep.md", "scratch/draft.md", "scratch/sub/deeper.md"])
        #expect(index.lastScan?.focused == true)

        try f.write(".gitignore", "scratch/\n")
        #expect(try paths(index, "pomelo") == ["memory/knowledge/keep.md"])
        try f.write(".gitignore", "")
        #expect(try paths(index, "pomelo") == ["memory/knowledge/keep.md", "scratch/draft.md", "scratch/sub/deeper.md"])

        try FileManager.default.removeItem(atPath: f.root + "/scratch")
        #expect(try paths(index, "pomelo") == ["memory/knowledge/keep.md"])
        #expect(index.lastScan?.focused == true)
        try expectFullCheckFindsNothing(vault, "after removing a folder")
    }

    @Test func aRestartedWatcherMeansOneFullCheck() throws {
        let f = try VaultFixture()
        try f.write("memory/knowledge/a.md", "plain kumquat\n")
        try f.snapshot()
        let vault = try f.vault()
        let index = vault.searchIndex
        var watcher = try RunningWatcher(vault)
        _ = try index.update()
        _ = try index.update()
        #expect(index.lastScan?.focused == true)
        watcher.stop()

        // Edited while no watcher ran: the next watcher has another epoch, so the check is full.
        try f.write("memory/knowledge/a.md", "plain tamarind\n")
        watcher = try RunningWatcher(vault)
        defer { watcher.stop() }
        #expect(try paths(index, "tamarind") == ["memory/knowledge/a.md"])
        #expect(index.lastScan?.focused == false)
        #expect(try paths(index, "kumquat").isEmpty)
        #expect(index.lastScan?.focused == true)
    }

    @Test func aSecondWatcherIsRefusedAndTheWatcherStopsWhenTheVaultGoes() throws {
        let f = try VaultFixture()
        let vault = try f.vault()
        let watcher = try RunningWatcher(vault)
        #expect(throws: VaultWatcher.Failure.self) { try VaultWatcher(vault: vault).run() }
        let status = try #require(WatchClient.status(gitDir: vault.gitDir, root: vault.root))
        #expect(status.pid == Int(getpid()))
        #expect(status.folders >= 3)

        try FileManager.default.removeItem(atPath: f.root)
        #expect(watcher.waitForExit(), "the watcher exits when its working tree is deleted")
        #expect(WatchClient.status(gitDir: vault.gitDir, root: vault.root) == nil)
    }
}

extension SearchWatchTests {
    @Test func deletingDerivedDataStopsTheWatcherAndLosesNothing() throws {
        let f = try VaultFixture()
        try f.write("memory/knowledge/a.md", "plain persimmon\n")
        try f.snapshot()
        let vault = try f.vault()
        let watcher = try RunningWatcher(vault)
        defer { watcher.stop() }
        let index = vault.searchIndex
        #expect(try paths(index, "persimmon") == ["memory/knowledge/a.md"])

        // `.git/cairn/` is derived: deleting it takes the socket, so the watcher stops; searches rebuild
        // the index and check the working tree themselves.
        try FileManager.default.removeItem(atPath: vault.gitDir + "cairn")
        #expect(watcher.waitForExit(), "a watcher whose socket is gone exits")
        #expect(try paths(index, "persimmon") == ["memory/knowledge/a.md"])
        try f.write("memory/knowledge/a.md", "plain loquat\n")
        #expect(try paths(index, "loquat") == ["memory/knowledge/a.md"])
        #expect(index.lastScan?.focused == false)
        #expect(WatchClient.status(gitDir: vault.gitDir, root: vault.root) == nil)
    }
}
