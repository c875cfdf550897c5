// Tests of a recording's `schedule` key: the entries it reads, its time zone and position, and its messages.

import CaptureCore
import Foundation
import Testing

@Suite struct ScheduleConfigurationTests {
    /// A file with one recording `dawn` whose keys include `recordingKeys`, and `extra` after it.
    static func file(_ recordingKeys: String, _ extra: String = "") -> String {
        """
        [[recording]]
        name = "dawn"
        directory = "/srv/audio/dawn"
        \(recordingKeys)

        \(extra)
        """
    }

    static let station = """
        [station]
        latitude = 52.52
        longitude = 13.405
        """

    /// The problems of `text` as `key: message` lines; records an issue when it loads.
    static func problems(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [String] {
        do {
            _ = try ConfigurationLoader.parse(text, path: "test.toml")
            Issue.record("loaded", sourceLocation: sourceLocation)
            return []
        } catch {
            #expect(error.code == .invalid, "\(error)", sourceLocation: sourceLocation)
            return error.problems.map { "\($0.key): \($0.message)" }
        }
    }

    @Test func everyKindOfEntryIsRead() throws {
        let configuration = try ConfigurationLoader.parse(
            Self.file(
                """
                time_zone = "local"
                schedule = ["04:00-09:00", "22:30-02:00:30", "sunrise-1h30m..sunrise+3h", "sunset..sunset+2h",
                    "sunset-30m..23:00", { every = "5m", for = "1m" },
                    { every = "10m", for = "90s", during = "04:00-09:00" }]
                """, Self.station), path: "test.toml")
        let schedule = try #require(configuration.recordings[0].schedule)
        #expect(
            schedule.entries == [
                .window(ScheduleWindow(from: .clock(seconds: 4 * 3600), to: .clock(seconds: 9 * 3600))),
                .window(ScheduleWindow(from: .clock(seconds: 22 * 3600 + 1800), to: .clock(seconds: 2 * 3600 + 30))),
                .window(ScheduleWindow(from: .sun(.sunrise, offset: -5400), to: .sun(.sunrise, offset: 3 * 3600))),
                .window(ScheduleWindow(from: .sun(.sunset, offset: 0), to: .sun(.sunset, offset: 7200))),
                .window(ScheduleWindow(from: .sun(.sunset, offset: -1800), to: .clock(seconds: 23 * 3600))),
                .dutyCycle(every: 300, on: 60, during: nil),
                .dutyCycle(
                    every: 600, on: 90,
                    during: ScheduleWindow(from: .clock(seconds: 4 * 3600), to: .clock(seconds: 9 * 3600))),
            ])
        #expect(
            schedule.text == [
                "04:00-09:00", "22:30-02:00:30", "sunrise-1h30m..sunrise+3h", "sunset..sunset+2h", "sunset-30m..23:00",
                "{ every = \"5m\", for = \"1m\" }", "{ every = \"10m\", for = \"1m30s\", during = \"04:00-09:00\" }",
            ])
        #expect(schedule.timeZone == TimeZone.current)
        #expect(schedule.latitude == 52.52 && schedule.longitude == 13.405)
    }

    @Test func withoutTimeZoneTheScheduleIsInUTCAndWithoutSunItNeedsNoStation() throws {
        let configuration = try ConfigurationLoader.parse(
            Self.file("schedule = [\"04:00..09:00\", \"23:00-24:00\"]"), path: "test.toml")
        let schedule = try #require(configuration.recordings[0].schedule)
        #expect(schedule.timeZone == .gmt)
        #expect(schedule.latitude == nil)
        #expect(schedule.text == ["04:00..09:00", "23:00-24:00"])
        #expect(
            schedule.entries.last
                == .window(ScheduleWindow(from: .clock(seconds: 23 * 3600), to: .clock(seconds: 86_400))))
        // A recording without `schedule` records all the time.
        let always = try ConfigurationLoader.parse(Self.file(""), path: "test.toml")
        #expect(always.recordings[0].schedule == nil)
    }

    @Test func sunWindowsNeedTheStationsPosition() {
        #expect(
            Self.problems(Self.file("schedule = [\"04:00-09:00\", \"sunset..sunset+2h\"]"))
                == [
                    "recording[0].schedule: has \"sunset..sunset+2h\", which needs [station] latitude and longitude "
                        + "for sunrise and sunset: add them, e.g. [station] latitude = 52.52 and longitude = 13.405 "
                        + "(degrees north and east), or use clock times"
                ])
        // Also when a duty cycle's `during` has one, and when [station] has other keys only.
        let problems = Self.problems(
            Self.file(
                "schedule = [{ every = \"5m\", for = \"1m\", during = \"sunrise..sunrise+1h\" }]",
                "[station]\nid = \"pond\""))
        #expect(problems.count == 1)
        #expect(problems.first?.hasPrefix("recording[0].schedule: has \"{ every = \\\"5m\\\"") == true)
        // A position given wrongly is reported at [station] alone.
        let wrong = Self.problems(
            Self.file("schedule = [\"sunset..sunset+2h\"]", "[station]\nlatitude = 95\nlongitude = 13"))
        #expect(wrong.count == 1)
        #expect(wrong.first?.hasPrefix("station.latitude:") == true)
    }

    @Test(arguments: [
        (
            "\"25:00-09:00\"",
            "recording[0].schedule[0]: has `25:00`, which is not a time of day: write HH:MM or HH:MM:SS from 00:00 to "
                + "23:59:59 (24:00 may end a window), or sunrise or sunset with an offset; e.g. \"04:00-09:00\", "
                + "\"22:30-02:00\" (past midnight), \"sunrise-1h..sunrise+3h\" or \"sunset-30m..23:00\""
        ),
        (
            "\"04:00\"",
            "recording[0].schedule[0]: must be a window from one time to another, e.g. \"04:00-09:00\", "
                + "\"22:30-02:00\" (past midnight), \"sunrise-1h..sunrise+3h\" or \"sunset-30m..23:00\""
        ),
        (
            "\"sunrise-1h-sunrise+3h\"",
            "recording[0].schedule[0]: must put `..` between the ends of a window with sunrise or sunset, "
                + "e.g. \"sunrise-1h..sunrise+3h\""
        ),
        (
            "\"sunrise-13h..sunrise\"",
            "recording[0].schedule[0]: has `sunrise-13h`, more than 12h from sunrise; offsets may be up to 12h "
                + "either way, e.g. \"sunrise-2h\""
        ),
        (
            "\"sunset+1d..sunset+2d\"",
            "recording[0].schedule[0]: has `sunset+1d`, whose offset is not one: write sunset, or sunset with + or "
                + "- and a duration in h, m and s, e.g. \"sunset-1h30m\" or \"sunset+45m\""
        ),
        (
            "\"06:00-06:00\"",
            "recording[0].schedule[0]: opens and closes at the same time; write \"00:00-24:00\" for the whole day, "
                + "or leave out `schedule` to record all the time"
        ),
        (
            "\"24:00-06:00\"",
            "recording[0].schedule[0]: has `24:00`, which is not a time of day: write HH:MM or HH:MM:SS from 00:00 to "
                + "23:59:59 (24:00 may end a window), or sunrise or sunset with an offset; e.g. \"04:00-09:00\", "
                + "\"22:30-02:00\" (past midnight), \"sunrise-1h..sunrise+3h\" or \"sunset-30m..23:00\""
        ),
        (
            "{ every = \"1m\", for = \"5m\" }",
            "recording[0].schedule[0].for: must be shorter than `every` (1m): the recording is on for `for` at the "
                + "start of every `every`, e.g. { every = \"5m\", for = \"1m\" }; for all the time, leave out `schedule`"
        ),
        (
            "{ every = \"5x\", for = \"1m\" }",
            "recording[0].schedule[0].every: must be a duration in h, m and s, e.g. \"5m\", \"90s\" or \"1h30m\", "
                + "from 2s to 24h (the cycles restart at each local midnight)"
        ),
        (
            "{ every = \"5m\" }",
            "recording[0].schedule[0].for: is required in a duty cycle: a duration in h, m and s, e.g. \"5m\", "
                + "\"90s\" or \"1h30m\", shorter than `every`, e.g. { every = \"5m\", for = \"1m\" }"
        ),
        (
            "{ every = \"5m\", for = \"1m\", during = \"9-5\" }",
            "recording[0].schedule[0].during: has `9`, which is not a time of day: write HH:MM or HH:MM:SS from "
                + "00:00 to 23:59:59 (24:00 may end a window), or sunrise or sunset with an offset; e.g. "
                + "\"04:00-09:00\", \"22:30-02:00\" (past midnight), \"sunrise-1h..sunrise+3h\" or "
                + "\"sunset-30m..23:00\""
        ),
        (
            "42",
            "recording[0].schedule[0]: must be a window as a string, e.g. \"04:00-09:00\", or a duty cycle as a "
                + "table, e.g. { every = \"5m\", for = \"1m\" } (found an integer)"
        ),
    ])
    func aBadEntryIsReportedWithWhatIsAllowed(entry: String, problem: String) {
        #expect(Self.problems(Self.file("schedule = [\(entry)]")) == [problem])
    }

    @Test func theScheduleMustBeANonEmptyArrayWithKnownKeys() {
        #expect(
            Self.problems(Self.file("schedule = \"04:00-09:00\""))
                == [
                    "recording[0].schedule: must be an array of windows and duty cycles, e.g. schedule = "
                        + "[\"04:00-09:00\", \"sunset..sunset+2h\", { every = \"5m\", for = \"1m\" }] (found a string)"
                ])
        #expect(
            Self.problems(Self.file("schedule = []"))
                == [
                    "recording[0].schedule: must list at least one window, e.g. schedule = [\"04:00-09:00\", "
                        + "\"sunset..sunset+2h\", { every = \"5m\", for = \"1m\" }]; leave out `schedule` to record "
                        + "all the time"
                ])
        let unknown = Self.problems(Self.file("schedule = [{ every = \"5m\", for = \"1m\", from = \"04:00\" }]"))
        #expect(
            unknown == [
                "recording[0].schedule[0].from: unknown key; a duty cycle has `every`, `for` and `during`, e.g. "
                    + "{ every = \"10m\", for = \"1m\", during = \"04:00-09:00\" }"
            ])
        // Every bad entry is reported, not only the first.
        #expect(Self.problems(Self.file("schedule = [\"4-9\", \"04:00-09:00\", \"sunrise..noon\"]")).count == 2)
    }

    @Test func aProblemIsFoundOnItsLine() throws {
        do {
            _ = try ConfigurationLoader.parse(
                Self.file("segment_seconds = 60\nschedule = [\"04:00-04:00\"]"), path: "t")
            Issue.record("loaded")
        } catch {
            #expect(error.problems.first?.line == 5)
        }
    }
}
