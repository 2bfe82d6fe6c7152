import CairnGit
import Foundation
import Testing
@testable import CairnKit

/// What callers other than the CLI rely on: which environment a command agent gets, where the model key comes from,
/// and progress reports from a long built-in run.
@Suite struct AgentSeamTests {
    @Test func aCommandAgentGetsOnlyTheAllowedVariables() {
        let caller = ["PATH": "/usr/bin", "HOME": "/home/op", "LANG": "C.UTF-8", "TZ": "UTC", "CAIRN_MODEL_API_KEY": "sk-1",
                      "SSH_AUTH_SOCK": "/run/agent.sock", "AWS_PROFILE": "prod", "GIT_CONFIG_GLOBAL": "/x"]
        #expect(AgentEnvironment.forCommandAgent(caller) == ["PATH": "/usr/bin", "HOME": "/home/op", "LANG": "C.UTF-8", "TZ": "UTC"])
    }

    @Test func theModelKeyComesFromTheVariableTheConfigNames() throws {
        var config = VaultConfig()
        config.model.apiKeyEnv = "MY_KEY"
        #expect(AgentEnvironment.modelAPIKey(["MY_KEY": "sk-2", "CAIRN_MODEL_API_KEY": "sk-1"], config: config) == "sk-2")
        #expect(AgentEnvironment.modelAPIKey(["MY_KEY": ""], config: config) == nil)
        config.model.apiKeyEnv = ""
        #expect(AgentEnvironment.modelAPIKey(["MY_KEY": "sk-2"], config: config) == nil)
    }

    @Test func gcReportsItsProgressUpToEveryNote() throws {
        let f = try VaultFixture()
        for i in 0..<2500 { try f.write(String(format: "memory/knowledge/n%04d.md", i), "---\ntitle: N\(i)\n---\nnote \(i)\n") }
        try f.snapshot()
        let vault = try f.vault()
        let head = try #require(try vault.head())
        let base = BaseSnapshot(repository: vault.repository, commit: head, tree: try vault.repository.commit(head).tree)
        let seen = Reports()
        _ = try BuiltinAgents.garbageCollect(base: base, policy: Policy(), now: f.now, reads: ["memory/**"],
                                             writes: ["memory/working/**"], progress: { seen.add($0) })
        let reading = seen.all.filter { $0.task == "reading notes" }
        let total = try #require(reading.last?.total)
        #expect(total >= 2500)
        #expect(reading.first?.done == 0 && reading.last?.done == total, "\(reading)")
        #expect(reading.map(\.done) == reading.map(\.done).sorted(), "progress only goes forward")
        #expect(seen.all.contains { $0.task == "comparing notes" })
    }
}

final class Reports: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [WorkProgress] = []
    func add(_ p: WorkProgress) { lock.lock(); items.append(p); lock.unlock() }
    var all: [WorkProgress] { lock.lock(); defer { lock.unlock() }; return items }
}
