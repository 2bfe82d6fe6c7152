import ArgumentParser
import CairnGit
import CairnKit
import Foundation

/// The entry point the `cairn` executable calls.
public enum CairnMain {
    /// Parses the command line, runs the command and exits with its status.
    public static func run(arguments: [String]? = nil) -> Never {
        if let unknown = unknownCommand(arguments ?? Array(CommandLine.arguments.dropFirst())) {
            ErrorReporting.printError("cairn: unknown command '\(unknown.name)' for `\(unknown.parent)`; `\(unknown.parent) --help` lists the commands")
            exit(2)
        }
        do {
            var command = try Cairn.parseAsRoot(arguments)
            let environment = ProcessInfo.processInfo.environment
            if environment["CAIRN_NO_FSYNC"] == "1" { Libgit2.setFsync(false) }
            // Test-only switch: die with SIGKILL at a named point (see CrashPoints).
            if let point = environment["CAIRN_CRASH_AT"], !point.isEmpty { CrashPoints.arm(point) }
            // A large vault's first full working-tree check starts its watcher (see WatchAutoStart).
            WatchAutoStart.launcher = WatchAutoStart(environment: environment.filter { $0.key != "CAIRN_CRASH_AT" })
            // Hash checks on every object read cost ~10% of a status; git checks hashes only in fsck,
            // and so do we: doctor and audit keep them on.
            if !(command is Cairn.Doctor) && !(command is Cairn.Audit) { Libgit2.setStrictHashVerification(false) }
            // History commands read each commit and folder once: libgit2's object cache would only grow.
            if command is Cairn.Log || command is Cairn.Why { Libgit2.setObjectCaching(false) }
            try command.run()
            exit(0)
        } catch {
            exit(ErrorReporting.report(error))
        }
    }
}

extension CairnMain {
    /// The first word that names no command where only a command can come (`cairn sync --help`), with
    /// the command it follows. ArgumentParser would answer that with the parent's help and status 0.
    static func unknownCommand(_ arguments: [String]) -> (name: String, parent: String)? {
        var command: any ParsableCommand.Type = Cairn.self
        var path = ["cairn"]
        for word in arguments {
            let subcommands = command.configuration.subcommands
            // A command of its own, one with a default subcommand (which takes arguments), or an option.
            guard !subcommands.isEmpty, command.configuration.defaultSubcommand == nil, !word.hasPrefix("-") else { return nil }
            if word == "help" && path.count == 1 { return nil }
            guard let next = subcommands.first(where: { $0._commandName == word }) else {
                return (word, path.joined(separator: " "))
            }
            command = next
            path.append(word)
        }
        return nil
    }
}

struct Cairn: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cairn",
        abstract: "Keep a one-person company's memory, workflows and approvals in a git vault.",
        discussion: """
        A vault is a git repository of Markdown and JSON files. Edit it in any editor; `cairn snapshot` \
        commits your edits. The vault is found from --vault, else $CAIRN_VAULT, else the current folder upward.
        """,
        version: CairnVersion.string,
        subcommands: Cairn.commands
    )

    static let commands: [any ParsableCommand.Type] = [Init.self, Status.self, Snapshot.self, Log.self, Show.self, Diff.self,
        NoteCommand.self, AgentCommand.self, Proposals.self, Review.self, Approve.self, Reject.self, Why.self,
        PolicyCommand.self, Audit.self, Doctor.self, Search.self, IndexCommand.self, Links.self,
        WorkflowCommand.self, Runs.self, Resume.self, Cancel.self, Emit.self, Tick.self, Watch.self,
        Prune.self, Forget.self, MCPCommand.self, Move.self,
        RemoteCommand.self, Clone.self, Sync.self, ConnectorCommand.self, OutboxCommand.self]
}

/// The release version, shown by `cairn --version`.
enum CairnVersion {
    static let string = "0.1.0"
}
