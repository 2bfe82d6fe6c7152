import CairnGit
import Foundation
import XCTest

/// The CA bundle is parsed on first TLS use, not in `git_libgit2_init` (see CGit2Helpers).
final class LazyTLSTests: XCTestCase {
    func testStartUpDefersTheCABundleAndEnablingLoadsItForReal() throws {
        // libgit2 (mbedTLS build) asks for the system bundle during init; the interposer must have caught that.
        let bundle = "/etc/ssl/certs/ca-certificates.crt"
        guard FileManager.default.fileExists(atPath: bundle) else { throw XCTSkip("no system CA bundle at \(bundle)") }
        XCTAssertEqual(Libgit2.deferredCAFile, bundle, "libgit2's start-up request for the CA bundle was not intercepted")
        let before = Libgit2.loadedCAFileCount
        try Libgit2.enableTLS()
        XCTAssertGreaterThan(Libgit2.loadedCAFileCount, before, "enableTLS did not reach the real parser")
        // After enabling, a file that is not a certificate is refused by the real parser.
        let junk = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-not-a-cert-\(getpid()).pem")
        try Data("not a certificate\n".utf8).write(to: junk)
        defer { try? FileManager.default.removeItem(at: junk) }
        XCTAssertThrowsError(try Libgit2.setCALocations(file: junk.path))
        try Libgit2.setCALocations(file: bundle)
    }
}
