import CairnGit
import Foundation
import Testing
@testable import CairnKit

/// `linkRewrites` (what `cairn mv` and a proposal's renames share) parses only the moved notes and those whose bytes
/// can name what moved; it must rewrite exactly what parsing every note rewrites, for every move of every file.
@Suite struct LinkRewriteFilterTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    /// A vault adopted from a copy of `folder`.
    func adopted(_ folder: String) throws -> VaultFixture {
        let f = try VaultFixture(create: false)
        try FileManager.default.copyItem(atPath: folder, toPath: f.root)
        _ = try Vault.initialize(at: f.root, template: .embedded, identity: f.identity, globalConfigFile: "/dev/null", now: f.now)
        return f
    }

    /// The rewrites of moving `source` (a file or folder of the head tree) to `destination`, both ways, as text.
    func bothWays(_ vault: Vault, _ source: String, to destination: String) throws -> (filtered: [String], full: [String])? {
        let repo = vault.repository
        guard let head = try vault.head() else { return nil }
        let tree = try repo.commit(head).tree
        let files = try repo.files(in: tree)
        var moves: [String: String] = [:]
        for file in files where file.path == source || file.path.hasPrefix(source + "/") {
            moves[file.path] = destination + file.path.dropFirst(source.count)
        }
        let staying = Set(files.map(\.path)).subtracting(moves.keys)
        guard !moves.isEmpty, !moves.values.contains(where: { staying.contains($0) }) else { return nil }
        let byPath = Dictionary(files.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
        var changes: [TreeChange] = []
        for (old, new) in moves {
            changes.append(.remove(path: old))
            changes.append(.upsert(path: new, oid: byPath[old]!.oid, mode: byPath[old]!.mode))
        }
        let after = try repo.updateTree(base: tree, changes: changes)
        func text(_ rewrites: [Vault.LinkRewrite]) -> [String] {
            rewrites.map { r in "\(r.path) \(r.blob.hex) " + r.links.map { "\($0.line):\($0.old)→\($0.new)" }.joined(separator: ",") }
        }
        return (text(try vault.linkRewrites(before: tree, after: after, moves: moves)),
                text(try vault.linkRewrites(before: tree, after: after, moves: moves, filter: false)))
    }

    /// Every file and folder of the vault, renamed in place, moved to another folder, and given the name of another
    /// note (a clash by name that changes how links resolve).
    func checkEveryMove(_ f: VaultFixture) throws -> Int {
        let vault = try f.vault()
        let tree = try vault.repository.commit(try vault.head()!).tree
        let paths = try vault.repository.files(in: tree).map(\.path).filter { !$0.hasPrefix(".") && !$0.contains("/.") }
        let folders = Set(paths.flatMap { p in p.split(separator: "/").dropLast().indices.map { p.split(separator: "/")[...$0].joined(separator: "/") } })
        let noteNames = paths.filter { $0.hasSuffix(".md") }.map { LinkResolver.fileName($0) }
        var checked = 0, rewritten = 0
        for (i, source) in (paths + folders.sorted()).enumerated() {
            let name = LinkResolver.fileName(source)
            let ext = name.contains(".") ? "." + name.split(separator: ".").last! : ""
            let parent = source.contains("/") ? String(source[..<source.lastIndex(of: "/")!]) + "/" : ""
            var targets = [parent + "renamed-\(i)" + ext, "elsewhere/deeper/" + name]
            if source.hasSuffix(".md") {
                // The name of another note, at the root and beside a third note: links that reached that other note
                // by name now reach the moved one.
                let other = noteNames[(i * 7) % noteNames.count]
                let beside = paths[(i * 3) % paths.count]
                targets += ["clash/" + other, other, (beside.contains("/") ? String(beside[..<beside.lastIndex(of: "/")!]) + "/" : "") + other]
            }
            for target in targets where target != source {
                guard let result = try bothWays(vault, source, to: target) else { continue }
                #expect(result.filtered == result.full, "\(source) → \(target)")
                checked += 1
                if !result.full.isEmpty { rewritten += 1 }
            }
        }
        // The comparison means something only if many moves rewrite links.
        #expect(rewritten > checked / 10, "\(rewritten) of \(checked) moves rewrote links")
        return checked
    }

    @Test func everyMoveOfTheEdgeVaultRewritesWhatAFullParseRewrites() throws {
        let f = try BacklinksTests().edgeVault()
        try f.snapshot("edge")
        #expect(try checkEveryMove(f) > 40)
    }

    @Test func everyMoveOfTheObsidianFixturesRewritesWhatAFullParseRewrites() throws {
        for name in ["obsidian-vault", "obsidian-messy-vault"] {
            let f = try adopted(Self.fixtures + "/" + name)
            #expect(try checkEveryMove(f) > 40, "\(name)")
        }
    }
}
