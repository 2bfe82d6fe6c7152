import CairnGit
import Foundation

extension Vault {
    /// True when every file under `folders` in the working tree equals the branch's tree (content, executable
    /// bit, symlink target) and nothing new or deleted is there; nil when it cannot tell cheaply.
    ///
    /// Reads no index: for an agent whose scope holds a few hundred files this is far cheaper than a status,
    /// which must load the whole index (10 MB and ~80 ms at 100k notes). Ignored files do not count.
    /// Returns nil for the whole vault (`[]`), more than `limit` files, or content filters (autocrlf,
    /// `.gitattributes`), so callers then fall back to a real status.
    func scopeMatchesHead(_ folders: [String], limit: Int = 2000) -> Bool? {
        guard !folders.isEmpty, let main = try? head(), let tree = try? repository.commit(main).tree else { return nil }
        if let crlf = try? repository.configString("core.autocrlf"), crlf != "false" { return nil }
        let fm = FileManager.default
        if fm.fileExists(atPath: absolutePath(".gitattributes")) { return nil }
        var expected: [String: TreeFile] = [:]
        for folder in folders {
            guard let entry = try? repository.entry(at: folder, in: tree) else { continue }
            if entry.kind == .tree {
                guard let files = try? repository.files(in: tree, under: folder) else { return nil }
                for f in files { expected[f.path] = f }
            } else {
                expected[folder] = TreeFile(path: folder, oid: entry.oid, mode: entry.mode)
            }
            if expected.count > limit { return nil }
        }
        var seen = 0
        for folder in folders {
            let full = absolutePath(folder)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: full, isDirectory: &isDir) else { continue }
            let paths: [String]
            if isDir.boolValue {
                guard let e = fm.enumerator(atPath: full) else { return nil }
                var list: [String] = []
                while let item = e.nextObject() as? String {
                    if (item as NSString).lastPathComponent == ".git" { e.skipDescendants(); continue }
                    list.append(folder + "/" + item)
                    if list.count > limit * 2 { return nil }
                }
                paths = list
            } else {
                paths = [folder]
            }
            for path in paths {
                var st = stat()
                guard lstat(absolutePath(path), &st) == 0 else { return nil }
                let type = st.st_mode & S_IFMT
                guard type == S_IFREG || type == S_IFLNK else { continue }
                guard let want = expected[path] else {
                    // New: dirty unless ignored.
                    if (try? repository.isIgnored(path)) == true { continue }
                    return false
                }
                seen += 1
                let data: Data
                if type == S_IFLNK {
                    guard want.mode == TreeChange.symlinkMode,
                          let target = try? fm.destinationOfSymbolicLink(atPath: absolutePath(path)) else { return false }
                    data = Data(target.utf8)
                } else {
                    let executable = st.st_mode & 0o100 != 0
                    guard want.mode == (executable ? TreeChange.executableMode : TreeChange.fileMode) else { return false }
                    guard let d = fm.contents(atPath: absolutePath(path)) else { return nil }
                    data = d
                }
                guard let oid = try? Repository.hashBlob(data), oid == want.oid else { return false }
            }
        }
        return seen == expected.count
    }
}
