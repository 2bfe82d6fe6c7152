import Foundation

/// A walk over history, newest commit date first, that reads commits only as it goes.
///
/// The order `git log` shows by default: a queue ordered by committer date, into which each commit's parents go as
/// it comes out. Unlike a libgit2 revwalk, which with any sorting reads the whole history before the first commit
/// (libgit2 1.5 marks every sorted walk "limited"), the first commits cost the same however deep the history is.
/// A parent can come before a child whose date is older (clock skew), as in `git log`.
public final class DateOrderWalk {
    let repository: Repository
    /// A max-heap on (time, -order): newest first, and among equal times the one queued first.
    private var heap: [(time: Int64, order: Int, oid: OID, links: CommitLinks)] = []
    private var seen = Set<OID>()
    /// The links of commits queued and not yet returned (the parents of those returned so far).
    private var pending: [OID: CommitLinks] = [:]
    private var queued = 0

    /// Starts at `tips` (each shown once, even when reachable from another).
    public init(_ repository: Repository, from tips: [OID]) throws {
        self.repository = repository
        for tip in tips { try enqueue(tip) }
    }

    /// The next commit and its links, or nil at the end.
    public func next() throws -> (oid: OID, links: CommitLinks)? {
        guard let top = pop() else { return nil }
        pending[top.oid] = nil
        for parent in top.links.parents { try enqueue(parent) }
        return (top.oid, top.links)
    }

    /// The links of `oid`: from the queue when the walk has already read them (the parents of the commit just
    /// returned), from the repository otherwise.
    public func links(of oid: OID) throws -> CommitLinks {
        if let known = pending[oid] { return known }
        return try repository.commitLinks(oid)
    }

    private func enqueue(_ oid: OID) throws {
        guard seen.insert(oid).inserted else { return }
        let links = try repository.commitLinks(oid)
        pending[oid] = links
        heap.append((links.time, queued, oid, links))
        queued += 1
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard Self.before(heap[i], heap[parent]) else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private func pop() -> (time: Int64, order: Int, oid: OID, links: CommitLinks)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let top = heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var best = i
            if l < heap.count, Self.before(heap[l], heap[best]) { best = l }
            if r < heap.count, Self.before(heap[r], heap[best]) { best = r }
            if best == i { break }
            heap.swapAt(i, best)
            i = best
        }
        return top
    }

    private static func before(_ a: (time: Int64, order: Int, oid: OID, links: CommitLinks),
                               _ b: (time: Int64, order: Int, oid: OID, links: CommitLinks)) -> Bool {
        a.time != b.time ? a.time > b.time : a.order < b.order
    }
}
