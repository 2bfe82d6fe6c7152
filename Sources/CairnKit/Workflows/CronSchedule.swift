import Foundation

/// A standard five-field cron schedule (`minute hour day-of-month month day-of-week`), in UTC.
///
/// Accepts what Vixie cron and cronie accept in a crontab's time fields:
/// - `*`, single values, lists (`1,15,30`), ranges (`1-5`), steps (`*/15`, `10-50/20`, and
///   `5/15`, meaning `5-<max>/15`);
/// - month names `jan`…`dec` and day names `sun`…`sat`, in any case, also inside ranges
///   (`mon-fri`); day-of-week `7` is Sunday like `0`;
/// - the macros `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily` (`@midnight`) and
///   `@hourly`.
///
/// Day matching follows Vixie cron: when both day-of-month and day-of-week are restricted (their
/// field does not start with `*`), a day matches if **either** matches (`0 9 1 * mon` runs on the
/// 1st and on every Monday); otherwise both must match. A field starting with `*` — including a
/// step like `*/2` — counts as unrestricted for this rule, exactly as in Vixie cron.
///
/// Times are always UTC: a schedule runs at the same instant on every machine, whatever its
/// local zone. An optional `TZ=UTC` or `CRON_TZ=UTC` prefix is accepted; any other zone is an
/// error rather than a silent shift.
public struct CronSchedule: Hashable, Sendable, CustomStringConvertible {
    /// One of the five fields, named as error messages name it.
    public enum Field: String, Sendable, CaseIterable {
        case minute, hour
        case dayOfMonth = "day-of-month"
        case month
        case dayOfWeek = "day-of-week"

        var range: ClosedRange<Int> {
            switch self {
            case .minute: 0...59
            case .hour: 0...23
            case .dayOfMonth: 1...31
            case .month: 1...12
            case .dayOfWeek: 0...7
            }
        }

        var names: [String: Int] {
            switch self {
            case .month:
                ["jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
                 "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12]
            case .dayOfWeek:
                ["sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6]
            default: [:]
            }
        }
    }

    /// The expression as written (trimmed).
    public let expression: String

    // One bit per allowed value.
    let minutes: UInt64
    let hours: UInt32
    let daysOfMonth: UInt32
    let months: UInt16
    let daysOfWeek: UInt8
    /// Whether the day-of-month / day-of-week field was restricted (did not start with `*`).
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    public var description: String { expression }

    /// Parses a cron expression; the error names the field and what is wrong with it.
    public init(parsing text: String) throws(CronScheduleError) {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        expression = trimmed
        var body = Substring(trimmed)
        for prefix in ["CRON_TZ=", "TZ="] where body.hasPrefix(prefix) {
            let rest = body.dropFirst(prefix.count)
            let zone = rest.prefix { !$0.isWhitespace }
            guard ["UTC", "Etc/UTC", "GMT", "Z"].contains(String(zone)) else {
                throw CronScheduleError(
                    expression: trimmed, field: nil,
                    reason: "time zone \"\(zone)\" is not supported; schedules are always UTC (write the time in UTC)")
            }
            body = rest.dropFirst(zone.count)
            break
        }
        var fields = body.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        if fields.count == 1, let first = fields.first, first.hasPrefix("@") {
            switch first.lowercased() {
            case "@yearly", "@annually": fields = ["0", "0", "1", "1", "*"]
            case "@monthly": fields = ["0", "0", "1", "*", "*"]
            case "@weekly": fields = ["0", "0", "*", "*", "0"]
            case "@daily", "@midnight": fields = ["0", "0", "*", "*", "*"]
            case "@hourly": fields = ["0", "*", "*", "*", "*"]
            case "@reboot":
                throw CronScheduleError(
                    expression: trimmed, field: nil,
                    reason: "@reboot is not a schedule cairn can run; use a path or event trigger instead")
            default:
                throw CronScheduleError(
                    expression: trimmed, field: nil,
                    reason: "unknown macro \(first); expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly")
            }
        }
        guard fields.count == 5 else {
            throw CronScheduleError(
                expression: trimmed, field: nil,
                reason: "expected 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)")
        }
        func parse(_ index: Int, _ field: Field) throws(CronScheduleError) -> UInt64 {
            do {
                return try Self.parseField(fields[index], field)
            } catch let reason {
                throw CronScheduleError(expression: trimmed, field: field, reason: "\"\(fields[index])\": \(reason.text)")
            }
        }
        minutes = try parse(0, .minute)
        hours = UInt32(truncatingIfNeeded: try parse(1, .hour))
        daysOfMonth = UInt32(truncatingIfNeeded: try parse(2, .dayOfMonth))
        months = UInt16(truncatingIfNeeded: try parse(3, .month))
        var dow = try parse(4, .dayOfWeek)
        if dow & (1 << 7) != 0 { dow = (dow | 1) & ~(1 << 7) }  // 7 is Sunday
        daysOfWeek = UInt8(truncatingIfNeeded: dow)
        dayOfMonthRestricted = !fields[2].hasPrefix("*")
        dayOfWeekRestricted = !fields[4].hasPrefix("*")

        // A schedule that names only impossible dates (`0 0 30 2 *`) would never run; say so now
        // rather than let a workflow wait forever.
        if dayOfMonthRestricted && !dayOfWeekRestricted {
            let longest = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
            let possible = (1...12).contains { month in
                months & (1 << month) != 0
                    && (1...longest[month]).contains { daysOfMonth & (1 << $0) != 0 }
            }
            guard possible else {
                throw CronScheduleError(
                    expression: trimmed, field: .dayOfMonth,
                    reason: "\"\(fields[2])\": no such day in the chosen month(s), so the schedule would never run")
            }
        }
    }

    private struct FieldProblem: Error { var text: String }

    /// Parses one field into a bit set over its range.
    private static func parseField(_ text: String, _ field: Field) throws(FieldProblem) -> UInt64 {
        guard !text.isEmpty else { throw FieldProblem(text: "is empty") }
        var bits: UInt64 = 0
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw FieldProblem(text: "has an empty list item") }
            let parts = item.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw FieldProblem(text: "has more than one '/' in \"\(item)\"") }
            var step = 1
            if parts.count == 2 {
                guard let value = Int(parts[1]), value >= 1 else {
                    throw FieldProblem(text: "step \"\(parts[1])\" must be a whole number of at least 1")
                }
                guard value <= field.range.upperBound else {
                    throw FieldProblem(text: "step \(value) is larger than the field's maximum \(field.range.upperBound)")
                }
                step = value
            }
            let base = parts[0]
            var low: Int
            var high: Int
            if base == "*" {
                low = field.range.lowerBound
                high = field == .dayOfWeek ? 6 : field.range.upperBound
            } else {
                let bounds = base.split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2 else { throw FieldProblem(text: "\"\(base)\" is not a value or a range") }
                low = try value(bounds[0], field)
                if bounds.count == 2 {
                    high = try value(bounds[1], field)
                    guard low <= high else {
                        throw FieldProblem(text: "range \(base) runs backwards (\(low) > \(high))")
                    }
                } else {
                    // `5/15` means from 5 to the end of the range, as in cronie.
                    high = parts.count == 2 ? (field == .dayOfWeek ? 6 : field.range.upperBound) : low
                }
            }
            for value in stride(from: low, through: high, by: step) { bits |= 1 << UInt64(value) }
        }
        return bits
    }

    private static func value(_ text: Substring, _ field: Field) throws(FieldProblem) -> Int {
        if let number = Int(text), text.allSatisfy(\.isASCII) {
            guard field.range.contains(number) else {
                throw FieldProblem(
                    text: "\(number) is out of range \(field.range.lowerBound)-\(field.range.upperBound)")
            }
            return number
        }
        if let named = field.names[text.lowercased()] { return named }
        if text.isEmpty { throw FieldProblem(text: "has a range with a missing bound") }
        let hint = field.names.isEmpty
            ? "expected a number \(field.range.lowerBound)-\(field.range.upperBound)"
            : "expected a number \(field.range.lowerBound)-\(field.range.upperBound) or a name like \(field == .month ? "jan" : "mon")"
        throw FieldProblem(text: "\"\(text)\" is not valid; \(hint)")
    }

    // MARK: - Matching

    /// The first scheduled instant strictly after `date`, or nil if there is none within the next
    /// nine years (which only happens for date combinations that almost never occur).
    ///
    /// Scheduled instants are whole UTC minutes (second zero).
    public func next(after date: Date) -> Date? {
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite else { return nil }
        // The first whole minute strictly after `date`.
        var minute = Int((seconds / 60).rounded(.down)) + 1
        var day = Self.floorDiv(minute, 1440)
        let lastDay = day + 366 * 9
        while day <= lastDay {
            if matchesDay(day) {
                var minuteOfDay = minute - day * 1440
                while minuteOfDay < 1440 {
                    let hour = minuteOfDay / 60
                    if hours & (1 << UInt32(hour)) == 0 {
                        minuteOfDay = (hour + 1) * 60
                        continue
                    }
                    let mask = minutes >> UInt64(minuteOfDay % 60)
                    if mask != 0 {
                        let found = minuteOfDay + mask.trailingZeroBitCount
                        return Date(timeIntervalSince1970: TimeInterval((day * 1440 + found) * 60))
                    }
                    minuteOfDay = (hour + 1) * 60
                }
            }
            day += 1
            minute = day * 1440
        }
        return nil
    }

    /// Whether a scheduled minute falls in `(lastTick, now]`: the schedule became due since the
    /// previous check. False when `now` is not after `lastTick`.
    public func isDue(since lastTick: Date, now: Date) -> Bool {
        guard now > lastTick, let next = next(after: lastTick) else { return false }
        return next <= now
    }

    /// Whether the schedule fires at `date`'s minute (seconds are ignored).
    public func matches(_ date: Date) -> Bool {
        let minute = Int((date.timeIntervalSince1970 / 60).rounded(.down))
        let day = Self.floorDiv(minute, 1440)
        let minuteOfDay = minute - day * 1440
        return matchesDay(day)
            && hours & (1 << UInt32(minuteOfDay / 60)) != 0
            && minutes & (1 << UInt64(minuteOfDay % 60)) != 0
    }

    /// Whether the day `day` (days since 1970-01-01) matches month, day-of-month and day-of-week.
    private func matchesDay(_ day: Int) -> Bool {
        let (_, month, dayOfMonth) = CivilDate.civil(days: day)
        guard months & (1 << UInt16(month)) != 0 else { return false }
        let weekday = ((day % 7) + 7 + 4) % 7  // 1970-01-01 was a Thursday
        let domHit = daysOfMonth & (1 << UInt32(dayOfMonth)) != 0
        let dowHit = daysOfWeek & (1 << UInt8(weekday)) != 0
        if dayOfMonthRestricted && dayOfWeekRestricted { return domHit || dowHit }
        return domHit && dowHit
    }

    private static func floorDiv(_ a: Int, _ b: Int) -> Int {
        a >= 0 ? a / b : -((-a + b - 1) / b)
    }
}

/// A cron expression that cannot be parsed, naming the field and what is wrong.
///
/// Printed as `cron schedule "…": day-of-week field "mon-xyz": …`; callers that read the
/// schedule from a file prefix the file's path.
public struct CronScheduleError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The whole expression as written.
    public var expression: String
    /// The field at fault, or nil when the problem is the expression as a whole.
    public var field: CronSchedule.Field?
    /// What is wrong, in words the operator can act on.
    public var reason: String

    public var description: String {
        if let field { return "cron schedule \"\(expression)\": \(field.rawValue) field \(reason)" }
        return "cron schedule \"\(expression)\": \(reason)"
    }
}
