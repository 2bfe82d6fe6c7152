import CGit2
import CGit2Helpers
import Foundation

/// One reference a compare-and-swap push sets: to `new` (nil: delete) only if the remote still holds `expected`
/// (nil: only if absent).
public struct LeasedPush: Sendable, Hashable {
    public let name: String
    public let new: OID?
    public let expected: OID?
    public init(name: String, new: OID?, expected: OID?) { self.name = name; self.new = new; self.expected = expected }
}

extension Repository {
    /// Where a push with leases names the commits it sends, for the push only.
    public static let pushStagingPrefix = "refs/cairn-push/"

    /// Pushes `updates` to remote `name` as forced updates guarded by compare-and-swap (git's
    /// `--force-with-lease`): just before the commands are sent, every reference the remote advertises is checked
    /// against its `expected` value, and if any differs nothing is sent and every update is reported rejected with
    /// `stale info`. The remote applies each command only if the reference still holds the value the push read.
    /// Rejected references are reported, not thrown; transport errors throw.
    public func pushWithLease(remote name: String, updates: [LeasedPush], credentials: TransportCredentials,
                              progress: ((TransferProgress) -> Void)? = nil) throws -> [PushUpdate] {
        guard !updates.isEmpty else { return [] }
        var remote: OpaquePointer? = nil
        if git_remote_lookup(&remote, pointer, name) < 0 {
            git_error_clear()
            try check(git_remote_create_anonymous(&remote, pointer, name), "git_remote_create_anonymous")
        }
        defer { git_remote_free(remote) }
        if let remote { try useGitForLocalPath(remote) }
        let state = CallbackState(credentials: credentials, url: git_remote_url(remote).map { String(cString: $0) } ?? name)
        state.progress = progress
        var leases: [String: OID?] = [:]
        for u in updates { leases[u.name] = u.expected }
        state.leases = leases
        var opts = git_push_options()
        try check(cairn_git_push_options_init(&opts), "git_push_options_init")
        try state.install(&opts.callbacks)
        opts.callbacks.push_negotiation = { list, count, payload in
            guard let state = CallbackState.from(payload), let leases = state.leases else { return 0 }
            for i in 0..<count {
                guard let update = list?[i]?.pointee, let dst = update.dst_refname else { continue }
                let name = String(cString: dst)
                guard let expected = leases[name] else { continue }
                let current = OID(update.src)
                let now: OID? = current.bytes.allSatisfy { $0 == 0 } ? nil : current
                if now != expected {
                    state.brokenLeases.append(PushUpdate(reference: name, rejection: "stale info: the remote has \(now?.hex ?? "nothing") "
                                                          + "where \(expected?.hex ?? "nothing") was expected"))
                }
            }
            return state.brokenLeases.isEmpty ? 0 : -1
        }
        let payload = Unmanaged.passRetained(state)
        defer { payload.release() }
        opts.callbacks.payload = payload.toOpaque()
        // libgit2 pushes from references only: each new value gets a short-lived one.
        var refspecs: [String] = []
        var staged: [(String, OID)] = []
        defer { for (ref, target) in staged { try? deleteReference(ref, expected: target) } }
        for (i, u) in updates.enumerated() {
            guard let new = u.new else { refspecs.append(":\(u.name)"); continue }
            let ref = Self.pushStagingPrefix + "\(i)"
            try updateReference(ref, to: new, expected: try referenceTarget(ref), message: "push with lease")
            staged.append((ref, new))
            refspecs.append("+\(ref):\(u.name)")
        }
        let rc = withStrArray(refspecs) { spec -> Int32 in
            var s = spec
            return git_remote_push(remote, &s, &opts)
        }
        if !state.brokenLeases.isEmpty {
            git_error_clear()
            let broken = Set(state.brokenLeases.map(\.reference))
            return state.brokenLeases + updates.filter { !broken.contains($0.name) }.map {
                PushUpdate(reference: $0.name, rejection: "not sent: another reference's lease failed")
            }
        }
        try state.rethrow(rc, "git_remote_push")
        return state.pushUpdates
    }
}
