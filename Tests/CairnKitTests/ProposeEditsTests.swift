import CairnGit
import Foundation
import Testing
@testable import CairnKit

/// `Vault.proposeEdits`: explicit edits become one agent-run commit on `proposals/`, computed against the right base;
/// a precondition that does not hold makes a stale proposal; bad requests write nothing.
@Suite struct ProposeEditsTests {
    static let note = "memory/projects/bluebird-coffee.md"
    let agent = Vault.clientAgent(named: "mcp:test")

    func propose(_ f: VaultFixture, _ requests: [EditRequest], summary: String? = "test edit") throws -> EditProposalResult {
        let now = f.now
        return try f.vault().proposeEdits(requests, agent: agent, summary: summary, author: f.identity, clock: { now })
    }

    func proposed(_ f: VaultFixture, _ result: EditProposalResult, _ path: String) throws -> String {
        try f.git("show", "proposals/\(result.run.run):\(path)")
    }

    @Test func appendAndLineReplaceAreComputedFromMainsVersion() throws {
        let f = try VaultFixture()
        try f.write("memory/working/list.md", "one\ntwo\nthree\n")
        try f.snapshot()
        let blob = try f.git("hash-object", "memory/working/list.md").trimmingCharacters(in: .whitespacesAndNewlines)
        let r = try propose(f, [
            EditRequest(path: "memory/working/list.md", action: .replace, content: "TWO\n2b\n", lines: 2...2, expectedBlob: blob),
            EditRequest(path: "memory/working/log.md", action: .create, content: "# Log\n"),
        ])
        #expect(r.stale.isEmpty && r.run.outcome == .proposed)
        #expect(try proposed(f, r, "memory/working/list.md") == "one\nTWO\n2b\nthree\n")
        #expect(try proposed(f, r, "memory/working/log.md") == "# Log\n")
        let appended = try propose(f, [EditRequest(path: "memory/working/list.md", action: .append, content: "four\n")])
        #expect(try proposed(f, appended, "memory/working/list.md") == "one\ntwo\nthree\nfour\n")
        // One commit per proposal, by the client's agent identity, with the usual trailers; main is untouched.
        let message = try f.git("log", "-1", "--format=%an%n%B", "proposals/\(r.run.run)")
        #expect(message.hasPrefix("mcp:test (cairn agent)\nPropose: test edit"), "\(message)")
        #expect(message.contains("Cairn-Agent: mcp:test") && message.contains("Cairn-Outcome: proposed"), "\(message)")
        #expect(f.read("memory/working/list.md") == "one\ntwo\nthree\n")
        #expect(try f.fsckClean())
    }

    @Test func aPreconditionThatNoLongerHoldsMakesAStaleProposalFromTheVersionRead() throws {
        let f = try VaultFixture()
        let read = try f.git("hash-object", Self.note).trimmingCharacters(in: .whitespacesAndNewlines)
        try f.write(Self.note, (f.read(Self.note) ?? "") + "operator line\n")  // saved, not committed
        let r = try propose(f, [EditRequest(path: Self.note, action: .append, content: "client line\n", expectedBlob: read)])
        #expect(r.stale.map(\.path) == [Self.note])
        #expect(r.stale.first?.expected == read)
        #expect(r.run.needsReview.contains { $0.rule == PolicyFinding.Rule.stale })
        // Based on the commit that had the version read; the operator's line was snapshotted onto main meanwhile.
        #expect(try f.git("rev-parse", "proposals/\(r.run.run)^:\(Self.note)").hasPrefix(read))
        #expect(try f.git("show", "main:\(Self.note)").hasSuffix("operator line\n"))
        #expect(try !proposed(f, r, Self.note).contains("operator line"))
        let summary = try #require(try f.vault().proposals().first { $0.id == r.run.run })
        #expect(summary.stalePaths == [Self.note])
        #expect(throws: ProposalError.self) { try f.vault().approve(r.run.run, note: nil, author: f.identity, now: f.now) }
    }

    @Test func badRequestsAreRefusedAndWriteNothing() throws {
        let f = try VaultFixture()
        let refs = try f.git("for-each-ref")
        let cases: [[EditRequest]] = [
            [],
            [EditRequest(path: "../x.md", action: .create, content: "x")],
            [EditRequest(path: "policy.json", action: .replace, content: "{}")],
            [EditRequest(path: "README.md", action: .replace, content: "x")],
            [EditRequest(path: "memory/a.md", action: .create)],
            [EditRequest(path: "memory/a.md", action: .create, content: "a\u{0}b")],
            [EditRequest(path: "memory/a.md", action: .create, content: String(repeating: "x", count: EditRequest.maxContentBytes + 1))],
            [EditRequest(path: "memory/a.md", action: .append, content: "x")],
            [EditRequest(path: Self.note, action: .replace, content: "x", lines: 500...501)],
            [EditRequest(path: Self.note, action: .replace, content: "x", expectedBlob: "xyz")],
            [EditRequest(path: Self.note, action: .create, content: "x")],
            [EditRequest(path: "memory/a.md", action: .create, content: "aws_secret = AKIA" + "QZ7XK2M4RT9WB3NP\n")],
            [EditRequest(path: "memory/a.md", action: .create, content: "a"), EditRequest(path: "memory/./a.md", action: .create, content: "b")],
        ]
        for requests in cases {
            #expect(throws: EditRequestError.self, "\(requests)") { try propose(f, requests) }
        }
        #expect(try f.git("for-each-ref") == refs)
        #expect(try f.vault().proposals().isEmpty)
    }
}
