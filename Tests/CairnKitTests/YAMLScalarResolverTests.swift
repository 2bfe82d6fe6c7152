import Foundation
import Testing
import Yams
@testable import CairnKit

/// YAMLScalarResolver must give the tag Yams' regular-expression resolver gives, for every plain scalar.
@Suite struct YAMLScalarResolverTests {
    static let handPicked: [String] = [
        "", "~", "null", "Null", "NULL", "nULL", "yes", "Yes", "YES", "yEs", "no", "on", "Off", "true", "FALSE", "y", "n",
        "0", "00", "08", "0_7", "0o17", "0o", "0b", "0b101", "0b2", "0x", "0x1F", "0xg", "-0x_", "+12", "-0", "1_000", "1__",
        "1:30", "1:60", "190:20:30", "1:5", "1:5:", "0:30", "-1:30", "1:30.5", "1:30.", "1e5", "1E+5", "1e", "1.5e-3",
        ".5", "._", ".5e5", ".5e+5", ".e5", "+.5", ".", "-.", "1.", "1._", ".inf", "-.Inf", "+.INF", ".nan", "-.nan",
        ".NaN", "<<", "<", "=", "==", "2026-01-02", "2026-1-2", "2026-01-2", "2026-1-02 1:02:03", "2026-01-02T10:20:30Z",
        "2026-01-02t10:20:30.123+01:00", "2026-01-02 \t 10:20:30 -5", "2026-01-02T10:20:30 Z", "2026-01-02T10:20:30  ",
        "2026-01-02T10:20", "2026-01-02T10:20:30+1:0", "2026-01-022", "20260-01-02", "2026-01-02\n", "true\n", "12\r\n",
        "12\r", "null\u{85}", "0x1\u{2028}", "1\u{2029}", "1\n\n", "yes ", " yes", "1 ", "−1", "١٢",
    ]

    @Test func agreesWithYamsOnHandPickedScalars() {
        for text in Self.handPicked {
            #expect(YAMLScalarResolver.tag(of: text) == Resolver.default.resolveTag(of: Node(text)), "\(text.debugDescription)")
        }
    }

    @Test func agreesWithYamsOnGeneratedScalars() {
        // Deterministic: a fixed-seed generator over the characters the rules care about.
        var rng = SplitMix64(state: 0xC0FFEE)
        let alphabet = Array("0123456789012345+-._:eEoxbTtZ ~<=\tnNaIifyYsulrF\n")
        var disagreements: [String] = []
        for _ in 0..<60_000 {
            let length = Int(rng.next() % 14)
            let text = String((0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
            if YAMLScalarResolver.tag(of: text) != Resolver.default.resolveTag(of: Node(text)) { disagreements.append(text) }
        }
        // Generated timestamps and numbers, which random strings rarely hit.
        for _ in 0..<20_000 {
            let d = { (n: Int) in String((0..<n).map { _ in Character(String(rng.next() % 10)) }) }
            let seps = ["T", "t", " ", "\t ", "x", ""]
            let tz = ["", "Z", " Z", "+1", "-05:00", "+5:3", " +01", ":", "z"]
            let text = d(4) + "-" + d(1 + Int(rng.next() % 2)) + "-" + d(1 + Int(rng.next() % 3))
                + (rng.next() % 4 == 0 ? "" : seps[Int(rng.next() % 6)] + d(1 + Int(rng.next() % 2)) + ":" + d(2) + ":" + d(1 + Int(rng.next() % 2))
                    + (rng.next() % 2 == 0 ? "." + d(Int(rng.next() % 3)) : "") + tz[Int(rng.next() % 9)])
            if YAMLScalarResolver.tag(of: text) != Resolver.default.resolveTag(of: Node(text)) { disagreements.append(text) }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(20).map(\.debugDescription))")
    }
}
