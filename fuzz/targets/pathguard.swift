// libFuzzer target: the agent path normalizer. Whatever it accepts must be a clean relative path that stays
// inside the vault and never names .git; normalizing twice gives the same result.
import Foundation
@testable import CairnKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let raw = String(decoding: UnsafeRawBufferPointer(start: start, count: count), as: UTF8.self)
    guard let path = try? PathGuard.normalize(raw) else { return 0 }
    let parts = path.split(separator: "/", omittingEmptySubsequences: false)
    if path.isEmpty || path.hasPrefix("/") || parts.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) {
        fatalError("accepted an unsafe path: \(raw.debugDescription) -> \(path.debugDescription)")
    }
    if parts.contains(where: { $0.lowercased() == ".git" }) { fatalError("accepted .git: \(raw.debugDescription)") }
    if path.utf8.contains(0) || path.contains("\\") { fatalError("accepted NUL or backslash: \(raw.debugDescription)") }
    guard let again = try? PathGuard.normalize(path), again == path else {
        fatalError("not idempotent: \(raw.debugDescription) -> \(path.debugDescription)")
    }
    return 0
}
