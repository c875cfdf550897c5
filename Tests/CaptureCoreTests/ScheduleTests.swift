// Schedule windows: clock times to the second, midnight, merging, daylight-saving days, duty cycles, sun windows.

import CaptureCore
import Foundation
import Testing

/// Expected instants are written out by hand in UTC from the zones' published rules (EU: the last Sunday of
/// March and of October at 01:00 UTC; US: the second Sunday of March and the first of November at 02:00
/// local), and parsed by Foundation's ISO 8601 parser; sun times come from PyEphem (see
/// SolarCalculatorTests).
@Suite struct ScheduleTests {
    /// A window as the tests compare them.
    struct Span: Equatable, CustomStringConvertible {
        var start: Double
        var end: Double
        var description: String {
            let format = ISO8601DateFormatter()
            return
                "\(format.string(from: Date(timeIntervalSince1970: start)))..\(format.string(from: Date(timeIntervalSince1970: end)))"
        }
    }

    static func at(_ text: String) throws -> Double {
        try #require(ISO8601DateFormatter().date(from: text)).timeIntervalSince1970
    }

    static func zone(_ identifier: String) throws -> TimeZone {
        try #require(TimeZone(identifier: identifier))
    }

    static func schedule(_ text: [String], zone: TimeZone = .gmt) throws -> Schedule {
        try Schedule(parsing: text, timeZone: zone)
    }

    /// Every (merged) window that opens before `end`, starting with the one open at `start`, found by
    /// walking ``Schedule/window(atOrAfter:)`` from one window's end to the next.
    static func windows(_ schedule: Schedule, from start: Double, to end: Double) -> [Span] {
        var result: [Span] = []
        var time = start
        while let window = schedule.window(atOrAfter: time), window.start < end, result.count < 5000 {
            result.append(Span(start: window.start, end: window.end))
            time = window.end
        }
        return result
    }

    /// Windows written as pairs of RFC 3339 UTC times.
    static func expected(_ pairs: [(String, String)]) throws -> [Span] {
        try pairs.map { Span(start: try at($0.0), end: try at($0.1)) }
    }

    // MARK: Clock windows

    @Test func aClockWindowOpensAndClosesToTheSecond() throws {
        let schedule = try Self.schedule(["04:00:05-09:00:10"])
        let opens = try Self.at("2026-12-02T04:00:05Z")
        let closes = try Self.at("2026-12-02T09:00:10Z")
        #expect(schedule.state(at: opens - 0.001) == (false, opens))
        #expect(schedule.state(at: opens) == (true, closes))
        #expect(schedule.state(at: closes - 0.001) == (true, closes))
        #expect(schedule.state(at: closes) == (false, opens + 86_400))
        #expect(schedule.window(atOrAfter: opens + 60) ?? (0, 0) == (opens, closes))
        #expect(schedule.window(atOrAfter: closes) ?? (0, 0) == (opens + 86_400, closes + 86_400))
    }

    @Test func aWindowAcrossMidnightRunsIntoTheNextDay() throws {
        let schedule = try Self.schedule(["22:30-02:00"])
        let found = Self.windows(
            schedule, from: try Self.at("2026-12-01T00:00:00Z"), to: try Self.at("2026-12-03T00:00:00Z"))
        #expect(
            found
                == (try Self.expected([
                    ("2026-11-30T22:30:00Z", "2026-12-01T02:00:00Z"),
                    ("2026-12-01T22:30:00Z", "2026-12-02T02:00:00Z"),
                    ("2026-12-02T22:30:00Z", "2026-12-03T02:00:00Z"),
                ])))
        #expect(schedule.state(at: try Self.at("2026-12-02T01:00:00Z")) == (true, try Self.at("2026-12-02T02:00:00Z")))
        #expect(schedule.state(at: try Self.at("2026-12-02T23:00:00Z")) == (true, try Self.at("2026-12-03T02:00:00Z")))
    }

    @Test func overlappingAndTouchingWindowsAreOne() throws {
        let schedule = try Self.schedule(["05:00-07:00", "04:00-06:00", "07:00-08:00", "09:00-09:30"])
        let found = Self.windows(
            schedule, from: try Self.at("2026-12-02T00:00:00Z"), to: try Self.at("2026-12-03T00:00:00Z"))
        #expect(
            found
                == (try Self.expected([
                    ("2026-12-02T04:00:00Z", "2026-12-02T08:00:00Z"),
                    ("2026-12-02T09:00:00Z", "2026-12-02T09:30:00Z"),
                ])))
        #expect(schedule.state(at: try Self.at("2026-12-02T06:30:00Z")) == (true, try Self.at("2026-12-02T08:00:00Z")))
        #expect(
            schedule.window(atOrAfter: try Self.at("2026-12-02T07:30:00Z")) ?? (0, 0)
                == (try Self.at("2026-12-02T04:00:00Z"), try Self.at("2026-12-02T08:00:00Z")))
    }

    @Test func aScheduleOpenAllDayNeverChanges() throws {
        let schedule = try Self.schedule(["00:00-24:00"])
        let now = try Self.at("2026-12-02T12:00:00Z")
        #expect(schedule.state(at: now) == (true, nil))
        let window = try #require(schedule.window(atOrAfter: now))
        #expect(window.start <= now - 86_400 * 399 && window.end >= now + 86_400 * 399)
    }

    // MARK: Daylight saving

    @Test func berlinSpringForwardShortensTheWindowOverTheSkippedHour() throws {
        // 2026-03-29: 02:00 CET (UTC+1) becomes 03:00 CEST (UTC+2) at 01:00 UTC.
        let berlin = try Self.zone("Europe/Berlin")
        let from = try Self.at("2026-03-27T00:00:00Z")
        let to = try Self.at("2026-03-31T12:00:00Z")
        #expect(
            Self.windows(try Self.schedule(["01:30-03:30"], zone: berlin), from: from, to: to)
                == (try Self.expected([
                    ("2026-03-27T00:30:00Z", "2026-03-27T02:30:00Z"),
                    ("2026-03-28T00:30:00Z", "2026-03-28T02:30:00Z"),
                    // 01:30 CET to 03:30 CEST: one hour of real time.
                    ("2026-03-29T00:30:00Z", "2026-03-29T01:30:00Z"),
                    ("2026-03-29T23:30:00Z", "2026-03-30T01:30:00Z"),
                    ("2026-03-30T23:30:00Z", "2026-03-31T01:30:00Z"),
                ])))
        #expect(
            Self.windows(try Self.schedule(["02:30-03:00"], zone: berlin), from: from, to: to)
                == (try Self.expected([
                    ("2026-03-27T01:30:00Z", "2026-03-27T02:00:00Z"),
                    ("2026-03-28T01:30:00Z", "2026-03-28T02:00:00Z"),
                    // Wholly in the skipped hour: opens when the clock resumes (03:00 CEST), for 30 minutes.
                    ("2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z"),
                    ("2026-03-30T00:30:00Z", "2026-03-30T01:00:00Z"),
                    ("2026-03-31T00:30:00Z", "2026-03-31T01:00:00Z"),
                ])))
    }

    @Test func berlinFallBackOpensAtTheFirstOccurrenceOnce() throws {
        // 2026-10-25: 03:00 CEST (UTC+2) becomes 02:00 CET (UTC+1) at 01:00 UTC; 02:00-03:00 happens twice.
        let berlin = try Self.zone("Europe/Berlin")
        let from = try Self.at("2026-10-23T12:00:00Z")
        let to = try Self.at("2026-10-26T12:00:00Z")
        #expect(
            Self.windows(try Self.schedule(["01:30-03:30"], zone: berlin), from: from, to: to)
                == (try Self.expected([
                    ("2026-10-23T23:30:00Z", "2026-10-24T01:30:00Z"),
                    // 01:30 CEST to 03:30 CET: three hours of real time.
                    ("2026-10-24T23:30:00Z", "2026-10-25T02:30:00Z"),
                    ("2026-10-26T00:30:00Z", "2026-10-26T02:30:00Z"),
                ])))
        #expect(
            Self.windows(try Self.schedule(["02:30-03:00"], zone: berlin), from: from, to: to)
                == (try Self.expected([
                    ("2026-10-24T00:30:00Z", "2026-10-24T01:00:00Z"),
                    // From the first 02:30 (CEST) to 03:00 (CET): once, 90 minutes.
                    ("2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z"),
                    ("2026-10-26T01:30:00Z", "2026-10-26T02:00:00Z"),
                ])))
    }

    @Test func newYorkSpringAndAutumn() throws {
        // 2026-03-08: 02:00 EST (UTC-5) becomes 03:00 EDT (UTC-4) at 07:00 UTC; 2026-11-01: 02:00 EDT
        // becomes 01:00 EST at 06:00 UTC, and 01:00-02:00 happens twice.
        let newYork = try Self.zone("America/New_York")
        let long = try Self.schedule(["01:30-03:30"], zone: newYork)
        let short = try Self.schedule(["02:30-03:00"], zone: newYork)
        let spring = (try Self.at("2026-03-07T00:00:00Z"), try Self.at("2026-03-10T00:00:00Z"))
        #expect(
            Self.windows(long, from: spring.0, to: spring.1)
                == (try Self.expected([
                    ("2026-03-07T06:30:00Z", "2026-03-07T08:30:00Z"),
                    ("2026-03-08T06:30:00Z", "2026-03-08T07:30:00Z"),
                    ("2026-03-09T05:30:00Z", "2026-03-09T07:30:00Z"),
                ])))
        #expect(
            Self.windows(short, from: spring.0, to: spring.1)
                == (try Self.expected([
                    ("2026-03-07T07:30:00Z", "2026-03-07T08:00:00Z"),
                    ("2026-03-08T07:00:00Z", "2026-03-08T07:30:00Z"),
                    ("2026-03-09T06:30:00Z", "2026-03-09T07:00:00Z"),
                ])))
        let autumn = (try Self.at("2026-10-31T00:00:00Z"), try Self.at("2026-11-03T00:00:00Z"))
        #expect(
            Self.windows(long, from: autumn.0, to: autumn.1)
                == (try Self.expected([
                    ("2026-10-31T05:30:00Z", "2026-10-31T07:30:00Z"),
                    // From the first 01:30 (EDT) to 03:30 EST: three hours.
                    ("2026-11-01T05:30:00Z", "2026-11-01T08:30:00Z"),
                    ("2026-11-02T06:30:00Z", "2026-11-02T08:30:00Z"),
                ])))
        #expect(
            Self.windows(short, from: autumn.0, to: autumn.1)
                == (try Self.expected([
                    ("2026-10-31T06:30:00Z", "2026-10-31T07:00:00Z"),
                    ("2026-11-01T07:30:00Z", "2026-11-01T08:00:00Z"),
                    ("2026-11-02T07:30:00Z", "2026-11-02T08:00:00Z"),
                ])))
    }

    // MARK: Duty cycles

    /// `every`-second cycles of `on` seconds from local midnight `midnight` to the next, `next`.
    static func cycles(every: Double, on: Double, midnight: Double, next: Double) -> [Span] {
        stride(from: midnight, to: next, by: every).map { Span(start: $0, end: $0 + on) }
    }

    @Test(arguments: [
        // Europe/Berlin: a 23-hour day, a 25-hour day, an ordinary day.
        ("Europe/Berlin", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", 276),
        ("Europe/Berlin", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", 300),
        ("Europe/Berlin", "2026-12-01T23:00:00Z", "2026-12-02T23:00:00Z", 288),
        ("America/New_York", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z", 276),
        ("America/New_York", "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z", 300),
    ])
    func aDutyCycleKeepsItsPaceAcrossADaylightSavingChange(
        zone: String, midnight: String, nextMidnight: String, count: Int
    ) throws {
        let schedule = Schedule(entries: [.dutyCycle(every: 300, on: 60, during: nil)], timeZone: try Self.zone(zone))
        let start = try Self.at(midnight)
        let end = try Self.at(nextMidnight)
        let found = Self.windows(schedule, from: start, to: end)
        #expect(found.count == count)
        #expect(found == Self.cycles(every: 300, on: 60, midnight: start, next: end))
        #expect(schedule.window(atOrAfter: end) ?? (0, 0) == (end, end + 60))
    }

    @Test func aCycleThatDoesNotDivideTheDayRestartsAtMidnight() throws {
        // Every 7 minutes: 206 cycles from 00:00 to 23:55, then 00:00 again.
        let schedule = Schedule(entries: [.dutyCycle(every: 420, on: 120, during: nil)])
        let midnight = try Self.at("2026-12-02T00:00:00Z")
        let found = Self.windows(schedule, from: midnight, to: midnight + 86_400)
        #expect(found == Self.cycles(every: 420, on: 120, midnight: midnight, next: midnight + 86_400))
        #expect(found.count == 206)
        #expect(schedule.state(at: midnight - 1) == (false, midnight))
        #expect(schedule.state(at: midnight + 86_400 - 290) == (true, midnight + 86_400 - 180))
    }

    @Test func aDutyCycleDuringAWindowRecordsOnlyInsideIt() throws {
        let during = try ScheduleEntry.parseWindow("04:00:30-05:00")
        let schedule = Schedule(entries: [.dutyCycle(every: 600, on: 60, during: during)])
        let day = try Self.at("2026-12-02T00:00:00Z")
        let found = Self.windows(schedule, from: day, to: day + 86_400)
        // The first cycle (04:00-04:01) is cut to the window's start.
        let four = day + 4 * 3600
        var expected = [Span(start: four + 30, end: four + 60)]
        for cycle in 1...5 {
            let start = four + Double(cycle) * 600
            expected.append(Span(start: start, end: start + 60))
        }
        #expect(found == expected)
        #expect(schedule.state(at: day + 4 * 3600 + 3100) == (false, day + 86_400 + 4 * 3600 + 30))

        let night = Schedule(
            entries: [.dutyCycle(every: 1200, on: 300, during: try ScheduleEntry.parseWindow("23:30-00:30"))])
        #expect(
            Self.windows(night, from: day + 12 * 3600, to: day + 36 * 3600)
                == (try Self.expected([
                    ("2026-12-02T23:40:00Z", "2026-12-02T23:45:00Z"),
                    ("2026-12-03T00:00:00Z", "2026-12-03T00:05:00Z"),
                    ("2026-12-03T00:20:00Z", "2026-12-03T00:25:00Z"),
                ])))
    }

    // MARK: Sun windows

    static let berlin = (latitude: 52.52, longitude: 13.405)

    @Test func sunWindowsFollowSunriseAndSunsetAtTheStation() throws {
        func schedule(_ entry: String) throws -> Schedule {
            try Schedule(
                parsing: [entry], timeZone: try Self.zone("Europe/Berlin"), latitude: Self.berlin.latitude,
                longitude: Self.berlin.longitude)
        }
        // PyEphem: sunrise 2026-06-21T02:43:08Z and 2026-06-22T02:43:22Z, sunset 2026-06-21T19:33:14Z.
        let sunrise = try Self.at("2026-06-21T02:43:08Z")
        let nextSunrise = try Self.at("2026-06-22T02:43:22Z")
        let sunset = try Self.at("2026-06-21T19:33:14Z")
        let morning = try #require(
            try schedule("sunrise-1h..sunrise+3h").window(atOrAfter: try Self.at("2026-06-21T00:00:00Z")))
        #expect(abs(morning.start - (sunrise - 3600)) < 60 && abs(morning.end - (sunrise + 3 * 3600)) < 60)
        let night = try #require(try schedule("sunset..sunrise").window(atOrAfter: try Self.at("2026-06-21T12:00:00Z")))
        #expect(abs(night.start - sunset) < 60 && abs(night.end - nextSunrise) < 60)
        let evening = try #require(
            try schedule("sunset-30m..23:00").window(atOrAfter: try Self.at("2026-06-21T12:00:00Z")))
        #expect(abs(evening.start - (sunset - 1800)) < 60)
        #expect(evening.end == (try Self.at("2026-06-21T21:00:00Z")))  // 23:00 CEST
        let (isOn, change) = try schedule("sunset..sunset+2h").state(at: sunset + 600)
        #expect(isOn && abs((change ?? 0) - (sunset + 7200)) < 60)
    }

    @Test func inUTCTheSunriseIsTheOneDuringTheUTCDate() throws {
        // Sydney's sunrise of 15 January (local) is at 18:59:28 UTC on the 14th (PyEphem).
        let schedule = try Schedule(
            parsing: ["sunrise..sunrise+1h"], timeZone: .gmt, latitude: -33.8688, longitude: 151.2093)
        let window = try #require(schedule.window(atOrAfter: try Self.at("2026-01-14T00:00:00Z")))
        #expect(abs(window.start - (try Self.at("2026-01-14T18:59:28Z"))) < 60)
    }

    @Test func inThePolarDayASunsetWindowWaitsForTheFirstSunset() throws {
        // Tromsø: PyEphem's first sunset after the midnight sun is 2026-07-25T22:36:15Z, the first sunrise
        // after the polar night 2027-01-15T10:34:32Z; the algorithms may disagree by a day where the sun
        // grazes the horizon, so a window must open within a day of them and not before.
        let oslo = try Self.zone("Europe/Oslo")
        let evening = try Schedule(
            parsing: ["sunset..sunset+1h"], timeZone: oslo, latitude: 69.6492, longitude: 18.9553)
        let june = try Self.at("2026-06-01T12:00:00Z")
        let state = evening.state(at: june)
        #expect(!state.isOn)
        let firstSunset = try Self.at("2026-07-25T22:36:15Z")
        #expect(abs((state.nextChange ?? 0) - firstSunset) < 86_400)
        #expect(abs((evening.window(atOrAfter: june)?.start ?? 0) - firstSunset) < 86_400)

        let morning = try Schedule(
            parsing: ["sunrise-30m..sunrise+30m"], timeZone: oslo, latitude: 69.6492, longitude: 18.9553)
        let firstSunrise = try Self.at("2027-01-15T10:34:32Z")
        let window = try #require(morning.window(atOrAfter: try Self.at("2026-12-01T12:00:00Z")))
        #expect(abs(window.start + 1800 - firstSunrise) < 86_400)
    }

    @Test func aScheduleThatNeverOpensSaysNever() throws {
        // At the pole the sun rises and sets once a year, never both in one day; without a position a sun
        // window never opens.
        let pole = try Schedule(parsing: ["sunrise..sunset"], latitude: 90, longitude: 0)
        let now = try Self.at("2026-12-02T12:00:00Z")
        #expect(pole.state(at: now) == (false, nil))
        #expect(pole.window(atOrAfter: now) == nil)
        let nowhere = try Schedule(parsing: ["sunset..sunset+2h"])
        #expect(nowhere.state(at: now) == (false, nil))
        #expect(nowhere.window(atOrAfter: now) == nil)
    }

    // MARK: State and windows agree, cheaply

    @Test func stateFollowsTheWindowsAndIsCheap() throws {
        var schedule = try Schedule(
            parsing: [
                "04:00-09:00", "22:30-02:00", "sunrise-1h..sunrise+3h", "sunset..sunset+2h", "sunset-30m..23:00",
            ], timeZone: try Self.zone("Europe/Berlin"), latitude: Self.berlin.latitude,
            longitude: Self.berlin.longitude)
        schedule.entries.append(.dutyCycle(every: 300, on: 60, during: nil))
        let start = try Self.at("2026-03-28T12:00:00Z")
        let end = start + 2 * 86_400
        let windows = Self.windows(schedule, from: start, to: end + 86_400)
        #expect(windows.count > 200)
        var calls = 0
        let clock = ContinuousClock()
        let elapsed = clock.measure {
            for time in stride(from: start, to: end, by: 97) {
                calls += 1
                let state = schedule.state(at: time)
                let open = windows.first { $0.start <= time && time < $0.end }
                #expect(state.isOn == (open != nil))
                let next = open?.end ?? windows.first { $0.start > time }?.start
                #expect(state.nextChange == next)
            }
        }
        // A chunk is 100 ms; a state check must be a small part of it.
        #expect(elapsed / calls < .milliseconds(5))
    }
}
