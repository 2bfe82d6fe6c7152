import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Invariant 9, tried by an agent that means harm: under bubblewrap a command agent sees only its work folder and
/// what a program needs to run — not the vault, `$HOME`, `.git`, the host's secrets in `/etc`, or the network
/// (TCP on loopback and abstract unix sockets alike) unless its definition says `network: true`.
@Suite struct SandboxContainmentTests {
    /// A note outside the agent's read scope, and not core memory (which every agent is given).
    static let hiddenNote = "memory/knowledge/acquisition-plan.md"
    static let noteMarker = "NOTE-MARKER-4f1c9e"
    static let sshMarker = "SSH-KEY-MARKER-8b2d71"
    static let gitMarker = "GIT-CONFIG-MARKER-55e0aa"

    /// The agent: tries each read and connection, writes one line per attempt to `inbox/report.md` (`NAME: ok …` or
    /// `NAME: denied …`), and `inbox/leak.md` with whatever it managed to read.
    static let script = """
        import os, socket, sys
        report, leak = [], []
        def attempt(name, action):
            try:
                value = action()
                report.append(name + ": ok " + repr(value)[:200])
                leak.append(str(value))
            except Exception as e:
                report.append(name + ": denied " + type(e).__name__)
        def read(path):
            return lambda: open(path).read()
        def tcp():
            s = socket.create_connection(("127.0.0.1", int(os.environ["CAIRN_INPUT_PORT"])), timeout=5)
            s.close()
            return "connected"
        def abstract():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect("\\0" + os.environ["CAIRN_INPUT_SOCKET"])
            s.close()
            return "connected"
        attempt("note", read(os.environ["CAIRN_INPUT_NOTE"]))
        attempt("ssh", read(os.environ["CAIRN_INPUT_SSH"]))
        attempt("gitconfig", read(os.environ["CAIRN_INPUT_GITCONFIG"]))
        attempt("vault", lambda: os.listdir(os.environ["CAIRN_INPUT_VAULT"]))
        attempt("home", lambda: os.listdir(os.environ["CAIRN_INPUT_HOME"]))
        attempt("shadow", read("/etc/shadow"))
        attempt("tcp", tcp)
        attempt("abstract", abstract)
        def watcher():
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5)
            s.connect(os.environ["CAIRN_INPUT_WATCHSOCK"])
            s.close()
            return "connected"
        if "CAIRN_INPUT_WATCHSOCK" in os.environ:
            attempt("watcher", watcher)
        report.append("rootdir: " + " ".join(sorted(os.listdir("/"))))
        report.append("tmp: " + " ".join(sorted(os.listdir("/tmp"))))
        # Every folder from /tmp down to the work folder, with what it holds.
        work, chain, here = os.path.dirname(os.environ["CAIRN_FILES"]), [], "/tmp"
        for part in os.path.relpath(work, "/tmp").split("/"):
            chain.append(here + "=" + ",".join(sorted(os.listdir(here))))
            here = os.path.join(here, part)
        report.append("tmpchain: " + " ".join(chain))
        import helper
        report.append("helper: " + helper.VALUE)
        open("inbox/report.md", "w").write("\\n".join(report) + "\\n")
        open("inbox/leak.md", "w").write("\\n".join(leak) + "\\n")
        """

    struct Setup {
        let vault: String
        let inputs: [String]
        let listeners: Listeners
    }

    /// A vault with the agent `probe` (`reads`/`writes` `inbox/**`, `sandbox: required`, plus `extra`), a hidden note,
    /// a fake ssh key in the test's HOME, a marker in `.git/config`, and a TCP and an abstract unix listener.
    func setUp(_ sb: Sandbox, extra: String = "") throws -> Setup {
        let v = try sb.makeVault()
        try sb.write(v + "/" + Self.hiddenNote, "---\ntitle: Acquisition plan\n---\n# Plan\n\n\(Self.noteMarker)\n")
        try sb.addAgent(v, "probe", frontMatter: """
            kind: command
            command: ["agents/probe.py"]
            reads: ["inbox/**"]
            writes: ["inbox/**"]
            sandbox: required
            timeout: 30s
            \(extra)
            """, files: ["agents/probe.py": "#!/usr/bin/env python3\n" + Self.script, "agents/helper.py": "VALUE = 'imported'\n"],
            executable: ["agents/probe.py"])
        try sb.write(sb.home + "/.ssh/id_ed25519", "a fake key (no PEM header, so the secret scan stays out of this test) \(Self.sshMarker)\n")
        try sb.gitOK(["config", "cairn.testmarker", Self.gitMarker], cwd: v)
        let listeners = try Listeners()
        let inputs = ["note=\(v)/\(Self.hiddenNote)", "ssh=\(sb.home)/.ssh/id_ed25519", "gitconfig=\(v)/.git/config",
                      "vault=\(v)", "home=\(sb.home)", "port=\(listeners.port)", "socket=\(listeners.abstractName)"]
        return Setup(vault: v, inputs: inputs, listeners: listeners)
    }

    /// `NAME: …` lines of the agent's report in the proposal, by name.
    func report(_ sb: Sandbox, _ v: String, _ run: AgentRun) throws -> [String: String] {
        let text = try sb.gitOK(["show", "proposals/\(run.id):inbox/report.md"], cwd: v)
        var out: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            out[String(line[..<colon])] = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    /// Whether `marker` appears in what the proposal adds: the files it changes, its record (stdout, stderr) and message.
    func proposalContains(_ sb: Sandbox, _ v: String, _ run: AgentRun, _ marker: String) throws -> Bool {
        let diff = try sb.gitOK(["diff", "main", "proposals/\(run.id)"], cwd: v)
        #expect(diff.contains("inbox/report.md") && diff.contains("inbox/leak.md"), "\(diff)")
        let message = try sb.gitOK(["log", "-1", "--format=%B", "proposals/\(run.id)"], cwd: v)
        return diff.contains(marker) || message.contains(marker)
    }

    @Test func aSandboxedAgentCannotReadTheVaultHomeGitOrReachTheNetwork() throws {
        let sb = try Sandbox()
        let s = try setUp(sb)
        let run = try sb.runAgent(s.vault, "probe", inputs: s.inputs)
        guard CommandAgentE2ETests.bubblewrapWorks else {
            #expect(run.outcome == "failed" && run.failure.contains("sandbox: required"), "\(run)")
            return
        }
        #expect(run.outcome == "proposed", "\(run)")
        let r = try report(sb, s.vault, run)
        for name in ["note", "ssh", "gitconfig", "vault", "home", "tcp", "abstract"] {
            #expect(r[name]?.hasPrefix("denied") == true, "\(name): \(r[name] ?? "no line")")
        }
        // /etc is there for programs, but without the password hashes.
        #expect(r["shadow"] == "ok ''" || r["shadow"]?.hasPrefix("denied") == true, "\(r["shadow"] ?? "")")
        let root = Set((r["rootdir"] ?? "").split(separator: " ").map(String.init))
        #expect(root.isSubset(of: ["bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr"]), "\(root)")
        #expect(root.contains("usr") && root.contains("etc") && root.contains("tmp"), "\(root)")
        // Its private /tmp holds only the path to its work folder, not the host's temp files (the test's HOME and vault,
        // the other folders of the test, the work folder's manifest beside it): each folder on the way holds one entry.
        if sb.tmp.hasPrefix("/tmp/") {
            let chain = (r["tmpchain"] ?? "").split(separator: " ").map { $0.split(separator: "=", maxSplits: 1).map(String.init) }
            #expect(chain.count >= 2 && chain.allSatisfy { $0.count == 2 && !$0[1].isEmpty && !$0[1].contains(",") },
                    "\(r["tmpchain"] ?? "no tmpchain line")")
            #expect(r["tmp"] == String(sb.tmp.dropFirst(5).split(separator: "/")[0]), "\(r["tmp"] ?? "")")
        } else {
            #expect(r["tmp"] == "", "\(r["tmp"] ?? "")")
        }
        #expect(r["helper"] == "imported", "the agent's own folder in agents/ is readable: \(r)")
        for marker in [Self.noteMarker, Self.sshMarker, Self.gitMarker] {
            #expect(try !proposalContains(sb, s.vault, run, marker), "\(marker) leaked into the proposal")
        }
        #expect(try !proposalContains(sb, s.vault, run, "root:"), "/etc/shadow leaked into the proposal")
        #expect(s.listeners.tcpConnections() == 0, "the agent reached the test's TCP listener")
        #expect(s.listeners.abstractConnections() == 0, "the agent reached the test's abstract unix socket")
        let record = try sb.runRecord(s.vault, rev: "proposals/\(run.id)", id: run.id)
        #expect((record["command"] as? [String: Any])?["sandbox"] as? String == "bubblewrap: work folder only, no network", "\(record)")
        sb.expectFsckClean(s.vault)
    }

    /// The vault's watcher listens on a socket file in `.git/cairn/watch/`: the operator's processes reach it, a sandboxed
    /// agent cannot (the vault is not in its file system), so it can neither stop the watcher nor learn what was edited.
    @Test func aSandboxedAgentCannotReachTheVaultsWatcher() throws {
        let sb = try Sandbox()
        let s = try setUp(sb)
        guard CommandAgentE2ETests.bubblewrapWorks else { return }
        let started = sb.runCairn(["watch", "start"], cwd: s.vault)
        #expect(started.status == 0, "\(started)")
        defer { _ = sb.runCairn(["watch", "stop"], cwd: s.vault) }
        let socketPath = s.vault + "/.git/cairn/watch/socket"
        // The operator's own process connects: the denial below is the sandbox's doing.
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(socketPath.utf8.prefix(raw.count - 1))
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(connected == 0, "the test could not reach the watcher itself (errno \(errno))")
        let run = try sb.runAgent(s.vault, "probe", inputs: s.inputs + ["watchsock=\(socketPath)"])
        #expect(run.outcome == "proposed", "\(run)")
        let r = try report(sb, s.vault, run)
        #expect(r["watcher"]?.hasPrefix("denied") == true, "watcher: \(r["watcher"] ?? "no line")")
        let status = sb.runCairn(["watch", "status"], cwd: s.vault)
        #expect(status.status == 0, "the watcher still runs: \(status)")
    }

    @Test func networkTrueOpensTheNetworkAndNothingElse() throws {
        let sb = try Sandbox()
        let s = try setUp(sb, extra: "network: true")
        let run = try sb.runAgent(s.vault, "probe", inputs: s.inputs)
        guard CommandAgentE2ETests.bubblewrapWorks else { return }
        #expect(run.outcome == "proposed", "\(run)")
        let r = try report(sb, s.vault, run)
        #expect(r["tcp"] == "ok 'connected'", "\(r)")
        #expect(s.listeners.tcpConnections() == 1, "the agent's connection did not arrive")
        for name in ["note", "ssh", "gitconfig", "vault", "home"] {
            #expect(r[name]?.hasPrefix("denied") == true, "\(name): \(r[name] ?? "no line")")
        }
        for marker in [Self.noteMarker, Self.sshMarker, Self.gitMarker] {
            #expect(try !proposalContains(sb, s.vault, run, marker), "\(marker) leaked into the proposal")
        }
        let record = try sb.runRecord(s.vault, rev: "proposals/\(run.id)", id: run.id)
        #expect((record["command"] as? [String: Any])?["sandbox"] as? String == "bubblewrap: work folder only, network on", "\(record)")
    }

    /// The same agent with `sandbox: off` reads what the sandbox hides: proof that the tests above test the sandbox.
    @Test func withoutTheSandboxTheSameAgentReadsEverything() throws {
        let sb = try Sandbox()
        let s = try setUp(sb)
        let definition = try String(contentsOfFile: s.vault + "/agents/probe.md", encoding: .utf8)
        try sb.write(s.vault + "/agents/probe.md", definition.replacingOccurrences(of: "sandbox: required", with: "sandbox: off"))
        try sb.snapshot(s.vault)
        let run = try sb.runAgent(s.vault, "probe", inputs: s.inputs)
        #expect(run.outcome == "proposed", "\(run)")
        let r = try report(sb, s.vault, run)
        for name in ["note", "ssh", "gitconfig", "tcp", "abstract"] {
            #expect(r[name]?.hasPrefix("ok") == true, "\(name): \(r[name] ?? "no line")")
        }
        for marker in [Self.noteMarker, Self.sshMarker, Self.gitMarker] {
            #expect(try proposalContains(sb, s.vault, run, marker), "the leak check cannot see \(marker)")
        }
        let record = try sb.runRecord(s.vault, rev: "proposals/\(run.id)", id: run.id)
        #expect((record["command"] as? [String: Any])?["sandbox"] as? String == "none: sandbox: off", "\(record)")
    }

    @Test func aNetworkValueOtherThanTrueOrFalseIsAnInvalidDefinition() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        try sb.write(v + "/agents/net.md", "---\nkind: command\ncommand: [\"true\"]\nnetwork: sometimes\n---\nAn agent.\n")
        let r = sb.runCairn(["agent", "list"], cwd: v)
        #expect(r.status == 1, "\(r)")
        #expect(r.stdout.contains("agents/net.md") && r.stdout.contains("`network` must be true or false"), "\(r)")
    }
}

/// A TCP listener on 127.0.0.1 and a listening abstract unix socket, for an agent to try; connections are counted
/// without accepting anything (the kernel completes them into the backlog).
final class Listeners {
    let tcp: Int32
    let abstract: Int32
    let port: UInt16
    let abstractName = "cairn-test-\(UUID().uuidString)"

    init() throws {
        let tcpFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(tcpFD, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(tcpFD, $0, &len) } }

        let unixFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var unix = sockaddr_un()
        unix.sun_family = sa_family_t(AF_UNIX)
        let name = [UInt8(0)] + Array(abstractName.utf8)
        withUnsafeMutableBytes(of: &unix.sun_path) { raw in for (i, b) in name.enumerated() { raw[i] = b } }
        let unixLen = socklen_t(MemoryLayout<sa_family_t>.size + name.count)
        let unixBound = withUnsafePointer(to: &unix) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(unixFD, $0, unixLen) } }
        for fd in [tcpFD, unixFD] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        tcp = tcpFD
        abstract = unixFD
        port = UInt16(bigEndian: addr.sin_port)
        try #require(bound == 0 && listen(tcpFD, 16) == 0, "cannot listen on 127.0.0.1")
        try #require(unixBound == 0 && listen(unixFD, 16) == 0, "cannot listen on an abstract unix socket")
    }

    deinit {
        close(tcp)
        close(abstract)
    }

    func tcpConnections() -> Int { Self.drain(tcp) }
    func abstractConnections() -> Int { Self.drain(abstract) }

    /// Accepts (and closes) every connection waiting in the backlog; how many there were.
    private static func drain(_ fd: Int32) -> Int {
        var count = 0
        while true {
            let c = accept(fd, nil, nil)
            guard c >= 0 else { return count }
            close(c)
            count += 1
        }
    }
}
