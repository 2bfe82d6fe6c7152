import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct WorkflowCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "workflow",
            abstract: "List and run the vault's workflows.",
            subcommands: [List.self, Run.self]
        )

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List the workflows in workflows/ and report invalid definitions.")
            @OptionGroup var vaultOptions: VaultOptions
            @OptionGroup var output: OutputOptions

            struct Listing: Encodable { let workflows: [WorkflowDefinition]; let problems: [FileProblem] }

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                let catalog = vault.workflowCatalog()
                let out = Output(env)
                if output.json {
                    try out.json(Listing(workflows: catalog.definitions, problems: catalog.problems))
                } else {
                    if catalog.definitions.isEmpty { out.line("No workflows in workflows/.") }
                    for w in catalog.definitions {
                        out.line(out.paint(w.name, .bold) + (w.description.map { " — \($0)" } ?? ""))
                        out.line("    steps " + w.steps.map { "\($0.id) (\($0.agent)\($0.gate == .approve ? ", approve" : ""))" }.joined(separator: " → "))
                        if !w.inputs.isEmpty {
                            out.line("    inputs " + w.inputs.map { $0.name + ($0.required ? " (required)" : $0.defaultValue.map { "=\($0)" } ?? "") }.joined(separator: ", "))
                        }
                        if !w.triggers.isEmpty { out.line("    on " + w.triggers.map(\.description).joined(separator: "; ")) }
                    }
                    for p in catalog.problems { out.line(out.paint("invalid: ", .red) + p.description) }
                }
                if !catalog.problems.isEmpty { throw CLIFailure(message: "", status: 1) }
            }
        }

        struct Run: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "run", 
                abstract: "Start a workflow and run its steps until one waits for you or all are done.",
                discussion: "Each step is one agent run (one commit). The run's progress is checkpointed in git; `cairn runs` shows it and `cairn resume RUN` continues it."
            )
            @OptionGroup var vaultOptions: VaultOptions
            @Argument(help: "The workflow's name (its file in workflows/ without .md).")
            var name: String
            @OptionGroup var input: InputOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                let run = try vault.startWorkflow(name: name, input: input.values, trigger: nil, now: env.now, options: try WorkflowCLI.options(vault, env))
                try WorkflowCLI.finish(run, json: output.json, env: env)
            }
        }
    }

    struct Runs: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "runs", abstract: "Show the status of every workflow run, or the steps of one.")
        @OptionGroup var vaultOptions: VaultOptions
        @Argument(help: "A run id (a unique prefix or suffix is enough) to show its steps.")
        var id: String?
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let out = Output(env)
            if let id {
                let run = try vault.workflowRun(id)
                if output.json { return try out.json(run) }
                WorkflowCLI.render(run, out, detailed: true)
                return
            }
            let runs = try vault.workflowRuns()
            if output.json { return try out.json(runs) }
            if runs.isEmpty { out.line("No workflow runs. Start one with `cairn workflow run NAME`."); return }
            for r in runs { WorkflowCLI.render(r, out, detailed: false) }
        }
    }

    struct Resume: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "resume", 
            abstract: "Continue a workflow run from its last checkpoint.",
            discussion: "Steps whose commit exists are never run again. A waiting retry runs now; a step handed to you counts as done by you."
        )
        @OptionGroup var vaultOptions: VaultOptions
        @Argument(help: "The run id (a unique prefix or suffix is enough).")
        var id: String
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let run = try vault.resumeWorkflow(runID: id, now: env.now, options: try WorkflowCLI.options(vault, env))
            try WorkflowCLI.finish(run, json: output.json, env: env)
        }
    }

    struct Cancel: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "cancel", 
            abstract: "Stop a workflow run; no further step starts.",
            discussion: "Proposals its steps already made stay in the review queue."
        )
        @OptionGroup var vaultOptions: VaultOptions
        @Argument(help: "The run id (a unique prefix or suffix is enough).")
        var id: String
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let run = try vault.cancelWorkflow(runID: id, now: env.now, author: try env.identity(for: vault))
            let out = Output(env)
            if output.json { return try out.json(run) }
            if run.status == .cancelled {
                out.line("Cancelled \(run.id)" + (run.message.map { ": \($0)" } ?? "") + ".")
            } else {
                out.line("Cancel requested for \(run.id): it is in the middle of a step and stops before its next one.")
            }
        }
    }
}

/// What the workflow commands share: building options from the environment and rendering runs.
enum WorkflowCLI {
    static func options(_ vault: Vault, _ env: Environment) throws -> WorkflowOptions {
        var o = WorkflowOptions(author: try env.identity(for: vault))
        o.environment = env.variables
        if env.variables["CAIRN_NOW"] == nil { o.clock = { Date() } }
        return o
    }

    /// Prints a run after start/resume; a failed run exits 1.
    static func finish(_ run: WorkflowRun, json: Bool, env: Environment) throws {
        let out = Output(env)
        if json { try out.json(run) } else { render(run, out, detailed: true) }
        if run.status == .failed { throw CLIFailure(message: "", status: 1) }
    }

    static func render(_ r: WorkflowRun, _ out: Output, detailed: Bool) {
        let style: Output.Style = r.status == .done ? .green : (r.status == .failed ? .red : (r.status == .cancelled ? .dim : .yellow))
        let done = r.steps.filter { [.done, .skipped, .handedOff].contains($0.status) }.count
        out.line(out.paint(r.id, .bold) + "  " + r.workflow + "  " + out.paint(r.status.rawValue, style)
                 + "  \(done)/\(r.steps.count) steps" + (r.retryAt.map { ", retry at \($0)" } ?? ""))
        if let m = r.message { out.line("    " + m) }
        guard detailed else { return }
        for s in r.steps {
            var line = "    \(s.id) (\(s.agent)): \(s.status.rawValue)"
            if let run = s.run { line += "  run \(run)" }
            if let o = s.outcome { line += "  \(o)" }
            if s.attempts > 1 { line += "  after \(s.attempts) attempts" }
            if s.usedFallback { line += "  (fallback)" }
            if let c = s.compensation { line += "  undone by \(c)" }
            out.line(line)
            if let f = s.failure, [.failed, .waitingRetry, .waitingOperator, .skipped].contains(s.status) { out.line("        " + f) }
        }
        for t in r.tasks { out.line("    task note: \(t)") }
    }

    /// After approve/reject: the workflow runs that went on, or why one could not (the decision stands).
    static func report(_ outcome: DecisionOutcome, env: Environment, quiet: Bool) {
        let out = Output(env)
        for r in outcome.advanced where !quiet {
            out.line("Workflow run \(r.id) goes on:")
            render(r, out, detailed: false)
        }
        if let elsewhere = outcome.goesOnElsewhere, !quiet { out.line("The \(elsewhere).") }
        if let problem = outcome.workflowProblem {
            ErrorReporting.printError("cairn: the workflow waiting on \(outcome.result.id) could not go on: \(problem); `cairn resume` it")
        }
    }
}
