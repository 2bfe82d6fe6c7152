import CSystemCalls
import CairnGit
import Foundation

/// Starts the vault's watcher by itself on a large vault, the way git starts its fsmonitor daemon: a command
/// whose working-tree check found no watcher and had to stat at least `minimumFiles` files (10,000 unless the
/// machine-local setting `cairn.autoWatch` says otherwise) starts `cairn watch run` in the background and goes
/// on with its full check. The next command gets a token from it (one more full check), and from then on each
/// check stats only what changed.
///
/// - Invisible: nothing is printed; the watcher's output goes to `.git/cairn/watch.log`; a failure to start
///   changes nothing for the command (it has already checked everything itself).
/// - Not on a network file system (NFS, SMB, FUSE…), where another machine's edits never reach inotify.
/// - Safe: it is the same watcher `cairn watch start` runs (socket in a 0700 folder of `.git`, one per vault by
///   its lock, gone when the vault is), and a start is tried at most once per `retryInterval` per vault, so a
///   watcher that cannot run (the kernel's inotify limit, a read-only `.git`) is not started over and over.
/// - Only a program sets `launcher` (the `cairn` executable): a library user of CairnKit starts nothing.
///
/// `cairn.autoWatch` (in `.git/config`, or the global git config): `false` (also `no`, `off`, `0`) never
/// starts it; `true` uses the default size; a number is the size in files from which it starts.
public struct WatchAutoStart: Sendable {
    /// The environment the watcher gets (the command's own); it runs as this program (`VaultWatcher.currentExecutable`).
    public var environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// Set once by the program at start-up, before any vault is opened; nil: never start a watcher.
    nonisolated(unsafe) public static var launcher: WatchAutoStart?

    public static let configKey = "cairn.autoWatch"
    public static let defaultMinimumFiles = 10_000
    /// How long after one attempt (successful or not) another is not made for the same vault.
    static let retryInterval: TimeInterval = 600

    /// The size from which the watcher starts itself, from `cairn.autoWatch` as git reads it (`Vault.gitConfigValue`);
    /// nil: never.
    static func minimumFiles(_ vault: Vault, globalConfigFile: String? = nil) -> Int? {
        guard let value = Vault.gitConfigValue(configKey, repository: vault.repository, globalConfigFile: globalConfigFile)
        else { return defaultMinimumFiles }
        switch value.trimmingCharacters(in: .whitespaces).lowercased() {
        case "false", "no", "off", "never", "0": return nil
        case "true", "yes", "on", "auto": return defaultMinimumFiles
        case let text: return Int(text).map { $0 > 0 ? $0 : nil } ?? defaultMinimumFiles
        }
    }

    /// File systems another machine can write to without this kernel seeing it (inotify would miss those edits), as
    /// git's fsmonitor refuses them: NFS, SMB/CIFS, FUSE (sshfs and the like), 9p, Ceph, AFS, Coda.
    static let networkFileSystems: Set<UInt> = [0x6969, 0x517B, 0xFF53_4D42, 0xFE53_4D42, 0x6573_5546, 0x0102_1997,
                                                 0x00C3_6400, 0x5346_414F, 0x7375_7245]

    /// True when `path` is on a network file system: the watcher is not started there by itself.
    static func isNetworkFileSystem(_ path: String) -> Bool {
        let type = cairn_file_system_type(path)
        return type < 0 || networkFileSystems.contains(UInt(type))
    }

    /// Called after a working-tree check that no watcher answered and that statted `filesStatted` files.
    static func afterUnwatchedCheck(_ vault: Vault, filesStatted: Int) {
        guard let launcher, filesStatted > 0 else { return }
        guard let minimum = minimumFiles(vault, globalConfigFile: launcher.environment["GIT_CONFIG_GLOBAL"]),
              filesStatted >= minimum, !isNetworkFileSystem(vault.root) else { return }
        let folder = WatchClient.folder(gitDir: vault.gitDir)
        let marker = folder + "/autostart"
        var st = stat()
        if stat(marker, &st) == 0, Date().timeIntervalSince1970 - Double(st.st_mtim.tv_sec) < retryInterval { return }
        guard (try? WatchClient.makePrivateFolder(folder)) != nil else { return }
        let fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return }
        close(fd)
        _ = try? VaultWatcher.start(vault: vault, executable: VaultWatcher.currentExecutable,
                                    arguments: ["watch", "run", "--vault", vault.root], environment: launcher.environment)
    }
}
