import Testing
@testable import CairnKit

/// `Glob.matches`: the byte-level shortcut for `folder/**` patterns answers as the segment matcher does.
@Suite struct GlobTests {
    @Test func theFolderShortcutAgreesWithTheSegmentMatcher() {
        let patterns = ["memory/working/**", "memory/**", "**", "/inbox/**", "./inbox/**", "a/b c/**", "café/**",
                        "memory/*/**", "memory/working/*.md", "inbox/[ab]/**", "x\\*/**"]
        let pieces = ["memory", "working", "memory/working", "a", "b c", "café", "cafe\u{301}", "inbox", "x*", "", ".", "x.md"]
        var paths: [String] = []
        for a in pieces { for b in pieces { for sep in ["/", "//"] { paths.append(a + sep + b); paths.append("/" + a + sep + b) } } }
        paths += pieces + ["memory/working/", "memory/workingx/y", "memory/working/x/y/z.md"]
        var decided = 0
        for pattern in patterns {
            let glob = Glob(pattern)
            for path in paths {
                #expect(glob.matches(path) == glob.matchesBySegments(path), "\(pattern) against \(path)")
                if glob.matches(path) { decided += 1 }
            }
        }
        #expect(Glob("memory/working/**").matches("memory/working/a.md"))
        #expect(!Glob("memory/working/**").matches("memory/workingx/a.md"))
        #expect(decided > 100)
    }
}
