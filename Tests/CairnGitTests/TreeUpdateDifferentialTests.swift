import Foundation
import Testing
@testable import CairnGit
import CGit2Helpers

/// `updateTree` splices raw tree bytes itself; these tests hold it to what git's own index writes.
@Suite struct TreeUpdateDifferentialTests {
    /// Names whose order in a tree is easy to get wrong: a folder sorts as if its name ended in "/",
    /// so "a-b" and "a.c" come before the folder "a" but after a file "a".
    static let names = ["a", "a-b", "a.c", "a0", "ab", "b", "B", "é.md", "x y.md", "z~1", "a+", "a/"]
    static let modes: [UInt32] = [TreeChange.fileMode, TreeChange.fileMode, TreeChange.executableMode, TreeChange.symlinkMode]

    /// A deterministic generator (xorshift64*), so that a failing round is the same on every run.
    struct Generator {
        var state: UInt64
        mutating func below(_ n: Int) -> Int {
            state ^= state >> 12; state ^= state << 25; state ^= state >> 27
            return Int((state &* 2_685_821_657_736_338_717) % UInt64(n))
        }
    }

    /// The tree id git writes for `files` through its index.
    func gitWriteTree(_ t: TestRepo, _ files: [String: (mode: UInt32, oid: OID)]) throws -> String {
        _ = try t.git("read-tree", "--empty")
        let lines = files.map { "\(String($0.value.mode, radix: 8)) \($0.value.oid.hex)\t\($0.key)\n" }.joined()
        if !lines.isEmpty { _ = try t.gitRaw(["update-index", "--index-info"], input: lines) }
        return try t.git("write-tree")
    }

    func randomPath(_ g: inout Generator) -> String {
        let depth = 1 + g.below(3)
        return (0..<depth).map { _ in Self.names[g.below(Self.names.count - 1)] }.joined(separator: "/")
    }

    @Test func randomBatchesGiveTheTreeGitWrites() throws {
        let t = try TestRepo()
        var g = Generator(state: 0x9E37_79B9_7F4A_7C15)
        let blobs = try (0..<6).map { try t.repo.writeBlob(Data("content \($0)\n".utf8)) }
        var model: [String: (mode: UInt32, oid: OID)] = [:]
        var tree: OID? = nil
        var checkedRemovals = 0, checkedReplacements = 0
        for round in 0..<80 {
            var changes: [TreeChange] = []
            var touched: [String] = []
            func overlaps(_ a: String, _ b: String) -> Bool { a == b || a.hasPrefix(b + "/") || b.hasPrefix(a + "/") }
            for _ in 0..<(1 + g.below(5)) {
                let remove = !model.isEmpty && g.below(4) == 0
                var path: String
                if remove {
                    let existing = model.keys.sorted()[g.below(model.count)]
                    // Sometimes the file, sometimes the folder holding it.
                    let parts = existing.split(separator: "/")
                    path = parts.prefix(1 + g.below(parts.count)).joined(separator: "/")
                } else {
                    path = randomPath(&g)
                }
                guard !touched.contains(where: { overlaps($0, path) }) else { continue }
                touched.append(path)
                if remove {
                    changes.append(.remove(path: path))
                    model = model.filter { !($0.key == path || $0.key.hasPrefix(path + "/")) }
                    checkedRemovals += 1
                } else {
                    let entry = (mode: Self.modes[g.below(Self.modes.count)], oid: blobs[g.below(blobs.count)])
                    changes.append(.upsert(path: path, oid: entry.oid, mode: entry.mode))
                    // A file replaces a folder of its name, and a folder replaces a file on its way.
                    if model.keys.contains(where: { $0 != path && overlaps($0, path) }) { checkedReplacements += 1 }
                    model = model.filter { !overlaps($0.key, path) }
                    model[path] = entry
                }
            }
            tree = try t.repo.updateTree(base: tree, changes: changes)
            let expected = try gitWriteTree(t, model)
            #expect(tree?.hex == expected, "round \(round): \(changes)")
            if tree?.hex != expected { break }
        }
        #expect(checkedRemovals > 10)
        #expect(checkedReplacements > 5)
        let commit = try t.repo.createCommit(tree: try #require(tree), parents: [], author: TestRepo.signature, committer: TestRepo.signature, message: "m\n")
        try t.repo.updateReference("refs/heads/main", to: commit, expected: nil, message: "m")
        t.expectFsckClean()
    }

    @Test func aLargeFolderIsSplicedAndStoredReadablyForGit() throws {
        let t = try TestRepo()
        let blob = try t.repo.writeBlob(Data("note\n".utf8))
        // 2,500 entries: a tree of ~100 KB, over the stored-object threshold and over one 64 KiB stored block.
        let files = (0..<2500).map { String(format: "inbox/2026-%05d-note.md", $0) }
        var model: [String: (mode: UInt32, oid: OID)] = [:]
        for f in files { model[f] = (TreeChange.fileMode, blob) }
        let base = try t.repo.updateTree(base: nil, changes: files.map { .upsert(path: $0, oid: blob, mode: TreeChange.fileMode) })
        #expect(base.hex == (try gitWriteTree(t, model)))

        let other = try t.repo.writeBlob(Data("changed\n".utf8))
        let updated = try t.repo.updateTree(base: base, changes: [
            .upsert(path: "inbox/2026-01234-note.md", oid: other, mode: TreeChange.fileMode),
            .upsert(path: "inbox/2026-01234-note.md-new", oid: other, mode: TreeChange.fileMode),
            .remove(path: "inbox/2026-00000-note.md"),
            .upsert(path: "inbox/zz/last.md", oid: other, mode: TreeChange.fileMode),
        ])
        model["inbox/2026-01234-note.md"] = (TreeChange.fileMode, other)
        model["inbox/2026-01234-note.md-new"] = (TreeChange.fileMode, other)
        model["inbox/2026-00000-note.md"] = nil
        model["inbox/zz/last.md"] = (TreeChange.fileMode, other)
        #expect(updated.hex == (try gitWriteTree(t, model)))

        // The inbox tree went through the stored writer: a loose object git reads and checks.
        let inbox = try #require(try t.repo.entry(at: "inbox", in: updated))
        let size = try #require(Int(try t.git("cat-file", "-s", inbox.oid.hex)))
        #expect(size > Repository.storedObjectThreshold)
        let loose = t.path + "/.git/objects/" + inbox.oid.hex.prefix(2) + "/" + inbox.oid.hex.dropFirst(2)
        let stored = try #require(try? FileManager.default.attributesOfItem(atPath: loose)[.size] as? Int)
        #expect(stored > size) // stored blocks: the body plus headers, not compressed
        #expect(try t.git("cat-file", "-p", "\(updated.hex):inbox/zz/last.md") == "changed")
        #expect(try t.git("ls-tree", "--name-only", inbox.oid.hex).lines.count == 2501)
        let commit = try t.repo.createCommit(tree: updated, parents: [], author: TestRepo.signature, committer: TestRepo.signature, message: "m\n")
        try t.repo.updateReference("refs/heads/main", to: commit, expected: nil, message: "m")
        t.expectFsckClean()
        // The same tree again writes nothing new.
        let before = try t.git("count-objects")
        #expect(try t.repo.updateTree(base: base, changes: [
            .upsert(path: "inbox/2026-01234-note.md", oid: other, mode: TreeChange.fileMode),
            .upsert(path: "inbox/2026-01234-note.md-new", oid: other, mode: TreeChange.fileMode),
            .remove(path: "inbox/2026-00000-note.md"),
            .upsert(path: "inbox/zz/last.md", oid: other, mode: TreeChange.fileMode),
        ]) == updated)
        #expect(try t.git("count-objects") == before)
    }

    @Test func hardwareSHA1AgreesWithGit() throws {
        let t = try TestRepo()
        var g = Generator(state: 42)
        for size in [0, 1, 55, 64, 100_000] {
            let body = (0..<size).map { _ in UInt8(g.below(256)) }
            // The large-tree path hashes with libcrypto when it is there (it is on Debian with libgit2).
            var content = Array("tree \(size)\0".utf8) + body
            var digest = [UInt8](repeating: 0, count: 20)
            #expect(cairn_fast_sha1(&content, content.count, &digest) == 0)
            let path = t.root + "/obj-\(size)"
            try Data(body).write(to: URL(fileURLWithPath: path))
            #expect(OID(bytes: digest).hex == (try t.git("hash-object", "-t", "tree", "--literally", path)), "size \(size)")
        }
    }

    @Test func storedZlibStreamIsWhatZlibReads() throws {
        // Checked by python's zlib (the C library) on sizes around the 65,535-byte block limit.
        for size in [0, 1, 65_535, 65_536, 140_000] {
            let data = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
            let stream = Repository.storedZlibStream(data)
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cairn-zlib-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: dir) }
            try Data(stream).write(to: dir.appendingPathComponent("in"))
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = ["python3", "-c", "import sys,zlib; open(sys.argv[2],'wb').write(zlib.decompress(open(sys.argv[1],'rb').read()))",
                           dir.appendingPathComponent("in").path, dir.appendingPathComponent("out").path]
            try p.run(); p.waitUntilExit()
            #expect(p.terminationStatus == 0, "size \(size)")
            #expect(try Data(contentsOf: dir.appendingPathComponent("out")) == Data(data), "size \(size)")
        }
    }

    @Test func hostileNamesAreRejectedAndNothingIsWritten() throws {
        let t = try TestRepo()
        let a = try t.repo.writeBlob(Data("a\n".utf8))
        let before = try t.git("count-objects")
        for bad in ["", "a//b.md", "a/", ".GIT/config", "x/.Git./hooks", "git~1/config", ".git::$INDEX_ALLOCATION/x", "./a.md", "a/./b.md"] {
            #expect(throws: GitError.self, "'\(bad)' was accepted") {
                _ = try t.repo.updateTree(base: nil, changes: [.upsert(path: bad, oid: a, mode: TreeChange.fileMode)])
            }
        }
        #expect(try t.git("count-objects") == before)
    }

    @Test func aTreeOutOfOrderIsRefusedNotSpliced() throws {
        let t = try TestRepo()
        let a = try t.repo.writeBlob(Data("a\n".utf8))
        // "b" before "a": git's mktree would sort them; write the object as is.
        var body: [UInt8] = []
        for name in ["b.md", "a.md"] { body += Array("100644 \(name)\0".utf8) + a.bytes }
        let path = t.root + "/unsorted"
        try Data(body).write(to: URL(fileURLWithPath: path))
        let unsorted = try #require(OID(hex: try t.git("hash-object", "-t", "tree", "-w", "--literally", path)))
        #expect(throws: GitError.self) {
            _ = try t.repo.updateTree(base: unsorted, changes: [.upsert(path: "c.md", oid: a, mode: TreeChange.fileMode)])
        }
        #expect(throws: GitError.self) { _ = try t.repo.entry(at: "a.md", in: unsorted) }
    }

    @Test func removingAMissingPathFailsAndAFileAndFolderInOneBatchConflict() throws {
        let t = try TestRepo()
        let a = try t.repo.writeBlob(Data("a\n".utf8))
        let base = try t.repo.updateTree(base: nil, changes: [.upsert(path: "n/a.md", oid: a, mode: TreeChange.fileMode)])
        #expect(throws: GitError.self) { _ = try t.repo.updateTree(base: base, changes: [.remove(path: "n/missing.md")]) }
        #expect(throws: GitError.self) { _ = try t.repo.updateTree(base: base, changes: [.remove(path: "n/a.md/deeper")]) }
        #expect(throws: GitError.self) {
            _ = try t.repo.updateTree(base: base, changes: [
                .upsert(path: "x", oid: a, mode: TreeChange.fileMode), .upsert(path: "x/y", oid: a, mode: TreeChange.fileMode),
            ])
        }
    }
}
