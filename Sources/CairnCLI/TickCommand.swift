import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Tick: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "tick", 
            abstract: "Run what is due (schedules, path triggers, events, retries) and report what waits for you.",
            discussion: "Meant for cron or a systemd timer, every minute. Quiet when nothing happened; a second tick while one runs exits at once.")
        @OptionGroup var vaultOptions: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let author = try env.identity(for: vault)
            var sync: SyncOptions? = nil
            let tickRemote = vault.config.sync.tickRemote
            if !tickRemote.isEmpty {
                Environment.surviveBrokenConnections()
                do {
                    sync = SyncOptions(author: author, credentials: try env.transportCredentials(tokenEnv: vault.config.sync.tokenEnv, timeoutSeconds: vault.config.sync.timeoutSeconds))
                } catch {
                    ErrorReporting.printError("cairn: tick: sync with \(tickRemote) is skipped: \(error)")
                }
            }
            let cycle = try vault.tickCycle(now: env.now, author: author, options: TickCycleOptions(
                sync: sync, connectors: env.connectorEnvironment(sending: vault), workflowOptions: { try WorkflowCLI.options($0, env) }))
            for m in cycle.syncMessages { ErrorReporting.printError("cairn: tick: " + m) }
            let report = cycle.workflows
            let out = Output(env)
            if output.json { return try out.json(report) }
            ConnectorCLI.lines(cycle.connectors, out: out).forEach { out.line($0) }
            if report.skipped { out.line("Another tick is running; nothing to do."); return }
            if let elsewhere = report.leftToAnotherMachine { out.line("Workflows not run here: " + elsewhere + "."); return }
            if report.since == nil { out.line("First tick: watching schedules, paths and events from now on.") }
            for a in report.actions { out.line(TickCLI.describe(a, out: out)) }
            if let digest = report.digest { out.line("Digest: \(digest)") }
            if !report.waiting.isEmpty && (report.digest != nil || env.stdoutIsTerminal) {
                out.line(out.paint("Waiting for you:", .bold))
                for w in report.waiting { out.line("  - " + w) }
            }
        }
    }
}

enum TickCLI {
    static func describe(_ a: TickAction, out: Output) -> String {
        let color: Output.Style = a.kind == .started || a.kind == .advanced ? .green : (a.kind == .blocked ? .yellow : .red)
        var line = out.paint(a.kind.rawValue, color) + " workflow \(a.workflow)"
        if let run = a.run { line += " run \(run)" }
        if let trigger = a.trigger { line += " (\(trigger))" }
        if let status = a.status { line += " → \(status)" }
        if let detail = a.detail { line += ": \(detail)" }
        return line
    }
}
