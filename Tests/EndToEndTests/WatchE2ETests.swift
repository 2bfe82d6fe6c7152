import Foundation
import Testing

/// `cairn watch` through the built binary: a background watcher that searches ask which files changed.
@Suite struct WatchE2ETests {
    func json(_ r: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try #require(r.status == 0, "\(r)", sourceLocation: sourceLocation)
        return try jsonObject(r.stdoutData, sourceLocation: sourceLocation)
    }

    func processExits(_ pid: Int32, within seconds: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if kill(pid, 0) != 0 && errno == ESRCH { return true }
            usleep(20_000)
        }
        return false
    }

    @Test func startSearchStatusAndStop() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let before = try json(sb.runCairn(["watch", "status", "--json"], cwd: v))
        #expect(before["running"] as? Bool == false)

        let started = try json(sb.runCairn(["watch", "start", "--json"], cwd: v))
        let pid = Int32(try #require(started["pid"] as? Int))
        #expect(pid > 0 && kill(pid, 0) == 0, "the watcher runs in the background after start returns")
        defer { kill(pid, SIGTERM) }
        #expect((started["folders"] as? Int ?? 0) >= 3)

        // A second start reports the running one; a second watcher in the foreground is refused.
        let again = sb.runCairn(["watch", "start"], cwd: v)
        #expect(again.status == 0 && again.stdout.contains("already running") && again.stdout.contains("\(pid)"), "\(again)")
        let second = sb.runCairn(["watch", "run"], cwd: v)
        #expect(second.status == 1 && second.stderr.contains("already running"), "\(second)")

        // First search: a full check that takes the watcher's first token; then only reported paths.
        _ = try json(sb.runCairn(["index", "--json"], cwd: v))
        try sb.write(v + "/memory/knowledge/capybara.md", "# Capybara\n\nthe capybara naps\n")
        let found = try json(sb.runCairn(["search", "capybara", "--json"], cwd: v))
        let hits = found["hits"] as? [[String: Any]] ?? []
        #expect(hits.map { $0["path"] as? String } == ["memory/knowledge/capybara.md"])
        let update = found["update"] as? [String: Any] ?? [:]
        #expect(update["worktreeCheck"] as? String == "watcher", "\(update)")
        #expect(update["filesStatted"] as? Int == 1, "\(update)")

        let text = sb.runCairn(["index", "--stats"], cwd: v)
        #expect(text.stdout.contains("files checked, only the paths `cairn watch` reported"), "\(text)")
        let status = try json(sb.runCairn(["watch", "status", "--json"], cwd: v))
        #expect(status["running"] as? Bool == true)
        #expect((status["watcher"] as? [String: Any])?["pid"] as? Int == Int(pid))

        let stopped = sb.runCairn(["watch", "stop"], cwd: v)
        #expect(stopped.status == 0 && stopped.stdout.contains("Stopped"), "\(stopped)")
        #expect(processExits(pid))
        let after = try json(sb.runCairn(["watch", "status", "--json"], cwd: v))
        #expect(after["running"] as? Bool == false)

        // Without a watcher, searches stay correct with a full check.
        try sb.write(v + "/memory/knowledge/capybara.md", "# Capybara\n\nthe capybara swims\n")
        let full = try json(sb.runCairn(["search", "swims", "--json"], cwd: v))
        #expect((full["hits"] as? [[String: Any]] ?? []).count == 1)
        #expect((full["update"] as? [String: Any])?["worktreeCheck"] as? String == "full")
        let log = sb.readText(v + "/.git/cairn/watch.log") ?? ""
        #expect(log.contains("watching") && log.contains("stopped watching"), "\(log)")
    }

    @Test func theWatcherExitsWhenTheVaultIsDeleted() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let started = try json(sb.runCairn(["watch", "start", "--json"], cwd: v))
        let pid = Int32(try #require(started["pid"] as? Int))
        defer { kill(pid, SIGTERM) }
        try FileManager.default.removeItem(atPath: v)
        #expect(processExits(pid), "a watcher whose vault is gone exits")
    }

    @Test func outsideAVaultWatchFailsClearly() throws {
        let sb = try Sandbox()
        let r = sb.runCairn(["watch", "start"], cwd: sb.work)
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("vault"), "\(r)")
    }

    /// The socket is a file in a folder only this user can enter, not an abstract socket that any process
    /// sharing the network namespace (a sandboxed agent) could reach.
    @Test func theSocketIsAFileInAPrivateFolder() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let started = try json(sb.runCairn(["watch", "start", "--json"], cwd: v))
        let pid = Int32(try #require(started["pid"] as? Int))
        defer { kill(pid, SIGTERM); _ = processExits(pid) }
        var st = stat()
        #expect(lstat(v + "/.git/cairn/watch", &st) == 0 && st.st_mode & 0o777 == 0o700, "mode \(String(st.st_mode, radix: 8))")
        #expect(lstat(v + "/.git/cairn/watch/socket", &st) == 0 && st.st_mode & S_IFMT == S_IFSOCK)
        let unix = (try? String(contentsOfFile: "/proc/net/unix", encoding: .utf8)) ?? ""
        #expect(!unix.contains("@cairn-watch"), "no abstract socket is bound")
    }

    /// A watcher that is stopped (SIGSTOP) or killed never hangs a command: it waits a bounded time, then
    /// checks everything itself, and finds the edit.
    @Test func aStoppedOrKilledWatcherNeverHangsACommand() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let started = try json(sb.runCairn(["watch", "start", "--json"], cwd: v))
        let pid = Int32(try #require(started["pid"] as? Int))
        defer { kill(pid, SIGCONT); kill(pid, SIGKILL) }
        _ = try json(sb.runCairn(["index", "--json"], cwd: v))

        kill(pid, SIGSTOP)
        try sb.write(v + "/memory/knowledge/okapi.md", "# Okapi\n\nthe okapi hides\n")
        let began = Date()
        let found = try json(sb.runCairn(["search", "okapi", "--json"], cwd: v))
        let took = Date().timeIntervalSince(began)
        #expect((found["hits"] as? [[String: Any]] ?? []).map { $0["path"] as? String } == ["memory/knowledge/okapi.md"])
        #expect((found["update"] as? [String: Any])?["worktreeCheck"] as? String == "full", "\(found)")
        #expect(took < 10, "the search waited \(took) s for a stopped watcher")
        let status = try json(sb.runCairn(["watch", "status", "--json"], cwd: v))
        #expect(status["running"] as? Bool == false, "a watcher that does not answer counts as not running")

        // Killed: the socket file stays behind; commands still work, and a new watcher replaces it.
        kill(pid, SIGKILL)
        kill(pid, SIGCONT)
        #expect(processExits(pid))
        try sb.write(v + "/memory/knowledge/okapi.md", "# Okapi\n\nthe okapi gallops\n")
        let again = try json(sb.runCairn(["search", "gallops", "--json"], cwd: v))
        #expect((again["hits"] as? [[String: Any]] ?? []).count == 1)
        let restarted = try json(sb.runCairn(["watch", "start", "--json"], cwd: v))
        let second = Int32(try #require(restarted["pid"] as? Int))
        defer { kill(second, SIGTERM) }
        #expect(second != pid && kill(second, 0) == 0)
    }
}
