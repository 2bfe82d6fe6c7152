import CGit2
import CGit2Helpers
import Foundation

/// What a transport may use to authenticate and to check who it talks to. The caller reads files and the
/// environment; this library never does. Nothing here is ever written to disk or into an error message.
public struct TransportCredentials: Sendable {
    /// The token for https remotes (sent as the password; the user name is the URL's, else `tokenUser`).
    public var token: String?
    public var tokenUser = "x-access-token"
    /// The user for ssh when the URL names none.
    public var sshUser: String?
    /// Ask ssh-agent first (libssh2 finds it through `SSH_AUTH_SOCK`).
    public var useSSHAgent = true
    /// Private key files to try after the agent, in order (public key file: the same path + `.pub` when present).
    public var sshKeyFiles: [String] = []
    /// The `known_hosts` file ssh host keys are checked against; nil refuses every ssh host.
    public var knownHostsFile: String?
    /// Seconds a connection may wait for the other side (to connect, to send a byte, to take one) before the
    /// transfer is given up (`sync.timeout_seconds`); 0 waits forever.
    public var timeoutSeconds = TransportCredentials.defaultTimeoutSeconds
    public static let defaultTimeoutSeconds = 60

    public init(token: String? = nil, sshUser: String? = nil, useSSHAgent: Bool = true, sshKeyFiles: [String] = [],
                knownHostsFile: String? = nil) {
        self.token = token
        self.sshUser = sshUser
        self.useSSHAgent = useSSHAgent
        self.sshKeyFiles = sshKeyFiles
        self.knownHostsFile = knownHostsFile
    }
}

/// A transport failure with what to do about it. Messages never contain a credential.
public enum TransportError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The ssh host is not in known_hosts.
    case unknownHostKey(host: String, fingerprint: String, knownHosts: String)
    /// known_hosts has another key for the host.
    case changedHostKey(host: String, fingerprint: String, knownHosts: String)
    /// The server refused every credential offered.
    case authenticationFailed(url: String, tried: String)
    /// The https certificate did not verify.
    case certificateRejected(host: String)
    /// The remote could not be reached.
    case unreachable(url: String, reason: String)
    /// The connection broke in the middle of a transfer (the server died, the line was cut).
    case connectionLost(url: String, reason: String)
    /// The other side stopped answering: nothing came or went for `seconds`.
    case timedOut(url: String, seconds: Int)

    public var description: String {
        switch self {
        case .unknownHostKey(let host, let fp, let file):
            return "the ssh host \(host) is not known (its key fingerprint is \(fp)); it was not trusted. "
                + "Check the fingerprint with the server's administrator, then add the host to \(file) "
                + "(for example by connecting once with `ssh` and accepting it)"
        case .changedHostKey(let host, let fp, let file):
            return "the ssh host key of \(host) has CHANGED (it now offers \(fp)), which \(file) does not list for it; "
                + "the connection was refused. This may be an attack; if the server's key really changed, remove its old "
                + "line from \(file) and add the new key"
        case .authenticationFailed(let url, let tried):
            return "\(url) refused the credentials (\(tried)); check the key or token and that this account may access it"
        case .certificateRejected(let host):
            return "the TLS certificate of \(host) did not verify; the connection was refused (install the right CA "
                + "certificate; cairn never skips verification)"
        case .unreachable(let url, let reason):
            return "could not reach \(url): \(reason); check the URL and the network, then run the command again"
        case .connectionLost(let url, let reason):
            return "the connection to \(url) broke during the transfer (\(reason)); nothing was lost on either side: "
                + "what arrived in part was thrown away — run the command again"
        case .timedOut(let url, let seconds):
            return "\(url) stopped answering: nothing came or went for \(seconds) s, so the connection was given up; "
                + "nothing was lost on either side (what arrived in part was thrown away) — run the command again "
                + "(a slow line may need a longer sync.timeout_seconds in .cairn/config.json)"
        }
    }
}

/// State shared with libgit2's C callbacks for one fetch or push (passed as the payload).
final class CallbackState {
    let credentials: TransportCredentials
    let url: String
    var progress: ((TransferProgress) -> Void)?
    var pushUpdates: [PushUpdate] = []
    var problem: TransportError?
    var triedAgent = false
    var nextKey = 0
    var triedToken = false
    var attempts = 0
    var offered: [String] = []
    /// For a push with leases: what each remote reference must still hold (nil: absent), and the ones that did not.
    var leases: [String: OID?]?
    var brokenLeases: [PushUpdate] = []

    init(credentials: TransportCredentials, url: String) {
        self.credentials = credentials
        self.url = url
    }

    static func from(_ payload: UnsafeMutableRawPointer?) -> CallbackState? {
        payload.map { Unmanaged<CallbackState>.fromOpaque($0).takeUnretainedValue() }
    }

    func install(_ callbacks: inout git_remote_callbacks) throws {
        // Every TCP connection of this transfer gives up when the peer stops answering (see timeout_stream.c).
        try check(cairn_transport_begin(Int32(clamping: max(0, credentials.timeoutSeconds))), "git_stream_register")
        callbacks.credentials = { out, _, userFromURL, allowed, payload in
            guard let out, let state = CallbackState.from(payload) else { return -1 }
            return state.credential(out, userFromURL: userFromURL.map { String(cString: $0) }, allowed: allowed)
        }
        callbacks.certificate_check = { cert, valid, host, payload in
            guard let cert, let state = CallbackState.from(payload) else { return -1 }
            return state.checkCertificate(cert, valid: valid != 0, host: host.map { String(cString: $0) } ?? "?")
        }
        callbacks.push_update_reference = { ref, status, payload in
            guard let ref, let state = CallbackState.from(payload) else { return 0 }
            state.pushUpdates.append(PushUpdate(reference: String(cString: ref), rejection: status.map { String(cString: $0) }))
            return 0
        }
        callbacks.transfer_progress = { stats, payload in
            guard let stats, let state = CallbackState.from(payload), let progress = state.progress else { return 0 }
            let s = stats.pointee
            progress(TransferProgress(receivedObjects: Int(s.received_objects), totalObjects: Int(s.total_objects),
                                      receivedBytes: Int(s.received_bytes), indexedDeltas: Int(s.indexed_deltas),
                                      totalDeltas: Int(s.total_deltas)))
            return 0
        }
        callbacks.push_transfer_progress = { current, total, bytes, payload in
            guard let state = CallbackState.from(payload), let progress = state.progress else { return 0 }
            progress(TransferProgress(direction: .sending, receivedObjects: Int(current), totalObjects: Int(total), receivedBytes: Int(bytes)))
            return 0
        }
    }

    /// Offers the agent, then each key file, then the token; each once. Returning an error ends the attempt.
    func credential(_ out: UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>, userFromURL: String?, allowed: UInt32) -> Int32 {
        attempts += 1
        if attempts > 12 { return GIT_EAUTH.rawValue }
        let user = userFromURL ?? credentials.sshUser ?? "git"
        if allowed & GIT_CREDENTIAL_USERNAME.rawValue != 0 {
            return git_credential_username_new(out, user)
        }
        if allowed & GIT_CREDENTIAL_SSH_KEY.rawValue != 0 {
            if credentials.useSSHAgent && !triedAgent {
                triedAgent = true
                offered.append("ssh-agent")
                return git_credential_ssh_key_from_agent(out, user)
            }
            while nextKey < credentials.sshKeyFiles.count {
                let key = credentials.sshKeyFiles[nextKey]
                nextKey += 1
                guard FileManager.default.isReadableFile(atPath: key) else { continue }
                let pub = FileManager.default.fileExists(atPath: key + ".pub") ? key + ".pub" : nil
                offered.append("key \(key)")
                return git_credential_ssh_key_new(out, user, pub, key, nil)
            }
        }
        if allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0, let token = credentials.token, !triedToken {
            triedToken = true
            offered.append("the token")
            return git_credential_userpass_plaintext_new(out, userFromURL ?? credentials.tokenUser, token)
        }
        if offered.isEmpty {
            offered.append(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0
                           ? "no token: name its environment variable in .cairn/config.json (sync.token_env) and set it"
                           : "no ssh key or agent available")
        }
        problem = .authenticationFailed(url: url, tried: offered.joined(separator: ", "))
        return GIT_EAUTH.rawValue
    }

    func checkCertificate(_ cert: UnsafeMutablePointer<git_cert>, valid: Bool, host: String) -> Int32 {
        switch cert.pointee.cert_type {
        case GIT_CERT_X509:
            if valid { return 0 }
            problem = .certificateRejected(host: host)
            return GIT_ECERTIFICATE.rawValue
        case GIT_CERT_HOSTKEY_LIBSSH2:
            let hostkey = UnsafeMutableRawPointer(cert).assumingMemoryBound(to: git_cert_hostkey.self).pointee
            return checkHostKey(hostkey, host: host)
        default:
            problem = .certificateRejected(host: host)
            return GIT_ECERTIFICATE.rawValue
        }
    }

    func checkHostKey(_ key: git_cert_hostkey, host: String) -> Int32 {
        let file = credentials.knownHostsFile ?? "~/.ssh/known_hosts"
        var fingerprint = "an unknown key"
        if key.type.rawValue & GIT_CERT_SSH_SHA256.rawValue != 0 {
            var sha = key.hash_sha256
            let data = withUnsafeBytes(of: &sha) { Data($0) }
            fingerprint = "SHA256:" + data.base64EncodedString().replacingOccurrences(of: "=", with: "")
        }
        guard key.type.rawValue & GIT_CERT_SSH_RAW.rawValue != 0, let raw = key.hostkey else {
            problem = .unknownHostKey(host: host, fingerprint: fingerprint, knownHosts: file)
            return GIT_ECERTIFICATE.rawValue
        }
        let offered = Data(bytes: raw, count: key.hostkey_len)
        let port = Self.port(of: url)
        let name = port == nil || port == 22 ? host : "[\(host)]:\(port ?? 22)"
        let known = credentials.knownHostsFile.flatMap { KnownHosts(path: $0) } ?? KnownHosts(lines: [])
        switch known.check(host: name, key: offered) {
        case .match: return 0
        case .mismatch:
            problem = .changedHostKey(host: name, fingerprint: fingerprint, knownHosts: file)
        case .unknown:
            problem = .unknownHostKey(host: name, fingerprint: fingerprint, knownHosts: file)
        }
        return GIT_ECERTIFICATE.rawValue
    }

    /// The port an ssh URL names (`ssh://host:2222/…`), nil for the default.
    static func port(of url: String) -> Int? {
        guard url.hasPrefix("ssh://") || url.hasPrefix("git+ssh://") || url.hasPrefix("ssh+git://") else { return nil }
        guard let u = URLComponents(string: url.replacingOccurrences(of: "git+ssh://", with: "ssh://")
                                        .replacingOccurrences(of: "ssh+git://", with: "ssh://")) else { return nil }
        return u.port
    }

    /// True for libgit2's words for a connection that was up and then went away.
    static func brokeMidway(_ lowercasedMessage: String) -> Bool {
        ["early eof", "unexpected eof", "connection reset", "broken pipe", "hung up", "short read", "incomplete",
         "could not write to remote", "could not read from remote"].contains { lowercasedMessage.contains($0) }
    }

    /// Turns a failed call into the most useful error: the problem a callback recorded, else an unreachable remote,
    /// else libgit2's own error.
    func rethrow(_ rc: Int32, _ function: String) throws {
        guard rc < 0 else { return }
        if let problem { git_error_clear(); throw problem }
        // libssh2's own words when its time limit (set from the same setting) ran out during a read or write.
        let last = (git_error_last()?.pointee.message.map { String(cString: $0) } ?? "").lowercased()
        if cairn_transport_timeouts() > 0 || last.contains("timed out waiting on socket") || last.contains("api timeout expired") {
            git_error_clear()
            throw TransportError.timedOut(url: url, seconds: credentials.timeoutSeconds)
        }
        do {
            try check(rc, function)
        } catch let e as GitError {
            let lower = e.message.lowercased()
            if e.code == GIT_ENONFASTFORWARD.rawValue { throw e }
            if e.errorClass == Int32(GIT_ERROR_NET.rawValue) || e.errorClass == Int32(GIT_ERROR_SSH.rawValue)
                || e.errorClass == Int32(GIT_ERROR_OS.rawValue) && (lower.contains("connect") || lower.contains("socket"))
                || lower.contains("failed to connect") || lower.contains("could not read from remote")
                || lower.contains("early eof") || lower.contains("unexpected eof") || lower.contains("connection") {
                if e.code == GIT_EAUTH.rawValue || lower.contains("authentication") {
                    throw TransportError.authenticationFailed(url: url, tried: offered.isEmpty ? "nothing offered" : offered.joined(separator: ", "))
                }
                if Self.brokeMidway(lower) { throw TransportError.connectionLost(url: url, reason: e.message) }
                throw TransportError.unreachable(url: url, reason: e.message)
            }
            if Self.brokeMidway(lower) { throw TransportError.connectionLost(url: url, reason: e.message) }
            if e.code == GIT_EAUTH.rawValue || lower.contains("authentication") || lower.contains("401") {
                throw TransportError.authenticationFailed(url: url, tried: offered.isEmpty ? "nothing offered" : offered.joined(separator: ", "))
            }
            if lower.contains("could not find repository") || lower.contains("not found") || lower.contains("does not appear")
                || lower.contains("failed to resolve path") || lower.contains("no such file") {
                throw TransportError.unreachable(url: url, reason: e.message)
            }
            throw e
        }
    }
}

/// A parsed `known_hosts` file: plain and hashed (`|1|salt|hash`) host names, `[host]:port`, several per line.
struct KnownHosts {
    struct Entry {
        let patterns: [String]
        let hashed: (salt: Data, hash: Data)?
        let keyType: String
        let key: Data
    }
    enum Verdict { case match, mismatch, unknown }

    let entries: [Entry]

    init?(path: String) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        self.init(lines: text.split(separator: "\n").map(String.init))
    }

    init(lines: [String]) {
        var out: [Entry] = []
        for line in lines {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix("@") { continue }
            let fields = trimmed.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard fields.count >= 3, let key = Data(base64Encoded: fields[2]) else { continue }
            if fields[0].hasPrefix("|1|") {
                let parts = fields[0].split(separator: "|").map(String.init)
                guard parts.count == 3, let salt = Data(base64Encoded: parts[1]), let hash = Data(base64Encoded: parts[2]) else { continue }
                out.append(Entry(patterns: [], hashed: (salt, hash), keyType: fields[1], key: key))
            } else {
                out.append(Entry(patterns: fields[0].split(separator: ",").map(String.init), hashed: nil, keyType: fields[1], key: key))
            }
        }
        entries = out
    }

    /// Whether `host` (`name` or `[name]:port`) is listed with `key` (the raw key blob the server offered).
    func check(host: String, key: Data) -> Verdict {
        var listed = false
        for e in entries where matches(e, host: host) {
            if e.key == key { return .match }
            // Another type of key for the same host is not a change (ssh offers several types).
            if Self.keyType(of: key) == e.keyType { listed = true }
        }
        return listed ? .mismatch : .unknown
    }

    func matches(_ e: Entry, host: String) -> Bool {
        if let hashed = e.hashed { return HMACSHA1.mac(key: hashed.salt, message: Data(host.utf8)) == hashed.hash }
        return e.patterns.contains { $0 == host }
    }

    /// The type name inside an ssh public key blob (`ssh-ed25519`, `ssh-rsa`…).
    static func keyType(of blob: Data) -> String? {
        guard blob.count >= 4 else { return nil }
        let b = [UInt8](blob)
        let n = Int(b[0]) << 24 | Int(b[1]) << 16 | Int(b[2]) << 8 | Int(b[3])
        guard n > 0, 4 + n <= b.count else { return nil }
        return String(decoding: b[4..<(4 + n)], as: UTF8.self)
    }
}

/// HMAC-SHA1 over the SHA-1 libgit2's libcrypto provides: what hashed known_hosts names use.
enum HMACSHA1 {
    static func sha1(_ data: Data) -> Data {
        var out = [UInt8](repeating: 0, count: 20)
        _ = data.withUnsafeBytes { cairn_fast_sha1($0.baseAddress, data.count, &out) }
        return Data(out)
    }

    static func mac(key: Data, message: Data) -> Data {
        var k = [UInt8](key.count > 64 ? sha1(key) : key)
        k += [UInt8](repeating: 0, count: 64 - k.count)
        let inner = Data(k.map { $0 ^ 0x36 }) + message
        return sha1(Data(k.map { $0 ^ 0x5c }) + sha1(inner))
    }
}
