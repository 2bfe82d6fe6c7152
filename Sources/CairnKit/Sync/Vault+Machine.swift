import CairnGit
import Foundation

extension Vault {
    /// The git config key (in the vault's own `.git/config`, never synced) that names this machine.
    public static let machineConfigKey = "cairn.machine"

    /// The name of this machine in run records, approvals and sync merges: `cairn.machine` in `.git/config`,
    /// else the host name the caller passed (`hostName`), else "local".
    public var machine: String {
        if let v = try? repository.localConfigString(Self.machineConfigKey), let clean = Self.cleanMachineName(v) { return clean }
        if let h = hostName, let clean = Self.cleanMachineName(h) { return clean }
        return "local"
    }

    /// A machine name usable in file and ref names: letters, digits, '-', '_', '.'; other characters become '-'.
    static func cleanMachineName(_ raw: String) -> String? {
        let trimmed = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        let short = trimmed.split(separator: ".").first.map(String.init) ?? trimmed
        let mapped = String(short.unicodeScalars.map { s -> Character in
            (s.isASCII && (CharacterSet.alphanumerics.contains(s) || s == "-" || s == "_")) ? Character(s) : "-"
        })
        let out = mapped.trimmingCharacters(in: CharacterSet(charactersIn: "-"))
        return out.isEmpty ? nil : String(out.prefix(64))
    }
}
