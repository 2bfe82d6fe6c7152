import CairnKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes results as text (colored on a terminal) or JSON.
struct Output {
    let color: Bool

    init(_ env: Environment) {
        color = env.useColor
    }

    enum Style: String {
        case bold = "1", dim = "2", red = "31", green = "32", yellow = "33", blue = "34", magenta = "35", cyan = "36"
    }

    func paint(_ text: String, _ style: Style) -> String {
        color ? "\u{1B}[\(style.rawValue)m\(text)\u{1B}[0m" : text
    }

    func line(_ text: String = "") { write(Data((text + "\n").utf8)) }

    func write(_ data: Data) { Descriptor.writeAll(STDOUT_FILENO, data) }

    func json<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        var data = try encoder.encode(value)
        data.append(0x0A)
        write(data)
    }

    /// A unified patch with colored lines on a terminal.
    func colorPatch(_ patch: String) -> String {
        guard color else { return patch }
        return patch.split(separator: "\n", omittingEmptySubsequences: false).map { l -> String in
            if l.hasPrefix("+++") || l.hasPrefix("---") || l.hasPrefix("diff --git") || l.hasPrefix("index ") { return paint(String(l), .bold) }
            if l.hasPrefix("+") { return paint(String(l), .green) }
            if l.hasPrefix("-") { return paint(String(l), .red) }
            if l.hasPrefix("@@") { return paint(String(l), .cyan) }
            return String(l)
        }.joined(separator: "\n")
    }

    /// "Links updated: N in M notes" and one line per link (the first 50), for a proposal that renamed or moved files.
    func linkUpdates(_ links: [LinkUpdate]) {
        guard !links.isEmpty else { return }
        let notes = Set(links.map(\.path)).count
        line(paint("links updated:", .yellow) + " \(links.count) in \(notes) note\(notes == 1 ? "" : "s")")
        for l in links.prefix(50) { line("  " + paint("\(l.path):\(l.line)", .magenta) + "  \(l.old) -> \(l.new)") }
        if links.count > 50 { line("  … and \(links.count - 50) more (`cairn review` lists them)") }
    }

    func changeLine(_ c: FileChange) -> String {
        let (mark, style): (String, Style)
        switch c.kind {
        case .added, .untracked: (mark, style) = ("added   ", .green)
        case .deleted: (mark, style) = ("deleted ", .red)
        case .renamed: (mark, style) = ("renamed ", .yellow)
        case .conflicted: (mark, style) = ("conflict", .magenta)
        default: (mark, style) = ("modified", .yellow)
        }
        let target = c.oldPath.map { "\($0) -> \(c.path)" } ?? c.path
        return "  " + paint(mark, style) + " " + target
    }

    /// Shows long text through `$PAGER` (default `less -FRX`) on a terminal; prints it directly otherwise.
    func page(_ text: String, env: Environment) {
        let lines = text.reduce(0) { $1 == "\n" ? $0 + 1 : $0 }
        guard env.stdoutIsTerminal, lines > 40, env.variables["CAIRN_PAGER"] != "" else {
            write(Data(text.utf8))
            if !text.hasSuffix("\n") { line() }
            return
        }
        let pager = env.variables["CAIRN_PAGER"] ?? env.variables["PAGER"] ?? "less -FRX"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", pager]
        let pipe = Pipe()
        process.standardInput = pipe
        do {
            try process.run()
            pipe.fileHandleForWriting.write(Data(text.utf8))
            try? pipe.fileHandleForWriting.close()
            process.waitUntilExit()
        } catch {
            write(Data(text.utf8))
        }
    }

    static func relativeDate(_ date: Date, now: Date) -> String {
        let s = now.timeIntervalSince(date)
        if s < 0 { return Self.day(date) }
        if s < 90 { return "just now" }
        if s < 3600 { return "\(Int(s / 60)) minutes ago" }
        if s < 86_400 { return "\(Int(s / 3600)) hours ago" }
        if s < 86_400 * 14 { return "\(Int(s / 86_400)) days ago" }
        return Self.day(date)
    }

    /// "2026-01-31 09:05 UTC". Computed from the seconds (a `DateFormatter` costs more than the rest of a log
    /// line; a log shows twenty of them).
    static func day(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let minuteOfDay = (seconds - days * 86_400) / 60
        let (y, m, d) = CivilDate.civil(days: Int(days))
        func two<T: BinaryInteger>(_ v: T) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let year = y >= 0 && y < 10_000 ? String(repeating: "0", count: max(0, 4 - "\(y)".count)) + "\(y)" : "\(y)"
        return "\(year)-\(two(m))-\(two(d)) \(two(minuteOfDay / 60)):\(two(minuteOfDay % 60)) UTC"
    }
}
