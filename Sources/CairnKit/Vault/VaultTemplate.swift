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

    /// The structure compiled into cairn (`vault-template/`, see `scripts/embed-template.py`): READMEs, policy,
    /// agent and workflow definitions, and core notes that are empty forms. It assumes nothing about the business,
    /// so it is what `cairn init` adds to a new vault or to a folder of notes it adopts.
    public static var structure: VaultTemplate {
        VaultTemplate(files: decode(EmbeddedTemplate.files))
    }

    /// The structure plus the notes of a made-up business (`vault-example/`: its core memory, a lead in the inbox,
    /// a project, a price list) that show how the pieces fit together: `cairn init --example` and `make demo`.
    public static var embedded: VaultTemplate {
        VaultTemplate(files: structure.files.filter { !replacedByExample.contains($0.path) })
            .overlaid(with: decode(EmbeddedTemplate.exampleFiles))
    }

    /// Structure files the example leaves out: READMEs that keep `memory/knowledge/` and `memory/projects/` in a
    /// vault with no notes there yet; the example's notes fill those folders. So `--example` writes exactly the
    /// vault `cairn init` used to make.
    public static let replacedByExample: Set<String> = ["memory/knowledge/README.md", "memory/projects/README.md"]

    /// These files, with `files` added and replacing those of the same path.
    public func overlaid(with others: [File]) -> VaultTemplate {
        let replaced = Set(others.map(\.path))
        return VaultTemplate(files: files.filter { !replaced.contains($0.path) } + others)
    }

    private static func decode(_ files: [(String, String)]) -> [File] {
        files.compactMap { path, base64 in Data(base64Encoded: base64).map { File(path: path, data: $0) } }
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
