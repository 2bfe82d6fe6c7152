import Foundation
import Testing
@testable import CairnKit

/// Run ids and record times are formatted without Foundation's ICU-backed formatters; they must read the same.
@Suite struct ISOTimeTests {
    @Test func matchesFoundationsFormatters() {
        let iso = ISO8601DateFormatter()
        iso.timeZone = TimeZone(identifier: "UTC")
        let compact = DateFormatter()
        compact.locale = Locale(identifier: "en_US_POSIX")
        compact.timeZone = TimeZone(identifier: "UTC")
        compact.dateFormat = "yyyyMMdd-HHmmss"
        var rng = SplitMix64(state: 7)
        let fixed: [TimeInterval] = [0, 59.999, 951_782_400 /* 2000-02-29 */, 1_772_359_200.5, 4_102_444_799, 253_402_300_799]
        let dates = (fixed + (0..<500).map { _ in TimeInterval(rng.next() % 4_102_444_800) + 0.25 }).map(Date.init(timeIntervalSince1970:))
        for date in dates {
            #expect(ISOTime.string(date) == iso.string(from: date), "\(date.timeIntervalSince1970)")
            #expect(RunID.make(agent: "Daily Digest", now: date).hasPrefix(compact.string(from: date) + "-daily-digest-"),
                    "\(date.timeIntervalSince1970)")
        }
    }

    @Test func parsingMatchesFoundation() {
        let iso = ISO8601DateFormatter()
        var rng = SplitMix64(state: 11)
        let fixed: [TimeInterval] = [0, 951_782_400, 1_772_359_200, 4_102_444_799, 253_402_300_799]
        for seconds in fixed + (0..<500).map({ _ in TimeInterval(rng.next() % 4_102_444_800) }) {
            let text = iso.string(from: Date(timeIntervalSince1970: seconds))
            #expect(ISOTime.date(from: text) == iso.date(from: text), "\(text)")
            #expect(ISOTime.date(from: text)?.timeIntervalSince1970 == seconds, "\(text)")
        }
        // Not in cairn's own form: the same answer as the formatter, whatever it is.
        for text in ["2026-02-30T10:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T10:00:60Z",
                     "2026-01-01T10:00:00+02:00", "2026-01-01T10:00:00.5Z", "2026-01-01", "garbage", "", "1969-12-31T23:59:59Z",
                     "2026-01-01X10:00:00Z", "２026-01-01T10:00:00Z"] {
            #expect(ISOTime.date(from: text) == iso.date(from: text), "\(text)")
        }
    }
}
