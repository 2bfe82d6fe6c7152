import Foundation
import Testing
@testable import CairnKit

/// `PathGuard.comparable`: the ASCII fast path gives what Foundation's normalization and lower-casing give.
@Suite struct PathGuardComparableTests {
    @Test func asciiNamesCompareAsFoundationWouldCompareThem() {
        var names = (0..<128).map { String(UnicodeScalar(UInt8($0))) }
        names += ["Memory/Projects/ACME.md", "README.MD", "a-B_c.d~1", "", "Z@[`{"]
        for name in names {
            #expect(PathGuard.comparable(name) == name.precomposedStringWithCanonicalMapping.lowercased(), "\(Array(name.utf8))")
        }
    }

    @Test func otherNamesAreNormalizedAndLowerCased() {
        #expect(PathGuard.comparable("Cafe\u{301}.md") == "caf\u{E9}.md")
        #expect(PathGuard.comparable("CAF\u{C9}.md") == PathGuard.comparable("cafe\u{301}.md"))
        #expect(PathGuard.comparable("Ä/Straße") == "ä/straße")
    }
}
