import Foundation

/// The files a new vault starts with: the embedded default (built from `vault-template/`) or a folder.
public struct VaultTemplate: Sendable {
    public struct File: Sendable, Hashable {
        /// Vault-relative path with `/` separators.
        public let path: String
        public let data: Data
    }

    public let files: [File]

    public init(files: [File]) { self.files = files.sorted { $0.path < $1.path } }

    /// The template compiled into cairn (see `scripts/embed-template.py`).
    public static var embedded: VaultTemplate {
        VaultTemplate(files: EmbeddedTemplate.files.compactMap { path, base64 in
            Data(base64Encoded: base64).map { File(path: path, data: $0) }
        })
    }

    /// Reads every file under `directory` (symlinks and `.git` excluded).
    public static func load(directory: String) throws -> VaultTemplate {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw VaultError.invalidArgument("template folder \(directory) does not exist")
        }
        var files: [File] = []
        guard let e = fm.enumerator(atPath: directory) else { return VaultTemplate(files: []) }
        while let rel = e.nextObject() as? String {
            if rel == ".git" || rel.hasPrefix(".git/") { e.skipDescendants(); continue }
            let full = directory + "/" + rel
            guard let attrs = try? fm.attributesOfItem(atPath: full), attrs[.type] as? FileAttributeType == .typeRegular,
                  let data = fm.contents(atPath: full) else { continue }
            files.append(File(path: rel, data: data))
        }
        return VaultTemplate(files: files)
    }
}
