import Foundation
import Testing

/// Finding the vault: `--vault`, then `CAIRN_VAULT`, then the current folder upward.
@Suite struct DiscoveryTests {
    /// The root `cairn status --json` reports.
    private func statusRoot(_ sb: Sandbox, _ args: [String] = [], cwd: String, env: [String: String?] = [:],
                            sourceLocation: SourceLocation = #_sourceLocation) throws -> String? {
        let r = sb.runCairn(["status", "--json"] + args, cwd: cwd, env: env)
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        return try jsonObject(r.stdoutData, sourceLocation: sourceLocation)["root"] as? String
    }

    @Test func vaultOptionWorksFromAnyFolder() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let elsewhere = sb.work + "/elsewhere"
        try FileManager.default.createDirectory(atPath: elsewhere, withIntermediateDirectories: true)
        #expect(try statusRoot(sb, ["--vault", v], cwd: elsewhere) == v)
        #expect(try statusRoot(sb, ["--vault", "../vault"], cwd: elsewhere) == v)
    }

    @Test func cairnVaultEnvironmentVariableIsUsed() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        #expect(try statusRoot(sb, cwd: sb.home, env: ["CAIRN_VAULT": v]) == v)
    }

    @Test func nestedSubfolderFindsTheVault() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try FileManager.default.createDirectory(atPath: v + "/memory/projects/acme/2026", withIntermediateDirectories: true)
        #expect(try statusRoot(sb, cwd: v + "/memory/projects/acme/2026") == v)
    }

    @Test func vaultOptionWinsOverTheEnvironment() throws {
        let sb = try Sandbox()
        let a = try sb.makeVault("a"), b = try sb.makeVault("b")
        #expect(try statusRoot(sb, ["--vault", b], cwd: sb.work, env: ["CAIRN_VAULT": a]) == b)

        // And writes go there too: only b gets the snapshot.
        try sb.write(a + "/memory/working/x.md", "# In a\n")
        try sb.write(b + "/memory/working/x.md", "# In b\n")
        let before = sb.state(of: a)
        let r = sb.runCairn(["snapshot", "--vault", b], cwd: a, env: ["CAIRN_VAULT": a])
        #expect(r.status == 0, "\(r)")
        #expect(try sb.gitOK(["log", "-1", "--format=%s"], cwd: b) == "Add memory/working/x.md")
        sb.expectUnchanged(a, since: before)
    }

    @Test func environmentWinsOverTheCurrentFolder() throws {
        let sb = try Sandbox()
        let a = try sb.makeVault("a"), b = try sb.makeVault("b")
        #expect(try statusRoot(sb, cwd: a + "/memory", env: ["CAIRN_VAULT": b]) == b)
    }

    @Test func vaultOptionPointingNowhereNamesThePath() throws {
        let sb = try Sandbox()
        let r = sb.runCairn(["status", "--vault", sb.work + "/missing"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("not a Cairn vault: \(sb.work)/missing"), "\(r)")
        #expect(!sb.exists(sb.work + "/missing"))
    }
}
