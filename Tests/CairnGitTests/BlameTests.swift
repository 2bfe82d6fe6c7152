import Foundation
import Testing
@testable import CairnGit

@Suite struct BlameTests {
    /// `git blame --porcelain` of one line: (commit, original line, original path).
    func gitBlame(_ t: TestRepo, _ path: String, _ line: Int, _ newest: OID) throws -> (OID?, Int, String) {
        let lines = try t.git("blame", "--porcelain", "-L", "\(line),\(line)", newest.hex, "--", path).lines
        let header = lines[0].split(separator: " ")
        let file = lines.first { $0.hasPrefix("filename ") }.map { String($0.dropFirst("filename ".count)) } ?? ""
        return (OID(hex: String(header[0])), Int(header[1]) ?? -1, file)
    }

    @Test func blameFindsTheCommitThatLastChangedEachLine() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "one\ntwo\nthree\n"])
        let c2 = try t.commit(["a.md": "one\nTWO\nthree\n"])
        let c3 = try t.commit(["a.md": "zero\none\nTWO\nthree\n"])
        let expected = [1: c3, 2: c1, 3: c2, 4: c1]
        for (line, commit) in expected {
            let ours = try #require(try t.repo.blame(path: "a.md", line: line, newest: c3))
            #expect(ours.commit == commit, "line \(line)")
            let git = try gitBlame(t, "a.md", line, c3)
            #expect(ours.commit == git.0)
            #expect(ours.originalLine == git.1, "line \(line)")
            #expect(ours.path == git.2)
        }
    }

    @Test func blameAsOfAnOlderCommit() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "one\ntwo\n"])
        let c2 = try t.commit(["a.md": "one\nTWO\n"])
        _ = try t.commit(["a.md": "ONE\nTWO\n"])
        #expect(try t.repo.blame(path: "a.md", line: 1, newest: c2)?.commit == c1)
        #expect(try t.repo.blame(path: "a.md", line: 2, newest: c2)?.commit == c2)
    }

    @Test func blameFollowsARename() throws {
        let t = try TestRepo()
        let body = (1...20).map { "line \($0)" }.joined(separator: "\n") + "\n"
        let c1 = try t.commit(["inbox/n.md": body])
        let c2 = try t.commit(["inbox/n.md": nil, "archive/n.md": body])
        let ours = try #require(try t.repo.blame(path: "archive/n.md", line: 5, newest: c2))
        let git = try gitBlame(t, "archive/n.md", 5, c2)
        #expect(ours.commit == git.0)
        #expect(ours.path == git.2)
        #expect(ours.originalLine == git.1)
        #expect(ours.commit == c1)
        #expect(ours.path == "inbox/n.md")
    }

    @Test func blameOfAMissingPathThrows() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "a\n"])
        #expect(throws: GitError.self) { _ = try t.repo.blame(path: "missing.md", line: 1, newest: c1) }
    }
}
