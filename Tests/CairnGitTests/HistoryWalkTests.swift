import Foundation
import Testing
@testable import CairnGit

/// `DateOrderWalk` and `PathLookup`, judged against the git CLI (`git log`, `git rev-parse`).
@Suite struct HistoryWalkTests {
    func drain(_ walk: DateOrderWalk) throws -> [OID] {
        var out: [OID] = []
        while let (oid, _) = try walk.next() { out.append(oid) }
        return out
    }

    @Test func dateOrderIsGitLogsOrderThroughAMerge() throws {
        let (t, c) = try RevWalkTests().mergeHistory()
        let git = try t.gitRaw(["log", "--format=%H", "main"]).lines.compactMap { OID(hex: $0) }
        let ours = try drain(DateOrderWalk(t.repo, from: [c["c5"]!]))
        #expect(ours == git)
        #expect(Set(ours).count == ours.count, "a commit came twice")
        #expect(ours.count == 6)
    }

    @Test func dateOrderWithClockSkewMatchesGitLog() throws {
        let t = try TestRepo()
        let c1 = try t.commit(["a.md": "1\n"])
        // A commit dated before its parent (a machine with a slow clock), then a normal one.
        let early = Signature(name: TestRepo.name, email: TestRepo.email, time: Date(timeIntervalSince1970: TestRepo.epoch - 3600), offsetMinutes: 0)
        let tree = try t.repo.updateTree(base: try t.repo.commit(c1).tree,
                                         changes: [.upsert(path: "a.md", oid: try t.repo.writeBlob(Data("2\n".utf8)), mode: TreeChange.fileMode)])
        let skewed = try t.repo.createCommit(tree: tree, parents: [c1], author: early, committer: early, message: "skewed\n")
        try t.repo.updateReference("refs/heads/main", to: skewed, expected: c1, message: "skew")
        let c3 = try t.commit(["a.md": "3\n"])
        let git = try t.gitRaw(["log", "--format=%H", "main"]).lines.compactMap { OID(hex: $0) }
        #expect(try drain(DateOrderWalk(t.repo, from: [c3])) == git)
    }

    @Test func firstCommitsComeWithoutReadingTheWholeHistory() throws {
        let t = try TestRepo()
        var last: OID? = nil
        for i in 0..<30 { last = try t.commit(["a.md": "\(i)\n"]) }
        // The oldest commit is made unreadable: a walk that read everything first would fail at once.
        let oldest = try #require(try t.gitRaw(["rev-list", "--max-parents=0", "main"]).lines.first.flatMap { OID(hex: $0) })
        let file = "\(t.path)/.git/objects/\(oldest.hex.prefix(2))/\(oldest.hex.dropFirst(2))"
        try FileManager.default.removeItem(atPath: file)
        let walk = try DateOrderWalk(Repository(at: t.path), from: [try #require(last)])
        for _ in 0..<20 { #expect(try walk.next() != nil) }
        #expect(throws: GitError.self) { while try walk.next() != nil {} }
    }

    @Test func pathLookupAgreesWithGitInEveryCommit() throws {
        let t = try TestRepo()
        var commits: [OID] = []
        commits.append(try t.commit(["memory/projects/acme/a.md": "a\n", "inbox/x.md": "x\n"]))
        commits.append(try t.commit(["memory/projects/acme/a.md": "a2\n"]))
        commits.append(try t.commit(["inbox/x.md": nil, "inbox/y.md": "y\n"]))
        commits.append(try t.commit(["memory/projects/acme/a.md": nil]))
        commits.append(try t.commit(["memory/projects/acme/a.md": "back\n", "memory/projects/b.md": "b\n"]))
        for path in ["memory/projects/acme/a.md", "memory/projects/acme", "inbox/x.md", "memory/projects/b.md", "missing.md",
                     "inbox/x.md/deeper"] {
            let lookup = PathLookup(t.repo, path: path)
            for commit in commits {
                let expected = OID(hex: t.run(["rev-parse", "--verify", "--quiet", "\(commit.hex):\(path)"]).stdout
                    .trimmingCharacters(in: .whitespacesAndNewlines))
                let tree = try t.repo.commit(commit).tree
                #expect(try lookup.oid(in: tree) == expected, "\(path) in \(commit)")
            }
        }
        #expect(try PathLookup(t.repo, path: "").oid(in: t.repo.commit(commits[0]).tree) == t.repo.commit(commits[0]).tree)
    }

    /// `changedFiles` as a path list gives libgit2's diff exactly the deltas of the full diff, with or without a
    /// path filter, through edits, a rename, a mode change, a file that became a folder and an empty commit; and
    /// where no file changed type its list is `git diff-tree -r`'s.
    @Test func changedFilesNarrowTheDiffWithoutChangingIt() throws {
        let t = try TestRepo()
        try t.write("memory/a.md", "a\n"); try t.write("memory/deep/b.md", "b\n"); try t.write("inbox/x.md", "x\nsome lines\n")
        try t.write("notes", "a file for now\n"); try t.write("run.sh", "echo\n")
        var commits = [try t.commitAllWithCLI("one")]
        try t.write("memory/a.md", "a2\n")
        commits.append(try t.commitAllWithCLI("edit"))
        try t.git("mv", "inbox/x.md", "inbox/y.md")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: t.path + "/run.sh")
        commits.append(try t.commitAllWithCLI("rename and mode"))
        try t.delete("notes"); try t.write("notes/inner.md", "now a folder\n"); try t.delete("memory/deep/b.md")
        commits.append(try t.commitAllWithCLI("file to folder"))
        commits.append(try t.commitAllWithCLI("empty"))
        func deltas(_ diff: Diff) -> [String] {
            diff.deltas(checkingBinary: false).map { "\($0.kind) \($0.oldPath) \($0.newPath) \($0.oldOID) \($0.newOID)" }
        }
        var listed = 0
        for (i, commit) in commits.enumerated() {
            let old = try i == 0 ? nil : t.repo.commit(commits[i - 1]).tree, new = try t.repo.commit(commit).tree
            for path in ["", "memory", "memory/a.md", "inbox", "notes", "run.sh", "missing"] {
                var full = DiffOptions()
                full.paths = path.isEmpty ? [] : [path]
                let expected = deltas(try t.repo.diff(from: old, to: new, options: full))
                let changed = try #require(try t.repo.changedFiles(from: old, to: new, under: path))
                listed += changed.count
                if changed.isEmpty {
                    #expect(expected.isEmpty, "commit \(i), \(path)")
                    continue
                }
                var narrow = DiffOptions()
                narrow.paths = changed
                #expect(deltas(try t.repo.diff(from: old, to: new, options: narrow)) == expected, "commit \(i), \(path)")
                if i != 3 {
                    let git = try t.gitRaw(["diff-tree", "-r", "--no-renames", "--name-only", "--root", commit.hex, "--"] + (path.isEmpty ? [] : [path]))
                    #expect(changed == git.lines.filter { !$0.isEmpty && $0 != commit.hex }, "commit \(i), \(path)")
                }
            }
        }
        #expect(listed > 10)
    }
}
