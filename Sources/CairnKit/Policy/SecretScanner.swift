import Foundation

/// A line that looks like it holds a credential.
///
/// The secret itself is never kept: `excerpt` is its first four characters and `…`, enough to
/// find it in the file and safe to print, log or commit in a run record.
public struct SecretFinding: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Vault-relative path of the file.
    public let path: String
    /// 1-based line number.
    public let line: Int
    /// The id of the rule that matched (one of `SecretScanner.rules`).
    public let rule: String
    /// The first four characters of the match and `…`.
    public let excerpt: String

    public init(path: String, line: Int, rule: String, excerpt: String) {
        self.path = path
        self.line = line
        self.rule = rule
        self.excerpt = excerpt
    }

    public var description: String { "\(path):\(line): \(rule) (\(excerpt))" }
}

/// One kind of credential the scanner knows.
public struct SecretRule: Sendable, Hashable, CustomStringConvertible {
    /// The id findings carry, such as `github-token`.
    public let id: String
    /// What the rule matches, in words.
    public let summary: String

    public var description: String { "\(id): \(summary)" }
}

/// Finds credentials in text before they are committed (git history keeps everything).
///
/// The rules (`SecretScanner.rules`):
///
/// | id | matches |
/// | --- | --- |
/// | `private-key` | `-----BEGIN (RSA \|EC \|OPENSSH \|DSA \|PGP \|ENCRYPTED )?PRIVATE KEY( BLOCK)?-----` |
/// | `aws-access-key-id` | `AKIA` or `ASIA` and 16 of `[A-Z0-9]`, as a whole word |
/// | `aws-secret-access-key` | `aws_secret_access_key` (any case) `=`/`:` and 40 of `[A-Za-z0-9/+]` |
/// | `github-token` | `ghp_ gho_ ghu_ ghs_ ghr_` and 36+ letters or digits; `github_pat_` and 82+ |
/// | `gitlab-token` | `glpat-` and 20+ of `[A-Za-z0-9_-]` |
/// | `slack-token` | `xoxa- xoxb- xoxp- xoxr- xoxs-` and 10+ of `[A-Za-z0-9-]` with a digit |
/// | `slack-webhook` | `hooks.slack.com/services/` and the `T…/B…/…` key path |
/// | `stripe-key` | `sk_live_` or `rk_live_` and 24+ letters or digits |
/// | `anthropic-key` | `sk-ant-` and 20+ of `[A-Za-z0-9_-]` mixing upper, lower case and digits |
/// | `openai-key` | `sk-` (also `sk-proj-`, `sk-svcacct-`) and 20+ of `[A-Za-z0-9_-]` mixing upper, lower case and digits |
/// | `google-api-key` | `AIza` and 35 of `[A-Za-z0-9_-]` |
/// | `jwt` | three base64url parts `eyJ….ey….…` (header and payload are JSON objects) |
/// | `url-password` | a password in a URL, `scheme://user:password@host` |
/// | `generic-secret` | a name ending in `key`, `secret`, `token`, `password`, `passwd`, `auth` (also `api_key`, `apikey`, `access_key`, `clientSecret`…), then `:`, `=`, `:=` or `=>`, then a value of 16+ characters with a Shannon entropy of at least 3.5 bits per character |
///
/// Placeholders never count: values containing `xxx`, `example`, `your`, `changeme`,
/// `placeholder`, `redacted`, `<…>`, `${VAR}`, `{{var}}` or `process.env`, values made of one repeated
/// character, and (for `generic-secret`) paths, URLs, dotted or snake-case names and camel-case words.
///
/// What is skipped:
/// - data with a NUL byte (binary files: `PolicyGate` sends those to review instead);
/// - bytes after the first 10 KB of a line (minified or embedded data);
/// - `generic-secret` values over 256 characters, and its candidates after the 32nd on one line;
/// - every line containing `cairn:allow-secret`, for text that only looks like a credential
///   (put it in a comment on the same line).
///
/// The scan is a single pass over the bytes that only looks closer at the few places where a
/// rule can start (a prefix such as `AKIA` or `ghp_`, a `:` or `=` after a key-like name), so its
/// cost follows the size of the text: about 10 MB of Markdown in well under half a second (about
/// 0.1 s in a release build). Every look is bounded, so crafted input (`sk-sk-sk-…`,
/// `key=key=key=…`) stays linear too.
public struct SecretScanner: Sendable {
    /// A line containing this text is never reported.
    public static let allowMarker = "cairn:allow-secret"
    /// Bytes of a line that are scanned; the rest of a longer line is skipped.
    public static let maxLineBytes = 10 * 1024
    /// Minimum length of a `generic-secret` value.
    public static let genericMinimumLength = 16
    /// Minimum Shannon entropy (bits per character) of a `generic-secret` value.
    public static let genericMinimumEntropy = 3.5
    /// Longest `generic-secret` value looked at; longer values are data, not a password.
    public static let genericMaximumLength = 256
    /// Most `NAME = value` candidates checked per line, so crafted lines cannot slow the scan down.
    public static let genericCandidatesPerLine = 32

    /// Every rule, in the order of the table above.
    public static let rules: [SecretRule] = [
        SecretRule(id: Rule.privateKey, summary: "a PEM or OpenSSH private key header"),
        SecretRule(id: Rule.awsAccessKeyID, summary: "an AWS access key id (AKIA…/ASIA… and 16 characters)"),
        SecretRule(id: Rule.awsSecretAccessKey, summary: "an AWS secret access key assigned to aws_secret_access_key"),
        SecretRule(id: Rule.githubToken, summary: "a GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)"),
        SecretRule(id: Rule.gitlabToken, summary: "a GitLab personal access token (glpat-)"),
        SecretRule(id: Rule.slackToken, summary: "a Slack token (xoxa-, xoxb-, xoxp-, xoxr-, xoxs-)"),
        SecretRule(id: Rule.slackWebhook, summary: "a Slack incoming-webhook URL"),
        SecretRule(id: Rule.stripeKey, summary: "a Stripe live secret or restricted key (sk_live_, rk_live_)"),
        SecretRule(id: Rule.anthropicKey, summary: "an Anthropic API key (sk-ant-)"),
        SecretRule(id: Rule.openAIKey, summary: "an OpenAI API key (sk-, sk-proj-)"),
        SecretRule(id: Rule.googleAPIKey, summary: "a Google API key (AIza and 35 characters)"),
        SecretRule(id: Rule.jwt, summary: "a JSON Web Token (eyJ….eyJ….signature)"),
        SecretRule(id: Rule.urlPassword, summary: "a password inside a URL (scheme://user:password@host)"),
        SecretRule(id: Rule.genericSecret,
                   summary: "a high-entropy value of 16+ characters assigned to a key, secret, token or password"),
    ]

    /// The rule ids findings carry.
    public enum Rule {
        public static let privateKey = "private-key"
        public static let awsAccessKeyID = "aws-access-key-id"
        public static let awsSecretAccessKey = "aws-secret-access-key"
        public static let githubToken = "github-token"
        public static let gitlabToken = "gitlab-token"
        public static let slackToken = "slack-token"
        public static let slackWebhook = "slack-webhook"
        public static let stripeKey = "stripe-key"
        public static let anthropicKey = "anthropic-key"
        public static let openAIKey = "openai-key"
        public static let googleAPIKey = "google-api-key"
        public static let jwt = "jwt"
        public static let urlPassword = "url-password"
        public static let genericSecret = "generic-secret"
    }

    public init() {}

    /// True when `data` holds a NUL byte, git's test for binary content.
    public static func isBinary(_ data: Data) -> Bool {
        data.withUnsafeBytes { raw in
            guard let base = raw.baseAddress, raw.count > 0 else { return false }
            return memchr(base, 0, raw.count) != nil
        }
    }

    /// Every credential-like match in `data`, in line order; empty for binary data.
    ///
    /// - Parameter path: copied into each finding; not used to decide anything.
    public func scan(path: String, data: Data) -> [SecretFinding] {
        if Self.isBinary(data) { return [] }
        return data.withUnsafeBytes { raw -> [SecretFinding] in
            guard let base = raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count > 0 else { return [] }
            var findings: [SecretFinding] = []
            let count = raw.count
            var start = 0, lineNumber = 1
            while start < count {
                let end: Int
                if let nl = memchr(base + start, 0x0A, count - start) {
                    end = base.distance(to: nl.assumingMemoryBound(to: UInt8.self))
                } else {
                    end = count
                }
                let scanEnd = min(end, start + Self.maxLineBytes)
                var line = LineScanner(p: base, lo: start, hi: scanEnd)
                let hits = line.scan()
                if !hits.isEmpty, !line.contains(Self.allowMarker) {
                    for hit in hits {
                        findings.append(SecretFinding(path: path, line: lineNumber, rule: hit.rule,
                                                      excerpt: line.excerpt(hit.shownFrom)))
                    }
                }
                start = end + 1
                lineNumber += 1
            }
            return findings
        }
    }

    /// Shannon entropy of `bytes` in bits per byte.
    static func entropy(_ bytes: UnsafeBufferPointer<UInt8>) -> Double {
        guard bytes.count > 0 else { return 0 }
        var counts = [Int](repeating: 0, count: 256)
        for b in bytes { counts[Int(b)] += 1 }
        let n = Double(bytes.count)
        var h = 0.0
        for c in counts where c > 0 {
            let f = Double(c) / n
            h -= f * log2(f)
        }
        return h
    }

    /// Shannon entropy of a string's UTF-8 bytes, in bits per byte.
    public static func entropy(_ text: String) -> Double {
        var copy = text
        return copy.withUTF8 { entropy($0) }
    }
}

// MARK: - The matchers

/// A match inside one line: the rule, the byte range, and where the redacted excerpt starts.
private struct Hit {
    let rule: String
    let start: Int
    let end: Int
    let shownFrom: Int
    let generic: Bool
}

@inline(__always) private func isDigit(_ b: UInt8) -> Bool { b &- 48 < 10 }
@inline(__always) private func isUpper(_ b: UInt8) -> Bool { b &- 65 < 26 }
@inline(__always) private func isLower(_ b: UInt8) -> Bool { b &- 97 < 26 }
@inline(__always) private func isLetter(_ b: UInt8) -> Bool { (b | 0x20) &- 97 < 26 }
@inline(__always) private func isAlnum(_ b: UInt8) -> Bool { isDigit(b) || isLetter(b) }
@inline(__always) private func isUpperAlnum(_ b: UInt8) -> Bool { isDigit(b) || isUpper(b) }
/// `[A-Za-z0-9_-]`
@inline(__always) private func isBase64URL(_ b: UInt8) -> Bool { isAlnum(b) || b == 0x5F || b == 0x2D }
/// `[A-Za-z0-9/+]`
@inline(__always) private func isBase64(_ b: UInt8) -> Bool { isAlnum(b) || b == 0x2F || b == 0x2B }
@inline(__always) private func lower(_ b: UInt8) -> UInt8 { isUpper(b) ? b | 0x20 : b }
@inline(__always) private func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D }

/// Names that end a key-like identifier in `generic-secret` (lower case). A suffix counts when it
/// starts the identifier, follows a non-letter (`api_key`, `AWS-TOKEN`) or starts a camel-case word
/// (`accessKey`); the run-together spellings are listed on their own.
private let secretNames: [[UInt8]] = [
    "key", "secret", "token", "password", "passwd", "auth", "passphrase",
    "apikey", "accesskey", "secretkey", "privatekey", "masterkey", "signingkey", "clientsecret",
    "apisecret", "apitoken", "accesstoken", "authtoken", "refreshtoken", "sessiontoken", "bearertoken",
].map { Array($0.utf8) }

/// Substrings (lower case) that mark a placeholder rather than a credential.
private let placeholderMarks: [[UInt8]] = [
    "xxx", "***", "...", "\u{2026}", "changeme", "change_me", "change-me", "example", "your",
    "placeholder", "redacted", "dummy", "sample", "insert", "replace", "<", ">", "${", "{{", "$(", "%(",
    "process.env", "environ", "getenv", "env[", "abcdef", "123456",
].map { Array($0.utf8) }

/// Passwords in URLs that are documentation, not credentials.
private let placeholderPasswords: Set<[UInt8]> = Set([
    "password", "pass", "passwd", "pwd", "secret", "token", "changeme", "user", "username", "mypassword",
    "example", "test", "xxxx", "****", "redacted",
].map { Array($0.utf8) })

/// Scans one line `p[lo..<hi]`.
private struct LineScanner {
    let p: UnsafePointer<UInt8>
    let lo: Int
    let hi: Int
    /// Where the last run examined by a rule ended: a later start inside it sees a part of the same
    /// run and cannot match where the first did not, so it is skipped (keeps crafted lines linear).
    private var skRunEnd = 0, slackRunEnd = 0, gitlabRunEnd = 0, githubRunEnd = 0, jwtRunEnd = 0
    /// `generic-secret` candidates left on this line.
    private var genericBudget = SecretScanner.genericCandidatesPerLine

    init(p: UnsafePointer<UInt8>, lo: Int, hi: Int) {
        self.p = p
        self.lo = lo
        self.hi = hi
    }

    mutating func scan() -> [Hit] {
        var hits: [Hit] = []
        var i = lo
        while i < hi {
            let b = p[i]
            var found: Hit? = nil
            switch b {
            case UInt8(ascii: "-"): found = privateKey(i)
            case UInt8(ascii: "A"): found = awsAccessKey(i) ?? googleKey(i)
            case UInt8(ascii: "g"): found = githubToken(i) ?? gitlabToken(i)
            case UInt8(ascii: "x"): found = slackToken(i)
            case UInt8(ascii: "h"): found = slackWebhook(i)
            case UInt8(ascii: "s"), UInt8(ascii: "r"): found = stripeKey(i) ?? skKey(i)
            case UInt8(ascii: "e"): found = jwt(i)
            case UInt8(ascii: ":"):
                if has("://", at: i) { found = urlPassword(i) } else { found = assignment(i) }
            case UInt8(ascii: "="): found = assignment(i)
            default: break
            }
            if let hit = found {
                hits.append(hit)
                // A specific token is consumed whole; after an assignment keep looking inside its
                // value, where a more specific rule may match (and wins below).
                i = hit.generic ? i + 1 : max(hit.end, i + 1)
            } else {
                i += 1
            }
        }
        if hits.count > 1 {
            let specific = hits.filter { !$0.generic }
            hits = hits.filter { h in !h.generic || !specific.contains { $0.start < h.end && h.start < $0.end } }
        }
        return hits
    }

    // MARK: helpers

    @inline(__always) func has(_ literal: StaticString, at i: Int) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard i >= lo, i + n <= hi else { return false }
        let s = literal.utf8Start
        for k in 0..<n where p[i + k] != s[k] { return false }
        return true
    }

    /// True when no letter or digit comes right before `i`.
    @inline(__always) func wordStart(_ i: Int) -> Bool { i == lo || !isAlnum(p[i - 1]) }

    /// The end of the run of bytes from `i` that satisfy `ok`.
    @inline(__always) func run(from i: Int, limit: Int = .max, _ ok: (UInt8) -> Bool) -> Int {
        var j = i
        let stop = limit == .max ? hi : min(hi, i + limit)
        while j < stop && ok(p[j]) { j += 1 }
        return j
    }

    func contains(_ text: String) -> Bool { firstIndex(of: Array(text.utf8), from: lo, to: hi) != nil }

    func firstIndex(of needle: [UInt8], from: Int, to: Int, ignoringCase: Bool = false) -> Int? {
        guard !needle.isEmpty, to - from >= needle.count else { return nil }
        var i = from
        let last = to - needle.count
        while i <= last {
            var k = 0
            while k < needle.count && (ignoringCase ? lower(p[i + k]) : p[i + k]) == needle[k] { k += 1 }
            if k == needle.count { return i }
            i += 1
        }
        return nil
    }

    /// The first four characters from byte `i` and `…`.
    func excerpt(_ i: Int) -> String {
        let bytes = UnsafeBufferPointer(start: p + i, count: min(16, max(0, hi - i)))
        return String(String(decoding: bytes, as: UTF8.self).prefix(4)) + "\u{2026}"
    }

    /// True when `p[a..<b]` is documentation rather than a credential.
    func isPlaceholder(_ a: Int, _ b: Int) -> Bool {
        guard b > a else { return true }
        let first = p[a]
        if first == UInt8(ascii: "$") || first == UInt8(ascii: "%") { return true }
        var same = true
        for k in a..<b where p[k] != first { same = false; break }
        if same { return true }
        for mark in placeholderMarks where firstIndex(of: mark, from: a, to: b, ignoringCase: true) != nil { return true }
        return false
    }

    /// Upper case, lower case and a digit all appear in `p[a..<b]` (real API keys are random).
    func mixesCaseAndDigits(_ a: Int, _ b: Int) -> Bool {
        var u = false, l = false, d = false
        for k in a..<b {
            let c = p[k]
            if isUpper(c) { u = true } else if isLower(c) { l = true } else if isDigit(c) { d = true }
            if u && l && d { return true }
        }
        return false
    }

    func hit(_ rule: String, _ start: Int, _ end: Int, shownFrom: Int? = nil, generic: Bool = false) -> Hit {
        Hit(rule: rule, start: start, end: end, shownFrom: shownFrom ?? start, generic: generic)
    }

    // MARK: rules

    func privateKey(_ i: Int) -> Hit? {
        guard has("-----BEGIN ", at: i) else { return nil }
        var j = i + 11
        if has("RSA ", at: j) { j += 4 } else if has("EC ", at: j) { j += 3 } else if has("OPENSSH ", at: j) { j += 8 }
        else if has("DSA ", at: j) { j += 4 } else if has("PGP ", at: j) { j += 4 } else if has("ENCRYPTED ", at: j) { j += 10 }
        guard has("PRIVATE KEY", at: j) else { return nil }
        j += 11
        if has(" BLOCK", at: j) { j += 6 }
        guard has("-----", at: j) else { return nil }
        return hit(SecretScanner.Rule.privateKey, i, j + 5)
    }

    func awsAccessKey(_ i: Int) -> Hit? {
        guard has("AKIA", at: i) || has("ASIA", at: i), wordStart(i) else { return nil }
        let end = run(from: i + 4, limit: 17, isUpperAlnum)
        guard end - i == 20, end == hi || !isAlnum(p[end]), !isPlaceholder(i, end) else { return nil }
        return hit(SecretScanner.Rule.awsAccessKeyID, i, end)
    }

    func googleKey(_ i: Int) -> Hit? {
        guard has("AIza", at: i), wordStart(i) else { return nil }
        let end = run(from: i + 4, limit: 36, isBase64URL)
        guard end - i == 39, !isPlaceholder(i + 4, end) else { return nil }
        return hit(SecretScanner.Rule.googleAPIKey, i, end)
    }

    mutating func githubToken(_ i: Int) -> Hit? {
        guard wordStart(i) else { return nil }
        if has("github_pat_", at: i) {
            guard i >= githubRunEnd else { return nil }
            let end = run(from: i + 11) { isAlnum($0) || $0 == 0x5F }
            githubRunEnd = end
            guard end - (i + 11) >= 82, !isPlaceholder(i + 11, end) else { return nil }
            return hit(SecretScanner.Rule.githubToken, i, end)
        }
        guard i + 4 <= hi, p[i + 1] == UInt8(ascii: "h"), p[i + 3] == UInt8(ascii: "_") else { return nil }
        switch p[i + 2] {
        case UInt8(ascii: "p"), UInt8(ascii: "o"), UInt8(ascii: "u"), UInt8(ascii: "s"), UInt8(ascii: "r"): break
        default: return nil
        }
        let end = run(from: i + 4, isAlnum)
        guard end - (i + 4) >= 36, !isPlaceholder(i + 4, end) else { return nil }
        return hit(SecretScanner.Rule.githubToken, i, end)
    }

    mutating func gitlabToken(_ i: Int) -> Hit? {
        guard has("glpat-", at: i), wordStart(i), i >= gitlabRunEnd else { return nil }
        let end = run(from: i + 6, isBase64URL)
        gitlabRunEnd = end
        guard end - (i + 6) >= 20, !isPlaceholder(i + 6, end) else { return nil }
        return hit(SecretScanner.Rule.gitlabToken, i, end)
    }

    mutating func slackToken(_ i: Int) -> Hit? {
        guard has("xox", at: i), i + 5 <= hi, p[i + 4] == UInt8(ascii: "-"), wordStart(i), i >= slackRunEnd else { return nil }
        switch p[i + 3] {
        case UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "p"), UInt8(ascii: "r"), UInt8(ascii: "s"): break
        default: return nil
        }
        let end = run(from: i + 5) { isAlnum($0) || $0 == 0x2D }
        slackRunEnd = end
        guard end - (i + 5) >= 10, (i + 5 ..< end).contains(where: { isDigit(p[$0]) }),
              !isPlaceholder(i + 5, end) else { return nil }
        return hit(SecretScanner.Rule.slackToken, i, end)
    }

    func slackWebhook(_ i: Int) -> Hit? {
        guard has("hooks.slack.com/services/", at: i) else { return nil }
        let from = i + 25
        let end = run(from: from) { isAlnum($0) || $0 == 0x2F }
        let slashes = (from..<end).filter { p[$0] == 0x2F }.count
        guard end - from >= 20, slashes >= 2, !isPlaceholder(from, end) else { return nil }
        return hit(SecretScanner.Rule.slackWebhook, i, end)
    }

    func stripeKey(_ i: Int) -> Hit? {
        guard has("sk_live_", at: i) || has("rk_live_", at: i), wordStart(i) else { return nil }
        let end = run(from: i + 8, isAlnum)
        guard end - (i + 8) >= 24, !isPlaceholder(i + 8, end) else { return nil }
        return hit(SecretScanner.Rule.stripeKey, i, end)
    }

    /// `sk-ant-…` (Anthropic) or another `sk-…` (OpenAI).
    mutating func skKey(_ i: Int) -> Hit? {
        guard has("sk-", at: i), wordStart(i), i >= skRunEnd else { return nil }
        let anthropic = has("sk-ant-", at: i)
        let from = anthropic ? i + 7 : i + 3
        let end = run(from: from, isBase64URL)
        skRunEnd = end
        guard end - from >= 20, mixesCaseAndDigits(from, end), !isPlaceholder(from, end) else { return nil }
        return hit(anthropic ? SecretScanner.Rule.anthropicKey : SecretScanner.Rule.openAIKey, i, end)
    }

    mutating func jwt(_ i: Int) -> Hit? {
        guard has("eyJ", at: i), wordStart(i), i >= jwtRunEnd else { return nil }
        let headerEnd = run(from: i, isBase64URL)
        jwtRunEnd = headerEnd
        guard headerEnd - i >= 10, headerEnd < hi, p[headerEnd] == UInt8(ascii: ".") else { return nil }
        let payload = headerEnd + 1
        guard has("ey", at: payload) else { return nil }
        let payloadEnd = run(from: payload, isBase64URL)
        guard payloadEnd - payload >= 10, payloadEnd < hi, p[payloadEnd] == UInt8(ascii: ".") else { return nil }
        let end = run(from: payloadEnd + 1, isBase64URL)
        guard end - (payloadEnd + 1) >= 16 else { return nil }
        return hit(SecretScanner.Rule.jwt, i, end)
    }

    /// `scheme://user:password@host`; `i` is the `:` of `://`.
    func urlPassword(_ i: Int) -> Hit? {
        var schemeStart = i
        while schemeStart > lo, isAlnum(p[schemeStart - 1]) || p[schemeStart - 1] == 0x2B || p[schemeStart - 1] == 0x2E
            || p[schemeStart - 1] == 0x2D { schemeStart -= 1 }
        guard schemeStart < i else { return nil }
        let from = i + 3
        var j = from, colon: Int? = nil
        scan: while j < hi {
            switch p[j] {
            case UInt8(ascii: "@"): break scan
            case UInt8(ascii: ":"): if colon == nil { colon = j }
            case UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: " "), 0x09, 0x0D,
                 UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "`"), UInt8(ascii: "<"), UInt8(ascii: ">"),
                 UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "["), UInt8(ascii: "]"):
                return nil
            default: break
            }
            j += 1
        }
        guard j < hi, let c = colon else { return nil }
        let user = Array(UnsafeBufferPointer(start: p + from, count: c - from))
        let password = Array(UnsafeBufferPointer(start: p + c + 1, count: j - c - 1))
        guard password.count >= 4, password != user,
              !placeholderPasswords.contains(password.map(lower)),
              !isPlaceholder(c + 1, j), password.first != UInt8(ascii: "*"), password.first != UInt8(ascii: "{")
        else { return nil }
        return hit(SecretScanner.Rule.urlPassword, schemeStart, j)
    }

    /// `NAME = value` or `NAME: value` where NAME ends like a secret; `i` is the `:` or `=`.
    mutating func assignment(_ i: Int) -> Hit? {
        let sep = p[i]
        var v = i + 1
        if sep == UInt8(ascii: "=") {
            if i > lo {
                // `==`, `!=`, `<=`, `>=` compare; `:=` was handled at its `:`.
                let before = p[i - 1]
                if before == UInt8(ascii: "=") || before == UInt8(ascii: "!") || before == UInt8(ascii: "<")
                    || before == UInt8(ascii: ">") || before == UInt8(ascii: ":") { return nil }
            }
            if v < hi, p[v] == UInt8(ascii: "=") { return nil }
            if v < hi, p[v] == UInt8(ascii: ">") { v += 1 }
        } else {
            if v < hi, p[v] == UInt8(ascii: ":") { return nil }
            if i > lo, p[i - 1] == UInt8(ascii: ":") { return nil }
            if v < hi, p[v] == UInt8(ascii: "=") { v += 1 }
        }
        // The name before the separator: skip blanks, then closing quotes, a subscript's `]`
        // (`config["api_key"] = …`) or Markdown emphasis (`**Password**: …`).
        var k = i - 1
        while k >= lo, isBlank(p[k]) { k -= 1 }
        while k >= lo, p[k] == UInt8(ascii: "\"") || p[k] == UInt8(ascii: "'") || p[k] == UInt8(ascii: "`")
            || p[k] == UInt8(ascii: "*") || p[k] == UInt8(ascii: "]") { k -= 1 }
        let nameEnd = k + 1
        while k >= lo, isAlnum(p[k]) || p[k] == 0x5F || p[k] == 0x2D || p[k] == 0x2E { k -= 1 }
        let nameStart = k + 1
        guard nameEnd - nameStart >= 3, genericBudget > 0, endsWithSecretName(nameStart, nameEnd) else { return nil }
        genericBudget -= 1
        let longest = SecretScanner.genericMaximumLength

        // The value: quoted up to its closing quote, or a run of non-blank characters.
        while v < hi, isBlank(p[v]) { v += 1 }
        guard v < hi else { return nil }
        var valueStart = v, valueEnd: Int
        let q = p[v]
        if q == UInt8(ascii: "\"") || q == UInt8(ascii: "'") || q == UInt8(ascii: "`") {
            valueStart = v + 1
            let e = run(from: valueStart, limit: longest + 1) { $0 != q }
            guard e < hi, p[e] == q else { return nil }
            valueEnd = e
        } else {
            valueEnd = run(from: v, limit: longest + 1) { b in
                !(isBlank(b) || b == UInt8(ascii: ",") || b == UInt8(ascii: ";") || b == UInt8(ascii: ")")
                  || b == UInt8(ascii: "]") || b == UInt8(ascii: "}") || b == UInt8(ascii: "(")
                  || b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") || b == UInt8(ascii: "`")
                  || b == UInt8(ascii: "|") || b == UInt8(ascii: "&"))
            }
            // A trailing full stop ends a sentence, not a key.
            while valueEnd > valueStart, p[valueEnd - 1] == UInt8(ascii: ".") { valueEnd -= 1 }
        }

        if endsWith("aws_secret_access_key", nameStart, nameEnd) || endsWith("aws-secret-access-key", nameStart, nameEnd) {
            let end = run(from: valueStart, limit: 41, isBase64)
            if end - valueStart == 40, end == valueEnd || end == hi || !isBase64(p[end]), !isPlaceholder(valueStart, end) {
                return hit(SecretScanner.Rule.awsSecretAccessKey, nameStart, end, shownFrom: valueStart)
            }
        }
        let length = valueEnd - valueStart
        guard length >= SecretScanner.genericMinimumLength, length <= longest, looksRandom(valueStart, valueEnd),
              SecretScanner.entropy(UnsafeBufferPointer(start: p + valueStart, count: length))
                >= SecretScanner.genericMinimumEntropy,
              !isPlaceholder(valueStart, valueEnd)
        else { return nil }
        return hit(SecretScanner.Rule.genericSecret, valueStart, valueEnd, generic: true)
    }

    func endsWith(_ suffix: StaticString, _ a: Int, _ b: Int) -> Bool {
        let n = suffix.utf8CodeUnitCount
        guard b - a >= n else { return false }
        let s = suffix.utf8Start
        for t in 0..<n where lower(p[b - n + t]) != s[t] { return false }
        return true
    }

    /// The name `p[a..<b]` ends with a secret-like word that starts a word of its own.
    func endsWithSecretName(_ a: Int, _ b: Int) -> Bool {
        for name in secretNames where b - a >= name.count {
            let s = b - name.count
            var equal = true
            for t in 0..<name.count where lower(p[s + t]) != name[t] { equal = false; break }
            guard equal else { continue }
            if s == a || !isLetter(p[s - 1]) || (isUpper(p[s]) && !isUpper(p[s - 1])) { return true }
        }
        return false
    }

    /// False for values that read as names, paths or references instead of random characters.
    func looksRandom(_ a: Int, _ b: Int) -> Bool {
        var digits = 0, upper = 0, lowerCount = 0, separators = 0, other = 0
        var slash = false, lastDot = -1, lastSlash = -1
        for k in a..<b {
            let c = p[k]
            if isDigit(c) { digits += 1 } else if isUpper(c) { upper += 1 } else if isLower(c) { lowerCount += 1 }
            else if c == 0x5F || c == 0x2D || c == 0x2E || c == 0x2F {
                separators += 1
                if c == 0x2F { slash = true; lastSlash = k }
                if c == 0x2E { lastDot = k }
            } else if isBlank(c) || c == 0x20 { return false }  // words: prose, not a key
            else { other += 1 }
        }
        // URLs and paths.
        if firstIndex(of: Array("://".utf8), from: a, to: b) != nil { return false }
        if p[a] == 0x2F || p[a] == UInt8(ascii: "~") || has("./", at: a) || has("../", at: a) { return false }
        if slash, lastDot > lastSlash, b - lastDot - 1 >= 1, b - lastDot - 1 <= 5,
           (lastDot + 1 ..< b).allSatisfy({ isLetter(p[$0]) }) { return false }
        if digits == 0 && other == 0 {
            // snake_case, kebab-case, dotted.names, ALLCAPS, lowercase words.
            if separators > 0 || upper == 0 || lowerCount == 0 { return false }
            // camelCase or PascalCase words: every capital starts a run of 2+ lower-case letters.
            var k = a, wordy = true
            while k < b {
                if isUpper(p[k]) {
                    let e = run(from: k + 1, isLower)
                    if e - (k + 1) < 2 { wordy = false; break }
                    k = e
                } else { k += 1 }
            }
            if wordy { return false }
        }
        return true
    }
}
