import Foundation
import Testing
@testable import CairnGit

@Suite struct OIDTests {
    @Test func hexRoundTrips() throws {
        let hex = "0123456789abcdef0123456789abcdef01234567"
        let oid = try #require(OID(hex: hex))
        #expect(oid.hex == hex)
        #expect(oid.description == hex)
        #expect(oid.bytes.count == 20)
        #expect(oid.bytes.first == 0x01)
        #expect(OID(hex: hex.uppercased()) == oid)
        #expect(oid.short() == "0123456789")
        #expect(oid.short(7) == "0123456")
    }

    @Test(arguments: ["", "abc", String(repeating: "g", count: 40), String(repeating: "a", count: 41), String(repeating: "a", count: 39) + " "])
    func invalidHexIsNil(hex: String) {
        #expect(OID(hex: hex) == nil)
    }

    @Test func ordersByBytes() throws {
        let a = try #require(OID(hex: "0" + String(repeating: "f", count: 39)))
        let b = try #require(OID(hex: "1" + String(repeating: "0", count: 39)))
        #expect(a < b)
        #expect([b, a].sorted() == [a, b])
    }

    @Test func emptyTreeIsGitsEmptyTree() throws {
        let t = try TestRepo()
        #expect(OID.emptyTree.hex == (try t.git("hash-object", "-t", "tree", "/dev/null")))
    }

    @Test func libgit2VersionIsReported() {
        #expect(Libgit2.version.split(separator: ".").count == 3)
        #expect(Libgit2.version.hasPrefix("1."))
    }
}
