import CGit2
import Foundation

/// Where one line of a file came from.
public struct BlameLine: Hashable, Sendable {
    /// The commit that last changed the line.
    public let commit: OID
    /// The path of the file in that commit (differs after a rename).
    public let path: String
    /// The line number in that commit's version of the file.
    public let originalLine: Int
}

/// A changed region between two versions of a file: lines `oldStart..<oldStart+oldLines` became
/// `newStart..<newStart+newLines` (1-based; a count of 0 starts after the line named).
struct LineHunk: Sendable {
    let oldStart: Int, oldLines: Int, newStart: Int, newLines: Int
}

extension Repository {
    /// The commit that last changed line `line` (1-based) of `path` as of commit `newest`, or nil when the file has
    /// no such line. Throws when `path` is not a file in `newest`.
    ///
    /// Follows one line, as `git blame -L line,line` does, and stops as soon as it is attributed: from commit to
    /// parent while the file's blob is unchanged (one lookup per commit, folders read once each; see `PathLookup`),
    /// through a line diff where it changed, and to the old path where the file was renamed. At a merge the line
    /// goes to the first parent with the same blob, else to the first parent where the line is unchanged; the commit
    /// is blamed when no parent has the line.
    public func blame(path: String, line: Int, newest: OID) throws -> BlameLine? {
        var links = try commitLinks(newest)
        var lookup = PathLookup(self, path: path)
        guard let start = try lookup.entry(in: links.tree), !start.isTree else {
            throw GitError(code: GIT_ENOTFOUND.rawValue, message: "the path '\(path)' does not exist in the given tree", function: "blame")
        }
        guard line >= 1, line <= (try lineCount(start.oid)) else { return nil }
        var commit = newest, blob = start.oid, line = line

        struct Step { let commit: OID, links: CommitLinks, lookup: PathLookup, blob: OID }
        while true {
            var same: Step? = nil
            var changed: [Step] = []
            for parent in links.parents {
                let parentLinks = try commitLinks(parent)
                var step: Step? = nil
                if let e = try lookup.entry(in: parentLinks.tree), !e.isTree {
                    step = Step(commit: parent, links: parentLinks, lookup: lookup, blob: e.oid)
                } else if let source = try renameSource(of: lookup.path, from: parentLinks.tree, to: links.tree) {
                    step = Step(commit: parent, links: parentLinks, lookup: PathLookup(self, path: source.path), blob: source.oid)
                }
                guard let step else { continue }
                if step.blob == blob { same = step; break }
                changed.append(step)
            }
            var next = same.map { ($0, line) }
            if next == nil {
                for step in changed {
                    if let old = try lineBefore(line, old: step.blob, new: blob) { next = (step, old); break }
                }
            }
            guard let (step, parentLine) = next else {
                return BlameLine(commit: commit, path: lookup.path, originalLine: line)
            }
            commit = step.commit; links = step.links; lookup = step.lookup; blob = step.blob; line = parentLine
        }
    }

    /// The path and blob `path` had in tree `old` when the change from `old` to `new` renamed it (nil otherwise).
    private func renameSource(of path: String, from old: OID, to new: OID) throws -> (path: String, oid: OID)? {
        var options = DiffOptions()
        options.includeUntracked = false
        options.contextLines = 0
        let diff = try self.diff(from: old, to: new, options: options)
        for d in diff.deltas(checkingBinary: false) where d.newPath == path && d.kind == .renamed {
            return (d.oldPath, d.oldOID)
        }
        return nil
    }

    /// The number of lines of blob `oid` (a last line without a newline counts).
    func lineCount(_ oid: OID) throws -> Int {
        let data = try blob(oid)
        var count = 0
        data.withUnsafeBytes { buf in
            for b in buf where b == 0x0A { count += 1 }
        }
        if let last = data.last, last != 0x0A { count += 1 }
        return count
    }

    /// The line of blob `old` that line `line` of blob `new` was, or nil when the change from `old` to `new` added or
    /// rewrote it.
    func lineBefore(_ line: Int, old: OID, new: OID) throws -> Int? {
        var shift = 0
        for h in try lineHunks(old: old, new: new) {
            // Lines before the hunk keep their place (shifted by the hunks above); lines in it are new.
            let newEnd = h.newLines == 0 ? h.newStart + 1 : h.newStart
            if line < newEnd { break }
            if h.newLines > 0, line < h.newStart + h.newLines { return nil }
            shift += h.newLines - h.oldLines
        }
        return line - shift
    }

    /// The changed regions from blob `old` to blob `new`, as text, without context (the xdiff `git blame` uses).
    func lineHunks(old: OID, new: OID) throws -> [LineHunk] {
        var a = old.raw, b = new.raw
        var oldBlob: OpaquePointer? = nil, newBlob: OpaquePointer? = nil
        try check(git_blob_lookup(&oldBlob, pointer, &a), "git_blob_lookup")
        defer { git_blob_free(oldBlob) }
        try check(git_blob_lookup(&newBlob, pointer, &b), "git_blob_lookup")
        defer { git_blob_free(newBlob) }
        var opts = git_diff_options()
        try check(cairn_git_diff_options_init(&opts), "git_diff_options_init")
        opts.context_lines = 0
        opts.flags |= GIT_DIFF_FORCE_TEXT.rawValue
        final class Box { var hunks: [LineHunk] = [] }
        let box = Box()
        try withExtendedLifetime(box) {
            try check(git_diff_blobs(oldBlob, nil, newBlob, nil, &opts, nil, nil, { _, hunk, payload in
                guard let hunk, let payload else { return 0 }
                let h = hunk.pointee
                Unmanaged<Box>.fromOpaque(payload).takeUnretainedValue().hunks.append(
                    LineHunk(oldStart: Int(h.old_start), oldLines: Int(h.old_lines), newStart: Int(h.new_start), newLines: Int(h.new_lines)))
                return 0
            }, nil, Unmanaged.passUnretained(box).toOpaque()), "git_diff_blobs")
        }
        return box.hunks
    }
}
