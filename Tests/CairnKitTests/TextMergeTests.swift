import Foundation
import Testing
@testable import CairnKit

/// Front matter merged key by key, and conflict markers found the way sync and snapshot look for them.
@Suite struct TextMergeTests {
    @Test func differentKeysCombineInOurOrderWithTheirNewKeysAfter() {
        let base = "title: A\ntags: [x]\n"
        let ours = "title: B\ntags: [x]\n"
        let theirs = "title: A\ntags: [x, y]\nsource: web\n"
        #expect(TextMerge.mergeKeys(ancestor: base, ours: ours, theirs: theirs) == "title: B\ntags: [x, y]\nsource: web\n")
    }

    @Test func aKeyChangedOnBothSidesDifferentlyIsAConflict() {
        #expect(TextMerge.mergeKeys(ancestor: "title: A\n", ours: "title: B\n", theirs: "title: C\n") == nil)
        #expect(TextMerge.mergeKeys(ancestor: "title: A\n", ours: "title: B\n", theirs: "title: B\n") == "title: B\n")
    }

    @Test func multiLineValuesTravelWithTheirKeyAndDeletionsHold() {
        let base = "tags:\n  - a\nowner: me\n"
        let ours = "tags:\n  - a\n  - b\nowner: me\n"
        let theirs = "tags:\n  - a\n"
        #expect(TextMerge.mergeKeys(ancestor: base, ours: ours, theirs: theirs) == "tags:\n  - a\n  - b\n")
    }

    @Test func splitFindsFrontMatterAndBody() {
        let s = TextMerge.split(Data("---\ntitle: T\n---\nbody\n".utf8))
        #expect(s?.front == "title: T\n" && s?.body == "body\n")
        #expect(TextMerge.split(Data("no front matter\n".utf8)) == nil)
    }

    @Test func conflictMarkersNeedAllThreeLinesInOrder() {
        #expect(ConflictMarkers.present(in: Data("a\n<<<<<<< ours\nx\n=======\ny\n>>>>>>> theirs\n".utf8)))
        #expect(!ConflictMarkers.present(in: Data("a\n=======\nheading underline\n".utf8)))
        #expect(!ConflictMarkers.present(in: Data("<<<<<<< ours\nx\n>>>>>>> theirs\n".utf8)))
    }
}
