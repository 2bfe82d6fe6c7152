import Foundation
import Testing
@testable import CairnKit

/// Inputs the libFuzzer targets in fuzz/ found to break a property; each stays here as a regression test.
@Suite struct FuzzRegressionTests {
    /// fuzz/pathguard: `./~//…` normalized to `~/…`, a path the guard itself refuses (found in the first seconds).
    @Test(arguments: ["./~//++//+///.////++//+//2///.///x@+//x//x@", "./~/x.md", "./C:/x.md", "././c:x"])
    func pathGuardNeverNormalizesIntoWhatItRefuses(_ raw: String) {
        #expect(throws: PathViolation.self) { try PathGuard.normalize(raw) }
    }

    /// Whatever PathGuard accepts, it accepts again unchanged (the property the fuzz target checks).
    @Test(arguments: ["memory/./projects//a.md", "cafe\u{301}/x.md", "a/b/c"])
    func pathGuardIsIdempotent(_ raw: String) throws {
        let once = try PathGuard.normalize(raw)
        #expect(try PathGuard.normalize(once) == once)
    }
}
