import Foundation
import Testing
@testable import CairnKit

/// The bubblewrap command line, checked without running it (the end-to-end tests run it where bubblewrap works):
/// what the agent is shown, and that nothing else is.
@Suite struct AgentSandboxTests {
    let work = "/tmp/cairn-run-x"
    let vault = "/home/ada/vault"

    func options(network: Bool = false, readOnly: [AgentSandbox.Mount] = []) -> [String] {
        AgentSandbox.options(workDir: work, directory: work + "/files", network: network, readOnly: readOnly)
    }

    /// The (source, destination) pairs of every bind, in order.
    func binds(_ o: [String]) -> [(String, String)] {
        var out: [(String, String)] = []
        for (i, flag) in o.enumerated() where ["--bind", "--ro-bind"].contains(flag) && i + 2 < o.count {
            out.append((o[i + 1], o[i + 2]))
        }
        return out
    }

    @Test func onlySystemFoldersTheWorkFolderAndMasksAreMounted() {
        let o = options()
        #expect(o.first == "--unshare-all")
        #expect(!o.contains("--share-net"))
        #expect(o.contains("--die-with-parent") && o.contains("--cap-drop"))
        for (source, destination) in binds(o) {
            let allowed = AgentSandbox.isSystemPath(source) || source == work || source == "/dev/null"
            #expect(allowed, "unexpected mount \(source) → \(destination)")
            #expect(!source.hasPrefix("/home") && !source.hasPrefix("/root") && source != "/", "\(source)")
        }
        #expect(binds(o).contains { $0 == (work, work) }, "the work folder is writable")
        #expect(binds(o).contains { $0 == ("/usr", "/usr") })
        // The private /tmp comes before the work folder (which may lie under it), and both end read-only but it.
        let tmp = o.firstIndex(of: "/tmp")!, workBind = o.firstIndex(of: work)!
        #expect(tmp < workBind)
        #expect(o.suffix(6).starts(with: ["--remount-ro", "/tmp", "--remount-ro", "/"]), "\(o.suffix(6))")
        for file in AgentSandbox.maskedFiles where FileManager.default.fileExists(atPath: file) {
            #expect(binds(o).contains { $0 == ("/dev/null", file) }, "\(file) is not masked")
        }
    }

    @Test func networkTrueSharesTheNetworkOnly() {
        let o = options(network: true)
        #expect(o.contains("--share-net"))
        #expect(Set(binds(o).map(\.0)).subtracting(binds(options()).map(\.0)).allSatisfy { !$0.hasPrefix("/home") })
    }

    @Test func theAgentsFolderAppearsInTheWorkFolderAndTheVaultPathIsGone() {
        let p = AgentSandbox.program(executable: vault + "/agents/triage.py", arguments: ["--fast", vault + "/agents/lib/x.py"],
                                     vaultRoot: vault, workDir: work)
        #expect(p.executable == work + "/agents/triage.py")
        #expect(p.arguments == ["--fast", work + "/agents/lib/x.py"])
        #expect(p.mounts == [AgentSandbox.Mount(source: vault + "/agents", destination: work + "/agents")])
        let system = AgentSandbox.program(executable: "/usr/bin/python3", arguments: [work + "/agents/x.py"], vaultRoot: vault, workDir: work)
        #expect(system.mounts.isEmpty)
        let own = AgentSandbox.program(executable: "/opt/tools/bin/tool", arguments: [], vaultRoot: vault, workDir: work)
        #expect(own.mounts.first == AgentSandbox.Mount(source: "/opt/tools/bin/tool", destination: "/opt/tools/bin/tool"))
    }
}
