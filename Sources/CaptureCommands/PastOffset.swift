// Parses the points in the recent past that `start --from` and `clip --from/--to` take: `-30s`, `-1m30s`, `now`.

import ArgumentParser
import Foundation

/// A moment relative to when the daemon gets the request, at or before it: `now`, or a duration back written
/// with a leading `-` (`-30s`, `-2m`, `-1m30s`, `-90`), in the forms of ``DurationParser``.
///
/// The dash is required: `--from 30s` would read as 30 s ahead, which no recording can start at, so it is
/// refused with the form to write instead.
public enum PastOffset: Equatable, Sendable {
    /// The moment of the request.
    case now
    /// This many whole seconds before the request (more than 0).
    case ago(seconds: Int)

    /// What the error messages list as accepted.
    static let acceptedForms = "now or a time back from now with a leading dash, such as -30s, -2m, -1m30s or -90"

    /// Seconds relative to the request, as the API's `from_seconds` and `to_seconds` take them: 0 for `now`,
    /// negative before it.
    public var seconds: Double {
        switch self {
        case .now: return 0
        case .ago(let seconds): return -Double(seconds)
        }
    }

    /// Parses `text`; `-0s` is `now`. Throws `ValidationError` naming the accepted forms.
    public static func parse(_ text: String) throws -> PastOffset {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.lowercased() == "now" { return .now }
        if trimmed.hasPrefix("-"), let seconds = DurationParser.parse(String(trimmed.dropFirst())) {
            return seconds == 0 ? .now : .ago(seconds: seconds)
        }
        let unsigned = trimmed.hasPrefix("+") ? String(trimmed.dropFirst()) : trimmed
        if let seconds = DurationParser.parse(unsigned), seconds > 0 {
            throw ValidationError(
                "`\(text)` lies ahead of now; audio can only be taken from the past: for \(unsigned) ago write "
                    + "-\(unsigned). Accepted: \(acceptedForms)")
        }
        throw ValidationError("`\(text)` is not \(acceptedForms)")
    }
}
