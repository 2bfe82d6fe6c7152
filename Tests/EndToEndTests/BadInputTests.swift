import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Bad input gets a clear error naming the file and the problem, and writes nothing (DESIGN.md invariant 6).
@Suite struct BadInputTests {
    // MARK: Not a vault

    @Test func folderThatIsNotAVaultNamesItAndSuggestsInit() throws {
        let sb = try Sandbox()
        let plain = sb.work + "/plain"
        try sb.write(plain + "/note.md", "# Note\n")
        let before = sb.state(of: plain)
        for command in [["status"], ["snapshot"], ["log"], ["diff"], ["doctor"]] {
            let r = sb.runCairn(command, cwd: plain)
            #expect(r.status == 1, "\(command): \(r)")
            #expect(r.stderr.contains("not a Cairn vault: \(plain)"), "\(command): \(r)")
            #expect(r.stderr.contains("cairn init"), "\(command): \(r)")
            #expect(r.stdout.isEmpty, "\(command): errors belong on stderr: \(r)")
        }
        sb.expectUnchanged(plain, since: before)
    }

    @Test func gitRepositoryWithoutScaffoldingSuggestsInit() throws {
        let sb = try Sandbox()
        let repo = try sb.makeGitRepo("repo")
        try sb.write(repo + "/note.md", "# Note\n")
        try sb.commitAll(repo, "Notes")
        let before = sb.state(of: repo)
        let r = sb.runCairn(["snapshot"], cwd: repo)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("not a Cairn vault"), "\(r)")
        #expect(r.stderr.contains("cairn init \(repo)"), "\(r)")
        sb.expectUnchanged(repo, since: before)
    }

    // MARK: A broken repository

    @Test func garbageHEADIsAClearErrorNotACrash() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/working/edit.md", "# An edit\n")
        try sb.write(v + "/.git/HEAD", "this is not a ref\n")
        let before = sb.state(of: v)
        // Commands that need HEAD refuse; (log and diff read the intact branch ref, so they may still work.)
        for command in [["status"], ["snapshot"]] {
            let r = sb.runCairn(command, cwd: v)
            #expect(!r.signaled, "\(command) crashed: \(r)")
            #expect(r.status != 0, "\(command): \(r)")
            #expect(r.stderr.hasPrefix("cairn: "), "\(command) gave no clear error: \(r)")
            #expect(r.stderr.contains("HEAD"), "\(command) should name what is broken: \(r)")
        }
        let doctor = sb.runCairn(["doctor"], cwd: v)
        #expect(doctor.status == 1, "\(doctor)")
        #expect(doctor.stdout.contains("error: .git: repository cannot be read"), "\(doctor)")
        sb.expectUnchanged(v, since: before)
    }

    @Test func missingHeadCommitObjectIsAClearErrorNotACrash() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let head = try sb.gitOK(["rev-parse", "HEAD"], cwd: v)
        let object = v + "/.git/objects/\(head.prefix(2))/\(head.dropFirst(2))"
        try #require(sb.exists(object), "expected a loose commit object")
        try FileManager.default.removeItem(atPath: object)
        try sb.write(v + "/memory/working/edit.md", "# An edit\n")
        let before = sb.state(of: v)
        for command in [["snapshot"], ["log"], ["show", "HEAD"], ["doctor"]] {
            let r = sb.runCairn(command, cwd: v)
            #expect(!r.signaled, "\(command) crashed: \(r)")
            #expect(r.status != 0, "\(command): \(r)")
            #expect(!r.output.isEmpty, "\(command) said nothing: \(r)")
        }
        let doctor = sb.runCairn(["doctor"], cwd: v)
        #expect(doctor.status == 1, "\(doctor)")
        #expect(doctor.stdout.contains("error: .git"), "doctor should report the repository: \(doctor)")
        sb.expectUnchanged(v, since: before)
    }

    @Test func snapshotOnAnotherBranchIsRefusedAndWritesNothing() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.gitOK(["switch", "-q", "-c", "side"], cwd: v)
        try sb.write(v + "/memory/working/edit.md", "# An edit\n")
        let before = sb.state(of: v)
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("not the vault's branch main"), "\(r)")
        #expect(r.stderr.contains("git switch main"), "\(r)")
        sb.expectUnchanged(v, since: before)
    }

    @Test func snapshotWhileGitHoldsTheIndexLockIsRefused() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/working/edit.md", "# An edit\n")
        // A live process keeps .git/index.lock open, as a running git would.
        let holder = sb.start("/bin/sh", ["-c", "exec 3>>.git/index.lock; echo ready; exec sleep 60"], cwd: v, stdin: nil, env: sb.environment())
        defer { if let p = holder.process { kill(p.processIdentifier, SIGKILL); _ = holder.finish() } }
        let deadline = Date().addingTimeInterval(10)
        while (sb.read(holder.outPath) ?? Data()).isEmpty && Date() < deadline { usleep(20_000) }
        let before = sb.state(of: v)
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("index.lock"), "\(r)")
        #expect(r.stderr.contains("locked"), "\(r)")
        sb.expectUnchanged(v, since: before)
    }

    @Test func invalidVaultConfigIsRefusedNamingIt() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/.cairn/config.json", "{\n  \"version\": 1,\n  \"operator\": \n}\n")
        let before = sb.state(of: v)
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains(".cairn/config.json:"), "\(r)")
        sb.expectUnchanged(v, since: before)
    }

    // MARK: Invalid files

    /// A note whose front matter has a syntax error on line 3.
    private let brokenNote = "---\ntitle: Plan\n  owner: me: again\n---\n\n# Plan\n"

    /// The operator's own note is never held back by its front matter: committed as it is, with a warning.
    @Test func invalidFrontMatterInANoteIsCommittedWithAWarningNamingPathAndLine() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/projects/plan.md", brokenNote)
        try sb.write(v + "/memory/working/fine.md", "# Fine\n")
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("memory/projects/plan.md:3: "), "\(r)")
        #expect(!r.stderr.contains("fine.md"), "only the bad file is named: \(r)")
        #expect(sb.git(["show", "HEAD:memory/projects/plan.md"], cwd: v).stdoutData == Data(brokenNote.utf8))
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v) == "")
    }

    @Test func invalidFrontMatterInAWorkflowIsRefusedWithPathAndLine() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/workflows/plan.md", brokenNote)
        let before = sb.state(of: v)
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("nothing was committed"), "\(r)")
        #expect(r.stderr.contains("workflows/plan.md:3: "), "\(r)")
        #expect(r.stderr.contains("--force"), "should mention the way out: \(r)")
        sb.expectUnchanged(v, since: before)
    }

    @Test func forceCommitsTheInvalidNoteAsItIs() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/projects/plan.md", brokenNote)
        let head = try sb.gitOK(["rev-parse", "HEAD"], cwd: v)
        let r = sb.runCairn(["snapshot", "--force"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stderr.contains("memory/projects/plan.md:3:"), "a warning should still name it: \(r)")
        #expect(try sb.gitOK(["rev-parse", "HEAD^"], cwd: v) == head)
        #expect(sb.git(["show", "HEAD:memory/projects/plan.md"], cwd: v).stdoutData == Data(brokenNote.utf8))
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v) == "")
    }

    @Test func invalidPolicyJSONIsRefusedNamingTheLine() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        var lines = try #require(sb.readText(v + "/policy.json")).components(separatedBy: "\n")
        let target = try #require(lines.firstIndex { $0.contains("\"max_changed_lines\"") })
        lines[target] += ","  // a trailing comma before the closing brace
        try sb.write(v + "/policy.json", lines.joined(separator: "\n"))
        let before = sb.state(of: v)
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("policy.json:\(target + 1): "), "\(r)")
        sb.expectUnchanged(v, since: before)
    }

    @Test func nonUTF8FileNameIsRefusedAndNothingWritten() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let py = sb.run("/usr/bin/env", ["python3", "-c", "open(b'memory/working/caf\\xe9.md', 'wb').write(b'# Cafe\\n')"],
                        cwd: v, env: sb.environment())
        try #require(py.status == 0, "python3: \(py)")
        let before = sb.state(of: v)
        let r = sb.runCairn(["snapshot"], cwd: v)
        #expect(!r.signaled, "\(r)")
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("not valid UTF-8"), "\(r)")
        #expect(r.stderr.contains("memory/working/caf"), "should name the file: \(r)")
        sb.expectUnchanged(v, since: before)
        // --force does not override a name git cannot carry portably.
        #expect(sb.runCairn(["snapshot", "--force"], cwd: v).status == 1)
        sb.expectUnchanged(v, since: before)
    }

    @Test func hundredMegabyteFileIsRefusedAsTooLarge() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let t = sb.run("/usr/bin/env", ["truncate", "-s", "100M", "inbox/recording.wav"], cwd: v, env: sb.environment())
        try #require(t.status == 0, "truncate: \(t)")
        let before = sb.state(of: v)
        let r = sb.runCairn(["snapshot", "--force"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("inbox/recording.wav"), "\(r)")
        #expect(r.stderr.contains("too large"), "\(r)")
        sb.expectUnchanged(v, since: before)  // includes .git/objects: no 100 MB blob was written
    }

    // MARK: doctor

    @Test func doctorOnAHealthyVaultExitsZero() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let before = sb.state(of: v)
        let r = sb.runCairn(["doctor"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("No errors."), "\(r)")
        sb.expectUnchanged(v, since: before)
    }

    /// A note's front matter is the operator's business: doctor names the line as a warning and stays healthy.
    @Test func doctorNamesTheBrokenNoteAndLineAsAWarning() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/memory/projects/plan.md", brokenNote)
        let before = sb.state(of: v)
        let r = sb.runCairn(["doctor"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("warning: memory/projects/plan.md:3: "), "\(r)")
        #expect(r.stdout.contains("No errors."), "\(r)")
        sb.expectUnchanged(v, since: before)
    }

    /// A workflow cairn cannot read is an error: doctor names it and line and exits 1.
    @Test func doctorNamesTheBrokenWorkflowAndLineAndExitsOne() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/workflows/plan.md", brokenNote)
        let before = sb.state(of: v)
        let r = sb.runCairn(["doctor"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.contains("error: workflows/plan.md:3: "), "\(r)")
        let json = sb.runCairn(["doctor", "--json"], cwd: v)
        #expect(json.status == 1, "\(json)")
        let report = try jsonObject(json.stdoutData)
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(findings.contains { $0["path"] as? String == "workflows/plan.md" && $0["line"] as? Int == 3 && $0["severity"] as? String == "error" },
                "\(findings)")
        sb.expectUnchanged(v, since: before)
    }
}
