import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// One kind of writer in the concurrency matrix: the command it runs and how its reported result is judged.
///
/// Workflow ticks join the matrix by adding a case here (its command, and what "done" means for it in
/// `ConcurrencyMatrixTests.expectReportedWorkPresent`); nothing else in the matrix needs to change.
enum ConcurrentOperation: String, CaseIterable, Sendable {
    case snapshot, agentRun, builtinRun, approve, reject, status, tick

    /// The command for slot `slot` of round `round` (inputs differ per slot so runs are distinct work);
    /// deciders take a pending proposal from `pending` (several may race for the same one).
    func command(slot: Int, round: Int, pending: [String]) -> [String] {
        switch self {
        case .snapshot: return ["snapshot", "-m", "matrix r\(round) s\(slot)", "--json"]
        case .agentRun:
            return ["agent", "run", "note", "--json", "--input", "file=memory/projects/matrix-\(slot).md", "--input", "line=r\(round) s\(slot)"]
        case .builtinRun: return ["agent", "run", "digest", "--json", "--input", "tag=r\(round)s\(slot)"]
        case .approve: return pending.isEmpty ? ["status", "--json"] : ["approve", pending[slot % pending.count], "--json"]
        case .reject: return pending.isEmpty ? ["status", "--json"] : ["reject", pending[(slot + 1) % pending.count], "--json"]
        case .status: return ["status", "--json"]
        case .tick: return ["tick", "--json"]
        }
    }
}

/// 2 to 8 cairn processes at once on one vault — snapshots, agent runs, approvals and rejections — while the
/// operator keeps editing files: afterwards `git fsck --strict` is clean, `git status` works, every operation that
/// reported success is in the repository, no operator edit is lost and no proposal is decided twice.
@Suite struct ConcurrencyMatrixTests {
    /// The operations started in each slot, rotating every round so each slot tries each kind.
    static let mix: [ConcurrentOperation] = [.snapshot, .agentRun, .approve, .builtinRun, .reject, .snapshot, .agentRun, .tick]
    /// A workflow due every minute: every tick of the storm runs at the same minute, so it must start exactly once.
    static let scheduled = """
        ---
        on: {schedule: "* * * * *"}
        steps:
          - id: note
            agent: note
            gate: auto
            with: {file: "memory/projects/matrix-tick.md", line: "from the tick"}
        ---
        A workflow the concurrency matrix's ticks start.
        """

    struct Finished {
        let operation: ConcurrentOperation
        let command: [String]
        let result: CommandResult
    }

    @Test(arguments: [2, 3, 4, 6, 8])
    func writersAtOnceLoseNothingAndDecideNothingTwice(processes: Int) throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        try sb.write(v + "/workflows/matrix.md", Self.scheduled)
        try sb.snapshot(v, "Add the scheduled workflow")
        // A tick a minute before the storm, so the storm's minute is due once.
        let first = sb.runCairn(["tick", "--json"], cwd: v, env: ["CAIRN_NOW": "2026-03-01T08:59:00Z"])
        try #require(first.status == 0, "\(first)")
        // Pending work for the first deciders.
        for i in 0..<2 {
            let r = sb.runCairn(["agent", "run", "note", "--input", "file=memory/projects/seed-\(i).md"], cwd: v)
            try #require(r.status == 0, "\(r)")
        }
        let rounds = 3
        var finished: [Finished] = []
        // The operator's edits: each file written many times during the storm; the last content must win.
        let editor = OperatorEditor(vault: v, files: (0..<4).map { "inbox/operator-\($0).md" })
        editor.start()
        for round in 0..<rounds {
            let slots = (0..<processes).map { slot in Self.mix[(slot + round * 3) % Self.mix.count] }
            let pending = try sb.refs(v, under: "refs/heads/proposals").map { String($0.dropFirst("refs/heads/proposals/".count)) }
            let started = slots.enumerated().map { slot, op in
                let command = op.command(slot: slot, round: round, pending: pending)
                return (op, command, sb.startCairn(command, cwd: v))
            }
            for (op, command, running) in started {
                finished.append(Finished(operation: op, command: command, result: running.finish(timeout: 120)))
            }
        }
        let lastEdits = editor.stop()

        // Every process ended on its own with success or an expected refusal — never a crash or a lock timeout.
        for f in finished {
            let r = f.result
            #expect(!r.signaled, "cairn \(f.command.joined(separator: " ")) crashed: \(r)")
            if r.status != 0 {
                let acceptable = ["is stale", "was already"]
                #expect(r.status == 1 && acceptable.contains { r.stderr.contains($0) },
                        "cairn \(f.command.joined(separator: " ")) failed unexpectedly: \(r)")
            }
        }
        // The operator's last edits are all in the working tree, and one more snapshot commits them.
        var lost = 0
        for (path, content) in lastEdits where sb.readText(v + "/" + path) != content {
            Issue.record("\(path): the operator's last edit was lost from the working tree")
            lost += 1
        }
        let final = sb.runCairn(["snapshot"], cwd: v)
        #expect(final.status == 0, "\(final)")
        for (path, content) in lastEdits where sb.git(["show", "main:" + path], cwd: v).stdout != content {
            Issue.record("\(path): the last edit is not on main")
            lost += 1
        }

        sb.expectFsckClean(v)
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        try expectReportedWorkPresent(sb, v, finished)
        // The storm did real work of every kind (a matrix that only refused would prove nothing).
        let succeeded = finished.filter { $0.result.status == 0 && $0.command.first != "status" }
        let kinds = Set(succeeded.map { $0.command.first == "agent" ? "agent" : $0.command[0] })
        #expect(kinds.isSuperset(of: ["snapshot", "agent"]), "\(kinds)")
        if processes >= 3 { #expect(kinds.contains("approve") || kinds.contains("reject"), "no decision went through: \(kinds)") }
        let refused = finished.filter { $0.result.status == 1 }.count
        print("concurrency matrix: \(processes) processes × \(rounds) rounds, \(finished.count) commands, \(succeeded.count) writes done, "
              + "\(refused) refused as stale/already decided, \(lastEdits.count) operator files edited throughout, lost updates \(lost)")
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
    }

    /// Whatever a process reported as done is in the repository; nothing was decided twice.
    func expectReportedWorkPresent(_ sb: Sandbox, _ v: String, _ finished: [Finished]) throws {
        let mainHistory = Set(try sb.gitLines(["rev-list", "main"], cwd: v))
        var decided: [String: String] = [:]
        for f in finished where f.result.status == 0 && f.result.stdout.hasPrefix("{") {
            let json = try jsonObject(f.result.stdoutData)
            switch f.operation {
            case .snapshot:
                if let commit = json["commit"] as? String {
                    #expect(mainHistory.contains(commit), "snapshot \(commit) reported done but not on main")
                }
            case .agentRun, .builtinRun:
                let run = try #require(json["run"] as? String)
                let commit = try #require(json["commit"] as? String)
                let ref = try #require(json["ref"] as? String)
                // The proposal is pending, archived after a decision, or a run record — and the same commit.
                let candidates = [ref, "refs/cairn/archive/\(run)"]
                let present = candidates.compactMap { sb.revParse(v, $0) }
                #expect(present.contains(commit), "run \(run) reported \(commit) but no ref holds it")
            case .approve, .reject:
                if f.command.first == "status" { break }
                let id = try #require(json["id"] as? String)
                let commit = try #require(json["commit"] as? String)
                #expect(mainHistory.contains(commit), "decision on \(id) reported done but not on main")
                #expect(decided[id] == nil, "\(id) decided twice: \(decided[id] ?? "") and \(commit)")
                decided[id] = commit
            case .status:
                break
            case .tick:
                #expect(json["skipped"] as? Bool != nil || json["actions"] != nil, "tick reported \(json)")
            }
        }
        // Ticks: the workflow due at the storm's minute was started exactly once (when any tick did the work).
        let ticked = finished.filter { $0.operation == .tick && $0.result.status == 0 }
        if !ticked.isEmpty {
            let runs = try jsonArray(sb.runCairn(["runs", "--json"], cwd: v).stdoutData).filter { $0["workflow"] as? String == "matrix" }
            let worked = try ticked.contains { try jsonObject($0.result.stdoutData)["skipped"] as? Bool != true }
            #expect(worked ? runs.count == 1 : runs.count <= 1, "scheduled workflow started \(runs.count) times: \(runs)")
        }
        // On main, each run has at most one decision commit and one approval record.
        let decisions = try sb.gitLines(["log", "--format=%(trailers:key=Cairn-Run,valueonly)", "--grep=^Cairn-Operation: \\(approve\\|reject\\)",
                                         "main"], cwd: v).filter { !$0.isEmpty }
        #expect(Set(decisions).count == decisions.count, "a proposal was decided twice: \(decisions)")
        // Every decided run is archived, never still pending.
        let pending = Set(try sb.refs(v, under: "refs/heads/proposals").map { String($0.dropFirst("refs/heads/proposals/".count)) })
        for id in decisions { #expect(!pending.contains(id), "\(id) decided but still pending") }
    }

    /// Eight deciders on one proposal at once, four approving and four rejecting: exactly one decision lands, the
    /// others are told it was already decided, and the proposal is archived once.
    @Test func racingDecisionsOnOneProposalDecideItOnce() throws {
        let sb = try Sandbox()
        let v = try sb.makeVaultWithNoteAgent()
        let run = try sb.runAgent(v, "note")
        try #require(run.outcome == "proposed", "\(run)")
        let commands = (0..<8).map { i in [i % 2 == 0 ? "approve" : "reject", run.id] }
        let results = commands.map { sb.startCairn($0, cwd: v) }.map { $0.finish(timeout: 120) }
        var decided = 0
        for (command, r) in zip(commands, results) {
            #expect(!r.signaled, "\(command): \(r)")
            if r.status == 0 && r.stdout.hasPrefix(command[0] == "approve" ? "Approved" : "Rejected") { decided += 1; continue }
            #expect(r.output.contains("was already"), "\(command): \(r)")
        }
        #expect(decided == 1, "\(decided) processes reported deciding \(run.id)")
        let decisions = try sb.gitLines(["log", "--first-parent", "--format=%s", "--grep=^Cairn-Run: \(run.id)$", "main"], cwd: v)
        #expect(decisions.count == 1, "\(decisions)")
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty)
        #expect(try sb.refs(v, under: "refs/cairn/archive") == ["refs/cairn/archive/\(run.id)"])
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        sb.expectFsckClean(v)
    }

    /// A writer killed with SIGKILL while it holds the vault lock (in the middle of an agent run) leaves nothing that
    /// blocks the next writer: the lock dies with it, git's own lock files are recovered, and the next writers finish.
    @Test func aLockLeftByAKilledWriterIsRecovered() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.addAgent(v, "slow", frontMatter: """
            kind: command
            command: ["sh", "agents/slow.sh"]
            reads: ["memory/projects/**"]
            writes: ["memory/projects/**"]
            timeout: 60s
            sandbox: off
            """, files: ["agents/slow.sh": "echo started > '\(sb.root)/started'\nsleep 30\n"])
        let marker = sb.root + "/started"
        let slow = sb.startCairn(["agent", "run", "slow"], cwd: v)
        // Wait until the agent runs (the vault lock is held), then kill cairn and its agent.
        let deadline = Date().addingTimeInterval(30)
        while !sb.exists(marker) && Date() < deadline { usleep(20_000) }
        try #require(sb.exists(marker), "the slow agent never started")
        let pid = try #require(slow.process?.processIdentifier)
        #expect(sb.exists(v + "/.git/cairn/vault.lock"))
        // A git lock left by a crash as well (as if killed while writing the index).
        try sb.write(v + "/.git/index.lock", "partial")
        kill(pid, SIGKILL)
        let killed = slow.finish(timeout: 30)
        #expect(killed.signaled, "\(killed)")
        try sb.write(v + "/inbox/after-crash.md", "# After\n")
        let clock = Stopwatch()
        let snap = sb.runCairn(["snapshot"], cwd: v)
        #expect(snap.status == 0, "\(snap)")
        #expect(clock.seconds < 20, "the next writer waited \(clock.seconds) s for a dead process's lock")
        #expect(!sb.exists(v + "/.git/index.lock"), "the abandoned index.lock was not recovered")
        #expect(try sb.gitOK(["show", "main:inbox/after-crash.md"], cwd: v) == "# After")
        #expect(try sb.refs(v, under: "refs/heads/proposals").isEmpty, "the killed run left a proposal")
        let again = sb.runCairn(["agent", "run", "gc"], cwd: v)
        #expect(again.status == 0, "\(again)")
        sb.expectFsckClean(v)
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
    }
}

/// Writes operator edits on a background thread until stopped; returns each file's last content.
final class OperatorEditor: @unchecked Sendable {
    private let vault: String
    private let files: [String]
    private let lock = NSLock()
    private var running = true
    private var last: [String: String] = [:]
    private let done = DispatchSemaphore(value: 0)

    init(vault: String, files: [String]) {
        self.vault = vault
        self.files = files
    }

    func start() {
        Thread.detachNewThread { [self] in
            var n = 0
            while lock.withLock({ running }) {
                let path = files[n % files.count]
                let content = "# Operator edit \(n)\n\(String(repeating: "text ", count: n % 50))\n"
                // Write-and-rename, as editors do, so no reader sees half a file.
                let full = vault + "/" + path
                let temp = (full as NSString).deletingLastPathComponent + "/.\(UUID().uuidString).swp"
                if FileManager.default.createFile(atPath: temp, contents: Data(content.utf8)), rename(temp, full) == 0 {
                    lock.withLock { last[path] = content }
                }
                n += 1
                usleep(15_000)
            }
            done.signal()
        }
    }

    func stop() -> [String: String] {
        lock.withLock { running = false }
        done.wait()
        return lock.withLock { last }
    }
}
