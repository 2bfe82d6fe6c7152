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
}
