// Parses the durations and points in time that options take: `90s`, `10m`, `1h30m`, `1d`, `45`, ISO 8601, epoch.

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

/// A point in time given as `--since`: a duration back from now, an ISO 8601 time, or epoch seconds.
public enum SinceArgument: Equatable, Sendable {
    /// This many seconds before the command runs.
    case ago(seconds: Int)
    /// An absolute time.
    case time(Date)

    static let acceptedForms =
        "a duration back from now (90s, 10m, 2h, 1h30m, 1d), an ISO 8601 time (2026-11-22T01:00:00Z) "
        + "or epoch seconds (1795309200)"

    /// Parses `text`. A plain number is epoch seconds; one below 1000000000 (before September 2001) is refused
    /// as most likely a duration missing its unit. Throws `ValidationError` naming the accepted forms.
    public static func parse(_ text: String) throws -> SinceArgument {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCIIDigit || $0 == "." }), let epoch = Double(trimmed) {
            guard epoch >= 1_000_000_000 else {
                throw ValidationError(
                    "`\(text)` is read as epoch seconds, which is before 2001; for \(trimmed) seconds ago write "
                        + "\(trimmed)s. Accepted: \(acceptedForms)")
            }
            return .time(Date(timeIntervalSince1970: epoch))
        }
        if let seconds = DurationParser.parse(trimmed) {
            return .ago(seconds: seconds)
        }
        if let date = parseISO8601(trimmed) {
            return .time(date)
        }
        throw ValidationError("`\(text)` is not \(acceptedForms)")
    }

    /// The absolute time, counting `.ago` back from `now`.
    public func date(now: Date) -> Date {
        switch self {
        case .ago(let seconds): now.addingTimeInterval(-Double(seconds))
        case .time(let date): date
        }
    }

    /// `2026-11-22T01:00:00Z`, with optional fractional seconds and a `+01:00`-style offset instead of `Z`.
    static func parseISO8601(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        plain.formatOptions = [.withInternetDateTime]
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
