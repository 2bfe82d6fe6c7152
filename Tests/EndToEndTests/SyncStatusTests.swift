import Foundation
import Testing

/// What a machine shows about its remotes: `cairn status` per remote (ahead/behind as last fetched, last sync), and
/// the progress line of a long transfer, drawn only on a terminal (a pseudo-terminal from `script`) and never with
/// `--json` or into a pipe.
@Suite struct SyncStatusTests {
    @Test func statusShowsAheadBehindAndTheLastSyncPerRemote() throws {
        let sb = try Sandbox()
        let laptop = try sb.makeVault("laptop")
        let remote = try sb.makeBareRemote()
        try sb.cairnOK(["remote", "add", "origin", remote], cwd: laptop)
        let never = try sb.cairnOK(["status"], cwd: laptop)
        #expect(never.stdout.contains("Remote origin: in step (as last fetched); never synced"), "\(never)")
        try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T09:30:00Z"])
        let server = try sb.cloneVault("file://" + remote, "server", machine: "server")

        // Two commits arrive on the remote from the server; the laptop makes one of its own.
        for (i, now) in ["2026-03-01T09:40:00Z", "2026-03-01T09:41:00Z"].enumerated() {
            try sb.write(server + "/memory/working/s\(i).md", "# s\(i)\n")
            try sb.cairnOK(["sync"], cwd: server, env: ["CAIRN_NOW": now])
        }
        try sb.write(laptop + "/memory/working/l.md", "# l\n")
        try sb.cairnOK(["snapshot"], cwd: laptop)
        let offline = try sb.cairnOK(["status"], cwd: laptop)
        #expect(offline.stdout.contains("Remote origin: 1 ahead, 0 behind (as last fetched); last sync 2026-03-01T09:30:00Z"), "\(offline)")
        try sb.gitOK(["fetch", "-q", "origin"], cwd: laptop)  // status itself never touches the network
        let fetched = try jsonObject(try sb.cairnOK(["status", "--json"], cwd: laptop).stdoutData)
        let remotes = fetched["remotes"] as? [[String: Any]] ?? []
        #expect(remotes.count == 1, "\(fetched)")
        #expect(remotes.first?["name"] as? String == "origin" && remotes.first?["ahead"] as? Int == 1 && remotes.first?["behind"] as? Int == 2,
                "\(remotes)")
        #expect(remotes.first?["lastSync"] as? String == "2026-03-01T09:30:00Z", "\(remotes)")

        try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_NOW": "2026-03-01T09:50:00Z"])
        let after = try sb.cairnOK(["status"], cwd: laptop)
        #expect(after.stdout.contains("Remote origin: in step (as last fetched); last sync 2026-03-01T09:50:00Z"), "\(after)")
    }

    /// Runs `cairn ARGS` with a pseudo-terminal as its standard output and error (util-linux `script`), returning what
    /// the terminal showed.
    func onTerminal(_ sb: Sandbox, _ args: [String], cwd: String) -> CommandResult {
        let quoted = ([Binaries.cairn ?? "cairn"] + args).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }.joined(separator: " ")
        return sb.run("/usr/bin/script", ["-qec", quoted, "/dev/null"], cwd: cwd, env: sb.environment(["TERM": "xterm"]))
    }

    @Test func aLongTransferShowsProgressOnATerminalOnly() throws {
        let sb = try Sandbox()
        let base = sb.work + "/served"
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        try sb.gitOK(["init", "-q", "--bare", "-b", "main", base + "/vault.git"], cwd: sb.work)
        let daemon = try sb.startGitDaemon(base: base)
        let laptop = try sb.makeVault("laptop")
        try sb.write(laptop + "/memory/knowledge/big.md", SyncFaultTests.bulky(900_000, seed: 3))
        try sb.cairnOK(["remote", "add", "origin", "git://127.0.0.1:\(daemon.port)/vault.git"], cwd: laptop)
        try sb.cairnOK(["sync"], cwd: laptop)
        // A slow line (150 kB/s for a ~450 kB pack): the clone takes a few seconds, long enough to show progress.
        let port = try freePort()
        let proxy = try ServerProcess("/usr/bin/python3", [Binaries.packageRoot + "/Tests/Support/faulty_proxy.py", "\(port)", "\(daemon.port)",
                                                           "--rate", "150000"], port: port, env: sb.environment(), cwd: sb.root)
        defer { proxy.stop() }
        let url = "git://127.0.0.1:\(port)/vault.git"

        let shown = onTerminal(sb, ["clone", url, "a"], cwd: sb.work)
        #expect(shown.status == 0, "\(shown)")
        #expect(shown.stdout.contains("Receiving objects: ") && shown.stdout.contains("KiB"), "progress on a terminal: \(shown)")
        #expect(shown.stdout.contains("\r\u{1B}[KCloned ") || shown.stdout.contains("\u{1B}[K\r\nCloned ") || shown.stdout.contains("\u{1B}[KCloned"),
                "the line is cleared before the result: \(shown)")

        let json = onTerminal(sb, ["clone", "--json", url, "b"], cwd: sb.work)
        #expect(json.status == 0 && !json.stdout.contains("Receiving objects") && json.stdout.contains("\"main\""), "none with --json: \(json)")

        let piped = sb.runCairn(["clone", url, "c"], cwd: sb.work)
        #expect(piped.status == 0 && !piped.output.contains("Receiving objects"), "none into a pipe: \(piped)")
        #expect(sb.readText(sb.work + "/a/memory/knowledge/big.md") == sb.readText(laptop + "/memory/knowledge/big.md"))
    }
}
