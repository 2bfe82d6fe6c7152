import CairnGit
import Foundation

/// What `cairn clone` made.
public struct CloneReport: Sendable, Codable {
    public let root: String
    public let remote: RemoteInfo
    public let main: String
    /// Files written into the working tree.
    public let files: Int
    /// Proposal branches and vault-state refs taken along.
    public let refs: Int
}

extension Vault {
    /// Makes a working vault at `path` from the vault at `url`: history, proposals, decisions and workflow state,
    /// with `origin` naming the remote. On failure, nothing is left behind at `path`.
    public static func clone(url: String, into path: String, credentials: TransportCredentials, hostName: String?,
                             now: Date, progress: (@Sendable (TransferProgress) -> Void)? = nil) throws -> (Vault, CloneReport) {
        try checkRemoteURL(url)
        let root = normalize(path)
        let fm = FileManager.default
        var created = false
        if fm.fileExists(atPath: root) {
            guard (try? fm.contentsOfDirectory(atPath: root))?.isEmpty == true else { throw SyncError.cloneTargetExists(root) }
        } else {
            created = true
        }
        do {
            let repo = try Repository.create(at: root, initialBranch: "main")
            let remote = RemoteInfo(name: "origin", url: url)
            try repo.addRemote(name: remote.name, url: url)
            let refs = try repo.fetch(remote: remote.name,
                                      refspecs: ["+refs/heads/*:\(headsTrackingPrefix(remote.name))*", "+refs/cairn/*:\(cairnTrackingPrefix(remote.name))*"],
                                      credentials: credentials, progress: progress.map { p in { p($0) } })
            var advertised: [String: OID] = [:]
            for r in refs where r.name.hasPrefix("refs/heads/") || r.name.hasPrefix("refs/cairn/") { advertised[r.name] = r.target }
            guard let main = advertised["refs/heads/main"] else { throw SyncError.emptyRemote(url) }
            let tree = try repo.commit(main).tree
            guard try repo.entry(at: configPath, in: tree) != nil else { throw SyncError.notAVaultRemote(url) }
            try repo.updateReference("refs/heads/main", to: main, expected: nil, message: "cairn clone: from \(url)")
            try repo.checkoutAll(tree: tree)
            try repo.setConfig("branch.main.remote", remote.name)
            try repo.setConfig("branch.main.merge", "refs/heads/main")
            let vault = try open(at: root)
            vault.hostName = hostName
            var notices: [String] = []
            let plan = try vault.reconcileRefs(remote: remote, advertised: advertised, notices: &notices)
            let stamp = SyncStamp.path(gitDir: vault.gitDir, remote: remote.name)
            try fm.createDirectory(atPath: (stamp as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try JSONEncoder().encode(SyncStamp(at: ISOTime.string(now), main: main.hex)).write(to: URL(fileURLWithPath: stamp), options: .atomic)
            let files = try repo.files(in: tree).count
            return (vault, CloneReport(root: root, remote: remote, main: main.hex, files: files, refs: plan.received.count))
        } catch {
            if created { try? fm.removeItem(atPath: root) } else { Self.emptyFolder(root) }
            throw error
        }
    }

    private static func emptyFolder(_ root: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            try? FileManager.default.removeItem(atPath: root + "/" + name)
        }
    }

    /// Ahead/behind and last sync for every remote, from what this machine last fetched (no network).
    public func remoteStatus() throws -> [RemoteStatus] {
        let local = try head()
        return try remotes().map { r in
            let tracking = try repository.referenceTarget(Self.headsTrackingPrefix(r.name) + branch)
            var ahead = 0, behind = 0
            if let local, let tracking, local != tracking {
                (ahead, behind) = try repository.aheadBehind(local: local, upstream: tracking)
            }
            let stamp = FileManager.default.contents(atPath: SyncStamp.path(gitDir: gitDir, remote: r.name))
                .flatMap { try? JSONDecoder().decode(SyncStamp.self, from: $0) }
            return RemoteStatus(name: r.name, url: r.url, ahead: ahead, behind: behind, lastSync: stamp?.at)
        }
    }
}
