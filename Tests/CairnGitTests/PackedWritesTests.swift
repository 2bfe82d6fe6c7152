import Foundation
import Testing
@testable import CairnGit

/// `PackedWrites`: the objects of a large change reach the disk as one pack that git accepts (`verify-pack`,
/// `fsck --strict`), a small change as loose objects, and nothing before `save`.
@Suite struct PackedWritesTests {
    /// A commit on `main`'s tip adding `count` notes (one folder of them, so one large tree), written through `w`.
    private func commitNotes(_ t: TestRepo, _ w: PackedWrites, count: Int, parent: OID?) throws -> OID {
        var changes: [TreeChange] = []
        for i in 0..<count {
            let text = "---\ntitle: Note \(i)\n---\n\n" + String(repeating: "Line \(i) of a note about quotes and invoices.\n", count: 20)
            changes.append(.upsert(path: "inbox/mail/2026/03/note-\(String(format: "%05d", i)).md", oid: try w.writeBlob(Data(text.utf8)), mode: TreeChange.fileMode))
        }
        changes.append(.upsert(path: "empty.md", oid: try w.writeBlob(Data()), mode: TreeChange.fileMode))
        let base = try parent.map { try t.repo.commit($0).tree }
        let tree = try w.repository.updateTree(base: base, changes: changes)
        return try w.repository.createCommit(tree: tree, parents: parent.map { [$0] } ?? [], author: TestRepo.signature,
                                             committer: TestRepo.signature, message: "Add \(count) notes\n")
    }

    private func looseObjects(_ t: TestRepo) -> Int {
        let objects = t.repo.objectsDirectory
        return ((try? FileManager.default.contentsOfDirectory(atPath: objects)) ?? []).filter { $0.count == 2 }
            .reduce(0) { $0 + ((try? FileManager.default.contentsOfDirectory(atPath: objects + $1)) ?? []).count }
    }

    private func packs(_ t: TestRepo) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: t.repo.objectsDirectory + "pack")) ?? []).sorted()
    }

    @Test func aLargeChangeIsOnePackThatGitAccepts() throws {
        let t = try TestRepo()
        try t.write("readme.md", "hello\n")
        let first = try t.commitAllWithCLI("first")
        let loose = looseObjects(t)
        let w = try PackedWrites(t.repo)
        // 1,500 notes: a folder tree of about 70 KB (over the size written loose by cairn's own writer).
        let commit = try commitNotes(t, w, count: 1500, parent: first)
        #expect(try !t.repo.contains(commit), "nothing on disk before save")
        #expect(packs(t).isEmpty && looseObjects(t) == loose)

        let name = try #require(try w.save(commit))
        #expect(looseObjects(t) == loose, "no loose object was written")
        #expect(packs(t) == [name + ".idx", name + ".pack"])
        // git reads the pack: every object verifies, and the pack holds exactly the new objects.
        let verify = try t.gitRaw(["verify-pack", "-v", t.repo.objectsDirectory + "pack/" + name + ".idx"])
        #expect(verify.contains("ok"), "\(verify)")
        let packed = verify.split(separator: "\n").filter { $0.count > 40 && $0.prefix(40).allSatisfy(\.isHexDigit) }
        #expect(packed.count == 1500 + 1 + 5 + 1, "1,500 blobs, the empty blob, 5 trees, the commit: \(packed.count)")
        try t.git("update-ref", "refs/heads/main", commit.hex)
        t.expectFsckClean()
        #expect(try t.git("cat-file", "-p", "main:inbox/mail/2026/03/note-01499.md").contains("Line 1499 of a note"))
        #expect(try t.git("rev-list", "--count", "main") == "2")
        // And so does libgit2, through the handle that wrote nothing itself.
        let entry = try #require(try t.repo.entry(at: "inbox/mail/2026/03/note-00007.md", in: t.repo.commit(commit).tree))
        #expect(String(decoding: try t.repo.blob(entry.oid), as: UTF8.self).hasPrefix("---\ntitle: Note 7\n"))

        // A second large change on top: a second pack with only what is new.
        let w2 = try PackedWrites(t.repo)
        let blob = try w2.repository.writeBlob(Data(String(repeating: "x\n", count: 10).utf8))
        var changes: [TreeChange] = []
        for i in 0..<200 { changes.append(.upsert(path: "more/n\(i).md", oid: try w2.repository.writeBlob(Data("n\(i)\n".utf8)), mode: TreeChange.fileMode)) }
        changes.append(.upsert(path: "more/x.md", oid: blob, mode: TreeChange.fileMode))
        let tree = try w2.repository.updateTree(base: try t.repo.commit(commit).tree, changes: changes)
        let second = try w2.repository.createCommit(tree: tree, parents: [commit], author: TestRepo.signature, committer: TestRepo.signature, message: "More\n")
        let name2 = try #require(try w2.save(second))
        let verify2 = try t.gitRaw(["verify-pack", "-v", t.repo.objectsDirectory + "pack/" + name2 + ".idx"])
        let packed2 = verify2.split(separator: "\n").filter { $0.count > 40 && $0.prefix(40).allSatisfy(\.isHexDigit) }
        #expect(packed2.count == 201 + 2 + 1, "201 blobs, the root and more/ trees, the commit: \(packed2.count)")
        try t.git("update-ref", "refs/heads/main", second.hex)
        t.expectFsckClean()
    }

    @Test func aSmallChangeIsWrittenLoose() throws {
        let t = try TestRepo()
        try t.write("readme.md", "hello\n")
        let first = try t.commitAllWithCLI("first")
        let loose = looseObjects(t)
        let w = try PackedWrites(t.repo)
        let commit = try commitNotes(t, w, count: 3, parent: first)
        #expect(try w.save(commit) == nil)
        #expect(packs(t).isEmpty)
        // 3 notes, the empty blob, 5 trees, the commit.
        #expect(looseObjects(t) == loose + 3 + 1 + 5 + 1)
        try t.git("update-ref", "refs/heads/main", commit.hex)
        t.expectFsckClean()
    }

    @Test func objectsAlreadyOnDiskAreNotPackedAgain() throws {
        let t = try TestRepo()
        let w = try PackedWrites(t.repo)
        let commit = try commitNotes(t, w, count: 150, parent: nil)
        let name = try #require(try w.save(commit))
        // The same commit again (same objects): nothing new to write.
        let again = try PackedWrites(t.repo)
        #expect(try commitNotes(t, again, count: 150, parent: nil) == commit)
        #expect(try again.save(commit) == nil)
        #expect(packs(t) == [name + ".idx", name + ".pack"])
    }
}
