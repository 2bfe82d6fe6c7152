import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "init", 
            abstract: "Create a vault, or adopt an existing folder of notes or git repository.",
            discussion: """
            In a new or empty folder, copies the default vault and makes the first commit on `main`. In a folder \
            of notes, keeps every file and commits them with the missing scaffolding. In a git repository, keeps \
            all history and adds only the missing scaffolding in one commit. Never overwrites an existing file. \
            The scaffolding is structure only (READMEs, policy, agents, workflows, empty forms for core memory); \
            --example adds a made-up business's notes for trying cairn out.
            """
        )

        @Argument(help: "The folder for the vault (default: the current folder).")
        var directory: String?

        @Option(help: "The operator's name (stored in .cairn/config.json; default: git config user.name).")
        var name: String?

        @Option(help: "The operator's email (stored in .cairn/config.json; default: git config user.email).")
        var email: String?

        @Option(help: ArgumentHelp("Copy this folder instead of the built-in default vault.", valueName: "folder"))
        var template: String?

        @Flag(help: "Also add the notes of a made-up business (core memory, a lead, a project, a price list) to show how the pieces fit together; for trying cairn out, not for a real vault.")
        var example = false

        @OptionGroup var output: OutputOptions

        func validate() throws {
            if example && template != nil { throw ValidationError("--example adds to the built-in vault; it cannot be combined with --template") }
            if (name == nil) != (email == nil) { throw ValidationError("give both --name and --email, or neither") }
            if let name, name.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--name cannot be empty") }
            if let email, !email.contains("@") { throw ValidationError("--email must be an email address") }
        }

        func run() throws {
            let env = Environment.current
            let target = env.absolute(directory ?? ".")
            let tmpl = try template.map { try VaultTemplate.load(directory: env.absolute($0)) } ?? (example ? .embedded : .structure)
            let identity = name.flatMap { n in email.map { OperatorIdentity(name: n, email: $0) } }
            let result = try Vault.initialize(at: target, template: tmpl, identity: identity,
                                              globalConfigFile: env.globalGitConfig, now: env.now)
            let out = Output(env)
            if output.json { return try out.json(result) }
            switch result.mode {
            case .alreadyVault:
                out.line("\(result.root) is already a Cairn vault; nothing changed.")
            case .created:
                out.line("Created a Cairn vault in \(result.root) (\(result.added.count) files, commit \(result.commit.map { String($0.prefix(10)) } ?? "-") on \(result.branch)).")
            case .adoptedFolder:
                out.line("Adopted \(result.root): your files and \(result.added.count) scaffolding files are in the first commit on \(result.branch).")
            case .adoptedRepository:
                out.line("Adopted the git repository \(result.root): history kept, \(result.added.count) scaffolding files added in one commit on \(result.branch).")
            }
            if !result.kept.isEmpty {
                out.line("Kept your existing \(result.kept.joined(separator: ", ")).")
            }
            if result.mode != .alreadyVault {
                out.line("Next: edit notes in any editor, then `cairn snapshot`; `cairn status` shows what changed.")
            }
        }
    }
}
