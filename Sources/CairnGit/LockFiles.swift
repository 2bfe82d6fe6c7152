import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `*.lock` file that git or libgit2 left in the git directory.
public struct StaleLock: Hashable, Sendable, CustomStringConvertible {
    /// Path relative to the git directory, e.g. `index.lock`.
    public let path: String
    /// Seconds since the lock was last modified.
    public let age: TimeInterval
    /// Why it is considered abandoned, or why it is not.
    public let reason: String
    /// True when no live process can own it, so removing it is safe.
    public let abandoned: Bool

    public var description: String { "\(path) (\(Int(age))s old): \(reason)" }
}

/// Finds and recovers lock files left behind by crashed git processes.
///
/// libgit2 never removes a lock file after a crash, and neither does git: without recovery a single
/// kill -9 would make every later write fail. A lock counts as abandoned only when no process has it
/// open and no git process works in this repository (read from `/proc` on Linux); elsewhere, only when
/// it is older than `fallbackAge`.
public enum LockFiles {
    /// The lock files git and libgit2 take for the operations cairn performs.
    static func candidates(gitDir: String) -> [String] {
        var out = ["index.lock", "HEAD.lock", "packed-refs.lock", "config.lock", "shallow.lock"]
        collectLocks(under: (gitDir as NSString).appendingPathComponent("refs"), relative: "refs", into: &out)
        return out
    }

    /// Every `*.lock` file under `dir`, recursively, with `readdir` (the refs folder grows with every run, and a
    /// FileManager enumerator costs several microseconds an entry).
    private static func collectLocks(under dir: String, relative: String, into out: inout [String]) {
        guard let handle = opendir(dir) else { return }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            var isDirectory = entry.pointee.d_type == UInt8(DT_DIR)
            if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                var st = stat()
                isDirectory = lstat(dir + "/" + name, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
            }
            if isDirectory {
                collectLocks(under: dir + "/" + name, relative: relative + "/" + name, into: &out)
            } else if name.hasSuffix(".lock") {
                out.append(relative + "/" + name)
            }
        }
    }

    /// Every lock file present, with the verdict on whether it is abandoned.
    public static func find(gitDir: String, now: Date = Date(), fallbackAge: TimeInterval = 600) -> [StaleLock] {
        let fm = FileManager.default
        var found: [StaleLock] = []
        let present = candidates(gitDir: gitDir).filter { fm.fileExists(atPath: (gitDir as NSString).appendingPathComponent($0)) }
        guard !present.isEmpty else { return [] }
        let canonicalGitDir = URL(fileURLWithPath: gitDir).resolvingSymlinksInPath().path
        let procAvailable = fm.fileExists(atPath: "/proc/self/fd")
        let holders = procAvailable ? openHolders(under: canonicalGitDir) : []
        let gitWorking = procAvailable ? gitProcessWorking(in: canonicalGitDir) : nil
        for rel in present {
            let full = (gitDir as NSString).appendingPathComponent(rel)
            let mtime = (try? fm.attributesOfItem(atPath: full)[.modificationDate] as? Date) ?? now
            let age = max(0, now.timeIntervalSince(mtime))
            let canonical = (canonicalGitDir as NSString).appendingPathComponent(rel)
            if procAvailable {
                if holders.contains(canonical) {
                    found.append(StaleLock(path: rel, age: age, reason: "a running process holds it open", abandoned: false))
                } else if let pid = gitWorking {
                    found.append(StaleLock(path: rel, age: age, reason: "git process \(pid) is working in this repository", abandoned: false))
                } else {
                    found.append(StaleLock(path: rel, age: age, reason: "no process owns it (left by a crash)", abandoned: true))
                }
            } else {
                let old = age >= fallbackAge
                found.append(StaleLock(path: rel, age: age,
                                       reason: old ? "older than \(Int(fallbackAge))s" : "recent; another process may own it",
                                       abandoned: old))
            }
        }
        return found
    }

    /// Removes abandoned lock files; returns what was removed and what remains held.
    @discardableResult
    public static func recover(gitDir: String, now: Date = Date()) -> (removed: [StaleLock], held: [StaleLock]) {
        var removed: [StaleLock] = [], held: [StaleLock] = []
        for lock in find(gitDir: gitDir, now: now) {
            if lock.abandoned, unlink((gitDir as NSString).appendingPathComponent(lock.path)) == 0 {
                removed.append(lock)
            } else {
                held.append(lock)
            }
        }
        return (removed, held)
    }

    /// Paths of open files under `dir` held by any process we can inspect.
    static func openHolders(under dir: String) -> Set<String> {
        var out = Set<String>()
        let fm = FileManager.default
        guard let pids = try? fm.contentsOfDirectory(atPath: "/proc") else { return out }
        for pid in pids where pid.first?.isNumber == true {
            let fdDir = "/proc/\(pid)/fd"
            guard let fds = try? fm.contentsOfDirectory(atPath: fdDir) else { continue }
            for fd in fds {
                if let target = try? fm.destinationOfSymbolicLink(atPath: "\(fdDir)/\(fd)"), target.hasPrefix(dir) {
                    out.insert(target)
                }
            }
        }
        return out
    }

    /// The pid of a `git` process whose working directory is this repository, if any.
    static func gitProcessWorking(in gitDir: String) -> Int32? {
        let fm = FileManager.default
        let repoRoot = gitDir.hasSuffix("/.git") ? String(gitDir.dropLast(5)) : gitDir
        guard let pids = try? fm.contentsOfDirectory(atPath: "/proc") else { return nil }
        let me = getpid()
        for pid in pids where pid.first?.isNumber == true {
            guard let p = Int32(pid), p != me else { continue }
            guard let comm = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
                  comm.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("git") else { continue }
            if let cwd = try? fm.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"),
               cwd == repoRoot || cwd.hasPrefix(repoRoot + "/") || cwd.hasPrefix(gitDir) {
                return p
            }
        }
        return nil
    }
}
