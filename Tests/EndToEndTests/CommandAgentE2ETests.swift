import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Command agents — real shell and Python scripts in the vault's agents/ folder — run through the built binary:
/// what they change becomes exactly one proposal, and whatever they do wrong leaves main, the working tree and
/// the proposal queue untouched.
@Suite struct CommandAgentE2ETests {
    static let bluebird = "memory/projects/bluebird-coffee.md"

    /// A vault with agent `name` running `sh agents/NAME.sh` (the script is `script`), committed.
    func vaultWithShellAgent(_ sb: Sandbox, _ name: String = "edit", script: String,
                             reads: String = "[\"memory/projects/**\"]", writes: String = "[\"memory/projects/**\"]",
                             timeout: String = "20s", extra: String = "") throws -> String {
        let v = try sb.makeVault()
        try sb.addAgent(v, name, frontMatter: """
            kind: command
            command: ["sh", "agents/\(name).sh"]
            reads: \(reads)
            writes: \(writes)
            timeout: \(timeout)
            \(extra)
            """, files: ["agents/\(name).sh": "set -e\n" + script])
        return v
    }

    /// A vault with agent `name` running `agents/NAME.py` directly (executable, `#!/usr/bin/env python3`), committed.
    func vaultWithPythonAgent(_ sb: Sandbox, _ name: String = "py", script: String,
                              reads: String = "[\"memory/projects/**\"]", writes: String = "[\"memory/projects/**\"]",
                              timeout: String = "20s") throws -> String {
        let v = try sb.makeVault()
        try sb.addAgent(v, name, frontMatter: """
            kind: command
            command: ["agents/\(name).py"]
            reads: \(reads)
            writes: \(writes)
            timeout: \(timeout)
            """, files: ["agents/\(name).py": "#!/usr/bin/env python3\nimport os, sys\n" + script],
            executable: ["agents/\(name).py"])
        return v
    }

    /// The run failed or was blocked: exit 1, no proposal, only a record commit on refs/cairn/runs/<id> whose
    /// parent is main and which adds nothing but the record; main and the working tree as before.
    func expectNoProposal(_ sb: Sandbox, _ v: String, _ run: AgentRun, outcome: String,
                          before: (files: [String: FileEntry], main: String, status: String),
                          sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(run.result.status == 1, "\(run)", sourceLocation: sourceLocation)
        #expect(run.outcome == outcome, "\(run)", sourceLocation: sourceLocation)
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty, sourceLocation: sourceLocation)
        #expect(run.ref == "refs/cairn/runs/\(run.id)", sourceLocation: sourceLocation)
        #expect(try sb.refs(v, under: "refs/cairn/runs") == ["refs/cairn/runs/\(run.id)"], sourceLocation: sourceLocation)
        #expect(try sb.gitOK(["rev-parse", "refs/cairn/runs/\(run.id)^"], cwd: v) == before.main, sourceLocation: sourceLocation)
        #expect(try sb.gitLines(["diff", "--name-only", "main", "refs/cairn/runs/\(run.id)"], cwd: v) == ["runs/2026/03/\(run.id).json"],
                "a failed or blocked run commits its record and nothing else", sourceLocation: sourceLocation)
        #expect(try sb.trailer(v, "refs/cairn/runs/\(run.id)", "Cairn-Outcome") == outcome, sourceLocation: sourceLocation)
        try sb.expectOperatorViewUnchanged(v, since: before, sourceLocation: sourceLocation)
        #expect(sb.runCairn(["proposals"], cwd: v).stdout.contains("No pending proposals."), sourceLocation: sourceLocation)
        sb.expectFsckClean(v, sourceLocation: sourceLocation)
    }

    // MARK: Well-behaved agents

    @Test func aShellAgentsEditBecomesAProposalWithExactlyThatDiff() throws {
        let sb = try Sandbox()
        let v = try vaultWithShellAgent(sb, script: """
            printf '%s\\n' '- 2026-03-01: Dana approved the dashboard draft.' >> \(Self.bluebird)
            echo "summary: note Dana's approval"
            """)
        let before = try sb.operatorView(v)
        let original = try #require(sb.readText(v + "/" + Self.bluebird))
        let run = try sb.runAgent(v, "edit")
        #expect(run.result.status == 0, "\(run)")
        #expect(run.outcome == "proposed", "\(run)")
        let p = "proposals/\(run.id)"
        #expect(try sb.gitOK(["rev-list", "--count", "main..\(p)"], cwd: v) == "1")
        #expect(try sb.gitOK(["rev-parse", "\(p)^"], cwd: v) == before.main)
        #expect(try sb.changedFiles(v, p) == ["M\t\(Self.bluebird)"])
        #expect(try sb.gitOK(["show", "\(p):\(Self.bluebird)"], cwd: v) + "\n" == original + "- 2026-03-01: Dana approved the dashboard draft.\n")
        let numstat = try sb.gitOK(["diff", "--numstat", "main", p, "--", Self.bluebird], cwd: v)
        #expect(numstat == "1\t0\t\(Self.bluebird)", "one added line, nothing removed: \(numstat)")
        #expect(try sb.gitOK(["log", "-1", "--format=%s", p], cwd: v) == "Propose: note Dana's approval")
        #expect(try sb.gitOK(["log", "-1", "--format=%an", p], cwd: v) == "edit (cairn agent)")

        // The record keeps the command, its exit status, its output and what it was shown.
        let record = try sb.runRecord(v, rev: p, id: run.id)
        let command = try #require(record["command"] as? [String: Any])
        #expect(command["argv"] as? [String] == ["sh", "agents/edit.sh"])
        #expect(command["exitStatus"] as? Int == 0)
        #expect((command["stdout"] as? String)?.contains("summary: note Dana's approval") == true)
        let shown = try #require(command["filesShown"] as? [String])
        #expect(shown.contains(Self.bluebird), "\(shown)")
        #expect(command["filesShownCount"] as? Int == shown.count)
        #expect(shown.allSatisfy { $0.hasPrefix("memory/projects/") }, "only the read scope is materialized: \(shown)")
        let edits = try #require(record["edits"] as? [[String: Any]])
        #expect(edits.count == 1)
        #expect(edits.first?["blob"] as? String == (try sb.gitOK(["rev-parse", "\(p):\(Self.bluebird)"], cwd: v)))

        try sb.expectOperatorViewUnchanged(v, since: before)
        sb.expectFsckClean(v)
    }

    @Test func aPythonAgentSeesItsInputsAndOnlyItsReadScope() throws {
        let sb = try Sandbox()
        let v = try vaultWithPythonAgent(sb, script: """
            lead = os.environ["CAIRN_INPUT_LEAD"]
            seen = []
            for root, dirs, files in os.walk("."):
                for f in files:
                    seen.append(os.path.relpath(os.path.join(root, f), "."))
            os.makedirs("memory/projects/leads", exist_ok=True)
            with open("memory/projects/leads/" + lead + ".md", "w") as out:
                out.write("# Lead " + lead + "\\n\\n")
                out.write("run " + os.environ["CAIRN_RUN_ID"] + " agent " + os.environ["CAIRN_AGENT"] + "\\n")
                out.write("base " + os.environ["CAIRN_BASE"] + "\\n")
                out.write("seen " + " ".join(sorted(seen)) + "\\n")
                out.write("context " + str(os.path.exists(os.environ["CAIRN_CONTEXT"])) + "\\n")
            print("summary: open a lead note for " + lead)
            """)
        let run = try sb.runAgent(v, "py", inputs: ["lead=acme"])
        #expect(run.result.status == 0, "\(run)")
        #expect(run.outcome == "proposed", "\(run)")
        let p = "proposals/\(run.id)"
        let main = try sb.gitOK(["rev-parse", "main"], cwd: v)
        #expect(try sb.changedFiles(v, p) == ["A\tmemory/projects/leads/acme.md"])
        let note = try sb.gitOK(["show", "\(p):memory/projects/leads/acme.md"], cwd: v)
        #expect(note.hasPrefix("# Lead acme\n"), "\(note)")
        #expect(note.contains("run \(run.id) agent py\n"), "\(note)")
        #expect(note.contains("base \(main)\n"), "\(note)")
        #expect(note.contains("seen memory/projects/bluebird-coffee.md\n"), "only the read scope: \(note)")
        #expect(note.contains("context True"), "\(note)")
        let record = try sb.runRecord(v, rev: p, id: run.id)
        #expect(record["input"] as? [String: String] == ["lead": "acme"])
        #expect(sb.runCairn(["review", run.id], cwd: v).stdout.contains("Input:  lead=acme"))
    }

    @Test func anAgentThatChangesNothingProposesNothing() throws {
        let sb = try Sandbox()
        let v = try vaultWithShellAgent(sb, script: "cat \(Self.bluebird) > /dev/null\necho 'summary: nothing to do'\n")
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "edit")
        #expect(run.result.status == 0, "\(run)")
        #expect(run.outcome == "no-changes", "\(run)")
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
        #expect(try sb.refs(v, under: "refs/cairn/runs") == ["refs/cairn/runs/\(run.id)"])
        try sb.expectOperatorViewUnchanged(v, since: before)
    }

    // MARK: Misbehaving agents

    @Test func anAgentThatExitsWithStatus3Fails() throws {
        let sb = try Sandbox()
        let v = try vaultWithShellAgent(sb, script: """
            echo 'half-done' >> \(Self.bluebird)
            echo 'cannot reach the CRM' >&2
            exit 3
            """)
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "edit")
        try expectNoProposal(sb, v, run, outcome: "failed", before: before)
        #expect(run.failure == "exited with status 3", "\(run)")
        let record = try sb.runRecord(v, rev: run.ref, id: run.id)
        #expect(record["outcome"] as? String == "failed")
        #expect(record["failure"] as? String == "exited with status 3")
        let command = try #require(record["command"] as? [String: Any])
        #expect(command["exitStatus"] as? Int == 3)
        #expect((command["stderr"] as? String)?.contains("cannot reach the CRM") == true)
        #expect((record["edits"] as? [Any])?.isEmpty == true, "the half-done edit is not recorded")
    }

    @Test func aFailedOrBlockedRunIsExplainedOnStandardError() throws {
        let sb = try Sandbox()
        let v = try vaultWithShellAgent(sb, script: """
            if [ -n "$CAIRN_INPUT_FAIL" ]; then exit 3; fi
            mkdir -p inbox && echo '# x' > inbox/x.md
            """, reads: "[\"memory/projects/**\", \"inbox/**\"]")
        let failed = sb.runCairn(["agent", "run", "edit", "--input", "fail=1"], cwd: v)
        #expect(failed.status == 1, "\(failed)")
        #expect(failed.stderr.contains("failed: exited with status 3"), "\(failed)")
        #expect(failed.stderr.contains("refs/cairn/runs/"), "the record's ref is named: \(failed)")
        let blocked = sb.runCairn(["agent", "run", "edit"], cwd: v)
        #expect(blocked.status == 1, "\(blocked)")
        #expect(blocked.stderr.contains("blocked"), "\(blocked)")
        #expect(blocked.stderr.contains("inbox/x.md"), "\(blocked)")
        #expect(blocked.stderr.contains("[writes]"), "the rule is named: \(blocked)")
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
    }

    @Test func anAgentThatHangsPastItsTimeoutIsStoppedQuickly() throws {
        let sb = try Sandbox()
        let marker = sb.root + "/late-child-wrote-this"
        // The agent leaves a child behind that would write after 3 s: the whole process group must die.
        let v = try vaultWithShellAgent(sb, script: """
            (sleep 3; echo late > '\(marker)') &
            echo 'x' >> \(Self.bluebird)
            sleep 60
            """, timeout: "1s")
        let before = try sb.operatorView(v)
        let clock = Stopwatch()
        let run = try sb.runAgent(v, "edit")
        let took = clock.seconds
        try expectNoProposal(sb, v, run, outcome: "failed", before: before)
        #expect(run.failure.contains("timed out"), "\(run)")
        #expect(run.failure == "timed out after 1s", "\(run)")
        #expect(took < 10, "took \(took) s for a 1 s timeout")
        Thread.sleep(forTimeInterval: 3.5)
        #expect(!sb.exists(marker), "a child of the timed-out agent survived and kept running")
    }

    @Test func anAgentFloodingItsOutputIsKilled() throws {
        let sb = try Sandbox()
        let v = try vaultWithShellAgent(sb, script: """
            echo '- ok' >> \(Self.bluebird)
            while :; do echo 'flooding flooding flooding flooding flooding flooding flooding'; done
            """, timeout: "60s")
        let before = try sb.operatorView(v)
        let clock = Stopwatch()
        let run = try sb.runAgent(v, "edit")
        #expect(clock.seconds < 30, "took \(clock.seconds) s")
        try expectNoProposal(sb, v, run, outcome: "failed", before: before)
        #expect(run.failure.contains("output limit exceeded"), "\(run)")
        let record = try sb.runRecord(v, rev: run.ref, id: run.id)
        let stdout = try #require((record["command"] as? [String: Any])?["stdout"] as? String)
        #expect(stdout.utf8.count < 70_000, "captured output is capped: \(stdout.utf8.count) bytes")
        #expect(stdout.contains("bytes truncated"), "the cut is noted")
    }

    @Test func inputKeysBecomeEnvironmentNames() throws {
        let sb = try Sandbox()
        let v = try vaultWithShellAgent(sb, script: """
            printf '%s|%s|%s\\n' "$CAIRN_INPUT_LEAD_NAME" "$CAIRN_INPUT_DUE_DATE" "$CAIRN_INPUT_EMPTY" > memory/projects/inputs.md
            """)
        let run = try sb.runAgent(v, "edit", inputs: ["lead name=Acme GmbH", "due-date=2026-04-01", "empty="])
        #expect(run.outcome == "proposed", "\(run)")
        #expect(try sb.gitOK(["show", "proposals/\(run.id):memory/projects/inputs.md"], cwd: v) == "Acme GmbH|2026-04-01|")
        let record = try sb.runRecord(v, rev: "proposals/\(run.id)", id: run.id)
        #expect(record["input"] as? [String: String] == ["lead name": "Acme GmbH", "due-date": "2026-04-01", "empty": ""])
        // The input digest trailer is the blob id of the sorted key=value lines, as git computes it.
        let lines = sb.root + "/input-lines"
        try "due-date=2026-04-01\nempty=\nlead name=Acme GmbH\n".write(toFile: lines, atomically: true, encoding: .utf8)
        #expect(try sb.trailer(v, "proposals/\(run.id)", "Cairn-Input") == (try sb.gitOK(["hash-object", lines], cwd: v)))
        // Same input again: the pending proposal is returned, not a duplicate; another input makes a new run.
        let again = try sb.runAgent(v, "edit", inputs: ["empty=", "due-date=2026-04-01", "lead name=Acme GmbH"])
        #expect(again.id == run.id, "\(again)")
        let other = try sb.runAgent(v, "edit", inputs: ["lead name=Acme GmbH", "due-date=2026-04-02", "empty="])
        #expect(other.id != run.id, "\(other)")
        let bad = sb.runCairn(["agent", "run", "edit", "--input", "novalue"], cwd: v)
        #expect(bad.status != 0, "\(bad)")
        #expect(bad.stderr.contains("key=value"), "\(bad)")
    }

    @Test func anAgentWritingOutsideItsWriteGlobsIsBlocked() throws {
        let sb = try Sandbox()
        let v = try vaultWithShellAgent(sb, script: """
            mkdir -p inbox
            echo '# sneaky' > inbox/sneaky.md
            echo '- ok' >> \(Self.bluebird)
            """, reads: "[\"memory/projects/**\", \"inbox/**\"]")
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "edit")
        try expectNoProposal(sb, v, run, outcome: "blocked", before: before)
        let findings = run.blocked
        #expect(findings.count == 1, "\(findings)")
        #expect(findings.first?["rule"] as? String == "writes")
        #expect(findings.first?["path"] as? String == "inbox/sneaky.md")
        let record = try sb.runRecord(v, rev: run.ref, id: run.id)
        let policy = try #require(record["policy"] as? [String: Any])
        let blocked = try #require(policy["blocked"] as? [[String: Any]])
        #expect(blocked.contains { $0["path"] as? String == "inbox/sneaky.md" && $0["rule"] as? String == "writes" }, "\(blocked)")
        #expect((record["edits"] as? [Any])?.isEmpty == true, "nothing of a blocked run is committed")
    }

    /// A credential the agent writes, and the scanner rule that must name it.
    struct Secret: Sendable, CustomStringConvertible {
        let label: String
        let text: String
        let needle: String
        let rule: String
        var description: String { label }
    }

    static let secrets: [Secret] = [
        Secret(label: "AWS access key id", text: "aws_access_key_id = AKIA" + "QZ7XK2M4RT9WB3NP\n",
               needle: "AKIA" + "QZ7XK2M4RT9WB3NP", rule: "aws-access-key-id"),
        Secret(label: "PEM private key", text: "-----BEGIN RSA " + "PRIVATE KEY-----\n"
               + "MIIEowIBAAKCAQEAu2Vq7c9pZ3kXb1XyQm0WlT4sN8fJvHk2eRg6aPq3tLdY0uVx\n"
               + "c5n1bQ8hZ2wK4jF7mT9pR3sV6yX0aD2gE5iL8oN1qS4uW7zB0cF3hJ6kM9nP2rU\n"
               + "-----END RSA " + "PRIVATE KEY-----\n",
               needle: "MIIEowIBAAKCAQEAu2Vq7c9pZ3kXb1XyQm0WlT4sN8fJvHk2eRg6aPq3tLdY0uVx", rule: "private-key"),
    ]

    @Test(arguments: secrets)
    func anAgentWritingASecretIsBlockedAndTheRecordNamesFileAndRule(_ secret: Secret) throws {
        let sb = try Sandbox()
        // The script carries the credential base64-encoded, so the committed script itself does not contain it.
        let encoded = Data(("# Access\n" + secret.text).utf8).base64EncodedString()
        let v = try vaultWithPythonAgent(sb, script: """
            import base64
            open("memory/projects/credentials.md", "wb").write(base64.b64decode("\(encoded)"))
            """)
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "py")
        try expectNoProposal(sb, v, run, outcome: "blocked", before: before)
        let record = try sb.runRecord(v, rev: run.ref, id: run.id)
        let policy = try #require(record["policy"] as? [String: Any])
        let blocked = try #require(policy["blocked"] as? [[String: Any]])
        #expect(blocked.contains { $0["rule"] as? String == "secret" && $0["path"] as? String == "memory/projects/credentials.md" }, "\(blocked)")
        let secrets = try #require(policy["secrets"] as? [[String: Any]])
        #expect(secrets.contains { ($0["rule"] as? String) == secret.rule }, "\(secrets)")
        #expect(run.blocked.contains { ($0["message"] as? String)?.contains(secret.rule) == true }, "\(run)")
        // The credential itself is nowhere in the repository: not in the record, not in any ref's tree.
        let refs = try sb.gitLines(["for-each-ref", "--format=%(refname)"], cwd: v)
        let grep = sb.git(["grep", "-F", "-e", secret.needle] + refs, cwd: v)
        #expect(grep.status == 1 && grep.stdout.isEmpty, "the secret reached the repository: \(grep)")
        let hashed = sb.git(["hash-object", "--stdin"], cwd: v, stdin: Data(("# Access\n" + secret.text).utf8))
        let blob = hashed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(hashed.status == 0 && blob.count == 40, "\(hashed)")
        #expect(sb.git(["cat-file", "-e", blob], cwd: v).status != 0, "the blocked file was written as a blob")
    }

    @Test func anAgentCreatingASymlinkFails() throws {
        let sb = try Sandbox()
        let v = try vaultWithShellAgent(sb, script: """
            ln -s /etc/passwd memory/projects/passwd.md
            echo '- ok' >> \(Self.bluebird)
            """)
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "edit")
        try expectNoProposal(sb, v, run, outcome: "failed", before: before)
        #expect(run.failure.contains("symlink"), "\(run)")
        #expect(run.failure.contains("memory/projects/passwd.md"), "\(run)")
        #expect(!sb.exists(v + "/memory/projects/passwd.md"))
    }

    @Test(arguments: ["policy.json", "agents/x.md", "approvals/2026/03/forged.json", "runs/2026/03/forged.json", ".gitignore",
                      "memory/.git/config", ".cairn/config.json", "workflows/evil.md"])
    func anAgentWritingAProtectedPathIsBlocked(_ path: String) throws {
        let sb = try Sandbox()
        // Writes everywhere, so only the protected-path rule stands between the agent and these files.
        let v = try vaultWithShellAgent(sb, script: """
            mkdir -p "$(dirname '\(path)')"
            echo '{"pwned": true}' > '\(path)'
            """, reads: "[\"memory/projects/**\"]", writes: "[\"**\"]")
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "edit")
        try expectNoProposal(sb, v, run, outcome: "blocked", before: before)
        // `.git` inside a path is refused by the path rule before protection is even consulted.
        let rules: Set<String> = path.contains(".git/") ? ["protected", "path"] : ["protected"]
        #expect(run.blocked.contains { rules.contains($0["rule"] as? String ?? "") && $0["path"] as? String == path }, "\(run)")
    }

    @Test func anAgentOverwritingTheShownPolicyIsBlocked() throws {
        let sb = try Sandbox()
        // The agent may read policy.json (so it is materialized) and tries to loosen it.
        let v = try vaultWithPythonAgent(sb, script: """
            import json
            p = json.load(open("policy.json"))
            p["protected_paths"] = []
            json.dump(p, open("policy.json", "w"))
            """, reads: "[\"policy.json\"]", writes: "[\"**\"]")
        let before = try sb.operatorView(v)
        let policy = sb.read(v + "/policy.json")
        let run = try sb.runAgent(v, "py")
        try expectNoProposal(sb, v, run, outcome: "blocked", before: before)
        #expect(run.blocked.contains { $0["rule"] as? String == "protected" && $0["path"] as? String == "policy.json" }, "\(run)")
        #expect(sb.read(v + "/policy.json") == policy)
    }

    /// A record lists the files shown by name only up to a limit; past it, only their number (they are the base's
    /// files the agent's `reads` match): an agent shown thousands of notes must not commit their paths every run.
    @Test func aRunRecordCountsButDoesNotListAThousandAndOneShownFiles() throws {
        let sb = try Sandbox()
        let v = try vaultWithPythonAgent(sb, script: "print('summary: looked')\n")
        // Notes of ~2 KB, so the context (bounded by its token budget, not by the scope) holds only a few of them.
        let text = String(repeating: "A line of an ordinary project note.\n", count: 60)
        for i in 0...1000 { try sb.write(v + "/memory/projects/bulk/n\(i).md", "# Note \(i)\n\n" + text) }
        try sb.snapshot(v, "bulk notes")
        let run = try sb.runAgent(v, "py")
        #expect(run.outcome == "no-changes", "\(run)")
        let record = try sb.runRecord(v, rev: run.ref, id: run.id)
        let command = try #require(record["command"] as? [String: Any])
        let inScope = try sb.gitLines(["ls-tree", "-r", "--name-only", "main", "memory/projects/"], cwd: v)
        #expect(inScope.count > 1001)
        #expect(command["filesShownCount"] as? Int == inScope.count, "\(command["filesShownCount"] ?? "none")")
        #expect((command["filesShown"] as? [String])?.isEmpty == true)
        let size = try Int(sb.gitOK(["cat-file", "-s", "\(run.ref):\(run.recordPath)"], cwd: v)) ?? 0
        #expect(size > 0 && size < 16384, "the record grew with the scope: \(size) bytes")
    }

    @Test func aRelativeEscapeNeverReachesTheVaultOrAProposal() throws {
        let sb = try Sandbox()
        let tmp = sb.root + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        // cwd is $TMPDIR/cairn-run-<id>/files, so ../../ is $TMPDIR itself; the run must never carry it into git.
        let v = try vaultWithPythonAgent(sb, script: """
            for target in ["../escaped.md", "../../escaped.md", "../../../escaped.md"]:
                try:
                    open(target, "w").write("escaped\\n")
                except OSError:
                    pass
            """)
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "py", env: ["TMPDIR": tmp])
        #expect(run.outcome != "proposed", "\(run)")
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
        try sb.expectOperatorViewUnchanged(v, since: before)
        let refs = try sb.gitLines(["for-each-ref", "--format=%(refname)"], cwd: v)
        #expect(sb.git(["grep", "-F", "-e", "escaped", "--"] + refs + [], cwd: v).stdout.isEmpty)
        #expect(!sb.exists(v + "/escaped.md") && !sb.exists(sb.work + "/escaped.md"))
        // The run's work folder is cleaned up.
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: tmp))?.filter { $0.hasPrefix("cairn-run-") } ?? []
        #expect(leftovers.isEmpty, "work folders left behind: \(leftovers)")
        sb.expectFsckClean(v)
    }

    /// A run killed mid-way cannot remove its work folder (copies of vault notes); the next run removes those
    /// older than any run can last, and nothing else.
    @Test func abandonedWorkFoldersAreRemovedByTheNextRun() throws {
        let sb = try Sandbox()
        let tmp = sb.root + "/tmp"
        let fm = FileManager.default
        func folder(_ name: String, ageHours: Double) throws {
            let path = tmp + "/" + name
            try fm.createDirectory(atPath: path + "/files/inbox", withIntermediateDirectories: true)
            try Data("copy of a note\n".utf8).write(to: URL(fileURLWithPath: path + "/files/inbox/n.md"))
            chmod(path + "/files/inbox", 0o500) // as an agent may leave it
            var times = [timespec(tv_sec: time(nil) - Int(ageHours * 3600), tv_nsec: 0), timespec(tv_sec: time(nil) - Int(ageHours * 3600), tv_nsec: 0)]
            #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        }
        try folder("cairn-run-20260101-000000-old-1a2b", ageHours: 72)
        try folder("cairn-run-20260101-000000-recent-3c4d", ageHours: 3)
        try folder("someone-elses-old", ageHours: 72)
        let v = try vaultWithPythonAgent(sb, script: "pass\n")
        let run = try sb.runAgent(v, "py", env: ["TMPDIR": tmp])
        #expect(!run.outcome.isEmpty, "\(run)")
        let left = Set((try? fm.contentsOfDirectory(atPath: tmp)) ?? []).filter { !$0.hasPrefix("cairn-work-") }  // the agent's own
        #expect(left == ["cairn-run-20260101-000000-recent-3c4d", "someone-elses-old"], "\(left)")
        for name in left { chmod(tmp + "/" + name + "/files/inbox", 0o700) }
    }

    /// Command agents run under bubblewrap (installed by `make test`): only their work folder is writable.
    /// Whether bubblewrap can create a sandbox on this machine (it needs user namespaces or root).
    static let bubblewrapWorks: Bool = {
        guard let bwrap = ["/usr/bin/bwrap", "/bin/bwrap"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return false }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: bwrap)
        p.arguments = ["--ro-bind", "/", "/", "--dev", "/dev", "--", "/bin/true"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return false }
        p.waitUntilExit()
        return p.terminationStatus == 0
    }()

    /// Where bubblewrap cannot work (a container without user namespaces), `sandbox: auto` runs the agent as the
    /// operator's user and the record says so; the sandbox tests below then check that documented fallback.
    func expectUnsandboxedFallback(_ sb: Sandbox, _ v: String, _ run: AgentRun, rev: String) throws {
        let record = try sb.runRecord(v, rev: rev, id: run.id)
        #expect((record["command"] as? [String: Any])?["sandbox"] as? String == "none: bubblewrap unavailable", "\(record)")
    }

    @Test func aRelativeEscapeFailsTheRun() throws {
        let sb = try Sandbox()
        let tmp = sb.root + "/tmp"
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let v = try vaultWithPythonAgent(sb, script: "open('../../escaped.md', 'w').write('escaped\\n')\n")
        let run = try sb.runAgent(v, "py", env: ["TMPDIR": tmp])
        guard Self.bubblewrapWorks else { return try expectUnsandboxedFallback(sb, v, run, rev: "refs/cairn/runs/\(run.id)") }
        #expect(run.outcome == "failed" || run.outcome == "blocked", "\(run)")
        #expect(run.result.status == 1, "\(run)")
        #expect(!sb.exists(tmp + "/escaped.md"), "the agent wrote outside the vault and its work folder")
        let record = try sb.runRecord(v, rev: "refs/cairn/runs/\(run.id)", id: run.id)
        #expect((record["command"] as? [String: Any])?["sandbox"] as? String == "bubblewrap: work folder only, no network", "\(record)")
        #expect(((record["command"] as? [String: Any])?["stderr"] as? String ?? "").contains("Read-only file system"), "\(record)")
    }

    @Test func aSandboxedAgentStillWritesItsFilesAndTemp() throws {
        let sb = try Sandbox()
        let v = try vaultWithShellAgent(sb, script: """
            echo scratch > "$TMPDIR/scratch.txt"
            cat "$TMPDIR/scratch.txt" >> memory/projects/sandboxed.md
            """)
        let run = try sb.runAgent(v, "edit")
        #expect(run.outcome == "proposed", "\(run)")
        #expect(try sb.gitOK(["show", "proposals/\(run.id):memory/projects/sandboxed.md"], cwd: v) == "scratch")
        guard Self.bubblewrapWorks else { return try expectUnsandboxedFallback(sb, v, run, rev: "proposals/\(run.id)") }
        let record = try sb.runRecord(v, rev: "proposals/\(run.id)", id: run.id)
        #expect((record["command"] as? [String: Any])?["sandbox"] as? String == "bubblewrap: work folder only, no network", "\(record)")
        // The successful probe is remembered for this bwrap binary and boot; a stale stamp is probed again.
        let cache = v + "/.git/cairn/sandbox-probe"
        let stamp = try String(contentsOfFile: cache, encoding: .utf8)
        #expect(stamp.contains("/bwrap "), "\(stamp)")
        try "/usr/bin/bwrap 0 0 another-boot\n".write(toFile: cache, atomically: true, encoding: .utf8)
        let again = try sb.runAgent(v, "edit", inputs: ["n=2"])
        #expect(again.outcome == "proposed", "\(again)")
        #expect(try String(contentsOfFile: cache, encoding: .utf8) == stamp)
    }

    @Test func aRequiredSandboxWithoutBubblewrapFailsTheRunAndSaysWhy() throws {
        let sb = try Sandbox()
        let bin = sb.root + "/bin-without-bwrap"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: bin + "/sh", withDestinationPath: "/bin/sh")
        let required = try vaultWithShellAgent(sb, script: "echo hi >> memory/projects/x.md", extra: "sandbox: required")
        let run = try sb.runAgent(required, "edit", env: ["PATH": bin])
        #expect(run.outcome == "failed", "\(run)")
        #expect(run.result.status == 1, "\(run)")
        #expect(run.result.stdout.contains("bubblewrap") || run.result.stderr.contains("bubblewrap"), "\(run)")
        #expect(try sb.refs(required, under: "refs/heads/proposals").isEmpty)
        // The default (`auto`) runs the agent unsandboxed and records that it did.
        let sb2 = try Sandbox()
        try FileManager.default.createDirectory(atPath: sb2.root + "/bin", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: sb2.root + "/bin/sh", withDestinationPath: "/bin/sh")
        let auto = try vaultWithShellAgent(sb2, script: "echo hi >> memory/projects/x.md")
        let autoRun = try sb2.runAgent(auto, "edit", env: ["PATH": sb2.root + "/bin"])
        #expect(autoRun.outcome == "proposed", "\(autoRun)")
        let record = try sb2.runRecord(auto, rev: "proposals/\(autoRun.id)", id: autoRun.id)
        #expect((record["command"] as? [String: Any])?["sandbox"] as? String == "none: bubblewrap unavailable", "\(record)")
    }

    @Test func anUnknownSandboxModeIsAnInvalidDefinition() throws {
        let sb = try Sandbox()
        let v = try vaultWithShellAgent(sb, script: "true")
        // Edited after the commit: snapshot itself refuses an agent definition that cannot run.
        let definition = try String(contentsOfFile: v + "/agents/edit.md", encoding: .utf8)
        try sb.write(v + "/agents/edit.md", definition.replacingOccurrences(of: "timeout: 20s", with: "timeout: 20s\nsandbox: maybe"))
        let r = sb.runCairn(["agent", "list"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.contains("agents/edit.md") && r.stdout.contains("unknown sandbox 'maybe'"), "\(r)")
    }

    @Test
    func anAgentWritingTheVaultWorkingTreeDirectlyIsCaught() throws {
        let sb = try Sandbox()
        let v = try vaultWithPythonAgent(sb, script: """
            open(VAULT + "/memory/projects/planted.md", "w").write("planted by an agent\\n")
            """.replacingOccurrences(of: "VAULT", with: "\"" + sb.work + "/vault\""))
        let before = try sb.operatorView(v)
        let run = try sb.runAgent(v, "py")
        #expect(run.outcome == "failed" || run.outcome == "blocked", "\(run)")
        try sb.expectOperatorViewUnchanged(v, since: before)
        // Invariant 3: whatever happened, the next snapshot must not attribute the agent's file to the operator.
        _ = sb.runCairn(["snapshot"], cwd: v)
        #expect(sb.git(["cat-file", "-e", "main:memory/projects/planted.md"], cwd: v).status != 0,
                "the agent's file was committed to main as an operator snapshot")
    }

    @Test func commandAgentsDoNotReceiveTheModelAPIKeyOrOtherEnvironment() throws {
        let sb = try Sandbox()
        let v = try vaultWithPythonAgent(sb, script: """
            with open("memory/projects/env.md", "w") as out:
                for k in sorted(os.environ):
                    out.write(k + "=" + os.environ[k] + "\\n")
            """)
        let key = "sk-test-DO-NOT-LEAK-7f3a9c"
        let run = try sb.runAgent(v, "py", env: ["CAIRN_MODEL_API_KEY": key, "AWS_PROFILE": "prod", "SECRET_TOKEN": "hunter2"])
        #expect(run.outcome == "proposed", "\(run)")
        let env = try sb.gitOK(["show", "proposals/\(run.id):memory/projects/env.md"], cwd: v)
        #expect(!env.contains(key), "the API key reached a command agent: \(env)")
        #expect(!env.contains("SECRET_TOKEN") && !env.contains("AWS_PROFILE"), "unlisted variables reached the agent: \(env)")
        #expect(env.contains("CAIRN_RUN_ID=\(run.id)"), "\(env)")
        #expect(env.contains("PATH="), "\(env)")
    }
}
