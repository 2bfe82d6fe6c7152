import Foundation

/// The name and email cairn writes on the operator's commits.
public struct OperatorIdentity: Sendable, Equatable, Hashable {
    /// The operator's name, as in `git config user.name`.
    public var name: String
    /// The operator's email, as in `git config user.email`.
    public var email: String

    /// Creates an identity.
    public init(name: String, email: String) {
        self.name = name
        self.email = email
    }
}

/// The vault's own settings that travel with it: `.cairn/config.json`.
///
/// Every key is optional when decoding; a missing or `null` key takes the default shown on each
/// property. Unknown keys are ignored. This type only reads the file — cairn never rewrites
/// `config.json`, so the operator's formatting and any keys a newer cairn added stay as they are.
public struct VaultConfig: Codable, Sendable, Equatable, CheckedConfig {
    /// Where the config lives, relative to the vault root.
    public static let relativePath = ".cairn/config.json"

    /// The settings of a vault without a config file; equal to `vault-template/.cairn/config.json`.
    public static let `default` = VaultConfig()

    /// The format version; only 1 exists.
    public var version: Int
    /// Who commits the operator's edits (`operator`).
    public var operatorSettings: OperatorSettings
    /// The OpenAI-compatible chat endpoint model agents use (`model`).
    public var model: ModelSettings
    /// The command `cairn` opens notes with; empty means the CLI decides (`editor`, default "").
    public var editor: String
    /// The branch that holds the truth, for a vault adopted from a repository whose main branch
    /// has another name (`branch`, absent by default, meaning `main`).
    public var branch: String?
    /// The search index's settings (`search`).
    public var search: SearchSettings
    /// How the vault syncs across machines (`sync`).
    public var sync: SyncSettings = SyncSettings()

    /// Creates a config; every argument defaults to the template's value.
    public init(
        version: Int = 1,
        operatorSettings: OperatorSettings = OperatorSettings(),
        model: ModelSettings = ModelSettings(),
        editor: String = "",
        branch: String? = nil,
        search: SearchSettings = SearchSettings()
    ) {
        self.version = version
        self.operatorSettings = operatorSettings
        self.model = model
        self.editor = editor
        self.branch = branch
        self.search = search
    }

    /// The configured identity, or nil when the name or email is empty (then the caller uses
    /// git's `user.name` and `user.email`).
    public var operatorIdentity: OperatorIdentity? {
        let name = operatorSettings.name.trimmingCharacters(in: .whitespaces)
        let email = operatorSettings.email.trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, !email.isEmpty else { return nil }
        return OperatorIdentity(name: name, email: email)
    }

    /// `operator`: the identity for the operator's commits.
    public struct OperatorSettings: Codable, Sendable, Equatable {
        /// The name; empty means git's `user.name` (default "").
        public var name: String
        /// The email; empty means git's `user.email` (default "").
        public var email: String

        public init(name: String = "", email: String = "") {
            self.name = name
            self.email = email
        }

        enum CodingKeys: String, CodingKey { case name, email }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.string(.name, default: "")
            email = try c.string(.email, default: "")
        }
    }

    /// `model`: the chat endpoint for model agents.
    public struct ModelSettings: Codable, Sendable, Equatable {
        /// Base URL of an OpenAI-compatible API (`base_url`, default Ollama's `http://127.0.0.1:11434/v1`).
        public var baseURL: String
        /// The model asked first (`model`, default `llama3.2`).
        public var model: String
        /// The model asked when the first fails; empty means none (`fallback_model`, default "").
        public var fallbackModel: String
        /// The *name* of the environment variable that holds the API key — never the key itself
        /// (`api_key_env`, default `CAIRN_MODEL_API_KEY`). The CLI reads the variable; CairnKit does not.
        public var apiKeyEnv: String
        /// Price in USD per million prompt tokens, for the cost in run records (`input_usd_per_million`, default 0: local models).
        public var inputUSDPerMillion: Double
        /// Price in USD per million completion tokens (`output_usd_per_million`, default 0).
        public var outputUSDPerMillion: Double

        public init(
            baseURL: String = "http://127.0.0.1:11434/v1", model: String = "llama3.2",
            fallbackModel: String = "", apiKeyEnv: String = "CAIRN_MODEL_API_KEY",
            inputUSDPerMillion: Double = 0, outputUSDPerMillion: Double = 0
        ) {
            self.baseURL = baseURL
            self.model = model
            self.fallbackModel = fallbackModel
            self.apiKeyEnv = apiKeyEnv
            self.inputUSDPerMillion = inputUSDPerMillion
            self.outputUSDPerMillion = outputUSDPerMillion
        }

        enum CodingKeys: String, CodingKey {
            case baseURL = "base_url"
            case model
            case fallbackModel = "fallback_model"
            case apiKeyEnv = "api_key_env"
            case inputUSDPerMillion = "input_usd_per_million"
            case outputUSDPerMillion = "output_usd_per_million"
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = ModelSettings()
            baseURL = try c.string(.baseURL, default: d.baseURL)
            model = try c.string(.model, default: d.model)
            fallbackModel = try c.string(.fallbackModel, default: d.fallbackModel)
            apiKeyEnv = try c.string(.apiKeyEnv, default: d.apiKeyEnv)
            inputUSDPerMillion = try c.number(.inputUSDPerMillion, default: 0)
            outputUSDPerMillion = try c.number(.outputUSDPerMillion, default: 0)
        }
    }

    /// `search`: what the search index reads.
    public struct SearchSettings: Codable, Sendable, Equatable {
        /// Notes larger than this many MiB are left out of the index, and searches say so under their results
        /// (`max_file_mib`, default 64; at most 1024). FTS5 indexes a 64 MiB note in a few seconds; the limit keeps
        /// an accidental huge file (a log, a dump) from making every rebuild slow.
        public var maxFileMiB: Int

        public init(maxFileMiB: Int = 64) { self.maxFileMiB = maxFileMiB }

        /// The limit in bytes.
        public var maxFileBytes: Int { maxFileMiB << 20 }

        enum CodingKeys: String, CodingKey { case maxFileMiB = "max_file_mib" }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            maxFileMiB = try c.integer(.maxFileMiB, default: SearchSettings().maxFileMiB)
        }
    }

    enum CodingKeys: String, CodingKey {
        case version
        case operatorSettings = "operator"
        case model, editor, branch, search, sync
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = VaultConfig()
        version = try c.integer(.version, default: d.version)
        operatorSettings = try c.section(.operatorSettings, default: d.operatorSettings)
        model = try c.section(.model, default: d.model)
        editor = try c.string(.editor, default: d.editor)
        branch = try c.decodeIfPresent(String.self, forKey: .branch)
        search = try c.section(.search, default: d.search)
        sync = try c.section(.sync, default: SyncSettings())
    }

    // MARK: Loading and validation

    /// Reads and validates the config file at `url`; errors name the file by `url.path`.
    ///
    /// - Throws: `FileProblem` for a missing, unreadable, oversized, non-UTF-8, malformed or
    ///   invalid file. Never writes anything.
    public static func load(from url: URL) throws -> VaultConfig { try loadChecked(from: url) }

    /// Parses and validates the bytes of a config file.
    ///
    /// - Parameter path: how errors name the file, usually `.cairn/config.json`.
    /// - Throws: `FileProblem` with the line of the problem whenever it can be located.
    public static func parse(_ data: Data, path: String) throws -> VaultConfig { try parseChecked(data, path: path) }

    /// Checks the values.
    ///
    /// - Throws: `FileProblem` naming `path` and the first invalid key.
    public func validate(path: String = VaultConfig.relativePath) throws { try validateChecked(path: path) }

    /// Every invalid value, in file order, as key path and reason.
    func problems() -> [(keyPath: String, reason: String)] {
        var found: [(keyPath: String, reason: String)] = []
        if version != 1 {
            found.append(("version", "unsupported version \(version); this cairn understands version 1"))
        }
        // libgit2 refuses identities with angle brackets or line breaks; say so here, early.
        let forbidden: Set<Character> = ["<", ">", "\n", "\r", "\0"]
        if operatorSettings.name.contains(where: forbidden.contains) {
            found.append(("operator.name", "must not contain '<', '>' or a line break"))
        }
        if operatorSettings.email.contains(where: forbidden.contains) {
            found.append(("operator.email", "must not contain '<', '>' or a line break"))
        } else if !operatorSettings.email.isEmpty && !operatorSettings.email.contains("@") {
            found.append(("operator.email", "\"\(operatorSettings.email)\" is not an email address"))
        }
        if !model.baseURL.isEmpty && !Self.isHTTPURL(model.baseURL) {
            found.append(("model.base_url", "must be an http:// or https:// URL, not \"\(model.baseURL)\""))
        }
        if !model.apiKeyEnv.isEmpty && !Self.isEnvironmentVariableName(model.apiKeyEnv) {
            found.append((
                "model.api_key_env",
                "must be the name of an environment variable (letters, digits, _), not the key itself"
            ))
        }
        if model.inputUSDPerMillion < 0 || !model.inputUSDPerMillion.isFinite {
            found.append(("model.input_usd_per_million", "must be a price ≥ 0"))
        }
        if model.outputUSDPerMillion < 0 || !model.outputUSDPerMillion.isFinite {
            found.append(("model.output_usd_per_million", "must be a price ≥ 0"))
        }
        if let branch, let reason = Self.branchNameProblem(branch) {
            found.append(("branch", reason))
        }
        if search.maxFileMiB < 1 || search.maxFileMiB > 1024 {
            found.append(("search.max_file_mib", "must be between 1 and 1024 (MiB), not \(search.maxFileMiB)"))
        }
        found += sync.problems()
        return found
    }

    /// Why `name` cannot be a branch name (the rules of `git check-ref-format`), or nil when it can.
    static func branchNameProblem(_ name: String) -> String? {
        if name.isEmpty { return "must not be empty (leave the key out to use main)" }
        let forbidden: Set<Character> = [" ", "~", "^", ":", "?", "*", "[", "\\", "\u{7F}"]
        if name.unicodeScalars.contains(where: { $0.value < 0x20 }) || name.contains(where: forbidden.contains)
            || name.contains("..") || name.contains("@{") || name.contains("//") || name == "@"
            || name.hasPrefix("-") || name.hasPrefix("/") || name.hasSuffix("/") || name.hasSuffix(".")
            || name.hasSuffix(".lock") || name.split(separator: "/").contains(where: { $0.hasPrefix(".") })
        {
            return "\"\(name)\" is not a valid branch name"
        }
        return nil
    }

    static func isHTTPURL(_ text: String) -> Bool {
        guard !text.contains(where: { $0.isWhitespace }),
            let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = components.host, !host.isEmpty
        else { return false }
        return true
    }

    static func isEnvironmentVariableName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic)
        else { return false }
        return text.unicodeScalars.allSatisfy {
            $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)))
        }
    }
}
