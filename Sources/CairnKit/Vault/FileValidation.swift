import CairnGit
import Foundation

/// A reason not to commit a file; `isFatal` problems cannot be overridden with `--force`.
struct ValidationProblem {
    let problem: FileProblem
    let isFatal: Bool
}

extension Vault {
    /// Checks a changed file before it is committed: a name git and every platform can carry, a size git
    /// handles well, and valid front matter / JSON for the files cairn itself reads.
    func validateForCommit(_ entry: StatusEntry, maxFileBytes: Int) -> ValidationProblem? {
        guard entry.kind != .deleted else { return nil }
        let path = entry.path
        if path.contains("\u{FFFD}") {
            return ValidationProblem(problem: FileProblem(path: path, reason: "file name is not valid UTF-8; rename the file"), isFatal: true)
        }
        let full = absolutePath(path)
        var st = stat()
        guard lstat(full, &st) == 0 else { return nil } // vanished meanwhile: status will see it next time
        if (st.st_mode & S_IFMT) == S_IFLNK { return nil }
        if Int(st.st_size) > maxFileBytes {
            let mb = Double(st.st_size) / 1_048_576
            return ValidationProblem(problem: FileProblem(path: path, reason: String(format: "file is too large (%.1f MB, limit %d MB); keep it outside the vault or add it to .gitignore", mb, maxFileBytes / 1_048_576)), isFatal: true)
        }
        return validateContent(path: path)
    }

    /// Parses the files cairn reads (notes, agents, workflows, policy, config); nil when fine or not such a file.
    func validateContent(path: String) -> ValidationProblem? {
        let full = absolutePath(path)
        if path == Policy.relativePath || path == Vault.configPath {
            guard let data = FileManager.default.contents(atPath: full) else { return nil }
            do {
                if path == Policy.relativePath { _ = try Policy.parse(data, path: path) } else { _ = try VaultConfig.parse(data, path: path) }
            } catch let error as ConfigError {
                return ValidationProblem(problem: FileProblem(path: path, line: error.line, reason: error.reason), isFatal: false)
            } catch {
                return ValidationProblem(problem: FileProblem(path: path, reason: "\(error)"), isFatal: false)
            }
            return nil
        }
        guard path.lowercased().hasSuffix(".md") else { return nil }
        guard let data = FileManager.default.contents(atPath: full) else { return nil }
        do {
            _ = try NoteParser.parse(path: path, data: data)
        } catch {
            return ValidationProblem(problem: FileProblem(path: path, line: error.line, reason: error.reason), isFatal: false)
        }
        return nil
    }
}
