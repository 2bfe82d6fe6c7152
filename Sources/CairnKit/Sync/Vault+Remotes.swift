import CairnGit
import Foundation

extension Vault {
    /// Adds remote `name` at `url` to `.git/config` (the URL only: credentials never go there).
    public func addRemote(name: String, url: String) throws -> RemoteInfo {
        try Self.checkRemoteName(name)
        try Self.checkRemoteURL(url)
        if try repository.remoteURL(name) != nil { throw SyncError.remoteExists(name) }
        try repository.addRemote(name: name, url: url)
        return RemoteInfo(name: name, url: url)
    }

    /// The configured remotes, sorted by name.
    public func remotes() throws -> [RemoteInfo] { try repository.remotes() }

    /// Removes remote `name` and what this machine remembers of it (tracking refs, last sync).
    public func removeRemote(name: String) throws {
        guard try repository.remoteURL(name) != nil else { throw SyncError.unknownRemote(name, known: try remotes().map(\.name)) }
        try repository.removeRemote(name: name)
        for ref in try repository.references(withPrefix: Self.cairnTrackingPrefix(name)) {
            try? repository.deleteReference(ref.name, expected: ref.target)
        }
        try? FileManager.default.removeItem(atPath: SyncStamp.path(gitDir: gitDir, remote: name))
    }

    /// The remote to sync with: `name`, else the only one, else `origin`.
    func chooseRemote(_ name: String?) throws -> RemoteInfo {
        let all = try remotes()
        if let name {
            guard let r = all.first(where: { $0.name == name }) else { throw SyncError.unknownRemote(name, known: all.map(\.name)) }
            return r
        }
        if all.count == 1, let only = all.first { return only }
        if let origin = all.first(where: { $0.name == "origin" }) { return origin }
        if all.isEmpty { throw SyncError.noRemote }
        throw SyncError.unknownRemote("(none given)", known: all.map(\.name))
    }

    static func checkRemoteName(_ name: String) throws {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))
        guard !name.isEmpty, name.count <= 64, !name.hasPrefix("-"), !name.hasPrefix("."), !name.contains(".."),
              !name.hasSuffix(".lock"), name.unicodeScalars.allSatisfy({ allowed.contains($0) && $0.isASCII }) else {
            throw SyncError.invalidRemoteName(name)
        }
    }

    /// Accepts paths and the URL forms git knows; refuses a password or token written into the URL.
    static func checkRemoteURL(_ url: String) throws {
        guard !url.isEmpty, !url.contains("\n"), !url.hasPrefix("-"), !url.unicodeScalars.contains(where: { $0.value < 0x20 }) else {
            throw SyncError.invalidURL(url)
        }
        if let scheme = url.range(of: "://").map({ String(url[..<$0.lowerBound]).lowercased() }) {
            guard ["file", "ssh", "git", "http", "https", "git+ssh", "ssh+git"].contains(scheme) else { throw SyncError.invalidURL(url) }
            // user:password@ in the authority: a secret that would land in .git/config.
            let rest = url[url.range(of: "://")!.upperBound...]
            let authority = rest.split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
            if let at = authority.lastIndex(of: "@"), authority[..<at].contains(":") { throw SyncError.invalidURL(url) }
        }
    }

    /// Where this machine keeps what it last saw of remote `name`'s `refs/cairn/` (vault state from the other side).
    static func cairnTrackingPrefix(_ remote: String) -> String { "refs/cairn-remotes/\(remote)/" }
    static func headsTrackingPrefix(_ remote: String) -> String { "refs/remotes/\(remote)/" }
}
