import Foundation

/// Formats a date with the Moment.js tokens Obsidian's settings use (daily note names `YYYY-MM-DD`, nested
/// `YYYY/MM/YYYY-MM-DD`, template dates `dddd, MMMM Do`).
///
/// Supported: `YYYY YY Q MMMM MMM MM M DDDD DDD DD Do D dddd ddd dd d E e WW W ww w HH H hh h mm m ss s A a X x`
/// and `[literal text]`; English names, as Obsidian's default locale. Other letters are copied as they are.
public enum MomentFormat {
    public static func string(_ date: Date, format: String, timeZone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .weekday], from: date)
        var iso = Calendar(identifier: .iso8601)
        iso.timeZone = timeZone
        let year = c.year ?? 1970, month = c.month ?? 1, day = c.day ?? 1
        let hour = c.hour ?? 0, minute = c.minute ?? 0, second = c.second ?? 0
        let weekday = (c.weekday ?? 1) - 1  // 0 = Sunday, as Moment's `d`
        let dayOfYear = calendar.ordinality(of: .day, in: .year, for: date) ?? 1
        let isoWeek = iso.component(.weekOfYear, from: date)
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                      "November", "December"]
        let days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
        func pad(_ n: Int, _ width: Int) -> String {
            let s = String(n)
            return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
        }
        func ordinal(_ n: Int) -> String {
            let tens = n % 100
            if (11...13).contains(tens) { return "\(n)th" }
            switch n % 10 {
            case 1: return "\(n)st"
            case 2: return "\(n)nd"
            case 3: return "\(n)rd"
            default: return "\(n)th"
            }
        }
        let tokens: [(String, () -> String)] = [
            ("YYYY", { pad(year, 4) }), ("YY", { pad(year % 100, 2) }),
            ("MMMM", { months[month - 1] }), ("MMM", { String(months[month - 1].prefix(3)) }),
            ("MM", { pad(month, 2) }), ("M", { String(month) }),
            ("DDDD", { pad(dayOfYear, 3) }), ("DDD", { String(dayOfYear) }),
            ("DD", { pad(day, 2) }), ("Do", { ordinal(day) }), ("D", { String(day) }),
            ("dddd", { days[weekday] }), ("ddd", { String(days[weekday].prefix(3)) }), ("dd", { String(days[weekday].prefix(2)) }),
            ("d", { String(weekday) }), ("E", { String(weekday == 0 ? 7 : weekday) }), ("e", { String(weekday) }),
            ("WW", { pad(isoWeek, 2) }), ("W", { String(isoWeek) }), ("ww", { pad(isoWeek, 2) }), ("w", { String(isoWeek) }),
            ("Q", { String((month - 1) / 3 + 1) }),
            ("HH", { pad(hour, 2) }), ("H", { String(hour) }),
            ("hh", { pad(hour % 12 == 0 ? 12 : hour % 12, 2) }), ("h", { String(hour % 12 == 0 ? 12 : hour % 12) }),
            ("mm", { pad(minute, 2) }), ("m", { String(minute) }), ("ss", { pad(second, 2) }), ("s", { String(second) }),
            ("A", { hour < 12 ? "AM" : "PM" }), ("a", { hour < 12 ? "am" : "pm" }),
            ("X", { String(Int(date.timeIntervalSince1970)) }), ("x", { String(Int(date.timeIntervalSince1970 * 1000)) }),
        ]
        var out = ""
        var rest = Substring(format)
        outer: while let first = rest.first {
            if first == "[" {
                if let close = rest.firstIndex(of: "]") {
                    out += rest[rest.index(after: rest.startIndex)..<close]
                    rest = rest[rest.index(after: close)...]
                    continue
                }
            }
            for (token, value) in tokens where rest.hasPrefix(token) {
                out += value()
                rest = rest.dropFirst(token.count)
                continue outer
            }
            out.append(first)
            rest = rest.dropFirst()
        }
        return out
    }
}
