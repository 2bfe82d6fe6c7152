import Testing
@testable import CairnKit

@Suite struct GlobTests {
    /// `folder/**` and `**` take a byte-comparing path; each case is what the general matcher answers for the same
    /// pattern written with a class (`[m]emory/**` is not literal, so it goes the general way).
    @Test func literalFoldersThenStarStarMatchAsTheGeneralMatcherDoes() {
        let paths = ["memory", "memory/a.md", "memory/a/b.md", "memoryx/a.md", "", "/memory/a.md", "memory//a.md",
                     "Memory/a.md", "a/memory/b.md", "memory/working", "memory/working/x.md", "memory/workingx/x.md",
                     "caf\u{E9}/x.md", "cafe\u{301}/x.md"]
        let pairs = [("memory/**", "[m]emory/**"), ("memory/working/**", "[m]emory/working/**"), ("caf\u{E9}/**", "[c]af\u{E9}/**")]
        for (literal, general) in pairs {
            for path in paths {
                #expect(Glob(literal).matches(path) == Glob(general).matches(path), "\(literal) vs \(general) on '\(path)'")
            }
        }
        #expect(Glob("memory/**").matches("memory/a/b.md"))
        #expect(Glob("memory/**").matches("memory"))
        #expect(!Glob("memory/**").matches("memoryx/a.md"))
        #expect(!Glob("caf\u{E9}/**").matches("cafe\u{301}/x.md"))
        #expect(paths.allSatisfy { Glob("**").matches($0) })
    }
}
