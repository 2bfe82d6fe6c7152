@testable import CairnGit
import Foundation
import Testing
@testable import CairnKit

/// A `*.lock` left by a killed process must not make cairn fail forever; one a live process holds must be respected.
@Suite struct LockRecoveryTests {
    @Test func abandonedIndexLockIsRecovered() throws {
        let f = try VaultFixture()
        let lock = f.root + "/.git/index.lock"
        FileManager.default.createFile(atPath: lock, contents: Data("left by kill -9".utf8))
        try f.write("inbox/x.md", "x\n")
        let status = try f.vault().status(now: f.now)
        #expect(status.warnings.contains { $0.contains("index.lock") && $0.contains("the next write removes it") })
        let result = try f.snapshot()
        #expect(result.commit != nil)
        #expect(!FileManager.default.fileExists(atPath: lock))
        #expect(try f.git("status", "--porcelain").isEmpty)
    }

    @Test func abandonedRefLockIsRecovered() throws {
        let f = try VaultFixture()
        let lock = f.root + "/.git/refs/heads/main.lock"
        FileManager.default.createFile(atPath: lock, contents: Data())
        try f.write("inbox/y.md", "y\n")
        #expect(try f.snapshot().commit != nil)
        #expect(!FileManager.default.fileExists(atPath: lock))
    }

    @Test func abandonedLockDeepUnderRefsIsRecovered() throws {
        let f = try VaultFixture()
        let folder = f.root + "/.git/refs/heads/proposals/2026"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: folder + "/run-1.lock", contents: Data())
        try f.write("inbox/z.md", "z\n")
        #expect(try f.snapshot().commit != nil)
        #expect(!FileManager.default.fileExists(atPath: folder + "/run-1.lock"))
    }

    @Test func lockHeldByALiveProcessStopsTheWrite() throws {
        let f = try VaultFixture()
        let lock = f.root + "/.git/index.lock"
        FileManager.default.createFile(atPath: lock, contents: Data())
        // A real process keeps the lock file open, as a running git does.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/bin/sh")
        holder.arguments = ["-c", "exec 3<\"$0\"; exec sleep 30", lock]
        try holder.run()
        defer { kill(holder.processIdentifier, SIGKILL); holder.waitUntilExit() }
        // Wait until the shell has opened the file.
        let gitDir = URL(fileURLWithPath: f.root + "/.git").resolvingSymlinksInPath().path
        for _ in 0..<100 {
            if LockFiles.openHolders(under: gitDir).contains(where: { $0.hasSuffix("index.lock") }) { break }
            usleep(20_000)
        }
        try f.write("inbox/z.md", "z\n")
        let before = try f.commitCount()
        #expect {
            try f.snapshot()
        } throws: { error in
            guard case VaultError.locked(let path, let reason) = error else { return false }
            return path.hasSuffix("index.lock") && reason.contains("holds it open")
        }
        #expect(FileManager.default.fileExists(atPath: lock))
        #expect(try f.commitCount() == before)
        #expect(f.read("inbox/z.md") == "z\n")
    }

    @Test func vaultLockSerializesWritersAndIsReleasedOnExit() throws {
        let f = try VaultFixture()
        let gitDir = f.root + "/.git/"
        do {
            let held = try VaultLock(gitDir: gitDir)
            #expect(throws: VaultError.self) { _ = try VaultLock(gitDir: gitDir, timeout: 0.1) }
            withExtendedLifetime(held) {}
        }
        // Released when the holder goes away.
        _ = try VaultLock(gitDir: gitDir, timeout: 0.1)
    }
}
