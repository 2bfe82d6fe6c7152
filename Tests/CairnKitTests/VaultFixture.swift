import CairnGit
import Foundation
import Testing
@testable import CairnKit

/// A throwaway vault in a unique temporary folder, removed when the fixture is released.
final class VaultFixture {
    let dir: String
    let root: String
    let identity = OperatorIdentity(name: "Ada Operator", email: "ada@example.com")
    let now = Date(timeIntervalSince1970: 1_772_355_600) // 2026-03-01T09:00:00Z

    init(create: Bool = true) throws {
        dir = NSTemporaryDirectory() + "cairnkit-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        root = dir + "/vault"
        // libgit2\'s config search path is process-wide and owned by the CairnGit tests (TestRepo); these
        // fixtures pass identities explicitly and read no git config.
        if create {
            _ = try Vault.initialize(at: root, template: .embedded, identity: identity, globalConfigFile: "/dev/null", now: now)
        }
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func vault() throws -> Vault { try Vault.open(at: root) }

    func write(_ path: String, _ text: String) throws {
        let full = root + "/" + path
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: full))
    }

    func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: root + "/" + path).map { String(decoding: $0, as: UTF8.self) }
    }

    @discardableResult
    func snapshot(_ message: String? = nil) throws -> SnapshotResult {
        try vault().snapshot(SnapshotOptions(message: message), author: identity, now: now)
    }

    /// Runs the real git CLI in the vault with a hermetic environment; returns stdout.
    @discardableResult
    func git(_ args: String...) throws -> String {
        try gitStatus(args).out
    }

    func gitStatus(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/git")
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: root)
        p.environment = ["HOME": dir, "GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "PATH": "/usr/bin:/bin",
                         "GIT_AUTHOR_NAME": "Git User", "GIT_AUTHOR_EMAIL": "git@example.com",
                         "GIT_COMMITTER_NAME": "Git User", "GIT_COMMITTER_EMAIL": "git@example.com",
                         "GIT_AUTHOR_DATE": "2026-03-01T10:00:00Z", "GIT_COMMITTER_DATE": "2026-03-01T10:00:00Z"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func commitCount() throws -> Int {
        Int(try git("rev-list", "--count", "HEAD").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    func fsckClean() throws -> Bool { try gitStatus(["fsck", "--strict"]).status == 0 }
}
