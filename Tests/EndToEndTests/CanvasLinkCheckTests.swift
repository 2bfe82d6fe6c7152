import Foundation
import Testing

/// `cairn doctor` checks the links of canvas boards as Obsidian shows them: links in text cards resolve from the
/// canvas file like a note's (unresolved ones counted, missing headings warned about), and a file card showing a file
/// that is gone is a warning naming the canvas and the card.
@Suite struct CanvasLinkCheckTests {
    static let board = #"""
        {
        	"nodes":[
        		{"id":"f1","type":"file","file":"Plan.md","x":0,"y":0,"width":400,"height":400},
        		{"id":"f2","type":"file","file":"Gone/Old plan.md","x":0,"y":500,"width":400,"height":400},
        		{"id":"t1","type":"text","text":"Next: [[Plan]], [[Plan#Goals]] and [[Plan#No such part]]\n[plan](../Plan.md)","x":500,"y":0,"width":250,"height":60},
        		{"id":"t2","type":"text","text":"Later: [[Someday]] and ![[missing.png]]","x":500,"y":100,"width":250,"height":60},
        		{"id":"g1","type":"group","label":"[[Not a link]]","x":0,"y":0,"width":900,"height":900}
        	],
        	"edges":[{"id":"e1","fromNode":"f1","toNode":"t1"}]
        }
        """#

    func vault(_ sb: Sandbox) throws -> String {
        let v = try sb.makeGitRepo("boards")
        try sb.write(v + "/Plan.md", "# Plan\n\n## Goals\n- ship\n")
        try sb.write(v + "/Boards/Board.canvas", Self.board)
        try sb.commitAll(v, "vault backup: 2026-02-28 21:14:03")
        let r = sb.runCairn(["init", v])
        try #require(r.status == 0, "cairn init failed: \(r)")
        return v
    }

    func json(_ r: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any], "not JSON: \(r)", sourceLocation: sourceLocation)
    }

    @Test func doctorWarnsAboutAMissingHeadingInATextCardAndAFileCardWhoseFileIsGone() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        let r = sb.runCairn(["doctor", "--json"], cwd: v)
        #expect(r.status == 0, "warnings only: \(r)")
        let report = try json(r)
        let findings = try #require(report["findings"] as? [[String: Any]])
        let onBoard = findings.filter { $0["path"] as? String == "Boards/Board.canvas" }
            .map { "\($0["severity"] ?? ""):\($0["line"] ?? ""): \($0["message"] ?? "")" }.sorted()
        #expect(onBoard == [
            "warning:4: file card f2 shows Gone/Old plan.md, which does not exist",
            "warning:5: link [[Plan#No such part]] in card t1 leads to Plan.md, which has no such heading",
        ], "\(onBoard)")
        let links = try #require(report["links"] as? [String: Any], "\(report)")
        #expect(links["unresolved"] as? Int == 2, "[[Someday]] and missing.png are counted, not warned about: \(links)")
        #expect(links["brokenAnchors"] as? Int == 2, "\(links)")
    }

    @Test func linksUnresolvedNamesTheCard() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        let r = sb.runCairn(["links", "--unresolved", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let unresolved = (try json(r)["unresolved"] as? [[String: Any]] ?? [])
            .map { "\($0["path"] ?? ""):\($0["line"] ?? "") \($0["card"] ?? "-") \($0["link"] ?? "")" }
        #expect(unresolved == ["Boards/Board.canvas:6 t2 [[Someday]]", "Boards/Board.canvas:6 t2 ![[missing.png]]"], "\(unresolved)")
        let text = sb.runCairn(["links", "--unresolved"], cwd: v)
        #expect(text.stdout.contains("Boards/Board.canvas:6 (card t2)  [[Someday]]"), "\(text)")
        #expect(text.stdout.contains("1 to a missing heading or block, 1 canvas file card to a missing file"), "\(text)")
    }

    @Test func fixingTheBoardClearsTheWarnings() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        try sb.write(v + "/Boards/Board.canvas", Self.board
            .replacingOccurrences(of: "Gone/Old plan.md", with: "Plan.md")
            .replacingOccurrences(of: "#No such part", with: "#Goals"))
        let r = sb.runCairn(["doctor", "--json"], cwd: v)
        let findings = try #require(try json(r)["findings"] as? [[String: Any]])
        #expect(!findings.contains { $0["path"] as? String == "Boards/Board.canvas" }, "\(findings)")
        // Two file cards and six links in text cards are checked; a group's label is not Markdown.
        let checked = try #require(try json(r)["links"] as? [String: Any])["links"] as? Int
        try sb.write(v + "/Boards/Board.canvas", #"{"nodes":[],"edges":[]}"#)
        let empty = try #require(try json(sb.runCairn(["doctor", "--json"], cwd: v))["links"] as? [String: Any])["links"] as? Int
        #expect(checked.map { $0 - (empty ?? 0) } == 8, "\(String(describing: checked)) with the board, \(String(describing: empty)) without")
    }
}
