import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Proposals: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "proposals", abstract: "List the proposals waiting for your review, oldest first.")
        @OptionGroup var vaultOptions: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let list = try vault.proposals()
            let out = Output(env)
            if output.json { return try out.json(list) }
            if list.isEmpty { out.line("No pending proposals."); return }
            for p in list {
                var flags: [String] = []
                if !p.stalePaths.isEmpty { flags.append(out.paint("stale", .red)) }
                if !p.needsReview.isEmpty { flags.append(out.paint("needs review", .yellow)) }
                out.line(out.paint(p.id, .yellow) + "  " + p.subject + (flags.isEmpty ? "" : "  [" + flags.joined(separator: ", ") + "]"))
                out.line("    agent \(p.agent), \(p.changes.count) file\(p.changes.count == 1 ? "" : "s"), "
                         + out.paint("+\(p.stats.insertions)", .green) + " " + out.paint("-\(p.stats.deletions)", .red)
                         + ", " + Output.relativeDate(p.createdAt, now: env.now))
            }
        }
    }

    struct Review: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "review", abstract: "Show a proposal's diff, stats and run record (default: the oldest pending).")
        @OptionGroup var vaultOptions: VaultOptions
        @Argument(help: "The run id (a unique prefix or suffix is enough).")
        var id: String?
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let r = try vault.review(id)
            let out = Output(env)
            if output.json { return try out.json(r) }
            let p = r.proposal
            var text = out.paint("proposal \(p.id)", .yellow) + "\n"
            text += "Agent:  \(p.agent)\n"
            text += "Base:   \(p.base.prefix(10))   Commit: \(p.commit.prefix(10))\n"
            if let rec = r.record {
                if !rec.input.isEmpty { text += "Input:  " + rec.input.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "\n" }
                text += "Shown:  \(rec.retrieval.count) memory item\(rec.retrieval.count == 1 ? "" : "s")"
                    + " (\(rec.retrieval.reduce(0) { $0 + $1.tokens }) tokens)\n"
                if let m = rec.model {
                    text += "Model:  \(m.model ?? "?"), \(m.promptTokens + m.completionTokens) tokens, $\(String(format: "%.4f", m.costUSD))\n"
                }
                text += "Took:   \(rec.durationMs) ms\n"
            }
            if !p.stalePaths.isEmpty { text += out.paint("Stale: ", .red) + "main changed \(p.stalePaths.joined(separator: ", ")) since the agent read them; approving will refuse.\n" }
            for n in p.needsReview { text += out.paint("Needs review: ", .yellow) + n + "\n" }
            text += "\n    \(p.subject)\n\n"
            text += " \(p.stats.filesChanged) file\(p.stats.filesChanged == 1 ? "" : "s") changed, \(p.stats.insertions) insertions(+), \(p.stats.deletions) deletions(-)\n\n"
            if let links = r.record?.links, !links.isEmpty {
                let notes = Set(links.map(\.path)).count
                text += out.paint("Links updated:", .yellow) + " \(links.count) in \(notes) note\(notes == 1 ? "" : "s") (the proposal renamed or moved what they lead to; policy links.update_on_rename)\n"
                for l in links { text += "  " + out.paint("\(l.path):\(l.line)", .magenta) + "  \(l.old) -> \(l.new)\n" }
                text += "\n"
            }
            text += out.colorPatch(r.patch)
            text += "\nApprove with `cairn approve \(p.id)` or reject with `cairn reject \(p.id)`.\n"
            out.page(text, env: env)
        }
    }

    struct Approve: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "approve", 
            abstract: "Merge a proposal into main, record the approval and update the working tree.",
            discussion: "Your edits are snapshotted first and never overwritten; a proposal whose files changed on main since the agent read them is refused as stale."
        )
        @OptionGroup var vaultOptions: VaultOptions
        @Argument(help: "The run id (a unique prefix or suffix is enough).")
        var id: String
        @Option(parsing: .unconditional, help: "A note stored in the approval record.")
        var note: String?
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let outcome = try vault.decide(id, .approve, note: note, now: env.now, options: try WorkflowCLI.options(vault, env))
            let r = outcome.result
            let out = Output(env)
            if output.json { try out.json(r) } else {
                out.line("Approved \(r.id): merged into \(vault.branch) as \(r.commit.prefix(10)); record \(r.approvalRecord).")
                if !r.keptOperatorEdits.isEmpty {
                    out.line(out.paint("Kept your edits to ", .yellow) + r.keptOperatorEdits.joined(separator: ", ") + " (the merged version is in the commit).")
                }
            }
            WorkflowCLI.report(outcome, env: env, quiet: output.json)
        }
    }

    struct Reject: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "reject", abstract: "Reject a proposal: record the decision and archive its branch.")
        @OptionGroup var vaultOptions: VaultOptions
        @Argument(help: "The run id (a unique prefix or suffix is enough).")
        var id: String
        @Option(parsing: .unconditional, help: "Why, stored in the decision record.")
        var note: String?
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let outcome = try vault.decide(id, .reject, note: note, now: env.now, options: try WorkflowCLI.options(vault, env))
            let r = outcome.result
            let out = Output(env)
            if output.json { try out.json(r) } else { out.line("Rejected \(r.id); recorded in \(r.approvalRecord) (\(r.commit.prefix(10))).") }
            WorkflowCLI.report(outcome, env: env, quiet: output.json)
        }
    }

    struct Why: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "why", abstract: "Explain which commit, run, agent and inputs produced a file or line.")
        @OptionGroup var vaultOptions: VaultOptions
        @Argument(help: "PATH or PATH:LINE.")
        var target: String
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            var path = target
            var line: Int? = nil
            if let colon = target.lastIndex(of: ":"), let n = Int(target[target.index(after: colon)...]) {
                path = String(target[..<colon])
                line = n
            }
            let w = try vault.why(path: try vaultRelative(path, vault: vault, env: env), line: line)
            let out = Output(env)
            if output.json { return try out.json(w) }
            if let line, let text = w.text { out.line("\(w.path):\(line): \(text)") }
            out.line("Commit  \(w.commit.prefix(10))  \(w.summary)")
            out.line("By      \(w.actor), \(Output.day(w.date))")
            if let run = w.run { out.line("Run     \(run)" + (w.workflow.map { " (workflow \($0))" } ?? "")) }
            if let input = w.input, !input.isEmpty { out.line("Input   " + input.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")) }
            if let model = w.model { out.line("Model   \(model)") }
            if let items = w.retrieval, !items.isEmpty {
                out.line("Shown   \(items.count) item\(items.count == 1 ? "" : "s"):")
                for i in items.prefix(20) { out.line("        \(i.path) @ \(i.blob.prefix(10)) (\(i.reason))") }
            }
            if let a = w.approval {
                out.line("Decided \(a.decision.rawValue) by \(a.decidedBy) at \(a.decidedAt)" + (a.note.map { ": \($0)" } ?? "") + (a.rule.map { " [\($0)]" } ?? ""))
            }
            if let o = w.outbox {
                out.line("Outbox  \(o.state.rawValue), key \(o.key), \(o.attempts) attempt\(o.attempts == 1 ? "" : "s")")
                for c in o.history { out.line("        \(c.at) \(c.state.rawValue)" + (c.detail.map { ": \($0)" } ?? "")) }
            }
        }
    }

    struct PolicyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy", abstract: "Show the policy in force, agents' autonomy, quotas and circuit breakers.",
            subcommands: [Show.self, Reset.self, ScanSecrets.self], defaultSubcommand: Show.self)
    }
}
