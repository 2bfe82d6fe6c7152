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

    /// `normalize`'s byte-level fast path accepts only paths the full check returns unchanged: every short path
    /// over an alphabet of the characters that matter (dots, slashes, spaces, `~`, `:`, `\\`, `.git` pieces),
    /// plus hand-picked ones.
    @Test func theFastPathAgreesWithTheFullCheck() {
        let alphabet = [".", "/", " ", "~", ":", "\\", "g", "G", "i", "t", "1", "a", "\u{7F}", "\t", "é"]
        var paths = [""]
        var frontier = [""]
        for _ in 0..<4 {
            frontier = frontier.flatMap { p in alphabet.map { p + $0 } }
            paths += frontier
        }
        paths += [".git", ".GIT", "a/.Git/b", "a/git~1", "GIT~1/x", ".gitignore", "a/.git./b", "memory/projects/acme.md",
                  "C:/x", "c:", "x:y", "a//b", "a/./b", "a/../b", "./a", "a/", "~a", "a~", "a/b ", "a/b.",
                  String(repeating: "a", count: 1024), String(repeating: "a", count: 1025)]
        var fast = 0
        for path in paths where PathGuard.isPlainNormalized(path) {
            fast += 1
            #expect((try? PathGuard.normalizeFully(path)) == path, "\(Array(path.utf8))")
        }
        for path in paths {
            #expect((try? PathGuard.normalize(path)) == (try? PathGuard.normalizeFully(path)), "\(Array(path.utf8))")
        }
        #expect(fast > 1000)
    }
}
