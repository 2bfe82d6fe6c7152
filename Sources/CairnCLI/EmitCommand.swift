import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Emit: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "emit", 
            abstract: "Record an event in inbox/events/ and start the workflows listening to it.",
            discussion: "The event is one commit on main; each workflow whose `on: event` names it starts with the event's fields as inputs (those it declares).")
        @OptionGroup var vaultOptions: VaultOptions
        @Argument(help: "The event's name, for example lead.created.")
        var event: String
        @Option(help: ArgumentHelp("The event's data as JSON.", valueName: "json"))
        var data: String?
        @OptionGroup var output: OutputOptions

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let result = try vault.emit(event: event, data: data.map { Data($0.utf8) }, now: env.now,
                                        options: try WorkflowCLI.options(vault, env))
            let out = Output(env)
            if output.json { return try out.json(result) }
            out.line("Recorded \(result.event.event) as \(result.path) (\(result.commit.prefix(10))).")
            if result.deferredToTick { out.line("A tick is running; the next `cairn tick` starts the workflows listening to it.") }
            for a in result.triggered { out.line("  " + TickCLI.describe(a, out: out)) }
            if !result.deferredToTick && result.triggered.isEmpty { out.line("No workflow listens to \(result.event.event).") }
        }
    }
}
