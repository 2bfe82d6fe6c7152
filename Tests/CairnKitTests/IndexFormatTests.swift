import CairnGit
import Foundation
import Testing
@testable import CairnKit

/// libgit2 1.5 cannot read some indexes newer git writes; snapshot must still work or say what to change.
@Suite struct IndexFormatTests {
    @Test func skipHashIndexIsRebuiltAndSnapshotStillCommits() throws {
        let f = try VaultFixture()
        try f.write("inbox/a.md", "# A\n")
        // index.skipHash writes an all-zero trailing checksum (git ≥ 2.40); forge the same bytes.
        let indexPath = f.root + "/.git/index"
        var data = try Data(contentsOf: URL(fileURLWithPath: indexPath))
        data.replaceSubrange((data.count - 20)..<data.count, with: Data(count: 20))
        try data.write(to: URL(fileURLWithPath: indexPath))
        #expect(throws: (any Error).self) { _ = try Repository(at: f.root).index() }

        let status = try f.vault().status(now: f.now)
        #expect(status.changes.map(\.path) == ["inbox/a.md"])
        #expect(status.warnings.contains { $0.contains("index.skipHash") && $0.contains("git config index.skipHash false") })

        let result = try f.snapshot()
        #expect(result.commit != nil)
        #expect(result.warnings.contains { $0.contains("index.skipHash") })
        #expect(try f.git("status", "--porcelain", "-uall").isEmpty)
        #expect(try f.git("show", "HEAD:inbox/a.md") == "# A\n")
        #expect(try f.fsckClean())
        // The index is a normal one again: libgit2 reads it directly.
        _ = try Repository(at: f.root).index()
    }

    @Test func splitIndexIsRebuilt() throws {
        let f = try VaultFixture()
        try f.write("memory/core/business.md", "changed\n")
        try f.git("update-index", "--split-index")
        let result = try f.snapshot()
        #expect(result.commit != nil)
        #expect(result.warnings.contains { $0.contains("split index") })
        #expect(try f.git("status", "--porcelain", "-uall").isEmpty)
        #expect(try f.git("show", "HEAD:memory/core/business.md") == "changed\n")
        #expect(try f.fsckClean())
    }

    @Test func sparseCheckoutIsRefusedWithTheFix() throws {
        let f = try VaultFixture()
        try f.git("config", "core.sparseCheckout", "true")
        let before = try f.commitCount()
        #expect {
            try f.snapshot()
        } throws: { error in
            "\(error)".contains("git sparse-checkout disable")
        }
        #expect(try f.commitCount() == before)
    }

    @Test func describesIndexFormats() {
        let dir = NSTemporaryDirectory() + "idx-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/index"
        FileManager.default.createFile(atPath: path, contents: Data("junk".utf8))
        #expect(Vault.describeIndexFormat(path: path)?.contains("missing or truncated") == true)
        FileManager.default.createFile(atPath: path, contents: Data("NOPE".utf8) + Data(count: 40))
        #expect(Vault.describeIndexFormat(path: path)?.contains("bad signature") == true)
    }
}
