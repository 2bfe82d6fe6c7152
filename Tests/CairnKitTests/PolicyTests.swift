import Foundation
import Testing

@testable import CairnKit

/// The vault template shipped with the package, found relative to this file.
private let templateDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("vault-template")

/// The error `Policy.parse` throws for `json`, or nil when it parses.
private func policyError(_ json: String) -> FileProblem? {
    policyError(Data(json.utf8))
}

private func policyError(_ data: Data) -> FileProblem? {
    do {
        _ = try Policy.parse(data, path: "policy.json")
        return nil
    } catch let error as FileProblem {
        return error
    } catch {
        Issue.record("expected a FileProblem, got \(type(of: error)): \(error)")
        return nil
    }
}

@Suite("Policy")
struct PolicyTests {
    @Test func templatePolicyParsesToTheDefault() throws {
        let data = try Data(contentsOf: templateDirectory.appendingPathComponent("policy.json"))
        let policy = try Policy.parse(data, path: "policy.json")
        #expect(policy == Policy.default)
    }

    @Test func defaultHasTheDocumentedValues() {
        let policy = Policy.default
        #expect(policy.version == 1)
        #expect(policy.protectedPaths == [
            "policy.json", "approvals/**", "runs/**", "agents/**", "workflows/**", ".cairn/**", ".git*",
            "**/.git/**",
        ])
        #expect(policy.review == Policy.ReviewLimits(maxFiles: 20, maxChangedLines: 400))
        #expect(policy.memory == Policy.MemoryRules(coreTokenBudget: 4000, workingTTLDays: 14))
        #expect(policy.autonomy == Policy.AutonomyRules(default: .advisory, promoteAfterApprovals: 3))
        #expect(policy.quotas == Policy.Quotas(runsPerDay: 50, tokensPerDay: 200_000, costUSDPerDay: 1.0))
        #expect(policy.circuitBreaker.consecutiveFailures == 3)
        #expect(policy.secretScan == Policy.SecretScan(enabled: true, allowPaths: []))
        #expect(policy.retention == Policy.Retention(keepArchivedProposalsDays: 90, keepRunRecordsDays: 365))
        #expect(policy.links == Policy.Links(updateOnRename: true))
    }

    @Test func templateDocumentsEveryKey() throws {
        let doc = try String(contentsOf: templateDirectory.appendingPathComponent("policy.md"), encoding: .utf8)
        let keys = [
            "version", "protected_paths", "review", "max_files", "max_changed_lines", "memory",
            "core_token_budget", "working_ttl_days", "autonomy", "default", "promote_after_approvals",
            "quotas", "runs_per_day", "tokens_per_day", "cost_usd_per_day", "circuit_breaker",
            "consecutive_failures", "secret_scan", "enabled", "allow_paths", "retention",
            "keep_archived_proposals_days", "keep_run_records_days", "agents", "workflows", "health",
            "stale_proposal_days", "stuck_run_hours", "links", "update_on_rename",
        ]
        for key in keys {
            #expect(doc.contains("`\(key)`"), "policy.md does not document \(key)")
        }
    }

    @Test func missingKeysTakeDefaults() throws {
        #expect(try Policy.parse(Data("{}".utf8), path: "policy.json") == Policy.default)
        let policy = try Policy.parse(Data(#"{"review": {"max_files": 5}, "quotas": null}"#.utf8), path: "p")
        #expect(policy.review.maxFiles == 5)
        #expect(policy.review.maxChangedLines == 400)
        #expect(policy.quotas == Policy.Quotas())
    }

    @Test func quotaOverridesFallBackToTheTopLevelValues() throws {
        let json = #"{"quotas": {"runs_per_day": 10, "agents": {"triage": {"tokens_per_day": 5}}, "workflows": {"w": {"runs_per_day": 2, "cost_usd_per_day": 0.5}}}, "circuit_breaker": {"agents": {"gc": 0}}}"#
        let policy = try Policy.parse(Data(json.utf8), path: "policy.json")
        #expect(policy.quotas.limits(agent: "triage") == Policy.Quotas.Limits(runsPerDay: 10, tokensPerDay: 5, costUSDPerDay: 1.0))
        #expect(policy.quotas.limits(agent: "other") == Policy.Quotas.Limits(runsPerDay: 10, tokensPerDay: 200_000, costUSDPerDay: 1.0))
        #expect(policy.quotas.limits(workflow: "w") == Policy.Quotas.Limits(runsPerDay: 2, tokensPerDay: 200_000, costUSDPerDay: 0.5))
        #expect(policy.circuitBreaker.threshold(agent: "gc") == 0)
        #expect(policy.circuitBreaker.threshold(agent: "triage") == 3)
        #expect(policy.health == Policy.Health(staleProposalDays: 3, stuckRunHours: 2))
    }

    @Test func unknownKeysAreIgnored() throws {
        let json = """
            {
              "version": 1,
              "future_feature": {"on": true, "list": [1, 2, {"x": null}]},
              "review": {"max_files": 7, "max_reviewers": 2},
              "autonomy": {"default": "auto", "comment": "trusted agents"}
            }
            """
        let policy = try Policy.parse(Data(json.utf8), path: "policy.json")
        #expect(policy.review.maxFiles == 7)
        #expect(policy.autonomy.default == .auto)
    }

    @Test func integralFloatIsAcceptedForIntegers() throws {
        let policy = try Policy.parse(Data(#"{"review": {"max_files": 20.0}}"#.utf8), path: "p")
        #expect(policy.review.maxFiles == 20)
    }

    @Test func byteOrderMarkIsAccepted() throws {
        let data = Data([0xEF, 0xBB, 0xBF] + Array(#"{"version": 1}"#.utf8))
        #expect(try Policy.parse(data, path: "p") == Policy.default)
    }

    @Test func roundTripsThroughJSONEncoder() throws {
        var policy = Policy.default
        policy.protectedPaths.append("memory/core/**")
        policy.autonomy.default = .auto
        policy.quotas.costUSDPerDay = 2.5
        let data = try JSONEncoder().encode(policy)
        #expect(try Policy.parse(data, path: "p") == policy)
    }

    @Test func builtInProtectionsSurviveAnEmptyList() throws {
        let policy = try Policy.parse(Data(#"{"protected_paths": []}"#.utf8), path: "p")
        #expect(policy.protectedPaths.isEmpty)
        #expect(policy.effectiveProtectedPaths == Policy.builtInProtectedPaths)
        #expect(Policy.default.effectiveProtectedPaths.count == Set(Policy.default.effectiveProtectedPaths).count)
        #expect(Policy.default.effectiveProtectedPaths.contains("workflows/**"))
    }

    // MARK: Syntax errors name the line

    struct SyntaxCase: Sendable, CustomStringConvertible {
        var json: String
        var line: Int
        var reason: String
        var description: String { reason }
    }

    static let syntaxCases: [SyntaxCase] = [
        SyntaxCase(json: "", line: 1, reason: "empty file"),
        SyntaxCase(json: "\n\n  \n", line: 4, reason: "empty file"),
        SyntaxCase(json: "{\n  \"version\": 1,\n}\n", line: 2, reason: "trailing comma before '}'"),
        SyntaxCase(json: "{\n  \"a\": [1, 2,\n  ]\n}", line: 2, reason: "trailing comma before ']'"),
        SyntaxCase(json: "{\n  \"version\" 1\n}", line: 2, reason: "expected ':' after key \"version\""),
        SyntaxCase(json: "{\n  \"review\": {\n    \"max_files\": 20\n    \"max_changed_lines\": 400\n  }\n}", line: 3,
                   reason: "missing ',' at the end of the line (line 4 continues with '\"')"),
        SyntaxCase(json: "{\n  \"a\": [1, 2],\n  \"b\": {}\n  \"c\": 3\n}", line: 3, reason: "missing ','"),
        SyntaxCase(json: "{\n  \"a\": 1 \"b\": 2\n}", line: 2, reason: "expected ',' or '}' but found '\"'"),
        SyntaxCase(json: "{\n  \"a\": [1\n  2]\n}", line: 2, reason: "missing ','"),
        SyntaxCase(json: "{\n  \"version\": 1,\n  \"x\": \"abc\n}", line: 3, reason: "unterminated string"),
        SyntaxCase(json: "{\n\n  \"x\": \"abc", line: 3, reason: "unterminated string"),
        SyntaxCase(json: "{\n  \"version\": 1\n}\n}", line: 4, reason: "after the end of the JSON value"),
        SyntaxCase(json: "{\"version\": 1}\ngarbage", line: 2, reason: "after the end of the JSON value"),
        SyntaxCase(json: "{\n  \"version\": @\n}", line: 2, reason: "unexpected character '@'"),
        SyntaxCase(json: "{\n  // the version\n  \"version\": 1\n}", line: 2, reason: "comments are not allowed"),
        SyntaxCase(json: "{\n  'version': 1\n}", line: 2, reason: "expected a key in double quotes"),
        SyntaxCase(json: "{\n  \"x\": 'a'\n}", line: 2, reason: "double quotes"),
        SyntaxCase(json: "{\n  \"autonomy\": {\"default\": advisory}\n}", line: 2, reason: "unexpected word 'advisory'"),
        SyntaxCase(json: "{\n  \"version\": 1,\n  \"version\": 2\n}", line: 3, reason: "duplicate key \"version\""),
        SyntaxCase(json: "{\n  \"review\": {\n    \"max_files\": 20\n", line: 4, reason: "on line 2 is never closed"),
        SyntaxCase(json: "{\n  \"version\": 01\n}", line: 2, reason: "leading zeros"),
        SyntaxCase(json: "{\n  \"quotas\": {\"cost_usd_per_day\": 1e400}\n}", line: 2, reason: "too large"),
        SyntaxCase(json: "{\n  \"x\": \"a\\qb\"\n}", line: 2, reason: "invalid escape"),
        SyntaxCase(json: "{\n  \"x\": \"tab\there\"\n}", line: 2, reason: "control character"),
        SyntaxCase(json: "{\n  \"x\": -\n}", line: 2, reason: "invalid number"),
        SyntaxCase(json: "{\n  \"x\": 1.\n}", line: 2, reason: "invalid number"),
        SyntaxCase(json: "{\n  \"x\": ,\n}", line: 2, reason: "expected a value but found ','"),
    ]

    @Test(arguments: syntaxCases)
    func syntaxErrorNamesTheLine(_ example: SyntaxCase) throws {
        let error = try #require(policyError(example.json))
        #expect(error.path == "policy.json")
        #expect(error.line == example.line, "\(error)")
        if example.reason == "empty file" {
            #expect(error.reason == "empty file; expected a JSON object", "\(error)")
        } else {
            #expect(error.reason.hasPrefix("invalid JSON: "), "\(error)")
            #expect(error.reason.hasSuffix(")"), "no column in \(error)")
        }
        #expect(error.reason.contains(example.reason), "\(error)")
    }

    @Test func syntaxErrorReportsTheColumn() throws {
        let error = try #require(policyError("{\n  \"review\": {\"max_files\": 20,}\n}"))
        #expect(error.description == "policy.json:2: invalid JSON: trailing comma before '}' (column 29)")
    }

    @Test func topLevelMustBeAnObject() throws {
        let error = try #require(policyError("\n[1, 2]"))
        #expect(error.line == 2)
        #expect(error.reason.contains("expected a JSON object"))
        #expect(error.reason.contains("found an array"))
    }

    @Test func deepNestingIsAnErrorNotACrash() throws {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = try #require(policyError("{\"x\": \(deep)}"))
        #expect(error.reason.contains("nested more than"))
        #expect(error.line == 1)
    }

    // MARK: Type and value errors name the key and the line

    struct KeyCase: Sendable, CustomStringConvertible {
        var json: String
        var line: Int
        var reason: String
        var description: String { reason }
    }

    static let keyCases: [KeyCase] = [
        KeyCase(json: "{\n  \"review\": {\n    \"max_files\": \"20\"\n  }\n}", line: 3,
                reason: "review.max_files: expected an integer, found a string"),
        KeyCase(json: "{\n  \"review\": {\n    \"max_files\": 3.5\n  }\n}", line: 3,
                reason: "review.max_files: expected an integer, found 3.5"),
        KeyCase(json: "{\n  \"memory\": {\"core_token_budget\": 1e20}\n}", line: 2,
                reason: "memory.core_token_budget: the integer is too large"),
        KeyCase(json: "{\n  \"version\": 1,\n  \"review\": 5\n}", line: 3,
                reason: "review: expected an object, found a number"),
        KeyCase(json: "{\n  \"protected_paths\": \"runs/**\"\n}", line: 2,
                reason: "protected_paths: expected an array, found a string"),
        KeyCase(json: "{\n  \"protected_paths\": [\n    \"runs/**\",\n    7\n  ]\n}", line: 4,
                reason: "protected_paths[1]: expected a string, found a number"),
        KeyCase(json: "{\n  \"secret_scan\": {\"enabled\": \"yes\"}\n}", line: 2,
                reason: "secret_scan.enabled: expected true or false, found a string"),
        KeyCase(json: "{\n  \"quotas\": {\n    \"cost_usd_per_day\": \"1.0\"\n  }\n}", line: 3,
                reason: "quotas.cost_usd_per_day: expected a number, found a string"),
        KeyCase(json: "{\n  \"version\": 2\n}", line: 2,
                reason: "version: unsupported version 2; this cairn understands version 1"),
        KeyCase(json: "{\n  \"review\": {\n    \"max_files\": 0\n  }\n}", line: 3,
                reason: "review.max_files: must be at least 1, not 0"),
        KeyCase(json: "{\n  \"review\": {\n    \"max_changed_lines\": -4\n  }\n}", line: 3,
                reason: "review.max_changed_lines: must be at least 1, not -4"),
        KeyCase(json: "{\n  \"memory\": {\n    \"core_token_budget\": 0\n  }\n}", line: 3,
                reason: "memory.core_token_budget: must be at least 1, not 0"),
        KeyCase(json: "{\n  \"memory\": {\n    \"working_ttl_days\": -1\n  }\n}", line: 3,
                reason: "memory.working_ttl_days: must be at least 0, not -1"),
        KeyCase(json: "{\n  \"autonomy\": {\n    \"default\": \"manual\"\n  }\n}", line: 3,
                reason: "autonomy.default: must be \"advisory\" or \"auto\", not \"manual\""),
        KeyCase(json: "{\n  \"protected_paths\": [\"runs/**\",\n    \"\"]\n}", line: 3,
                reason: "protected_paths[1]: must not be empty"),
        KeyCase(json: "{\n  \"protected_paths\": [\n    \"a\\u0000b\"\n  ]\n}", line: 3,
                reason: "protected_paths[0]: must not contain a NUL character"),
        KeyCase(json: "{\n  \"secret_scan\": {\n    \"allow_paths\": [\"  \"]\n  }\n}", line: 3,
                reason: "secret_scan.allow_paths[0]: must not be empty"),
        KeyCase(json: "{\n  \"quotas\": {\n    \"cost_usd_per_day\": -0.5\n  }\n}", line: 3,
                reason: "quotas.cost_usd_per_day: must be a number of dollars, 0 or more, not -0.5"),
        KeyCase(json: "{\n  \"quotas\": {\n    \"runs_per_day\": -1\n  }\n}", line: 3,
                reason: "quotas.runs_per_day: must be at least 0, not -1"),
        KeyCase(json: "{\n  \"circuit_breaker\": {\"consecutive_failures\": -2}\n}", line: 2,
                reason: "circuit_breaker.consecutive_failures: must be at least 0, not -2"),
        KeyCase(json: "{\n  \"quotas\": {\"agents\": {\n    \"triage\": {\"runs_per_day\": -3}}}\n}", line: 3,
                reason: "quotas.agents.triage.runs_per_day: must be at least 0, not -3"),
        KeyCase(json: "{\n  \"quotas\": {\"workflows\": {\n    \"w\": {\"cost_usd_per_day\": \"x\"}}}\n}", line: 3,
                reason: "quotas.workflows.w.cost_usd_per_day: expected a number, found a string"),
        KeyCase(json: "{\n  \"circuit_breaker\": {\"agents\": {\n    \"gc\": -1}}\n}", line: 3,
                reason: "circuit_breaker.agents.gc: must be at least 0, not -1"),
        KeyCase(json: "{\n  \"health\": {\"stale_proposal_days\": 0}\n}", line: 2,
                reason: "health.stale_proposal_days: must be at least 1, not 0"),
        KeyCase(json: "{\n\n  \"retention\": {\"keep_run_records_days\": -1}\n}", line: 3,
                reason: "retention.keep_run_records_days: must be at least 0, not -1"),
    ]

    @Test(arguments: keyCases)
    func keyErrorNamesTheKeyAndLine(_ example: KeyCase) throws {
        let error = try #require(policyError(example.json))
        #expect(error == FileProblem(path: "policy.json", line: example.line, reason: example.reason))
    }

    @Test func validateReportsTheFirstProblemWithoutALine() throws {
        var policy = Policy.default
        try policy.validate()
        policy.review.maxFiles = 0
        #expect(throws: FileProblem(path: "policy.json", reason: "review.max_files: must be at least 1, not 0")) {
            try policy.validate()
        }
    }

    // MARK: Files and bytes

    @Test func invalidUTF8IsReportedWithItsLine() throws {
        var bytes = Array("{\n  \"x\": \"".utf8)
        bytes += [0xC3, 0x28]  // a lead byte followed by a non-continuation byte
        bytes += Array("\"\n}".utf8)
        let error = try #require(policyError(Data(bytes)))
        #expect(error.line == 2)
        #expect(error.reason.hasPrefix("not valid UTF-8"))
        for invalid: [UInt8] in [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            let error = try #require(policyError(Data(Array("{\"x\": \"".utf8) + invalid + Array("\"}".utf8))))
            #expect(error.reason.hasPrefix("not valid UTF-8"), "\(invalid)")
        }
    }

    @Test func nonASCIIStringsAreFine() throws {
        let policy = try Policy.parse(Data(#"{"protected_paths": ["memory/privé/**", "日記/**", "🔒/**"]}"#.utf8), path: "p")
        #expect(policy.protectedPaths == ["memory/privé/**", "日記/**", "🔒/**"])
    }

    @Test func oversizedFileIsRefused() throws {
        let padding = String(repeating: " ", count: ConfigFile.maxSize)
        let error = try #require(policyError("{}" + padding))
        #expect(error.line == nil)
        #expect(error.reason.hasPrefix("too large"))
        #expect(policyError("{}" + String(padding.dropFirst(2))) == nil)
    }

    @Test func loadNamesMissingFilesAndDirectories() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("cairn-policy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }

        let file = directory.appendingPathComponent("policy.json")
        #expect(throws: FileProblem(path: file.path, reason: "file not found")) { try Policy.load(from: file) }
        #expect(throws: FileProblem.self) { try Policy.load(from: directory) }

        try Data("{\n  \"review\": {\"max_files\": 3}\n}\n".utf8).write(to: file)
        #expect(try Policy.load(from: file).review.maxFiles == 3)

        try Data("{\n  \"review\": {\"max_files\": 0}\n}\n".utf8).write(to: file)
        #expect(throws: FileProblem(path: file.path, line: 2, reason: "review.max_files: must be at least 1, not 0")) {
            try Policy.load(from: file)
        }
    }

    @Test func errorDescriptionIsPathLineReason() {
        #expect(FileProblem(path: "policy.json", line: 3, reason: "bad").description == "policy.json:3: bad")
        #expect(FileProblem(path: "policy.json", reason: "bad").description == "policy.json: bad")
    }

    // MARK: Robustness

    /// 2,000 deterministic mutations of the template: every one parses or throws a
    /// `FileProblem` whose line lies inside the document — never anything else, never a crash.
    @Test func mutationsOfTheTemplateNeverCrash() throws {
        let template = try [UInt8](Data(contentsOf: templateDirectory.appendingPathComponent("policy.json")))
        let interesting = Array(#"{}[]",:"\-0123456789.eE+ tfnul/*'\#n\#t"#.utf8) + [0x00, 0x80, 0xC3, 0xFF]
        var random = SplitMix64(state: 0xCA1F_2026)
        var parsed = 0
        var failed = 0
        for _ in 0..<2_000 {
            var bytes = template
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<6, using: &random) {
                case 0 where !bytes.isEmpty: bytes.remove(at: at)
                case 1: bytes.insert(interesting.randomElement(using: &random)!, at: at)
                case 2 where !bytes.isEmpty: bytes[at] = interesting.randomElement(using: &random)!
                case 3: bytes = Array(bytes.prefix(at))
                case 4 where !bytes.isEmpty:
                    let end = Swift.min(bytes.count, at + Int.random(in: 1...40, using: &random))
                    bytes.insert(contentsOf: bytes[at..<end], at: at)
                default:
                    // swap a digit run for a different number, exercising the value checks
                    if let digit = bytes.indices.filter({ bytes[$0] >= 0x30 && bytes[$0] <= 0x39 })
                        .randomElement(using: &random)
                    {
                        bytes.replaceSubrange(digit...digit, with: Array(["-1", "0", "1e9", "9e99", "0.5"]
                            .randomElement(using: &random)!.utf8))
                    }
                }
            }
            let lineCount = bytes.filter { $0 == 0x0A }.count + 1
            if let error = policyError(Data(bytes)) {
                failed += 1
                #expect(error.path == "policy.json")
                if let line = error.line {
                    #expect((1...lineCount).contains(line), "\(error) in a document of \(lineCount) lines")
                }
                #expect(!error.reason.isEmpty)
            } else {
                parsed += 1
            }
        }
        // Both outcomes must occur, or the mutations are not testing anything.
        #expect(parsed > 0)
        #expect(failed > 1_000)
    }

    /// The syntax check agrees with Foundation: what it accepts, `JSONSerialization` accepts, and
    /// what it refuses, `JSONSerialization` refuses too (except where it is stricter on purpose).
    @Test func syntaxCheckAgreesWithJSONSerialization() throws {
        let template = try [UInt8](Data(contentsOf: templateDirectory.appendingPathComponent("policy.json")))
        let interesting = Array(#"{}[]",:"\-0123456789.eE+ tfnul"#.utf8)
        var random = SplitMix64(state: 42)
        var disagreements: [String] = []
        for _ in 0..<2_000 {
            var bytes = template
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes.remove(at: at)
                case 1: bytes.insert(interesting.randomElement(using: &random)!, at: at)
                default: bytes[at] = interesting.randomElement(using: &random)!
                }
                if bytes.isEmpty { bytes = [0x20] }
            }
            let foundation = (try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])) != nil
            var ours = true
            var message = ""
            do {
                _ = try JSONSyntaxCheck.check(bytes)
            } catch let failure as JSONSyntaxCheck.Failure {
                ours = false
                message = failure.message
            }
            // Stricter on purpose: Foundation on Linux accepts a trailing comma in an object and
            // keeps one value of a repeated key; other JSON tools refuse the first, and the second
            // silently drops an edit.
            let strictByDesign = message.hasPrefix("duplicate key") || message.hasPrefix("trailing comma")
            if ours != foundation && !(strictByDesign && !ours) {
                disagreements.append("ours=\(ours) foundation=\(foundation) \(message): \(String(decoding: bytes, as: UTF8.self))")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(3))")
    }
}
