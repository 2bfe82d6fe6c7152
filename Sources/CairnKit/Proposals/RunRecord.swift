import Foundation

/// Everything about one agent run, stored as `runs/YYYY/MM/<run-id>.json` inside the run's commit.
///
/// Blob ids pin the exact inputs, which makes `cairn why` and replay possible.
public struct RunRecord: Codable, Sendable {
    public enum Outcome: String, Codable, Sendable {
        /// A proposal waits for review.
        case proposed
        /// Merged by policy without review.
        case autoMerged = "auto-merged"
        /// The agent ran and changed nothing.
        case noChanges = "no-changes"
        /// The agent failed (exit status, timeout, malformed reply…).
        case failed
        /// Policy refused the changes (protected path, secret, path outside its scope…).
        case blocked
    }

    public struct Command: Codable, Sendable {
        /// The most shown files a record lists by name: an agent shown 20,000 notes would otherwise commit a
        /// megabyte of paths with every run.
        public static let listedFilesLimit = 1000

        public var argv: [String]
        public var exitStatus: Int32?
        public var stdout: String
        public var stderr: String
        /// The files the agent was shown, when there were at most `listedFilesLimit`; empty for more (they are the
        /// files of the base commit that the agent's `reads` match, so the record does not grow with the scope).
        public var filesShown: [String]
        /// How many files the agent was shown (nil in records written before it was kept).
        public var filesShownCount: Int? = nil
        /// How the command was isolated: `bubblewrap: work folder only, no network` (or `network on`), `bubblewrap` in
        /// older records, else `none: ` and why not (nil in records written before sandboxing).
        public var sandbox: String? = nil
    }

    public struct Edit: Codable, Sendable, Hashable {
        public var path: String
        public var action: String
        public var bytes: Int
        public var blob: String?
    }

    public var version = 1
    public var run: String
    public var agent: String
    public var kind: String
    public var base: String
    public var workflow: String?
    public var startedAt: String
    public var finishedAt: String
    public var durationMs: Int
    public var input: [String: String]
    /// Every memory item shown to the agent (path, blob id, score, why).
    public var retrieval: [ContextItem]
    public var command: Command?
    public var model: ModelOutcome?
    public var outcome: Outcome
    public var failure: String?
    public var summary: String
    public var policy: PolicyVerdict?
    public var edits: [Edit]
    /// Links cairn rewrote because the proposal renamed or moved the files they lead to (`links.update_on_rename`);
    /// nil when there were none (and in records written before).
    public var links: [LinkUpdate]? = nil
    /// `refs/heads/proposals/<run>` or `refs/cairn/failed/<run>`.
    public var ref: String?
    /// The machine the run happened on (absent in records written before sync existed).
    public var machine: String? = nil

    /// Where the record lives in the vault.
    public static func path(runID: String) -> String { RunID.recordPath("runs", runID) }

    public func encoded() throws -> Data { try RecordJSON.encode(self) }

    public static func decode(_ data: Data) throws -> RunRecord {
        try JSONDecoder().decode(RunRecord.self, from: data)
    }
}

/// A run id: `YYYYMMDD-HHMMSS-<agent>-<4 hex>`, sortable by time and unique.
public enum RunID {
    public static func make(agent: String, now: Date) -> String {
        let t = ISOTime.utc(now)
        let slug = Slug.make(agent)
        let suffix = String(format: "%04x", UInt16.random(in: 0...UInt16.max))
        return "\(t.year)\(t.month)\(t.day)-\(t.hour)\(t.minute)\(t.second)-\(slug)-\(suffix)"
    }

    /// `folder/YYYY/MM/<id>.json`: run ids start with YYYYMMDD, so records group by month.
    static func recordPath(_ folder: String, _ id: String) -> String {
        "\(folder)/\(id.prefix(4))/\(id.dropFirst(4).prefix(2))/\(id).json"
    }

    /// True for strings that have the shape of a run id (safe to use in ref names and paths).
    public static func isValid(_ id: String) -> Bool {
        let scalars = id.unicodeScalars
        guard id.count >= 17, id.count <= 120, let first = scalars.first, CharacterSet.decimalDigits.contains(first) else { return false }
        return scalars.allSatisfy { CharacterSet.alphanumerics.contains($0) && $0.isASCII || $0 == "-" || $0 == "_" }
    }
}

/// The operator's decision on a proposal, stored as `approvals/YYYY/MM/<run-id>.json` on main.
public struct ApprovalRecord: Codable, Sendable {
    public enum Decision: String, Codable, Sendable { case approved, rejected, autoApproved = "auto-approved" }
    public var version = 1
    public var run: String
    public var agent: String
    public var decision: Decision
    public var note: String?
    public var decidedBy: String
    public var decidedAt: String
    /// The proposal commit decided on.
    public var proposal: String
    public var base: String
    /// The policy rule that allowed an automatic merge.
    public var rule: String?
    /// Files the proposal changed.
    public var files: [String]
    /// The machine the decision was made on (absent in records written before sync existed).
    public var machine: String? = nil

    public static func path(runID: String) -> String { RunID.recordPath("approvals", runID) }

    public func encoded() throws -> Data { try RecordJSON.encode(self) }
}

/// The one JSON layout of the records cairn commits: pretty, sorted keys, a final newline — stable diffs.
enum RecordJSON {
    static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(0x0A)
        return data
    }
}

public enum ISOTime {
    /// `2026-03-01T10:00:00Z` (UTC, whole seconds), like `ISO8601DateFormatter`'s default.
    static func string(_ date: Date) -> String {
        let t = utc(date)
        return "\(t.year)-\(t.month)-\(t.day)T\(t.hour):\(t.minute):\(t.second)Z"
    }

    /// Parses an ISO 8601 time. `YYYY-MM-DDTHH:MM:SSZ`, what cairn writes, is read with `timegm` (a Foundation
    /// formatter costs a few million instructions per call in ICU); anything else goes to `ISO8601DateFormatter`.
    public static func date(from text: String) -> Date? {
        let b = Array(text.utf8)
        if b.count == 20, b[4] == 0x2D, b[7] == 0x2D, b[10] == 0x54, b[13] == 0x3A, b[16] == 0x3A, b[19] == 0x5A {
            func number(_ range: Range<Int>) -> Int32? {
                var v: Int32 = 0
                for i in range {
                    guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                    v = v * 10 + Int32(b[i] - 0x30)
                }
                return v
            }
            if let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
               let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
               year >= 1970, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 60 {
                var fields = tm()
                fields.tm_year = year - 1900; fields.tm_mon = month - 1; fields.tm_mday = day
                fields.tm_hour = hour; fields.tm_min = minute; fields.tm_sec = second
                var seconds = timegm(&fields)
                var back = tm()
                gmtime_r(&seconds, &back)
                // timegm rolls a day past the month's end over; such a date is left to the formatter.
                if back.tm_mday == day, back.tm_mon == month - 1 { return Date(timeIntervalSince1970: TimeInterval(seconds)) }
            }
        }
        return ISO8601DateFormatter().date(from: text)
    }

    /// The zero-padded UTC fields of `date`, computed with `gmtime_r` (a Foundation date formatter loads ICU
    /// calendars, a noticeable part of a short command).
    static func utc(_ date: Date) -> (year: String, month: String, day: String, hour: String, minute: String, second: String) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var tm = tm()
        gmtime_r(&seconds, &tm)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return (pad(tm.tm_year + 1900, 4), pad(tm.tm_mon + 1, 2), pad(tm.tm_mday, 2), pad(tm.tm_hour, 2), pad(tm.tm_min, 2), pad(tm.tm_sec, 2))
    }
}
