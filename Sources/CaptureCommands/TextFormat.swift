// How the CLI writes numbers, durations, sizes, times and tables for people.

import Foundation

/// Formatting shared by the subcommands' human-readable output. Every function is pure.
enum TextFormat {
    /// A duration for people, in its two largest units: `3 d 4 h`, `4 h 12 min`, `1 min 3 s`, `42 s`; under
    /// 10 s with one decimal (`2.0 s`, `0.3 s`). Negative or non-finite durations print as `0 s`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds > 0 else { return "0 s" }
        if seconds < 9.95 {
            return String(format: "%.1f s", seconds)
        }
        let total = Int64(seconds.rounded())
        let units: [(Int64, String)] = [(86_400, "d"), (3_600, "h"), (60, "min"), (1, "s")]
        var parts: [String] = []
        var rest = total
        for (size, name) in units {
            let count = rest / size
            rest %= size
            if count > 0 || !parts.isEmpty {
                parts.append("\(count) \(name)")
            }
            if parts.count == 2 { break }
        }
        if parts.count == 2, parts[1].hasPrefix("0 ") { parts.removeLast() }
        return parts.joined(separator: " ")
    }

    /// A number from an event's fields: at most three decimals, trailing zeros dropped but one kept
    /// (`-71.2`, `2.0`, `0.125`); durations (`key` ending in `_seconds`) as ``duration(_:)``.
    static func field(_ value: Double, key: String) -> String {
        guard value.isFinite else { return value < 0 ? "-inf" : (value > 0 ? "inf" : "nan") }
        if key.hasSuffix("_seconds") || key == "seconds" { return duration(value) }
        var text = String(format: "%.3f", value)
        while text.hasSuffix("0"), !text.hasSuffix(".0") { text.removeLast() }
        return text == "-0.0" ? "0.0" : text
    }

    /// A size with SI units: `512 B`, `1.5 kB`, `12.3 MB`, `1.2 TB`.
    static func bytes(_ count: UInt64) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        if unit == 0 { return "\(count) B" }
        let digits = value < 10 ? "%.2f" : (value < 100 ? "%.1f" : "%.0f")
        return String(format: digits, value) + " " + units[unit]
    }

    /// A dBFS value with one decimal; -120 and below (the API's -200 for digital silence) print as `-inf`.
    static func dBFS(_ value: Double) -> String {
        if value <= -120 || !value.isFinite { return "-inf" }
        let tenths = (value * 10).rounded() / 10
        return tenths == 0 ? "0.0" : String(format: "%.1f", tenths)
    }

    /// A time as ISO 8601 with whole seconds, in `zone`: `2026-11-22T01:02:03Z` in UTC (the default),
    /// `2026-11-22T02:02:03+01:00` elsewhere, as `journalctl -o short-iso` writes it.
    static func time(_ epochSeconds: Double, _ zone: TimeStyle = .utc) -> String {
        zone.time(epochSeconds)
    }

    /// A time as ISO 8601 with tenths of a second: `2026-11-22T01:02:03.4Z`, `2026-11-22T02:02:03.4+01:00`.
    static func timeWithTenths(_ epochSeconds: Double, _ zone: TimeStyle = .utc) -> String {
        zone.time(epochSeconds, tenths: true)
    }

    /// A time of day with tenths, for the level meter: `01:02:03.4`.
    static func timeOfDay(_ epochSeconds: Double, _ zone: TimeStyle = .utc) -> String {
        let full = zone.time(epochSeconds, tenths: true)
        return String(full.dropFirst(11).prefix(10))
    }

    /// `1 file`, `2 files`.
    static func count(_ count: Int, _ noun: String, plural: String? = nil) -> String {
        count == 1 ? "1 \(noun)" : "\(count) \(plural ?? noun + "s")"
    }

    /// An integer with thin grouping: `1,234,567`.
    static func grouped<Number: BinaryInteger>(_ value: Number) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return value < 0 ? "-" + result : result
    }

    /// Rows as columns separated by two spaces, each column as wide as its widest cell; the last column is not
    /// padded. Cells may contain ANSI escapes; they do not count toward the width.
    static func table(_ rows: [[String]]) -> String {
        let columns = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columns)
        for row in rows {
            for (index, cell) in row.enumerated() {
                widths[index] = max(widths[index], visibleWidth(cell))
            }
        }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - visibleWidth(cell))
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// The number of characters that show on a terminal: ANSI escape sequences do not count.
    static func visibleWidth(_ text: String) -> Int {
        var width = 0
        var inEscape = false
        for scalar in text.unicodeScalars {
            if inEscape {
                if scalar.properties.isAlphabetic { inEscape = false }
            } else if scalar == "\u{1B}" {
                inEscape = true
            } else {
                width += 1
            }
        }
        return width
    }
}

/// How the CLI shows times: in the process's local time zone (`$TZ`, as journalctl does) or, with `--utc`, in
/// UTC.
struct TimeStyle: Sendable {
    var timeZone: TimeZone

    /// UTC, written with `Z`.
    static let utc = TimeStyle(timeZone: TimeZone(identifier: "UTC")!)
    /// The process's time zone.
    static var local: TimeStyle { TimeStyle(timeZone: TimeZone.current) }

    private var isUTC: Bool { timeZone.identifier == "UTC" || timeZone.identifier == "GMT" }

    /// `2026-11-22T02:02:03+01:00` (or `...Z` in UTC), with `.4` after the seconds when `tenths`.
    func time(_ epochSeconds: Double, tenths: Bool = false) -> String {
        guard epochSeconds.isFinite, abs(epochSeconds) < 1e12 else { return "-" }
        let whole = epochSeconds.rounded(.down)
        let date = Date(timeIntervalSince1970: whole)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        var text = String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0,
            c.minute ?? 0, c.second ?? 0)
        if tenths {
            text += ".\(min(9, Int(((epochSeconds - whole) * 10).rounded(.down))))"
        }
        return text + offset(at: date)
    }

    /// `Z` in UTC, otherwise the offset at `date`: `+01:00`, `-05:30`.
    func offset(at date: Date) -> String {
        if isUTC { return "Z" }
        let seconds = timeZone.secondsFromGMT(for: date)
        let sign = seconds < 0 ? "-" : "+"
        let minutes = abs(seconds) / 60
        return sign + String(format: "%02d:%02d", minutes / 60, minutes % 60)
    }

    /// A short name of the zone at `date` for a column head or the meter: `UTC`, `CET`, `+05:30`.
    func label(at date: Date) -> String {
        if isUTC { return "UTC" }
        if let abbreviation = timeZone.abbreviation(for: date), abbreviation.allSatisfy(\.isLetter) {
            return abbreviation
        }
        return offset(at: date)
    }
}
