import CairnGit
import Foundation

/// Whose claim an outbox item carries.
enum OutboxClaim: Equatable {
    /// No machine claimed it.
    case none
    /// This machine did (a crash may have come before or after the claim reached the remote).
    case mine(OID)
    /// Another machine did: it sends the item, or reconciles it after a crash.
    case other(machine: String)
}

extension Vault {
    static let claimTrailer = "Cairn-Outbox-Claim"

    /// The remote an outbox claim must reach before anything is sent: `sync.tick_remote`, else the vault's only remote
    /// or `origin`; nil when the vault has no remote (one machine: the local claim ref is enough).
    func outboxClaimRemote() throws -> String? {
        if !config.sync.tickRemote.isEmpty { return config.sync.tickRemote }
        return try remotes().isEmpty ? nil : try chooseRemote(nil).name
    }

    func outboxClaim(_ id: String, machine: String) throws -> OutboxClaim {
        guard let target = try repository.referenceTarget(Self.outboxClaimRef(id)) else { return .none }
        let owner = (try? repository.commit(target).trailer(Self.claimTrailer)) ?? nil
        return owner == machine ? .mine(target) : .other(machine: owner ?? "another machine")
    }

    /// Claims item `id` for this machine before anything goes on the wire: creates `refs/cairn/outbox/<id>` (never
    /// moved) at a claim commit that names the machine, and, when the vault has a remote, pushes that ref there
    /// without force. The remote takes the create only if no machine's claim is there yet (the push is a
    /// compare-and-swap against "absent"), so of two synced machines exactly one wins.
    ///
    /// Returns nil when the claim is this machine's, or why the item must not be sent here now.
    func claimOutboxItem(_ id: String, machine: String, now: Date, author: OperatorIdentity,
                         environment: ConnectorEnvironment) throws -> String? {
        let ref = Self.outboxClaimRef(id)
        var claim = try outboxClaim(id, machine: machine)
        if case .other(let owner) = claim { return "claimed by \(owner) (\(ref)); not sent here" }
        if claim == .none {
            guard let main = try head() else { return "\(branch) has no commit yet" }
            let sig = Signature(name: author.name, email: author.email, time: now)
            let message = Trailer.message(subject: "Outbox claim \(id) by \(machine)", body: "", trailers: [
                Trailer("Cairn-Operation", "outbox-claim"), Trailer("Cairn-Outbox", id), Trailer(Self.claimTrailer, machine),
            ])
            let commit = try repository.createCommit(tree: try repository.commit(main).tree, parents: [main], author: sig,
                                                     committer: sig, message: message)
            do {
                try repository.updateReference(ref, to: commit, expected: nil, message: "cairn outbox claim \(id)")
            } catch {
                // Another process here claimed it a moment ago.
                claim = try outboxClaim(id, machine: machine)
                if case .other(let owner) = claim { return "claimed by \(owner) (\(ref)); not sent here" }
            }
            claim = .mine(commit)
        }
        CrashPoints.hit(.outboxBeforeClaimPush)
        guard let remote = try outboxClaimRemote() else { return nil }
        let updates: [PushUpdate]
        do {
            updates = try repository.push(remote: remote, refspecs: ["\(ref):\(ref)"], credentials: environment.transport ?? TransportCredentials())
        } catch where isNonFastForward(error) {
            return try lostClaim(id, remote: remote, machine: machine, environment: environment)
        } catch {
            // Offline: no machine can be sure the other has not claimed it, so nothing is sent until the claim is pushed.
            return "could not claim it on remote \(remote) (\(error)); waits for the next run"
        }
        if updates.contains(where: { $0.rejection != nil }) { return try lostClaim(id, remote: remote, machine: machine, environment: environment) }
        return nil
    }

    /// Another machine's claim reached the remote first: take it here too, so this machine leaves the item alone.
    private func lostClaim(_ id: String, remote: String, machine: String, environment: ConnectorEnvironment) throws -> String {
        let ref = Self.outboxClaimRef(id)
        let tracking = Self.cairnTrackingPrefix(remote) + ref.dropFirst("refs/cairn/".count)
        let refs = try? repository.fetch(remote: remote, refspecs: ["+\(ref):\(tracking)"], credentials: environment.transport ?? TransportCredentials())
        var owner = "another machine"
        let advertised = refs?.first(where: { $0.name == ref })?.target
        if let theirs = try advertised ?? repository.referenceTarget(tracking) {
            owner = ((try? repository.commit(theirs).trailer(Self.claimTrailer)) ?? nil) ?? owner
            let mine = try repository.referenceTarget(ref)
            // This machine's claim is kept aside (sync would do the same), the remote's stands.
            if let mine, mine != theirs {
                let kept = Self.overruledPrefix + machine + "/" + ref.dropFirst("refs/".count)
                try? repository.updateReference(kept, to: mine, expected: nil, message: "cairn outbox: claim lost")
                try repository.updateReference(ref, to: theirs, expected: mine, message: "cairn outbox: the remote's claim stands")
            }
        }
        return "claimed by \(owner) on remote \(remote) first (\(ref)); not sent here"
    }
}
