// One entry of a recording's `schedule`: a window of clock or sun times, or a duty cycle; and its parsing.

/// A time of day a schedule window opens or closes at.
public enum ScheduleTime: Sendable, Equatable, CustomStringConvertible {
    /// A wall-clock time in the schedule's time zone: seconds after local midnight, 0 to 86400 (24:00, the
    /// end of the day).
    case clock(seconds: Int)
    /// Sunrise or sunset at the station, moved by `offset` seconds (negative: before), at most 12 h either way.
    case sun(SolarCalculator.Event, offset: Int)

    /// Largest sun offset, in seconds.
    public static let maximumOffset = 12 * 3600

    public var description: String {
        switch self {
        case .clock(let seconds):
            let parts = [seconds / 3600, seconds / 60 % 60, seconds % 60].map { $0 < 10 ? "0\($0)" : "\($0)" }
            return parts[0] + ":" + parts[1] + (seconds % 60 == 0 ? "" : ":" + parts[2])
        case .sun(let event, let offset):
            guard offset != 0 else { return event.rawValue }
            return event.rawValue + (offset < 0 ? "-" : "+") + ScheduleEntry.durationText(abs(offset))
        }
    }

    var isSun: Bool {
        if case .sun = self { return true }
        return false
    }
}

/// From one time of day to another; the end is the first time it comes after the start, so a window may run
/// past midnight (`22:30-02:00`).
public struct ScheduleWindow: Sendable, Equatable, CustomStringConvertible {
    public var from: ScheduleTime
    public var to: ScheduleTime

    public init(from: ScheduleTime, to: ScheduleTime) {
        self.from = from
        self.to = to
    }

    /// As written in a schedule: `04:00-09:00` for clock times, `A..B` when a sun time is in it.
    public var description: String {
        "\(from)" + (from.isSun || to.isSun ? ".." : "-") + "\(to)"
    }

    var usesSun: Bool { from.isSun || to.isSun }
}

/// One entry of a recording's `schedule`.
public enum ScheduleEntry: Sendable, Equatable, CustomStringConvertible {
    /// Open every day from one time to another.
    case window(ScheduleWindow)
    /// Open for `on` seconds at the start of every `every` seconds, counted from each local midnight; only
    /// inside `during` when it is set.
    case dutyCycle(every: Int, on: Int, during: ScheduleWindow?)

    /// Shortest and longest `every` of a duty cycle, in seconds.
    public static let everyRange = 2...86_400

    /// Whether the entry needs the station's position (it has sunrise or sunset in it).
    public var usesSun: Bool {
        switch self {
        case .window(let window): window.usesSun
        case .dutyCycle(_, _, let during): during?.usesSun ?? false
        }
    }

    /// As written in a schedule (a duty cycle as its inline table).
    public var description: String {
        switch self {
        case .window(let window):
            return window.description
        case .dutyCycle(let every, let on, let during):
            let base = "{ every = \"\(Self.durationText(every))\", for = \"\(Self.durationText(on))\""
            return base + (during.map { ", during = \"\($0)\" }" } ?? " }")
        }
    }

    /// Why a schedule entry cannot be read: a sentence saying what is allowed, with an example.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
        init(_ message: String) { self.message = message }
    }

    static let windowExamples =
        "e.g. \"04:00-09:00\", \"22:30-02:00\" (past midnight), \"sunrise-1h..sunrise+3h\" or \"sunset-30m..23:00\""

    /// Reads a window written as a string: `HH:MM-HH:MM` (or `HH:MM:SS`) for clock times, `A..B` when either
    /// end is `sunrise` or `sunset` with an optional offset (`sunrise-1h30m`, `sunset+45m`).
    ///
    /// - Throws: ``ParseError`` saying what is wrong and what is allowed.
    public static func parseWindow(_ text: String) throws(ParseError) -> ScheduleWindow {
        let trimmed = text.trimmingSpaces
        let ends: [Substring]
        if let range = trimmed.firstRange(of: "..") {
            ends = [trimmed[..<range.lowerBound], trimmed[range.upperBound...]]
        } else if trimmed.contains("sunrise") || trimmed.contains("sunset") {
            throw ParseError(
                "must put `..` between the ends of a window with sunrise or sunset, e.g. \"sunrise-1h..sunrise+3h\"")
        } else {
            ends = trimmed.split(separator: "-", maxSplits: 2, omittingEmptySubsequences: false)
        }
        guard ends.count == 2, !ends[0].trimmingSpaces.isEmpty, !ends[1].trimmingSpaces.isEmpty else {
            throw ParseError("must be a window from one time to another, " + windowExamples)
        }
        let from = try parseTime(ends[0].trimmingSpaces, isEnd: false)
        let to = try parseTime(ends[1].trimmingSpaces, isEnd: true)
        if case .clock(let start) = from, case .clock(let end) = to, start == end {
            throw ParseError(
                "opens and closes at the same time; write \"00:00-24:00\" for the whole day, or leave out "
                    + "`schedule` to record all the time")
        }
        if case .sun(let a, let offsetA) = from, case .sun(let b, let offsetB) = to, a == b, offsetA == offsetB {
            throw ParseError("opens and closes at the same time, e.g. write \"sunset..sunset+2h\"")
        }
        return ScheduleWindow(from: from, to: to)
    }

    /// Reads a window as a string entry of `schedule`.
    public static func parse(_ text: String) throws(ParseError) -> ScheduleEntry {
        .window(try parseWindow(text))
    }

    /// Reads a duration: a number with a unit, or several from hours down to seconds (`90s`, `5m`,
    /// `1h30m`); nil when `text` is not one.
    public static func parseDuration(_ text: String) -> Int? {
        var total = 0
        var number = ""
        var lastUnit = 4
        for character in text.trimmingSpaces {
            if character.isASCII, character.isNumber {
                number.append(character)
                guard number.count <= 6 else { return nil }
                continue
            }
            let units: [Character: (rank: Int, seconds: Int)] = ["h": (3, 3600), "m": (2, 60), "s": (1, 1)]
            guard let unit = units[character], let value = Int(number), unit.rank < lastUnit else { return nil }
            total += value * unit.seconds
            lastUnit = unit.rank
            number = ""
        }
        guard number.isEmpty, lastUnit < 4 else { return nil }
        return total
    }

    /// `1h30m`, `5m`, `90s`… (the shortest way ``parseDuration(_:)`` reads back).
    static func durationText(_ seconds: Int) -> String {
        var text = ""
        if seconds >= 3600 { text += "\(seconds / 3600)h" }
        if seconds % 3600 >= 60 { text += "\(seconds % 3600 / 60)m" }
        if seconds % 60 != 0 || seconds == 0 { text += "\(seconds % 60)s" }
        return text
    }

    private static func parseTime(_ text: Substring, isEnd: Bool) throws(ParseError) -> ScheduleTime {
        for event in SolarCalculator.Event.allCases where text.hasPrefix(event.rawValue) {
            let rest = text.dropFirst(event.rawValue.count).trimmingSpaces
            guard !rest.isEmpty else { return .sun(event, offset: 0) }
            let sign = rest.first == "-" ? -1 : 1
            guard rest.first == "-" || rest.first == "+",
                let magnitude = parseDuration(String(rest.dropFirst()))
            else {
                throw ParseError(
                    "has `\(text)`, whose offset is not one: write \(event.rawValue), or \(event.rawValue) with + or - "
                        + "and a duration in h, m and s, e.g. \"\(event.rawValue)-1h30m\" or \"\(event.rawValue)+45m\"")
            }
            guard magnitude <= ScheduleTime.maximumOffset else {
                throw ParseError(
                    "has `\(text)`, more than 12h from \(event.rawValue); offsets may be up to 12h either way, "
                        + "e.g. \"\(event.rawValue)-2h\"")
            }
            return .sun(event, offset: sign * magnitude)
        }
        guard let seconds = clockSeconds(text), seconds < 86_400 || isEnd else {
            throw ParseError(
                "has `\(text)`, which is not a time of day: write HH:MM or HH:MM:SS from 00:00 to 23:59:59 (24:00 "
                    + "may end a window), or sunrise or sunset with an offset; " + windowExamples)
        }
        return .clock(seconds: seconds)
    }

    /// Seconds after midnight of `H:MM`, `HH:MM` or `HH:MM:SS`, up to 24:00 (86400); nil when not a clock time.
    private static func clockSeconds(_ text: Substring) -> Int? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count),
            parts.allSatisfy({ part in !part.isEmpty && part.allSatisfy { $0.isASCII && $0.isNumber } }),
            (1...2).contains(parts[0].count), parts.dropFirst().allSatisfy({ $0.count == 2 }),
            let hours = Int(parts[0]), let minutes = Int(parts[1])
        else { return nil }
        let seconds = parts.count == 3 ? Int(parts[2]) ?? 60 : 0
        guard minutes < 60, seconds < 60 else { return nil }
        let total = hours * 3600 + minutes * 60 + seconds
        return total <= 86_400 ? total : nil
    }
}

extension StringProtocol {
    /// Without spaces and tabs at either end.
    fileprivate var trimmingSpaces: Substring {
        let characters = self[...]
        let start = characters.firstIndex { $0 != " " && $0 != "\t" } ?? characters.endIndex
        let end = characters.lastIndex { $0 != " " && $0 != "\t" }.map { characters.index(after: $0) } ?? start
        return Substring(characters[start..<end])
    }
}
