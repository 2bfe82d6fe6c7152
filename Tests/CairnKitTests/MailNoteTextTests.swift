import Foundation
import Testing
@testable import CairnKit

/// The ASCII fast paths that every pulled mail goes through (`Slug.make` for its file name, `FrontMatter.yamlScalar`
/// for its front matter) give exactly what the general Unicode paths give, on generated ASCII text; other text
/// takes the general path.
struct MailNoteTextTests {
    /// ASCII strings built from every byte 0–127 and from pieces that matter to the two functions (apostrophes,
    /// line ends, YAML words, numbers and dates, punctuation runs, doubled spaces), up to ~130 bytes long.
    private static let asciiCases: [String] = {
        var out = ["", " ", "'", "-", "--", "a", "A", "0", "Don't stop", "Re: Fwd: quote #12", "\r\n", "a\r\nb", "yes",
                   "No", "null", "1.5", "0x1F", "2026-03-02", "~", "<<", "=", " leading", "trailing ", "two  spaces",
                   "Request number 7", String(repeating: "ab-", count: 40), String(repeating: "x", count: 80) + "-y",
                   String(repeating: "x", count: 79) + "-y", String(repeating: "x", count: 79) + "'y"]
        let pieces = ["a", "Z", "q", "9", "0", " ", "  ", "-", "_", ".", "'", "(", ")", "/", "+", "!", "?", "&", "@", "%",
                      "$", "=", "^", ":", "#", "\"", "\\", "\t", "\r", "\n", "\r\n", "yes", "True", "null", "~", "1", "e5",
                      ".inf", "2026-03-02", " : ", "[", "]", "{", "}", ",", "*", "|", ">", "`", "Quote", "invoice"]
        var rng = SplitMix64(state: 0x19_0019)
        for _ in 0..<30_000 {
            var s = ""
            for _ in 0..<(1 + rng.below(rng.below(4) == 0 ? 40 : 8)) {
                if rng.below(4) == 0 {
                    s.unicodeScalars.append(Unicode.Scalar(UInt8(rng.below(128))))
                } else {
                    s += pieces[rng.below(pieces.count)]
                }
            }
            out.append(s)
        }
        return out
    }()

    @Test func asciiSlugIsTheGeneralSlug() {
        var differing: [String] = []
        for s in Self.asciiCases where Slug.makeASCII(s) != Slug.makeGeneral(s) { differing.append(s) }
        #expect(differing.isEmpty, "\(differing.prefix(5).map { ($0.debugDescription, Slug.makeASCII($0) ?? "nil", Slug.makeGeneral($0)) })")
        #expect(Slug.make("Request number 7") == "request-number-7")
        #expect(Slug.make("Don't  stop!") == "dont-stop")
        // Not ASCII: the general path (folding, other scripts).
        #expect(Slug.makeASCII("Café Plan") == nil && Slug.make("Café Plan") == "cafe-plan")
        #expect(Slug.make("Straße") == "strasse")
    }

    @Test func asciiPlainScalarTestIsTheGeneralOne() {
        var differing: [String] = []
        for s in Self.asciiCases where FrontMatter.isPlainSafeASCII(s) != FrontMatter.isPlainSafeGeneral(s) { differing.append(s) }
        #expect(differing.isEmpty, "\(differing.prefix(5).map(\.debugDescription))")
        #expect(FrontMatter.yamlScalar("Request number 7") == "Request number 7")
        #expect(FrontMatter.yamlScalar("yes") == "\"yes\"")
        #expect(FrontMatter.yamlScalar("a: b") == "\"a: b\"")
        #expect(FrontMatter.isPlainSafeASCII("Übersetzung") == nil && FrontMatter.yamlScalar("Übersetzung") == "Übersetzung")
    }
}
