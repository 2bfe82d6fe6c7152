import Foundation
import Testing

@testable import CairnKit

/// A UTC instant from an ISO 8601 string like `2026-11-22T09:00:00Z`.
private func utc(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    guard let date = formatter.date(from: text) else { fatalError("bad test date \(text)") }
    return date
}

private func iso(_ date: Date?) -> String {
    guard let date else { return "nil" }
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    return formatter.string(from: date)
}

/// The values whose bits are set, for readable expectations.
private func values<T: FixedWidthInteger>(_ bits: T) -> [Int] {
    (0..<T.bitWidth).filter { bits & (1 << T(truncatingIfNeeded: $0)) != 0 }
}

/// The first matching minute after `date` found by walking every minute of every day, using
/// Foundation's calendar (not the schedule's own date arithmetic) for each day's fields; nil when
/// nothing matches within `limitDays`.
private func bruteForceNext(_ schedule: CronSchedule, after date: Date, limitDays: Int) -> Date? {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let firstMinute = Int((date.timeIntervalSince1970 / 60).rounded(.down)) + 1
    let minutes = Set(values(schedule.minutes)), hours = Set(values(schedule.hours))
    var dayStart = calendar.startOfDay(for: Date(timeIntervalSince1970: TimeInterval(firstMinute * 60)))
    for _ in 0...limitDays {
        let parts = calendar.dateComponents([.month, .day, .weekday], from: dayStart)
        let monthOK = values(schedule.months).contains(parts.month!)
        let dom = values(schedule.daysOfMonth).contains(parts.day!)
        let dow = values(schedule.daysOfWeek).contains(parts.weekday! - 1)
        let dayOK = schedule.dayOfMonthRestricted && schedule.dayOfWeekRestricted ? (dom || dow) : (dom && dow)
        if monthOK && dayOK {
            let base = Int(dayStart.timeIntervalSince1970) / 60
            for minuteOfDay in 0..<1440 where base + minuteOfDay >= firstMinute {
                if hours.contains(minuteOfDay / 60), minutes.contains(minuteOfDay % 60) {
                    return Date(timeIntervalSince1970: TimeInterval((base + minuteOfDay) * 60))
                }
            }
        }
        dayStart = calendar.date(byAdding: .day, value: 1, to: dayStart)!
    }
    return nil
}

@Suite("CronSchedule")
struct CronScheduleTests {
    // MARK: Parsing

    @Test func parsesListsRangesAndSteps() throws {
        let schedule = try CronSchedule(parsing: "*/15 9-17/4 1,15 */3 1-5")
        #expect(values(schedule.minutes) == [0, 15, 30, 45])
        #expect(values(schedule.hours) == [9, 13, 17])
        #expect(values(schedule.daysOfMonth) == [1, 15])
        #expect(values(schedule.months) == [1, 4, 7, 10])
        #expect(values(schedule.daysOfWeek) == [1, 2, 3, 4, 5])
        #expect(schedule.dayOfMonthRestricted && schedule.dayOfWeekRestricted)
    }

    @Test func parsesNamesInAnyCaseAndSundayAsSeven() throws {
        let schedule = try CronSchedule(parsing: "0 0 * JAN-mar,Dec sat-7")
        #expect(values(schedule.months) == [1, 2, 3, 12])
        #expect(values(schedule.daysOfWeek) == [0, 6])
        #expect(try values(CronSchedule(parsing: "0 0 * * 7").daysOfWeek) == [0])
        #expect(try values(CronSchedule(parsing: "0 0 * * mon,wed,FRI").daysOfWeek) == [1, 3, 5])
    }

    @Test func singleValueWithStepRunsToTheEndOfTheRange() throws {
        #expect(try values(CronSchedule(parsing: "50/5 * * * *").minutes) == [50, 55])
    }

    @Test func macrosExpandToTheirFiveFieldForms() throws {
        let pairs = [
            ("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"), ("@monthly", "0 0 1 * *"),
            ("@weekly", "0 0 * * 0"), ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"),
            ("@hourly", "0 * * * *"),
        ]
        let start = utc("2026-11-22T10:17:00Z")
        for (macro, long) in pairs {
            let a = try CronSchedule(parsing: macro)
            let b = try CronSchedule(parsing: long)
            #expect(a.next(after: start) == b.next(after: start), "\(macro)")
            #expect(a.minutes == b.minutes && a.hours == b.hours && a.daysOfWeek == b.daysOfWeek, "\(macro)")
        }
    }

    @Test func acceptsAnExplicitUTCZoneAndRejectsOthers() throws {
        let schedule = try CronSchedule(parsing: "TZ=UTC 0 9 * * *")
        #expect(iso(schedule.next(after: utc("2026-11-22T08:00:00Z"))) == "2026-11-22T09:00:00Z")
        #expect(throws: CronScheduleError.self) { try CronSchedule(parsing: "CRON_TZ=Europe/Paris 0 9 * * *") }
    }

    @Test func errorsNameTheFieldAndTheProblem() {
        func message(_ text: String) -> String {
            do {
                _ = try CronSchedule(parsing: text)
                return "parsed"
            } catch {
                return error.description
            }
        }
        #expect(message("0 9 * *") == #"cron schedule "0 9 * *": expected 5 fields (minute hour day-of-month month day-of-week), found 4"#)
        #expect(message("60 * * * *") == #"cron schedule "60 * * * *": minute field "60": 60 is out of range 0-59"#)
        #expect(message("0 24 * * *").contains("hour field \"24\": 24 is out of range 0-23"))
        #expect(message("0 0 0 * *").contains("day-of-month field \"0\": 0 is out of range 1-31"))
        #expect(message("0 0 * 13 *").contains("month field \"13\""))
        #expect(message("0 0 * * mon-xyz").contains("day-of-week field \"mon-xyz\": \"xyz\" is not valid"))
        #expect(message("0 0 * * fri-mon").contains("runs backwards"))
        #expect(message("*/0 * * * *").contains("minute field \"*/0\": step \"0\" must be"))
        #expect(message("1,,2 * * * *").contains("empty list item"))
        #expect(message("@often").contains("unknown macro @often"))
        #expect(message("@reboot").contains("@reboot"))
        #expect(message("0 0 30 feb *").contains("never run"))
        #expect(message("0 0 31 apr,jun,sep,nov *").contains("never run"))
        #expect(message("").contains("expected 5 fields"))
    }

    @Test func februaryTwentyNinthIsPossible() throws {
        let schedule = try CronSchedule(parsing: "0 0 29 2 *")
        #expect(iso(schedule.next(after: utc("2026-11-22T00:00:00Z"))) == "2028-02-29T00:00:00Z")
        // 2100 is not a leap year: the next one after 2096 is 2104.
        #expect(iso(schedule.next(after: utc("2096-03-01T00:00:00Z"))) == "2104-02-29T00:00:00Z")
    }

    // MARK: next(after:)

    @Test func nextIsStrictlyAfterAndOnWholeMinutes() throws {
        let schedule = try CronSchedule(parsing: "30 9 * * *")
        #expect(iso(schedule.next(after: utc("2026-11-22T09:30:00Z"))) == "2026-11-23T09:30:00Z")
        #expect(iso(schedule.next(after: utc("2026-11-22T09:29:59Z"))) == "2026-11-22T09:30:00Z")
        #expect(iso(schedule.next(after: Date(timeIntervalSince1970: utc("2026-11-22T09:29:00Z").timeIntervalSince1970 + 0.5)))
            == "2026-11-22T09:30:00Z")
    }

    @Test func weekdaysSkipTheWeekendAndCrossTheYear() throws {
        let schedule = try CronSchedule(parsing: "0 9 * * 1-5")
        // 2026-12-31 is a Thursday; Friday is 2027-01-01, then Monday 2027-01-04.
        #expect(iso(schedule.next(after: utc("2026-12-31T10:00:00Z"))) == "2027-01-01T09:00:00Z")
        #expect(iso(schedule.next(after: utc("2027-01-01T09:00:00Z"))) == "2027-01-04T09:00:00Z")
    }

    @Test func restrictedDayOfMonthAndWeekMatchEither() throws {
        // Vixie: the 13th OR any Friday.
        let schedule = try CronSchedule(parsing: "0 0 13 * fri")
        // 2026-11-22 is a Sunday: next Friday is the 27th, before December 13th.
        #expect(iso(schedule.next(after: utc("2026-11-22T00:00:00Z"))) == "2026-11-27T00:00:00Z")
        #expect(iso(schedule.next(after: utc("2026-12-11T00:00:00Z"))) == "2026-12-13T00:00:00Z")
        // A starred step does not count as a restriction: the 1st, 3rd, … AND a Friday.
        let both = try CronSchedule(parsing: "0 0 */2 * fri")
        #expect(iso(both.next(after: utc("2026-11-22T00:00:00Z"))) == "2026-11-27T00:00:00Z")
        #expect(iso(both.next(after: utc("2026-11-27T00:00:00Z"))) == "2026-12-11T00:00:00Z")
    }

    @Test func nextWorksBeforeTheEpoch() throws {
        let schedule = try CronSchedule(parsing: "15 3 * * *")
        #expect(iso(schedule.next(after: utc("1969-12-31T12:00:00Z"))) == "1970-01-01T03:15:00Z")
        #expect(iso(schedule.next(after: utc("1960-02-28T04:00:00Z"))) == "1960-02-29T03:15:00Z")
    }

    // MARK: isDue

    @Test func isDueIsTrueExactlyWhenAMinuteFallsInTheHalfOpenInterval() throws {
        let schedule = try CronSchedule(parsing: "0 9 * * *")
        #expect(schedule.isDue(since: utc("2026-11-22T08:59:00Z"), now: utc("2026-11-22T09:00:00Z")))
        #expect(schedule.isDue(since: utc("2026-11-22T08:00:00Z"), now: utc("2026-11-22T09:00:30Z")))
        #expect(!schedule.isDue(since: utc("2026-11-22T09:00:00Z"), now: utc("2026-11-22T09:01:00Z")))
        #expect(!schedule.isDue(since: utc("2026-11-22T08:00:00Z"), now: utc("2026-11-22T08:59:59Z")))
        #expect(!schedule.isDue(since: utc("2026-11-22T09:00:00Z"), now: utc("2026-11-22T08:00:00Z")))
        // A tick that was down for two days still sees the schedule as due (once).
        #expect(schedule.isDue(since: utc("2026-11-20T10:00:00Z"), now: utc("2026-11-22T08:00:00Z")))
    }

    @Test func consecutiveTicksSeeEachScheduledMinuteExactlyOnce() throws {
        let schedule = try CronSchedule(parsing: "*/7 * * * *")
        var last = utc("2026-11-22T00:00:00Z")
        var dueCount = 0
        // Ticks at irregular intervals over one day; every due tick must match a distinct minute.
        var rng = SplitMix64(state: 7)
        let end = utc("2026-11-23T00:00:00Z")
        while last < end {
            let now = min(end, last.addingTimeInterval(TimeInterval(Int.random(in: 1...400, using: &rng))))
            if schedule.isDue(since: last, now: now) { dueCount += 1 }
            last = now
        }
        // The day has 24 × 9 minutes matching */7 (0, 7, … 56); with gaps up to 400 s some ticks
        // see two — so count the matched minutes instead of the ticks, through next().
        var minutes = 0
        var cursor = utc("2026-11-22T00:00:00Z")
        while let next = schedule.next(after: cursor), next <= end {
            minutes += 1
            cursor = next
        }
        #expect(minutes == 24 * 9)
        #expect(dueCount > 0 && dueCount <= minutes)
    }

    // MARK: Cross-check

    @Test func nextAgreesWithABruteForceMinuteScan() throws {
        var rng = SplitMix64(state: 20261122)
        func field(_ low: Int, _ high: Int, names: [String] = []) -> String {
            switch Int.random(in: 0..<7, using: &rng) {
            case 0: return "*"
            case 1: return "*/\(Int.random(in: 1...max(1, (high - low) / 2), using: &rng))"
            case 2:
                let a = Int.random(in: low...high, using: &rng)
                if !names.isEmpty, Bool.random(using: &rng) { return names[a - low] }
                return "\(a)"
            case 3:
                let a = Int.random(in: low...high, using: &rng)
                let b = Int.random(in: a...high, using: &rng)
                return "\(a)-\(b)"
            case 4:
                let a = Int.random(in: low...high, using: &rng)
                let b = Int.random(in: a...high, using: &rng)
                return "\(a)-\(b)/\(Int.random(in: 1...3, using: &rng))"
            default:
                let count = Int.random(in: 2...4, using: &rng)
                return (0..<count).map { _ in "\(Int.random(in: low...high, using: &rng))" }.joined(separator: ",")
            }
        }
        let monthNames = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        let dayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        var checked = 0
        var found = 0
        while checked < 300 {
            let text = [
                field(0, 59), field(0, 23), field(1, 31), field(1, 12, names: monthNames),
                field(0, 6, names: dayNames),
            ].joined(separator: " ")
            guard let schedule = try? CronSchedule(parsing: text) else { continue }  // impossible dates
            checked += 1
            // Start anywhere from 1999 to 2040, at any second.
            let start = Date(timeIntervalSince1970: TimeInterval(Int.random(in: 915_148_800...2_208_988_800, using: &rng)))
            let limit = 400
            let expected = bruteForceNext(schedule, after: start, limitDays: limit)
            let actual = schedule.next(after: start)
            if let expected {
                found += 1
                #expect(iso(actual) == iso(expected), "\(text) after \(iso(start))")
            } else {
                #expect(actual == nil || actual! > start.addingTimeInterval(TimeInterval(limit * 86400)),
                        "\(text) after \(iso(start)): brute force found nothing within the limit, next() gave \(iso(actual))")
            }
            if let actual { #expect(schedule.matches(actual), "\(text)") }
        }
        #expect(found > 250)  // the scan really compared something
    }
}
