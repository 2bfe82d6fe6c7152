import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Clone: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "clone",
            abstract: "Make a working vault from a remote: history, proposals, decisions and workflow state.",
            discussion: "The remote is named origin. Set this machine's name with `git config cairn.machine NAME` in the new vault (default: the host name).")

        @Argument(help: "The vault's URL (path, file://, ssh://, user@host:path, git://, https://).") var url: String
        @Argument(help: "The folder to create (default: the URL's last part without .git).") var directory: String?
        @OptionGroup var output: OutputOptions

        func run() throws {
            Environment.surviveBrokenConnections()
            let env = Environment.current
            let remoteURL = Environment.remoteURL(url, cwd: env.cwd)
            var name = (remoteURL as NSString).lastPathComponent
            if name.hasSuffix(".git") { name = String(name.dropLast(4)) }
            let target = env.absolute(directory ?? (name.isEmpty ? "vault" : name))
            let credentials = try env.transportCredentials(tokenEnv: "CAIRN_SYNC_TOKEN")
            let progress = ProgressLine.onTerminal(env, json: output.json)
            defer { progress?.finish() }
            let (_, report) = try Vault.clone(url: remoteURL, into: target, credentials: credentials, hostName: Environment.hostName,
                                              now: env.now, progress: progress?.transferHandler)
            progress?.finish()
            let out = Output(env)
            if output.json { return try out.json(report) }
            out.line("Cloned \(report.remote.url) into \(report.root): \(report.files) files, main at \(report.main.prefix(10)), "
                     + "\(report.refs) proposal and vault-state refs.")
            out.line("Next: `cd \(report.root) && cairn status`.")
        }
    }
}
