import CairnGit
import Foundation

extension Vault {
    /// Warnings for operator edits that contain something the secret scan flags.
    ///
    /// Operator commits are never blocked (the operator decides), but git keeps every version: the warning
    /// names `cairn forget`, the way to erase a file from history. Follows `secret_scan` in policy.json
    /// (`enabled`, `allow_paths`); never throws — a warning that cannot be computed is simply not given.
    func secretWarnings(for changes: [TreeChange]) -> [String] {
        let policy = (try? loadPolicy()) ?? .default
        guard policy.secretScan.enabled else { return [] }
        let scanner = SecretScanner()
        var warnings: [String] = []
        for change in changes {
            guard case .upsert(let path, let oid, _) = change, !policy.secretScan.allowPaths.contains(where: { PolicyGate.matchesLikeGitignore(pattern: $0, path: path) }),
                  let data = try? repository.blob(oid) else { continue }
            let findings = scanner.scan(path: path, data: data)
            guard let first = findings.first else { continue }
            let more = findings.count > 1 ? " and \(findings.count - 1) more" : ""
            warnings.append("\(first)\(more) looks like a secret and is now in history; to erase it, remove it from the file "
                            + "and run `cairn forget \(path) --include-current --reason \"…\"` (every version leaves history; "
                            + "then add the cleaned file back), and revoke the credential")
        }
        return warnings
    }
}
