import Foundation
import Testing
@testable import CairnKit

/// The index-free check that lets an agent run skip its pre-run snapshot when nothing in its scope changed.
@Suite struct ScopeCheckTests {
    @Test func cleanScopeMatches() throws {
        let f = try VaultFixture()
        #expect(try f.vault().scopeMatchesHead(["memory/core", "inbox"]) == true)
        #expect(try f.vault().scopeMatchesHead([]) == nil, "the whole vault is left to a real status")
    }

    @Test func everyKindOfEditIsSeen() throws {
        let f = try VaultFixture()
        let scope = ["memory/core", "inbox"]
        try f.write("memory/core/business.md", "changed\n")
        #expect(try f.vault().scopeMatchesHead(scope) == false, "modified")
        try f.snapshot()
        try f.write("inbox/new.md", "new\n")
        #expect(try f.vault().scopeMatchesHead(scope) == false, "added")
        try f.snapshot()
        try FileManager.default.removeItem(atPath: f.root + "/inbox/new.md")
        #expect(try f.vault().scopeMatchesHead(scope) == false, "deleted")
        try f.snapshot()
        #expect(chmod(f.root + "/inbox/README.md", 0o755) == 0)
        #expect(try f.vault().scopeMatchesHead(scope) == false, "executable bit")
        try f.snapshot()
        #expect(try f.vault().scopeMatchesHead(scope) == true)
        // An edit outside the scope does not count.
        try f.write("memory/projects/elsewhere.md", "x\n")
        #expect(try f.vault().scopeMatchesHead(scope) == true)
    }

    @Test func ignoredFilesDoNotCount() throws {
        let f = try VaultFixture()
        try f.write("inbox/.DS_Store", "junk")
        #expect(try f.vault().scopeMatchesHead(["inbox"]) == true)
    }
}
