// Reading a recording's `schedule`: windows, duty cycles and sun-relative windows, checked entry by entry.

import Foundation
import TOMLKit

extension ConfigurationWalker {
    /// The keys of a duty cycle's inline table.
    static let dutyCycleKeys = ["every", "for", "during"]

    static let scheduleExample =
        "e.g. schedule = [\"04:00-09:00\", \"sunset..sunset+2h\", { every = \"5m\", for = \"1m\" }]"

    /// A `[[recording]]`'s `schedule` key: a non-empty array of window strings and duty-cycle tables, in the
    /// recording's `time_zone` (read before it). The station's position is added by ``resolveSchedules``.
    mutating func readSchedule(_ table: TOMLTable, into recording: inout RecordingConfiguration, at prefix: String) {
        guard let value = table["schedule"] else { return }
        let at = prefix + ".schedule"
        guard let array = value.array else {
            report(
                at, value: value,
                "must be an array of windows and duty cycles, " + Self.scheduleExample + Self.found(value))
            return
        }
        guard !array.isEmpty else {
            report(
                at, value: value,
                "must list at least one window, " + Self.scheduleExample
                    + "; leave out `schedule` to record all the time")
            return
        }
        var entries: [ScheduleEntry] = []
        var text: [String] = []
        for (index, element) in array.enumerated() {
            let elementAt = "\(at)[\(index)]"
            if let string = element.string {
                do {
                    entries.append(try ScheduleEntry.parse(string))
                    text.append(string)
                } catch {
                    report(elementAt, value: element, error.message)
                }
            } else if let cycle = element.table {
                if let entry = dutyCycle(cycle, at: elementAt) {
                    entries.append(entry)
                    text.append(entry.description)
                }
            } else {
                report(
                    elementAt, value: element,
                    "must be a window as a string, e.g. \"04:00-09:00\", or a duty cycle as a table, "
                        + "e.g. { every = \"5m\", for = \"1m\" }" + Self.found(element))
            }
        }
        guard entries.count == array.count else { return }
        recording.schedule = Schedule(
            entries: entries, text: text, timeZone: recording.timeZone == .local ? TimeZone.current : .gmt)
    }

    /// `{ every = "5m", for = "1m" }`, optionally with `during = "04:00-09:00"`; nil after reporting a problem.
    private mutating func dutyCycle(_ table: TOMLTable, at prefix: String) -> ScheduleEntry? {
        for key in table.keys where !Self.dutyCycleKeys.contains(key) {
            report(
                Self.path(prefix, key), value: table[key],
                "unknown key; a duty cycle has `every`, `for` and `during`, e.g. "
                    + "{ every = \"10m\", for = \"1m\", during = \"04:00-09:00\" }")
        }
        let durations = "a duration in h, m and s, e.g. \"5m\", \"90s\" or \"1h30m\""
        func duration(_ key: String, range: ClosedRange<Int>, allowed: String) -> Int? {
            guard let value = table[key] else {
                report(
                    Self.path(prefix, key), value: nil,
                    "is required in a duty cycle: \(allowed), e.g. { every = \"5m\", for = \"1m\" }")
                return nil
            }
            guard let text = value.string, let seconds = ScheduleEntry.parseDuration(text), range.contains(seconds)
            else {
                report(
                    Self.path(prefix, key), value: value,
                    "must be \(allowed)" + (value.string == nil ? Self.found(value) : ""))
                return nil
            }
            return seconds
        }
        let limits = ScheduleEntry.everyRange
        let every = duration(
            "every", range: limits,
            allowed: "\(durations), from \(limits.lowerBound)s to 24h (the cycles restart at each local midnight)")
        let on = duration("for", range: 1...(limits.upperBound - 1), allowed: "\(durations), shorter than `every`")
        var during: ScheduleWindow? = nil
        var isValid = every != nil && on != nil
        if let value = table["during"] {
            if let text = value.string {
                do {
                    during = try ScheduleEntry.parseWindow(text)
                } catch {
                    report(Self.path(prefix, "during"), value: value, error.message)
                    isValid = false
                }
            } else {
                report(
                    Self.path(prefix, "during"), value: value,
                    "must be a window as a string, e.g. during = \"04:00-09:00\"" + Self.found(value))
                isValid = false
            }
        }
        if let every, let on, on >= every {
            report(
                Self.path(prefix, "for"), value: table["for"],
                "must be shorter than `every` (\(ScheduleEntry.durationText(every))): the recording is on for `for` "
                    + "at the start of every `every`, e.g. { every = \"5m\", for = \"1m\" }; for all the time, leave "
                    + "out `schedule`")
            isValid = false
        }
        guard isValid, let every, let on else { return nil }
        return .dutyCycle(every: every, on: on, during: during)
    }

    /// After the whole file is read: gives each schedule with sunrise or sunset `[station]`'s position, and
    /// reports the schedules that need one when `[station]` has none.
    mutating func resolveSchedules(in configuration: inout Configuration, root: TOMLTable) {
        guard let array = root["recording"]?.array else { return }
        var recordingIndex = 0
        for (index, element) in array.enumerated() {
            guard let table = element.table else { continue }
            defer { recordingIndex += 1 }
            guard recordingIndex < configuration.recordings.count,
                var schedule = configuration.recordings[recordingIndex].schedule, schedule.needsPosition
            else { continue }
            let station = configuration.station
            guard let latitude = station.latitude, let longitude = station.longitude else {
                // A position written but wrong is reported at [station]; once is enough.
                let stationTable = root["station"]?.table
                if stationTable?["latitude"] != nil || stationTable?["longitude"] != nil { continue }
                let sunny = zip(schedule.entries, schedule.text).first { $0.0.usesSun }?.1 ?? ""
                report(
                    "recording[\(index)].schedule", value: table["schedule"],
                    "has \(Self.quote(sunny)), which needs [station] latitude and longitude for sunrise and sunset: "
                        + "add them, e.g. [station] latitude = 52.52 and longitude = 13.405 (degrees north and east), "
                        + "or use clock times")
                continue
            }
            schedule.latitude = latitude
            schedule.longitude = longitude
            configuration.recordings[recordingIndex].schedule = schedule
        }
    }
}
