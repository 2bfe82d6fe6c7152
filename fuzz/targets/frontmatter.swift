// libFuzzer target: the note parser (front matter fences, YAML through Yams, known keys) and the link scanner.
// Any input must give a Note or a NoteError — never a trap, a hang or unbounded memory.
import Foundation
@testable import CairnKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    do {
        let note = try NoteParser.parse(path: "memory/fuzz.md", data: data)
        _ = NoteLinks.scan(note.body)
        _ = note.frontMatter?.tags
        // A parsed note reproduces its bytes exactly (cairn never reformats a file it did not change).
        if Data(note.text.utf8) != data { fatalError("round trip changed the note") }
    } catch {
        guard error.path == "memory/fuzz.md", !error.reason.isEmpty else { fatalError("error without path or reason: \(error)") }
    }
    return 0
}
