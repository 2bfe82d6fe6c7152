import Foundation
import Testing

@testable import CairnKit

@Suite("TriggerIndex")
struct TriggerIndexTests {
    private let workflow = """
        ---
        on: {schedule: "0 9 * * 1-5", paths: ["inbox/leads/**"], event: lead.created}
        steps:
          - id: a
            agent: gc
        ---
        Test workflow.
        """

    @Test func listsTheTriggersOfValidWorkflowsAndFollowsEdits() throws {
        let f = try VaultFixture()
        try f.write("workflows/watch.md", workflow)
        let v = try f.vault()
        let entry = try #require(v.triggerIndex().workflows.first { $0.name == "watch" })
        #expect(entry.schedules == ["0 9 * * 1-5"])
        #expect(entry.paths == ["inbox/leads/**"])
        #expect(entry.events == ["lead.created"])
        // Cached: the file on disk is what the next tick reads.
        #expect(FileManager.default.fileExists(atPath: f.root + "/.git/cairn/tick-triggers.json"))

        // An edit (different size) rebuilds it; so does removing the file.
        try f.write("workflows/watch.md", workflow.replacingOccurrences(of: "0 9 * * 1-5", with: "30 17 * * fri"))
        #expect(v.triggerIndex().workflows.first { $0.name == "watch" }?.schedules == ["30 17 * * fri"])
        try FileManager.default.removeItem(atPath: f.root + "/workflows/watch.md")
        #expect(v.triggerIndex().workflows.first { $0.name == "watch" } == nil)
    }

    @Test func aWorkflowWithAnUnknownAgentIsNotIndexed() throws {
        let f = try VaultFixture()
        try f.write("workflows/broken.md", workflow.replacingOccurrences(of: "agent: gc", with: "agent: nobody"))
        #expect(try f.vault().triggerIndex().workflows.first { $0.name == "broken" } == nil)
    }
}
