// How the CLI words a recording's schedule: "scheduled off, next window 04:00–09:00 UTC", "in window until 09:00 UTC".

import CaptureProtocol
import Foundation

/// The words for a recording's ``ScheduleStatus``, in the zone the user chose (local, or UTC with `--utc`).
/// Every function is pure: `now` and the zone come in.
enum ScheduleText {
    /// `in window until 09:00 UTC` while a window is open; `scheduled off, next window 04:00–09:00 UTC (in
    /// 5 h 3 min)` otherwise; a time of another day than `now` carries its date, one that is not on a whole
    /// minute its seconds.
    static func describe(_ schedule: ScheduleStatus, now: Double, times: TimeStyle) -> String {
        if schedule.open {
            guard let end = schedule.windowEnd else { return "in window" }
            return "in window until \(point(end, now: now, times: times)) \(label(end, times))"
        }
        guard let start = schedule.windowStart, let end = schedule.windowEnd else {
            return "scheduled off, no window within 400 days"
        }
        return "scheduled off, next window \(window(start: start, end: end, now: now, times: times)) "
            + "(in \(TextFormat.duration(max(0, start - now))))"
    }

    /// `04:00–09:00 UTC`; `2026-11-23 04:00–09:00 UTC` on another day than `now`; `22:00–2026-11-23 02:00 CET`
    /// when it ends on a later day than it starts, `20:00–24:00 UTC` when it ends at the midnight after.
    static func window(start: Double, end: Double, now: Double, times: TimeStyle) -> String {
        let first = point(start, now: now, times: times)
        var last = point(end, now: start, times: times)
        // A window that ends at the midnight after its start ends at 24:00 of its day.
        if last.hasSuffix(" 00:00"), end > start, !point(end - 1, now: start, times: times).contains(" ") {
            last = "24:00"
        }
        return "\(first)–\(last) \(label(start, times))"
    }

    /// `HH:MM` (or `HH:MM:SS` off the whole minute), after `YYYY-MM-DD ` when `time` falls on another day than
    /// `reference` in the zone.
    static func point(_ time: Double, now reference: Double, times: TimeStyle) -> String {
        let day = components(time, times)
        let referenceDay = components(reference, times)
        var text = String(format: "%02d:%02d", day.hour ?? 0, day.minute ?? 0)
        if (day.second ?? 0) != 0 { text += String(format: ":%02d", day.second ?? 0) }
        if day.year != referenceDay.year || day.month != referenceDay.month || day.day != referenceDay.day {
            text = String(format: "%04d-%02d-%02d ", day.year ?? 0, day.month ?? 0, day.day ?? 0) + text
        }
        return text
    }

    private static func label(_ time: Double, _ times: TimeStyle) -> String {
        times.label(at: Date(timeIntervalSince1970: time))
    }

    private static func components(_ time: Double, _ times: TimeStyle) -> DateComponents {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = times.timeZone
        return calendar.dateComponents(
            [.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: time.rounded(.down)))
    }
}
