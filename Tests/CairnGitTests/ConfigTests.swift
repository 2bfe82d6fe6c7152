import Foundation
import Testing
@testable import CairnGit

@Suite struct ConfigTests {
    @Test func setConfigThenConfigString() throws {
        let t = try TestRepo()
        try t.repo.setConfig("user.name", "Cairn Operator")
        #expect(try t.repo.configString("user.name") == "Cairn Operator")
        #expect(try t.git("config", "--local", "--get", "user.name") == "Cairn Operator")
    }

    @Test func setConfigOverwrites() throws {
        let t = try TestRepo()
        try t.repo.setConfig("cairn.remote", "one")
        try t.repo.setConfig("cairn.remote", "two")
        #expect(try t.repo.configString("cairn.remote") == "two")
        #expect(try t.git("config", "--get-all", "cairn.remote") == "two")
    }

    @Test func valuesWithSpacesAndSpecialCharactersRoundTrip() throws {
        let t = try TestRepo()
        let value = "a value; with # comment chars and \"quotes\" and ünïcödé"
        try t.repo.setConfig("cairn.tricky", value)
        #expect(try t.repo.configString("cairn.tricky") == value)
        #expect(try t.git("config", "--get", "cairn.tricky") == value)
    }

    @Test func configBoolReadsGitBooleans() throws {
        let t = try TestRepo()
        for (text, expected) in [("true", true), ("yes", true), ("on", true), ("1", true), ("false", false), ("no", false), ("off", false), ("0", false)] {
            try t.repo.setConfig("cairn.flag", text)
            #expect(try t.repo.configBool("cairn.flag") == expected, "\(text)")
            #expect(try t.git("config", "--type=bool", "--get", "cairn.flag") == (expected ? "true" : "false"))
        }
    }

    @Test func configBoolOfANonBooleanThrows() throws {
        let t = try TestRepo()
        try t.repo.setConfig("cairn.flag", "maybe")
        #expect(throws: GitError.self) { _ = try t.repo.configBool("cairn.flag") }
        #expect(t.run(["config", "--type=bool", "--get", "cairn.flag"]).status != 0)
    }

    @Test func unsetKeysAreNil() throws {
        let t = try TestRepo()
        #expect(try t.repo.configString("cairn.never") == nil)
        #expect(try t.repo.configBool("cairn.never") == nil)
        #expect(try t.repo.configString("user.name") == nil) // the machine's global config is not read
    }

    @Test func valuesSetByGitAreSeen() throws {
        let t = try TestRepo()
        try t.git("config", "cairn.fromcli", "hello")
        #expect(try t.repo.configString("cairn.fromcli") == "hello")
        try t.git("config", "cairn.fromcli", "changed")
        #expect(try t.repo.configString("cairn.fromcli") == "changed") // a fresh snapshot each call
        try t.git("config", "--unset", "cairn.fromcli")
        #expect(try t.repo.configString("cairn.fromcli") == nil)
    }

    @Test func globalLevelComesFromTheSearchPath() throws {
        let t = try TestRepo()
        #expect(try t.repo.configString("cairntest.global") == "fromglobal")
        try t.repo.setConfig("cairntest.global", "local wins")
        #expect(try t.repo.configString("cairntest.global") == "local wins")
        // setConfig wrote the repository's file, not the global one.
        let global = try String(contentsOfFile: TestEnvironment.configDir + "/.gitconfig", encoding: .utf8)
        #expect(!global.contains("local wins"))
    }

    @Test func initWritesCoreSettingsGitReads() throws {
        let t = try TestRepo()
        #expect(try t.repo.configBool("core.bare") == false)
        #expect(try t.git("config", "--type=bool", "core.bare") == "false")
        let bare = try TestRepo(bare: true)
        #expect(try bare.repo.configBool("core.bare") == true)
    }

    @Test func invalidKeysThrow() throws {
        let t = try TestRepo()
        #expect(throws: GitError.self) { try t.repo.setConfig("nosection", "x") }
        #expect(throws: GitError.self) { _ = try t.repo.configString("bad key with spaces") }
    }
}
