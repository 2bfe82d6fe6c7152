import CairnGit
import Foundation

/// The refs a sync sends and takes besides main.
struct RefPlan {
    /// Push refspecs (`src:dst`, `:dst` to delete); never forced.
    var pushes: [String] = []
    /// Refs created or moved locally from the remote.
    var received: [String] = []
}

extension Vault {
    /// Where a ref that diverged from the remote's is kept (the remote's stands: it got there first).
    static let overruledPrefix = "refs/cairn/overruled/"

    /// Reconciles proposals and vault state (`refs/cairn/`) with what the remote advertised. Runs after main is
    /// integrated, so decisions that arrived with main are known.
    ///
    /// - A ref only one side has goes to the other (unless the proposal was decided: then it is archived here and
    ///   deleted on the remote, only if the remote's still points where this machine saw it).
    /// - A ref one side moved ahead fast-forwards on the other.
    /// - A ref both sides moved differently: the remote's stands; this machine's is kept under
    ///   `refs/cairn/overruled/<machine>/…` and a notice says so. Nothing is forced or lost.
    func reconcileRefs(remote: RemoteInfo, advertised: [String: OID], notices: inout [String]) throws -> RefPlan {
        var plan = RefPlan()
        let dropped = try refsDroppedByRetention()
        // Vault state first: archive refs that arrive decide which proposals are settled.
        var local: [String: OID] = [:]
        for r in try repository.references(withPrefix: "refs/cairn/") where !Self.machineLocalRefs.contains(r.name) { local[r.name] = r.target }
        let remoteCairn = advertised.filter { $0.key.hasPrefix("refs/cairn/") && !Self.machineLocalRefs.contains($0.key) }
        for name in Set(local.keys).union(remoteCairn.keys).sorted() {
            try reconcile(name: name, local: local[name], remote: remoteCairn[name], dropped: dropped.contains(name),
                          plan: &plan, notices: &notices)
        }

        let mainTree = try head().map { try repository.commit($0).tree }
        var localProposals: [String: OID] = [:]
        for r in try repository.references(withPrefix: Self.proposalPrefix) { localProposals[r.name] = r.target }
        let remoteProposals = advertised.filter { $0.key.hasPrefix(Self.proposalPrefix) }
        for name in Set(localProposals.keys).union(remoteProposals.keys).sorted() {
            let id = String(name.dropFirst(Self.proposalPrefix.count))
            let l = localProposals[name], r = remoteProposals[name]
            let archived = try repository.referenceTarget(Self.archivePrefix + id)
            let decided = try mainTree.map { try repository.entry(at: ApprovalRecord.path(runID: id), in: $0) != nil } ?? false
            if decided || archived != nil {
                if let l { try archive(id, commit: l, from: Self.proposalPrefix) }
                let settled = try repository.referenceTarget(Self.archivePrefix + id)
                if let r {
                    if r == l || r == settled {
                        plan.pushes.append(":\(name)")
                    } else {
                        notices.append("proposal \(id) was decided, but its branch on \(remote.name) moved since; it is left there")
                    }
                }
                continue
            }
            try reconcile(name: name, local: l, remote: r, dropped: false, plan: &plan, notices: &notices)
        }
        return plan
    }

    private func reconcile(name: String, local l: OID?, remote r: OID?, dropped: Bool, plan: inout RefPlan, notices: inout [String]) throws {
        switch (l, r) {
        case (nil, nil): return
        case (let l?, nil):
            plan.pushes.append("\(name):\(name)")
            _ = l
        case (nil, let r?):
            if dropped { return }
            try repository.updateReference(name, to: r, expected: nil, message: "cairn sync: from remote")
            plan.received.append(name)
        case (let l?, let r?):
            if l == r { return }
            if try repository.isAncestor(r, of: l) {
                plan.pushes.append("\(name):\(name)")
            } else if try repository.isAncestor(l, of: r) {
                try repository.updateReference(name, to: r, expected: l, message: "cairn sync: fast-forward from remote")
                plan.received.append(name)
            } else {
                let kept = Self.overruledPrefix + machine + "/" + name.dropFirst("refs/".count)
                try repository.updateReference(kept, to: l, expected: try repository.referenceTarget(kept), message: "cairn sync: kept aside")
                try repository.updateReference(name, to: r, expected: l, message: "cairn sync: the remote's stands")
                plan.received.append(name)
                notices.append("\(name) changed on both machines; the remote's version stands (it got there first), this machine's is kept as \(kept)")
            }
        }
    }
}
