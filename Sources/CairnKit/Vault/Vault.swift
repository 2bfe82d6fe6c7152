import CairnGit
import Foundation

/// A Cairn vault: a git repository of Markdown/JSON files with the Cairn layout.
///
/// The library never prints and never reads the environment: the caller passes where the vault is,
/// who the operator is (or where git config lives) and what time it is.
public final class Vault {
    /// The working tree root, without a trailing slash.
    public let root: String
    /// The underlying repository.
    public let repository: Repository
    /// The vault's settings from `.cairn/config.json` (defaults when the file is unreadable; `doctor` reports it).
    public let config: VaultConfig
    /// This computer's host name, passed in by the caller: the default machine name (see `machine`).
    public var hostName: String? = nil

    /// Relative paths of the files that make a folder a vault.
    public static let configPath = ".cairn/config.json"

    init(root: String, repository: Repository, config: VaultConfig) {
        self.root = root
        self.repository = repository
        self.config = config
    }

    /// The branch that holds the truth (`main` unless the vault adopted a repository with another name).
    public var branch: String { config.branch ?? "main" }
    public var branchRef: String { "refs/heads/\(branch)" }

    /// Opens the vault whose working tree root is `path`.
    public static func open(at path: String) throws -> Vault {
        let root = Self.normalize(path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw VaultError.notAVault(path: root)
        }
        guard FileManager.default.fileExists(atPath: root + "/.git") else {
            throw VaultError.notAVault(path: root)
        }
        let repo: Repository
        do {
            repo = try Repository(at: root)
        } catch {
            throw VaultError.brokenRepository(path: root, reason: "\(error)")
        }
        guard !repo.isBare else { throw VaultError.notAVault(path: root) }
        let configFile = root + "/" + configPath
        guard FileManager.default.fileExists(atPath: configFile) else { throw VaultError.notInitialized(path: root) }
        if initUnfinished(root, repo) { throw VaultError.initUnfinished(path: root) }
        let config = (try? VaultConfig.load(from: URL(fileURLWithPath: configFile))) ?? VaultConfig()
        return Vault(root: root, repository: repo, config: config)
    }

    /// Finds the vault: `explicit` (from `--vault`), else `environment` (from `CAIRN_VAULT`), else upward from `cwd`.
    public static func locate(explicit: String?, environment: String?, cwd: String) throws -> Vault {
        if let explicit, !explicit.isEmpty { return try open(at: absolute(explicit, cwd: cwd)) }
        if let environment, !environment.isEmpty { return try open(at: absolute(environment, cwd: cwd)) }
        var dir = normalize(cwd)
        while true {
            if FileManager.default.fileExists(atPath: dir + "/" + configPath) && FileManager.default.fileExists(atPath: dir + "/.git") {
                return try open(at: dir)
            }
            if FileManager.default.fileExists(atPath: dir + "/.git") {
                // A repository without scaffolding: say so rather than searching past it.
                throw VaultError.notInitialized(path: dir)
            }
            let parent = (dir as NSString).deletingLastPathComponent
            if parent == dir || parent.isEmpty { break }
            dir = parent
        }
        throw VaultError.notAVault(path: normalize(cwd))
    }

    static func absolute(_ path: String, cwd: String) -> String {
        path.hasPrefix("/") ? normalize(path) : normalize(cwd + "/" + path)
    }

    static func normalize(_ path: String) -> String {
        var p = (path as NSString).standardizingPath
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    /// The git directory path with a trailing slash.
    public var gitDir: String { repository.gitDir }

    /// The commit `main` points to, nil before the first commit.
    public func head() throws -> OID? { try repository.referenceTarget(branchRef) }

    /// The operator: `.cairn/config.json`'s operator, else the repository's git config, else the global
    /// git config (the file `globalConfigFile` when given). Throws `VaultError.noIdentity` when none is set.
    public func operatorIdentity(globalConfigFile: String? = nil) throws -> OperatorIdentity {
        if let id = config.operatorIdentity { return id }
        return try Self.gitIdentity(repository: repository, globalConfigFile: globalConfigFile)
    }

    static func gitIdentity(repository: Repository?, globalConfigFile: String?) throws -> OperatorIdentity {
        guard let name = gitConfigValue("user.name", repository: repository, globalConfigFile: globalConfigFile),
              let email = gitConfigValue("user.email", repository: repository, globalConfigFile: globalConfigFile)
        else { throw VaultError.noIdentity }
        return OperatorIdentity(name: name, email: email)
    }

    /// A git setting as git reads it for this vault: the repository's `.git/config`, else the global file
    /// (`globalConfigFile`, what `GIT_CONFIG_GLOBAL` names, which libgit2 does not read itself; nil: the global, XDG
    /// and system files libgit2 finds). Empty counts as unset.
    static func gitConfigValue(_ key: String, repository: Repository?, globalConfigFile: String?) -> String? {
        if let repository, let v = try? repository.localConfigString(key), !v.isEmpty { return v }
        if let v = Libgit2.configString(key, file: globalConfigFile), !v.isEmpty { return v }
        return nil
    }

    /// Absolute path of a vault-relative path.
    public func absolutePath(_ relative: String) -> String { root + "/" + relative }
}
