// The duration and --since parsers.

import ArgumentParser
import Foundation
import Testing

@testable import CaptureCommands

@Suite struct DurationParserTests {
    @Test(arguments: [
        ("90s", 90), ("10m", 600), ("2h", 7_200), ("1h30m", 5_400), ("1d", 86_400), ("45", 45),
        ("1d2h3m4s", 93_784), ("0", 0), ("2H", 7_200), (" 5m ", 300),
    ])
    func acceptsDurations(text: String, seconds: Int) throws {
        #expect(try DurationParser.seconds(text) == seconds)
    }

    @Test(arguments: ["", "m", "10x", "1m1h", "1h1h", "-5s", "1.5h", "10 m", "h1", "99999999999999999999d"])
    func refusesOtherText(text: String) {
        #expect(DurationParser.parse(text) == nil)
        #expect(throws: ValidationError.self) { try DurationParser.seconds(text) }
    }

    @Test func errorNamesTheAcceptedForms() {
        do {
            _ = try DurationParser.seconds("soon")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)" == "`soon` is not a duration such as 90s, 10m, 2h, 1h30m, 1d or 45 (seconds)")
        }
    }

    @Test func sinceTakesDurationsBackFromNow() throws {
        let now = Date(timeIntervalSince1970: 1_795_309_200)
        #expect(try SinceArgument.parse("10m") == .ago(seconds: 600))
        #expect(try SinceArgument.parse("1h30m").date(now: now).timeIntervalSince1970 == 1_795_309_200 - 5_400)
    }

    @Test func sinceTakesISO8601Times() throws {
        #expect(try SinceArgument.parse("2026-11-22T01:00:00Z") == .time(Date(timeIntervalSince1970: 1_795_309_200)))
        #expect(
            try SinceArgument.parse("2026-11-22T02:00:00+01:00") == .time(Date(timeIntervalSince1970: 1_795_309_200)))
        #expect(
            try SinceArgument.parse("2026-11-22T01:00:00.5Z") == .time(Date(timeIntervalSince1970: 1_795_309_200.5)))
    }

    @Test func sinceTakesEpochSeconds() throws {
        #expect(try SinceArgument.parse("1795309200") == .time(Date(timeIntervalSince1970: 1_795_309_200)))
        let now = Date()
        #expect(try SinceArgument.parse("1795309200").date(now: now).timeIntervalSince1970 == 1_795_309_200)
    }

    @Test func sinceRefusesSmallPlainNumbersWithAHint() {
        do {
            _ = try SinceArgument.parse("45")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("write 45s"))
        }
    }

    @Test(arguments: ["the day before", "22/11/2026", "2026-13-01T00:00:00Z", "10 minutes"])
    func sinceRefusesOtherText(text: String) {
        do {
            _ = try SinceArgument.parse(text)
            Issue.record("expected an error for \(text)")
        } catch {
            #expect("\(error)".contains("a date and time (2026-11-22, 2026-11-22 01:00, 2026-11-22 01:00:00)"))
        }
    }
}
