import Foundation
import Testing
@testable import CairnKit

/// The rules of `WatchAutoStart` that need no running program: the setting's values and the file systems it avoids.
@Suite struct WatchAutoStartUnitTests {
    @Test func theSettingSwitchesItOffOrSetsTheSize() throws {
        let f = try VaultFixture()
        let vault = try f.vault()
        #expect(WatchAutoStart.minimumFiles(vault) == WatchAutoStart.defaultMinimumFiles)
        let cases: [(String, Int?)] = [("false", nil), ("no", nil), ("off", nil), ("0", nil), ("never", nil), ("-3", nil),
                                       ("true", 10_000), ("yes", 10_000), ("250", 250), ("1", 1), ("many", 10_000)]
        for (value, expected) in cases {
            try vault.repository.setConfig(WatchAutoStart.configKey, value)
            #expect(WatchAutoStart.minimumFiles(vault) == expected, "cairn.autoWatch = \(value)")
        }
    }

    @Test func aLocalFileSystemIsNotANetworkOneAndAMissingPathIsTreatedAsOne() {
        #expect(!WatchAutoStart.isNetworkFileSystem(FileManager.default.temporaryDirectory.path))
        #expect(!WatchAutoStart.isNetworkFileSystem("/"))
        #expect(WatchAutoStart.isNetworkFileSystem("/nonexistent-\(UUID().uuidString)"))
        #expect(WatchAutoStart.networkFileSystems.contains(0x6969), "NFS")
    }

    /// A library user (no launcher set) never starts a watcher, whatever the check's size.
    @Test func withoutALauncherNothingIsStarted() throws {
        let f = try VaultFixture()
        let vault = try f.vault()
        try vault.repository.setConfig(WatchAutoStart.configKey, "1")
        #expect(WatchAutoStart.launcher == nil)
        WatchAutoStart.afterUnwatchedCheck(vault, filesStatted: 1_000_000)
        #expect(!FileManager.default.fileExists(atPath: vault.gitDir + "cairn/watch/autostart"))
    }
}
