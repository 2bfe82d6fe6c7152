// libFuzzer target: the checked JSON config parsers (policy.json, .cairn/config.json) and agent definitions.
// The first input byte picks the parser; any input must parse or throw an error naming the file.
import Foundation
@testable import CairnKit

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let data = Data(bytes[1...])
    do {
        switch bytes[0] % 3 {
        case 0: _ = try Policy.parse(data, path: "policy.json")
        case 1: _ = try VaultConfig.parse(data, path: ".cairn/config.json")
        default: _ = try AgentDefinition.parse(path: "agents/fuzz.md", data: data)
        }
    } catch {
        let text = "\(error)"
        if text.isEmpty { fatalError("empty error message") }
    }
    return 0
}
