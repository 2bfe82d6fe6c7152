import Foundation
import Testing

/// `cairn policy scan-secrets FILE…`: the proposal secret scan on any files, through the real binary
/// (bench/secrets_bench.py measures it against detect-secrets with this command).
@Suite struct PolicyScanSecretsTests {
    @Test func aTokenIsFoundWithFileLineAndRuleAndExitsOne() throws {
        let sb = try Sandbox()
        let token = "ghp_" + "Q7mZ2vR8pL4tN9wK3bYc6HdJ1sF5gA0xE2uT"
        try sb.write(sb.work + "/leak.md", "# Notes\nGITHUB_TOKEN=\(token)\n")
        try sb.write(sb.work + "/clean.md", "# Notes\nnothing to see\n")
        let r = sb.runCairn(["policy", "scan-secrets", "clean.md", "leak.md", "--json"])
        #expect(r.status == 1, "\(r)")
        let report = try jsonObject(r.stdoutData)
        #expect(report["files"] as? Int == 2)
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(findings.count == 1, "\(findings)")
        #expect(findings.first?["path"] as? String == "leak.md")
        #expect(findings.first?["line"] as? Int == 2)
        #expect(findings.first?["rule"] as? String == "github-token")
        #expect(!r.stdout.contains(token), "the secret itself is never printed in full")
    }

    @Test func cleanFilesExitZeroAndAMissingFileIsNamed() throws {
        let sb = try Sandbox()
        try sb.write(sb.work + "/clean.md", "# Notes\napi_key = \"YOUR_API_KEY_HERE\"\n")
        let clean = sb.runCairn(["policy", "scan-secrets", "clean.md"])
        #expect(clean.status == 0, "\(clean)")
        #expect(clean.stdout.contains("No secrets found in 1 file."), "\(clean)")
        let missing = sb.runCairn(["policy", "scan-secrets", "nope.md"])
        #expect(missing.status == 1, "\(missing)")
        #expect(missing.stderr.contains("nope.md: cannot be read"), "\(missing)")
    }
}
