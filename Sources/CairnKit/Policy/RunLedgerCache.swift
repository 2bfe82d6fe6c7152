import CairnGit
import Foundation

/// The day's run ledger as read from run commits, kept in `.git/cairn/ledger-YYYYMMDD.tsv`.
///
/// Quotas and breakers read the trailers of every run commit of the day before each run and each tick; with
/// a workflow ticking every minute that is over a thousand commits a day. A ledger entry depends only on its
/// commit (trailers never change), so this cache keys each entry by run id and commit id: an entry whose ref
/// now points elsewhere is read again, and the file is only ever a derived copy (a damaged or foreign line
/// is ignored; deleting the file costs one slower run). Written with a rename, without fsync.
struct RunLedgerCache {
    private struct Line { let commit: String; let entry: RunLedgerEntry? }
    private var lines: [String: Line] = [:]
    private var changed = false
    private let path: String
    private let folder: String
    private let day: String

    init(gitDir: String, day: String) {
        folder = (gitDir.hasSuffix("/") ? gitDir : gitDir + "/") + "cairn"
        self.day = day
        path = folder + "/ledger-\(day).tsv"
        guard let data = FileManager.default.contents(atPath: path) else { return }
        // Parsed as bytes: Character-level String splitting cost ~50 k instructions a line.
        let dayBytes = Array(day.utf8)
        data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            for line in buf.split(separator: 0x0A) {
                let f = line.split(separator: 0x09, omittingEmptySubsequences: false)
                guard f.count == 7, f[1].count == 40, f[0].starts(with: dayBytes) else { continue }
                func text(_ i: Int) -> String { String(decoding: f[i], as: UTF8.self) }
                let id = text(0)
                if f[2].isEmpty {
                    lines[id] = Line(commit: text(1), entry: nil)
                } else if let tokens = Int(text(5)), let cost = Double(text(6)) {
                    lines[id] = Line(commit: text(1), entry: RunLedgerEntry(id: id, agent: text(2), workflowRun: f[3].isEmpty ? nil : text(3),
                                                                          outcome: f[4].isEmpty ? nil : text(4), tokens: tokens, costUSD: cost))
                }
            }
        }
    }

    /// The cached entry of run `id` at `commit`: `.some(nil)` for a commit that is not a run's, nil when not cached.
    func entry(id: String, commit: OID) -> RunLedgerEntry?? {
        guard let line = lines[id], line.commit == commit.hex else { return nil }
        return .some(line.entry)
    }

    mutating func set(id: String, commit: OID, entry: RunLedgerEntry?) {
        let fields = [entry?.agent, entry?.workflowRun, entry?.outcome].compactMap { $0 }
        // A value that would break the line format is simply not cached.
        guard !id.contains("\t"), !fields.contains(where: { $0.contains("\t") || $0.contains("\n") }) else { return }
        lines[id] = Line(commit: commit.hex, entry: entry)
        changed = true
    }

    /// Writes the file when something was added, and removes other days' files.
    func save() {
        guard changed else { return }
        var out: [UInt8] = []
        out.reserveCapacity(lines.count * 96)
        for (id, line) in lines {
            let e = line.entry
            let fields = [id, line.commit, e?.agent ?? "", e?.workflowRun ?? "", e?.outcome ?? "", String(e?.tokens ?? 0), String(e?.costUSD ?? 0)]
            for (i, field) in fields.enumerated() {
                if i > 0 { out.append(0x09) }
                out.append(contentsOf: field.utf8)
            }
            out.append(0x0A)
        }
        let fm = FileManager.default
        guard (try? fm.createDirectory(atPath: folder, withIntermediateDirectories: true)) != nil else { return }
        let temporary = folder + "/.ledger-\(day)-\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        let written = out.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == out.count else { unlink(temporary); return }
        if rename(temporary, path) != 0 { unlink(temporary); return }
        for name in (try? fm.contentsOfDirectory(atPath: folder)) ?? [] where name.hasPrefix("ledger-") && name != "ledger-\(day).tsv" {
            try? fm.removeItem(atPath: folder + "/" + name)
        }
    }
}
