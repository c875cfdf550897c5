// Sunrise and sunset by NOAA's algorithm against an independent ephemeris, and the polar days and nights.

import CaptureCore
import Foundation
import Testing

/// The reference times below were computed with PyEphem 4.2.1 (libastro: VSOP87 planetary theory, an
/// implementation independent of NOAA's Meeus-based spreadsheet algorithm), set up the way USNO and NOAA
/// define sunrise and sunset: `pressure = 0` (no refraction model) and `horizon = '-0:34'` (the standard
/// refraction), rising and setting of the sun's upper limb, at elevation 0. Each is the rising before and
/// the setting after the UTC date's solar noon at the longitude, which is the event NOAA's calculator gives
/// for that date. They agree with the almanac values (Berlin on 21 June 2026: 04:43 and 21:33 CEST).
@Suite struct SolarCalculatorTests {
    struct Reference: Sendable, CustomStringConvertible {
        var place: String
        var latitude: Double
        var longitude: Double
        var date: (year: Int, month: Int, day: Int)
        var sunrise: String
        var sunset: String
        var description: String { place }
    }

    static let references = [
        // A northern mid-latitude summer day (the solstice).
        Reference(
            place: "Berlin", latitude: 52.52, longitude: 13.405, date: (2026, 6, 21),
            sunrise: "2026-06-21T02:43:08Z", sunset: "2026-06-21T19:33:14Z"),
        // The southern hemisphere in its summer; east of 0°, so the sunrise falls on the UTC day before.
        Reference(
            place: "Sydney", latitude: -33.8688, longitude: 151.2093, date: (2026, 1, 15),
            sunrise: "2026-01-14T18:59:28Z", sunset: "2026-01-15T09:09:00Z"),
        // The tropics, at the equinox.
        Reference(
            place: "Singapore", latitude: 1.3521, longitude: 103.8198, date: (2026, 9, 22),
            sunrise: "2026-09-21T22:54:17Z", sunset: "2026-09-22T11:00:48Z"),
        // West of 0°, in autumn (NOAA's own station at Boulder).
        Reference(
            place: "Boulder", latitude: 40.015, longitude: -105.2705, date: (2026, 11, 15),
            sunrise: "2026-11-15T13:46:28Z", sunset: "2026-11-15T23:44:35Z"),
        // North of 69°, at the equinox.
        Reference(
            place: "Tromsø", latitude: 69.6492, longitude: 18.9553, date: (2026, 3, 20),
            sunrise: "2026-03-20T04:43:55Z", sunset: "2026-03-20T17:01:32Z"),
    ]

    /// Seconds since the epoch of an RFC 3339 UTC time, by Foundation's parser.
    static func instant(_ text: String) throws -> Double {
        try #require(ISO8601DateFormatter().date(from: text)).timeIntervalSince1970
    }

    @Test(arguments: references) func sunriseAndSunsetAreWithinAMinuteOfTheEphemeris(reference: Reference) throws {
        let (year, month, day) = reference.date
        let sunrise = try #require(
            SolarCalculator.time(
                of: .sunrise, year: year, month: month, day: day, latitude: reference.latitude,
                longitude: reference.longitude))
        let sunset = try #require(
            SolarCalculator.time(
                of: .sunset, year: year, month: month, day: day, latitude: reference.latitude,
                longitude: reference.longitude))
        let sunriseError = sunrise - (try Self.instant(reference.sunrise))
        let sunsetError = sunset - (try Self.instant(reference.sunset))
        #expect(abs(sunriseError) < 60, "sunrise off by \(sunriseError) s")
        #expect(abs(sunsetError) < 60, "sunset off by \(sunsetError) s")
    }

    @Test func theUTCDayNumberGivesTheSameEventAsTheDate() throws {
        // 2026-06-21 is day 20625 since 1970-01-01 (timegm, independently).
        var parts = tm()
        parts.tm_year = 2026 - 1900
        parts.tm_mon = 5
        parts.tm_mday = 21
        let day = Int(timegm(&parts)) / 86_400
        #expect(
            SolarCalculator.time(of: .sunrise, utcDay: day, latitude: 52.52, longitude: 13.405)
                == SolarCalculator.time(of: .sunrise, year: 2026, month: 6, day: 21, latitude: 52.52, longitude: 13.405)
        )
    }

    @Test func thereIsNoSunsetInThePolarDayAndNoSunriseInThePolarNight() {
        // Tromsø has the midnight sun from late May to late July and the polar night from late November to
        // mid January (PyEphem, as above: the sun does not set between 2026-05-31 and 2026-07-25).
        for event in SolarCalculator.Event.allCases {
            #expect(
                SolarCalculator.time(of: event, year: 2026, month: 6, day: 21, latitude: 69.6492, longitude: 18.9553)
                    == nil)
            #expect(
                SolarCalculator.time(of: event, year: 2026, month: 12, day: 21, latitude: 69.6492, longitude: 18.9553)
                    == nil)
        }
        // The south's summer is the north's winter.
        #expect(SolarCalculator.time(of: .sunset, year: 2026, month: 12, day: 21, latitude: -75, longitude: 0) == nil)
        #expect(SolarCalculator.time(of: .sunset, year: 2026, month: 12, day: 21, latitude: 75, longitude: 0) == nil)
        #expect(SolarCalculator.time(of: .sunrise, year: 2026, month: 6, day: 21, latitude: 75, longitude: 0) == nil)
    }

    @Test func aYearAtBerlinHasPlausibleNoonsAndDayLengths() throws {
        // Sunrise and sunset are symmetric about solar noon, which the equation of time moves by at most about
        // 16.5 minutes (17.5 allowed: the declination changes between sunrise and sunset) from 12:00 local mean time (longitude 13.405° E: 11:06:23 UTC); day length at 52.5° N
        // runs from about 7 h 40 min to 16 h 50 min (checked within 7 h 30 min to 17 h). A check on every day of the year, not a reference value.
        for day in 20_454..<(20_454 + 365) {
            let rise = try #require(SolarCalculator.time(of: .sunrise, utcDay: day, latitude: 52.52, longitude: 13.405))
            let set = try #require(SolarCalculator.time(of: .sunset, utcDay: day, latitude: 52.52, longitude: 13.405))
            let noon = (rise + set) / 2 - Double(day) * 86_400
            #expect(abs(noon - (12 * 3600 - 13.405 * 240)) < 17.5 * 60)
            #expect((7.5 * 3600...17 * 3600).contains(set - rise))
        }
    }
}
