// Parses the durations and points in time that options take: `90s`, `1h30m`, `-1h`, `yesterday`, `2026-11-22 01:00`.

import ArgumentParser
import Foundation

/// Durations as the CLI's options write them.
///
/// A duration is a whole number of seconds (`45`) or one or more number-and-unit pairs, largest unit first,
/// each unit at most once: `90s`, `10m`, `2h`, `1h30m`, `1d`, `1d12h`. Units: `d` (days), `h`, `m`, `s`.
public enum DurationParser {
    /// What the error messages list as accepted.
    static let acceptedForms = "a duration such as 90s, 10m, 2h, 1h30m, 1d or 45 (seconds)"

    /// The number of seconds `text` stands for. Throws `ValidationError` naming the accepted forms.
    public static func seconds(_ text: String) throws -> Int {
        guard let seconds = parse(text) else {
            throw ValidationError("`\(text)` is not \(acceptedForms)")
        }
        return seconds
    }

    /// The number of seconds, or nil when `text` is not a duration.
    static func parse(_ text: String) -> Int? {
        let text = text.trimmingCharacters(in: .whitespaces).lowercased()
        guard !text.isEmpty else { return nil }
        if text.allSatisfy(\.isASCIIDigit) { return Int(text) }
        let units: [Character: Int] = ["d": 86_400, "h": 3_600, "m": 60, "s": 1]
        let order: [Character] = ["d", "h", "m", "s"]
        var total = 0
        var number = ""
        var lastUnit = -1
        for character in text {
            if character.isASCIIDigit {
                number.append(character)
            } else if let size = units[character], let index = order.firstIndex(of: character) {
                guard let value = Int(number), index > lastUnit else { return nil }
                let (product, overflow1) = value.multipliedReportingOverflow(by: size)
                let (sum, overflow2) = total.addingReportingOverflow(product)
                guard !overflow1, !overflow2 else { return nil }
                total = sum
                lastUnit = index
                number = ""
            } else {
                return nil
            }
        }
        return number.isEmpty ? total : nil
    }
}

/// The points in time `--since` and `--until` take, as journalctl writes them.
public typealias SinceArgument = TimeArgument

/// A point in time given as `--since` or `--until`, in journalctl's forms:
///
/// - `now`, `today`, `yesterday`, `tomorrow` (midnight, local time);
/// - a duration back from now, with or without a leading `-` (`-1h`, `-30m`, `5m`, `1h30m`), or ahead with `+`
///   (`+10m`);
/// - `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or `YYYY-MM-DD HH:MM:SS[.fff]` (a `T` may stand for the space), in local
///   time unless a zone follows: `Z`, `UTC`, `+01:00`, `-0500`, or a name such as `Europe/Berlin`;
/// - epoch seconds, `1795309200` or `@1795309200`.
///
/// Relative and local forms are resolved by ``date(now:timeZone:)``, so tests can fix both "now" and the zone.
public enum TimeArgument: Equatable, Sendable {
    /// This many seconds before the command runs.
    case ago(seconds: Int)
    /// This many seconds after the command runs.
    case ahead(seconds: Int)
    /// Midnight (local time) of the day `days` after today: 0 `today`, -1 `yesterday`, 1 `tomorrow`.
    case midnight(days: Int)
    /// A wall-clock time with no zone: read in the local time zone.
    case local(LocalTime)
    /// An absolute time.
    case time(Date)

    /// `now` is no time back from now.
    public static let now = TimeArgument.ago(seconds: 0)

    /// A date and time of day without a zone.
    public struct LocalTime: Equatable, Sendable {
        public var year, month, day: Int
        public var hour = 0, minute = 0
        public var second = 0.0
    }

    static let acceptedForms =
        "now, today, yesterday, a duration back from now (-1h, -30m, 5m, 1h30m, 1d), "
        + "a date and time (2026-11-22, 2026-11-22 01:00, 2026-11-22 01:00:00) in local time or with a zone "
        + "(Z, UTC, +01:00), or epoch seconds (1795309200)"

    /// Parses `text`. A plain number is epoch seconds; one below 1000000000 (before September 2001) is refused
    /// as most likely a duration missing its unit. Throws `ValidationError` naming the accepted forms.
    public static func parse(_ text: String) throws -> TimeArgument {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let lower = trimmed.lowercased()
        switch lower {
        case "now": return .now
        case "today": return .midnight(days: 0)
        case "yesterday": return .midnight(days: -1)
        case "tomorrow": return .midnight(days: 1)
        default: break
        }
        if lower.hasPrefix("@"), let epoch = Double(lower.dropFirst()), epoch.isFinite, epoch >= 0 {
            return .time(Date(timeIntervalSince1970: epoch))
        }
        if !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCIIDigit || $0 == "." }), let epoch = Double(trimmed) {
            guard epoch >= 1_000_000_000 else {
                throw ValidationError(
                    "`\(text)` is read as epoch seconds, which is before 2001; for \(trimmed) seconds ago write "
                        + "\(trimmed)s or -\(trimmed)s. Accepted: \(acceptedForms)")
            }
            return .time(Date(timeIntervalSince1970: epoch))
        }
        if lower.hasPrefix("-"), let seconds = DurationParser.parse(String(lower.dropFirst())) {
            return .ago(seconds: seconds)
        }
        if lower.hasPrefix("+"), let seconds = DurationParser.parse(String(lower.dropFirst())) {
            return .ahead(seconds: seconds)
        }
        if let seconds = DurationParser.parse(lower) {
            return .ago(seconds: seconds)
        }
        if let parsed = parseDateTime(trimmed) {
            return parsed
        }
        throw ValidationError("`\(text)` is not \(acceptedForms)")
    }

    /// The absolute time: relative forms count from `now`, local forms are read in `timeZone`.
    public func date(now: Date, timeZone: TimeZone = .current) -> Date {
        switch self {
        case .ago(let seconds): return now.addingTimeInterval(-Double(seconds))
        case .ahead(let seconds): return now.addingTimeInterval(Double(seconds))
        case .time(let date): return date
        case .midnight(let days):
            let calendar = Self.calendar(timeZone)
            let today = calendar.startOfDay(for: now)
            return calendar.date(byAdding: .day, value: days, to: today) ?? today
        case .local(let local):
            return Self.resolve(local, in: timeZone)
        }
    }

    /// `YYYY-MM-DD[( |T)HH:MM[:SS[.fff]]][ ]ZONE?`, or nil when `text` is not of that shape or names an
    /// impossible date (`2026-13-01`, `2026-02-30`).
    static func parseDateTime(_ text: String) -> TimeArgument? {
        guard
            let pattern = dateTimePattern, let match = try? pattern.wholeMatch(in: text),
            let year = match.output[1].substring.flatMap({ Int($0) }),
            let month = match.output[2].substring.flatMap({ Int($0) }),
            let day = match.output[3].substring.flatMap({ Int($0) })
        else { return nil }
        var local = LocalTime(year: year, month: month, day: day)
        if let hour = match.output[4].substring.flatMap({ Int($0) }),
            let minute = match.output[5].substring.flatMap({ Int($0) })
        {
            local.hour = hour
            local.minute = minute
        }
        if let second = match.output[6].substring.flatMap({ Double($0) }) { local.second = second }
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(local.hour),
            (0...59).contains(local.minute), local.second >= 0, local.second < 61
        else { return nil }
        // Refuse days the month does not have: Calendar would roll 2026-02-30 over to March.
        let utc = TimeZone(identifier: "UTC")!
        let check = calendar(utc).dateComponents([.year, .month, .day], from: resolve(local, in: utc))
        guard check.year == year, check.month == month, check.day == day else { return nil }
        guard let zoneText = match.output[7].substring.map(String.init) else { return .local(local) }
        guard let zone = timeZone(zoneText) else { return nil }
        return .time(resolve(local, in: zone))
    }

    /// `Z`, `UTC`, `GMT`, `+01:00`, `+0100`, `-05`, or an IANA name such as `Europe/Berlin`.
    static func timeZone(_ text: String) -> TimeZone? {
        let upper = text.uppercased()
        if upper == "Z" || upper == "UTC" || upper == "GMT" { return TimeZone(secondsFromGMT: 0) }
        if let sign = text.first, sign == "+" || sign == "-" {
            let digits = text.dropFirst().filter { $0 != ":" }
            guard digits.count == 2 || digits.count == 4, digits.allSatisfy(\.isASCIIDigit),
                let hours = Int(digits.prefix(2)),
                let minutes = Int(digits.dropFirst(2).isEmpty ? "0" : String(digits.dropFirst(2))),
                hours <= 14, minutes < 60
            else { return nil }
            let seconds = (hours * 3600 + minutes * 60) * (sign == "-" ? -1 : 1)
            return TimeZone(secondsFromGMT: seconds)
        }
        guard text.contains("/") else { return nil }
        return TimeZone(identifier: text)
    }

    private static func resolve(_ local: LocalTime, in timeZone: TimeZone) -> Date {
        var components = DateComponents()
        components.year = local.year
        components.month = local.month
        components.day = local.day
        components.hour = local.hour
        components.minute = local.minute
        components.second = 0
        let whole = calendar(timeZone).date(from: components) ?? Date(timeIntervalSince1970: 0)
        return whole.addingTimeInterval(local.second)
    }

    private static func calendar(_ timeZone: TimeZone) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    /// Regex is not Sendable, so each use builds its own (cheap next to a command's run); nil never happens
    /// for this constant pattern, and would only make every date refused.
    private static var dateTimePattern: Regex<AnyRegexOutput>? {
        try? Regex(
            #"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?)?\s*(Z|z|UTC|utc|GMT|[+-]\d{2}(?::?\d{2})?|[A-Za-z_]+/[A-Za-z_/+-]+)?"#
        )
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
