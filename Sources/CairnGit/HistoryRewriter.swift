import CGit2
import Foundation

/// What happens to a folder of a commit's tree during a rewrite.
public enum FolderDecision: Sendable {
    /// The folder stays as it is (not even read).
    case keep
    /// The folder and everything under it leave the commit.
    case drop
    /// Each entry is decided on its own.
    case inspect
}

/// Decides what a history rewrite keeps of each commit's tree.
///
/// A rewrite may apply different rules to different commits (a rule for commits older than a cutoff): `rules`
/// returns a bit set of the rules active for a commit, and the other two calls get that set. Decisions must
/// depend only on their arguments, so that the rewriter can remember them per (tree, path, rules).
public protocol TreeFilter {
    /// The rules active for a commit whose committer time is `time` (seconds since 1970); 0 keeps it unchanged.
    func rules(forCommitTime time: Int64) -> UInt64
    /// What to do with folder `path` (vault-relative, no trailing slash).
    func folder(_ path: String, rules: UInt64) -> FolderDecision
    /// True when the file at `path` with content `blob` stays.
    func keepFile(_ path: String, blob: OID, rules: UInt64) -> Bool
}

/// Rewrites history so that every commit's tree passes a `TreeFilter`, the way git-filter-repo does, from
/// libgit2 objects: commits keep their message, author, committer, dates and every other header byte for
/// byte (only the `tree` and `parent` lines change); commits that become empty are dropped, unless they were
/// empty to begin with; nothing is written outside the object database and no reference moves — the caller
/// switches references with the returned map.
///
/// Attach an `InMemoryObjects` to the repository first to keep the new objects off the disk until they are
/// packed.
public final class HistoryRewriter {
    /// A rewritten commit: its new id, or nil when it was dropped and nothing of its ancestry is left.
    public typealias Mapping = OID?

    let repository: Repository
    let filter: any TreeFilter

    /// Folders dropped whole, by path: the distinct tree ids that left (see `droppedFiles()`).
    public private(set) var droppedFolders: [String: Set<OID>] = [:]
    /// Commits that left history because they became empty (mapped to their nearest kept ancestor).
    public private(set) var droppedCommits: Set<OID> = []
    /// Files dropped one by one, by path: the distinct blob ids that left.
    public private(set) var droppedFileVersions: [String: Set<OID>] = [:]
    /// Folders dropped whole, by path, in the order they were first dropped.
    private var droppedFolderOrder: [String: [OID]] = [:]
    /// The tree of each commit the rewrite produced or kept, by its (new) id.
    private var newTrees: [OID: OID] = [:]

    /// Where new trees and commits go when set (see `InMemoryObjects.write`); otherwise through `repository`.
    public var memory: InMemoryObjects?
    /// When false, new trees and commits are only hashed, never stored: enough for a plan, which reports the
    /// same figures as the rewrite (the trees of new commits are answered by `newTree(of:)`).
    public var storesObjects = true
    /// How many threads decide the commits' new trees (0: one per CPU). Each takes a contiguous run of the
    /// history with a repository handle of its own; the commits are then rebuilt in order on this thread.
    public var threads = 1

    /// Serializes writes of new objects (an `InMemoryObjects` is not safe to write from two threads).
    private let writeLock = NSLock()

    public init(_ repository: Repository, filter: any TreeFilter, memory: InMemoryObjects? = nil) {
        self.repository = repository
        self.filter = filter
        self.memory = memory
    }

    private func write(_ kind: ObjectKind, _ bytes: [UInt8]) throws -> OID {
        if !storesObjects { return try repository.hashRawObject(kind, bytes) }
        writeLock.lock()
        defer { writeLock.unlock() }
        if let memory { return try memory.write(kind, bytes) }
        return try repository.writeRawObject(kind, bytes)
    }

    /// The tree of commit `id` after the rewrite, for any commit `rewrite` returned (new or kept); nil for others.
    public func newTree(of id: OID) -> OID? { newTrees[id] }

    /// Rewrites every commit reachable from `tips`, oldest first; returns old id → new id for each of them
    /// (the same id when nothing changed). `progress` gets (done, total) every 1000 commits and at the end.
    ///
    /// `known` maps commits already rewritten (by an earlier rewrite, on this machine or another): they and
    /// their ancestors are not walked, and their children are rebuilt on the new ids — how a machine moves its
    /// own commits onto a history another machine rewrote.
    ///
    /// The result does not depend on `threads`: each commit's new tree depends only on its tree and its rules.
    public func rewrite(tips: [OID], known: [OID: Mapping] = [:], progress: (Int, Int) -> Void = { _, _ in }) throws -> [OID: Mapping] {
        var order: [OID] = []
        var commits: [ReadCommit] = []
        if known.isEmpty {
            (order, commits) = try readHistory(tips)
        } else {
            // Commits known to a record, and their ancestors, are hidden: libgit2's walk marks them.
            let walk = try RevWalk(repository, reverse: true)
            try check(git_revwalk_sorting(walk.pointer, GIT_SORT_TOPOLOGICAL.rawValue | GIT_SORT_REVERSE.rawValue), "git_revwalk_sorting")
            for tip in Set(tips) { try walk.push(tip) }
            for old in known.keys where try repository.contains(old) { try walk.hide(old) }
            while let next = try walk.next() { order.append(next) }
        }

        let emptyTree = try storesObjects ? repository.writeRawObject(.tree, []) : repository.hashRawObject(.tree, [])
        var decided = try decideTrees(order, read: commits, emptyTree: emptyTree, progress: progress)
        commits = []

        var map: [OID: Mapping] = known
        map.reserveCapacity(order.count)
        var oldTrees: [OID: OID] = [:]
        newTrees.reserveCapacity(order.count)
        for (i, oid) in order.enumerated() {
            let bytes = decided[i].bytes, parsed = decided[i].parsed, newTree = decided[i].newTree
            decided[i].bytes = []
            oldTrees[oid] = parsed.tree

            var parents: [OID] = []
            for p in parsed.parents {
                let mapped: OID?
                if let m = map[p] { mapped = m } else { mapped = p }
                if let mapped, !parents.contains(mapped) { parents.append(mapped) }
            }
            let wasEmpty = parsed.parents.isEmpty ? parsed.tree == emptyTree : oldTrees[parsed.parents[0]] == parsed.tree
            var parentTree: OID? = nil
            if let first = parents.first { parentTree = try newTrees[first] ?? repository.commit(first).tree }
            let isEmpty = parents.count <= 1 && (parents.isEmpty ? newTree == emptyTree : parentTree == newTree)
            if isEmpty && !wasEmpty {
                map[oid] = .some(parents.first)
                droppedCommits.insert(oid)
                continue
            }
            if newTree == parsed.tree && parents == parsed.parents {
                map[oid] = .some(oid)
                newTrees[oid] = newTree
                continue
            }
            var out = Array("tree \(newTree.hex)\n".utf8)
            for p in parents { out += Array("parent \(p.hex)\n".utf8) }
            out += bytes[parsed.restStart...]
            let newID = try write(.commit, out)
            map[oid] = .some(newID)
            newTrees[newID] = newTree
        }
        progress(order.count, order.count)
        return map
    }

    /// Every commit reachable from `tips`, parents before children (the first parent's history first), each
    /// read once: their ids in that order, with their bytes.
    private func readHistory(_ tips: [OID]) throws -> (order: [OID], commits: [ReadCommit]) {
        var order: [OID] = []
        var commits: [ReadCommit] = []
        var seen = Set<OID>()
        func read(_ oid: OID) throws -> ReadCommit { try ReadCommit(repository, oid) }
        // Depth first; a commit is emitted once all its parents are.
        var stack: [(oid: OID, commit: ReadCommit, next: Int)] = []
        for tip in tips where seen.insert(tip).inserted {
            stack.append((tip, try read(tip), 0))
            while !stack.isEmpty {
                let top = stack.count - 1
                let parents = stack[top].commit.parsed.parents
                if stack[top].next < parents.count {
                    let parent = parents[stack[top].next]
                    stack[top].next += 1
                    if seen.insert(parent).inserted { stack.append((parent, try read(parent), 0)) }
                    continue
                }
                let done = stack.removeLast()
                order.append(done.oid)
                commits.append(done.commit)
            }
        }
        return (order, commits)
    }

    /// Decides the new tree of every commit of `order` (read here unless `read` holds them, in that order), on
    /// `threads` threads (each a contiguous run of `order`, so that consecutive versions of a folder are decided
    /// against each other), and gathers what the workers dropped in the order a single pass would have met it.
    private func decideTrees(_ order: [OID], read: [ReadCommit], emptyTree: OID, progress: (Int, Int) -> Void) throws -> [DecidedCommit] {
        let wanted = threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount
        let count = max(1, min(wanted, order.count))
        let workers = try (0..<count).map { w in
            TreeDecider(w == 0 ? repository : try Repository(at: repository.gitDir), filter: filter, write: { [unowned self] in try self.write($0, $1) })
        }
        for w in workers.dropFirst() { w.repository.rawTreeCacheLimit = repository.rawTreeCacheLimit }
        let done = Counter()
        let slice = (order.count + count - 1) / max(count, 1)
        withoutActuallyEscaping(progress) { progress in
            let run = { (w: Int) in
                let worker = workers[w]
                let start = w * slice
                let end = min(order.count, start + slice)
                do {
                    for i in start..<max(start, end) {
                        let oid = order[i]
                        let (bytes, parsed) = try i < read.count ? read[i].pair : ReadCommit(worker.repository, oid).pair
                        let rules = worker.filter.rules(forCommitTime: parsed.committerTime)
                        let newTree = rules == 0 ? parsed.tree : (try worker.rewriteTree(parsed.tree, path: "", rules: rules) ?? emptyTree)
                        worker.decided.append(DecidedCommit(bytes: bytes, parsed: parsed, newTree: newTree))
                        let total = done.add()
                        if w == 0 && (i - start) % 1000 == 0 { progress(total - 1, order.count) }
                    }
                } catch {
                    worker.error = error
                }
            }
            if count == 1 {
                run(0)
            } else {
                let box = UncheckedBox(run)
                DispatchQueue.concurrentPerform(iterations: count) { box.value($0) }
            }
        }
        var decided: [DecidedCommit] = []
        decided.reserveCapacity(order.count)
        var seenFolders = Set<TreeKey>()
        var pathIDs: [String: Int] = [:]
        for worker in workers {
            if let error = worker.error { throw error }
            decided += worker.decided
            worker.decided = []
            for (path, blobs) in worker.droppedFileVersions { droppedFileVersions[path, default: []].formUnion(blobs) }
            for (path, trees) in worker.droppedFolderOrder.sorted(by: { $0.key < $1.key }) {
                let id: Int
                if let known = pathIDs[path] { id = known } else { id = pathIDs.count; pathIDs[path] = id }
                for tree in trees where seenFolders.insert(TreeKey(oid: tree, path: id, rules: 0)).inserted {
                    droppedFolderOrder[path, default: []].append(tree)
                    droppedFolders[path, default: []].insert(tree)
                }
            }
        }
        return decided
    }

    /// Frees what the rewriter remembers to go faster; the results (`droppedCommits`, `droppedFileVersions`,
    /// `droppedFolders`) stay, `newTree(of:)` answers nil afterwards. Call after `droppedFiles()`, before a step
    /// that needs the memory.
    public func releaseMemos() {
        newTrees = [:]
        droppedFolderOrder = [:]
    }

    /// Every file version that left: path → blob ids, the files of dropped folders included.
    ///
    /// Each distinct dropped tree is read once and each blob counted once, at the first path it was seen under
    /// (a blob that left at one path may still be kept at another). Versions of a folder are read in the order
    /// they left history, each against the previous version of the same path: only entries that differ from it
    /// are looked at (the others were counted with it).
    public func droppedFiles() throws -> [String: Set<OID>] {
        var result = droppedFileVersions
        var seenTrees = Set<RawID>()
        var seenBlobs = Set<RawID>()
        var previous: [String: RawTree] = [:]
        for blobs in droppedFileVersions.values { for b in blobs { seenBlobs.insert(RawID(b.bytes[...])) } }
        func walk(_ tree: OID, _ path: String) throws {
            let raw = try repository.rawTree(tree)
            var changed: [Int] = []
            if let base = previous[path] {
                raw.match(against: base, { i, matched in if matched == nil { changed.append(i) } }, unmatchedBase: { _ in })
            } else {
                changed = Array(raw.entries.indices)
            }
            previous[path] = raw
            var folders: [(OID, String)] = []
            raw.bytes.withUnsafeBufferPointer { buf in
                for i in changed {
                    let e = raw.entries[i]
                    let id = RawID(buf, at: e.nameEnd + 1)
                    let child = path + "/" + String(decoding: raw.name(e), as: UTF8.self)
                    if e.isTree {
                        if seenTrees.insert(id).inserted { folders.append((raw.oid(e), child)) }
                    } else if seenBlobs.insert(id).inserted {
                        result[child, default: []].insert(raw.oid(e))
                    }
                }
            }
            for (oid, child) in folders { try walk(oid, child) }
        }
        for path in droppedFolderOrder.keys.sorted() {
            for tree in droppedFolderOrder[path] ?? [] where seenTrees.insert(RawID(tree.bytes[...])).inserted { try walk(tree, path) }
        }
        return result
    }
}

/// A value handed to `DispatchQueue.concurrentPerform` whose parts each worker uses alone.
private final class UncheckedBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// A count shared by threads.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    /// Adds one; returns the new count.
    func add() -> Int { lock.lock(); defer { lock.unlock() }; count += 1; return count }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

/// A commit's bytes and their parsed parts.
private struct ReadCommit {
    var bytes: [UInt8]
    var parsed: RawCommit

    init(_ repository: Repository, _ oid: OID) throws {
        let (kind, bytes) = try repository.rawObject(oid)
        guard kind == .commit, let parsed = RawCommit(bytes) else {
            throw GitError(code: -1, message: "commit \(oid) is malformed", function: "rewrite")
        }
        self.bytes = bytes
        self.parsed = parsed
    }

    var pair: ([UInt8], RawCommit) { (bytes, parsed) }
}

/// A commit read and decided by a worker: its bytes, their parsed parts and its new tree.
private struct DecidedCommit {
    var bytes: [UInt8]
    var parsed: RawCommit
    var newTree: OID
}

private struct TreeKey: Hashable {
    let oid: OID
    let path: Int
    let rules: UInt64
}

/// Decides the new trees of one run of commits (one per thread): what it remembers to go faster, and what it
/// dropped. Decisions depend only on (tree, path, rules), so workers that split a history agree.
private final class TreeDecider {
    let repository: Repository
    let filter: any TreeFilter
    let write: (ObjectKind, [UInt8]) throws -> OID
    var decided: [DecidedCommit] = []
    var error: Error?

    private var treeMemo: [TreeKey: OID?] = [:]
    private var pathIDs: [String: Int] = [:]
    private var fileMemo: [FileKey: Bool] = [:]

    private struct FileKey: Hashable {
        let blob: RawID
        let folder: Int
        let name: Int
        let rules: UInt64
    }

    /// Files dropped one by one, by path: the distinct blob ids that left.
    var droppedFileVersions: [String: Set<OID>] = [:]
    private var droppedFolderSeen: Set<TreeKey> = []
    /// Folders dropped whole, by path, in the order they were first dropped.
    var droppedFolderOrder: [String: [OID]] = [:]

    init(_ repository: Repository, filter: any TreeFilter, write: @escaping (ObjectKind, [UInt8]) throws -> OID) {
        self.repository = repository
        self.filter = filter
        self.write = write
    }

    /// What became of one entry of an inspected folder.
    private enum EntryOutcome {
        case copied
        case dropped
        case replaced(OID)
    }

    private struct PathRules: Hashable {
        let path: Int
        let rules: UInt64
    }

    /// The last version of each inspected folder (per path and rules): its entries, what became of each, and
    /// the folder's new id. The next version is decided from it plus the entries that differ.
    private var lastInspected: [PathRules: (raw: RawTree, outcome: [EntryOutcome], result: OID?)] = [:]
    /// The filter's decision for each folder path (it depends only on the path and the rules).
    private var folderMemo: [PathRules: FolderDecision] = [:]

    /// The new id of tree `oid` at `path` under `rules`, nil when nothing of it is left.
    ///
    /// A folder changes little from one version to the next (a commit touches a few files), so a version is
    /// decided from the previous version of the same folder: entries identical byte for byte (mode, name, id)
    /// keep the previous outcome, only the others are decided, and when none of them changes what is kept, the
    /// new folder is the previous new folder (nothing serialized, nothing hashed).
    func rewriteTree(_ oid: OID, path: String, rules: UInt64) throws -> OID? {
        let pathID: Int
        if let id = pathIDs[path] { pathID = id } else { pathID = pathIDs.count; pathIDs[path] = pathID }
        let key = TreeKey(oid: oid, path: pathID, rules: rules)
        if let known = treeMemo[key] { return known }
        let raw = try repository.rawTree(oid)
        let slot = PathRules(path: pathID, rules: rules)
        let base = lastInspected[slot]
        var outcome: [EntryOutcome] = []
        outcome.reserveCapacity(raw.entries.count)
        // Whether the kept entries may differ from the base version's kept entries.
        var keptChanged = base == nil
        var thrown: Error? = nil

        func decide(_ e: RawTree.Entry) throws -> EntryOutcome {
            var child: String {
                let name = String(decoding: raw.name(e), as: UTF8.self)
                return path.isEmpty ? name : path + "/" + name
            }
            if e.isTree {
                let child = child
                let id: Int
                if let known = pathIDs[child] { id = known } else { id = pathIDs.count; pathIDs[child] = id }
                let decision: FolderDecision
                if let known = folderMemo[PathRules(path: id, rules: rules)] {
                    decision = known
                } else {
                    decision = filter.folder(child, rules: rules)
                    folderMemo[PathRules(path: id, rules: rules)] = decision
                }
                switch decision {
                case .keep:
                    return .copied
                case .drop:
                    noteDroppedFolder(child, raw.oid(e))
                    return .dropped
                case .inspect:
                    let old = raw.oid(e)
                    guard let new = try rewriteTree(old, path: child, rules: rules) else { return .dropped }
                    return new == old ? .copied : .replaced(new)
                }
            }
            // Versions of different folders share files: remember each (folder, name, blob) decision.
            let fileKey = raw.bytes.withUnsafeBufferPointer { buf -> FileKey in
                var h = Hasher()
                h.combine(bytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: buf[e.nameStart..<e.nameEnd])))
                return FileKey(blob: RawID(buf, at: e.nameEnd + 1), folder: pathID, name: h.finalize(), rules: rules)
            }
            if fileMemo[fileKey] == true { return .copied }
            let blob = raw.oid(e)
            let keep = filter.keepFile(child, blob: blob, rules: rules)
            fileMemo[fileKey] = keep
            if keep { return .copied }
            droppedFileVersions[child, default: []].insert(blob)
            return .dropped
        }

        if let base {
            raw.match(against: base.raw, { i, matched in
                guard thrown == nil else { return }
                if let matched {
                    outcome.append(base.outcome[matched])
                    return
                }
                do {
                    let o = try decide(raw.entries[i])
                    if case .dropped = o {} else { keptChanged = true }
                    outcome.append(o)
                } catch { thrown = error; outcome.append(.copied) }
            }, unmatchedBase: { j in
                if case .dropped = base.outcome[j] {} else { keptChanged = true }
            })
            if let thrown { throw thrown }
        } else {
            for e in raw.entries { outcome.append(try decide(e)) }
        }

        let result: OID?
        if !outcome.contains(where: { if case .copied = $0 { return false } else { return true } }) {
            result = oid
        } else if let base, !keptChanged {
            result = base.result
        } else {
            var out: [UInt8] = []
            out.reserveCapacity(raw.bytes.count)
            for (e, o) in zip(raw.entries, outcome) {
                switch o {
                case .copied: out += raw.bytes[e.start..<e.end]
                case .dropped: continue
                case .replaced(let new):
                    out += raw.bytes[e.start...e.nameEnd]
                    out += new.bytes
                }
            }
            result = out.isEmpty ? nil : try write(.tree, out)
        }
        lastInspected[slot] = (raw, outcome, result)
        treeMemo[key] = .some(result)
        return result
    }


    private func noteDroppedFolder(_ path: String, _ tree: OID) {
        let pathID: Int
        if let id = pathIDs[path] { pathID = id } else { pathID = pathIDs.count; pathIDs[path] = pathID }
        guard droppedFolderSeen.insert(TreeKey(oid: tree, path: pathID, rules: 0)).inserted else { return }
        droppedFolderOrder[path, default: []].append(tree)
    }

}

/// 20 raw id bytes as a value that hashes without allocating.
public struct RawID: Hashable, Sendable {
    let a: UInt64, b: UInt64, c: UInt32

    init(_ buf: UnsafeBufferPointer<UInt8>, at offset: Int) {
        let raw = UnsafeRawPointer(buf.baseAddress! + offset)
        a = raw.loadUnaligned(as: UInt64.self)
        b = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        c = raw.loadUnaligned(fromByteOffset: 16, as: UInt32.self)
    }

    init(_ bytes: ArraySlice<UInt8>) {
        let copy = Array(bytes)
        self = copy.withUnsafeBufferPointer { RawID($0, at: 0) }
    }
}

/// A commit object's bytes split where a rewrite needs them: tree, parents, committer time, and the offset of
/// everything after the parent lines (author, committer, other headers and the message), kept byte for byte.
public struct RawCommit {
    public let tree: OID
    public let parents: [OID]
    public let committerTime: Int64
    public let restStart: Int

    public init?(_ bytes: [UInt8]) {
        func hexID(at i: Int) -> OID? {
            guard i + 40 <= bytes.count else { return nil }
            return OID(hex: String(decoding: bytes[i..<(i + 40)], as: UTF8.self))
        }
        let treePrefix = Array("tree ".utf8), parentPrefix = Array("parent ".utf8)
        guard bytes.starts(with: treePrefix), let tree = hexID(at: 5), bytes.count > 45, bytes[45] == 0x0A else { return nil }
        var i = 46
        var parents: [OID] = []
        while bytes[i...].starts(with: parentPrefix) {
            guard let p = hexID(at: i + 7), i + 47 < bytes.count, bytes[i + 47] == 0x0A else { return nil }
            parents.append(p)
            i += 48
        }
        self.tree = tree
        self.parents = parents
        restStart = i
        // The committer line: "committer NAME <EMAIL> SECONDS ZONE".
        var time: Int64 = 0
        let committer = Array("\ncommitter ".utf8)
        var j = i - 1
        while j + committer.count < bytes.count {
            if bytes[j] == 0x0A && j + 1 < bytes.count && bytes[j + 1] == 0x0A { break } // end of headers
            if bytes[j...].starts(with: committer) {
                var end = j + committer.count
                while end < bytes.count && bytes[end] != 0x0A { end += 1 }
                let fields = bytes[(j + committer.count)..<end].split(separator: 0x20)
                if fields.count >= 2 { time = Int64(String(decoding: fields[fields.count - 2], as: UTF8.self)) ?? 0 }
                break
            }
            j += 1
        }
        committerTime = time
    }
}
