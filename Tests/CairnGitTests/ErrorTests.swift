import Foundation
import Testing
@testable import CairnGit

@Suite struct ErrorTests {
    @Test func openingANonRepositoryThrowsWithMessageAndFunction() throws {
        let t = try TestRepo()
        let plain = t.root + "/plain"
        try FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: true)
        let error = #expect(throws: GitError.self) { _ = try Repository(at: plain) }
        #expect(error?.code == GitError.notFound.rawValue)
        #expect(error?.function == "git_repository_open_ext")
        #expect(error?.message.isEmpty == false)
        #expect(error?.message.contains(plain) == true)
        #expect(error?.errorClass != 0)
        #expect(error.map { "\($0)" } == error?.message) // description is the message
    }

    @Test func catchByCodePatternWorks() throws {
        let t = try TestRepo()
        var caught = ""
        do {
            _ = try Repository(at: t.root + "/does/not/exist")
        } catch GitError.exists {
            caught = "exists"
        } catch GitError.notFound {
            caught = "notFound"
        } catch {
            caught = "other: \(error)"
        }
        #expect(caught == "notFound")
    }

    @Test func codePatternDoesNotMatchOtherErrors() {
        struct Unrelated: Error {}
        #expect(!(GitError.notFound ~= Unrelated()))
        #expect(GitError.modified ~= GitError(code: GitError.modified.rawValue, message: "m", function: "f"))
        #expect(!(GitError.modified ~= GitError(code: GitError.exists.rawValue, message: "m", function: "f")))
    }

    @Test func errorsDoNotLeakIntoLaterCalls() throws {
        let t = try TestRepo()
        _ = try? Repository(at: t.root + "/nowhere")
        // A later failure carries its own message, not the stale one.
        let missing = try #require(OID(hex: String(repeating: "0", count: 39) + "1"))
        let error = #expect(throws: GitError.self) { _ = try t.repo.commit(missing) }
        #expect(error?.function == "git_commit_lookup")
        #expect(error?.message.contains("nowhere") == false)
        // And a later success does not throw.
        #expect(try t.repo.configString("cairn.none") == nil)
    }

    @Test func corruptLooseObjectIsAnErrorNotACrash() throws {
        let t = try TestRepo()
        let commit = try t.commit(["a.md": "a\n"])
        let file = "\(t.path)/.git/objects/\(commit.hex.prefix(2))/\(commit.hex.dropFirst(2))"
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        try Data("this is not zlib".utf8).write(to: URL(fileURLWithPath: file))
        #expect(t.run(["fsck", "--strict"]).status != 0) // git agrees the object is corrupt
        let fresh = try Repository(at: t.path)
        #expect(throws: GitError.self) { _ = try fresh.commit(commit) }
        #expect(throws: GitError.self) { _ = try fresh.resolveCommit("HEAD") }
        let walk = try RevWalk(fresh)
        #expect(throws: GitError.self) { try walk.push(commit); while try walk.next() != nil {} }
        let check = try fresh.verifyReachableObjects(from: [commit])
        #expect(!check.broken.isEmpty)
    }

    /// Cuts the loose object `oid` to half its bytes, as a crash or a full disk can.
    private func truncateLooseObject(_ oid: OID, in t: TestRepo, keeping fraction: Double = 0.5) throws {
        let file = "\(t.path)/.git/objects/\(oid.hex.prefix(2))/\(oid.hex.dropFirst(2))"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file)
        try bytes.prefix(Int(Double(bytes.count) * fraction)).write(to: URL(fileURLWithPath: file))
    }

    // libgit2 1.5.1 loops forever inflating a truncated loose object (libgit2/libgit2#7342): the loose-object
    // check in front of its loose backend turns that into an error on every read path.
    @Test func truncatedBlobObjectIsAnError() throws {
        let t = try TestRepo()
        let blob = try t.repo.writeBlob(Data(String(repeating: "content ", count: 1000).utf8))
        try truncateLooseObject(blob, in: t)
        let fresh = try Repository(at: t.path)
        let error = #expect(throws: GitError.self) { _ = try fresh.blob(blob) }
        #expect(error?.message.contains("loose object \(blob.hex) is corrupt") == true)
        #expect(error?.message.contains("truncated") == true)
        #expect(t.run(["cat-file", "-p", blob.hex]).status != 0)
    }

    @Test func truncatedCommitIsAnErrorForLookupsAndWalks() throws {
        let t = try TestRepo()
        let first = try t.commit(["a.md": "a\n"])
        let second = try t.commit(["a.md": "b\n"], message: String(repeating: "a long message ", count: 40))
        try truncateLooseObject(second, in: t)
        let fresh = try Repository(at: t.path)
        #expect(throws: GitError.self) { _ = try fresh.commit(second) }
        #expect(throws: GitError.self) { _ = try fresh.resolveCommit("HEAD") }
        #expect(throws: GitError.self) { _ = try fresh.resolveCommit(String(second.hex.prefix(10))) }
        let walk = try RevWalk(fresh)
        #expect(throws: GitError.self) { try walk.push(second); while try walk.next() != nil {} }
        #expect(try fresh.commit(first).oid == first) // intact objects still read
    }

    @Test func truncatedTreeIsAnErrorForDiffsAndHeaderReads() throws {
        let t = try TestRepo()
        var files: [String: String?] = [:]
        for i in 0..<200 { files["notes/n\(i).md"] = "note \(i)\n" }
        let first = try t.commit(files)
        let second = try t.commit(["notes/n1.md": "changed\n"])
        let tree = try t.repo.commit(second).tree
        let folder = try #require(try t.repo.entry(at: "notes", in: tree)).oid
        try truncateLooseObject(folder, in: t, keeping: 0.3)
        let fresh = try Repository(at: t.path)
        #expect(throws: GitError.self) { _ = try fresh.diff(from: fresh.commit(first).tree, to: tree).stats() }
        #expect(throws: GitError.self) { _ = try fresh.tree(folder) }
        #expect(throws: GitError.self) { try fresh.requireTree(folder) }
        #expect(throws: GitError.self) { _ = try fresh.files(in: tree) }
    }

    @Test func packedObjectIsReadFromThePackBeforeABrokenLooseCopy() throws {
        let t = try TestRepo()
        let blob = try t.repo.writeBlob(Data(String(repeating: "packed ", count: 500).utf8))
        let commit = try t.commit(["a.md": String(repeating: "packed ", count: 500)])
        #expect(t.run(["repack", "-a", "-q"]).status == 0) // packs the objects, keeps the loose copies
        try truncateLooseObject(blob, in: t)
        let fresh = try Repository(at: t.path)
        #expect(try fresh.blob(blob) == Data(String(repeating: "packed ", count: 500).utf8))
        #expect(try fresh.commit(commit).oid == commit)
    }

    @Test(arguments: ["", "ref: ", "ref: refs/heads/", "garbage\n", "0123\n"])
    func truncatedHeadIsAnErrorNotACrash(head: String) throws {
        let t = try TestRepo()
        _ = try t.commit(["a.md": "a\n"])
        try head.write(toFile: t.path + "/.git/HEAD", atomically: true, encoding: .utf8)
        #expect(throws: GitError.self) {
            let r = try Repository(at: t.path)
            _ = try r.headReferenceName()
            _ = try r.resolveCommit("HEAD")
        }
        #expect(t.run(["rev-parse", "HEAD"]).status != 0)
    }

    @Test func corruptLooseReferenceIsAnError() throws {
        let t = try TestRepo()
        let c = try t.commit(["a.md": "a\n"])
        try t.repo.updateReference("refs/heads/proposals/x", to: c, expected: nil, message: "x")
        try "not-a-sha\n".write(toFile: t.path + "/.git/refs/heads/proposals/x", atomically: true, encoding: .utf8)
        #expect(throws: GitError.self) { _ = try t.repo.referenceTarget("refs/heads/proposals/x") }
        #expect(throws: GitError.self) { try t.repo.updateReference("refs/heads/proposals/x", to: c, expected: c, message: "x") }
    }

    @Test func invalidRevisionSpecsThrow() throws {
        let t = try TestRepo()
        _ = try t.commit(["a.md": "a\n"])
        for spec in ["HEAD^^^^^", "main@{upstream}", "::", "refs/heads/missing"] {
            #expect(throws: GitError.self, "\(spec)") { _ = try t.repo.resolveCommit(spec) }
        }
    }
}
