import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Log: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "log", 
            abstract: "Show the vault's history: who changed what (you or which agent run), newest first."
        )

        @OptionGroup var vaultOptions: VaultOptions

        @Argument(help: "Only commits that changed this file or folder.")
        var path: String?

        @Option(name: .short, help: "How many commits to show.")
        var n: Int = 20

        @OptionGroup var output: OutputOptions

        func validate() throws {
            if n < 1 { throw ValidationError("-n must be at least 1") }
        }

        func run() throws {
            let env = Environment.current
            let vault = try vaultOptions.open(env)
            let entries = try vault.log(path: try path.map { try vaultRelative($0, vault: vault, env: env) }, limit: n)
            let out = Output(env)
            if output.json { return try out.json(entries) }
            if entries.isEmpty { out.line(path == nil ? "No commits yet." : "No commits changed \(path ?? "")."); return }
            var text = ""
            let now = env.now
            for e in entries {
                text += out.paint(String(e.commit.prefix(10)), .yellow) + "  " + out.paint(e.summary, .bold) + "\n"
                let actorStyle: Output.Style = e.actorKind == "agent" ? .magenta : .cyan
                text += "            " + out.paint(e.actor, actorStyle) + ", " + Output.relativeDate(e.date, now: now)
                text += "  (\(e.stats.filesChanged) file\(e.stats.filesChanged == 1 ? "" : "s"), "
                if e.linesCounted {
                    text += out.paint("+\(e.stats.insertions)", .green) + " " + out.paint("-\(e.stats.deletions)", .red) + ")\n"
                } else {
                    text += "lines not counted: too many files)\n"
                }
            }
            out.page(text, env: env)
        }
    }
}

/// A path given on the command line, made relative to the vault root (it may be relative to the current folder).
///
/// - Throws: `VaultError.invalidArgument` when the path leads outside the vault (`../x`, `/etc/passwd`).
func vaultRelative(_ path: String, vault: Vault, env: Environment) throws -> String {
    let absolute = (env.absolute(path) as NSString).standardizingPath
    if absolute == vault.root { return "" }
    if absolute.hasPrefix(vault.root + "/") { return String(absolute.dropFirst(vault.root.count + 1)) }
    throw VaultError.invalidArgument("\(path) is outside the vault \(vault.root); give a path inside it")
}
