import Foundation
import Testing
@testable import CairnKit

@Suite struct TemplateTests {
    static let templateDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("vault-template").path

    @Test func embeddedTemplateMatchesVaultTemplateFolder() throws {
        let onDisk = try VaultTemplate.load(directory: Self.templateDir)
        let embedded = VaultTemplate.structure
        #expect(embedded.files.map(\.path) == onDisk.files.map(\.path), "run scripts/embed-template.py after editing vault-template/")
        #expect(embedded.files == onDisk.files)
    }

    @Test func embeddedExampleIsTheStructureWithVaultExampleOverIt() throws {
        let example = try VaultTemplate.load(directory: Self.templateDir.replacingOccurrences(of: "vault-template", with: "vault-example"))
        #expect(example.files.count >= 5)
        let structure = try VaultTemplate.load(directory: Self.templateDir).files.filter { !VaultTemplate.replacedByExample.contains($0.path) }
        let expected = VaultTemplate(files: structure).overlaid(with: example.files)
        #expect(VaultTemplate.embedded.files == expected.files, "run scripts/embed-template.py after editing vault-example/")
        #expect(VaultTemplate.replacedByExample.allSatisfy { path in VaultTemplate.structure.files.contains { $0.path == path } })
    }

    /// Adopting a real vault adds structure only: no made-up business reaches core memory, the inbox or projects.
    @Test func structureHoldsNoExampleBusiness() throws {
        let structure = VaultTemplate.structure
        for word in ["Fernhill", "Sam Rivera", "Bluebird", "Acme", "€"] {
            for file in structure.files where file.path.hasPrefix("memory/") || file.path.hasPrefix("inbox/") {
                #expect(!String(decoding: file.data, as: UTF8.self).contains(word), "\(file.path) mentions \(word)")
            }
        }
        let paths = Set(structure.files.map(\.path))
        #expect(!paths.contains { $0.hasPrefix("memory/projects/") && !$0.hasSuffix("README.md") })
        #expect(!paths.contains { $0.hasPrefix("inbox/") && !$0.hasSuffix("README.md") })
        // The core notes are forms, and the example replaces them.
        let business = try #require(structure.files.first { $0.path == "memory/core/business.md" })
        #expect(String(decoding: business.data, as: UTF8.self).contains("A form for you to fill in"))
        let example = try #require(VaultTemplate.embedded.files.first { $0.path == "memory/core/business.md" })
        #expect(String(decoding: example.data, as: UTF8.self).contains("Fernhill"))
    }

    @Test func templateHasTheDesignLayout() {
        let paths = Set(VaultTemplate.structure.files.map(\.path))
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
