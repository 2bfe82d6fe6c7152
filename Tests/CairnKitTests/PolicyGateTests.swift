import CairnGit
import Foundation
import Testing

@testable import CairnKit

/// A throwaway repository with one base commit, built through CairnGit (no working tree, no index).
private final class GateFixture {
    let dir: String
    let repo: Repository
    let base: BaseSnapshot

    static let signature = Signature(name: "Ada Operator", email: "ada@example.com",
                                     time: Date(timeIntervalSince1970: 1_772_355_600), offsetMinutes: 0)

    /// The default base: a few notes, a file used as a trap parent, symbolic links and protected files.
    static let defaultFiles: [String: String] = [
        "README.md": "# Vault\n",
        "policy.json": "{}\n",
        "agents/gc.md": "---\nkind: builtin\nbuiltin: gc\n---\n",
        "memory/core/about.md": String(repeating: "About the company. ", count: 10) + "\n",  // 191 bytes, 48 tokens
        "memory/working/today.md": "a\nb\nc\n",
        "memory/projects/acme.md": "# ACME\n",
        "memory/notes/Readme.md": "notes\n",
        "memory/a.md": "a file, not a folder\n",
    ]
    static let defaultLinks: [String: String] = [
        "memory/link": "../..",           // a folder link out of the vault
        "memory/working/alias.md": "../projects/acme.md",
    ]

    init(files: [String: String] = GateFixture.defaultFiles, links: [String: String] = GateFixture.defaultLinks,
         executables: [String: String] = [:]) throws {
        dir = NSTemporaryDirectory() + "cairn-policygate-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        repo = try Repository.create(at: dir + "/repo")
        var changes: [TreeChange] = []
        for (path, text) in files.sorted(by: { $0.key < $1.key }) {
            changes.append(.upsert(path: path, oid: try repo.writeBlob(Data(text.utf8)), mode: TreeChange.fileMode))
        }
        for (path, text) in executables {
            changes.append(.upsert(path: path, oid: try repo.writeBlob(Data(text.utf8)), mode: TreeChange.executableMode))
        }
        for (path, target) in links {
            changes.append(.upsert(path: path, oid: try repo.writeBlob(Data(target.utf8)), mode: TreeChange.symlinkMode))
        }
        let tree = try repo.updateTree(base: nil, changes: changes)
        let commit = try repo.createCommit(tree: tree, parents: [], author: Self.signature, committer: Self.signature,
                                           message: "base\n")
        try repo.updateReference("refs/heads/main", to: commit, expected: nil, message: "test base")
        base = BaseSnapshot(repository: repo, commit: commit, tree: tree)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// `git ls-tree -r main` by the real git CLI, as an independent check of the fixture.
    func lsTree() throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        p.arguments = ["-C", dir + "/repo", "ls-tree", "-r", "main"]
        p.environment = ["HOME": dir, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

private func agent(_ name: String = "scribe", writes: [String]) throws -> AgentDefinition {
    let list = writes.map { "\"\($0)\"" }.joined(separator: ", ")
    return try AgentDefinition.parse(path: "agents/\(name).md",
                                     data: Data("---\nkind: command\ncommand: [\"true\"]\nwrites: [\(list)]\n---\n".utf8))
}

private func evaluate(_ edits: [ProposedEdit], writes: [String] = ["**"], policy: Policy = .default,
                      fixture: GateFixture? = nil) throws -> PolicyVerdict {
    let f = try fixture ?? GateFixture()
    return PolicyGate(policy: policy).evaluate(edits: edits, agent: try agent(writes: writes), base: f.base)
}

private extension PolicyVerdict {
    var blockedRules: [String] { blocked.map(\.rule) }
    var reviewRules: [String] { needsReview.map(\.rule) }
}

/// A fake GitHub token (right format, not a real credential).
private let fakeToken = "ghp_" + "Q7mZ2vR8pL4tN9wK3bYc6HdJ1sF5gA0xE2uT"

@Suite("PolicyGate")
struct PolicyGateTests {
    // MARK: A clean proposal

    @Test func cleanProposalPassesWithNormalizedPaths() throws {
        let v = try evaluate([.write("./memory//working/new.md", "hello\nworld\n")], writes: ["memory/working/**"])
        #expect(v.blocked.isEmpty)
        #expect(v.needsReview.isEmpty)
        #expect(v.edits.map(\.path) == ["memory/working/new.md"])
        #expect(v.size == ProposalSize(files: 1, addedLines: 2, removedLines: 0))
    }

    // MARK: path

    static let hostilePaths: [(path: String, rule: String)] = [
        ("../x", "path"),
        ("/etc/passwd", "path"),
        ("memory/../../x", "path"),
        (".git/config", "path"),
        ("memory/.GIT/x", "path"),
        ("a\\b", "path"),
        ("memory/a\u{0}.md", "path"),
        ("memory/\u{1B}[31mred.md", "path"),
        ("", "path"),
        ("Policy.JSON", "protected"),
        ("APPROVALS/x.json", "protected"),
        ("runs/2026/x.json", "protected"),
        ("agents/x.md", "protected"),
        ("workflows/weekly.md", "protected"),
        (".gitignore", "protected"),
        ("memory/.gitattributes", "protected"),
        ("memory/projects/.gitmodules", "protected"),
        (".github/workflows/ci.yml", "protected"),
        ("memory/link/x.md", "symlink"),
        ("memory/link", "symlink"),
        ("memory/a.md/x.md", "symlink"),
        ("memory/working/alias.md", "symlink"),
    ]

    @Test(arguments: hostilePaths)
    func hostilePathIsBlocked(path: String, rule: String) throws {
        let v = try evaluate([.write(path, "x\n")])
        #expect(v.isBlocked)
        #expect(v.blockedRules.contains(rule), "\(v.blocked)")
    }

    @Test func decomposedUnicodeCannotSlipPastAProtectedName() throws {
        var policy = Policy.default
        policy.protectedPaths.append("memory/privé/**")  // written precomposed
        let decomposed = "memory/prive\u{301}/salaries.md"
        #expect(try evaluate([.write(decomposed, "x\n")], policy: policy).blockedRules == ["protected"])
        #expect(try evaluate([.write("MEMORY/PRIVÉ/x.md", "x\n")], policy: policy).blockedRules.contains("protected"))

        policy.protectedPaths = ["memory/prive\u{301}/**"]  // written decomposed
        #expect(try evaluate([.write("memory/privé/salaries.md", "x\n")], policy: policy).blockedRules == ["protected"])
        #expect(try evaluate([.write("memory/private/x.md", "x\n")], policy: policy).blocked.isEmpty)
    }

    @Test func sameFileTwiceCollides() throws {
        for pair in [("memory/working/a.md", "./memory/working/a.md"),
                     ("memory/working/a.md", "memory/working/a.md"),
                     ("memory/working/Notes.md", "memory/working/notes.md"),
                     ("memory/working/café.md", "memory/working/cafe\u{301}.md")] {
            let v = try evaluate([.write(pair.0, "1\n"), .write(pair.1, "2\n")])
            #expect(v.blockedRules == ["path"], "\(pair)")
            #expect(v.blocked.first?.message.contains("collide") == true)
        }
        #expect(try evaluate([.write("memory/working/a.md", "1\n"), .write("memory/working/b.md", "2\n")]).blocked.isEmpty)
    }

    @Test func nameThatClashesWithTheBaseByCaseIsBlocked() throws {
        let v = try evaluate([.write("memory/notes/README.md", "x\n")])
        #expect(v.blockedRules == ["path"])
        #expect(v.blocked.first?.message.contains("memory/notes/Readme.md") == true)
        #expect(try evaluate([.write("Memory/working/x.md", "x\n")]).blockedRules == ["path"])
        #expect(try evaluate([.write("memory/notes/Readme.md", "y\n")]).blocked.isEmpty)
    }

    @Test func fileAndFolderOfTheSameNameInOneProposalCollide() throws {
        let v = try evaluate([.write("memory/working/x", "file\n"), .write("memory/working/x/y.md", "under\n")])
        #expect(v.blockedRules == ["path"])
        #expect(v.blocked.first?.path == "memory/working/x/y.md")
    }

    // MARK: symlink

    @Test func fixtureHoldsRealSymlinks() throws {
        let listing = try GateFixture().lsTree()
        #expect(listing.contains("120000 blob") && listing.contains("\tmemory/link\n"), "\(listing)")
    }

    @Test func writingThroughASymlinkOrAFileIsBlockedButAFolderReplacingADeletedFileIsNot() throws {
        let through = try evaluate([.write("memory/link/etc/cron.d/x", "x\n")])
        #expect(through.blockedRules == ["symlink"])
        #expect(through.blocked.first?.message.contains("'memory/link'") == true)

        let underFile = try evaluate([.write("memory/a.md/x.md", "x\n")])
        #expect(underFile.blockedRules == ["symlink"])
        #expect(underFile.blocked.first?.message.contains("is a file") == true)

        let replaced = try evaluate([.delete("memory/a.md"), .write("memory/a.md/x.md", "x\n")])
        #expect(replaced.blocked.isEmpty, "\(replaced.blocked)")
        #expect(replaced.edits.count == 2)

        #expect(try evaluate([.delete("memory/link")]).blockedRules == ["symlink"])
    }

    // MARK: protected

    @Test func protectedPathsMatchLikeGitignore() {
        let m = PolicyGate.matchesLikeGitignore
        #expect(m(".git*", ".gitignore"))
        #expect(m(".git*", "memory/deep/.gitattributes"))
        #expect(m(".git*", ".github/workflows/ci.yml"), "a matched folder covers its contents")
        #expect(!m(".git*", "memory/my.gitignore"))
        #expect(m("approvals/**", "Approvals/2026/x.json"))
        #expect(!m("approvals/**", "memory/approvals/x.json"), "a pattern with a slash is anchored")
        #expect(m("memory/core", "memory/core/about.md"), "a folder pattern covers the files in it")
        #expect(m("secrets/", "memory/secrets/a.md"))
        #expect(m("/policy.json", "policy.json"))
        #expect(!m("/policy.json", "memory/policy.json"))
        #expect(m("*.key", "memory/deploy/server.KEY"))
        #expect(!m("*.key", "memory/keys.md"))
    }

    @Test func protectedPathsAreBlockedAndLookAlikesAreNot() throws {
        for path in ["policy.json", "approvals/x.json", "memory/.gitattributes", "memory/working/.gitignore"] {
            #expect(try evaluate([.write(path, "x\n")]).blockedRules == ["protected"], "\(path)")
        }
        for path in ["memory/working/policy.json.md", "memory/working/gitignore-notes.md", "memory/projects/agents.md"] {
            #expect(try evaluate([.write(path, "x\n")]).blocked.isEmpty, "\(path)")
        }
        // Built-in protection survives a policy that lists nothing.
        var open = Policy.default
        open.protectedPaths = []
        #expect(try evaluate([.write("approvals/x.json", "{}\n")], policy: open).blockedRules == ["protected"])
        #expect(try evaluate([.write("workflows/x.md", "x\n")], policy: open).blocked.isEmpty)
        // The operator's own patterns.
        var strict = Policy.default
        strict.protectedPaths.append("memory/core/**")
        #expect(try evaluate([.write("memory/core/about.md", "x\n")], policy: strict).blockedRules == ["protected"])
        #expect(try evaluate([.delete("memory/core/about.md")], policy: strict).blockedRules == ["protected"])
    }

    // MARK: writes

    @Test func agentMayOnlyWriteItsGlobs() throws {
        let ok = try evaluate([.write("memory/working/x.md", "x\n"), .delete("memory/working/today.md")],
                              writes: ["memory/working/**"])
        #expect(ok.blocked.isEmpty)
        let outside = try evaluate([.write("memory/projects/x.md", "x\n")], writes: ["memory/working/**", "inbox/**"])
        #expect(outside.blockedRules == ["writes"])
        #expect(outside.blocked.first?.message == "agent 'scribe' may only write memory/working/**, inbox/**")
        #expect(try evaluate([.delete("memory/projects/acme.md")], writes: ["memory/working/**"]).blockedRules == ["writes"])
        #expect(try evaluate([.write("memory/working/x.md", "x\n")], writes: ["memory/working/*.txt"]).blockedRules == ["writes"])
    }

    @Test func agentWithoutWritesMayWriteNothing() throws {
        let v = try evaluate([.write("memory/working/x.md", "x\n")], writes: [])
        #expect(v.blockedRules == ["writes"])
        #expect(v.blocked.first?.message.contains("no `writes:`") == true)
    }

    // MARK: no-ops and folders

    @Test func noOpsAreDroppedSilently() throws {
        let v = try evaluate([.write("memory/working/today.md", "a\nb\nc\n"), .delete("memory/working/gone.md"),
                              .write("memory/projects/acme.md", "# ACME\n")],
                             writes: ["memory/working/**"])
        #expect(v.edits.isEmpty)
        #expect(v.blocked.isEmpty && v.needsReview.isEmpty, "no-ops are not checked further")
        #expect(v.size == ProposalSize())

        let modeChange = try evaluate([ProposedEdit(path: "memory/working/today.md", action: .write,
                                                    content: Data("a\nb\nc\n".utf8), executable: true)])
        #expect(modeChange.edits.count == 1, "same content but a new mode is a change")
        #expect(modeChange.reviewRules == ["executable"])
    }

    @Test func foldersCannotBeDeletedOrOverwritten() throws {
        let delete = try evaluate([.delete("memory/working")])
        #expect(delete.blockedRules == ["edit"])
        #expect(try evaluate([.write("memory/working", "flat\n")]).blockedRules == ["path"])
        #expect(try evaluate([ProposedEdit(path: "memory/working/x.md", action: .write, content: nil)]).blockedRules == ["edit"])
    }

    // MARK: secret

    @Test func secretsAreBlockedWithFileLineAndRule() throws {
        let f = try GateFixture()
        let content = Data("# Deploy\n\ntoken for the bot:\n\(fakeToken)\n".utf8)
        let v = try evaluate([.write("memory/projects/deploy.md", content)], fixture: f)
        #expect(v.blockedRules == ["secret"])
        #expect(v.secrets == [SecretFinding(path: "memory/projects/deploy.md", line: 4, rule: "github-token", excerpt: "ghp_…")])
        let message = try #require(v.blocked.first).message
        #expect(message.contains("line 4") && message.contains("github-token"))
        #expect(!message.contains(fakeToken))
        #expect(try !f.repo.contains(Repository.hashBlob(content)), "the gate writes nothing")
    }

    @Test func secretScanHonoursAllowPathsMarkerAndSwitch() throws {
        let edit = ProposedEdit.write("memory/fixtures/keys.md", "\(fakeToken)\n")
        #expect(try evaluate([edit]).blockedRules == ["secret"])
        var allow = Policy.default
        allow.secretScan.allowPaths = ["fixtures/"]
        #expect(try evaluate([edit], policy: allow).blocked.isEmpty)
        var off = Policy.default
        off.secretScan.enabled = false
        #expect(try evaluate([edit], policy: off).blocked.isEmpty)
        #expect(try evaluate([.write("memory/x.md", "\(fakeToken) <!-- cairn:allow-secret -->\n")]).blocked.isEmpty)
    }

    @Test func secretAlreadyInTheBaseFileDoesNotBlockAnotherEdit() throws {
        var files = GateFixture.defaultFiles
        files["memory/projects/ops.md"] = "# Ops\n\(fakeToken)\n"
        let f = try GateFixture(files: files)
        let v = try evaluate([.write("memory/projects/ops.md", "# Ops\n\(fakeToken)\nnew line\n")], fixture: f)
        #expect(v.blocked.isEmpty, "\(v.blocked)")
        let copied = try evaluate([.write("memory/projects/other.md", "\(fakeToken)\n")], fixture: f)
        #expect(copied.blockedRules == ["secret"], "copying it into another file is new")
    }

    // MARK: size

    @Test func sizeCountsLinesAsMultisets() throws {
        let v = try evaluate([.write("memory/working/today.md", "a\nc\nd\ne\n"), .delete("memory/projects/acme.md"),
                              .write("memory/working/new.md", "x\nx")])
        #expect(v.size == ProposalSize(files: 3, addedLines: 4, removedLines: 2))
        #expect(v.size.changedLines == 6)
        #expect(v.needsReview.isEmpty)
    }

    @Test func largeProposalsNeedReview() throws {
        var policy = Policy.default
        policy.review = .init(maxFiles: 2, maxChangedLines: 5)
        let three = (1...3).map { ProposedEdit.write("memory/working/\($0).md", "x\n") }
        let files = try evaluate(three, policy: policy)
        #expect(files.reviewRules == ["size"])
        #expect(files.needsReview.first?.message.contains("3 files") == true)
        #expect(!files.isBlocked)

        let lines = try evaluate([.write("memory/working/long.md", (1...6).map { "\($0)\n" }.joined())], policy: policy)
        #expect(lines.reviewRules == ["size"])
        #expect(lines.needsReview.first?.message.contains("6 lines") == true)
        #expect(try evaluate([.write("memory/working/ok.md", "1\n2\n3\n4\n5\n")], policy: policy).needsReview.isEmpty)
    }

    // MARK: core-budget

    @Test func coreGrowingOverItsBudgetNeedsReview() throws {
        var policy = Policy.default
        policy.memory.coreTokenBudget = 100  // the base holds ~48 tokens of core memory
        let grow = try evaluate([.write("memory/core/team.md", String(repeating: "x", count: 300))], policy: policy)
        #expect(grow.reviewRules == ["core-budget"])
        #expect(grow.needsReview.first?.message.contains("~48 to ~123") == true, "\(grow.needsReview)")

        #expect(try evaluate([.write("memory/core/team.md", String(repeating: "x", count: 200))], policy: policy)
            .needsReview.isEmpty, "48 + 50 tokens fits")
        #expect(try evaluate([.write("memory/working/big.md", String(repeating: "x", count: 4000))], policy: policy)
            .needsReview.isEmpty, "only memory/core/ counts")

        policy.memory.coreTokenBudget = 10
        #expect(try evaluate([.write("memory/core/about.md", "Shorter.\n")], policy: policy).needsReview.isEmpty,
                "shrinking an over-budget core is welcome")
        #expect(try evaluate([.delete("memory/core/about.md"), .write("memory/core/b.md", String(repeating: "y", count: 400))],
                             policy: policy).reviewRules == ["core-budget"])
    }

    // MARK: binary

    @Test func binaryContentNeedsReview() throws {
        let v = try evaluate([.write("memory/working/logo.png", Data([0x89, 0x50, 0x4E, 0x47, 0x00, 0x01]))])
        #expect(v.reviewRules == ["binary"])
        #expect(!v.isBlocked)
        #expect(try evaluate([.write("memory/working/ok.md", "text only\n")]).needsReview.isEmpty)
    }

    // MARK: the verdict

    @Test func verdictEncodesFindingsButNoContent() throws {
        let v = try evaluate([.write("memory/working/a.md", "\(fakeToken)\nsecret body text\n")])
        let json = String(decoding: try JSONEncoder().encode(v), as: UTF8.self)
        #expect(json.contains("\"blocked\""))
        #expect(!json.contains(Data("secret body text".utf8).base64EncodedString().prefix(12)))
        #expect(!json.contains(fakeToken))
        let decoded = try JSONDecoder().decode(PolicyVerdict.self, from: Data(json.utf8))
        #expect(decoded.blocked == v.blocked && decoded.secrets == v.secrets && decoded.size == v.size)
        #expect(decoded.edits.isEmpty)
    }

    @Test func findingDescriptionShowsControlCharacters() {
        let f = PolicyFinding(rule: "path", path: "a\u{0}b", message: "bad")
        #expect(f.description == "a\\u{0}b: bad [path]")
    }
}
