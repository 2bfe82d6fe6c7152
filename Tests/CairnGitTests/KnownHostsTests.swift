import Foundation
import Testing
@testable import CairnGit

/// known_hosts lookups as ssh does them: plain and hashed names, `[host]:port`, another key of the same type.
@Suite struct KnownHostsTests {
    /// An ssh public key blob of `type` with `body` bytes.
    func blob(_ type: String, _ body: [UInt8]) -> Data {
        var d = Data([0, 0, 0, UInt8(type.utf8.count)])
        d.append(Data(type.utf8))
        d.append(Data(body))
        return d
    }

    @Test func plainAndHashedNamesMatchTheirKey() {
        let key = blob("ssh-ed25519", [1, 2, 3])
        let salt = Data((0..<20).map { UInt8($0) })
        let hash = HMACSHA1.mac(key: salt, message: Data("[127.0.0.1]:2222".utf8))
        let known = KnownHosts(lines: [
            "example.org,10.0.0.1 ssh-ed25519 \(key.base64EncodedString())",
            "|1|\(salt.base64EncodedString())|\(hash.base64EncodedString()) ssh-ed25519 \(key.base64EncodedString())",
        ])
        #expect(known.check(host: "example.org", key: key) == .match)
        #expect(known.check(host: "10.0.0.1", key: key) == .match)
        #expect(known.check(host: "[127.0.0.1]:2222", key: key) == .match)
        #expect(known.check(host: "[127.0.0.1]:2223", key: key) == .unknown)
        #expect(known.check(host: "example.org", key: blob("ssh-ed25519", [9])) == .mismatch)
        #expect(known.check(host: "example.org", key: blob("ssh-rsa", [9])) == .unknown, "another key type is not a change")
    }

    @Test func hmacSHA1MatchesTheRFC2202Vector() {
        let mac = HMACSHA1.mac(key: Data(repeating: 0x0b, count: 20), message: Data("Hi There".utf8))
        #expect(mac.map { String(format: "%02x", $0) }.joined() == "b617318655057264e28bc0b6fb378c8ef146be00")
    }
}
