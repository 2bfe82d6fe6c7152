import Foundation
import Testing

@testable import CairnKit

/// The error `VaultConfig.parse` throws for `json`, or nil when it parses.
private func configError(_ json: String) -> FileProblem? {
    do {
        _ = try VaultConfig.parse(Data(json.utf8), path: ".cairn/config.json")
        return nil
    } catch let error as FileProblem {
        return error
    } catch {
        Issue.record("expected a FileProblem, got \(type(of: error)): \(error)")
        return nil
    }
}

private func parseConfig(_ json: String) throws -> VaultConfig {
    try VaultConfig.parse(Data(json.utf8), path: ".cairn/config.json")
}

@Suite("VaultConfig")
struct VaultConfigTests {
    private static let templateConfig = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("vault-template/.cairn/config.json")

    @Test func templateConfigParsesToTheDefault() throws {
        let config = try VaultConfig.load(from: Self.templateConfig)
        #expect(config == VaultConfig.default)
        #expect(config.version == 1)
        #expect(config.operatorSettings == VaultConfig.OperatorSettings(name: "", email: ""))
        #expect(config.model.baseURL == "http://127.0.0.1:11434/v1")
        #expect(config.model.model == "llama3.2")
        #expect(config.model.fallbackModel == "")
        #expect(config.model.apiKeyEnv == "CAIRN_MODEL_API_KEY")
        #expect(config.editor == "")
        #expect(config.branch == nil)
        #expect(config.operatorIdentity == nil)
    }

    @Test func operatorIdentityNeedsNameAndEmail() throws {
        let full = try parseConfig(#"{"operator": {"name": "Sam Rivera", "email": "sam@fernhill.example"}}"#)
        #expect(full.operatorIdentity == OperatorIdentity(name: "Sam Rivera", email: "sam@fernhill.example"))

        let padded = try parseConfig(#"{"operator": {"name": " Sam ", "email": " sam@x.example "}}"#)
        #expect(padded.operatorIdentity == OperatorIdentity(name: "Sam", email: "sam@x.example"))

        #expect(try parseConfig(#"{"operator": {"name": "Sam", "email": ""}}"#).operatorIdentity == nil)
        #expect(try parseConfig(#"{"operator": {"name": "  ", "email": "sam@x.example"}}"#).operatorIdentity == nil)
        #expect(try parseConfig(#"{"operator": {"email": "sam@x.example"}}"#).operatorIdentity == nil)
    }

    @Test func missingAndNullKeysTakeDefaults() throws {
        #expect(try parseConfig("{}") == VaultConfig.default)
        let config = try parseConfig(#"{"model": {"model": "qwen2.5:7b", "base_url": null}, "editor": null}"#)
        #expect(config.model.model == "qwen2.5:7b")
        #expect(config.model.baseURL == "http://127.0.0.1:11434/v1")
        #expect(config.editor == "")
    }

    @Test func unknownKeysAreIgnored() throws {
        let json = """
            {
              "version": 1,
              "operator": {"name": "Sam", "email": "sam@x.example", "signing_key": "ssh-ed25519 AAAA"},
              "model": {"model": "gpt-4o-mini", "temperature": 0.2},
              "theme": {"color": "auto"},
              "editor": "vim"
            }
            """
        let config = try parseConfig(json)
        #expect(config.model.model == "gpt-4o-mini")
        #expect(config.editor == "vim")
        #expect(config.operatorIdentity?.name == "Sam")
    }

    @Test func branchIsOptionalAndChecked() throws {
        #expect(try parseConfig(#"{"branch": "trunk"}"#).branch == "trunk")
        #expect(try parseConfig(#"{"branch": "team/main"}"#).branch == "team/main")
        for bad in ["", "a b", "a..b", "-x", "x.lock", "x/", "refs/.hidden", "a:b", "@"] {
            let error = try #require(configError("{\n  \"branch\": \"\(bad)\"\n}"), "\(bad)")
            #expect(error.line == 2)
            #expect(error.reason.hasPrefix("branch: "))
        }
    }

    struct KeyCase: Sendable, CustomStringConvertible {
        var json: String
        var line: Int
        var reason: String
        var description: String { reason }
    }

    static let keyCases: [KeyCase] = [
        KeyCase(json: "{\n  \"version\": 3\n}", line: 2,
                reason: "version: unsupported version 3; this cairn understands version 1"),
        KeyCase(json: "{\n  \"operator\": {\n    \"name\": \"Sam <boss>\"\n  }\n}", line: 3,
                reason: "operator.name: must not contain '<', '>' or a line break"),
        KeyCase(json: "{\n  \"operator\": {\n    \"email\": \"sam.example\"\n  }\n}", line: 3,
                reason: "operator.email: \"sam.example\" is not an email address"),
        KeyCase(json: "{\n  \"operator\": {\n    \"email\": \"sam@x\\n\"\n  }\n}", line: 3,
                reason: "operator.email: must not contain '<', '>' or a line break"),
        KeyCase(json: "{\n  \"model\": {\n    \"base_url\": \"ftp://models.example\"\n  }\n}", line: 3,
                reason: "model.base_url: must be an http:// or https:// URL, not \"ftp://models.example\""),
        KeyCase(json: "{\n  \"model\": {\n    \"base_url\": \"localhost:11434\"\n  }\n}", line: 3,
                reason: "model.base_url: must be an http:// or https:// URL, not \"localhost:11434\""),
        KeyCase(json: "{\n  \"model\": {\n\n    \"api_key_env\": \"sk-proj-12345\"\n  }\n}", line: 4,
                reason: "model.api_key_env: must be the name of an environment variable (letters, digits, _), not the key itself"),
        KeyCase(json: "{\n  \"model\": \"llama3.2\"\n}", line: 2,
                reason: "model: expected an object, found a string"),
        KeyCase(json: "{\n  \"operator\": {\"name\": 42}\n}", line: 2,
                reason: "operator.name: expected a string, found a number"),
        KeyCase(json: "{\n  \"version\": \"1\"\n}", line: 2,
                reason: "version: expected an integer, found a string"),
        KeyCase(json: "{\n  \"editor\": [\"code\", \"--wait\"]\n}", line: 2,
                reason: "editor: expected a string, found an array"),
    ]

    @Test(arguments: keyCases)
    func keyErrorNamesTheKeyAndLine(_ example: KeyCase) throws {
        let error = try #require(configError(example.json))
        #expect(error == FileProblem(path: ".cairn/config.json", line: example.line, reason: example.reason))
    }

    @Test func validURLsAndVariableNamesAreAccepted() throws {
        for url in ["https://api.openai.com/v1", "http://[::1]:8080/v1", "HTTP://gpu-box.local/v1", ""] {
            #expect(configError("{\"model\": {\"base_url\": \"\(url)\"}}") == nil, "\(url)")
        }
        for name in ["OPENAI_API_KEY", "_KEY", "key2", ""] {
            #expect(configError("{\"model\": {\"api_key_env\": \"\(name)\"}}") == nil, "\(name)")
        }
        #expect(configError("{\"model\": {\"api_key_env\": \"2KEY\"}}") != nil)
    }

    @Test func invalidJSONNamesTheLine() throws {
        let error = try #require(configError("{\n  \"version\": 1,\n  \"editor\": \"vim\",\n}\n"))
        #expect(error.description == ".cairn/config.json:3: invalid JSON: trailing comma before '}' (column 18)")
    }

    @Test func topLevelMustBeAnObject() throws {
        let error = try #require(configError("\"llama3.2\""))
        #expect(error.line == 1)
        #expect(error.reason.contains("found a string"))
    }

    @Test func validateChecksValuesBuiltInCode() throws {
        var config = VaultConfig.default
        try config.validate()
        config.model.baseURL = "file:///etc/passwd"
        #expect(throws: FileProblem.self) { try config.validate() }
    }

    @Test func loadRefusesMissingAndOversizedFiles() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cairn-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("config.json")

        #expect(throws: FileProblem(path: file.path, reason: "file not found")) { try VaultConfig.load(from: file) }

        try Data(("{\"editor\": \"" + String(repeating: "x", count: 2 << 20) + "\"}").utf8).write(to: file)
        let error = try #require(throws: FileProblem.self) { try VaultConfig.load(from: file) }
        #expect(error.reason.hasPrefix("too large"))

        try Data([0x7B, 0x0A, 0xFF, 0x7D]).write(to: file)
        #expect(throws: FileProblem(path: file.path, line: 2, reason: "not valid UTF-8 (column 1)")) {
            try VaultConfig.load(from: file)
        }
    }
}
