import Foundation
import Testing
@testable import CairnKit

@Suite struct TemplateTests {
    static let templateDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("vault-template").path

    @Test func embeddedTemplateMatchesVaultTemplateFolder() throws {
        let onDisk = try VaultTemplate.load(directory: Self.templateDir)
        let embedded = VaultTemplate.embedded
        #expect(embedded.files.map(\.path) == onDisk.files.map(\.path), "run scripts/embed-template.py after editing vault-template/")
        #expect(embedded.files == onDisk.files)
    }

    @Test func templateHasTheDesignLayout() {
        let paths = Set(VaultTemplate.embedded.files.map(\.path))
        for required in ["README.md", "policy.json", "policy.md", ".cairn/config.json", ".gitignore", ".cairn/.gitignore"] {
            #expect(paths.contains(required), "missing \(required)")
        }
        for folder in Vault.layoutFolders {
            #expect(paths.contains { $0.hasPrefix(folder + "/") }, "no file under \(folder)/")
        }
    }

    @Test func everyTemplateNoteParses() throws {
        for file in VaultTemplate.embedded.files where file.path.hasSuffix(".md") {
            _ = try NoteParser.parse(path: file.path, data: file.data)
        }
        _ = try Policy.parse(try #require(VaultTemplate.embedded.files.first { $0.path == "policy.json" }).data, path: "policy.json")
    }

    @Test func freshVaultPassesDoctor() throws {
        let f = try VaultFixture()
        let report = try f.vault().doctor(now: f.now)
        #expect(report.healthy, "\(report.findings)")
        #expect(report.notesChecked > 5)
        #expect(report.commitsChecked == 1)
    }
}
