import Foundation
import Testing

@testable import CairnKit

/// Parsing `workflows/NAME.md`: inputs, triggers, steps, placeholders, order and the file:line of every problem.
@Suite struct WorkflowDefinitionTests {
    func parse(_ frontMatter: String) throws -> WorkflowDefinition {
        try WorkflowDefinition.parse(path: "workflows/w.md", data: Data("---\n\(frontMatter)\n---\nBody.\n".utf8))
    }

    func problem(_ frontMatter: String) -> NoteError? {
        do { _ = try parse(frontMatter); return nil } catch let e as NoteError { return e } catch {
            Issue.record("expected a NoteError, got \(error)")
            return nil
        }
    }

    @Test func parsesInputsTriggersAndSteps() throws {
        let w = try parse("""
            description: Test
            inputs:
              lead: {required: true, description: the lead}
              tone: friendly
              when: {default: ""}
            on:
              schedule: ["0 9 * * 1-5", "@daily"]
              paths: "inbox/**"
              event: lead.created
            steps:
              - id: a
                agent: one
                with: {lead: "{{inputs.lead}}", tone: "{{ inputs.tone }}"}
                retries: 2
                backoff: 30s
                timeout: 5m
                on_failure: operator
                compensate: undo
              - id: b
                agent: two
                gate: auto
                on_failure: helper
            """)
        #expect(w.name == "w" && w.description == "Test")
        #expect(w.inputs.map(\.name) == ["lead", "tone", "when"])
        #expect(w.inputs[0].required && w.inputs[1].defaultValue == "friendly" && w.inputs[2].defaultValue == "")
        #expect(w.triggers == [.schedule("0 9 * * 1-5"), .schedule("@daily"), .paths(["inbox/**"]), .event("lead.created")])
        #expect(w.steps.map(\.id) == ["a", "b"])
        let a = w.steps[0]
        #expect(a.gate == .approve && a.retries == 2 && a.backoff == 30 && a.timeout == 300 && a.onFailure == .task)
        #expect(a.compensate?.agent == "undo")
        #expect(w.steps[1].gate == .auto && w.steps[1].onFailure == .fallback("helper") && w.steps[1].backoff == WorkflowDefinition.defaultBackoff)
        #expect(a.line == 12 && w.steps[1].line == 20)
    }

    @Test func failurePoliciesEncodeAsTheWordInTheFile() throws {
        let policies: [WorkflowStep.FailurePolicy] = [.fail, .skip, .task, .fallback("helper")]
        let data = try JSONEncoder().encode(policies)
        #expect(String(decoding: data, as: UTF8.self) == #"["fail","skip","task","helper"]"#)
        #expect(try JSONDecoder().decode([WorkflowStep.FailurePolicy].self, from: data) == policies)
    }

    @Test func aStepRunsAfterTheStepsItRefersTo() throws {
        let w = try parse("""
            steps:
              - id: summary
                agent: s
                with: {brief: "{{steps.brief.output.note}}"}
              - id: context
                agent: c
              - id: brief
                agent: b
                needs: [context]
            """)
        #expect(w.steps.map(\.id) == ["context", "brief", "summary"])
        #expect(w.steps[2].needs == ["brief"])
    }

    @Test func problemsNameTheirLine() throws {
        let cases: [(String, Int, String)] = [
            ("steps: []", 2, "non-empty list"),
            ("inputs: 3\nsteps:\n  - {id: a, agent: x}", 2, "`inputs:` must be"),
            ("on:\n  schedule: \"* * *\"\nsteps:\n  - {id: a, agent: x}", 3, "invalid cron expression"),
            ("on:\n  weekly: yes\nsteps:\n  - {id: a, agent: x}", 3, "unknown trigger 'weekly'"),
            ("steps:\n  - id: a\n    agent: x\n  - id: a\n    agent: y", 5, "used twice"),
            ("steps:\n  - id: a\n    agent: x\n    retries: -1", 5, "`retries:`"),
            ("steps:\n  - id: a\n    agent: x\n    backoff: soon", 5, "invalid backoff"),
            ("steps:\n  - id: a\n    agent: x\n    with: {q: \"{{nope}}\"}", 5, "unknown placeholder"),
            ("steps:\n  - id: a\n    agent: x\n    with: {q: \"{{inputs.q\"}", 5, "without a closing"),
            ("steps:\n  - id: a\n    agent: x\n    with: {q: \"{{steps.a.summary}}\"}", 5, "its own output"),
            ("steps:\n  - id: a\n    agent: x\n    needs: [b]\n  - id: b\n    agent: y\n    needs: [a]", 3, "cycle"),
            ("steps:\n  - id: a\n    agent: x\n    needs: [ghost]", 3, "step 'ghost'"),
            ("steps:\n  - id: a\n    agent: x\n    with: {q: \"{{steps.a.nope}}\"}", 5, "a step offers"),
        ]
        for (text, line, words) in cases {
            let e = problem(text)
            #expect(e?.line == line, "\(text) → \(String(describing: e))")
            #expect(e?.reason.contains(words) == true, "\(text) → \(String(describing: e))")
        }
    }

    @Test func templatesExpandInputsStepsAndTheRun() throws {
        let text = "{{inputs.a}}-{{ steps.s.output.k }}-{{run.id}}"
        #expect(try WorkflowTemplate.references(in: text) == [.input("a"), .step("s", field: "output.k"), .run("id")])
        let out = try WorkflowTemplate.expand(text) { ref in
            switch ref {
            case .input: "A"
            case .step: "S"
            case .run: "R"
            }
        }
        #expect(out == "A-S-R")
        #expect(try WorkflowTemplate.expand("no placeholders {") { _ in "" } == "no placeholders {")
    }

    @Test func missingAndUnknownInputsAreRefused() throws {
        let w = try parse("inputs:\n  lead: {required: true}\n  tone: {default: warm}\nsteps:\n  - {id: a, agent: x}")
        #expect(try Vault.resolveInputs(w, given: ["lead": "l"]) == ["lead": "l", "tone": "warm"])
        #expect(throws: WorkflowError.self) { try Vault.resolveInputs(w, given: [:]) }
        #expect(throws: WorkflowError.self) { try Vault.resolveInputs(w, given: ["lead": "l", "x": "1"]) }
    }

    @Test func templateWorkflowsParse() throws {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("vault-template/workflows")
        for name in ["lead-qualification", "discovery-call", "weekly-review"] {
            let data = try Data(contentsOf: dir.appendingPathComponent(name + ".md"))
            let w = try WorkflowDefinition.parse(path: "workflows/\(name).md", data: data)
            #expect(!w.steps.isEmpty, "\(name)")
        }
    }
}
