import Foundation

extension VaultWatcher {
    /// A watcher running on a thread of a long-lived process (`cairn mcp`), for as long as that process serves:
    /// every working-tree check it makes (search, snapshot) then asks the watcher what changed instead of
    /// statting every note. Stopped with `stop()`; it also stops on its own when the vault or its socket goes.
    public final class InProcess: @unchecked Sendable {
        let gitDir: String
        let root: String
        private let finished = DispatchSemaphore(value: 0)
        /// Why the watcher stopped or could not start, once it has (nil while it runs).
        public private(set) var failure: String?

        init(gitDir: String, root: String) {
            self.gitDir = gitDir
            self.root = root
        }

        /// Asks the watcher to stop and waits (at most `timeout` seconds) until its thread has left.
        public func stop(timeout: Double = 5) {
            WatchClient.stop(gitDir: gitDir, root: root, timeout: 2)
            _ = finished.wait(timeout: .now() + timeout)
        }

        func finish(_ failure: String?) {
            self.failure = failure
            finished.signal()
        }
    }

    /// Starts a watcher for `vault` on a thread of this process and waits until it answers (at most `timeout`
    /// seconds). Returns nil when another watcher already runs for the vault (`cairn watch`; checks use that one).
    /// Throws when this one cannot start (the kernel's inotify limit, an unwritable `.git`): checks are then full
    /// ones, correct but slower. The process's working directory and signal handling are left as they are.
    public static func startInProcess(vault: Vault, timeout: Double = 30) throws -> InProcess? {
        if WatchClient.status(gitDir: vault.gitDir, root: vault.root, timeout: 1) != nil { return nil }
        let watcher = VaultWatcher(vault: vault)
        watcher.keepsWorkingDirectory = true
        let handle = InProcess(gitDir: vault.gitDir, root: vault.root)
        let ready = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let unsafeWatcher = watcher
        let thread = Thread {
            var failure: String? = nil
            do { try unsafeWatcher.run(ready: { ready.signal() }) } catch { failure = "\(error)" }
            handle.finish(failure ?? "stopped")
            ready.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
        guard ready.wait(timeout: .now() + timeout) == .success else {
            handle.stop(timeout: 1)
            throw Failure(description: "the watcher did not answer within \(Int(timeout)) s")
        }
        if let failure = handle.failure {
            // Lost a race with a watcher started meanwhile: use that one.
            if WatchClient.status(gitDir: vault.gitDir, root: vault.root, timeout: 1) != nil { return nil }
            throw Failure(description: failure)
        }
        return handle
    }
}
