// Formats times and levels for events and logs.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

enum Timestamp {
    /// `2026-11-22T00:30:11.123Z` (UTC, milliseconds). Uses gmtime_r rather than Foundation's date
    /// formatting, which would load ICU's data into the daemon.
    static func iso8601(_ seconds: Double) -> String {
        // time_t(...) traps outside Int's range: a damaged file or a hostile value must not do that.
        guard seconds.isFinite, abs(seconds) < 1e12 else { return "invalid-time" }
        var whole = time_t(seconds.rounded(.down))
        var millis = Int(((seconds - Double(whole)) * 1000).rounded())
        if millis == 1000 {
            whole += 1
            millis = 0
        }
        var parts = tm()
        gmtime_r(&whole, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), millis)
    }

    /// `-20.00`, or `-inf` for digital silence.
    static func decibels(_ value: Double) -> String {
        value.isFinite ? String(format: "%.2f", value) : "-inf"
    }
}
