import Foundation
import Testing

/// `cairn note new`: a note with front matter in its tier's folder, never clobbering one that exists.
@Suite struct NoteTests {
    private let args = ["note", "new", "Quarterly Plan: Q3", "--tier", "projects", "--tag", "planning", "--tag", "q3", "--no-edit"]

    /// The front matter as PyYAML reads it: an independent YAML parser as the judge.
    private func frontMatter(_ sb: Sandbox, _ path: String) throws -> [String: Any] {
        let script = """
        import json, sys, yaml
        text = open(sys.argv[1], encoding='utf-8').read()
        assert text.startswith('---\\n'), 'no front matter'
        block = text[4:text.index('\\n---\\n', 3)]
        print(json.dumps(yaml.safe_load(block), default=str))
        """
        let r = sb.run("/usr/bin/env", ["python3", "-c", script, path], cwd: sb.work, env: sb.environment())
        try #require(r.status == 0, "PyYAML could not read the front matter: \(r)")
        return try jsonObject(r.stdoutData)
    }

    @Test func newNoteGoesToTheTierFolderWithParseableFrontMatter() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let r = sb.runCairn(args, cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "Created memory/projects/quarterly-plan-q3.md\n", "\(r)")
        let path = v + "/memory/projects/quarterly-plan-q3.md"
        let fm = try frontMatter(sb, path)
        #expect(fm["title"] as? String == "Quarterly Plan: Q3")
        #expect(fm["tier"] as? String == "projects")
        #expect(fm["tags"] as? [String] == ["planning", "q3"])
        #expect(fm["created"] as? String == "2026-03-01")
        #expect(sb.readText(path)?.contains("\n# Quarterly Plan: Q3\n") == true)

        // Cairn's own validation accepts it: a snapshot without --force commits it.
        let s = sb.runCairn(["snapshot"], cwd: v)
        #expect(s.status == 0, "\(s)")
        #expect(try sb.gitOK(["log", "-1", "--format=%s"], cwd: v) == "Add memory/projects/quarterly-plan-q3.md")
    }

    @Test func secondIdenticalNoteGetsASuffixAndTheFirstIsUntouched() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        #expect(sb.runCairn(args, cwd: v).status == 0)
        let first = v + "/memory/projects/quarterly-plan-q3.md"
        try sb.write(first, (sb.readText(first) ?? "") + "My own words.\n")
        let content = sb.read(first), mtime = modificationTime(first)

        let r = sb.runCairn(args, cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout == "Created memory/projects/quarterly-plan-q3-2.md\n", "\(r)")
        #expect(sb.read(first) == content, "the first note was clobbered")
        #expect(modificationTime(first) == mtime)
        #expect(try frontMatter(sb, v + "/memory/projects/quarterly-plan-q3-2.md")["title"] as? String == "Quarterly Plan: Q3")
    }

    @Test func unknownTierIsAUsageErrorNamingTheTiers() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let before = sb.state(of: v)
        let r = sb.runCairn(["note", "new", "Plan", "--tier", "someday", "--no-edit"], cwd: v)
        #expect(r.status == 2, "\(r)")
        #expect(r.stderr.contains("unknown tier 'someday'"), "\(r)")
        #expect(r.stderr.contains("core, working, projects, knowledge, inbox"), "\(r)")
        sb.expectUnchanged(v, since: before)
    }

    @Test func defaultTierIsWorkingAndJSONGivesThePath() throws {
        let sb = try Sandbox()
        let v = try sb.makeVault()
        let r = sb.runCairn(["note", "new", "Call the roaster", "--no-edit", "--json"], cwd: v)
        #expect(r.status == 0, "\(r)")
        #expect(try jsonObject(r.stdoutData)["path"] as? String == "memory/working/call-the-roaster.md")
        #expect(try frontMatter(sb, v + "/memory/working/call-the-roaster.md")["tier"] as? String == "working")
    }
}
