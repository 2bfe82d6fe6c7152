import Foundation
import Testing

/// A proposal that renames or moves a note carries the link updates in its own commit, as Obsidian's "Automatically
/// update internal links" and `cairn mv` do (`links.update_on_rename` in policy.json): links by name, by path, embeds,
/// relative Markdown links and property links, in notes outside the agent's `writes:`, but never in protected ones.
@Suite struct ObsidianProposalLinksTests {
    /// A vault with a project note, a knowledge note outside the agent's scope that links to it every way Obsidian
    /// allows, and the agent `rename` (its definition, protected, names the note too) that renames the note and adds
    /// a line to it (so the rename is found by similarity, as `git diff -M` finds it).
    func vault(_ sb: Sandbox) throws -> String {
        let v = try sb.makeVault()
        try sb.write(v + "/memory/projects/acme-launch.md", """
            # Acme launch

            ## Timeline
            - March: soft launch
            - April: press
            - May: first invoices

            """)
        try sb.write(v + "/memory/knowledge/launch-links.md", """
            ---
            related: "[[acme-launch]]"
            ---
            By name: [[acme-launch]]
            By path: [[memory/projects/acme-launch|the launch]]
            Embed: ![[acme-launch#Timeline]]
            Markdown: [launch](../projects/acme-launch.md)
            Unrelated: [[pricing]] stays.

            """)
        try sb.addAgent(v, "rename", frontMatter: """
            kind: command
            command: ["sh", "agents/rename.sh"]
            reads: ["memory/projects/**"]
            writes: ["memory/projects/**"]
            timeout: 30s
            """, body: "Renames [[acme-launch]] to a dated name.\n", files: ["agents/rename.sh": """
            set -e
            mv memory/projects/acme-launch.md "memory/projects/Acme Launch 2026.md"
            printf -- '- June: review\\n' >> "memory/projects/Acme Launch 2026.md"
            echo "summary: give the Acme launch note a dated name"
            """])
        return v
    }

    func read(_ vault: String, _ path: String) -> String {
        FileManager.default.contents(atPath: vault + "/" + path).map { String(decoding: $0, as: UTF8.self) } ?? "<missing \(path)>"
    }

    @Test func aRenameInAProposalUpdatesTheLinksInTheSameCommitAndApprovalMergesThem() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        let linksBefore = read(v, "memory/knowledge/launch-links.md")
        let run = try sb.runAgent(v, "rename")
        #expect(run.outcome == "proposed", "\(run)")
        // The proposal commit: the rename (with the agent's edit), the rewritten links outside the agent's scope, the
        // run record — and not the protected agent definition.
        let changed = try sb.gitLines(["show", "--format=", "--name-status", "-M", run.commit], cwd: v)
        #expect(changed.contains { $0.hasPrefix("R") && $0.hasSuffix("\tmemory/projects/acme-launch.md\tmemory/projects/Acme Launch 2026.md") }, "\(changed)")
        #expect(changed.contains("M\tmemory/knowledge/launch-links.md"), "\(changed)")
        #expect(!changed.contains { $0.contains("agents/") }, "\(changed)")
        #expect(changed.count == 3, "\(changed)")
        let proposed = try sb.gitOK(["show", "\(run.commit):memory/knowledge/launch-links.md"], cwd: v)
        #expect(proposed == """
            ---
            related: "[[Acme Launch 2026]]"
            ---
            By name: [[Acme Launch 2026]]
            By path: [[Acme Launch 2026|the launch]]
            Embed: ![[Acme Launch 2026#Timeline]]
            Markdown: [launch](Acme%20Launch%202026.md)
            Unrelated: [[pricing]] stays.
            """, "\(proposed)")
        // The commit message and the run record name every link update; the link left in the protected definition
        // is a reason to review.
        let message = try sb.gitOK(["log", "-1", "--format=%B", run.commit], cwd: v)
        #expect(message.contains("Links updated: 5 in 1 note\n  memory/knowledge/launch-links.md:2: acme-launch -> Acme Launch 2026"), "\(message)")
        let record = try sb.runRecord(v, rev: run.commit, id: run.id)
        let links = try #require(record["links"] as? [[String: Any]], "\(record)")
        #expect(links.map { "\($0["line"] ?? ""):\($0["old"] ?? "")->\($0["new"] ?? "")" } == [
            "2:acme-launch->Acme Launch 2026", "4:acme-launch->Acme Launch 2026", "5:memory/projects/acme-launch->Acme Launch 2026",
            "6:acme-launch->Acme Launch 2026", "7:../projects/acme-launch.md->Acme%20Launch%202026.md"], "\(links)")
        let review = ((run.json["needsReview"] as? [[String: Any]]) ?? []).map { "\($0["rule"] ?? ""):\($0["path"] ?? "")" }
        #expect(review == ["links:agents/rename.md"], "\(run.json)")
        // Nothing reached main or the working tree yet.
        #expect(read(v, "memory/knowledge/launch-links.md") == linksBefore)
        let shown = sb.runCairn(["review", run.id], cwd: v)
        #expect(shown.status == 0, "\(shown)")
        #expect(shown.stdout.contains("Links updated: 5 in 1 note"), "\(shown)")
        #expect(shown.stdout.contains("memory/knowledge/launch-links.md:5  memory/projects/acme-launch -> Acme Launch 2026"), "\(shown)")
        #expect(shown.stdout.contains("Needs review: 1 link here to a renamed file left as it was"), "\(shown)")

        // Approval merges the link updates with the rename.
        let approve = sb.runCairn(["approve", run.id], cwd: v)
        #expect(approve.status == 0, "\(approve)")
        #expect(read(v, "memory/knowledge/launch-links.md") == proposed + "\n")
        #expect(!FileManager.default.fileExists(atPath: v + "/memory/projects/acme-launch.md"))
        #expect(read(v, "memory/projects/Acme Launch 2026.md").hasSuffix("- June: review\n"))
        #expect(try sb.gitOK(["show", "main:memory/knowledge/launch-links.md"], cwd: v) == proposed)
        #expect(read(v, "agents/rename.md").contains("Renames [[acme-launch]]"), "protected: left as it was")
        #expect(try sb.gitOK(["status", "--porcelain"], cwd: v).isEmpty)
        #expect(sb.git(["fsck", "--strict"], cwd: v).status == 0)
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
        // Every link of the knowledge note resolves on main.
        let unresolved = sb.runCairn(["links", "--unresolved", "--json"], cwd: v)
        #expect(!unresolved.stdout.contains("launch-links.md"), "\(unresolved)")
    }

    /// A link written on main after the agent ran, to the note the proposal renames, is updated when it is approved.
    @Test func linksWrittenMeanwhileAreUpdatedOnApproval() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        let run = try sb.runAgent(v, "rename")
        #expect(run.outcome == "proposed", "\(run)")
        try sb.write(v + "/memory/working/later.md", "Later: [[acme-launch]] and ![[acme-launch#Timeline]]\n")
        try sb.snapshot(v, "a note written while the proposal waits")
        let approve = sb.runCairn(["approve", run.id], cwd: v)
        #expect(approve.status == 0, "\(approve)")
        #expect(read(v, "memory/working/later.md") == "Later: [[Acme Launch 2026]] and ![[Acme Launch 2026#Timeline]]\n")
        #expect(try sb.gitOK(["show", "main:memory/working/later.md"], cwd: v) == "Later: [[Acme Launch 2026]] and ![[Acme Launch 2026#Timeline]]")
        let message = try sb.gitOK(["log", "-1", "--format=%B", "main"], cwd: v)
        #expect(message.contains("Links updated on approval (written on main since the proposal's base): 2 in 1 note"), "\(message)")
        // The links the proposal itself updated are merged as they were.
        #expect(read(v, "memory/knowledge/launch-links.md").contains("By name: [[Acme Launch 2026]]"))
        #expect(try sb.gitOK(["status", "--porcelain"], cwd: v).isEmpty)
        #expect(sb.git(["fsck", "--strict"], cwd: v).status == 0)
        #expect(sb.runCairn(["audit"], cwd: v).status == 0)
    }

    @Test func thePolicySwitchLeavesLinksAsTheyAre() throws {
        let sb = try Sandbox()
        let v = try vault(sb)
        let policy = read(v, "policy.json").replacingOccurrences(of: #""update_on_rename": true"#, with: #""update_on_rename": false"#)
        #expect(policy.contains(#""update_on_rename": false"#))
        try sb.write(v + "/policy.json", policy)
        try sb.snapshot(v, "links stay as they are")
        let run = try sb.runAgent(v, "rename")
        #expect(run.outcome == "proposed", "\(run)")
        let changed = try sb.gitLines(["show", "--format=", "--name-only", run.commit], cwd: v)
        #expect(!changed.contains("memory/knowledge/launch-links.md"), "\(changed)")
        #expect(!(try sb.gitOK(["log", "-1", "--format=%B", run.commit], cwd: v)).contains("Links updated"))
        #expect(try sb.runRecord(v, rev: run.commit, id: run.id)["links"] == nil)
        #expect((run.json["needsReview"] as? [Any])?.isEmpty == true, "\(run.json)")
    }
}
