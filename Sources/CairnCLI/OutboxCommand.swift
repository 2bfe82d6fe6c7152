import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct OutboxCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "outbox",
            abstract: "List outbox items and their states, or send the approved ones.",
            discussion: "Items are outbox/<id>.md files that reached main through an approved proposal. Each state change (approved → sending → sent / failed) is a commit on main.",
            subcommands: [List.self, Send.self],
            defaultSubcommand: List.self
        )

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List outbox items and their states, and each sending connector's breaker, rate limit and daily quota.")
            @OptionGroup var vaultOptions: VaultOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                let report = try vault.outboxReport(now: env.now)
                let out = Output(env)
                if output.json { return try out.json(report) }
                let entries = report.items
                if entries.isEmpty { out.line("The outbox is empty.") }
                for e in entries {
                    out.line("\(e.id)  \(e.kind) via \(e.connector)  \(out.paint(e.state, e.state == "failed" ? .red : e.state == "sent" ? .green : .yellow))" + (e.detail.map { "  \($0)" } ?? ""))
                }
                // Each sending connector: its breaker, this minute's sends and today's quota (policy.json).
                let connectors = report.connectors
                if !connectors.isEmpty { out.line("") }
                for c in connectors {
                    var breaker = "breaker \(c.breaker.state.rawValue)"
                    if c.breaker.state != .closed {
                        breaker = out.paint(breaker, .red) + " after \(c.breaker.failedItems.count) failed items in a row (\(c.breaker.failedItems.prefix(5).joined(separator: ", ")))"
                            + (c.breaker.state == .open ? ", tries one again after \(c.breaker.retryAt ?? "?")" : ", tries one item next")
                    }
                    let today = c.sendsPerDay.map { "\(c.sentToday) of \($0) sends today (UTC)" } ?? "\(c.sentToday) sends today (UTC), no daily quota"
                    out.line("connector \(c.connector) (\(c.kind)): \(breaker); \(c.sentLastMinute) of \(c.ratePerMinute) sends in the last minute; \(today)")
                }
            }
        }

        struct Send: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "send", abstract: "Send the approved outbox items (and finish interrupted sends) through their connectors.")
            @OptionGroup var vaultOptions: VaultOptions
            @Argument(help: "Send only this item (its id, the file name without .md).")
            var id: String?
            @OptionGroup var output: OutputOptions

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                let actions = try vault.sendOutbox(now: env.now, author: try env.identity(for: vault), environment: env.connectorEnvironment(sending: vault), only: id)
                let out = Output(env)
                if output.json { return try out.json(actions) }
                if actions.isEmpty { out.line("Nothing to send.") }
                for a in actions { out.line("\(a.id): \(a.state)" + (a.detail.isEmpty ? "" : " — \(a.detail)")) }
                if actions.contains(where: { $0.state == "failed" }) { throw CLIFailure(message: "", status: 1) }
            }
        }
    }
}
