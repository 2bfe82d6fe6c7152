import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Sync over ssh (a real sshd on 127.0.0.1 with a throwaway host key and user key) and https (git http-backend
/// behind a TLS server whose certificate a throwaway CA signed), with the faults a user meets: unknown and changed
/// host keys, a wrong key, a bad token, an untrusted certificate.
@Suite(.serialized) struct SyncTransportTests {
    /// Runs a program and requires success.
    @discardableResult
    static func sh(_ sb: Sandbox, _ exe: String, _ args: [String], cwd: String) throws -> String {
        let r = sb.run(exe, args, cwd: cwd, env: sb.environment())
        try #require(r.status == 0, "\(exe) \(args.joined(separator: " ")): \(r)")
        return r.stdout
    }

    final class SSHServer {
        let server: ServerProcess
        let hostPublicKey: String
        let dir: String
        init(server: ServerProcess, hostPublicKey: String, dir: String) {
            self.server = server; self.hostPublicKey = hostPublicKey; self.dir = dir
        }
        deinit {
            // setsid may fork: stop sshd by the pid it wrote.
            if let text = try? String(contentsOfFile: dir + "/sshd.pid", encoding: .utf8),
               let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) { kill(pid, SIGTERM) }
            server.stop()
        }
    }

    /// sshd on a free port with a throwaway host key; the sandbox's `~/.ssh/id_ed25519` may log in.
    func startSSHD(_ sb: Sandbox, authorize: Bool = true) throws -> SSHServer {
        let dir = sb.root + "/sshd"
        let ssh = sb.home + "/.ssh"
        for d in [dir, ssh] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        try Self.sh(sb, "/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", dir + "/host_ed25519"], cwd: dir)
        if !sb.exists(ssh + "/id_ed25519") {
            try Self.sh(sb, "/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", ssh + "/id_ed25519"], cwd: dir)
        }
        if authorize { try FileManager.default.copyItem(atPath: ssh + "/id_ed25519.pub", toPath: dir + "/authorized_keys") }
        else { try sb.write(dir + "/authorized_keys", "") }
        if getuid() == 0 { try? FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true) }
        let port = try freePort()
        try sb.write(dir + "/sshd_config", """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(dir)/host_ed25519
            PidFile \(dir)/sshd.pid
            AuthorizedKeysFile \(dir)/authorized_keys
            StrictModes no
            UsePAM no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PubkeyAuthentication yes
            PermitRootLogin prohibit-password

            """)
        // In a session of its own (setsid): sshd must not share the test runner's process group.
        let server = try ServerProcess("/usr/bin/setsid", ["/usr/sbin/sshd", "-D", "-e", "-f", dir + "/sshd_config"], port: port)
        let pub = (sb.readText(dir + "/host_ed25519.pub") ?? "").split(separator: " ").prefix(2).joined(separator: " ")
        return SSHServer(server: server, hostPublicKey: pub, dir: dir)
    }

    func knownHosts(_ sb: Sandbox, _ line: String) throws {
        try sb.write(sb.home + "/.ssh/known_hosts", line + "\n")
    }

    static var user: String { String(cString: getpwuid(getuid()).pointee.pw_name) }

    @Test func syncOverSSHChecksTheHostKey() throws {
        let sb = try Sandbox()
        let sshd = try startSSHD(sb)
        let remote = try sb.makeBareRemote()
        let url = "ssh://\(Self.user)@127.0.0.1:\(sshd.server.port)\(remote)"
        let laptop = try sb.makeVaultWithNoteAgent("laptop")
        try sb.cairnOK(["remote", "add", "origin", url], cwd: laptop)

        // Unknown host: refused with the fingerprint, nothing trusted or written.
        try knownHosts(sb, "")
        let unknown = sb.runCairn(["sync"], cwd: laptop, env: ["SSH_AUTH_SOCK": nil])
        #expect(unknown.status == 1 && unknown.stderr.contains("is not known") && unknown.stderr.contains("SHA256:"), "\(unknown)")
        #expect(sb.readText(sb.home + "/.ssh/known_hosts") == "\n", "never trusted silently")
        #expect(try sb.refs(remote, under: "refs/heads/").isEmpty)

        // A changed host key: refused loudly.
        let other = sb.root + "/other_host"
        try Self.sh(sb, "/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other], cwd: sb.root)
        let otherKey = (sb.readText(other + ".pub") ?? "").split(separator: " ").prefix(2).joined(separator: " ")
        try knownHosts(sb, "[127.0.0.1]:\(sshd.server.port) \(otherKey)")
        let changed = sb.runCairn(["sync"], cwd: laptop, env: ["SSH_AUTH_SOCK": nil])
        #expect(changed.status == 1 && changed.stderr.contains("CHANGED"), "\(changed)")

        // Known (hashed, as Debian's ssh writes it): works, both ways.
        try knownHosts(sb, "[127.0.0.1]:\(sshd.server.port) \(sshd.hostPublicKey)")
        try Self.sh(sb, "/usr/bin/ssh-keygen", ["-H", "-f", sb.home + "/.ssh/known_hosts"], cwd: sb.root)
        #expect(sb.readText(sb.home + "/.ssh/known_hosts")?.hasPrefix("|1|") == true)
        try sb.cairnOK(["sync"], cwd: laptop, env: ["SSH_AUTH_SOCK": nil])
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: remote) == (try sb.gitOK(["rev-parse", "main"], cwd: laptop)))
        let server = try sb.cloneVault(url, "server", machine: "server")
        try sb.write(server + "/memory/working/over-ssh.md", "# over ssh\n")
        try sb.cairnOK(["sync"], cwd: server, env: ["SSH_AUTH_SOCK": nil])
        try sb.cairnOK(["sync"], cwd: laptop, env: ["SSH_AUTH_SOCK": nil])
        #expect(sb.readText(laptop + "/memory/working/over-ssh.md") == "# over ssh\n")
        sb.expectFsckClean(remote)
        #expect(!(sb.readText(laptop + "/.git/config") ?? "").contains("id_ed25519"), "no key paths or secrets in .git/config")
    }

    @Test func aKeyTheServerDoesNotAcceptIsRefusedClearly() throws {
        let sb = try Sandbox()
        let sshd = try startSSHD(sb, authorize: false)
        let remote = try sb.makeBareRemote()
        let laptop = try sb.makeVault("laptop")
        try sb.cairnOK(["remote", "add", "origin", "ssh://\(Self.user)@127.0.0.1:\(sshd.server.port)\(remote)"], cwd: laptop)
        try knownHosts(sb, "[127.0.0.1]:\(sshd.server.port) \(sshd.hostPublicKey)")
        try sb.write(laptop + "/memory/working/kept.md", "# kept\n")
        let r = sb.runCairn(["sync"], cwd: laptop, env: ["SSH_AUTH_SOCK": nil])
        #expect(r.status == 1 && r.stderr.contains("refused the credentials"), "\(r)")
        #expect(try sb.tree(laptop)["memory/working/kept.md"] != nil, "the local edit is committed, not lost")
    }

    /// A throwaway CA and a certificate for localhost (127.0.0.1) it signed; returns (ca, cert, key).
    func makeCertificates(_ sb: Sandbox) throws -> (ca: String, cert: String, key: String) {
        let d = sb.root + "/tls"
        try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        let o = "/usr/bin/openssl"
        try Self.sh(sb, o, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/ca.key", "-out", d + "/ca.pem",
                            "-days", "2", "-subj", "/CN=cairn test CA"], cwd: d)
        try Self.sh(sb, o, ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/server.key", "-out", d + "/server.csr",
                            "-subj", "/CN=localhost"], cwd: d)
        try sb.write(d + "/ext.cnf", "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
        try Self.sh(sb, o, ["x509", "-req", "-in", d + "/server.csr", "-CA", d + "/ca.pem", "-CAkey", d + "/ca.key", "-CAcreateserial",
                            "-out", d + "/server.pem", "-days", "2", "-extfile", d + "/ext.cnf"], cwd: d)
        return (d + "/ca.pem", d + "/server.pem", d + "/server.key")
    }

    @Test func syncOverHTTPSWithATokenFromTheEnvironment() throws {
        let sb = try Sandbox()
        let (ca, cert, key) = try makeCertificates(sb)
        let root = sb.work + "/served"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try sb.gitOK(["init", "-q", "--bare", "-b", "main", root + "/vault.git"], cwd: sb.work)
        try sb.gitOK(["config", "http.receivepack", "true"], cwd: root + "/vault.git")
        let port = try freePort()
        let token = "tok-\(UUID().uuidString)"
        let script = Binaries.packageRoot + "/Tests/Support/git_https_server.py"
        let server = try ServerProcess("/usr/bin/python3", [script, "\(port)", root, cert, key, token], port: port, env: sb.environment())
        defer { server.stop() }
        let url = "https://localhost:\(port)/vault.git"  // mbedTLS in libgit2 matches DNS names, not IP SANs
        let laptop = try sb.makeVault("laptop")
        try sb.cairnOK(["remote", "add", "origin", url], cwd: laptop)

        let untrusted = sb.runCairn(["sync"], cwd: laptop, env: ["CAIRN_SYNC_TOKEN": token])
        #expect(untrusted.status == 1 && untrusted.stderr.contains("certificate"), "no CA: verification fails, never skipped: \(untrusted)")
        let badToken = sb.runCairn(["sync"], cwd: laptop, env: ["CAIRN_SYNC_TOKEN": "wrong-token", "SSL_CERT_FILE": ca])
        #expect(badToken.status == 1 && badToken.stderr.contains("refused the credentials"), "\(badToken)")
        #expect(!badToken.output.contains("wrong-token"), "a token is never printed")
        let noToken = sb.runCairn(["sync"], cwd: laptop, env: ["SSL_CERT_FILE": ca])
        #expect(noToken.status == 1 && noToken.stderr.contains("token_env"), "\(noToken)")

        let ok = try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_SYNC_TOKEN": token, "SSL_CERT_FILE": ca])
        #expect(!ok.output.contains(token))
        #expect(try sb.gitOK(["rev-parse", "main"], cwd: root + "/vault.git") == (try sb.gitOK(["rev-parse", "main"], cwd: laptop)))
        try sb.cairnOK(["clone", url, "server"], cwd: sb.work, env: ["CAIRN_SYNC_TOKEN": token, "SSL_CERT_FILE": ca])
        let server2 = sb.work + "/server"
        try sb.write(server2 + "/memory/working/over-https.md", "# over https\n")
        try sb.cairnOK(["sync"], cwd: server2, env: ["CAIRN_SYNC_TOKEN": token, "SSL_CERT_FILE": ca])
        try sb.cairnOK(["sync"], cwd: laptop, env: ["CAIRN_SYNC_TOKEN": token, "SSL_CERT_FILE": ca])
        #expect(sb.readText(laptop + "/memory/working/over-https.md") == "# over https\n")
        for v in [laptop, server2] {
            #expect(!(sb.readText(v + "/.git/config") ?? "").contains(token), "the token is never stored")
            #expect(sb.git(["grep", "-q", token, "main"], cwd: v).status != 0)
        }
        sb.expectFsckClean(root + "/vault.git")
    }
}
