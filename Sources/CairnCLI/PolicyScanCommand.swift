import ArgumentParser
import CairnKit
import Foundation

extension Cairn.PolicyCommand {
    /// `cairn policy scan-secrets FILE…`: the secret scan agents' proposals go through, on any files.
    struct ScanSecrets: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "scan-secrets",
            abstract: "Check files for credentials with the same scan that gates agents' proposals.",
            discussion: "Reads the files and writes nothing; needs no vault. Exits 1 when something is found (a line with `cairn:allow-secret` is skipped)."
        )
        @Argument(help: "The files to check.")
        var files: [String]
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one file") }
        }

        struct Report: Encodable { let files: Int; let findings: [SecretFinding] }

        func run() throws {
            let env = Environment.current
            let scanner = SecretScanner()
            var findings: [SecretFinding] = []
            for file in files {
                guard let data = FileManager.default.contents(atPath: env.absolute(file)) else {
                    throw CLIFailure(message: "\(file): cannot be read", status: 1)
                }
                findings += scanner.scan(path: file, data: data)
            }
            let out = Output(env)
            if output.json {
                try out.json(Report(files: files.count, findings: findings))
            } else {
                for f in findings { out.line(f.description) }
                out.line(findings.isEmpty ? "No secrets found in \(files.count) file\(files.count == 1 ? "" : "s")."
                                          : "\(findings.count) possible secret\(findings.count == 1 ? "" : "s") found.")
            }
            if !findings.isEmpty { throw CLIFailure(message: "", status: 1) }
        }
    }
}
