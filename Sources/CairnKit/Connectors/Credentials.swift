import CairnGit
import Foundation

/// What the embedding program hands the connector layer: the process environment (for `password_env`) and the
/// home folder (for `~/` in `credentials_file`). The library reads neither itself.
public struct ConnectorEnvironment: Sendable {
    public var variables: [String: String]
    public var home: String?
    /// Seconds to wait between retries (tests pass 0).
    public var backoffScale: Double
    /// This machine's name, recorded with an outbox claim so that a synced machine leaves another's claim alone.
    public var machine: String
    /// How to reach the vault's remote, where an outbox claim goes before a send (nil: no credentials).
    public var transport: TransportCredentials?
    public init(variables: [String: String], home: String?, backoffScale: Double = 1, machine: String = "local",
                transport: TransportCredentials? = nil) {
        self.transport = transport
        self.variables = variables
        self.home = home
        self.backoffScale = backoffScale
        self.machine = machine
    }
}

/// A user name and secret for one connector. `description` never shows the secret.
struct Credentials: CustomStringConvertible {
    var username: String?
    var password: String?
    var description: String { "Credentials(username: \(username ?? "none"), password: \(password == nil ? "none" : "set"))" }

    /// Resolves `definition`'s credentials: the environment variable it names, else its credentials file
    /// (`username=` / `password=` lines; refused unless the file is outside `vaultRoot` and mode 0600 or stricter).
    static func resolve(_ definition: ConnectorDefinition, vaultRoot: String, environment: ConnectorEnvironment) throws(ConnectorError) -> Credentials {
        var result = Credentials(username: definition.username, password: nil)
        if let file = definition.credentialsFile {
            var path = file
            if path.hasPrefix("~/") {
                guard let home = environment.home else { throw .credentials(connector: definition.name, reason: "credentials_file starts with ~/ but HOME is not set") }
                path = home + String(path.dropFirst(1))
            }
            let resolved = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
            let root = URL(fileURLWithPath: vaultRoot).standardizedFileURL.resolvingSymlinksInPath().path
            if resolved == root || resolved.hasPrefix(root + "/") {
                throw .credentials(connector: definition.name, reason: "\(file) is inside the vault; keep credentials outside it (they would be committed and synced)")
            }
            var st = stat()
            guard stat(resolved, &st) == 0 else { throw .credentials(connector: definition.name, reason: "cannot read \(file)") }
            if st.st_mode & 0o077 != 0 {
                throw .credentials(connector: definition.name, reason: "\(file) is readable by others (mode \(String(st.st_mode & 0o777, radix: 8))); run chmod 600 \(file)")
            }
            guard let data = FileManager.default.contents(atPath: resolved), let text = String(data: data, encoding: .utf8) else {
                throw .credentials(connector: definition.name, reason: "cannot read \(file) as UTF-8 text")
            }
            for line in text.split(whereSeparator: \.isNewline) {
                let l = line.trimmingCharacters(in: .whitespaces)
                if l.isEmpty || l.hasPrefix("#") { continue }
                guard let eq = l.firstIndex(where: { $0 == "=" || $0 == ":" }) else { continue }
                let key = l[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
                let value = l[l.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                if key == "username" || key == "user" { result.username = value }
                if key == "password" || key == "token" { result.password = value }
            }
        }
        if let variable = definition.passwordEnv {
            guard let value = environment.variables[variable], !value.isEmpty else {
                throw .credentials(connector: definition.name, reason: "the environment variable \(variable) (password_env) is not set")
            }
            result.password = value
        }
        return result
    }
}
