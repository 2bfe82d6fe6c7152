import CairnGit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Vault {
    /// Creates a note with front matter in the tier's folder and returns its vault-relative path.
    ///
    /// The file name is the title's slug; an existing file is never overwritten (a `-2`, `-3`… suffix is added).
    /// Writes only the new file; committing it is the operator's next `snapshot`.
    public func newNote(title: String, tier: Tier, tags: [String], now: Date) throws -> String {
        let trimmed = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw VaultError.invalidArgument("a note needs a title") }
        guard !trimmed.contains("\0"), !trimmed.contains("\n") else {
            throw VaultError.invalidArgument("a title cannot contain line breaks or NUL characters")
        }
        for tag in tags where tag.isEmpty || tag.contains(where: { $0.isWhitespace || $0 == "," || $0 == "#" }) {
            throw VaultError.invalidArgument("invalid tag '\(tag)': tags are single words (letters, digits, -, _, /)")
        }
        let folder = absolutePath(tier.folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let text = Note.render(title: trimmed, tier: tier, tags: tags, created: now)
        for _ in 0..<100 {
            let name = Slug.uniqueFileName(for: trimmed) { FileManager.default.fileExists(atPath: folder + "/" + $0) }
            let full = folder + "/" + name
            // O_EXCL: never clobber a file that appeared since the name was chosen.
            let fd = Glibc.open(full, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            if fd < 0 {
                if errno == EEXIST { continue }
                throw VaultError.invalidArgument("cannot create \(tier.folder)/\(name): \(String(cString: strerror(errno)))")
            }
            let bytes = Array(text.utf8)
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard written == bytes.count else {
                unlink(full)
                throw VaultError.invalidArgument("cannot write \(tier.folder)/\(name)")
            }
            return tier.folder + "/" + name
        }
        throw VaultError.noteExists(path: tier.folder + "/" + Slug.make(trimmed) + ".md")
    }
}
