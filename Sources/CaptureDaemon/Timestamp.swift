// Formats times for log lines: the same RFC 3339 text the JSON formats use (WireFormat).
import CaptureProtocol

enum Timestamp {
    /// `2026-11-22T00:30:11.123Z` (UTC, milliseconds), as ``WireFormat/utc(_:)`` writes it. Uses gmtime_r
    /// rather than Foundation's date formatting, which would load ICU's data into the daemon.
    static func iso8601(_ seconds: Double) -> String { WireFormat.utc(seconds) }
}
