import CairnGit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Vault {
    /// Creates a note with front matter in the tier's folder (or in `folder`, vault-relative, when given) and
    /// returns its vault-relative path.
    ///
    /// The file name is the title's slug; an existing file is never overwritten (a `-2`, `-3`… suffix is added).
    /// Writes only the new file (whole or not at all); committing it is the operator's next `snapshot`.
    public func newNote(title: String, tier: Tier, tags: [String], now: Date, folder chosen: String? = nil) throws -> String {
        let trimmed = title.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw VaultError.invalidArgument("a note needs a title") }
        guard !trimmed.contains("\0"), !trimmed.contains("\n") else {
            throw VaultError.invalidArgument("a title cannot contain line breaks or NUL characters")
        }
        for tag in tags where tag.isEmpty || tag.contains(where: { $0.isWhitespace || $0 == "," || $0 == "#" }) {
            throw VaultError.invalidArgument("invalid tag '\(tag)': tags are single words (letters, digits, -, _, /)")
        }
        let relativeFolder = try chosen.map { try Self.movePath($0, role: "folder") } ?? tier.folder
        let folder = absolutePath(relativeFolder)
        let scratch = gitDir + "cairn/tmp"
        for dir in [folder, scratch] {
            do {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            } catch {
                throw VaultError.cannotWrite(path: dir, reason: Self.errnoText(for: error))
            }
        }
        let text = Note.render(title: trimmed, tier: tier, tags: tags, created: now)
        // The note is written whole to a side file under .git/cairn, then linked into place: a crash leaves either
        // no note or the complete note, never an empty or half-written file for the next snapshot to commit.
        let temp = scratch + "/note-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = Glibc.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw VaultError.cannotWrite(path: temp, reason: String(cString: strerror(errno))) }
        defer { unlink(temp) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced else {
            throw VaultError.cannotWrite(path: temp, reason: String(cString: strerror(errno)))
        }
        CrashPoints.hit(.noteBeforeLink)
        for _ in 0..<100 {
            let name = Slug.uniqueFileName(for: trimmed) { FileManager.default.fileExists(atPath: folder + "/" + $0) }
            // link(2) never replaces an existing file: a name taken since it was chosen is retried.
            if link(temp, folder + "/" + name) != 0 {
                if errno == EEXIST { continue }
                throw VaultError.cannotWrite(path: relativeFolder + "/" + name, reason: String(cString: strerror(errno)))
            }
            CrashPoints.hit(.noteAfterLink)
            return relativeFolder + "/" + name
        }
        throw VaultError.noteExists(path: relativeFolder + "/" + Slug.make(trimmed) + ".md")
    }

    /// The system's words for a Foundation file error (its POSIX code), e.g. "Read-only file system".
    static func errnoText(for error: any Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        return ns.localizedDescription
    }
}
