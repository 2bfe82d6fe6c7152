import Foundation
import Testing

@testable import CairnKit

/// One labelled sample of `Tests/Support/secrets-corpus/corpus.jsonl`.
private struct CorpusSample: Decodable {
    let text: String
    let label: String
    /// The rule a positive must be found by; nil for negatives.
    let rule: String?
    /// Why a negative is a look-alike, for the reader.
    let why: String?
}

private let corpusURL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Support/secrets-corpus/corpus.jsonl")

private func loadCorpus() throws -> [CorpusSample] {
    let text = try String(contentsOf: corpusURL, encoding: .utf8)
    return try text.split(separator: "\n").map { try JSONDecoder().decode(CorpusSample.self, from: Data($0.utf8)) }
}

private func scan(_ text: String, path: String = "memory/note.md") -> [SecretFinding] {
    SecretScanner().scan(path: path, data: Data(text.utf8))
}

/// A fake GitHub token (right format, random-looking, not a real credential).
private let fakeGitHubToken = "ghp_" + "Q7mZ2vR8pL4tN9wK3bYc6HdJ1sF5gA0xE2uT"

@Suite("SecretScanner")
struct SecretScannerTests {
    @Test func corpusIsDetectedCompletelyWithoutFalsePositives() throws {
        let corpus = try loadCorpus()
        let positives = corpus.filter { $0.label == "positive" }
        let negatives = corpus.filter { $0.label == "negative" }
        #expect(positives.count >= 40)
        #expect(negatives.count >= 40)
        #expect(positives.count + negatives.count == corpus.count, "every sample is labelled positive or negative")

        var missed: [String] = [], wrongRule: [String] = [], falsePositives: [String] = []
        for sample in positives {
            let findings = scan(sample.text)
            if findings.isEmpty {
                missed.append(sample.text)
            } else if !findings.contains(where: { $0.rule == sample.rule }) {
                wrongRule.append("\(sample.rule ?? "?") expected, got \(findings.map(\.rule)): \(sample.text)")
            }
        }
        for sample in negatives {
            let findings = scan(sample.text)
            if !findings.isEmpty { falsePositives.append("\(findings.map(\.rule)) (\(sample.why ?? "")): \(sample.text)") }
        }
        let detection = Double(positives.count - missed.count) / Double(positives.count)
        let falsePositiveRate = Double(falsePositives.count) / Double(negatives.count)
        print(String(format: "secret corpus: %d positives, detection %.1f%%; %d negatives, false positives %.1f%%",
                     positives.count, detection * 100, negatives.count, falsePositiveRate * 100))
        #expect(missed.isEmpty, "missed: \(missed)")
        #expect(wrongRule.isEmpty, "found by another rule: \(wrongRule)")
        #expect(falsePositives.isEmpty, "false positives: \(falsePositives)")
        #expect(detection == 1.0)
        #expect(falsePositiveRate == 0)
    }

    @Test func corpusCoversEveryRule() throws {
        let covered = Set(try loadCorpus().compactMap(\.rule))
        let rules = Set(SecretScanner.rules.map(\.id))
        #expect(rules.subtracting(covered).isEmpty, "rules without a positive sample: \(rules.subtracting(covered))")
        #expect(covered.subtracting(rules).isEmpty, "samples naming unknown rules: \(covered.subtracting(rules))")
    }

    @Test func findingNamesFileLineAndRuleAndIsRedacted() throws {
        let text = "# Deploy\n\nThe bot uses\n\(fakeGitHubToken) for pushes.\n"
        let findings = scan(text, path: "memory/projects/deploy.md")
        #expect(findings == [SecretFinding(path: "memory/projects/deploy.md", line: 4, rule: "github-token", excerpt: "ghp_…")])
        let encoded = String(decoding: try JSONEncoder().encode(findings), as: UTF8.self)
        #expect(!encoded.contains(String(fakeGitHubToken.dropFirst(4))), "the secret must not survive in a finding")
        #expect(!findings.description.contains(String(fakeGitHubToken.dropFirst(4))))
    }

    @Test func genericExcerptShowsTheValueNotTheName() {
        let findings = scan("api_key = \"Zq3vR8mW2pL7tN4xK9bYc6Hd\"\n")
        #expect(findings.map(\.rule) == ["generic-secret"])
        #expect(findings.first?.excerpt == "Zq3v…")
    }

    @Test func urlPasswordExcerptDoesNotRevealThePassword() {
        let findings = scan("remote: https://ada:hunter2@git.acmecorp.io/vault.git")
        #expect(findings.map(\.rule) == ["url-password"])
        #expect(findings.first?.excerpt == "http…")
    }

    @Test func everyLineIsReportedWithItsOwnNumber() {
        let text = "a\nAWS_ACCESS_KEY_ID=AKIAQ7MZ2VR8PL4TN9WK\r\nb\n\(fakeGitHubToken)\n"
        #expect(scan(text).map(\.line) == [2, 4])
        #expect(scan(text).map(\.rule) == ["aws-access-key-id", "github-token"])
    }

    @Test func allowMarkerSkipsOnlyItsLine() {
        let text = "\(fakeGitHubToken) <!-- cairn:allow-secret -->\n\(fakeGitHubToken)\n"
        #expect(scan(text).map(\.line) == [2])
    }

    @Test func binaryDataIsSkipped() {
        var data = Data("\(fakeGitHubToken)\n".utf8)
        #expect(SecretScanner().scan(path: "a.bin", data: data).count == 1)
        data.append(0)
        #expect(SecretScanner.isBinary(data))
        #expect(SecretScanner().scan(path: "a.bin", data: data).isEmpty)
    }

    @Test func onlyTheFirstTenKilobytesOfALineAreScanned() {
        let early = String(repeating: "a ", count: 4000) + fakeGitHubToken + String(repeating: " b", count: 4000)
        #expect(scan(early).count == 1)
        let late = String(repeating: "a", count: SecretScanner.maxLineBytes) + " " + fakeGitHubToken
        #expect(scan(late).isEmpty)
        #expect(scan(late + "\n" + fakeGitHubToken).map(\.line) == [2], "the next line is scanned again")
    }

    @Test func genericRuleNeedsLengthAndEntropy() {
        #expect(scan("token: Zq3vR8mW2pL7tN4").isEmpty, "15 characters is too short")
        #expect(scan("token: Zq3vR8mW2pL7tN4x").map(\.rule) == ["generic-secret"], "16 random characters")
        #expect(scan("token: aabbaabbaabbaabbaabb1").isEmpty, "low entropy")
        #expect(SecretScanner.entropy("aaaa") == 0)
        #expect(abs(SecretScanner.entropy("abcd") - 2) < 1e-9)
    }

    @Test func keyWordMustStartAWord() {
        let value = "Xq8vR2mZ7pL4tN9wK3bY"
        #expect(scan("monkey: \(value)").isEmpty)
        #expect(scan("OAuth: \(value)").isEmpty)
        for name in ["key", "api_key", "apiKey", "API-KEY", "secretKey", "db.password", "authToken", "APIKEY", "Passwd"] {
            #expect(scan("\(name): \(value)").map(\.rule) == ["generic-secret"], "\(name)")
        }
    }

    @Test func specificRuleWinsOverGenericOnTheSameValue() {
        #expect(scan("token: \(fakeGitHubToken)").map(\.rule) == ["github-token"])
    }

    @Test(arguments: ["sk-", "key=", "xoxb-", "eyJ", "github_pat_", "token: \"", "AKIA"])
    func craftedLinesStayLinear(unit: String) {
        // Each line repeats a rule's start so that a naive matcher would rescan the rest of the
        // line at every repetition: quadratic, minutes for this input before runs were bounded.
        // The bound is deliberately loose (a debug build on a loaded 2-core machine is slow); it
        // only catches the quadratic blow-up. Throughput is measured in bench/, not here.
        var line = ""
        while line.utf8.count < 10_000 { line += unit }
        var text = ""
        while text.utf8.count < 1_000_000 { text += line + "\n" }
        let data = Data(text.utf8)
        let clock = ContinuousClock()
        let elapsed = clock.measure { _ = SecretScanner().scan(path: "crafted.md", data: data) }
        #expect(elapsed < .seconds(45), "\(unit): \(elapsed)")
    }

    @Test func genericCandidatesPerLineAreBounded() {
        let secret = "password = Zq3vR8mW2pL7tN4xK9bYc6Hd"
        #expect(scan(secret).count == 1)
        let decoys = String(repeating: "key: short ", count: SecretScanner.genericCandidatesPerLine)
        #expect(scan(decoys + secret).isEmpty, "the budget is spent on the decoys")
        #expect(scan(decoys + "\n" + secret).map(\.line) == [2], "each line has its own budget")
        #expect(scan("token: " + String(repeating: "Zq3vR8mW2pL7tN4x", count: 17)).isEmpty, "over 256 characters")
    }

    @Test func tenMegabytesOfMarkdownScanQuickly() {
        var chunk = """
        ---
        title: Weekly review
        tags: [ops, review]
        updated: 2026-03-01
        ---
        # Weekly review — key points

        The **token budget** for core memory is 4000 tokens; see [[budgets]] and https://docs.cairn.dev/policy#memory.
        Key: keep working notes short. Password rotation happens on Mondays (see memory/knowledge/security.md).
        - [ ] Follow up with ACME about the renewal (owner: ada, due: 2026-03-07)
        - [x] Archive expired notes: `cairn agent run gc`
        | key | value |
        | --- | --- |
        | max_files | 20 |

        ```swift
        let config = Config(apiKey: environment["API_KEY"], timeout: 30)
        if token == expected { return }
        ```
        Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore.


        """
        while chunk.utf8.count < 64 * 1024 { chunk += chunk }
        var text = ""
        while text.utf8.count < 10 * 1024 * 1024 { text += chunk }
        let data = Data(text.utf8)
        let scanner = SecretScanner()
        let clock = ContinuousClock()
        var findings: [SecretFinding] = []
        let elapsed = clock.measure { findings = scanner.scan(path: "big.md", data: data) }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(format: "secret scan: %.1f MB of Markdown in %.3f s", Double(data.count) / 1_048_576, seconds))
        #expect(findings.isEmpty)
        #if DEBUG
        #expect(seconds < 8, "debug build")
        #else
        #expect(seconds < 0.5)
        #endif
    }
}
