import CGit2
import Foundation

/// A configured remote: its name and URL as `.git/config` holds them (never a credential).
public struct RemoteInfo: Sendable, Hashable, Codable, CustomStringConvertible {
    public let name: String
    public let url: String
    public init(name: String, url: String) { self.name = name; self.url = url }
    public var description: String { "\(name)\t\(url)" }
}

/// One reference a remote advertises.
public struct RemoteRef: Sendable, Hashable {
    public let name: String
    public let target: OID
}

/// What a push did to each reference: nil `rejection` means the remote took it.
public struct PushUpdate: Sendable, Hashable {
    public let reference: String
    public let rejection: String?
}

/// Bytes and objects a transfer moved, for progress displays.
public struct TransferProgress: Sendable, Equatable {
    /// Which way the objects go: `receiving` (fetch, clone; deltas resolved afterwards) or `sending` (push).
    public enum Direction: String, Sendable { case receiving, sending }
    public let direction: Direction
    /// Objects received (or sent) so far, of `totalObjects`.
    public let receivedObjects: Int
    public let totalObjects: Int
    /// Bytes received (or sent) so far.
    public let receivedBytes: Int
    /// Deltas resolved after receiving, of `totalDeltas` (0 when sending).
    public let indexedDeltas: Int
    public let totalDeltas: Int

    public init(direction: Direction = .receiving, receivedObjects: Int, totalObjects: Int, receivedBytes: Int,
                indexedDeltas: Int = 0, totalDeltas: Int = 0) {
        self.direction = direction
        self.receivedObjects = receivedObjects
        self.totalObjects = totalObjects
        self.receivedBytes = receivedBytes
        self.indexedDeltas = indexedDeltas
        self.totalDeltas = totalDeltas
    }
}

extension Repository {
    /// Every configured remote, sorted by name.
    public func remotes() throws -> [RemoteInfo] {
        var names = git_strarray()
        try check(git_remote_list(&names, pointer), "git_remote_list")
        defer { git_strarray_dispose(&names) }
        var out: [RemoteInfo] = []
        for i in 0..<names.count {
            guard let c = names.strings[i] else { continue }
            let name = String(cString: c)
            out.append(RemoteInfo(name: name, url: try remoteURL(name) ?? ""))
        }
        return out.sorted { $0.name < $1.name }
    }

    /// The URL of remote `name`, nil when there is no such remote.
    public func remoteURL(_ name: String) throws -> String? {
        var remote: OpaquePointer? = nil
        let rc = git_remote_lookup(&remote, pointer, name)
        if rc == GIT_ENOTFOUND.rawValue || rc == GIT_EINVALIDSPEC.rawValue { git_error_clear(); return nil }
        try check(rc, "git_remote_lookup")
        defer { git_remote_free(remote) }
        return git_remote_url(remote).map { String(cString: $0) }
    }

    /// Adds remote `name` with the usual fetch refspec (`+refs/heads/*:refs/remotes/NAME/*`), so plain git sees it too.
    public func addRemote(name: String, url: String) throws {
        var remote: OpaquePointer? = nil
        try check(git_remote_create(&remote, pointer, name, url), "git_remote_create")
        git_remote_free(remote)
    }

    /// Removes remote `name`, its configuration and its remote-tracking references.
    public func removeRemote(name: String) throws {
        try check(git_remote_delete(pointer, name), "git_remote_delete")
    }

    /// Fetches `refspecs` from remote `name` (a configured name or a URL) and returns every reference the remote
    /// advertised, peeled targets excluded. Tags are not fetched.
    public func fetch(remote name: String, refspecs: [String], credentials: TransportCredentials,
                      progress: ((TransferProgress) -> Void)? = nil) throws -> [RemoteRef] {
        let remote = try lookupRemote(name)
        defer { git_remote_free(remote) }
        let state = CallbackState(credentials: credentials, url: git_remote_url(remote).map { String(cString: $0) } ?? name)
        state.progress = progress
        let payload = Unmanaged.passRetained(state)
        defer { payload.release() }
        try fetchRefspecs(remote, refspecs, state: state, payload: payload)
        return try advertised(remote)
    }

    /// Pushes `refspecs` to remote `name`; rejected references are reported, not thrown. Throws on transport
    /// errors and when libgit2 refuses a non-fast-forward before sending anything (`GitError` code
    /// `GIT_ENONFASTFORWARD`, see `isNonFastForward`).
    public func push(remote name: String, refspecs: [String], credentials: TransportCredentials,
                     progress: ((TransferProgress) -> Void)? = nil) throws -> [PushUpdate] {
        guard !refspecs.isEmpty else { return [] }
        let remote = try lookupRemote(name)
        defer { git_remote_free(remote) }
        let state = CallbackState(credentials: credentials, url: git_remote_url(remote).map { String(cString: $0) } ?? name)
        state.progress = progress
        var opts = git_push_options()
        try check(cairn_git_push_options_init(&opts), "git_push_options_init")
        try state.install(&opts.callbacks)
        let payload = Unmanaged.passRetained(state)
        defer { payload.release() }
        opts.callbacks.payload = payload.toOpaque()
        let rc = withStrArray(refspecs) { spec -> Int32 in
            var s = spec
            return git_remote_push(remote, &s, &opts)
        }
        try state.rethrow(rc, "git_remote_push")
        return state.pushUpdates
    }

    /// Connects to remote `name` for fetching and lists its references, without downloading objects. The
    /// connection stays open for one `RemoteConnection.fetch`, so listing and fetching cost one server process
    /// (`git upload-pack`) or one ssh session, and what is fetched is what was listed.
    public func connect(remote name: String, credentials: TransportCredentials) throws -> RemoteConnection {
        let remote = try lookupRemote(name)
        let state = CallbackState(credentials: credentials, url: git_remote_url(remote).map { String(cString: $0) } ?? name)
        let payload = Unmanaged.passRetained(state)
        var callbacks = git_remote_callbacks()
        do {
            try check(cairn_git_remote_callbacks_init(&callbacks), "git_remote_init_callbacks")
            try state.install(&callbacks)
            callbacks.payload = payload.toOpaque()
            let rc = git_remote_connect(remote, GIT_DIRECTION_FETCH, &callbacks, nil, nil)
            try state.rethrow(rc, "git_remote_connect")
            return RemoteConnection(repository: self, remote: remote, state: state, payload: payload, refs: try advertised(remote))
        } catch {
            git_remote_disconnect(remote)
            git_remote_free(remote)
            payload.release()
            throw error
        }
    }

    /// Points a remote whose URL is a local folder at `file://` for this transfer, so that it goes through git's
    /// upload-pack or receive-pack (see `Libgit2.gitForFileRemotes`); the configured URL does not change.
    func useGitForLocalPath(_ remote: OpaquePointer) throws {
        guard Libgit2.gitForFileRemotes, let url = git_remote_url(remote).map({ String(cString: $0) }), url.hasPrefix("/") else { return }
        let escaped = url.replacingOccurrences(of: "%", with: "%25")
        try check(git_remote_set_instance_url(remote, "file://" + escaped), "git_remote_set_instance_url")
    }

    private func lookupRemote(_ name: String) throws -> OpaquePointer {
        var remote: OpaquePointer? = nil
        let rc = git_remote_lookup(&remote, pointer, name)
        if rc == GIT_ENOTFOUND.rawValue || rc == GIT_EINVALIDSPEC.rawValue {
            git_error_clear()
            try check(git_remote_create_anonymous(&remote, pointer, name), "git_remote_create_anonymous")
        } else {
            try check(rc, "git_remote_lookup")
        }
        guard let remote else { throw GitError(code: -1, message: "no remote \(name)", function: "git_remote_lookup") }
        do { try useGitForLocalPath(remote) } catch { git_remote_free(remote); throw error }
        return remote
    }

    fileprivate func advertised(_ remote: OpaquePointer) throws -> [RemoteRef] {
        var heads: UnsafeMutablePointer<UnsafePointer<git_remote_head>?>? = nil
        var count = 0
        try check(git_remote_ls(&heads, &count, remote), "git_remote_ls")
        var out: [RemoteRef] = []
        guard let heads else { return out }
        for i in 0..<count {
            guard let head = heads[i]?.pointee, let name = head.name else { continue }
            let n = String(cString: name)
            if n == "HEAD" || n.hasSuffix("^{}") { continue }
            out.append(RemoteRef(name: n, target: OID(head.oid)))
        }
        return out
    }
}

/// An open fetch connection to a remote (`Repository.connect`): the references the remote advertised on
/// connecting, and one fetch over the same connection. Closed by `fetch`, `close` or when released.
public final class RemoteConnection {
    /// Every reference the remote advertised, peeled targets excluded.
    public let refs: [RemoteRef]
    private let repository: Repository
    private let remote: OpaquePointer
    private let state: CallbackState
    private let payload: Unmanaged<CallbackState>
    private var used = false

    fileprivate init(repository: Repository, remote: OpaquePointer, state: CallbackState, payload: Unmanaged<CallbackState>,
                     refs: [RemoteRef]) {
        self.repository = repository
        self.remote = remote
        self.state = state
        self.payload = payload
        self.refs = refs
    }

    deinit {
        git_remote_disconnect(remote)
        git_remote_free(remote)
        payload.release()
    }

    /// Fetches `refspecs` over this connection (libgit2 reuses a connected remote), then closes it. Tags are not
    /// fetched. A second call throws: the server's side of the conversation is over.
    public func fetch(refspecs: [String], progress: ((TransferProgress) -> Void)? = nil) throws {
        guard !used else { throw GitError(code: -1, message: "this connection was used already", function: "git_remote_fetch") }
        used = true
        defer { git_remote_disconnect(remote) }
        state.progress = progress
        try fetchRefspecs(remote, refspecs, state: state, payload: payload)
    }

    /// Ends the connection without fetching.
    public func close() {
        used = true
        git_remote_disconnect(remote)
    }
}

/// `git_remote_fetch` of `refspecs` without tags, pruning or FETCH_HEAD, reporting through `state` (whose retained
/// reference is `payload`). On a connected remote libgit2 reuses the connection.
private func fetchRefspecs(_ remote: OpaquePointer, _ refspecs: [String], state: CallbackState,
                           payload: Unmanaged<CallbackState>) throws {
    var opts = git_fetch_options()
    try check(cairn_git_fetch_options_init(&opts), "git_fetch_options_init")
    opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE
    opts.prune = GIT_FETCH_NO_PRUNE
    opts.update_fetchhead = 0
    try state.install(&opts.callbacks)
    opts.callbacks.payload = payload.toOpaque()
    let rc = withStrArray(refspecs) { spec -> Int32 in
        var s = spec
        return git_remote_fetch(remote, &s, &opts, "cairn sync: fetch")
    }
    try state.rethrow(rc, "git_remote_fetch")
}

/// True when `error` is libgit2 refusing to push a reference the remote moved ahead of us.
public func isNonFastForward(_ error: any Error) -> Bool {
    (error as? GitError)?.code == GIT_ENONFASTFORWARD.rawValue
}
