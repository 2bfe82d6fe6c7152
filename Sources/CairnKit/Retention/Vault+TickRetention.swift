import CairnGit
import Foundation

/// A day's estimate of what a prune would remove, cached in `.git/cairn/prune-estimate.json` so a tick every
/// minute walks history at most once a day.
struct PruneEstimate: Codable {
    var day: String
    var line: String?
    /// The wording the line is in; a line cached in another (an older cairn's) is estimated again.
    var format: Int?

    static let currentFormat = 2
}

extension Vault {
    /// The retention part of a tick: runs `cairn prune` when `retention.prune_every_days` says one is due, and
    /// reports once a day what a prune would remove. Runs before the rest of the tick, so the tick sees the
    /// rewritten history. Errors become an action with the error, never a failed tick.
    func tickRetention(now: Date, author: OperatorIdentity) -> (actions: [TickAction], waiting: [String]) {
        guard let policy = try? loadPolicy() else { return ([], []) }
        var actions: [TickAction] = []
        let every = policy.retention.pruneEveryDays
        if every > 0 {
            let last = (try? repository.referenceTarget(RewriteRecord.reference)).flatMap { $0 }
                .flatMap { try? repository.commit($0).committer.time }
            if last.map({ now.timeIntervalSince($0) >= Double(every) * 86_400 }) ?? true {
                let trigger = "retention.prune_every_days \(every)"
                do {
                    let r = try prune(PruneOptions(), policy: policy, author: author, now: now)
                    let detail = r.isEmpty ? "nothing to remove"
                        : "\(r.fileVersionsRemoved) file versions and \(r.referencesDeleted.count) references removed, "
                          + "\(r.commitsRewritten) commits rewritten"
                    actions.append(TickAction(kind: .advanced, workflow: "retention", run: r.record, trigger: trigger, status: "done", detail: detail))
                    try? FileManager.default.removeItem(atPath: gitDir + "cairn/prune-estimate.json")
                } catch {
                    actions.append(TickAction(kind: .error, workflow: "retention", run: nil, trigger: trigger, status: "failed", detail: "\(error)"))
                }
            }
        }
        return (actions, pruneEstimate(policy: policy, now: now).map { [$0] } ?? [])
    }

    /// "A prune would remove …", from a dry run at most once per UTC day; nil when it would remove nothing.
    func pruneEstimate(policy: Policy, now: Date) -> String? {
        let path = gitDir + "cairn/prune-estimate.json"
        let day = String(ISOTime.string(now).prefix(10))
        if let data = FileManager.default.contents(atPath: path),
           let cached = try? JSONDecoder().decode(PruneEstimate.self, from: data), cached.day == day,
           cached.format == PruneEstimate.currentFormat {
            return cached.line
        }
        guard let plan = try? prune(PruneOptions(dryRun: true), policy: policy, author: OperatorIdentity(name: "cairn", email: "cairn@localhost"), now: now) else {
            return nil
        }
        // The space it frees is the dry run's estimate of what the removed versions take in the object store, as
        // `cairn prune --dry-run` words it ("about … to reclaim"), not their size before compression.
        func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }
        let line: String? = plan.isEmpty ? nil
            : "Retention: a prune would remove \(count(plan.fileVersionsRemoved, "file version")) and "
              + "\(count(plan.referencesDeleted.count, "old reference")), "
              + "about \(ByteCountFormatter.string(fromByteCount: Int64(plan.diskBytesReclaimable), countStyle: .file)) to reclaim "
              + "— `cairn prune --dry-run` shows the plan"
        if let data = try? JSONEncoder().encode(PruneEstimate(day: day, line: line, format: PruneEstimate.currentFormat)) {
            FileManager.default.createFile(atPath: path, contents: data)
        }
        return line
    }

    /// `oid`, or what a recorded rewrite turned it into when it is no longer in the repository (a commit id
    /// remembered from before a prune: tick state, workflow state, a run's base).
    public func resolveRewritten(_ oid: OID) -> OID {
        if (try? repository.contains(oid)) == true { return oid }
        guard let records = try? RewriteRecord.load(from: repository) else { return oid }
        let map = RewriteFollower.combinedMap(records)
        return (map[oid] ?? nil) ?? oid
    }
}
