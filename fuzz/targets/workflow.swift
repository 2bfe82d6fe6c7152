// libFuzzer target: workflow definitions (workflows/NAME.md) and the cron expressions of their `on: schedule`.
// The first input byte picks the parser; any input must parse or throw an error that says something.
import Foundation
@testable import CairnKit

/// Two known agents, so step references can resolve or not.
let catalog = AgentCatalog(agents: ["one", "two"].compactMap {
    try? AgentDefinition.parse(path: "agents/\($0).md", data: Data("---\nkind: builtin\nbuiltin: gc\n---\n".utf8))
}, problems: [])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let data = Data(bytes[1...])
    do {
        if bytes[0] % 2 == 0 {
            let definition = try WorkflowDefinition.parse(path: "workflows/fuzz.md", data: data)
            // Whatever parsed must also validate without trapping.
            _ = definition.problems(agents: catalog)
        } else {
            let schedule = try CronSchedule(parsing: String(decoding: data, as: UTF8.self))
            // A parsed schedule must answer without trapping.
            _ = schedule.next(after: Date(timeIntervalSince1970: 1_772_359_200))
        }
    } catch {
        if "\(error)".isEmpty { fatalError("empty error message") }
    }
    return 0
}
