import CairnKit
import Foundation
import Testing

/// Workflows through the built binary: gates, resume after approval, kill -9 at every step boundary and in the
/// middle of a step, validation with file/line/reason, cancel, retries, hand-offs and compensations — judged with
/// the git CLI (trailers on every ref, `git fsck --strict`).
@Suite struct WorkflowTests {
    /// A vault with command agents `one`, `two`, `three` (each writes `memory/projects/NAME.md` holding its
    /// `note` input and prints `output.file: PATH`), plus `flaky` (fails while `memory/projects/fail-flag.md`
    /// exists in what it reads) and `undo` (writes `memory/projects/undone.md`).
    private func vault(_ sb: Sandbox) throws -> String {
        let v = try sb.makeVault()
        for name in ["one", "two", "three", "undo"] {
            try sb.addAgent(v, name, frontMatter: """
                kind: command
                command: ["sh", "agents/\(name).sh"]
                reads: ["memory/projects/**"]
                writes: ["memory/projects/**"]
                timeout: 30s
                """, files: ["agents/\(name).sh": """
                set -e
                mkdir -p memory/projects
                printf '%s\\n' "\(name): ${CAIRN_INPUT_NOTE:-none}" > memory/projects/\(name).md
                echo "summary: \(name) wrote its note"
                echo "output.file: memory/projects/\(name).md"
                """])
        }
        try sb.addAgent(v, "flaky", frontMatter: """
            kind: command
            command: ["sh", "agents/flaky.sh"]
            reads: ["memory/projects/**"]
            writes: ["memory/projects/**"]
            timeout: 30s
            """, files: ["agents/flaky.sh": """
            if [ -f memory/projects/fail-flag.md ]; then echo "flag set" >&2; exit 3; fi
            echo "flaky ran" > memory/projects/flaky.md
            echo "summary: flaky worked"
            """])
        return v
    }

    private func writeWorkflow(_ sb: Sandbox, _ v: String, _ name: String, _ frontMatter: String) throws {
        try sb.write(v + "/workflows/\(name).md", "---\n" + frontMatter + "\n---\nA workflow written by a test.\n")
        try sb.snapshot(v, "Add workflow \(name)")
    }

    private static let threeSteps = """
        inputs:
          note: {default: hello}
        steps:
          - id: a
            agent: one
            with: {note: "{{inputs.note}}"}
            gate: approve
          - id: b
            agent: two
            with: {note: "{{steps.a.output.file}}"}
            gate: auto
          - id: c
            agent: three
            with: {note: "{{steps.b.summary}}"}
            gate: auto
        """

    private static let threeAutoSteps = threeSteps.replacingOccurrences(of: "gate: approve", with: "gate: auto")

    private func runJSON(_ r: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try #require(!r.signaled, "cairn crashed: \(r)", sourceLocation: sourceLocation)
        return try jsonObject(r.stdoutData, sourceLocation: sourceLocation)
    }

    private func state(_ sb: Sandbox, _ v: String, _ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let r = sb.runCairn(["runs", id, "--json"], cwd: v)
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        return try jsonObject(r.stdoutData, sourceLocation: sourceLocation)
    }

    /// `Cairn-Workflow` trailer values of every commit reachable from any ref.
    private func workflowTrailers(_ sb: Sandbox, _ v: String) throws -> [String] {
        try sb.gitLines(["log", "--all", "--format=%(trailers:key=Cairn-Workflow,valueonly)"], cwd: v).filter { !$0.isEmpty }
    }

    private func stepStatuses(_ run: [String: Any]) -> [String] {
        (run["steps"] as? [[String: Any]] ?? []).map { $0["status"] as? String ?? "?" }
    }

    @Test func threeStepWorkflowWaitsAtItsGateAndGoesOnAfterApproval() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "three", Self.threeSteps)
        let mainBefore = try sb.gitOK(["rev-parse", "main"], cwd: v)

        let started = try runJSON(sb.runCairn(["workflow", "run", "three", "--json"], cwd: v))
        let id = try #require(started["id"] as? String)
        #expect(started["status"] as? String == "waiting-approval")
        #expect(stepStatuses(started) == ["waiting-approval", "pending", "pending"])
        #expect(try workflowTrailers(sb, v) == ["\(id)/a"])
        // Step a is one proposal; main did not move.
        #expect(try sb.trailer(v, "proposals/\(id)_a_1", "Cairn-Workflow") == "\(id)/a")
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: v) == mainBefore)
        // The state lives on its own ref, not in the working tree.
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        let stored = try jsonObject(Data(try sb.gitOK(["show", "refs/cairn/workflows/\(id):state.json"], cwd: v).utf8))
        #expect(stored["status"] as? String == "waiting-approval")

        // Resuming before the approval changes nothing.
        let waiting = try runJSON(sb.runCairn(["resume", id, "--json"], cwd: v))
        #expect(waiting["status"] as? String == "waiting-approval")
        #expect(try workflowTrailers(sb, v).count == 1)

        // Approving step a lets the workflow go on: b and c run on top of the merged a.
        let approved = sb.runCairn(["approve", "\(id)_a_1"], cwd: v)
        #expect(approved.status == 0, "\(approved)")
        #expect(approved.stdout.contains("goes on"), "\(approved)")
        let done = try state(sb, v, id)
        #expect(done["status"] as? String == "done", "\(done)")
        #expect(stepStatuses(done) == ["done", "done", "done"])
        let trailers = try workflowTrailers(sb, v)
        for step in ["a", "b", "c"] { #expect(trailers.filter { $0 == "\(id)/\(step)" }.count == 1, "\(trailers)") }
        // Inputs flowed: b got a's output, c got b's summary.
        #expect(try sb.gitOK(["show", "proposals/\(id)_b_1:memory/projects/two.md"], cwd: v) == "two: memory/projects/one.md")
        #expect(try sb.gitOK(["show", "proposals/\(id)_c_1:memory/projects/three.md"], cwd: v) == "three: two wrote its note")
        #expect(try sb.gitOK(["show", "main:memory/projects/one.md"], cwd: v) == "one: hello")
        // b's proposal is based on the main that holds a.
        #expect(try sb.trailer(v, "proposals/\(id)_b_1", "Cairn-Base") == (try sb.gitOK(["rev-parse", "main"], cwd: v)))
        sb.expectFsckClean(v)
        let audit = sb.runCairn(["audit"], cwd: v)
        #expect(audit.status == 0, "\(audit)")
        let list = try jsonArray(sb.runCairn(["runs", "--json"], cwd: v).stdoutData)
        #expect(list.map { $0["id"] as? String } == [id])
    }

    /// kill -9 at the same point of each step in turn (CAIRN_CRASH_AT=POINT:STEP), resuming after each crash:
    /// every step's commit appears exactly once, and the run finishes. Run for every point that fires per step by
    /// `CrashMatrixTests.killNineAtEveryCrashPoint`.
    func resumeAfterKillNineRunsEachStepExactlyOnce(_ point: CrashPoint) throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "three", Self.threeAutoSteps)
        let first = sb.runCairn(["workflow", "run", "three"], cwd: v, env: ["CAIRN_CRASH_AT": "\(point):a"])
        #expect(first.signaled && first.status == 9, "expected SIGKILL at \(point):a: \(first)")
        sb.expectFsckClean(v)
        let runs = try jsonArray(sb.runCairn(["runs", "--json"], cwd: v).stdoutData)
        let id = try #require(runs.first?["id"] as? String, "the run's first checkpoint is there")
        for step in ["b", "c"] {
            let r = sb.runCairn(["resume", id], cwd: v, env: ["CAIRN_CRASH_AT": "\(point):\(step)"])
            #expect(r.signaled && r.status == 9, "expected SIGKILL at \(point):\(step): \(r)")
            sb.expectFsckClean(v)
        }
        let last = sb.runCairn(["resume", id, "--json"], cwd: v)
        #expect(last.status == 0, "\(last)")
        let done = try state(sb, v, id)
        #expect(done["status"] as? String == "done", "\(done)")
        let trailers = try workflowTrailers(sb, v)
        for step in ["a", "b", "c"] {
            #expect(trailers.filter { $0 == "\(id)/\(step)" }.count == 1, "step \(step): \(trailers)")
            #expect(sb.revParse(v, "proposals/\(id)_\(step)_1") != nil, "step \(step)'s proposal")
            #expect(sb.revParse(v, "proposals/\(id)_\(step)_2") == nil, "step \(step) ran a second attempt")
        }
        #expect(try sb.gitLines(["for-each-ref", "--format=%(refname)", "refs/heads/proposals/"], cwd: v).count == 3)
        // Once done, resume says so and writes nothing.
        let before = try sb.gitOK(["for-each-ref"], cwd: v)
        let again = sb.runCairn(["resume", id], cwd: v)
        #expect(again.status == 0 && again.stdout.contains("done"), "\(again)")
        #expect(try sb.gitOK(["for-each-ref"], cwd: v) == before)
        sb.expectFsckClean(v)
    }

    /// Killed while waiting at a gate, then approved: the run goes on from its checkpoint.
    @Test func crashAfterTheGateCheckpointThenApprovalAndResume() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "three", Self.threeSteps)
        let r = sb.runCairn(["workflow", "run", "three"], cwd: v, env: ["CAIRN_CRASH_AT": "workflow.before-checkpoint:a"])
        #expect(r.signaled, "\(r)")
        let id = try #require(try jsonArray(sb.runCairn(["runs", "--json"], cwd: v).stdoutData).first?["id"] as? String)
        // The checkpoint did not record the proposal; approve it anyway, then resume finds it by its run id.
        let approve = sb.runCairn(["approve", "\(id)_a_1"], cwd: v)
        #expect(approve.status == 0, "\(approve)")
        let resumed = try runJSON(sb.runCairn(["resume", id, "--json"], cwd: v))
        #expect(resumed["status"] as? String == "done", "\(resumed)")
        #expect(try workflowTrailers(sb, v).sorted() == ["\(id)/a", "\(id)/b", "\(id)/c"])
        sb.expectFsckClean(v)
    }

    struct BadWorkflow: Sendable, CustomStringConvertible {
        let label: String
        let text: String
        let line: Int
        let words: String
        var description: String { label }
    }

    static let badWorkflows: [BadWorkflow] = [
        BadWorkflow(label: "unknown agent", text: "steps:\n  - id: a\n    agent: one\n  - id: b\n    agent: ghost\n", line: 5, words: "unknown agent 'ghost'"),
        BadWorkflow(label: "cycle", text: "steps:\n  - id: a\n    agent: one\n    needs: [b]\n  - id: b\n    agent: two\n    with: {note: \"{{steps.a.summary}}\"}\n",
                    line: 3, words: "cycle"),
        BadWorkflow(label: "unknown step reference", text: "steps:\n  - id: a\n    agent: one\n    with: {note: \"{{steps.nope.output.file}}\"}\n",
                    line: 3, words: "step 'nope'"),
        BadWorkflow(label: "unknown input", text: "steps:\n  - id: a\n    agent: one\n    with: {note: \"{{inputs.lead}}\"}\n", line: 5, words: "no input 'lead'"),
        BadWorkflow(label: "bad cron", text: "on:\n  schedule: \"61 * * * *\"\nsteps:\n  - id: a\n    agent: one\n", line: 3, words: "invalid cron expression"),
        BadWorkflow(label: "bad gate", text: "steps:\n  - id: a\n    agent: one\n    gate: maybe\n", line: 5, words: "unknown gate 'maybe'"),
    ]

    @Test(arguments: badWorkflows)
    func validationNamesFileLineAndReason(bad: BadWorkflow) throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try sb.write(v + "/workflows/broken.md", "---\n" + bad.text + "---\nBroken.\n")
        try sb.snapshot(v, "Add a broken workflow")
        let before = try sb.gitOK(["for-each-ref"], cwd: v)
        let r = sb.runCairn(["workflow", "run", "broken"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("workflows/broken.md:\(bad.line):"), "expected workflows/broken.md:\(bad.line): in \(r)")
        #expect(r.stderr.contains(bad.words), "\(r)")
        #expect(try sb.gitOK(["for-each-ref"], cwd: v) == before, "a refused run wrote refs")
        let doctor = sb.runCairn(["doctor"], cwd: v)
        #expect(doctor.status == 1, "\(doctor)")
        #expect(doctor.stdout.contains("workflows/broken.md:\(bad.line):") && doctor.stdout.contains(bad.words), "\(doctor)")
        let list = sb.runCairn(["workflow", "list", "--json"], cwd: v)
        #expect(list.status == 1)
        let problems = try #require(try jsonObject(list.stdoutData)["problems"] as? [[String: Any]])
        #expect(problems.first?["line"] as? Int == bad.line, "\(problems)")
    }

    @Test func missingAndUnknownInputsAreRefused() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let before = try sb.gitOK(["for-each-ref"], cwd: v)
        let missing = sb.runCairn(["workflow", "run", "lead-qualification"], cwd: v)
        #expect(missing.status == 1 && missing.stderr.contains("workflows/lead-qualification.md") && missing.stderr.contains("missing required input lead"), "\(missing)")
        let unknown = sb.runCairn(["workflow", "run", "weekly-review", "--input", "x=1"], cwd: v)
        #expect(unknown.status == 1 && unknown.stderr.contains("has no input 'x'"), "\(unknown)")
        let usage = sb.runCairn(["workflow", "run", "weekly-review", "--input", "novalue"], cwd: v)
        #expect(usage.status == 2, "\(usage)")
        let ghost = sb.runCairn(["workflow", "run", "ghost"], cwd: v)
        #expect(ghost.status == 1 && ghost.stderr.contains("unknown workflow 'ghost'"), "\(ghost)")
        #expect(try sb.gitOK(["for-each-ref"], cwd: v) == before)
    }

    @Test func cancelStopsARun() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try writeWorkflow(sb, v, "three", Self.threeSteps)
        let id = try #require(try runJSON(sb.runCairn(["workflow", "run", "three", "--json"], cwd: v))["id"] as? String)
        let cancel = try runJSON(sb.runCairn(["cancel", String(id.suffix(4)), "--json"], cwd: v))
        #expect(cancel["status"] as? String == "cancelled")
        #expect((cancel["message"] as? String ?? "").contains("\(id)_a_1"), "the pending proposal is named: \(cancel)")
        // Approving the step's proposal no longer moves the run; resume refuses.
        #expect(sb.runCairn(["approve", "\(id)_a_1"], cwd: v).status == 0)
        let resume = sb.runCairn(["resume", id], cwd: v)
        #expect(resume.status == 1 && resume.stderr.contains("is cancelled"), "\(resume)")
        #expect(try workflowTrailers(sb, v) == ["\(id)/a"], "no later step ran")
        #expect(try state(sb, v, id)["status"] as? String == "cancelled")
        #expect(sb.runCairn(["cancel", id], cwd: v).status == 1, "a cancelled run cannot be cancelled again")
        sb.expectFsckClean(v)
    }

    /// A cancel while another process runs a step: it waits for nothing, and the run stops before its next step.
    @Test func cancelDuringAStepStopsTheRunBeforeTheNextOne() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try sb.addAgent(v, "slow", frontMatter: """
            kind: command
            command: ["sh", "agents/slow.sh"]
            reads: ["memory/projects/**"]
            writes: ["memory/projects/**"]
            timeout: 60s
            """, files: ["agents/slow.sh": "sleep 5\necho slow > memory/projects/slow.md\n"])
        try writeWorkflow(sb, v, "slow", "steps:\n  - id: first\n    agent: slow\n    gate: auto\n  - id: second\n    agent: one\n    gate: auto\n")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(Binaries.cairn))
        process.arguments = ["workflow", "run", "slow"]
        process.currentDirectoryURL = URL(fileURLWithPath: v)
        process.environment = sb.environment()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait for the run's first checkpoint, then cancel while the first step runs.
        var id: String? = nil
        for _ in 0..<100 where id == nil {
            usleep(50_000)
            let refs = try sb.gitLines(["for-each-ref", "--format=%(refname:lstrip=3)", "refs/cairn/workflows/"], cwd: v)
            id = refs.first
        }
        let runID = try #require(id)
        let cancel = sb.runCairn(["cancel", runID], cwd: v)
        #expect(cancel.status == 0, "\(cancel)")
        process.waitUntilExit()
        let final = try state(sb, v, runID)
        #expect(final["status"] as? String == "cancelled", "\(final)")
        #expect(stepStatuses(final) == ["done", "cancelled"])
        #expect(try workflowTrailers(sb, v) == ["\(runID)/first"], "the second step never ran")
        #expect(!FileManager.default.fileExists(atPath: v + "/.git/cairn/workflow-cancel/\(runID)"))
        sb.expectFsckClean(v)
    }

    @Test func aFailingStepIsRetriedThenHandedToTheOperator() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try sb.write(v + "/memory/projects/fail-flag.md", "fail\n")
        try writeWorkflow(sb, v, "flaky", """
            steps:
              - id: try
                agent: flaky
                gate: auto
                retries: 1
                backoff: 0
                on_failure: task
              - id: after
                agent: one
                gate: auto
            """)
        let run = try runJSON(sb.runCairn(["workflow", "run", "flaky", "--json"], cwd: v))
        let id = try #require(run["id"] as? String)
        #expect(run["status"] as? String == "waiting-operator", "\(run)")
        let step = try #require((run["steps"] as? [[String: Any]])?.first)
        #expect(step["attempts"] as? Int == 2)
        // Two failed attempts, each one commit on refs/cairn/runs/ with the step's trailer.
        #expect(try workflowTrailers(sb, v) == ["\(id)/try", "\(id)/try"])
        #expect(try sb.trailer(v, "refs/cairn/runs/\(id)_try_2", "Cairn-Outcome") == "failed")
        // The task note is on main and in the working tree, attributed in the audit.
        let note = "inbox/tasks/\(id)-try.md"
        #expect((run["tasks"] as? [String]) == [note])
        #expect(try sb.gitOK(["show", "main:\(note)"], cwd: v).contains("cairn resume \(id)"))
        #expect(FileManager.default.fileExists(atPath: v + "/" + note))
        #expect(try sb.trailer(v, "main", "Cairn-Operation") == "workflow-task")
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
        // The operator did the step by hand; resume goes on with the next one.
        let resumed = try runJSON(sb.runCairn(["resume", id, "--json"], cwd: v))
        #expect(resumed["status"] as? String == "done", "\(resumed)")
        #expect(stepStatuses(resumed) == ["handed-off", "done"])
        #expect(try workflowTrailers(sb, v).filter { $0 == "\(id)/after" }.count == 1)
        sb.expectFsckClean(v)
    }

    /// kill -9 around the commit of an operator task note, then resume: exactly one task commit, fsck clean.
    /// Run for each `workflow-task` point by `CrashMatrixTests.killNineAtEveryCrashPoint`.
    func aCrashWhileHandingAStepToTheOperatorLeavesOneTask(_ point: CrashPoint) throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try sb.write(v + "/memory/projects/fail-flag.md", "fail\n")
        try writeWorkflow(sb, v, "flaky", """
            steps:
              - id: try
                agent: flaky
                gate: auto
                on_failure: task
            """)
        let crashed = sb.runCairn(["workflow", "run", "flaky", "--json"], cwd: v, env: ["CAIRN_CRASH_AT": point.rawValue])
        #expect(crashed.signaled && crashed.status == 9, "expected SIGKILL at \(point): \(crashed)")
        sb.expectFsckClean(v)
        let id = try #require(try jsonArray(sb.runCairn(["runs", "--json"], cwd: v).stdoutData).first?["id"] as? String)
        // Resuming first finishes the hand-off (the task note exists once), then counts the step as done by hand.
        var resumed = try runJSON(sb.runCairn(["resume", id, "--json"], cwd: v))
        if resumed["status"] as? String != "done" { resumed = try runJSON(sb.runCairn(["resume", id, "--json"], cwd: v)) }
        #expect(resumed["status"] as? String == "done", "\(resumed)")
        let note = "inbox/tasks/\(id)-try.md"
        #expect(try sb.gitLines(["log", "--format=%H", "main", "--", note], cwd: v).count == 1, "one commit adds the task note")
        #expect(try sb.gitOK(["show", "main:\(note)"], cwd: v).contains("cairn resume \(id)"))
        sb.expectFsckClean(v)
    }

    @Test func fallbackSkipAndStepTimeout() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try sb.write(v + "/memory/projects/fail-flag.md", "fail\n")
        try sb.addAgent(v, "sleepy", frontMatter: """
            kind: command
            command: ["sleep", "20"]
            timeout: 60s
            """)
        try writeWorkflow(sb, v, "mixed", """
            steps:
              - id: first
                agent: flaky
                gate: auto
                on_failure: one
              - id: slow
                agent: sleepy
                timeout: 1s
                on_failure: skip
              - id: last
                agent: two
                gate: auto
                with: {note: "{{steps.first.outcome}} {{steps.slow.outcome}}"}
            """)
        let run = try runJSON(sb.runCairn(["workflow", "run", "mixed", "--json"], cwd: v))
        let id = try #require(run["id"] as? String)
        #expect(run["status"] as? String == "done", "\(run)")
        #expect(stepStatuses(run) == ["done", "skipped", "done"])
        let steps = try #require(run["steps"] as? [[String: Any]])
        #expect(steps[0]["usedFallback"] as? Bool == true && steps[0]["run"] as? String == "\(id)_first_fallback")
        #expect((steps[1]["failure"] as? String ?? "").contains("timed out"), "\(steps[1])")
        // The failed attempt and the fallback are both the step's commits; the timed-out run has its record too.
        let trailers = try workflowTrailers(sb, v)
        #expect(trailers.filter { $0 == "\(id)/first" }.count == 2 && trailers.filter { $0 == "\(id)/slow" }.count == 1, "\(trailers)")
        #expect(try sb.trailer(v, "proposals/\(id)_first_fallback", "Cairn-Agent") == "one")
        #expect(try sb.gitOK(["show", "proposals/\(id)_last_1:memory/projects/two.md"], cwd: v) == "two: proposed failed")
        sb.expectFsckClean(v)
    }

    @Test func aRetryWaitsForItsBackoff() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try sb.write(v + "/memory/projects/fail-flag.md", "fail\n")
        try writeWorkflow(sb, v, "flaky", "steps:\n  - id: try\n    agent: flaky\n    retries: 2\n    backoff: 10m\n")
        let run = try runJSON(sb.runCairn(["workflow", "run", "flaky", "--json"], cwd: v))
        let id = try #require(run["id"] as? String)
        #expect(run["status"] as? String == "waiting-retry")
        #expect(run["retryAt"] as? String == "2026-03-01T09:10:00Z", "\(run)")
        // The operator fixes the cause and resumes: the retry runs now and succeeds, and the gate waits.
        try FileManager.default.removeItem(atPath: v + "/memory/projects/fail-flag.md")
        try sb.snapshot(v, "fixed")
        let resumed = try runJSON(sb.runCairn(["resume", id, "--json"], cwd: v))
        #expect(resumed["status"] as? String == "waiting-approval", "\(resumed)")
        #expect(sb.revParse(v, "proposals/\(id)_try_2") != nil)
    }

    @Test func aLaterFailureRunsTheCompensationOfAMergedStep() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try sb.write(v + "/memory/projects/fail-flag.md", "fail\n")
        try writeWorkflow(sb, v, "undoing", """
            steps:
              - id: first
                agent: one
                gate: approve
                compensate: {agent: undo, with: {note: "undo {{steps.first.run}}"}}
              - id: second
                agent: flaky
                gate: auto
                on_failure: fail
            """)
        let id = try #require(try runJSON(sb.runCairn(["workflow", "run", "undoing", "--json"], cwd: v))["id"] as? String)
        #expect(sb.runCairn(["approve", "\(id)_first_1"], cwd: v).status == 0)
        let failed = try state(sb, v, id)
        #expect(failed["status"] as? String == "failed", "\(failed)")
        #expect(stepStatuses(failed) == ["done", "failed"])
        // The compensation is one proposal with its own trailer, fed by the step's output.
        #expect(try sb.trailer(v, "proposals/\(id)_first_undo", "Cairn-Workflow") == "\(id)/first/compensate")
        #expect(try sb.gitOK(["show", "proposals/\(id)_first_undo:memory/projects/undo.md"], cwd: v) == "undo: undo \(id)_first_1")
        let note = try sb.gitOK(["show", "main:inbox/tasks/\(id)-second.md"], cwd: v)
        #expect(note.contains("first: undo run \(id)_first_undo"), "\(note)")
        #expect(sb.runCairn(["runs", id], cwd: v).stdout.contains("failed"))
        // resume of a failed run is refused; `cairn runs` exits 0.
        #expect(sb.runCairn(["resume", id], cwd: v).status == 1)
        sb.expectFsckClean(v)
    }

    @Test func leadQualificationExampleRunsOffline() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let list = sb.runCairn(["workflow", "list"], cwd: v)
        #expect(list.status == 0 && !list.output.contains("invalid"), "\(list)")
        let run = try runJSON(sb.runCairn(["workflow", "run", "lead-qualification", "--input", "lead=inbox/2026-01-06-lead-acme.md", "--json"], cwd: v))
        let id = try #require(run["id"] as? String)
        #expect(sb.runCairn(["approve", "\(id)_file_1"], cwd: v).status == 0)
        #expect(sb.runCairn(["approve", "\(id)_qualify_1"], cwd: v).status == 0)
        #expect(try state(sb, v, id)["status"] as? String == "done")
        let lead = try sb.gitOK(["show", "main:memory/projects/leads/acme-outdoor.md"], cwd: v)
        #expect(lead.contains("**good fit**") && lead.contains("tags: [lead, qualified]"), "\(lead)")
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
        sb.expectFsckClean(v)
    }

    @Test func discoveryCallExampleRunsOffline() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let run = try runJSON(sb.runCairn(["workflow", "run", "discovery-call", "--input", "company=Acme Outdoor", "--input", "when=2026-03-05", "--json"], cwd: v))
        let id = try #require(run["id"] as? String)
        #expect(sb.runCairn(["approve", "\(id)_context_1"], cwd: v).status == 0)
        #expect(sb.runCairn(["approve", "\(id)_brief_1"], cwd: v).status == 0)
        let done = try state(sb, v, id)
        #expect(done["status"] as? String == "done", "\(done)")
        #expect(try sb.gitOK(["show", "proposals/\(id)_follow-up_1:memory/working/follow-ups.md"], cwd: v).contains("2026-03-07: follow up with Acme Outdoor"))
        let summary = try sb.gitOK(["show", "proposals/\(id)_summary_1:memory/working/calls/acme-outdoor-summary.md"], cwd: v)
        #expect(summary.contains("Brief: memory/projects/calls/acme-outdoor-brief.md") && summary.contains("Follow-up due: 2026-03-07"), "\(summary)")
    }
}
