import Foundation
import Testing
@testable import CairnKit

/// Plain front matter is composed without libyaml (`PlainFrontMatter`); these tests hold it to exactly what the
/// libyaml path gives, on hand-picked edge cases and on thousands of generated blocks.
@Suite struct PlainFrontMatterTests {
    /// Everything `FrontMatter.parse` gives for `yaml` (or the error), as text to compare.
    private func outcome(_ yaml: String, fast: Bool) -> String {
        let lineCount = yaml.utf8.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
        do {
            let f = try FrontMatter.parse(yaml: yaml, block: "---\n" + yaml + "---\n", lines: 1...(lineCount + 2),
                                          path: "memory/knowledge/n.md", plainFastPath: fast)
            let fields = f.fields.map { "\($0.key)=\(String(reflecting: $0.value))" }.joined(separator: "; ")
            return "ok [\(fields)] title=\(f.title ?? "-") tier=\(f.tier.map { "\($0)" } ?? "-") tags=\(f.tags) "
                + "created=\(f.created ?? "-") updated=\(f.updated ?? "-") expires=\(f.expires ?? "-") "
                + "review=\(f.reviewAfter ?? "-") source=\(f.source ?? "-") pinned=\(f.pinned.map { "\($0)" } ?? "-") "
                + "aliases=\(f.aliases) yaml=\(f.yaml.debugDescription) lines=\(f.lines)"
        } catch {
            return "error \(error.path):\(error.line): \(error.reason)"
        }
    }

    /// The YAML between the fences of a note's text, or nil when it has none.
    private func yaml(ofNote text: String) -> String? {
        var lines = text.components(separatedBy: "\n")
        guard lines.first == "---" else { return nil }
        lines.removeFirst()
        guard let close = lines.firstIndex(where: { $0 == "---" || $0 == "..." }) else { return nil }
        return lines[..<close].map { $0 + "\n" }.joined()
    }

    @Test func theCommonFormTakesTheFastPath() {
        let plain = [
            "title: Baba kaulqika 46645\ntier: working\ntags: [tag197, tag34, tag92]\ncreated: 2026-01-01\nupdated: day-0\n",
            "title: Weekly plan\naliases: [Plan, This week]\npinned: yes\nsource: https//example.com/x\n",
            "title: Café déjà vu 日本\nempty_list: []\nn: 12\nf: 2.5\nnothing: ~\n",
            "title: it's \"quoted\" inside, with commas\n",
        ]
        for yaml in plain {
            #expect(PlainFrontMatter.compose(yaml) != nil, "\(yaml.debugDescription)")
            #expect(outcome(yaml, fast: true) == outcome(yaml, fast: false))
        }
    }

    @Test func otherFormsAreLeftToLibyaml() {
        let other = [
            "", "\n", "title: x", "title: x\n\n", "# c\ntitle: x\n", "title: x # c\n", "title: 'x'\n", "title: \"x\"\n",
            "title:x\n", "title:  x\n", "title : x\n", "title: x \n", "title:\n", "title: \n", "  title: x\n",
            "title: x\r\n", "title: a\tb\n", "tags: [a,b]\n", "tags: [ a, b ]\n", "tags: [a, [b]]\n", "tags: [a, ]\n",
            "tags: {a: b}\n", "title: a: b\n", "title: a:b\n", "title: -x\n", "title: - x\n", "title: &a x\n",
            "title: *a\n", "title: !t x\n", "title: |\n", "title: >\n", "title: ?\n", "title: %x\n", "title: @x\n",
            "title: `x`\n", "title: a\u{85}b\n", "title: a\u{2028}b\n", "title: a\u{2029}b\n", "title: a\u{FEFF}b\n",
            "title: \u{A0}x\n", "title: a\u{9F}b\n", "- a\n", "title: x\n  more\n", "---\n", "...\n", "1key: x\n",
            "-key: x\n", "title: [a, b] c\n", "title: x]\n", "title: a{b\n", String(repeating: "k", count: 1100) + ": x\n",
        ]
        for yaml in other {
            #expect(PlainFrontMatter.compose(yaml) == nil, "\(yaml.debugDescription)")
            #expect(outcome(yaml, fast: true) == outcome(yaml, fast: false), "\(yaml.debugDescription)")
        }
    }

    /// The front matter of the notes `FrontMatterTests` reads, and the known keys' edge cases.
    @Test func edgeCasesReadTheSameBothWays() {
        let notes = [
            "---\ntitle: Weekly plan\ntier: working\ntags: [Planning, ops]\ncreated: 2024-05-01\nupdated: \"2024-05-03T10:00:00Z\"\nexpires: 2024-06-01\nreview_after: 2024-05-15\nsource: https://example.com/x\npinned: yes\naliases: [Plan, This week]\ncustom: {nested: [1, 2.5, true, null, text]}\n---\n",
            "---\nhex: 0x1F\nbig: 99999999999999999999999\nsexagesimal: 1:2:3:4:5:6:7:8:9:10:11:12:13:14:15\nquoted: \"12\"\noff: off\ninf: .inf\n---\n",
            "---\ntags: [A, b, '#C', a]\n---\n", "---\ntags:\n  - one\n  - Two\n---\n", "---\ntags: solo\n---\n",
            "---\ntags: \"x, y ,#z\"\n---\n", "---\ntags:\n---\n", "---\ntags: [2024, ~]\n---\n", "---\nexpires: 2024-02-29\n---\n",
            "---\nexpires: '2024-02-29'\n---\n", "---\nreview_after: 2024-02-29 23:59\n---\n", "---\n---\n",
            "---\n# just a comment\n---\n", "---\ntitle:   'Spaced'   # comment\nodd:    [ 1,2 ]\n---\n",
            "---\ntitle: ok\nbad: value: other\n---\n", "---\na: 1\nb: 2\nc: \"open\nd: 4\n---\n",
            "---\ntitle: x\nlist: [a, b\n---\n", "---\na:\n\t- x\n---\n", "---\n- a\n- b\n---\n", "---\n\njust some text\n---\n",
            "---\ntitle: ok\ntags: {a: 1}\n---\n", "---\ntitle: ok\ntags: [a]\npinned: \"maybe\"\n---\n", "---\ntier: nonsense\n---\n",
            "---\ntitle:\n  - a\n  - b\n---\n", "---\ntags:\n  - ok\n  - [no]\n---\n", "---\n\nexpires: [2024-01-01]\n---\n",
            "---\naliases: {a: b}\n---\n", "---\ntitle: a\nother: 1\ntitle: b\n---\n", "---\na: 1\n? [x, y]\n: z\n---\n",
            "---\nbase: &b [1, 2]\ncopy: *b\n---\n", "---\ntitle: \"*not an alias*\"\nnote: a *b c\n---\n", "---\nx:\n---\n",
            "---\na: 1\n--- b\n---\n",
            // Known keys the plain form can carry, valid and not.
            "---\ntier: Working\n---\n", "---\ntier: wip\n---\n", "---\ntier: [core]\n---\n", "---\ntier: 12\n---\n",
            "---\npinned: maybe\n---\n", "---\npinned: Off\n---\n", "---\npinned: 1\n---\n", "---\npinned: ~\n---\n",
            "---\ncreated: yes\n---\n", "---\ncreated: [2024-01-01]\n---\n", "---\ncreated: day-0\n---\n", "---\ncreated: 12\n---\n",
            "---\ntitle: [a, b]\n---\n", "---\ntitle: ~\n---\n", "---\ntitle: null\n---\n", "---\ntitle: 12\n---\n",
            "---\ntags: [#a]\n---\n", "---\ntags: a b,c\n---\n", "---\ntags: ~\n---\n", "---\ntag: [One, two]\n---\n",
            "---\ntag: x\ntags: [y]\n---\n", "---\naliases: [A, A, B]\n---\n", "---\naliases: one, two\n---\n",
            "---\nalias: [x]\n---\n", "---\naliases: [~, x]\n---\n", "---\ntitle: a\ntitle: a\n---\n",
            "---\nsource: x\nsource: y\n---\n", "---\nn: 1_000\no: 017\nb: 0b101\nneg: +12\ne: 1e3\nd: .5\n---\n",
        ]
        for note in notes {
            guard let yaml = yaml(ofNote: note) else { Issue.record("no front matter in \(note.debugDescription)"); continue }
            #expect(outcome(yaml, fast: true) == outcome(yaml, fast: false), "\(yaml.debugDescription)")
        }
    }

    /// Generated blocks of `key: value` lines over the characters and words YAML treats specially.
    @Test func generatedFrontMatterReadsTheSameBothWays() {
        var random = SplitMix64(state: 14)
        let keys = ["title", "tier", "tags", "tag", "created", "updated", "expires", "review_after", "source", "pinned",
                    "aliases", "alias", "custom", "x-y", "_k", "K2", "yes", "null", "on"]
        let separators = [": ", ": ", ": ", ": ", ":", ":  ", " : ", ":\t"]
        let words = ["working", "core", "Working", "bogus", "2024-05-01", "2024-02-30", "2024-05-01 09:30", "day-0", "yes",
                     "No", "on", "OFF", "~", "null", "Null", "12", "0x1F", "1_000", "017", "0b11", "1:30", "2.5", ".inf",
                     "-.inf", ".nan", "+1", "-3", "1e3", "true", "a b", "a  b", "it's", "say \"hi\"", "x, y", "é", "日本",
                     "a\u{85}b", "a\u{2028}b", "a\u{FEFF}b", "\u{A0}x", "a\tb", "a #c", "a#b", "a: b", "a:b", "[a, b]", "[]",
                     "[a,b]", "[ a, b ]", "[a, [b]]", "[yes, 12, ~]", "[Plan, This week]", "[a, ]", "[, a]", "[a b , c]",
                     "{a: b}", "'q'", "\"q\"", "&x a", "*x", "!t a", "|", ">", "-", "- a", "?", "%", "@x", "`x`", "=", "<<",
                     "(x)", "/path", "https://e.com/x", "a ", " a", "", "^x", "$x", "+x", "_x", ".x", "..", "...", "a---b",
                     "#tag", "[#a]", "[a, b#c]", "[a:b]", "[a, ~, null, 0x10]", "[2024-01-01, x]", "tag197"]
        // Half the blocks are mostly what the fast path takes, with a stray token now and then.
        let plainWords = words.filter { PlainFrontMatter.compose("k: \($0)\n") != nil }
        var fast = 0
        for _ in 0..<4000 {
            var yaml = ""
            let mostlyPlain = random.below(2) == 0
            func word() -> String {
                mostlyPlain && random.below(12) != 0 ? plainWords[random.below(plainWords.count)] : words[random.below(words.count)]
            }
            for _ in 0..<random.below(7) {
                switch random.below(mostlyPlain ? 400 : 40) {
                case 0: yaml += "\n"
                case 1: yaml += "# comment\n"
                case 2: yaml += "  - item\n"
                default:
                    let value = random.below(4) == 0
                        ? "[" + (0..<random.below(4)).map { _ in word() }.joined(separator: ", ") + "]"
                        : word()
                    let separator = mostlyPlain && random.below(12) != 0 ? ": " : separators[random.below(separators.count)]
                    yaml += keys[random.below(keys.count)] + separator + value
                    yaml += random.below(30) == 0 ? "\r\n" : "\n"
                }
            }
            if PlainFrontMatter.compose(yaml) != nil { fast += 1 }
            let a = outcome(yaml, fast: true), b = outcome(yaml, fast: false)
            #expect(a == b, "\(yaml.debugDescription)")
            if a != b { break }
        }
        // The generator is meant to exercise the fast path too, not only the way around it.
        #expect(fast > 1000)
    }
}
