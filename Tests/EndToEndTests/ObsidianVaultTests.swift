import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// An Obsidian vault adopted with `cairn init` works as Obsidian sees it: links resolve the way Obsidian resolves
/// them, templates are not notes, front matter Obsidian tolerates never blocks a save, and no example business is
/// added. The vault is `Tests/Fixtures/obsidian-vault/`; each link in its `Home.md` is one rule.
@Suite struct ObsidianVaultTests {
    static let fixture = Binaries.packageRoot + "/Tests/Fixtures/obsidian-vault"

    /// A copy of the fixture vault adopted with `cairn init` (no `--example`).
    func adoptedFixture(_ sb: Sandbox) throws -> String {
        let path = sb.work + "/obsidian"
        try FileManager.default.copyItem(atPath: Self.fixture, toPath: path)
        let r = sb.runCairn(["init", path])
        try #require(r.status == 0, "cairn init failed: \(r)")
        return path
    }

    func json(_ r: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any], "not JSON: \(r)", sourceLocation: sourceLocation)
    }

    @Test func doctorCountsUnresolvedLinksAndWarnsOnlyAboutMissingHeadingsAndBlocks() throws {
        let sb = try Sandbox()
        let v = try adoptedFixture(sb)
        let r = sb.runCairn(["doctor", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let report = try json(r)
        let links = try #require(report["links"] as? [String: Any], "\(r)")
        #expect(links["unresolved"] as? Int == 2, "[[Not written yet]] and the property's [[Missing parent]]: \(links)")
        #expect(links["brokenAnchors"] as? Int == 2, "\(links)")
        #expect(links["ambiguous"] as? Int == 2, "the two [[Settings]] links: \(links)")
        let findings = try #require(report["findings"] as? [[String: Any]])
        let linkWarnings = findings.filter { ($0["message"] as? String ?? "").contains("link") }
        let messages = linkWarnings.map { "\($0["path"] ?? ""):\($0["line"] ?? ""): \($0["message"] ?? "")" }.sorted()
        #expect(messages.count == 2, "\(messages)")
        #expect(messages.contains { $0.hasPrefix("Home.md:27:") && $0.contains("#Fourth law") && $0.contains("no such heading") }, "\(messages)")
        #expect(messages.contains { $0.hasPrefix("Home.md:28:") && $0.contains("#^no-such-block") && $0.contains("no such block") }, "\(messages)")
        // The note Obsidian shows with plain-text front matter is a warning, never an error.
        #expect(findings.contains { $0["path"] as? String == "Journal.md" && $0["severity"] as? String == "warning" }, "\(findings)")
        #expect(!findings.contains { ($0["path"] as? String ?? "").hasPrefix("Templates/") || ($0["path"] as? String ?? "").hasPrefix("Meta/") },
                "template folders are not notes: \(findings)")
        let text = sb.runCairn(["doctor"], cwd: v)
        #expect(text.stdout.contains("2 unresolved"), "\(text)")
        #expect(text.stdout.contains("cairn links --unresolved"), "\(text)")
    }

    @Test func linksUnresolvedListsEachLinkWithItsLine() throws {
        let sb = try Sandbox()
        let v = try adoptedFixture(sb)
        let r = sb.runCairn(["links", "--unresolved", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let report = try json(r)
        let unresolved = try #require(report["unresolved"] as? [[String: Any]])
        let listed = unresolved.map { "\($0["path"] ?? ""):\($0["line"] ?? "") \($0["link"] ?? "")" }.sorted()
        #expect(listed == ["Home.md:26 [[Not written yet]]", "Home.md:4 [[Missing parent]]"], "\(listed)")
        let anchors = try #require(report["brokenAnchors"] as? [[String: Any]])
        #expect(Set(anchors.compactMap { $0["kind"] as? String }) == ["missing-heading", "missing-block"])
        #expect(Set(anchors.compactMap { $0["resolved"] as? String }) == ["Physics/Three laws of motion.md"])
        let text = sb.runCairn(["links", "--unresolved"], cwd: v)
        #expect(text.stdout.contains("Home.md:26  [[Not written yet]]"), "\(text)")
        #expect(text.stdout.contains("2 unresolved and 2 to a missing heading or block"), "\(text)")
        #expect(sb.runCairn(["links"], cwd: v).status != 0, "a note or --unresolved is required")
    }

    @Test func aNoteWhoseFrontMatterDoesNotParseIsCommittedAsItIsAndApproveIsNotBlocked() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        #expect(sb.runCairn(["agent", "run", "gc"], cwd: v).status == 0)
        let journal = "---\ncreated: {{date}}\n{{title}}: x\n---\n# Journal\n"
        try sb.write(v + "/memory/working/journal.md", journal)
        let status = sb.runCairn(["status"], cwd: v)
        #expect(status.status == 0, "\(status)")
        #expect(status.output.contains("memory/working/journal.md:2: front matter keys must be plain text"), "\(status)")
        // approve snapshots first: the operator's note goes in as it is, and the unrelated proposal is approved.
        let approve = sb.runCairn(["approve", "gc"], cwd: v)
        #expect(approve.status == 0, "\(approve)")
        #expect(sb.git(["show", "main:memory/working/journal.md"], cwd: v).stdoutData == Data(journal.utf8))
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v) == "")
        sb.expectFsckClean(v)
    }

    @Test func editingATemplateIsCommittedWithoutAWarning() throws {
        let sb = try Sandbox()
        let v = try adoptedFixture(sb)
        try sb.write(v + "/Templates/Daily.md", "---\ncreated: {{date}}\n{{title}}: x\n---\nedited\n")
        try sb.write(v + "/Meta/Templater/Project.md", "---\ncreated: <% tp.date.now() %>\n  bad: [\n---\n")
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(!r.stderr.contains("Templates/") && !r.stderr.contains("Meta/Templater"), "templates are not read as notes: \(r)")
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v) == "")
    }

    @Test func agentDefinitionsStillRefuseBadFrontMatter() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/agents/broken.md", "---\nkind: command\n  command: [\n---\n")
        let before = try sb.gitOK(["rev-parse", "HEAD"], cwd: v)
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("agents/broken.md:"), "\(r)")
        #expect(try sb.gitOK(["rev-parse", "HEAD"], cwd: v) == before)
    }

    @Test func adoptingAddsStructureAndNoExampleBusiness() throws {
        let sb = try Sandbox()
        let v = try adoptedFixture(sb)
        let committed = try sb.committedFiles(v)
        // Every file of the vault, byte for byte, .obsidian settings included.
        for (path, entry) in workingFiles(Self.fixture) {
            #expect(committed[path]?.data == entry.data, "\(path) not committed as it was")
        }
        #expect(committed["policy.json"] != nil && committed["agents/gc.md"] != nil && committed["workflows/weekly-review.md"] != nil)
        let business = try #require(committed["memory/core/business.md"]).data
        #expect(String(decoding: business, as: UTF8.self).contains("A form for you to fill in"))
        for (path, entry) in committed where !workingFiles(Self.fixture).keys.contains(path) {
            let text = String(decoding: entry.data, as: UTF8.self)
            for word in ["Fernhill", "Sam Rivera", "Bluebird", "Acme"] where path.hasPrefix("memory/") || path.hasPrefix("inbox/") {
                #expect(!text.contains(word), "\(path) brings the example business (\(word))")
            }
        }
        #expect(committed.keys.filter { $0.hasPrefix("inbox/") } == ["inbox/README.md"])
        #expect(!committed.keys.contains { $0.hasPrefix("memory/projects/") && !$0.hasSuffix("README.md") })
        sb.expectFsckClean(v)
    }

    @Test func initExampleAddsTheExampleBusiness() throws {
        let sb = try Sandbox()
        let r = sb.runCairn(["init", "--example", "demo"])
        #expect(r.status == 0, "\(r)")
        let committed = try sb.committedFiles(sb.work + "/demo")
        #expect(String(decoding: try #require(committed["memory/core/business.md"]).data, as: UTF8.self).contains("Fernhill"))
        #expect(committed["inbox/2026-01-06-lead-acme.md"] != nil)
        let plain = sb.runCairn(["init", "plain"])
        #expect(plain.status == 0, "\(plain)")
        #expect(try sb.committedFiles(sb.work + "/plain")["inbox/2026-01-06-lead-acme.md"] == nil)
        #expect(sb.runCairn(["init", "--example", "--template", sb.work + "/demo", "other"]).status != 0)
    }

    /// The obsidian-git plugin commits on a timer: a lock it holds for a moment makes cairn wait, not fail.
    @Test func aGitLockHeldForAMomentIsWaitedFor() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/inbox/new.md", "# New\n")
        let holder = sb.start("/bin/sh", ["-c", "exec 3>>.git/index.lock; echo ready; sleep 0.7; rm -f .git/index.lock"],
                              cwd: v, stdin: nil, env: sb.environment())
        defer { if let p = holder.process { kill(p.processIdentifier, SIGKILL); _ = holder.finish() } }
        let deadline = Date().addingTimeInterval(10)
        while (sb.read(holder.outPath) ?? Data()).isEmpty && Date() < deadline { usleep(20_000) }
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try sb.gitOK(["show", "--name-only", "--format=", "HEAD"], cwd: v) == "inbox/new.md")
        sb.expectFsckClean(v)
    }
}
