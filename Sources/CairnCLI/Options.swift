import ArgumentParser
import CairnKit
import Foundation

/// Where the vault is: shared by every command that works in one.
struct VaultOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The vault's folder (default: $CAIRN_VAULT, else the current folder or the nearest one above it).", valueName: "path"))
    var vault: String?

    /// Opens the vault the options and environment point to.
    func open(_ env: Environment) throws -> Vault {
        try Vault.locate(explicit: vault, environment: env.variables["CAIRN_VAULT"], cwd: env.cwd)
    }
}

/// `--json` for read commands.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false
}
