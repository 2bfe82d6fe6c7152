import ArgumentParser
import CairnKit
import Foundation

/// Where the vault is: shared by every command that works in one.
struct VaultOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The vault's folder (default: $CAIRN_VAULT, else the current folder or the nearest one above it).", valueName: "path"))
    var vault: String?

    /// Opens the vault the options and environment point to.
    func open(_ env: Environment) throws -> Vault {
        let opened = try Vault.locate(explicit: vault, environment: env.variables["CAIRN_VAULT"], cwd: env.cwd)
        opened.hostName = Environment.hostName
        return opened
    }
}

/// `--json` for read commands.
/// `--input key=value`, repeatable: a run's task inputs (agent and workflow runs).
struct InputOptions: ParsableArguments {
    @Option(name: .customLong("input"), help: ArgumentHelp("An input as key=value (repeat for several).", valueName: "key=value"))
    var inputs: [String] = []

    func validate() throws {
        for i in inputs where !i.contains("=") || i.hasPrefix("=") {
            throw ValidationError("--input takes key=value, got '\(i)'")
        }
    }

    /// The inputs by key; a later repeat of a key wins.
    var values: [String: String] {
        var values: [String: String] = [:]
        for i in inputs {
            let parts = i.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            values[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        return values
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false
}
