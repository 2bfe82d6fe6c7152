// libFuzzer target: the search query language (quotes, filters, exclusions) and the FTS5 expression built from it.
import Foundation
@testable import CairnKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    if let query = try? SearchQuery.parse(text) {
        _ = query.matchExpression
    }
    return 0
}
