// How the CLI writes numbers, durations, sizes, times and tables for people.

import Foundation

/// Formatting shared by the subcommands' human-readable output. Every function is pure.
enum TextFormat {
    /// The two largest units of a duration: `3d 4h`, `4h 12m`, `12m 5s`, `42s`; under 10 s with one decimal
    /// (`0.3s`). Negative durations print as `0s`.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds > 0 else { return "0s" }
        if seconds < 10 {
            let tenths = (seconds * 10).rounded() / 10
            return tenths == tenths.rounded() ? "\(Int(tenths))s" : String(format: "%.1fs", tenths)
        }
        let total = Int64(seconds.rounded(.down))
        let units: [(Int64, String)] = [(86_400, "d"), (3_600, "h"), (60, "m"), (1, "s")]
        var parts: [String] = []
        var rest = total
        for (size, name) in units {
            let count = rest / size
            rest %= size
            if count > 0 || !parts.isEmpty {
                parts.append("\(count)\(name)")
            }
            if parts.count == 2 { break }
        }
        if parts.count == 2, parts[1].hasPrefix("0") { parts.removeLast() }
        return parts.joined(separator: " ")
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

    /// A UTC time as ISO 8601 with whole seconds: `2026-11-22T01:02:03Z`.
    static func time(_ epochSeconds: Double) -> String {
        let components = utc.dateComponents(
            [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: epochSeconds))
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02dZ", components.year!, components.month!, components.day!,
            components.hour!, components.minute!, components.second!)
    }

    /// A UTC time as ISO 8601 with tenths of a second: `2026-11-22T01:02:03.4Z`.
    static func timeWithTenths(_ epochSeconds: Double) -> String {
        let whole = epochSeconds.rounded(.down)
        let tenths = min(9, Int(((epochSeconds - whole) * 10).rounded(.down)))
        return String(time(whole).dropLast()) + ".\(tenths)Z"
    }

    /// A UTC time of day with tenths, for the level meter: `01:02:03.4`.
    static func timeOfDay(_ epochSeconds: Double) -> String {
        let full = timeWithTenths(epochSeconds)
        return String(full.dropFirst(11).dropLast())
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

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()
}
