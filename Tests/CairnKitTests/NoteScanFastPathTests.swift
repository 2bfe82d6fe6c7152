import Foundation
import Testing
@testable import CairnKit

/// The ASCII shortcuts of the note scanners give what the general (Unicode) code gives.
@Suite struct NoteScanFastPathTests {
    /// Lines of every kind the link scanner looks at.
    static let lines = [
        "# Title here", "## Sub #not-tag", "see [[Target]] and [[Other#Head|alias]] #tag1 #2024 #a/b/",
        "![[image.png]] and ![alt](pics/x.png \"t\") and [doc](folder/x%20y.md#part?q=1)", "`[[in code]]` [[out]] ``a ` b``",
        "[x](<a b.md>) [y](https://example.com) [z](#local) [w](//host/x)", "\\[[escaped]] \\#no [[a\\|b]]", "[[ spaced ]] [[]] [[#h]]",
        "[nested [brackets]](n.md) [broken](x.md", "~~~", "```swift", "``` x `", "#tag-with_under/slash text #Tag",
        "- see [[Xibagere mowa 27678]] about juvo #tag34", "line with\r", "[[a]]\r", "[t](x.md 'title') [t2](y.md (title))",
        "(((( [a](b(c)d.md) ))))", "#", "[[x]][[y]]", "text ^block-id", "  # indented heading", "    # code-ish heading",
    ]

    @Test func asciiLinesScanAsTheyDoWithOtherCharactersAround() {
        // The same lines with a non-ASCII space at their end take the general decoding; what they hold must not change.
        for line in Self.lines {
            let bodyA = [line, "plain prose", line].joined(separator: "\n")
            let bodyU = [line + "\u{00A0}", "plain prose\u{00A0}", line + "\u{00A0}"].joined(separator: "\n")
            let a = NoteLinks.scan(bodyA, firstLine: 3), u = NoteLinks.scan(bodyU, firstLine: 3)
            #expect(a.wikiLinks == u.wikiLinks, "\(line.debugDescription)")
            #expect(a.wikiLinks.map(\.columns) == u.wikiLinks.map(\.columns), "\(line.debugDescription)")
            #expect(a.markdownLinks == u.markdownLinks, "\(line.debugDescription)")
            #expect(a.markdownLinks.map(\.columns) == u.markdownLinks.map(\.columns), "\(line.debugDescription)")
            #expect(a.tags == u.tags, "\(line.debugDescription)")
            #expect(a.firstHeading == u.firstHeading, "\(line.debugDescription)")
        }
        let scanned = NoteLinks.scan("x\n- see [[Mowa pene 6112]] about ornepe #tag197\n", firstLine: 9)
        #expect(scanned.wikiLinks.map(\.target) == ["Mowa pene 6112"])
        #expect(scanned.wikiLinks.first?.line == 10)
        #expect(scanned.wikiLinks.first?.columns == 8..<22)
        #expect(scanned.tags == ["tag197"])
    }

    /// `normalizeHeading` as it was before its ASCII shortcut: Unicode properties for every scalar.
    private func referenceNormalizeHeading(_ text: String) -> String {
        var out = ""
        var pendingSpace = false
        for scalar in text.lowercased().unicodeScalars {
            let isSeparator = scalar.isASCII
                ? !(scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_")
                : scalar.properties.isWhitespace
            if isSeparator {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    @Test func headingsNormalizeAsWithUnicodeProperties() {
        let everyASCII = String(String.UnicodeScalarView((0..<128).compactMap(Unicode.Scalar.init)))
        let headings = [everyASCII, "How large can a vault be?", "First law: Inertia", "Über  größe", "a\u{2003}b\u{00A0}c",
                        "C++ & C#", "snake_case-and-kebab", "  x  ", "ÀÉÎ x-Y_z 42!", ""]
        for heading in headings {
            #expect(NoteAnchors.normalizeHeading(heading) == referenceNormalizeHeading(heading), "\(heading.debugDescription)")
        }
        let anchors = NoteAnchors.scan("# How large can a vault be?\n## C++ & C#\ntext ^Block-1\n")
        #expect(anchors.headings == ["how large can a vault be", "c c"])
        #expect(anchors.blocks == ["block-1"])
    }

    @Test func tagsAlreadyNormalStayAsTheyAre() {
        #expect(normalizedTags(["a", "A", "#b", " c ", "d/e", "x-y_z", "", "#", "a", "tag197", "Ünï", "b"])
            == ["a", "b", "c", "d/e", "x-y_z", "tag197", "ünï"])
    }
}
