// libFuzzer target: a model's reply text (JSON extraction, strict validation, path normalization of each edit).
import Foundation
@testable import CairnKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    do {
        let reply = try ModelReply.parse(text)
        if reply.edits.count > ModelReply.maxEdits { fatalError("edit limit not enforced") }
        for edit in reply.edits { _ = try? PathGuard.normalize(edit.path) }
    } catch {
        if error.reason.isEmpty { fatalError("empty reason") }
    }
    return 0
}
