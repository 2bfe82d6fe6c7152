import ArgumentParser
import CairnGit
import CairnKit
import Foundation

/// Maps every error to a message on stderr and an exit status, in one place.
///
/// Exit statuses: 0 success, 1 the vault or its files need attention (bad input, conflicts, locks, a damaged repository),
/// 2 usage errors, 3 a git error cairn did not expect.
enum ErrorReporting {
    static func report(_ error: any Error) -> Int32 {
        func print(_ text: String) { Descriptor.writeAll(STDOUT_FILENO, Data((text + "\n").utf8)) }
        switch error {
        case is VaultError, is NoteError, is FileProblem, is PathViolation, is CommandAgentError, is SearchError, is WorkflowError,
             is RunLimitError, is CronScheduleError, is RetentionError, is SyncError, is TransportError,
             is ConnectorError:
            // Domain errors whose messages already name the file or thing and say what to do.
            printError("cairn: \(error)")
            return 1
        case let e as GitError where e.isWriteRefused:
            printError("cairn: cannot write to the vault's repository: \(e.message) (in \(e.function)); "
                       + "free some space or make the vault writable, then run the command again")
            return 1
        case let e as GitError where e.isRepositoryDamage:
            printError("cairn: the vault's git repository (.git) is damaged: \(e.message) (in \(e.function)); "
                       + "`cairn doctor` or `git fsck --full` shows what is missing — restore it from a clone or backup")
            return 1
        case let e as GitError:
            printError("cairn: git error: \(e.message) (in \(e.function)); `cairn doctor` checks the repository")
            return 3
        case let e as ProposalError:
            if case .alreadyDecided = e {
                print("\(e)")
                return 0
            }
            printError("cairn: \(e)")
            return 1
        case let e as CLIFailure:
            if !e.message.isEmpty { printError("cairn: \(e.message)") }
            return e.status
        default:
            let message = Cairn.fullMessage(for: error)
            let status = usageStatus(for: error)
            if !message.isEmpty {
                if status == 0 { print(message) } else { printError(message) }
            }
            return status
        }
    }

    /// ArgumentParser's status for help/version (0) and usage errors, mapped to 2 as documented above
    /// (ArgumentParser's own code is EX_USAGE, 64).
    static func usageStatus(for error: any Error) -> Int32 {
        let code = Cairn.exitCode(for: error)
        return code == .validationFailure ? 2 : code.rawValue
    }

    static func printError(_ text: String) {
        Descriptor.writeAll(STDERR_FILENO, Data((text + "\n").utf8))
    }
}

/// A failure already explained to the user (or with a custom status), e.g. `doctor` finding problems.
struct CLIFailure: Error {
    let message: String
    let status: Int32
}
