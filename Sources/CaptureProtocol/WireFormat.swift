// The one rule for values the daemon writes as data: API bodies, sidecars and events.jsonl alike.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// How numbers and times look wherever audiocap writes them as data (see docs/formats.md).
///
/// - Levels are dBFS numbers to 0.01 dB; digital silence (-infinity) is ``dbfsFloor``, -200, so every
///   level is a finite JSON number. Per-channel levels are arrays, channel 1 first.
/// - Durations are seconds rounded to the microsecond (`1.999958`, not `1.9999583333333333`); where the
///   exact length matters the frames and the sample rate are given as well.
/// - Times are seconds since the epoch (`time`, `start_time`, …) with the same instant beside them as
///   RFC 3339 UTC to the millisecond in a field named with `_utc` (`2026-12-01T15:30:00.123Z`).
/// - Log lines and journald fields print these same values: numbers as their JSON text, arrays as
///   their elements joined by commas.
public enum WireFormat {
    /// The dBFS written for digital silence: JSON has no -infinity, and nothing real is this quiet
    /// (24-bit audio reaches about -144 dBFS).
    public static let dbfsFloor = -200.0

    /// A level for JSON and logs: to 0.01 dB, and never below ``dbfsFloor`` (-infinity and NaN become it).
    public static func dbfs(_ value: Double) -> Double {
        guard !value.isNaN, value > dbfsFloor else { return dbfsFloor }
        guard value.isFinite else { return -dbfsFloor }
        return (value * 100).rounded() / 100
    }

    /// Levels of every channel, each as ``dbfs(_:)`` makes it.
    public static func dbfs(_ values: [Double]) -> [Double] { values.map { dbfs($0) } }

    /// A duration or a time offset in seconds for JSON and logs: rounded to the microsecond. Not-finite
    /// values become 0 (a duration is never infinite).
    public static func seconds(_ value: Double) -> Double {
        guard value.isFinite else { return 0 }
        return (value * 1_000_000).rounded() / 1_000_000
    }

    /// A time for JSON and logs: seconds since the epoch rounded to the microsecond.
    public static func epoch(_ value: Double) -> Double { seconds(value) }

    /// `2026-12-01T15:30:00.123Z`: RFC 3339 in UTC with milliseconds, for seconds since the epoch.
    /// A value outside ±10¹² s or not finite (a damaged file) gives `1970-01-01T00:00:00.000Z` rather
    /// than a trap or text that is not a time.
    public static func utc(_ epochSeconds: Double) -> String {
        let seconds = epochSeconds.isFinite && abs(epochSeconds) < 1e12 ? epochSeconds : 0
        var whole = time_t(seconds.rounded(.down))
        var millis = Int(((seconds - Double(whole)) * 1000).rounded())
        if millis == 1000 {
            whole += 1
            millis = 0
        }
        var parts = tm()
        gmtime_r(&whole, &parts)
        return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-"
            + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
            + "." + pad(millis, 3) + "Z"
    }

    /// The text of a number as JSON writes it: `2`, `-20.5`, `1.999958`; `null` when not finite.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
