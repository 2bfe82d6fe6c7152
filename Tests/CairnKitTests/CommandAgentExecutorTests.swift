import Foundation
import Testing
@testable import CairnGit
@testable import CairnKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway vault: a real git repository (built through CairnGit) whose working tree holds the
/// agent scripts, plus a folder for run work directories. Removed when released.
final class CommandAgentFixture {
    let dir: String
    let vaultRoot: String
    let repo: Repository
    let environment: [String: String]
    private var runs = 0

    init() throws {
        dir = NSTemporaryDirectory() + "cairn-cmdagent-" + UUID().uuidString
        vaultRoot = dir + "/vault"
        try FileManager.default.createDirectory(atPath: dir + "/home", withIntermediateDirectories: true)
        // libgit2\'s config search path is process-wide and owned by the CairnGit tests (TestRepo); these
        // fixtures pass identities explicitly and read no git config.
        repo = try Repository.create(at: vaultRoot)
        environment = ["PATH": "/usr/bin:/bin", "HOME": dir + "/home"]
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    /// Commits `files` (path → text, optional mode) and returns the snapshot of that commit.
    func base(_ files: [String: String], modes: [String: UInt32] = [:]) throws -> BaseSnapshot {
        let changes = try files.map { path, text in
            TreeChange.upsert(path: path, oid: try repo.writeBlob(Data(text.utf8)), mode: modes[path] ?? TreeChange.fileMode)
        }
        let tree = try repo.updateTree(base: nil, changes: changes)
        let who = Signature(name: "Ada Operator", email: "ada@example.com", time: Date(timeIntervalSince1970: 1_772_355_600))
        let commit = try repo.createCommit(tree: tree, parents: [], author: who, committer: who, message: "base\n")
        return BaseSnapshot(repository: repo, commit: commit, tree: tree)
    }

    /// Writes an executable script into the vault's `agents/` folder; returns its vault-relative path.
    @discardableResult
    func script(_ name: String, _ body: String) throws -> String {
        let path = "agents/" + name
        let full = vaultRoot + "/" + path
        try FileManager.default.createDirectory(atPath: vaultRoot + "/agents", withIntermediateDirectories: true)
        try Data(body.utf8).write(to: URL(fileURLWithPath: full))
        chmod(full, 0o755)
        return path
    }

    func agent(_ command: [String], reads: [String] = ["inbox/**"], timeout: TimeInterval = 20) -> AgentDefinition {
        AgentDefinition(name: "test", path: "agents/test.md", kind: .command, description: nil, command: command, builtin: nil,
                        reads: reads, writes: reads, autonomy: .advisory, timeout: timeout, model: nil, fallbackModel: nil,
                        instructions: "")
    }

    func context(_ base: BaseSnapshot, input: [String: String] = [:]) -> AgentContext {
        AgentContext(runID: "20260301-090000-test-ab12", agent: "test", input: input, base: base.commit.hex,
                     now: "2026-03-01T09:00:00Z",
                     core: [ContextItem(path: "memory/core/me.md", blob: String(repeating: "a", count: 40), score: 1, reason: "core", tokens: 3)],
                     retrieved: [])
    }

    /// A fresh work directory for the next run.
    func nextWorkDir() -> String {
        runs += 1
        return dir + "/work/run-\(runs)"
    }

    func run(_ agent: AgentDefinition, _ base: BaseSnapshot, executor: CommandAgentExecutor = CommandAgentExecutor(),
             input: [String: String] = [:], extraEnvironment: [String: String] = [:]) throws -> (outcome: ExecutionOutcome, workDir: String) {
        let workDir = nextWorkDir()
        let outcome = try executor.run(agent: agent, base: base, context: context(base, input: input), workDir: workDir,
                                       vaultRoot: vaultRoot, environment: environment.merging(extraEnvironment) { $1 })
        return (outcome, workDir)
    }
}

/// Seconds since `start` on a monotonic clock.
private func seconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// True while `pid` is a live (not zombie) process.
private func isAlive(_ pid: pid_t) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
       let close = stat.lastIndex(of: ")") {
        let state = stat[stat.index(close, offsetBy: 2)]
        return state != "Z" && state != "X"
    }
    return true
}

@Suite("CommandAgent executor")
struct CommandAgentExecutorTests {
    @Test func wellBehavedAgentEditsAddsAndDeletes() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "old a\n", "inbox/b.md": "b\n", "inbox/c.md": "c stays\n"])
        let script = try f.script("triage.sh", """
            #!/bin/sh
            set -e
            printf 'new a\\n' > inbox/a.md
            rm inbox/b.md
            mkdir -p inbox/new/deep
            printf 'd\\n' > inbox/new/deep/d.md
            mkdir inbox/empty-folder
            echo done
            """)
        let (outcome, _) = try f.run(f.agent([script]), base)
        #expect(outcome.failure == nil)
        #expect(outcome.exitStatus == 0)
        #expect(outcome.stdout == "done\n")
        #expect(outcome.filesShown == ["inbox/a.md", "inbox/b.md", "inbox/c.md"])
        #expect(outcome.edits == [.write("inbox/a.md", "new a\n"), .delete("inbox/b.md"), .write("inbox/new/deep/d.md", "d\n")])
    }

    /// Filling a work folder for a large scope is reported (the CLI shows it on a terminal past a second); a small
    /// one, or a kept folder that only needs a few files, is not.
    @Test func writingManyFilesReportsProgress() throws {
        let f = try CommandAgentFixture()
        var files: [String: String] = [:]
        for i in 0..<1200 { files["inbox/n\(i).md"] = "note \(i)\n" }
        let base = try f.base(files)
        final class Heard: @unchecked Sendable {
            let lock = NSLock()
            var reports: [WorkProgress] = []
            func add(_ p: WorkProgress) { lock.lock(); reports.append(p); lock.unlock() }
        }
        let heard = Heard()
        let agent = f.agent(["/bin/true"])
        let outcome = try CommandAgentExecutor().run(agent: agent, base: base, context: f.context(base), workDir: f.nextWorkDir(),
                                                     vaultRoot: f.vaultRoot, environment: f.environment,
                                                     scopeFiles: base.files(matching: agent.reads.map(Glob.init)), previous: nil,
                                                     progress: { heard.add($0) })
        #expect(outcome.failure == nil && outcome.filesShown.count == 1200)
        #expect(heard.reports.map(\.done) == [0, 500, 1000, 1200], "\(heard.reports)")
        #expect(heard.reports.allSatisfy { $0.total == 1200 && $0.task == "writing the agent's files" })

        let small = Heard()
        let few = try f.base(["inbox/a.md": "a\n", "inbox/b.md": "b\n"])
        _ = try CommandAgentExecutor().run(agent: agent, base: few, context: f.context(few), workDir: f.nextWorkDir(),
                                           vaultRoot: f.vaultRoot, environment: f.environment,
                                           scopeFiles: few.files(matching: agent.reads.map(Glob.init)), previous: nil,
                                           progress: { small.add($0) })
        #expect(small.reports.isEmpty)
    }

    @Test func executableBitIsMaterializedAndReported() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/tool.sh": "#!/bin/sh\n", "inbox/plain.md": "x\n", "inbox/other.md": "y\n"],
                              modes: ["inbox/tool.sh": TreeChange.executableMode])
        let script = try f.script("modes.sh", """
            #!/bin/sh
            test -x inbox/tool.sh && echo tool-exec
            test -x inbox/plain.md || echo plain-not-exec
            chmod +x inbox/other.md
            """)
        let (outcome, _) = try f.run(f.agent([script]), base)
        #expect(outcome.failure == nil)
        #expect(outcome.stdout == "tool-exec\nplain-not-exec\n")
        #expect(outcome.edits == [ProposedEdit(path: "inbox/other.md", action: .write, content: Data("y\n".utf8), executable: true)])
    }

    @Test func onlyTheReadScopeIsMaterialized() throws {
        let f = try CommandAgentFixture()
        let symlinkTarget = try f.repo.writeBlob(Data("/etc/passwd".utf8))
        var base = try f.base(["inbox/one.md": "1\n", "inbox/sub/two.md": "2\n", "memory/projects/p.md": "secret project\n",
                               "memory/core/me.md": "me\n", "README.md": "readme\n"])
        let tree = try f.repo.updateTree(base: base.tree, changes: [.upsert(path: "inbox/link", oid: symlinkTarget, mode: TreeChange.symlinkMode)])
        base = BaseSnapshot(repository: f.repo, commit: base.commit, tree: tree)
        let script = try f.script("list.sh", "#!/bin/sh\nfind . | LC_ALL=C sort\n")
        let (outcome, workDir) = try f.run(f.agent([script]), base)
        #expect(outcome.failure == nil)
        #expect(outcome.filesShown == ["inbox/one.md", "inbox/sub/two.md"])
        #expect(outcome.stdout == ".\n./inbox\n./inbox/one.md\n./inbox/sub\n./inbox/sub/two.md\n")
        #expect(!FileManager.default.fileExists(atPath: workDir + "/files/memory"))
        #expect(!FileManager.default.fileExists(atPath: workDir + "/files/README.md"))
        #expect(outcome.edits.isEmpty)
    }

    @Test func contextJSONIsWrittenAndDecodes() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        let script = try f.script("ctx.sh", "#!/bin/sh\ncp \"$CAIRN_CONTEXT\" inbox/seen.json\n")
        let (outcome, workDir) = try f.run(f.agent([script]), base, input: ["lead": "acme"])
        #expect(outcome.failure == nil)
        let expected = f.context(base, input: ["lead": "acme"])
        let onDisk = try #require(FileManager.default.contents(atPath: workDir + "/context.json"))
        let decoded = try JSONDecoder().decode(AgentContext.self, from: onDisk)
        #expect(decoded.runID == expected.runID && decoded.agent == expected.agent && decoded.input == expected.input)
        #expect(decoded.base == expected.base && decoded.now == expected.now)
        #expect(decoded.core == expected.core && decoded.retrieved == expected.retrieved)
        // Pretty and with sorted keys, and what the agent saw is the same file.
        let text = String(decoding: onDisk, as: UTF8.self)
        #expect(text.contains("\n  \"agent\" : \"test\""))
        #expect(try #require(text.range(of: "\"agent\"")).lowerBound < (try #require(text.range(of: "\"runID\""))).lowerBound)
        #expect(outcome.edits == [.write("inbox/seen.json", onDisk)])
    }

    @Test func environmentIsExactlyTheCallersPlusCairnVariables() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        let script = try f.script("env.sh", "#!/bin/sh\nenv > \"$PROBE_OUT\"\npwd >> \"$PROBE_OUT\"\n")
        let probe = f.dir + "/env.txt"
        let (outcome, workDir) = try f.run(f.agent([script]), base, input: ["lead-id": "42", "Zone": "eu west"],
                                           extraEnvironment: ["PROBE_OUT": probe])
        #expect(outcome.failure == nil)
        let lines = try String(contentsOfFile: probe, encoding: .utf8).split(separator: "\n").map(String.init)
        var env: [String: String] = [:]
        for line in lines.dropLast() {
            guard let eq = line.firstIndex(of: "=") else { continue }
            env[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        let files = workDir + "/files"
        #expect(lines.last == files)
        let expected: [String: String] = [
            "PATH": "/usr/bin:/bin", "HOME": f.dir + "/home", "PROBE_OUT": probe,
            "CAIRN_RUN_ID": "20260301-090000-test-ab12", "CAIRN_AGENT": "test", "CAIRN_BASE": base.commit.hex,
            "CAIRN_CONTEXT": workDir + "/context.json", "CAIRN_FILES": files,
            "CAIRN_NOW": "2026-03-01T09:00:00Z", "CAIRN_INPUT_LEAD_ID": "42", "CAIRN_INPUT_ZONE": "eu west",
        ]
        for (key, value) in expected { #expect(env[key] == value, "\(key)") }
        // The agent is not told where the vault is: it works only in its own folder.
        #expect(env["CAIRN_VAULT_ROOT"] == nil)
        // Nothing of the test runner's own environment leaks through (the shell adds only PWD, SHLVL, _).
        let extra = Set(env.keys).subtracting(expected.keys).subtracting(["PWD", "SHLVL", "_", "OLDPWD"])
        #expect(extra.isEmpty, "unexpected variables: \(extra.sorted())")
    }

    @Test func pythonScriptArgumentsResolveAgainstTheVault() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/lead.md": "Acme wants a demo\n"])
        try f.script("triage.py", """
            import json, os, sys
            ctx = json.load(open(os.environ["CAIRN_CONTEXT"]))
            text = open("inbox/lead.md").read()
            with open("inbox/triaged.md", "w") as out:
                out.write(f"{ctx['input']['lead']}: {text}")
            print(sys.argv[1], os.getcwd() == os.environ["CAIRN_FILES"])
            """)
        let (outcome, _) = try f.run(f.agent(["python3", "agents/triage.py", "inbox/lead.md"]), base, input: ["lead": "acme"])
        #expect(outcome.failure == nil, "\(outcome.stderr)")
        #expect(outcome.stdout == "inbox/lead.md True\n")
        #expect(outcome.edits == [.write("inbox/triaged.md", "acme: Acme wants a demo\n")])
    }

    @Test func failingAgentProposesNothing() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        let script = try f.script("fail.sh", "#!/bin/sh\necho half > inbox/a.md\necho 'broke' >&2\nexit 3\n")
        let (outcome, _) = try f.run(f.agent([script]), base)
        #expect(outcome.failure == "exited with status 3")
        #expect(outcome.exitStatus == 3)
        #expect(outcome.stderr == "broke\n")
        #expect(outcome.edits.isEmpty)
    }

    @Test func hangingAgentIsStoppedWithItsChildren() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        let pidFile = f.dir + "/sleep.pid"
        let script = try f.script("hang.sh", "#!/bin/sh\nsleep 30 &\necho $! > \"$PID_FILE\"\nwait\n")
        let start = ContinuousClock.now
        let (outcome, _) = try f.run(f.agent([script], timeout: 1), base, extraEnvironment: ["PID_FILE": pidFile])
        let elapsed = seconds(since: start)
        #expect(outcome.failure == "timed out after 1s")
        #expect(outcome.edits.isEmpty)
        #expect(elapsed >= 1 && elapsed < 20, "took \(elapsed)s")
        let pidText = try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let pid = try #require(pid_t(pidText))
        // Killed with its group; give init a moment to reap the orphan.
        var alive = isAlive(pid)
        for _ in 0..<100 where alive { usleep(20_000); alive = isAlive(pid) }
        #expect(!alive, "sleep \(pid) survived the timeout")
    }

    @Test func backgroundProcessesLeftBehindAreKilled() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        let pidFile = f.dir + "/straggler.pid"
        let script = try f.script("straggle.sh", "#!/bin/sh\n(sleep 1; echo late > inbox/late.md) &\necho $! > \"$PID_FILE\"\n")
        let (outcome, _) = try f.run(f.agent(["sh", script]), base, extraEnvironment: ["PID_FILE": pidFile])
        #expect(outcome.failure == nil)
        #expect(outcome.edits.isEmpty)
        let pid = try #require(pid_t(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        var alive = isAlive(pid)
        for _ in 0..<100 where alive { usleep(20_000); alive = isAlive(pid) }
        #expect(!alive, "background subshell \(pid) outlived the agent")
    }

    #if os(Linux)
    @Test func agentStartsWithDefaultSignalsEvenWhenTheCallerIgnoresThem() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        // grep directly, no shell: dash unblocks signals at start-up and would hide an inherited mask.
        let probe = ["grep", "-E", "^Sig(Ign|Blk):", "/proc/self/status"]
        // A daemon or test runner may start us with SIGTERM ignored and blocked; the agent must not inherit that.
        let previous = signal(SIGTERM, SIG_IGN)
        defer { signal(SIGTERM, previous) }
        var block = sigset_t(), old = sigset_t()
        sigemptyset(&block)
        sigaddset(&block, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &block, &old)
        defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
        let (outcome, _) = try f.run(f.agent(probe), base)
        #expect(outcome.failure == nil)
        var masks: [String: UInt64] = [:]
        for line in outcome.stdout.split(separator: "\n") {
            let parts = line.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2 { masks[parts[0]] = UInt64(parts[1], radix: 16) }
        }
        let term: UInt64 = 1 << (UInt64(SIGTERM) - 1)
        let ignored = try #require(masks["SigIgn"]), blocked = try #require(masks["SigBlk"])
        #expect(ignored & term == 0, "SIGTERM ignored in the agent")
        #expect(blocked & term == 0, "SIGTERM blocked in the agent")
    }
    #endif

    @Test func agentIgnoringSIGTERMIsKilledAfterTheGracePeriod() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        let script = try f.script("stubborn.sh", "#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 0.1; done\n")
        let start = ContinuousClock.now
        let (outcome, _) = try f.run(f.agent([script], timeout: 0.5), base)
        let elapsed = seconds(since: start)
        #expect(outcome.failure == "timed out after 0.5s")
        #expect(outcome.exitStatus == nil)
        #expect(elapsed >= 1.4 && elapsed < 20, "took \(elapsed)s")
    }

    @Test func floodingAgentIsKilledAtTheOutputLimit() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        let start = ContinuousClock.now
        let (outcome, workDir) = try f.run(f.agent(["yes"], timeout: 60), base)
        let elapsed = seconds(since: start)
        #expect(outcome.failure?.hasPrefix("output limit exceeded") == true, "\(outcome.failure ?? "nil")")
        #expect(outcome.edits.isEmpty)
        #expect(elapsed < 30, "took \(elapsed)s")
        #expect(outcome.stdout.hasPrefix("y\ny\n"))
        #expect(outcome.stdout.utf8.count < CommandAgentExecutor.capturedOutputBytes + 100)
        #expect(outcome.stdout.contains("bytes truncated]"))
        let size = try FileManager.default.attributesOfItem(atPath: workDir + "/stdout.log")[.size] as? Int ?? 0
        #expect(size > 1 << 20 && size < 512 << 20)
    }

    @Test func pythonFloodOnStderrIsKilled() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        try f.script("flood.py", "import sys\nline = 'x' * 1023 + '\\n'\nfor _ in range(100 * 1024):\n    sys.stderr.write(line)\n")
        let start = ContinuousClock.now
        let (outcome, _) = try f.run(f.agent(["python3", "agents/flood.py"], timeout: 60), base,
                                     executor: CommandAgentExecutor(maxOutputBytes: 256 << 10))
        #expect(outcome.failure == "output limit exceeded (more than 262144 bytes on stdout and stderr)")
        #expect(seconds(since: start) < 30)
        #expect(outcome.stderr.hasPrefix("xxxx"))
    }

    @Test func capturedOutputKeepsTheFirst64KiB() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        try f.script("chatty.py", "import sys\nsys.stdout.write('é' * 50000)\n") // 100 000 bytes, 2 per character
        let (outcome, _) = try f.run(f.agent(["python3", "agents/chatty.py"]), base)
        #expect(outcome.failure == nil)
        #expect(outcome.stdout == String(repeating: "é", count: 32768) + "\n[… \(100_000 - 65536) bytes truncated]")
    }

    @Test func symlinkOutOfTheVaultFails() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        let script = try f.script("link.sh", "#!/bin/sh\necho changed > inbox/a.md\nln -s /etc/passwd inbox/pw\n")
        let (outcome, _) = try f.run(f.agent([script]), base)
        #expect(outcome.failure == "wrote a symlink: inbox/pw")
        #expect(outcome.edits.isEmpty)
    }

    @Test func specialFilesFail() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        let script = try f.script("fifo.sh", "#!/bin/sh\nmkfifo inbox/pipe\n")
        let (outcome, _) = try f.run(f.agent([script]), base)
        #expect(outcome.failure == "wrote a special file (FIFO): inbox/pipe")
        #expect(outcome.edits.isEmpty)
    }

    @Test func crashingAgentReportsTheSignal() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        let script = try f.script("crash.sh", "#!/bin/sh\necho x > inbox/a.md\nkill -SEGV $$\n")
        let (outcome, _) = try f.run(f.agent([script]), base)
        #expect(outcome.failure == "killed by signal 11 (SIGSEGV)")
        #expect(outcome.exitStatus == nil)
        #expect(outcome.edits.isEmpty)
    }

    @Test func missingExecutableIsAnOutcomeNotAThrow() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        let onPath = try f.run(f.agent(["cairn-no-such-agent-binary"]), base).outcome
        #expect(onPath.failure == "cannot start `cairn-no-such-agent-binary`: No such file or directory")
        #expect(onPath.edits.isEmpty && onPath.exitStatus == nil)
        let inVault = try f.run(f.agent(["agents/missing.sh"]), base).outcome
        #expect(inVault.failure == "cannot start `agents/missing.sh`: No such file or directory")
        #expect(inVault.filesShown == ["inbox/a.md"])
        try f.script("noexec.sh", "#!/bin/sh\n")
        chmod(f.vaultRoot + "/agents/noexec.sh", 0o644)
        let notExecutable = try f.run(f.agent(["agents/noexec.sh"]), base).outcome
        #expect(notExecutable.failure == "cannot start `agents/noexec.sh`: Permission denied")
    }

    @Test func oversizedFileFails() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        let script = try f.script("big.sh", "#!/bin/sh\nhead -c 2000 /dev/zero > inbox/big.bin\nhead -c 500 /dev/zero > inbox/ok.bin\n")
        let small = CommandAgentExecutor(maxFileBytes: 1000)
        let (outcome, _) = try f.run(f.agent([script]), base, executor: small)
        #expect(outcome.failure == "file too large: inbox/big.bin (2000 bytes, limit 1000)")
        #expect(outcome.edits.isEmpty)
        // An unchanged file larger than the limit is fine: it is not a change.
        let bigBase = try f.base(["inbox/huge.md": String(repeating: "h", count: 5000)])
        let quiet = try f.script("quiet.sh", "#!/bin/sh\nexit 0\n")
        let (unchanged, _) = try f.run(f.agent([quiet]), bigBase, executor: small)
        #expect(unchanged.failure == nil && unchanged.edits.isEmpty)
    }

    @Test func invalidUTF8NameFails() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        let script = try f.script("badname.sh", "#!/bin/sh\necho x > \"inbox/bad$(printf '\\377')name.md\"\n")
        let (outcome, _) = try f.run(f.agent([script]), base)
        #expect(outcome.failure == "wrote a name that is not valid UTF-8: inbox/bad\\xFFname.md")
        #expect(outcome.edits.isEmpty)
    }

    @Test func workDirectoryMustBeFresh() throws {
        let f = try CommandAgentFixture()
        let base = try f.base(["inbox/a.md": "a\n"])
        let script = try f.script("ok.sh", "#!/bin/sh\n")
        let workDir = f.nextWorkDir()
        let executor = CommandAgentExecutor()
        _ = try executor.run(agent: f.agent([script]), base: base, context: f.context(base), workDir: workDir, vaultRoot: f.vaultRoot,
                             environment: f.environment)
        #expect(throws: CommandAgentError.self) {
            try executor.run(agent: f.agent([script]), base: base, context: f.context(base), workDir: workDir, vaultRoot: f.vaultRoot,
                             environment: f.environment)
        }
    }

    @Test func environmentKeysAreSanitized() {
        #expect(CommandAgentExecutor.environmentKey("lead-id") == "LEAD_ID")
        #expect(CommandAgentExecutor.environmentKey("Zone 2") == "ZONE_2")
        #expect(CommandAgentExecutor.environmentKey("café") == "CAF_")
    }

    @Test func argumentsOutsideAgentsAreLeftAlone() throws {
        let f = try CommandAgentFixture()
        try f.script("x.py", "")
        #expect(CommandAgentExecutor.resolveArgument("agents/x.py", vaultRoot: f.vaultRoot) == f.vaultRoot + "/agents/x.py")
        #expect(CommandAgentExecutor.resolveArgument("agents/missing.py", vaultRoot: f.vaultRoot) == "agents/missing.py")
        #expect(CommandAgentExecutor.resolveArgument("inbox/lead.md", vaultRoot: f.vaultRoot) == "inbox/lead.md")
        #expect(CommandAgentExecutor.resolveArgument("agents/../agents/x.py", vaultRoot: f.vaultRoot) == "agents/../agents/x.py")
        #expect(CommandAgentExecutor.resolveArgument("--flag", vaultRoot: f.vaultRoot) == "--flag")
    }
}

@Suite struct CommandAgentWorkFolderTests {
    /// A run killed before it could clean up leaves `cairn-run-<id>-…` behind; a later run with the same id (the same
    /// second under a fixed clock, and the same random tail) still gets a fresh, empty folder.
    @Test func aRunGetsAFreshFolderWhenAKilledRunOfTheSameIDLeftOne() throws {
        let fm = FileManager.default
        let root = NSTemporaryDirectory() + "cairn-workroot-" + UUID().uuidString
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: root) }
        let id = "20260301-090000-note-1c4d"
        let killed = try CommandAgentExecutor.makeWorkFolder(in: root, runID: id)
        try fm.createDirectory(atPath: killed + "/files", withIntermediateDirectories: true)
        let next = try CommandAgentExecutor.makeWorkFolder(in: root, runID: id)
        #expect(next != killed)
        #expect((next as NSString).lastPathComponent.hasPrefix("cairn-run-\(id)-"), "\(next)")
        #expect(try fm.contentsOfDirectory(atPath: next).isEmpty)
        #expect(throws: CommandAgentError.self) { try CommandAgentExecutor.makeWorkFolder(in: root + "/missing", runID: id) }
    }
}
