// When a recording records: the union of windows of local or UTC time, duty cycles and sun-relative windows.

import Foundation

/// A recording's `schedule`: the union of its windows, in the recording's time zone.
///
/// Each entry yields its windows day by day: the windows of local date D are found by turning D's wall times
/// into instants, so a daylight-saving change neither drops nor doubles one. A wall time the clock skips
/// (spring forward) is the first instant after the skip; a wall time the clock passes twice (fall back) is
/// its first occurrence; a window that lies wholly in the skipped hour opens when the clock resumes and lasts
/// as long as written. A clock window whose end is not after its start ends on the next day (`22:30-02:00`);
/// a window with a sun time ends at the first time its end comes after its start. Sunrise and sunset are
/// those that happen during local date D; on a day without one (polar day or night) a window that needs it
/// does not open. Duty cycles are counted from each local midnight, in elapsed time.
///
/// Windows are half-open: a window from `start` to `end` records `start` and stops at `end`. Every query
/// looks at a few days around the time asked about, and no further ahead than ``horizonDays``.
public struct Schedule: Sendable, Equatable {
    /// The entries as written in the configuration (shown by status and check-config).
    public var text: [String]
    /// What the windows are.
    public var entries: [ScheduleEntry]
    /// The zone of the clock times and of the days: the recording's `time_zone` (UTC, or the system's).
    public var timeZone: TimeZone
    /// The station's position, for sunrise and sunset (degrees north and east); a sun window never opens
    /// without it.
    public var latitude: Double?
    public var longitude: Double?

    /// How far ahead (and back) a query looks for windows, in days.
    public static let horizonDays = 400

    /// A schedule of the string entries in `text`, in UTC, without a position; entries that do not parse
    /// are left out (the configuration loader reports them, see ``init(parsing:timeZone:latitude:longitude:)``).
    public init(text: [String]) {
        self.text = text
        self.entries = text.compactMap { try? ScheduleEntry.parse($0) }
        self.timeZone = .gmt
    }

    /// A schedule of `entries`; `text` defaults to the entries as a schedule would write them.
    public init(
        entries: [ScheduleEntry], text: [String]? = nil, timeZone: TimeZone = .gmt, latitude: Double? = nil,
        longitude: Double? = nil
    ) {
        self.text = text ?? entries.map(\.description)
        self.entries = entries
        self.timeZone = timeZone
        self.latitude = latitude
        self.longitude = longitude
    }

    /// A schedule of the string entries in `text` (windows; duty cycles come from the loader's tables).
    ///
    /// - Throws: ``ScheduleEntry/ParseError`` for the first entry that is not a window.
    public init(
        parsing text: [String], timeZone: TimeZone = .gmt, latitude: Double? = nil, longitude: Double? = nil
    ) throws(ScheduleEntry.ParseError) {
        var entries: [ScheduleEntry] = []
        for entry in text { entries.append(try ScheduleEntry.parse(entry)) }
        self.init(entries: entries, text: text, timeZone: timeZone, latitude: latitude, longitude: longitude)
    }

    /// Whether an entry has sunrise or sunset in it, so the schedule needs the station's position.
    public var needsPosition: Bool { entries.contains(where: \.usesSun) }

    /// Whether `time` (seconds since the epoch) lies in a window, and when that next changes (nil: not within
    /// ``horizonDays``, or never).
    ///
    /// Looks at each entry's windows of five local days around `time` (about a millisecond for six entries in
    /// a debug build; a schedule that does not open for months scans day by day up to the horizon). It
    /// allocates: call it again when `nextChange` has passed, not for every chunk.
    public func state(at time: Double) -> (isOn: Bool, nextChange: Double?) {
        guard Self.isUsable(time) else { return (false, nil) }
        if touching(time).contains(where: { $0.start <= time && time < $0.end }) {
            return (true, endOfUnion(from: time))
        }
        return (false, nextStart(after: time))
    }

    /// The window that contains `time`, or else the next one to open after it, with windows that overlap or
    /// touch merged into one; nil when none opens within the next ``horizonDays``. A window that would reach
    /// further than ``horizonDays`` from `time` is cut there.
    public func window(atOrAfter time: Double) -> (start: Double, end: Double)? {
        guard Self.isUsable(time) else { return nil }
        let limit = time + Double(Self.horizonDays) * 86_400
        if touching(time).contains(where: { $0.start <= time && time < $0.end }) {
            return (startOfUnion(from: time), endOfUnion(from: time) ?? limit)
        }
        guard let start = nextStart(after: time) else { return nil }
        return (start, endOfUnion(from: start) ?? limit)
    }

    // MARK: The union

    /// One window: from `start` up to (not including) `end`, seconds since the epoch.
    struct Interval: Equatable {
        var start: Double
        var end: Double
    }

    private static func isUsable(_ time: Double) -> Bool { time.isFinite && abs(time) < 1e12 }

    /// Where the union of windows that contains `time` ends; nil when it reaches past the horizon.
    private func endOfUnion(from time: Double) -> Double? {
        let limit = time + Double(Self.horizonDays) * 86_400
        var current = time
        while current <= limit {
            let reach = touching(current).filter { $0.start <= current && current < $0.end }.map(\.end).max()
            guard let reach else { return current }
            current = reach
        }
        return nil
    }

    /// Where the union of windows that contains `time` begins (at most ``horizonDays`` back).
    private func startOfUnion(from time: Double) -> Double {
        let limit = time - Double(Self.horizonDays) * 86_400
        var current = time
        while current > limit {
            let reach = touching(current).filter { $0.start < current && current <= $0.end }.map(\.start).min()
            guard let reach else { return current }
            current = reach
        }
        return limit
    }

    /// The first instant after `time` at which a window opens, within the horizon.
    private func nextStart(after time: Double) -> Double? {
        let limit = time + Double(Self.horizonDays) * 86_400
        let first = entries.compactMap { entry -> Double? in
            switch entry {
            case .window(let window): firstStart(of: window, after: time)
            case .dutyCycle(let every, _, nil): firstCycleStart(every: every, after: time)
            case .dutyCycle(let every, let on, let during?):
                firstStart(every: every, on: on, during: during, after: time)
            }
        }.min()
        return first.flatMap { $0 <= limit ? $0 : nil }
    }

    /// Every non-empty window of every entry with `start <= time <= end`.
    func touching(_ time: Double) -> [Interval] {
        var result: [Interval] = []
        let day = localDay(time)
        for entry in entries {
            switch entry {
            case .window(let window):
                result += windows(of: window, touching: time, around: day)
            case .dutyCycle(let every, let on, nil):
                result += cycles(every: every, on: on, touching: time, around: day)
            case .dutyCycle(let every, let on, let during?):
                let open = windows(of: during, touching: time, around: day)
                guard !open.isEmpty else { continue }
                for cycle in cycles(every: every, on: on, touching: time, around: day) {
                    for window in open {
                        let part = Interval(start: max(cycle.start, window.start), end: min(cycle.end, window.end))
                        if part.start < part.end && part.start <= time && time <= part.end { result.append(part) }
                    }
                }
            }
        }
        return result
    }

    // MARK: Windows

    /// The windows of `window` that touch `time`. A window of local day D lies between 12 h before D's
    /// midnight and 12 h after D+2's, so days D-3 to D+1 around `time`'s day hold every one that can.
    private func windows(of window: ScheduleWindow, touching time: Double, around day: Int) -> [Interval] {
        ((day - 3)...(day + 1)).compactMap { interval(of: window, on: $0) }.filter {
            $0.start <= time && time <= $0.end
        }
    }

    /// The first start after `time` of `window`: days are tried in order until one opens after `time`, and
    /// on until a later day cannot open earlier (a sun window's start may move 12 h either way of its day).
    private func firstStart(of window: ScheduleWindow, after time: Double) -> Double? {
        let first = localDay(time) - 3
        var best: Double? = nil
        for day in first...(first + Self.horizonDays + 4) {
            if let best, Double(dayStart(day)) - Double(ScheduleTime.maximumOffset) > best { break }
            if let interval = interval(of: window, on: day), interval.start > time {
                best = min(best ?? interval.start, interval.start)
            }
        }
        return best
    }

    /// The first start after `time` of a duty cycle limited to `during`.
    private func firstStart(every: Int, on: Int, during: ScheduleWindow, after time: Double) -> Double? {
        let first = localDay(time) - 3
        var best: Double? = nil
        for day in first...(first + Self.horizonDays + 4) {
            if let best, Double(dayStart(day)) - Double(ScheduleTime.maximumOffset) > best { break }
            guard let window = interval(of: during, on: day), window.end > time else { continue }
            var candidate: Double? = nil
            if window.start > time,
                cycles(every: every, on: on, touching: window.start, around: localDay(window.start)).contains(where: {
                    $0.start <= window.start && window.start < $0.end
                })
            {
                candidate = window.start
            } else if let start = firstCycleStart(every: every, after: max(time, window.start)), start < window.end {
                candidate = start
            }
            if let candidate { best = min(best ?? candidate, candidate) }
        }
        return best
    }

    /// The window of `window` that local day `day` yields; nil when it yields none (a sun event that does
    /// not happen), or the window is empty.
    func interval(of window: ScheduleWindow, on day: Int) -> Interval? {
        guard let start = resolve(window.from, on: day) else { return nil }
        if case .clock(let from) = window.from, case .clock(let to) = window.to {
            guard let end = resolve(window.to, on: to > from ? day : day + 1) else { return nil }
            if end.time <= start.time {
                // Both ends in the hour the clock skipped: the window opens when the clock resumes and
                // lasts as long as written.
                let length = to > from ? to - from : to + 86_400 - from
                return Interval(start: start.time, end: start.time + Double(length))
            }
            return Interval(start: start.time, end: end.time)
        }
        guard let sameDay = resolve(window.to, on: day) else { return nil }
        if sameDay.time > start.time { return Interval(start: start.time, end: sameDay.time) }
        guard let nextDay = resolve(window.to, on: day + 1), nextDay.time > start.time else { return nil }
        return Interval(start: start.time, end: nextDay.time)
    }

    /// The instant of `time` on local day `day`; nil for a sun time whose event does not happen that day.
    private func resolve(_ time: ScheduleTime, on day: Int) -> (time: Double, skipped: Bool)? {
        switch time {
        case .clock(let seconds):
            let instant = instant(day: day, seconds: seconds)
            return (Double(instant.time), instant.skipped)
        case .sun(let event, let offset):
            return sunEvent(event, on: day).map { ($0 + Double(offset), false) }
        }
    }

    /// The first `event` that happens during local day `day`, at the station.
    func sunEvent(_ event: SolarCalculator.Event, on day: Int) -> Double? {
        guard let latitude, let longitude else { return nil }
        let start = dayStart(day)
        let end = dayStart(day + 1)
        for utcDay in (CivilDay.floorDivide(start, 86_400) - 1)...(CivilDay.floorDivide(end, 86_400) + 1) {
            if let time = SolarCalculator.time(of: event, utcDay: utcDay, latitude: latitude, longitude: longitude),
                time >= Double(start), time < Double(end)
            {
                return time
            }
        }
        return nil
    }

    // MARK: Duty cycles

    /// The cycles that touch `time`: in each day, the last one to start at or before it.
    private func cycles(every: Int, on: Int, touching time: Double, around day: Int) -> [Interval] {
        ((day - 1)...(day + 1)).compactMap { day -> Interval? in
            let start = dayStart(day)
            let end = dayStart(day + 1)
            guard time >= Double(start), end > start else { return nil }
            let last = (end - start + every - 1) / every - 1
            let index = min(Int(((time - Double(start)) / Double(every)).rounded(.down)), last)
            let cycle = Double(start + index * every)
            return cycle + Double(on) >= time ? Interval(start: cycle, end: cycle + Double(on)) : nil
        }
    }

    /// The first cycle to start after `time`.
    private func firstCycleStart(every: Int, after time: Double) -> Double? {
        let day = localDay(time)
        return ((day - 1)...(day + 1)).compactMap { day -> Double? in
            let start = dayStart(day)
            let end = dayStart(day + 1)
            guard end > start else { return nil }
            if Double(start) > time { return Double(start) }
            let last = (end - start + every - 1) / every - 1
            let index = Int(((time - Double(start)) / Double(every)).rounded(.down)) + 1
            return index <= last ? Double(start + index * every) : nil
        }.min()
    }

    // MARK: Days and wall times

    /// The zone's offset from UTC at `time`, in seconds.
    private func offset(at time: Int) -> Int {
        timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(time)))
    }

    /// The local date `time` falls on, as days since 1970-01-01.
    func localDay(_ time: Double) -> Int {
        let seconds = Int(time.rounded(.down))
        return CivilDay.floorDivide(seconds + offset(at: seconds), 86_400)
    }

    /// The instant local day `day` begins (its midnight, or the first instant after a skip over it).
    func dayStart(_ day: Int) -> Int { instant(day: day, seconds: 0).time }

    /// The instant of wall time `seconds` after midnight of local day `day`: its first occurrence when the
    /// clock passes it twice; the first instant after the skip when the clock skips it (`skipped`).
    func instant(day: Int, seconds: Int) -> (time: Int, skipped: Bool) {
        let wall = day * 86_400 + seconds
        let before = offset(at: wall - 86_400)
        let after = offset(at: wall + 86_400)
        // Most days: the same offset all around, and the wall time is that offset away.
        if before == after, offset(at: wall - before) == before { return (wall - before, false) }
        let offsets = [before, after, offset(at: wall - before)]
        if let first = offsets.filter({ offset(at: wall - $0) == $0 }).map({ wall - $0 }).min() {
            return (first, false)
        }
        // Skipped: the clock jumps over `wall` at the transition between these two instants; find it.
        var low = wall - (offsets.max() ?? 0)
        var high = wall - (offsets.min() ?? 0)
        let resumed = offset(at: high)
        while high - low > 1 {
            let middle = low + (high - low) / 2
            if offset(at: middle) == resumed { high = middle } else { low = middle }
        }
        return (high, true)
    }
}
