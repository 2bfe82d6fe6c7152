import Foundation
import Testing
@testable import CairnGit

@Suite struct BlobTests {
    @Test func writeThenReadRoundTrips() throws {
        let t = try TestRepo()
        let text = "# Title\n\nSome notes, with ünïcödé and emoji 🪨.\n"
        let oid = try t.repo.writeBlob(Data(text.utf8))
        #expect(try t.repo.blob(oid) == Data(text.utf8))
        #expect(try t.gitRaw(["cat-file", "-p", oid.hex]) == text)
        #expect(try t.git("cat-file", "-t", oid.hex) == "blob")
        t.expectFsckClean()
    }

    @Test func idEqualsGitHashObject() throws {
        let t = try TestRepo()
        for text in ["hello\n", "no trailing newline", "a\r\nb\r\n", String(repeating: "line\n", count: 5000)] {
            let oid = try t.repo.writeBlob(Data(text.utf8))
            let gitID = try t.git("hash-object", "--stdin", input: text)
            #expect(oid.hex == gitID)
            #expect(try Repository.hashBlob(Data(text.utf8)) == oid)
        }
    }

    @Test func emptyBlobHasGitsWellKnownId() throws {
        let t = try TestRepo()
        let oid = try t.repo.writeBlob(Data())
        #expect(oid.hex == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
        #expect(try t.git("hash-object", "--stdin", input: "") == oid.hex)
        #expect(try t.repo.blob(oid).isEmpty)
    }

    @Test func hashBlobDoesNotStoreTheObject() throws {
        let t = try TestRepo()
        let oid = try Repository.hashBlob(Data("only hashed\n".utf8))
        #expect(oid.hex == (try t.git("hash-object", "--stdin", input: "only hashed\n")))
        #expect(t.run(["cat-file", "-e", oid.hex]).status != 0)
        #expect(throws: GitError.self) { _ = try t.repo.blob(oid) }
    }

    @Test func binaryContentSurvivesAndIsDetected() throws {
        let t = try TestRepo()
        let bytes = Data([0x89, 0x50, 0x4e, 0x47, 0x00, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe])
        let binary = try t.repo.writeBlob(bytes)
        let text = try t.repo.writeBlob(Data("plain text\n".utf8))
        #expect(try t.repo.blob(binary) == bytes)
        #expect(try t.repo.blobIsBinary(binary))
        #expect(try !t.repo.blobIsBinary(text))
        #expect(try t.git("cat-file", "-s", binary.hex) == "\(bytes.count)")
        // git agrees: its own diff calls the blob binary and the text blob not.
        try t.write("bin.dat", data: bytes)
        try t.write("text.md", "plain text\n")
        #expect(try t.git("hash-object", "bin.dat") == binary.hex)
        #expect(t.run(["diff", "--no-index", "--numstat", "/dev/null", "bin.dat"]).stdout.hasPrefix("-\t-\t"))
        #expect(t.run(["diff", "--no-index", "--numstat", "/dev/null", "text.md"]).stdout.hasPrefix("1\t0\t"))
    }

    @Test func blobOfAMissingIdThrowsNotFound() throws {
        let t = try TestRepo()
        let missing = try #require(OID(hex: String(repeating: "ab", count: 20)))
        #expect(throws: GitError.self) { _ = try t.repo.blob(missing) }
        #expect(throws: GitError.self) { _ = try t.repo.blobIsBinary(missing) }
        do {
            _ = try t.repo.blob(missing)
            Issue.record("expected an error")
        } catch GitError.notFound {
            // expected
        }
    }

    @Test func blobOfATreeIdIsAnError() throws {
        let t = try TestRepo()
        let commit = try t.commit(["a.md": "a\n"])
        let tree = try t.repo.commit(commit).tree
        #expect(throws: GitError.self) { _ = try t.repo.blob(tree) }
    }

    @Test func workdirBlobEqualsGitHashObjectOfTheFile() throws {
        let t = try TestRepo()
        try t.write("notes/a file.md", "workdir content\n")
        let oid = try t.repo.writeBlob(fromWorkdirPath: "notes/a file.md")
        #expect(oid.hex == (try t.git("hash-object", "notes/a file.md")))
        #expect(try t.repo.blob(oid) == Data("workdir content\n".utf8))
        #expect(t.run(["cat-file", "-e", oid.hex]).status == 0)
    }

    @Test func workdirBlobAppliesFiltersLikeGitAdd() throws {
        let t = try TestRepo()
        try t.write(".gitattributes", "*.txt text eol=lf\n")
        try t.write("crlf.txt", "one\r\ntwo\r\n")
        let oid = try t.repo.writeBlob(fromWorkdirPath: "crlf.txt")
        #expect(oid.hex == (try t.git("hash-object", "crlf.txt")))
        #expect(try t.repo.blob(oid) == Data("one\ntwo\n".utf8))
    }

    @Test func workdirBlobOfAMissingFileThrows() throws {
        let t = try TestRepo()
        #expect(throws: GitError.self) { _ = try t.repo.writeBlob(fromWorkdirPath: "nope.md") }
    }
}
