import CairnKit
import Foundation
import Testing

/// `cairn mv` updates links the way Obsidian's "Automatically update internal links" does, on a vault shaped like a
/// real one (`Tests/Fixtures/obsidian-messy-vault`: numbered PARA folders, nested daily notes, unicode and commas in
/// names, aliases, embeds, a canvas, bases, attachments, templates, CRLF), and a vault kept in git by the
/// obsidian-git plugin is adopted and audited as the operator's.
@Suite struct ObsidianMoveTests {
    static let fixture = Binaries.packageRoot + "/Tests/Fixtures/obsidian-messy-vault"

    /// The fixture as the obsidian-git plugin leaves it (a git repository with its backup commits), then adopted
    /// with `cairn init`.
    func adopted(_ sb: Sandbox) throws -> String {
        let path = sb.work + "/messy"
        try FileManager.default.copyItem(atPath: Self.fixture, toPath: path)
        try sb.gitOK(["init", "-q", "-b", "main", path], cwd: sb.work)
        try sb.commitAll(path, "vault backup: 2026-02-28 21:14:03")
        let r = sb.runCairn(["init", path])
        try #require(r.status == 0, "cairn init failed: \(r)")
        return path
    }

    func read(_ vault: String, _ path: String) -> String {
        FileManager.default.contents(atPath: vault + "/" + path).map { String(decoding: $0, as: UTF8.self) } ?? "<missing \(path)>"
    }

    func json(_ r: CommandResult, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any], "not JSON: \(r)", sourceLocation: sourceLocation)
    }

    func doctorLinks(_ sb: Sandbox, _ v: String) throws -> [String: Any] {
        let r = sb.runCairn(["doctor", "--json"], cwd: v)
        return try #require(try json(r)["links"] as? [String: Any], "\(r)")
    }

    @Test func theMessyVaultResolvesAsObsidianDoes() throws {
        let sb = try Sandbox()
        let v = try adopted(sb)
        let r = sb.runCairn(["links", "--unresolved", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let report = try json(r)
        let unresolved = (report["unresolved"] as? [[String: Any]] ?? []).map { "\($0["path"] ?? ""):\($0["line"] ?? "") \($0["link"] ?? "")" }
        // Only the note not written yet; aliases (Renée, Café 2.0, Relaunch), attachments, the canvas and bases, the
        // escaped `\|` in a table, commas and unicode in names, encoded relative Markdown links all resolve.
        #expect(unresolved == ["00 Inbox/Quick capture.md:3 [[Someday maybe]]"], "\(unresolved)")
        #expect((report["brokenAnchors"] as? [Any])?.isEmpty == true, "\(report)")
        // Templates are not notes: their `{{date}}` front matter and `<% %>` links are not read.
        #expect(!unresolved.contains { $0.hasPrefix("Templates/") })
    }

    @Test func renamingANoteUpdatesEveryLinkToItInOneCommit() throws {
        let sb = try Sandbox()
        let v = try adopted(sb)
        let before = try doctorLinks(sb, v)
        let head = try sb.gitOK(["rev-parse", "HEAD"], cwd: v)
        let r = sb.runCairn(["mv", "10 Projects/Café Relaunch/Menü-Entwurf.md", "10 Projects/Café Relaunch/Speisekarte 2026.md"], cwd: v)
        #expect(r.status == 0, "\(r)")
        // One commit on top of the adoption (nothing was pending), by the operator, with the move's trailer.
        #expect(try sb.gitOK(["rev-list", "--count", "\(head)..HEAD"], cwd: v) == "1")
        #expect(try sb.gitOK(["log", "-1", "--format=%an <%ae>%n%B"], cwd: v).contains("Ada Operator <ada@example.com>\nMove 10 Projects/Café Relaunch/Menü-Entwurf.md to 10 Projects/Café Relaunch/Speisekarte 2026.md"))
        #expect(try sb.gitOK(["log", "-1", "--format=%(trailers:key=Cairn-Operation,valueonly)"], cwd: v) == "move")
        let changed = try sb.gitLines(["-c", "core.quotePath=false", "diff", "--name-status", "-M", "HEAD~1", "HEAD"], cwd: v)
        #expect(changed.contains("R100\t10 Projects/Café Relaunch/Menü-Entwurf.md\t10 Projects/Café Relaunch/Speisekarte 2026.md"), "\(changed)")
        // The canvas names the note by its path.
        #expect(read(v, "10 Projects/Café Relaunch/Budget.canvas").contains(#"{"id":"a1","type":"file","file":"10 Projects/Café Relaunch/Speisekarte 2026.md","x":0"#))
        // Body links keep their display text, headings and embeds; property links in lists are updated too.
        #expect(read(v, "Home.md").contains("- Menu: [[Speisekarte 2026|draft menu]]"))
        let project = read(v, "10 Projects/Café Relaunch/Café Relaunch.md")
        #expect(project.contains("  - \"[[Speisekarte 2026]]\"\n"), "\(project)")
        #expect(project.contains("1. Menu draft: [[Speisekarte 2026#Drinks]]"), "\(project)")
        #expect(read(v, "Journal/Daily/2026/03/2026-03-02.md").contains("Embedded plan: ![[Speisekarte 2026#Drinks]]"))
        // The CRLF note keeps its CRLF line endings and its other bytes.
        let daily = read(v, "Journal/Daily/2026/03/2026-03-01.md")
        #expect(daily.contains("Worked on [[Café Relaunch#Timeline|the relaunch]] and [[Speisekarte 2026]].\r\n"), "\(daily)")
        // A link by alias follows the note without being rewritten; nothing else changed.
        #expect(Set(changed) == ["R100\t10 Projects/Café Relaunch/Menü-Entwurf.md\t10 Projects/Café Relaunch/Speisekarte 2026.md",
                                 "M\tHome.md", "M\t10 Projects/Café Relaunch/Café Relaunch.md", "M\t10 Projects/Café Relaunch/Budget.canvas",
                                 "M\tJournal/Daily/2026/03/2026-03-01.md", "M\tJournal/Daily/2026/03/2026-03-02.md"], "\(changed)")
        // The working tree follows, the old file is gone, and git sees no difference.
        #expect(!FileManager.default.fileExists(atPath: v + "/10 Projects/Café Relaunch/Menü-Entwurf.md"))
        #expect(try sb.gitOK(["status", "--porcelain"], cwd: v).isEmpty)
        #expect(sb.git(["fsck", "--strict"], cwd: v).status == 0)
        // Links resolve as before: the same counts, nothing newly unresolved.
        let after = try doctorLinks(sb, v)
        #expect(after["unresolved"] as? Int == before["unresolved"] as? Int, "\(before) → \(after)")
        #expect(after["brokenAnchors"] as? Int == 0, "\(after)")
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
    }

    @Test func movingAFolderRewritesPathLinksAndRelativeMarkdownLinks() throws {
        let sb = try Sandbox()
        let v = try adopted(sb)
        let r = sb.runCairn(["mv", "30 Resources/Books", "40 Archive/Reading", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let result = try json(r)
        #expect((result["moved"] as? [Any])?.count == 3, "\(result)")
        // Name links still resolve (the names did not change) and are left alone; path links and relative Markdown
        // links are rewritten in the vault's link format ("shortest": the name, unique here), percent-encoded.
        #expect(read(v, "Home.md").contains("- [[Thinking, Fast and Slow]] (excerpt: [[Kahneman excerpt.pdf#page=3]])"))
        #expect(read(v, "Home.md").contains("[Thinking](Thinking,%20Fast%20and%20Slow.md)"), "\(read(v, "Home.md"))")
        #expect(read(v, "Journal/Daily/2026/03/2026-03-01.md").contains("Reading: [Kahneman](Thinking,%20Fast%20and%20Slow.md)\r\n"))
        #expect(!FileManager.default.fileExists(atPath: v + "/30 Resources/Books"), "the emptied folder is removed")
        #expect(FileManager.default.fileExists(atPath: v + "/40 Archive/Reading/Kahneman excerpt.pdf"))
        #expect(try sb.gitOK(["status", "--porcelain"], cwd: v).isEmpty)
        let links = try doctorLinks(sb, v)
        #expect(links["unresolved"] as? Int == 1, "\(links)")
    }

    @Test func renamingAnAttachmentUpdatesEmbedsAndProperties() throws {
        let sb = try Sandbox()
        let v = try adopted(sb)
        let r = sb.runCairn(["mv", "10 Projects/Café Relaunch/assets/floor plan.png", "10 Projects/Café Relaunch/assets/Grundriss.png"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(read(v, "10 Projects/Café Relaunch/Café Relaunch.md").contains("![[Grundriss.png|400]]"))
        #expect(read(v, "Home.md").contains("banner: \"![[Grundriss.png]]\""), "\(read(v, "Home.md"))")
        #expect(r.stdout.contains("2 links in 2 notes"), "\(r)")
    }

    @Test func aNameThatBecomesAmbiguousIsWrittenAsAPath() throws {
        let sb = try Sandbox()
        let v = try adopted(sb)
        try sb.write(v + "/Archive/2025/Old/Sleep log.md", "# Old sleep log\n")
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        // `[[Sleep log]]` resolves to the Areas note (fewer folders than the archived one); moving it deeper hands the
        // name to the archived one, so the links are written as paths (Obsidian's "shortest path when possible").
        let r = sb.runCairn(["mv", "20 Areas/Health/Sleep log.md", "20 Areas/Health/Logs/2026/Sleep log.md"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(read(v, "Home.md").contains("- [[20 Areas/Health/Logs/2026/Sleep log]]"), "\(read(v, "Home.md"))")
        #expect(read(v, "Journal/Daily/2026/03/2026-03-01.md").contains("Slept badly: [[20 Areas/Health/Logs/2026/Sleep log]]."))
        #expect(read(v, "10 Projects/Café Relaunch/Café Relaunch.md").contains("  - \"[[20 Areas/Health/Logs/2026/Sleep log]]\"\n"))
        // Obsidian updates the links of templates too.
        #expect(read(v, "Templates/Project.md").hasSuffix("Log sleep in [[20 Areas/Health/Logs/2026/Sleep log]].\n"), "\(read(v, "Templates/Project.md"))")
        let links = try doctorLinks(sb, v)
        #expect(links["unresolved"] as? Int == 1, "\(links)")
    }

    @Test func pendingEditsAreCommittedFirstAndBadArgumentsWriteNothing() throws {
        let sb = try Sandbox()
        let v = try adopted(sb)
        try sb.write(v + "/00 Inbox/Quick capture.md", "- [ ] buy beans for [[Café Relaunch]]\n")
        let head = try sb.gitOK(["rev-parse", "HEAD"], cwd: v)
        for (args, message) in [(["mv", "nope.md", "x.md"], "no file or folder 'nope.md'"),
                                (["mv", "Home.md", "README.md"], "'README.md' already exists"),
                                (["mv", "Home.md", "../Home.md"], "outside the vault"),
                                (["mv", "Home.md", ".obsidian/Home.md"], "dot-folders")] {
            let r = sb.runCairn(args, cwd: v)
            #expect(r.status != 0, "\(args): \(r)")
            #expect(r.stderr.contains(message), "\(args): \(r)")
        }
        #expect(try sb.gitOK(["rev-parse", "HEAD"], cwd: v) == head, "bad arguments write nothing")
        let dry = sb.runCairn(["mv", "--dry-run", "10 Projects/Café Relaunch", "Café"], cwd: v)
        #expect(dry.status == 0 && dry.stdout.contains("dry run"), "\(dry)")
        #expect(try sb.gitOK(["rev-parse", "HEAD"], cwd: v) == head)
        let r = sb.runCairn(["mv", "10 Projects/Café Relaunch", "Café"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try sb.gitOK(["rev-list", "--count", "\(head)..HEAD"], cwd: v) == "2", "the pending edit, then the move")
        #expect(read(v, "00 Inbox/Quick capture.md") == "- [ ] buy beans for [[Café Relaunch]]\n", "a name link still leads there")
        #expect(try sb.gitOK(["show", "HEAD~1:00 Inbox/Quick capture.md"], cwd: v) == "- [ ] buy beans for [[Café Relaunch]]")
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
    }

    /// Every Obsidian property type and unknown keys, comments and quoting survive byte for byte: a move rewrites the
    /// link inside a property and nothing else of the front matter.
    @Test func propertiesAreKeptByteForByte() throws {
        let sb = try Sandbox()
        let v = try adopted(sb)
        let path = "10 Projects/Café Relaunch/Café Relaunch.md"
        let original = try #require(FileManager.default.contents(atPath: v + "/" + path))
        let r = sb.runCairn(["mv", "30 Resources/People/Renée Dubois.md", "30 Resources/People/Renée Dubois-Martin.md"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let expected = String(decoding: original, as: UTF8.self)
            .replacingOccurrences(of: "owner: \"[[Renée Dubois]]\"", with: "owner: \"[[Renée Dubois-Martin]]\"")
        #expect(expected != String(decoding: original, as: UTF8.self), "the fixture links the person from a property")
        let now = try #require(FileManager.default.contents(atPath: v + "/" + path))
        #expect(now == Data(expected.utf8))
        // What was committed is exactly what is on disk.
        #expect(try sb.gitOK(["hash-object", "--", path], cwd: v) == (try sb.gitOK(["rev-parse", "HEAD:" + path], cwd: v)))
        // A note the move did not concern is untouched, byte for byte, in the tree and on disk.
        let book = "30 Resources/Books/Thinking, Fast and Slow.md"
        #expect(FileManager.default.contents(atPath: v + "/" + book) == FileManager.default.contents(atPath: Self.fixture + "/" + book))
    }

    @Test func obsidianGitBackupCommitsAreTheOperatorsInAudit() throws {
        let sb = try Sandbox()
        let v = try adopted(sb)
        try sb.write(v + "/00 Inbox/Quick capture.md", "- [ ] new idea\n")
        try sb.commitAll(v, "vault backup: 2026-03-01 09:10:00")
        var audit = sb.runCairn(["audit", "--all", "--json"], cwd: v)
        #expect(audit.status == 0, "\(audit)")
        let entries = try #require(try json(audit)["entries"] as? [[String: Any]])
        let backup = try #require(entries.first { ($0["summary"] as? String ?? "").hasPrefix("vault backup: 2026-03-01") })
        #expect(backup["verdict"] as? String == "operator", "\(backup)")
        #expect((backup["reason"] as? String ?? "").contains("obsidian-git"), "\(backup)")
        // A pull the plugin merges (another device's backup commit, git's merge message) is the operator's too.
        let device = sb.work + "/device"
        try sb.gitOK(["clone", "-q", v, device], cwd: sb.work)
        try sb.write(device + "/20 Areas/Health/Sleep log.md", "#health\nslept well\n")
        try sb.commitAll(device, "vault backup: 2026-03-01 09:12:00")
        try sb.write(v + "/Home.md", read(v, "Home.md") + "\nmore\n")
        try sb.commitAll(v, "vault backup: 2026-03-01 09:13:00")
        try sb.gitOK(["pull", "-q", "--no-rebase", "--no-edit", device, "main"], cwd: v)
        #expect(try sb.gitOK(["log", "-1", "--format=%P"], cwd: v).split(separator: " ").count == 2)
        audit = sb.runCairn(["audit", "--all"], cwd: v)
        #expect(audit.status == 0, "\(audit)")
        #expect(audit.stdout.contains("merge of a pull by Obsidian's git plugin"), "\(audit)")
        // The plugin's message under another author, or a hand commit with another message, is not the operator's.
        try sb.write(v + "/Home.md", "# Home\n")
        try sb.gitOK(["add", "-A"], cwd: v)
        try sb.gitOK(["-c", "user.email=mallory@example.com", "commit", "-q", "-m", "vault backup: 2026-03-01 09:20:00"], cwd: v)
        audit = sb.runCairn(["audit"], cwd: v)
        #expect(audit.status == 1, "\(audit)")
        #expect(audit.stdout.contains("1 of"), "\(audit)")
    }

    /// Killed at a crash point of `cairn mv`: main has the whole move (files and links) or none of it, the next write
    /// brings the working tree along, and the operator's pending edit is kept. Run by `CrashMatrixTests`.
    func aKilledMoveIsAllOrNothing(_ point: CrashPoint) throws {
        let sb = try Sandbox()
        let v = try adopted(sb)
        try sb.write(v + "/00 Inbox/Quick capture.md", "- [ ] wip\n")
        let r = sb.runCairn(["mv", "10 Projects/Café Relaunch/Menü-Entwurf.md", "Speisekarte.md"], cwd: v, env: ["CAIRN_CRASH_AT": point.rawValue])
        #expect(r.signaled && r.status == 9, "expected SIGKILL at \(point): \(r)")
        #expect(sb.git(["fsck", "--strict"], cwd: v).status == 0)
        let snap = sb.runCairn(["snapshot"], cwd: v)
        #expect(snap.status == 0, "\(snap)")
        #expect(try sb.gitOK(["status", "--porcelain", "-uall"], cwd: v).isEmpty)
        let moved = sb.git(["cat-file", "-e", "main:Speisekarte.md"], cwd: v).status == 0
        #expect(moved == (point != .moveBeforeRef), "\(point)")
        #expect((sb.git(["cat-file", "-e", "main:10 Projects/Café Relaunch/Menü-Entwurf.md"], cwd: v).status == 0) == !moved)
        #expect(try sb.gitOK(["show", "main:Home.md"], cwd: v).contains(moved ? "[[Speisekarte|draft menu]]" : "[[Menü-Entwurf|draft menu]]"))
        #expect(FileManager.default.fileExists(atPath: v + "/Speisekarte.md") == moved)
        #expect(try sb.gitOK(["show", "main:00 Inbox/Quick capture.md"], cwd: v) == "- [ ] wip")
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
    }

    @Test func dailyNotesAndNewNotesGoWhereObsidianPutsThem() throws {
        let sb = try Sandbox()
        let v = try adopted(sb)
        // Today (CAIRN_NOW, 2026-03-01) already has its note: returned, never overwritten.
        let fixtureDaily = read(v, "Journal/Daily/2026/03/2026-03-01.md")
        var r = sb.runCairn(["note", "daily", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try json(r)["path"] as? String == "Journal/Daily/2026/03/2026-03-01.md")
        #expect(try json(r)["created"] as? Bool == false)
        #expect(read(v, "Journal/Daily/2026/03/2026-03-01.md") == fixtureDaily)
        // Two days later: the nested folder from the format, the template with {{date}} and {{date:dddd}} filled in,
        // Templater's command left for Templater.
        r = sb.runCairn(["note", "daily"], cwd: v, env: ["CAIRN_NOW": "2026-03-03T07:30:00Z"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("Created Journal/Daily/2026/03/2026-03-03.md"), "\(r)")
        #expect(read(v, "Journal/Daily/2026/03/2026-03-03.md")
                == "---\ncreated: 2026-03-03\ntags: daily\n---\n# Tuesday\n\nYesterday: [[<% tp.date.now(\"YYYY-MM-DD\", -1) %>]]\n")
        // New notes go to the vault's "Folder to create new notes in", unless a tier is asked for.
        r = sb.runCairn(["note", "new", "Call Renée", "--no-edit", "--json"], cwd: v)
        let inbox = try #require(try json(r)["path"] as? String, "\(r)")
        #expect(inbox.hasPrefix("00 Inbox/"), "\(inbox)")
        r = sb.runCairn(["note", "new", "Pricing", "--tier", "knowledge", "--no-edit", "--json"], cwd: v)
        #expect((try json(r)["path"] as? String)?.hasPrefix("memory/knowledge/") == true, "\(r)")
        #expect(sb.runCairn(["snapshot"], cwd: v).status == 0)
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
    }

    @Test func aVaultWithoutObsidianSettingsGetsCairnsDailyNote() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let r = sb.runCairn(["note", "daily", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try json(r)["path"] as? String == "memory/working/2026-03-01.md")
        #expect(read(v, "memory/working/2026-03-01.md").contains("tier: working"))
    }

    /// Canvas text cards hold Markdown: their links are rewritten on a move like a note's, resolved from the canvas
    /// file, and the changed card string is written as Obsidian writes JSON; file cards and every other byte stay.
    @Test func canvasTextCardsHaveTheirLinksRewritten() throws {
        let sb = try Sandbox()
        let v = try sb.makeGitRepo("cards")
        try sb.write(v + "/Plan.md", "# Plan\n\n## Goals\n- ship\n")
        try sb.write(v + "/Other.md", "# Other\n")
        let canvas = #"""
            {
            	"nodes":[
            		{"id":"f1","type":"file","file":"Plan.md","x":0,"y":0,"width":400,"height":400},
            		{"id":"t1","type":"text","text":"Next: [[Plan]] and ![[Plan#Goals|goals]]\n\"quoted\" — [plan](Plan.md), [[Other]]","x":500,"y":0,"width":250,"height":60},
            		{"id":"t2","type":"text","text":"Nothing to change: [[Other]] / [[Someday]]","x":500,"y":100,"width":250,"height":60}
            	],
            	"edges":[]
            }
            """#
        try sb.write(v + "/Boards/Board.canvas", canvas)
        try sb.commitAll(v, "vault backup: 2026-02-28 21:14:03")
        #expect(sb.runCairn(["init", v]).status == 0)
        let r = sb.runCairn(["mv", "Plan.md", "Projects/Road Map.md", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        let expected = canvas
            .replacingOccurrences(of: #""file":"Plan.md""#, with: #""file":"Projects/Road Map.md""#)
            .replacingOccurrences(of: #"Next: [[Plan]] and ![[Plan#Goals|goals]]\n\"quoted\" — [plan](Plan.md), [[Other]]"#,
                                  with: #"Next: [[Road Map]] and ![[Road Map#Goals|goals]]\n\"quoted\" — [plan](Road%20Map.md), [[Other]]"#)
        #expect(expected != canvas)
        #expect(read(v, "Boards/Board.canvas") == expected, "\(read(v, "Boards/Board.canvas"))")
        let links = (try json(r)["links"] as? [[String: Any]] ?? []).map { "\($0["path"] ?? ""):\($0["line"] ?? "") \($0["old"] ?? "") -> \($0["new"] ?? "")" }
        #expect(links == ["Boards/Board.canvas:3 Plan.md -> Projects/Road Map.md", "Boards/Board.canvas:4 Plan -> Road Map",
                          "Boards/Board.canvas:4 Plan -> Road Map", "Boards/Board.canvas:4 Plan.md -> Road%20Map.md"], "\(links)")
        #expect(try sb.gitOK(["status", "--porcelain"], cwd: v).isEmpty)
        #expect(sb.git(["fsck", "--strict"], cwd: v).status == 0)
    }
}
