import Foundation
import ArgumentParser
import Testing
@testable import CairnCLI

/// The command line parses in-process, before anything touches a vault.
@Suite struct ParsingTests {
    /// A command without an explicit name makes ArgumentParser demangle its type name on every start-up
    /// (a tenth of a short command's instructions), so every command names itself.
    @Test func everyCommandNamesItselfExplicitly() {
        var unnamed: [String] = []
        func visit(_ command: any ParsableCommand.Type) {
            if command.configuration.commandName == nil { unnamed.append("\(command)") }
            command.configuration.subcommands.forEach(visit)
        }
        visit(Cairn.self)
        #expect(unnamed.isEmpty, "set commandName in these commands' configuration: \(unnamed)")
    }

    @Test func snapshotTakesMessageForceAndVault() throws {
        let command = try Cairn.parseAsRoot(["snapshot", "-m", "Weekly notes", "--force", "--vault", "/tmp/v"])
        let snapshot = try #require(command as? Cairn.Snapshot)
        #expect(snapshot.message == "Weekly notes")
        #expect(snapshot.force)
        #expect(snapshot.vaultOptions.vault == "/tmp/v")
    }

    @Test func emptySnapshotMessageIsRejected() {
        #expect(throws: (any Error).self) { _ = try Cairn.parseAsRoot(["snapshot", "-m", "  "]) }
    }

    @Test func logTakesPathAndCount() throws {
        let log = try #require(try Cairn.parseAsRoot(["log", "memory/core", "-n", "5", "--json"]) as? Cairn.Log)
        #expect(log.path == "memory/core")
        #expect(log.n == 5)
        #expect(log.output.json)
        #expect(throws: (any Error).self) { _ = try Cairn.parseAsRoot(["log", "-n", "0"]) }
    }

    /// Free text given to an option may start with a dash, as in `git commit -m "- fixed typo"`.
    @Test func freeTextOptionsMayStartWithADash() throws {
        let snapshot = try #require(try Cairn.parseAsRoot(["snapshot", "-m", "- fixed typo", "--json"]) as? Cairn.Snapshot)
        #expect(snapshot.message == "- fixed typo" && snapshot.output.json)
        let reject = try #require(try Cairn.parseAsRoot(["reject", "r1", "--note", "-1 from me"]) as? Cairn.Reject)
        #expect(reject.note == "-1 from me")
        let approve = try #require(try Cairn.parseAsRoot(["approve", "r1", "--note", "--looks good--"]) as? Cairn.Approve)
        #expect(approve.note == "--looks good--")
        let forget = try #require(try Cairn.parseAsRoot(["forget", "inbox/**", "--reason", "-- client asked"]) as? Cairn.Forget)
        #expect(forget.reason == "-- client asked")
    }

    @Test func searchTakesAQueryThatStartsWithAnExcludedWord() throws {
        let search = try #require(try Cairn.parseAsRoot(["search", "-draft", "invoice", "--limit", "3", "-old", "--json"]) as? Cairn.Search)
        #expect(search.queryWords == ["-draft", "invoice", "-old"])
        #expect(search.limit == 3 && search.output.json)
        let terminated = try #require(try Cairn.parseAsRoot(["search", "--tag", "x", "--", "-h", "--", "--limit"]) as? Cairn.Search)
        #expect(terminated.queryWords == ["-h", "--", "--limit"] && terminated.tag == "x")
        #expect { _ = try Cairn.parseAsRoot(["search", "invoice", "--limt", "3"]) } throws: { error in
            Cairn.message(for: error).contains("Unknown option '--limt'")
        }
    }

    @Test func noteNewValidatesTier() throws {
        let new = try #require(try Cairn.parseAsRoot(["note", "new", "Plan", "--tier", "projects", "--tag", "a", "--tag", "b"]) as? Cairn.NoteCommand.New)
        #expect(new.title == "Plan")
        #expect(new.tags == ["a", "b"])
        #expect {
            _ = try Cairn.parseAsRoot(["note", "new", "Plan", "--tier", "someday"])
        } throws: { error in
            Cairn.message(for: error).contains("core, working, projects, knowledge, inbox")
        }
    }

    @Test func initNeedsNameAndEmailTogether() throws {
        #expect(throws: (any Error).self) { _ = try Cairn.parseAsRoot(["init", "v", "--name", "Ada"]) }
        #expect(throws: (any Error).self) { _ = try Cairn.parseAsRoot(["init", "v", "--name", "Ada", "--email", "nope"]) }
        let ok = try #require(try Cairn.parseAsRoot(["init", "v", "--name", "Ada", "--email", "ada@example.com"]) as? Cairn.Init)
        #expect(ok.directory == "v")
    }

    @Test func everyCommandHasAnAbstractAndReadCommandsTakeJSON() throws {
        for sub in Cairn.configuration.subcommands {
            #expect(!sub.configuration.abstract.isEmpty, "\(sub) has no abstract")
        }
        for args in [["status", "--json"], ["log", "--json"], ["show", "--json"], ["diff", "--json"], ["doctor", "--json"]] {
            _ = try Cairn.parseAsRoot(args)
        }
    }

    @Test func helpIsNotAnError() {
        #expect(ErrorReporting.usageStatus(for: CleanExit.helpRequest()) == 0)
        #expect(ErrorReporting.usageStatus(for: ValidationError("bad")) == 2)
    }

    @Test func unknownCommandIsAUsageError() {
        #expect {
            _ = try Cairn.parseAsRoot(["frobnicate"])
        } throws: { error in
            ErrorReporting.usageStatus(for: error) == 2
        }
    }
}

/// Dates in `cairn log` and `cairn show`, without a `DateFormatter`.
@Suite struct DateTextTests {
    @Test func dayMatchesDateFormatter() {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        var seconds: Int64 = -2_208_988_800  // 1900-01-01
        var checked = 0
        while seconds < 7_258_118_400 {  // 2200-01-01
            let date = Date(timeIntervalSince1970: Double(seconds) + 0.75)
            #expect(Output.day(date) == f.string(from: date))
            seconds += 86_400 * 29 + 3_607 * 7
            checked += 1
        }
        for edge in [0.0, -1.0, 951_782_400, 951_868_799, 4_107_542_399, 1_767_225_599.5] {
            let date = Date(timeIntervalSince1970: edge)
            #expect(Output.day(date) == f.string(from: date), "\(edge)")
        }
        #expect(checked > 3_000)
    }
}
