import Foundation
import Testing

/// `--help` for every command and `--version`: exit 0, on stdout, outside any vault.
@Suite struct HelpTests {
    /// Each command with (the start of) its abstract.
    static let commands: [([String], String)] = [
        ([], "Keep a one-person company's memory, workflows and approvals in a git vault."),
        (["init"], "Create a vault, or adopt an existing folder of notes or git repository."),
        (["status"], "Show your uncommitted edits, pending proposals and vault health."),
        (["snapshot"], "Commit every edit in the vault (new, changed, deleted, renamed files) as one commit."),
        (["log"], "Show the vault's history: who changed what (you or which agent run), newest first."),
        (["show"], "Show one commit: who made it, why (its Cairn trailers) and its diff."),
        (["diff"], "Show your uncommitted edits as a diff (against the last commit, or REV)."),
        (["note"], "Work with notes."),
        (["note", "new"], "Create a note with front matter in its tier's folder and open it in $EDITOR."),
        (["doctor"], "Check the repository, the layout, every note's front matter, policy.json and config."),
    ]

    /// Help text with line wrapping undone.
    private func unwrapped(_ text: String) -> String {
        text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    }

    @Test(arguments: commands)
    func helpExitsZeroAndShowsTheAbstract(_ command: [String], _ abstract: String) throws {
        let sb = try Sandbox()
        let r = sb.runCairn(command + ["--help"])
        #expect(r.status == 0, "\(r)")
        #expect(unwrapped(r.stdout).contains(abstract), "\(r)")
        #expect(r.stdout.contains("USAGE: cairn"), "\(r)")
        #expect(r.stderr.isEmpty, "\(r)")
    }

    @Test func rootHelpListsEverySubcommand() throws {
        let sb = try Sandbox()
        let r = sb.runCairn(["--help"])
        for name in ["init", "status", "snapshot", "log", "show", "diff", "note", "doctor"] {
            #expect(r.stdout.contains("\n  \(name) "), "\(name) missing from: \(r)")
        }
    }

    @Test func versionPrintsASemanticVersion() throws {
        let sb = try Sandbox()
        let r = sb.runCairn(["--version"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.wholeMatch(of: /\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?\n/) != nil, "\(r)")
    }

    @Test func unknownCommandIsAUsageError() throws {
        let sb = try Sandbox()
        let r = sb.runCairn(["frobnicate"])
        #expect(r.status == 2, "\(r)")
        #expect(r.stderr.contains("frobnicate"), "\(r)")
    }

    /// `--help` after a command that does not exist must not show the parent's help and succeed.
    @Test(arguments: [["synch", "--help"], ["synch"], ["frobnicate", "-h"], ["agent", "frobnicate", "--help"],
                      ["note", "old", "x"], ["workflow", "nope"]])
    func unknownCommandWithHelpSaysUnknownCommand(_ args: [String]) throws {
        let sb = try Sandbox()
        let r = sb.runCairn(args)
        #expect(r.status == 2, "\(r)")
        #expect(r.stdout.isEmpty, "\(r)")
        let name = args.first { $0 != "agent" && $0 != "note" && $0 != "workflow" }!
        #expect(r.stderr.contains("unknown command '\(name)'"), "\(r)")
        #expect(!r.stderr.contains("USAGE"), "\(r)")
    }

    @Test func knownCommandsWithHelpStillShowTheirHelp() throws {
        let sb = try Sandbox()
        for args in [["help", "status"], ["agent", "run", "--help"], ["policy", "--help"], ["watch", "--help"], ["sync", "--help"]] {
            let r = sb.runCairn(args)
            #expect(r.status == 0, "\(args): \(r)")
            #expect(r.stdout.contains("USAGE: cairn"), "\(args): \(r)")
        }
    }
}
