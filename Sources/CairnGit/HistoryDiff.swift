import CGit2
import Foundation

extension Repository {
    /// The paths of the files that differ between tree `old` and tree `new` (nil: the empty tree), limited to `path`
    /// (a file or folder; "" is the whole tree), in tree order; nil when a name on the way is not UTF-8 (the caller
    /// then diffs without the list).
    ///
    /// Reads only the folders whose ids differ, as `git diff-tree -r` does. libgit2's tree-to-tree diff instead
    /// iterates every entry of both trees (10,000 entries for a commit that changed 3 of 5,000 notes); given these
    /// paths as its path list it reads only the folders that hold them. A file that became a folder (or the other
    /// way) is listed once, by the name both have: as a path list entry it also covers the files under it.
    public func changedFiles(from old: OID?, to new: OID?, under path: String = "") throws -> [String]? {
        struct Node { let oid: OID; let mode: UInt32; var isTree: Bool { mode & 0o170000 == 0o040000 } }
        var a = old.map { Node(oid: $0, mode: 0o040000) }, b = new.map { Node(oid: $0, mode: 0o040000) }
        for component in path.split(separator: "/") {
            let name = ArraySlice(Array(component.utf8))
            func child(_ node: Node?) throws -> Node? {
                guard let node, node.isTree else { return nil }
                let tree = try rawTree(node.oid)
                guard let i = tree.index(of: name) else { return nil }
                return Node(oid: tree.oid(tree.entries[i]), mode: tree.mode(tree.entries[i]))
            }
            a = try child(a)
            b = try child(b)
        }
        var out: [String] = []
        func collect(_ a: Node?, _ b: Node?, _ path: String) throws -> Bool {
            if let a, let b, a.oid == b.oid, a.mode == b.mode { return true }
            if a == nil, b == nil { return true }
            if a.map({ !$0.isTree }) ?? false || b.map({ !$0.isTree }) ?? false {
                out.append(path)
                return true
            }
            let ta = try a.map { try rawTree($0.oid) } ?? .empty, tb = try b.map { try rawTree($0.oid) } ?? .empty
            var i = 0, j = 0
            while i < ta.entries.count || j < tb.entries.count {
                let ea = i < ta.entries.count ? ta.entries[i] : nil, eb = j < tb.entries.count ? tb.entries[j] : nil
                // The same entry (mode, name and id) on both sides: nothing under it changed. Most entries are;
                // their bytes are compared in place and nothing is built for them.
                if let ea, let eb, ea.end - ea.start == eb.end - eb.start,
                   ta.bytes.withUnsafeBufferPointer({ pa in tb.bytes.withUnsafeBufferPointer { pb in
                       memcmp(pa.baseAddress! + ea.start, pb.baseAddress! + eb.start, ea.end - ea.start) == 0 } }) {
                    i += 1; j += 1
                    continue
                }
                let order: Int
                if let ea, let eb { order = RawTree.compare(ta.name(ea), ea.isTree, tb.name(eb), eb.isTree) } else { order = ea == nil ? 1 : -1 }
                let nameBytes = order <= 0 ? ta.name(ea!) : tb.name(eb!)
                guard let name = String(validating: nameBytes, as: UTF8.self) else { return false }
                let childPath = path.isEmpty ? name : path + "/" + name
                let na = order <= 0 ? Node(oid: ta.oid(ea!), mode: ta.mode(ea!)) : nil
                let nb = order >= 0 ? Node(oid: tb.oid(eb!), mode: tb.mode(eb!)) : nil
                guard try collect(na, nb, childPath) else { return false }
                if order <= 0 { i += 1 }
                if order >= 0 { j += 1 }
            }
            return true
        }
        return try collect(a, b, path) ? out : nil
    }
}

extension Repository {
    /// A second handle on this repository whose git index is an empty one in memory, for diffs between commits.
    ///
    /// To count a diff's lines libgit2 looks up each changed file's attributes (its diff driver), and the first
    /// lookup loads and parses the whole git index to find `.gitattributes` files staged there: a third of
    /// `cairn log -n 20` on a 5,000-note vault. `git log` reads attributes from the working tree only, and so does
    /// a diff made through this handle. Never write through it.
    public func withoutIndex() throws -> Repository {
        let other = try Repository(at: workdir ?? gitDir)
        var index: OpaquePointer? = nil
        try check(git_index_new(&index), "git_index_new")
        defer { git_index_free(index) }
        try check(git_repository_set_index(other.pointer, index), "git_repository_set_index")
        return other
    }
}
