// Sunrise and sunset for a position and a day, by NOAA's solar calculator algorithm (after Meeus).

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Sunrise and sunset by the algorithm of NOAA's solar calculator (gml.noaa.gov/grad/solcalc), which
/// follows Meeus' *Astronomical Algorithms*: the sun's apparent position from its mean orbit, the equation
/// of time, and the hour angle at which its centre is 0.833° below the horizon (34′ of refraction and 16′
/// of the sun's radius), refined once at the event's own time as the calculator does.
///
/// Pure arithmetic: no allocation, no I/O, a few dozen trigonometric calls per event. Agrees with NOAA's
/// calculator and with almanac tables to well within a minute between the polar circles; near them, where
/// the sun grazes the horizon, the error in minutes grows.
public enum SolarCalculator {
    /// The two events a schedule can be relative to.
    public enum Event: String, Sendable, Equatable, CaseIterable {
        /// The sun's upper limb rises over a flat horizon.
        case sunrise
        /// The sun's upper limb sets under a flat horizon.
        case sunset
    }

    /// The instant (seconds since the epoch) of `event` on the UTC calendar day `utcDay` (days since
    /// 1970-01-01) at the position; the event is the one around that day's solar noon at the longitude, so
    /// for longitudes far from 0 it may fall on the UTC day before or after.
    ///
    /// - Parameters:
    ///   - latitude: degrees north, -90 to 90.
    ///   - longitude: degrees east, -180 to 180 (west is negative).
    /// - Returns: nil when the sun does not rise or set that day (polar day or polar night).
    public static func time(of event: Event, utcDay: Int, latitude: Double, longitude: Double) -> Double? {
        let julianDay = 2_440_587.5 + Double(utcDay)
        guard let first = minutesUTC(event, julianDay: julianDay, latitude: latitude, longitude: longitude),
            let refined = minutesUTC(
                event, julianDay: julianDay + first / 1440, latitude: latitude, longitude: longitude)
        else { return nil }
        return Double(utcDay) * 86_400 + refined * 60
    }

    /// ``time(of:utcDay:latitude:longitude:)`` for a calendar date (proleptic Gregorian, UTC).
    public static func time(
        of event: Event, year: Int, month: Int, day: Int, latitude: Double, longitude: Double
    ) -> Double? {
        time(
            of: event, utcDay: CivilDay.number(year: year, month: month, day: day), latitude: latitude,
            longitude: longitude)
    }

    /// Minutes after 0 h UTC of the day of `julianDay` (NOAA's `calcSunriseSetUTC`); nil when the sun stays
    /// above or below the horizon.
    private static func minutesUTC(_ event: Event, julianDay: Double, latitude: Double, longitude: Double) -> Double? {
        let t = (julianDay - 2_451_545.0) / 36_525.0
        let meanLongitude = (280.466_46 + t * (36_000.769_83 + t * 0.000_303_2)).truncatingRemainder(dividingBy: 360)
        let meanAnomaly = 357.529_11 + t * (35_999.050_29 - 0.000_153_7 * t)
        let eccentricity = 0.016_708_634 - t * (0.000_042_037 + 0.000_000_126_7 * t)
        let m = radians(meanAnomaly)
        let equationOfCentre =
            sin(m) * (1.914_602 - t * (0.004_817 + 0.000_014 * t)) + sin(2 * m) * (0.019_993 - 0.000_101 * t)
            + sin(3 * m) * 0.000_289
        let trueLongitude = meanLongitude + equationOfCentre
        let omega = 125.04 - 1_934.136 * t
        let apparentLongitude = trueLongitude - 0.005_69 - 0.004_78 * sin(radians(omega))
        let meanObliquity = 23 + (26 + (21.448 - t * (46.815 + t * (0.000_59 - t * 0.001_813))) / 60) / 60
        let obliquity = meanObliquity + 0.002_56 * cos(radians(omega))
        let declination = asin(sin(radians(obliquity)) * sin(radians(apparentLongitude)))

        let y = pow(tan(radians(obliquity) / 2), 2)
        let l0 = radians(meanLongitude)
        let equationOfTime =
            4
            * degrees(
                y * sin(2 * l0) - 2 * eccentricity * sin(m) + 4 * eccentricity * y * sin(m) * cos(2 * l0)
                    - 0.5 * y * y * sin(4 * l0) - 1.25 * eccentricity * eccentricity * sin(2 * m))

        let phi = radians(latitude)
        let cosHourAngle =
            cos(radians(90.833)) / (cos(phi) * cos(declination)) - tan(phi) * tan(declination)
        guard cosHourAngle.isFinite, (-1...1).contains(cosHourAngle) else { return nil }
        let hourAngle = degrees(acos(cosHourAngle)) * (event == .sunrise ? 1 : -1)
        return 720 - 4 * (longitude + hourAngle) - equationOfTime
    }

    private static func radians(_ degrees: Double) -> Double { degrees * .pi / 180 }
    private static func degrees(_ radians: Double) -> Double { radians * 180 / .pi }
}

/// Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's civil-date algorithms).
enum CivilDay {
    /// The day number of `year`-`month`-`day` (month 1–12).
    static func number(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The floor of `value / divisor` for a positive divisor.
    static func floorDivide(_ value: Int, _ divisor: Int) -> Int {
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
    }
}
