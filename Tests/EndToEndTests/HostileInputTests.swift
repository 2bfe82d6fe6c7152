import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// One hostile or broken input: what is done to a fresh vault, the command that meets it, and what the user must
/// be told. `$V` in a message stands for the vault's path.
struct HostileCase: Sendable, CustomTestStringConvertible {
    let name: String
    /// Vault-relative files written (raw bytes) before the command.
    var files: [String: [UInt8]] = [:]
    /// Anything else to set up (run after `files`).
    var prepare: (@Sendable (Sandbox, String) throws -> Void)? = nil
    var command: [String] = ["snapshot"]
    /// The exit status: 1 for bad input, 2 for usage errors.
    var status: Int32 = 1
    /// Substrings the error output must contain (the file and the problem).
    var messages: [String]
    /// When the broken repository makes `git fsck` itself fail, the "nothing written" check still applies but
    /// the fsck judge does not.
    var repositoryIsBroken = false

    var testDescription: String { name }
}

/// A string's UTF-8 bytes, for `HostileCase.files`.
private func text(_ s: String) -> [UInt8] { Array(s.utf8) }

/// Hostile and broken input (DESIGN.md invariant 6): every case gets a clear error naming the file and the problem,
/// and writes nothing — compared over every file of the vault and its `.git` (refs, objects, index, HEAD) plus
/// `git for-each-ref` and `git status` before and after. The corpus is table-driven; `HostileInputTests.count`
/// is the number of inputs tried here (agent, model, disk and lock cases are separate tests below).
@Suite struct HostileInputTests {
    // MARK: - Notes and front matter (snapshot refuses or warns, names path:line)

    static let bomb: String = {
        // A billion-laughs alias expansion: 9 levels of 9 references each.
        var lines = ["---", "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]"]
        for i in 1...9 {
            lines.append("a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ",") + "]")
        }
        return lines.joined(separator: "\n") + "\n---\n# Bomb\n"
    }()

    static let noteCases: [HostileCase] = [
        HostileCase(name: "front matter never closed", files: ["memory/projects/open.md": text("---\ntitle: Open\n\n# Open\n")],
                    messages: ["memory/projects/open.md:1: ", "never closed"]),
        HostileCase(name: "YAML syntax error", files: ["memory/projects/bad.md": text("---\ntitle: [unclosed\n---\n# Bad\n")],
                    messages: ["memory/projects/bad.md:", "invalid YAML"]),
        HostileCase(name: "YAML alias bomb", files: ["memory/projects/bomb.md": text(bomb)],
                    messages: ["memory/projects/bomb.md:", "aliases are not allowed"]),
        HostileCase(name: "a single YAML alias", files: ["memory/projects/alias.md": text("---\nx: &x hi\ntitle: *x\n---\n")],
                    messages: ["memory/projects/alias.md:3: ", "alias"]),
        HostileCase(name: "front matter over 64 KiB",
                    files: ["memory/projects/huge.md": text("---\n" + String(repeating: "k: \(String(repeating: "v", count: 100))\n", count: 700) + "---\n")],
                    messages: ["memory/projects/huge.md:1: ", "KiB allowed"]),
        HostileCase(name: "front matter nested 200 deep",
                    files: ["memory/projects/deep.md": text("---\nx: " + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "\n---\n")],
                    messages: ["memory/projects/deep.md:", "nested more than 64 levels"]),
        HostileCase(name: "front matter is a list", files: ["memory/projects/list.md": text("---\n- a\n- b\n---\n")],
                    messages: ["memory/projects/list.md:", "must be a YAML mapping"]),
        HostileCase(name: "duplicate front matter key", files: ["memory/projects/dup.md": text("---\ntitle: A\ntitle: B\n---\n")],
                    messages: ["memory/projects/dup.md:3: ", "duplicate front matter key 'title'"]),
        HostileCase(name: "unknown tier", files: ["memory/projects/tier.md": text("---\ntier: banana\n---\n")],
                    messages: ["memory/projects/tier.md:2: ", "unknown tier 'banana'"]),
        HostileCase(name: "tags as a mapping", files: ["memory/projects/tags.md": text("---\ntags: {a: 1}\n---\n")],
                    messages: ["memory/projects/tags.md:2: ", "'tags' must be a list"]),
        HostileCase(name: "non-text key", files: ["memory/projects/key.md": text("---\n? [a, b]\n: c\n---\n")],
                    messages: ["memory/projects/key.md:", "keys must be plain text"]),
        HostileCase(name: "tab-indented YAML", files: ["memory/projects/tabs.md": text("---\ntitle: x\n\tbad: tab\n---\n")],
                    messages: ["memory/projects/tabs.md:", "invalid YAML"]),
        HostileCase(name: "created is not a date", files: ["memory/projects/date.md": text("---\ncreated: [2026]\n---\n")],
                    messages: ["memory/projects/date.md:2: ", "'created' must be a date"]),
        HostileCase(name: "pinned is not a boolean", files: ["memory/projects/pin.md": text("---\npinned: sometimes\n---\n")],
                    messages: ["memory/projects/pin.md:2: ", "must be true or false"]),
        HostileCase(name: "NUL byte in a note", files: ["memory/projects/nul.md": text("# Title\nline two\0 with NUL\n")],
                    messages: ["memory/projects/nul.md:2: ", "NUL"]),
        HostileCase(name: "invalid UTF-8 in a note", files: ["memory/projects/latin1.md": text("# Caf") + [0xE9] + text("\n")],
                    messages: ["memory/projects/latin1.md:1: ", "not valid UTF-8"]),
        HostileCase(name: "a Python object tag", files: ["memory/projects/tag.md": text("---\ntitle: !!python/object:os.system [\"id\"]\n---\n")],
                    messages: ["memory/projects/tag.md:2: "]),
        HostileCase(name: "a 60 MB note", prepare: { sb, v in
                        let r = sb.run("/usr/bin/env", ["truncate", "-s", "60M", "memory/projects/big.md"], cwd: v, env: sb.environment())
                        try #require(r.status == 0, "truncate: \(r)")
                    }, command: ["snapshot", "--force"], messages: ["memory/projects/big.md", "too large"]),
    ]

    // MARK: - Files cairn reads: agents, policy, config

    static func agent(_ frontMatter: String) -> [UInt8] { text("---\n" + frontMatter + "\n---\nDo things.\n") }

    static let configCases: [HostileCase] = [
        HostileCase(name: "agent with unknown kind", files: ["agents/x.md": agent("kind: robot")],
                    messages: ["agents/x.md:2: ", "unknown kind 'robot'"]),
        HostileCase(name: "agent without kind", files: ["agents/x.md": agent("reads: [\"inbox/**\"]")],
                    messages: ["agents/x.md:", "missing `kind:`"]),
        HostileCase(name: "command agent without command", files: ["agents/x.md": agent("kind: command")],
                    messages: ["agents/x.md:", "needs `command:`"]),
        HostileCase(name: "agent glob escaping the vault", files: ["agents/x.md": agent("kind: builtin\nbuiltin: gc\nwrites: [\"../**\"]")],
                    messages: ["agents/x.md:4: ", "must be vault-relative"]),
        HostileCase(name: "agent with absurd timeout", files: ["agents/x.md": agent("kind: command\ncommand: [\"true\"]\ntimeout: 9999d")],
                    messages: ["agents/x.md:4: ", "invalid timeout"]),
        HostileCase(name: "agent alias bomb", files: ["agents/x.md": text(bomb)],
                    messages: ["agents/x.md:", "aliases are not allowed"]),
        HostileCase(name: "policy.json is not JSON", files: ["policy.json": text("policy: strict\n")],
                    messages: ["policy.json:1: ", "invalid JSON"]),
        HostileCase(name: "policy.json is empty", files: ["policy.json": []], messages: ["policy.json"]),
        HostileCase(name: "policy.json is an array", files: ["policy.json": text("[]\n")], messages: ["policy.json:"]),
        HostileCase(name: "policy.json wrong type", files: ["policy.json": text("{\"version\": 1, \"review\": {\"max_files\": \"many\"}}\n")],
                    messages: ["policy.json:", "max_files"]),
        HostileCase(name: "policy.json nested 100000 deep",
                    files: ["policy.json": text(String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000))],
                    messages: ["policy.json"]),
        HostileCase(name: "policy.json with NUL", files: ["policy.json": text("{\"version\": 1\0}")], messages: ["policy.json"]),
        HostileCase(name: "policy.json not UTF-8", files: ["policy.json": text("{\"version\": 1, \"x\": \"") + [0xFF, 0xFE] + text("\"}")],
                    messages: ["policy.json"]),
        HostileCase(name: "config.json is not JSON", files: [".cairn/config.json": text("{ operator: ada }")],
                    messages: [".cairn/config.json:"]),
        HostileCase(name: "config.json is null", files: [".cairn/config.json": text("null")], messages: [".cairn/config.json"]),
        HostileCase(name: "config.json wrong type", files: [".cairn/config.json": text("{\"version\": 1, \"operator\": \"ada\"}")],
                    messages: [".cairn/config.json:"]),
    ]

    // MARK: - Names and paths

    static let nameCases: [HostileCase] = [
        HostileCase(name: "names differing only in case", files: ["memory/projects/Plan.md": text("# A\n"), "memory/projects/plan.md": text("# B\n")],
                    messages: ["memory/projects/", "differs only in case or Unicode normalization"]),
        HostileCase(name: "a new name differing only in case from a committed one", files: ["memory/projects/BLUEBIRD-COFFEE.md": text("# Shout\n")],
                    messages: ["memory/projects/BLUEBIRD-COFFEE.md", "memory/projects/bluebird-coffee.md", "differs only in case"]),
        HostileCase(name: "names differing only in Unicode normalization",
                    files: ["memory/projects/caf\u{E9}.md": text("# NFC\n")],
                    // (a second dictionary key would be the same String: Swift compares canonically)
                    prepare: { sb, v in try sb.write(v + "/memory/projects/cafe\u{301}.md", "# NFD\n") },
                    messages: ["memory/projects/caf", "differs only in case or Unicode normalization"]),
        HostileCase(name: "folders differing only in case", files: ["memory/Projects/x.md": text("# X\n")],
                    messages: ["memory/Projects", "memory/projects", "differs only in case"]),
        HostileCase(name: "a symlink to /etc/passwd", prepare: { sb, v in
                        try #require(symlink("/etc/passwd", v + "/memory/projects/passwd.md") == 0)
                    }, messages: ["memory/projects/passwd.md", "points outside the vault"]),
        HostileCase(name: "a symlink escaping with ..", prepare: { sb, v in
                        try #require(symlink("../../../outside", v + "/memory/projects/out") == 0)
                    }, messages: ["memory/projects/out", "points outside the vault"]),
        HostileCase(name: "a symlink into .git", prepare: { sb, v in
                        try #require(symlink("../../.git/config", v + "/memory/projects/cfg") == 0)
                    }, messages: ["memory/projects/cfg", "points into .git"]),
        HostileCase(name: "a non-UTF-8 file name", prepare: { sb, v in
                        let name = Array((v + "/memory/working/caf").utf8) + [0xE9] + Array(".md".utf8) + [0]
                        let fd = name.withUnsafeBufferPointer { p in p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: name.count) { Glibc.open($0, O_CREAT | O_WRONLY, 0o644) } }
                        try #require(fd >= 0)
                        close(fd)
                    }, command: ["snapshot", "--force"], messages: ["memory/working/caf", "not valid UTF-8"]),
        // Never committed (libgit2 does not look inside a folder named .git in any case), so nothing is written;
        // snapshot cannot see it to say so — doctor does (doctorNamesAFolderNamedLikeGit).
        HostileCase(name: "a .GIT folder inside the vault", files: ["memory/x/.GIT/config": text("[core]\n\tfsmonitor = touch /tmp/pwned\n")],
                    status: 0, messages: []),
    ]

    // MARK: - Hostile command-line arguments

    static let argumentCases: [HostileCase] = [
        HostileCase(name: "show a path with ..", command: ["show", "main:../../etc/passwd"], messages: ["../../etc/passwd"]),
        HostileCase(name: "links of an absolute path", command: ["links", "/etc/passwd"], messages: ["/etc/passwd"]),
        HostileCase(name: "why of a path outside", command: ["why", "../outside.md:1"], messages: ["../outside.md"]),
        HostileCase(name: "log of a path outside", command: ["log", "../../etc"], messages: ["../../etc", "outside the vault"]),
        HostileCase(name: "diff against a hostile revision", command: ["diff", "--upload-pack=touch /tmp/x"], status: 2, messages: ["--upload-pack"]),
        HostileCase(name: "agent run with a path as its name", command: ["agent", "run", "../../etc/passwd"], messages: ["unknown agent '../../etc/passwd'"]),
        HostileCase(name: "agent run of an unknown agent", command: ["agent", "run", "nobody"], messages: ["unknown agent 'nobody'", "agents in this vault"]),
        HostileCase(name: "agent input without =", command: ["agent", "run", "gc", "--input", "novalue"], status: 2, messages: ["novalue"]),
        HostileCase(name: "approve a path-like id", command: ["approve", "../../HEAD"], messages: ["../../HEAD"]),
        HostileCase(name: "reject an empty id", command: ["reject", ""], messages: ["cairn: "]),
        HostileCase(name: "search with an unclosed quote", command: ["search", "\"unclosed"], messages: ["unclosed", "quote"]),
        HostileCase(name: "search with an empty filter", command: ["search", "tag:"], messages: ["tag:"]),
        HostileCase(name: "note title with NUL-like control", command: ["note", "new", "two\nlines"], messages: ["line breaks"]),
        HostileCase(name: "vault option naming a file", command: ["status", "--vault", "/etc/passwd"], messages: ["not a Cairn vault: /etc/passwd"]),
    ]

    // MARK: - A broken .git

    static let repositoryCases: [HostileCase] = [
        HostileCase(name: "HEAD is empty", prepare: { sb, v in try sb.write(v + "/.git/HEAD", "") },
                    command: ["status"], messages: ["HEAD"], repositoryIsBroken: true),
        HostileCase(name: "HEAD points outside refs", prepare: { sb, v in try sb.write(v + "/.git/HEAD", "ref: ../../../etc/passwd\n") },
                    command: ["snapshot"], messages: ["HEAD"], repositoryIsBroken: true),
        HostileCase(name: "main holds garbage", prepare: { sb, v in try sb.write(v + "/.git/refs/heads/main", "not an object id\n") },
                    command: ["snapshot"], messages: ["cairn: "], repositoryIsBroken: true),
        HostileCase(name: "main names a missing commit", prepare: { sb, v in
                        try sb.write(v + "/.git/refs/heads/main", String(repeating: "ab", count: 20) + "\n")
                    }, command: ["snapshot"], messages: ["cairn: "], repositoryIsBroken: true),
        HostileCase(name: "the root tree object is missing", prepare: { sb, v in
                        let tree = try sb.gitOK(["rev-parse", "HEAD^{tree}"], cwd: v)
                        try FileManager.default.removeItem(atPath: v + "/.git/objects/\(tree.prefix(2))/\(tree.dropFirst(2))")
                        try sb.write(v + "/inbox/new.md", "# New\n")
                    }, command: ["snapshot"], messages: ["cairn: "], repositoryIsBroken: true),
        HostileCase(name: ".git/config is garbage", prepare: { sb, v in try sb.write(v + "/.git/config", "[core\nbare = maybe\n\0") },
                    command: ["status"], messages: ["cannot be read", "config"], repositoryIsBroken: true),
        HostileCase(name: ".git is a file pointing nowhere", prepare: { sb, v in
                        try FileManager.default.moveItem(atPath: v + "/.git", toPath: v + "/../moved.git")
                        try sb.write(v + "/.git", "gitdir: /nonexistent/repo.git\n")
                    }, command: ["status"], messages: ["cannot be read"], repositoryIsBroken: true),
        HostileCase(name: "packfile truncated", prepare: { sb, v in
                        try sb.gitOK(["gc", "-q", "--prune=now"], cwd: v)
                        let pack = try #require(try FileManager.default.contentsOfDirectory(atPath: v + "/.git/objects/pack").first { $0.hasSuffix(".pack") })
                        try #require(truncate(v + "/.git/objects/pack/" + pack, 200) == 0)
                        try sb.write(v + "/inbox/new.md", "# New\n")
                    }, command: ["snapshot"], messages: ["cairn: "], repositoryIsBroken: true),
        HostileCase(name: "pack index truncated", prepare: { sb, v in
                        try sb.gitOK(["gc", "-q", "--prune=now"], cwd: v)
                        let idx = try #require(try FileManager.default.contentsOfDirectory(atPath: v + "/.git/objects/pack").first { $0.hasSuffix(".idx") })
                        try #require(truncate(v + "/.git/objects/pack/" + idx, 100) == 0)
                        try sb.write(v + "/inbox/new.md", "# New\n")
                    }, command: ["snapshot"], messages: ["cairn: "], repositoryIsBroken: true),
        HostileCase(name: "packed-refs is garbage", prepare: { sb, v in
                        try sb.gitOK(["pack-refs", "--all"], cwd: v)
                        try sb.write(v + "/.git/packed-refs", "# pack-refs with: peeled\nzzzz refs/heads/main\n\0\0\0")
                    }, command: ["snapshot"], messages: ["cairn: "], repositoryIsBroken: true),
    ]

    static var count: Int { noteCases.count + configCases.count + nameCases.count + argumentCases.count + repositoryCases.count }

    /// The names next to the vault and in the sandbox root: nothing may appear outside the vault.
    static func listing(_ sb: Sandbox) -> [String] {
        let fm = FileManager.default
        return ((try? fm.contentsOfDirectory(atPath: sb.work)) ?? []).sorted() + ["|"] + ((try? fm.contentsOfDirectory(atPath: sb.root)) ?? []).sorted()
    }

    /// Runs one case: error status and messages, no crash, and nothing written.
    func check(_ c: HostileCase) throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        for (path, bytes) in c.files { try sb.write(v + "/" + path, Data(bytes)) }
        try c.prepare?(sb, v)
        let before = sb.state(of: v)
        let outside = Self.listing(sb)
        let r = sb.runCairn(c.command, cwd: v)
        #expect(!r.signaled, "\(c.name): cairn crashed: \(r)")
        #expect(r.status == c.status, "\(c.name): \(r)")
        for m in c.messages {
            let m = m.replacingOccurrences(of: "$V", with: v)
            #expect(r.stderr.contains(m), "\(c.name): expected '\(m)' in stderr: \(r)")
        }
        if c.status == 1 { #expect(r.stderr.hasPrefix("cairn: "), "\(c.name): \(r)") }
        sb.expectUnchanged(v, since: before)
        #expect(Self.listing(sb) == outside, "\(c.name): something was written outside the vault")
        if !c.repositoryIsBroken { sb.expectFsckClean(v) }
    }

    /// The note cases about front matter. In an operator's note they are committed as they are, with a warning
    /// naming the file and line (a parser's opinion never blocks a save); in a workflow definition, which cairn
    /// runs, they are refused like bad JSON.
    static let frontMatterCases = noteCases.filter {
        $0.prepare == nil && !["NUL byte in a note", "invalid UTF-8 in a note"].contains($0.name)
    }

    @Test(arguments: noteCases.filter { c in !frontMatterCases.contains { $0.name == c.name } })
    func badNotesAreRefused(_ c: HostileCase) throws { try check(c) }

    @Test(arguments: frontMatterCases.map { c in
        HostileCase(name: c.name + " (workflow)",
                    files: Dictionary(uniqueKeysWithValues: c.files.map { ($0.key.replacingOccurrences(of: "memory/projects/", with: "workflows/"), $0.value) }),
                    command: c.command, status: c.status,
                    messages: c.messages.map { $0.replacingOccurrences(of: "memory/projects/", with: "workflows/") })
    })
    func badFrontMatterInAWorkflowIsRefused(_ c: HostileCase) throws { try check(c) }

    @Test(arguments: frontMatterCases)
    func badFrontMatterInANoteIsCommittedAsItIsWithAWarning(_ c: HostileCase) throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        for (path, bytes) in c.files { try sb.write(v + "/" + path, Data(bytes)) }
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(!r.signaled && r.status == 0, "\(c.name): \(r)")
        for m in c.messages { #expect(r.stderr.contains(m), "\(c.name): expected '\(m)' in the warning: \(r)") }
        for (path, bytes) in c.files {
            #expect(sb.git(["show", "HEAD:" + path], cwd: v).stdoutData == Data(bytes), "\(c.name): \(path) not committed as it is")
        }
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v) == "")
        sb.expectFsckClean(v)
    }
    @Test(arguments: configCases) func badConfigFilesAreRefused(_ c: HostileCase) throws { try check(c) }
    @Test(arguments: nameCases) func badNamesAreRefused(_ c: HostileCase) throws { try check(c) }
    @Test(arguments: argumentCases) func badArgumentsAreRefused(_ c: HostileCase) throws { try check(c) }
    @Test(arguments: repositoryCases) func brokenRepositoriesAreReportedNotCrashedOn(_ c: HostileCase) throws { try check(c) }

    /// A truncated `.git/index` is not an error: cairn rebuilds it from main, says so, and commits exactly the edit.
    @Test(arguments: [0, 10, 100])
    func aTruncatedGitIndexIsRebuiltAndOnlyTheEditIsCommitted(bytes: Int) throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let head = try sb.gitOK(["rev-parse", "main"], cwd: v)
        try #require(truncate(v + "/.git/index", off_t(bytes)) == 0)
        try sb.write(v + "/inbox/new.md", "# New\n")
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains(".git/index") && r.stderr.contains("rebuilt it from main"), "the rebuild should be explained: \(r)")
        #expect(!r.stderr.contains("skipHash"), "no advice about index formats for a damaged index: \(r)")
        #expect(try sb.gitLines(["diff", "--name-status", head, "main"], cwd: v) == ["A\tinbox/new.md"], "only the edit is committed")
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty, "the index is whole again")
        sb.expectFsckClean(v)
    }

    /// Snapshot cannot see inside a folder named like `.git` (libgit2 skips it); doctor finds and names it.
    @Test func doctorNamesAFolderNamedLikeGit() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/x/.GIT/config", "[core]\n")
        try sb.write(v + "/inbox/.git./notes.md", "# Hidden\n")
        let before = sb.state(of: v)
        let r = sb.runCairn(["doctor"], cwd: v)
        #expect(r.stdout.contains("warning: memory/x/.GIT: a folder named like .git is never committed"), "\(r)")
        #expect(r.stdout.contains("warning: inbox/.git.: a folder named like .git"), "\(r)")
        sb.expectUnchanged(v, since: before)
    }

    /// The look-alike check must not refuse what is legitimate: renaming a file to another case.
    @Test func aCaseOnlyRenameIsCommittedAsARename() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/projects/Plan.md", "# Plan\n")
        try sb.snapshot(v)
        try FileManager.default.moveItem(atPath: v + "/memory/projects/Plan.md", toPath: v + "/memory/projects/plan.md")
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try sb.gitLines(["ls-tree", "--name-only", "main", "memory/projects/"], cwd: v).filter { $0.lowercased().hasSuffix("/plan.md") }
                == ["memory/projects/plan.md"])
    }

    @Test func theCorpusHasAtLeastFiftyInputs() {
        #expect(Self.count >= 50, "\(Self.count) table cases")
    }

    // MARK: - Agents and models (a failed run commits only its record, on refs/cairn/runs)

    @Test func anAgentFloodingStderrIsKilledAndNothingReachesTheVault() throws {
        let sb = try Sandbox()
        let v = try CommandAgentE2ETests().vaultWithShellAgent(sb, script: """
            echo '- ok' >> memory/projects/bluebird-coffee.md
            while :; do echo 'error error error error error error error error error error' >&2; done
            """, timeout: "60s")
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "edit")
        try CommandAgentE2ETests().expectNoProposal(sb, v, run, outcome: "failed", before: before)
        #expect(run.failure.contains("output limit exceeded"), "\(run)")
        let record = try sb.runRecord(v, rev: run.ref, id: run.id)
        let stderr = try #require((record["command"] as? [String: Any])?["stderr"] as? String)
        #expect(stderr.utf8.count < 70_000, "captured stderr is capped: \(stderr.utf8.count) bytes")
    }

    @Test func anAgentWritingANonUTF8NameFailsNamingIt() throws {
        let sb = try Sandbox()
        let v = try CommandAgentE2ETests().vaultWithPythonAgent(sb, script: """
            open(b"memory/projects/caf\\xe9.md", "wb").write(b"# Cafe\\n")
            """)
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "py")
        try CommandAgentE2ETests().expectNoProposal(sb, v, run, outcome: "failed", before: before)
        #expect(run.failure.contains("not valid UTF-8"), "\(run)")
        #expect(run.failure.contains("caf\\xE9") || run.failure.contains("caf\\xe9"), "\(run)")
    }

    @Test func anAgentWritingANameThatDiffersOnlyInCaseIsBlocked() throws {
        let sb = try Sandbox()
        let v = try CommandAgentE2ETests().vaultWithShellAgent(sb, script: "echo '# Shout' > memory/projects/BLUEBIRD-COFFEE.md\n")
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "edit")
        try CommandAgentE2ETests().expectNoProposal(sb, v, run, outcome: "blocked", before: before)
        #expect(run.failure.contains("differs only by case"), "\(run)")
        #expect(run.blocked.contains { $0["path"] as? String == "memory/projects/BLUEBIRD-COFFEE.md" }, "\(run)")
    }

    static let moreHostileModelPaths = ["memory/projects/x\u{0}.md", "memory\\projects\\x.md", "C:/x.md", "memory/projects/.git/hooks/pre-commit",
                                        "memory/projects/GIT~1/config", "memory/projects/x.md. ", "~/x.md", ".GIT/config", "memory/projects/.Git./x",
                                        "memory/projects/Bluebird-Coffee.md"]

    @Test(arguments: moreHostileModelPaths)
    func aModelReplyWithAHostilePathWritesNothing(_ path: String) throws {
        let sb = try Sandbox()
        let reply = FakeModelServer.editReply(summary: "helpful change", edits: [("memory/projects/fine.md", "# Fine\n"), (path, "pwned\n")])
        let server = try FakeModelServer(sb, scenario: [["body": FakeModelServer.completion(reply)]])
        let v = try ModelAgentE2ETests().vault(sb, server)
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "writer")
        #expect(run.result.status == 1, "\(run)")
        #expect(run.outcome == "blocked" || run.outcome == "failed", "\(run)")
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
        #expect(try sb.gitLines(["diff", "--name-only", "main", run.ref], cwd: v) == ["runs/2026/03/\(run.id).json"])
        try sb.expectOperatorViewUnchanged(v, since: before)
        sb.expectFsckClean(v)
    }

    @Test func aModelReplyWithGiganticContentFailsAndTheRecordStaysSmall() throws {
        let sb = try Sandbox()
        let big = String(repeating: "all work and no play makes a dull agent\n", count: 60_000)  // 2.4 MB
        let reply = FakeModelServer.editReply(summary: "grow the note", edits: [("memory/projects/bluebird-coffee.md", big)])
        let server = try FakeModelServer(sb, scenario: [["body": FakeModelServer.completion(reply)]])
        let v = try ModelAgentE2ETests().vault(sb, server)
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "writer")
        #expect(run.result.status == 1, "\(run)")
        #expect(run.outcome == "failed", "\(run)")
        #expect(run.failure.contains("over the limit"), "\(run)")
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
        let size = try sb.gitOK(["cat-file", "-s", "\(run.ref):runs/2026/03/\(run.id).json"], cwd: v)
        #expect((Int(size) ?? .max) < 1_200_000, "the record keeps a capped copy of the reply: \(size) bytes")
        try sb.expectOperatorViewUnchanged(v, since: before)
        sb.expectFsckClean(v)
    }

    @Test(arguments: ["<html><body>502 Bad Gateway</body></html>", "\u{0}\u{1}\u{2} binary garbage \u{FFFD}",
                      "{\"choices\": []}", "{\"choices\": [{\"message\": {\"content\": 42}}]}", "[1, 2, 3]",
                      String(repeating: "A", count: 20_000_000)])
    func aModelEndpointSendingGarbageFailsTheRunCleanly(_ body: String) throws {
        let sb = try Sandbox()
        let server = try FakeModelServer(sb, scenario: [["raw": body], ["raw": body], ["raw": body], ["raw": body]])
        let v = try ModelAgentE2ETests().vault(sb, server)
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "writer")
        #expect(run.result.status == 1, "\(run.result.stderr.prefix(500))")
        #expect(run.outcome == "failed", "\(run.outcome)")
        #expect(!run.failure.isEmpty)
        #expect(run.failure.contains("127.0.0.1") || run.failure.contains("reply"), "the failure should say what the server sent: \(run.failure.prefix(500))")
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
        let size = try sb.gitOK(["cat-file", "-s", "\(run.ref):runs/2026/03/\(run.id).json"], cwd: v)
        #expect((Int(size) ?? .max) < 1_200_000, "record size \(size)")
        try sb.expectOperatorViewUnchanged(v, since: before)
        sb.expectFsckClean(v)
    }

    // MARK: - Stale locks

    @Test(arguments: [".git/index.lock", ".git/HEAD.lock", ".git/refs/heads/main.lock", ".git/packed-refs.lock", ".git/cairn/vault.lock"])
    func aStaleLockFileIsRecovered(_ lock: String) throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/" + lock, "99999999\n")  // left by a process that is gone
        try sb.write(v + "/inbox/new.md", "# New\n")
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try sb.gitOK(["show", "main:inbox/new.md"], cwd: v) == "# New")
        if lock != ".git/cairn/vault.lock" { #expect(!sb.exists(v + "/" + lock), "\(lock) was not removed") }
        sb.expectFsckClean(v)
    }

    // MARK: - A full disk and a read-only vault

    /// Mounts a tmpfs of `megabytes` at `path`; false when this process may not mount (not root, no CAP_SYS_ADMIN).
    static func mountTmpfs(_ sb: Sandbox, at path: String, megabytes: Int) -> Bool {
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return sb.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path], cwd: sb.root, env: sb.environment()).status == 0
    }

    static func unmount(_ sb: Sandbox, _ path: String) {
        _ = sb.run("/bin/umount", ["-l", path], cwd: sb.root, env: sb.environment())
    }

    /// True when this process may mount (root with CAP_SYS_ADMIN): tried once on a scratch folder.
    static let canMount: Bool = {
        let dir = NSTemporaryDirectory() + "/cairn-mount-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/mount")
        p.arguments = ["-t", "tmpfs", "-o", "size=1m", "tmpfs", dir]
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { return false }
        _ = umount2(dir, 2 /* MNT_DETACH */)
        return true
    }()

    @Test(.enabled(if: canMount, "needs root with CAP_SYS_ADMIN to mount a small tmpfs; aFileSizeLimitFailsTheSnapshotCleanly covers the rest"))
    func aFullDiskFailsTheSnapshotCleanlyAndTheNextOneSucceeds() throws {
        let sb = try Sandbox()
        let mnt = sb.work + "/disk"
        try #require(Self.mountTmpfs(sb, at: mnt, megabytes: 8), "cannot mount a tmpfs here")
        defer { Self.unmount(sb, mnt) }
        let init_ = sb.runCairn(["init", "disk/vault"])
        try #require(init_.status == 0, "\(init_)")
        let v = mnt + "/vault"
        // Fill the disk, leaving less than the new notes need.
        let fill = sb.run("/bin/sh", ["-c", "head -c 100000000 /dev/zero > ../filler 2>/dev/null; true"], cwd: v, env: sb.environment())
        #expect(fill.status == 0)
        _ = sb.run("/usr/bin/env", ["truncate", "-s", "-300K", "../filler"], cwd: v, env: sb.environment())
        var random = SystemRandomNumberGenerator()
        for i in 0..<4 {
            let bytes = (0..<200_000).map { _ in UInt8.random(in: 0x41...0x5A, using: &random) }
            try? sb.write(v + "/inbox/big-\(i).md", Data(bytes))
        }
        let mainBefore = try sb.gitOK(["rev-parse", "main"], cwd: v)
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(!r.signaled, "\(r)")
        #expect(r.status != 0, "\(r)")
        #expect(r.stderr.hasPrefix("cairn: "), "\(r)")
        #expect(r.stderr.lowercased().contains("no space left"), "the error should say the disk is full: \(r)")
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: v) == mainBefore, "main moved on a failed write")
        sb.expectFsckClean(v)
        // Free the space: the next snapshot commits every note.
        try FileManager.default.removeItem(atPath: mnt + "/filler")
        let again = sb.runCairn(["snapshot"], cwd: v)
        #expect(again.status == 0, "\(again)")
        for i in 0..<4 where sb.exists(v + "/inbox/big-\(i).md") {
            #expect(sb.git(["cat-file", "-e", "main:inbox/big-\(i).md"], cwd: v).status == 0)
        }
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        sb.expectFsckClean(v)
    }

    @Test func aFileSizeLimitFailsTheSnapshotCleanly() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<400_000).map { _ in UInt8.random(in: 0x41...0x5A, using: &random) }
        try sb.write(v + "/inbox/big.md", Data(bytes))
        let mainBefore = try sb.gitOK(["rev-parse", "main"], cwd: v)
        // RLIMIT_FSIZE of 64 KiB for cairn (SIGXFSZ ignored, so writes fail with EFBIG instead of killing it).
        let cairn = Binaries.cairn ?? "cairn"
        let r = sb.run("/bin/sh", ["-c", "trap '' XFSZ; ulimit -f 128; exec \"$0\" snapshot", cairn], cwd: v, env: sb.environment())
        #expect(!r.signaled, "\(r)")
        #expect(r.status != 0, "\(r)")
        #expect(r.stderr.hasPrefix("cairn: "), "\(r)")
        #expect(r.stderr.lowercased().contains("too large") || r.stderr.lowercased().contains("file size"), "\(r)")
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: v) == mainBefore, "main moved on a failed write")
        sb.expectFsckClean(v)
        let again = sb.runCairn(["snapshot"], cwd: v)
        #expect(again.status == 0, "\(again)")
        #expect(sb.git(["cat-file", "-e", "main:inbox/big.md"], cwd: v).status == 0)
    }

    /// Root ignores file permissions, so as root the vault becomes a read-only bind mount (skipped when root may not mount).
    @Test(.enabled(if: getuid() != 0 || canMount, "as root a read-only vault needs a read-only bind mount (CAP_SYS_ADMIN)"))
    func aReadOnlyVaultIsRefusedAndNothingWritten() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/inbox/new.md", "# New\n")
        let before = sb.state(of: v)
        let root = getuid() == 0
        if root {
            // Root ignores permissions: make the vault a read-only bind mount instead.
            let bind = sb.run("/bin/mount", ["--bind", v, v], cwd: sb.root, env: sb.environment())
            try #require(bind.status == 0, "cannot bind-mount (needs CAP_SYS_ADMIN): \(bind)")
            let ro = sb.run("/bin/mount", ["-o", "remount,ro,bind", v], cwd: sb.root, env: sb.environment())
            if ro.status != 0 { Self.unmount(sb, v) }
            try #require(ro.status == 0, "cannot remount read-only: \(ro)")
        } else {
            _ = sb.run("/bin/chmod", ["-R", "a-w", v], cwd: sb.root, env: sb.environment())
        }
        defer {
            if root { Self.unmount(sb, v) } else { _ = sb.run("/bin/chmod", ["-R", "u+w", v], cwd: sb.root, env: sb.environment()) }
        }
        for command in [["snapshot"], ["agent", "run", "gc"], ["note", "new", "Read only"]] {
            let r = sb.runCairn(command, cwd: v)
            #expect(!r.signaled, "\(command): \(r)")
            #expect(r.status == 1, "\(command): \(r)")
            #expect(r.stderr.hasPrefix("cairn: "), "\(command): \(r)")
            #expect(r.stderr.contains("Read-only file system") || r.stderr.contains("Permission denied") || r.stderr.contains("read-only"),
                    "\(command) should say why: \(r)")
        }
        sb.expectUnchanged(v, since: before)
        // Read commands still work.
        #expect(sb.runCairn(["status"], cwd: v).status == 0)
        #expect(sb.runCairn(["log"], cwd: v).status == 0)
    }
}
