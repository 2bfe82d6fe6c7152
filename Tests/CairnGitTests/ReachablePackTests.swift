import Foundation
import Testing
@testable import CairnGit

@Suite struct ReachablePackTests {
    init() { TestEnvironment.setUp() }

    /// Text of a few kilobytes where version `n` differs from the others in one line, so git stores versions as
    /// deltas of each other.
    func bigText(_ n: Int) -> String {
        (0..<120).map { $0 == 60 ? "version \(n) of the line in the middle\n" : "line \($0) of a note long enough to be deltified\n" }.joined()
    }

    /// The packs' names in `objects/pack/`.
    func packs(_ t: TestRepo) -> [String] { ObjectStoreFiles(t.repo).packs() }

    @Test func copiesKeptEntriesAndWritesWholeTheDeltasWhoseBaseLeft() throws {
        let t = try TestRepo()
        var commits: [OID] = []
        for n in 1...6 { commits.append(try t.commit(["big.md": bigText(n), "small.md": "s\(n)\n"])) }
        try t.git("repack", "-a", "-d", "-f", "-q", "--depth=50", "--window=10")
        try t.git("prune-packed")
        let deltas = try t.git("verify-pack", "-v", "\(t.path)/.git/objects/pack/\(packs(t)[0]).idx")
        #expect(deltas.contains("chain length"), "the fixture needs deltas: \(deltas)")

        // A new root commit holding version 2 only: its blob's delta base (another version) leaves.
        let v2Tree = try t.git("rev-parse", "\(commits[1].hex)^{tree}")
        let root = try t.git("commit-tree", v2Tree, "-m", "only v2")
        let droppedBlobs = try (3...6).map { try t.git("rev-parse", "\(commits[$0 - 1].hex):big.md") }
        let keptBlob = try t.git("rev-parse", "\(commits[1].hex):big.md")
        try t.git("update-ref", "refs/heads/main", root)
        try t.git("reflog", "expire", "--expire=now", "--all")

        let old = packs(t)
        let packer = ReachablePack(t.repo)
        var objects = try packer.reachable(from: [try #require(OID(hex: root))])
        #expect(objects.count == 1 + 1 + 2) // commit, tree, big.md and small.md
        let result = try packer.write(&objects)
        #expect(objects.isEmpty)
        #expect(result.objects == 4)
        #expect(result.copied + result.written == 4)
        let verify = t.run(["verify-pack", "-v", "\(t.path)/.git/objects/pack/\(result.name).idx"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")

        ObjectStoreFiles(t.repo).remove(packs: old.filter { $0 != result.name }, looseObjectsOlderThan: Date().addingTimeInterval(60))
        try t.repo.refreshObjects()
        t.expectFsckClean()
        for blob in droppedBlobs { #expect(t.run(["cat-file", "-e", blob]).status != 0) }
        #expect(try t.gitRaw(["cat-file", "blob", keptBlob]) == bigText(2))
        #expect(try t.git("count-objects", "-v").contains("count: 0"))
    }

    @Test func keepsDeltasWhoseBaseStaysAndTakesLooseAndInMemoryObjects() throws {
        let t = try TestRepo()
        for n in 1...6 { try t.commit(["big.md": bigText(n), "d/x.md": "x\(n)\n"]) }
        try t.git("repack", "-a", "-d", "-f", "-q")
        try t.git("prune-packed")
        let loose = try t.commit(["loose.md": "written after the repack\n"])
        let memory = try InMemoryObjects(t.repo)
        let inMemory = try t.repo.writeRawObject(.blob, Array("only in memory\n".utf8))
        let tree = try t.repo.makeFlatTree([("m.md", inMemory)])
        let sig = t.nextSignature()
        let top = try t.repo.createCommit(tree: tree, parents: [loose], author: sig, committer: sig, message: "mem\n")
        let orphan = try t.repo.writeBlob(Data("nobody points here\n".utf8))
        // A temporary pack a killed writer left behind.
        let leftover = "\(t.path)/.git/objects/pack/\(ReachablePack.temporaryPrefix)999.pack"
        FileManager.default.createFile(atPath: leftover, contents: Data("PACK".utf8))

        let old = packs(t)
        let packer = ReachablePack(t.repo)
        var objects = try packer.reachable(from: [top])
        let result = try packer.write(&objects)
        try memory.reset()
        #expect(!FileManager.default.fileExists(atPath: leftover))
        #expect(result.copiedDeltas > 0)
        #expect(result.written >= 3) // the loose commit, its tree and blob, the in-memory ones
        let verify = t.run(["verify-pack", "-v", "\(t.path)/.git/objects/pack/\(result.name).idx"])
        #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
        #expect(verify.stdout.contains("chain length"))

        try t.repo.updateReference("refs/heads/main", to: top, expected: loose, message: "test")
        ObjectStoreFiles(t.repo).remove(packs: old.filter { $0 != result.name }, looseObjectsOlderThan: Date().addingTimeInterval(60))
        try t.repo.refreshObjects()
        t.expectFsckClean()
        #expect(t.run(["cat-file", "-e", orphan.hex]).status != 0)
        #expect(try t.git("cat-file", "-p", inMemory.hex) == "only in memory")
        #expect(try t.gitRaw(["cat-file", "blob", "main~1:big.md"]) == bigText(6))
        #expect(try t.gitRaw(["cat-file", "blob", "main~4:big.md"]) == bigText(4))
        #expect(try t.git("rev-list", "--count", "main") == "8")
    }

    /// A rewrite makes a new version of a large folder for each commit: they go as deltas of each other (the
    /// newest whole), git reads every one back, and the pack is far smaller than with each version whole.
    @Test func newVersionsOfAFolderAreWrittenAsDeltasOfEachOther() throws {
        let t = try TestRepo()
        var files: [String: String?] = ["a.md": "a\n", "w/secret.md": "k\n"]
        for i in 0..<300 { files["w/note-with-a-long-name-\(i).md"] = "\(i)\n" }
        var tips = [try t.commit(files)]
        for i in 1..<40 { tips.append(try t.commit(["w/note-with-a-long-name-\(i * 7 % 300).md": "v\(i)\n", "w/sub/x.md": "\(i % 3)\n"])) }
        try t.git("repack", "-a", "-d", "-q")
        try t.git("prune-packed")
        let old = packs(t)

        let memory = try InMemoryObjects(t.repo)
        let rewriter = HistoryRewriter(t.repo, filter: DropPath(path: "w/secret.md"), memory: memory)
        let map = try rewriter.rewrite(tips: [tips.last!])
        let newTip = try #require(map[tips.last!] ?? nil)
        let packer = ReachablePack(t.repo)
        var objects = try packer.reachable(from: [newTip])
        let result = try packer.write(&objects)
        try memory.reset()
        // 40 new versions of w/ (without the secret): all but the newest are deltas. (The root's versions, two
        // entries each, are smaller whole.)
        #expect(result.writtenDeltas >= 39, "\(result)")
        let verify = try t.git("verify-pack", "-v", "\(t.path)/.git/objects/pack/\(result.name).idx")
        #expect(verify.contains("chain length = 39"), "\(verify)")

        try t.repo.updateReference("refs/heads/main", to: newTip, expected: tips.last!, message: "test")
        try t.git("reflog", "expire", "--expire=now", "--all")
        ObjectStoreFiles(t.repo).remove(packs: old, looseObjectsOlderThan: Date().addingTimeInterval(60))
        try t.repo.refreshObjects()
        t.expectFsckClean()
        #expect(try t.git("rev-list", "--count", "main") == "40")
        #expect(try t.git("log", "--all", "--format=%H", "--", "w/secret.md").isEmpty)
        for (n, tip) in tips.enumerated() {
            let new = try #require(map[tip] ?? nil)
            #expect(try t.git("ls-tree", "-r", "--name-only", new.hex, "w").lines.count == 300 + (n == 0 ? 0 : 1))
        }
        // The folder's 40 versions whole would take 40 × ~9 KB compressed; as deltas the pack is under 60 KB.
        let size = try #require(try FileManager.default.attributesOfItem(atPath: "\(t.path)/.git/objects/pack/\(result.name).pack")[.size] as? Int)
        #expect(size < 60_000, "pack of \(size) bytes")
    }

    @Test func treeDeltaCopiesUnchangedRunsAndInsertsTheRest() throws {
        func tree(_ names: [String]) throws -> RawTree {
            var bytes: [UInt8] = []
            for name in names.sorted() { bytes += Array("100644 \(name)\0".utf8) + [UInt8](repeating: UInt8(name.count), count: 20) }
            return try #require(RawTree(bytes: bytes))
        }
        let base = try tree((0..<5000).map { "note-\($0).md" })
        // One entry changed at either end and one in the middle; one added, one removed.
        var names = (0..<5000).map { "note-\($0).md" }
        names[0] = "note-0.markdown"; names[2500] = "new.md"; names.removeLast(); names.append("zz.md")
        let target = try tree(names)
        let delta = ReachablePack.treeDelta(from: base, to: target)
        #expect(delta.count < 400, "\(delta.count) bytes")
        #expect(Self.apply(delta, to: base.bytes) == target.bytes)
        #expect(Self.apply(ReachablePack.treeDelta(from: target, to: base), to: target.bytes) == base.bytes)
        #expect(Self.apply(ReachablePack.treeDelta(from: try tree([]), to: target), to: []) == target.bytes)
    }

    /// git's delta format applied, as `patch-delta.c` does.
    static func apply(_ delta: [UInt8], to base: [UInt8]) -> [UInt8]? {
        var i = 0
        func varint() -> Int {
            var v = 0, shift = 0
            while true { let b = delta[i]; i += 1; v |= Int(b & 0x7F) << shift; shift += 7; if b & 0x80 == 0 { return v } }
        }
        guard varint() == base.count else { return nil }
        let size = varint()
        var out: [UInt8] = []
        while i < delta.count {
            let command = delta[i]; i += 1
            if command & 0x80 != 0 {
                var offset = 0, n = 0
                for b in 0..<4 where command & (1 << b) != 0 { offset |= Int(delta[i]) << (8 * b); i += 1 }
                for b in 0..<3 where command & (0x10 << b) != 0 { n |= Int(delta[i]) << (8 * b); i += 1 }
                if n == 0 { n = 0x10000 }
                guard offset + n <= base.count else { return nil }
                out += base[offset..<(offset + n)]
            } else {
                guard command > 0 else { return nil }
                out += delta[i..<(i + Int(command))]
                i += Int(command)
            }
        }
        return out.count == size ? out : nil
    }

    @Test func headerEncodingsReadBackAsGitWritesThem() throws {
        for distance: UInt64 in [1, 127, 128, 129, 16_511, 16_512, 1 << 20, 1 << 33] {
            let header: [UInt8] = ReachablePack.entryHeader(type: 6, size: 5000) + ReachablePack.offsetDistance(distance) + [0x78]
            let parsed = try ReachablePack.parseEntryHeader(header[...], at: distance + 10, pack: "test")
            #expect(parsed.type == 6)
            #expect(parsed.baseDistance == distance)
            #expect(parsed.dataStart == header.count - 1)
        }
        // Type 3 (blob) of size 5000: low 4 bits 8, then 5000 >> 4 = 312 as two 7-bit groups.
        #expect(ReachablePack.entryHeader(type: 3, size: 5000) == [0xB8, 0xB8, 0x02])
        #expect(ReachablePack.entryHeader(type: 1, size: 15) == [0x1F])
    }
}

/// Drops one file path from every commit.
private struct DropPath: TreeFilter {
    var path: String
    func rules(forCommitTime time: Int64) -> UInt64 { 1 }
    func folder(_ folder: String, rules: UInt64) -> FolderDecision { path.hasPrefix(folder + "/") ? .inspect : .keep }
    func keepFile(_ file: String, blob: OID, rules: UInt64) -> Bool { file != path }
}
