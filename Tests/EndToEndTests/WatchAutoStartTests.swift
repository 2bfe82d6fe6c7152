import Foundation
import Testing

/// A large vault starts its watcher by itself (`cairn.autoWatch`), through the built binary.
@Suite struct WatchAutoStartTests {
    func json(_ r: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        return try jsonObject(r.stdoutData, sourceLocation: sourceLocation)
    }

    /// The pid of the running watcher, waiting up to `seconds` for one to answer.
    func runningWatcher(_ sb: Sandbox, _ v: String, within seconds: Double = 20) throws -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            let status = try json(sb.runCairn(["watch", "status", "--json"], cwd: v))
            if status["running"] as? Bool == true, let pid = (status["watcher"] as? [String: Any])?["pid"] as? Int {
                return Int32(pid)
            }
            usleep(50_000)
        } while Date() < deadline
        return nil
    }

    func marker(_ v: String) -> String { v + "/.git/cairn/watch/autostart" }

    /// 10,000 committed notes (the default size from which the watcher starts itself), written and committed
    /// with the git CLI so the test does not depend on the commands it checks.
    func largeVault(_ sb: Sandbox) throws -> String {
        let v = try sb.makeVault()
        let folder = v + "/memory/knowledge/bulk"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for i in 0..<10_000 {
            let sub = folder + "/\(i / 500)"
            if i % 500 == 0 { try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true) }
            try Data("# Note \(i)\n\nbulk text \(i)\n".utf8).write(to: URL(fileURLWithPath: sub + "/n\(i).md"))
        }
        _ = try sb.commitAll(v, "10,000 notes")
        return v
    }

    @Test func aLargeVaultStartsItsWatcherUnlessTheSettingSaysNo() throws {
        let sb = try Sandbox()
        let v = try largeVault(sb)
        var started: Int32? = nil
        defer { if let started { kill(started, SIGTERM) } }

        // Switched off: a full check, and no attempt at all.
        _ = try sb.gitOK(["config", "cairn.autoWatch", "false"], cwd: v)
        let off = sb.runCairn(["status"], cwd: v)
        #expect(off.status == 0, "\(off)")
        #expect(!sb.exists(marker(v)), "cairn.autoWatch false must not start a watcher")
        #expect(try json(sb.runCairn(["watch", "status", "--json"], cwd: v))["running"] as? Bool == false)

        // Switched off for every vault in the global git config (the file GIT_CONFIG_GLOBAL names, as git reads it).
        _ = try sb.gitOK(["config", "--unset", "cairn.autoWatch"], cwd: v)
        let global = sb.readText(sb.gitConfig) ?? ""
        try sb.write(sb.gitConfig, global + "[cairn]\n\tautoWatch = false\n")
        #expect(sb.runCairn(["status"], cwd: v).status == 0)
        #expect(!sb.exists(marker(v)), "cairn.autoWatch false in the global git config must not start a watcher")
        // A vault's own setting wins over the global one.
        _ = try sb.gitOK(["config", "cairn.autoWatch", "true"], cwd: v)
        #expect(sb.runCairn(["status"], cwd: v).status == 0)
        #expect(sb.exists(marker(v)), "cairn.autoWatch true in .git/config must win over the global false")
        started = try runningWatcher(sb, v)
        #expect(started != nil)
        let stopped = sb.runCairn(["watch", "stop"], cwd: v)
        #expect(stopped.status == 0, "\(stopped)")
        started = nil
        try FileManager.default.removeItem(atPath: marker(v))
        _ = try sb.gitOK(["config", "--unset", "cairn.autoWatch"], cwd: v)
        try sb.write(sb.gitConfig, global)

        // The default: the first command that checks every file starts it, and says nothing about it.
        let first = sb.runCairn(["status", "--json"], cwd: v)
        #expect(first.status == 0 && first.stderr.isEmpty, "\(first)")
        #expect(sb.exists(marker(v)))
        started = try runningWatcher(sb, v)
        #expect(started != nil, "no watcher answered after the first full check of 10,000 files")

        // The next check takes the watcher's first token (a full check); from then on only what changed is looked at.
        _ = try json(sb.runCairn(["index", "--json"], cwd: v))
        try sb.write(v + "/memory/knowledge/bulk/3/n1700.md", "# Note 1700\n\nthe axolotl waves\n")
        let found = try json(sb.runCairn(["search", "axolotl", "--json"], cwd: v))
        #expect((found["hits"] as? [[String: Any]] ?? []).map { $0["path"] as? String } == ["memory/knowledge/bulk/3/n1700.md"])
        let update = found["update"] as? [String: Any] ?? [:]
        #expect(update["worktreeCheck"] as? String == "watcher", "\(update)")
        #expect((update["filesStatted"] as? Int ?? 99) <= 2, "\(update)")
        let log = sb.readText(v + "/.git/cairn/watch.log") ?? ""
        #expect(log.contains("watching"), "\(log)")
    }

    @Test func aSmallVaultStartsNoWatcherAndANumberSetsTheSize() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        var started: Int32? = nil
        defer { if let started { kill(started, SIGTERM) } }

        // The template's few files are far below the default size.
        #expect(sb.runCairn(["status"], cwd: v).status == 0)
        #expect(!sb.exists(marker(v)))

        // A size the vault reaches: started by a search's check as by status.
        _ = try sb.gitOK(["config", "cairn.autoWatch", "3"], cwd: v)
        #expect(sb.runCairn(["search", "anything"], cwd: v).status <= 1)
        started = try runningWatcher(sb, v)
        #expect(started != nil)

        // Stopped by the operator: not started again by the next commands (at most one attempt per ten minutes).
        let stopped = sb.runCairn(["watch", "stop"], cwd: v)
        #expect(stopped.status == 0, "\(stopped)")
        let attempt = modificationTime(marker(v))
        for _ in 0..<3 { #expect(sb.runCairn(["status"], cwd: v).status == 0) }
        #expect(modificationTime(marker(v)) == attempt)
        #expect(try json(sb.runCairn(["watch", "status", "--json"], cwd: v))["running"] as? Bool == false)
    }
}
