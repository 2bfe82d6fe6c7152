import ArgumentParser
import CairnKit
import Foundation

extension Cairn {
    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "watch",
            abstract: "Run a watcher that tells commands which files changed, so they need not check them all.",
            discussion: """
            Without a watcher, status, snapshot, sync and every search stat each file of the working tree to \
            find uncommitted edits (about 100 ms at 100,000 notes). A watcher follows changes with inotify and \
            hands each check the paths changed since the last one, so that check costs only what changed. It is \
            optional: commands are correct without it, and fall back to the full check when it is not running, \
            was restarted, or lost events. On a vault of 10,000 files or more the first full check starts it \
            in the background by itself (at most once every ten minutes); `git config cairn.autoWatch false` \
            turns that off, a number sets the size from which it starts.
            """,
            subcommands: [Start.self, Stop.self, Status.self, Run.self],
            defaultSubcommand: Status.self
        )

        struct Start: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "start",
                abstract: "Start the vault's watcher in the background (its log: .git/cairn/watch.log).")
            @OptionGroup var vaultOptions: VaultOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                let out = Output(env)
                if let status = WatchClient.status(gitDir: vault.gitDir, root: vault.root) {
                    if output.json { return try out.json(status) }
                    return out.line("The watcher is already running for \(vault.root) (pid \(status.pid)).")
                }
                let status: WatchClient.Status
                do {
                    status = try VaultWatcher.spawn(vault: vault, executable: VaultWatcher.currentExecutable, arguments: ["watch", "run", "--vault", vault.root],
                                                    environment: env.variables)
                } catch let failure as VaultWatcher.Failure {
                    throw CLIFailure(message: "cairn: \(failure)", status: 1)
                }
                if output.json { return try out.json(status) }
                out.line("Started the watcher for \(vault.root) (pid \(status.pid), \(status.folders) folders watched).")
            }
        }

        struct Stop: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "stop", abstract: "Stop the vault's watcher.")
            @OptionGroup var vaultOptions: VaultOptions

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                let out = Output(env)
                guard let status = WatchClient.status(gitDir: vault.gitDir, root: vault.root) else {
                    return out.line("No watcher is running for \(vault.root).")
                }
                WatchClient.stop(gitDir: vault.gitDir, root: vault.root)
                // Wait until it is gone, so a `start` right after does not find it still bound.
                for _ in 0..<500 where kill(pid_t(status.pid), 0) == 0 { usleep(10_000) }
                out.line("Stopped the watcher for \(vault.root) (pid \(status.pid)).")
            }
        }

        struct Status: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "status", abstract: "Show whether the vault's watcher is running.")
            @OptionGroup var vaultOptions: VaultOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                let out = Output(env)
                let status = WatchClient.status(gitDir: vault.gitDir, root: vault.root)
                if output.json {
                    struct Report: Encodable { let running: Bool; let watcher: WatchClient.Status? }
                    return try out.json(Report(running: status != nil, watcher: status))
                }
                guard let status else {
                    return out.line("No watcher is running for \(vault.root); commands check every file (start one with `cairn watch start`; on a large vault the next full check starts it unless `cairn.autoWatch` is false).")
                }
                out.line("Watching \(vault.root): pid \(status.pid), \(status.folders) folders, since \(status.startedAt), "
                         + "\(status.pending) changed paths recorded.")
            }
        }

        struct Run: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "run",
                abstract: "Run the vault's watcher in the foreground until stopped (SIGTERM, SIGINT or `cairn watch stop`).")
            @OptionGroup var vaultOptions: VaultOptions

            func run() throws {
                let env = Environment.current
                let vault = try vaultOptions.open(env)
                let watcher = VaultWatcher(vault: vault)
                do {
                    try watcher.run(ready: {
                        FileHandle.standardError.write(Data("cairn: watching \(vault.root)\n".utf8))
                    })
                } catch let failure as VaultWatcher.Failure {
                    throw CLIFailure(message: "cairn: \(failure)", status: 1)
                }
                FileHandle.standardError.write(Data("cairn: stopped watching \(vault.root)\n".utf8))
            }
        }
    }
}
