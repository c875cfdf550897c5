// The conventions users bring from git, docker, systemctl and journalctl: global options anywhere, journalctl's
// time forms, local times, rounded durations, exit codes, a meter that fits the terminal, the socket's group.

import ArgumentParser
import CaptureClient
import CaptureProtocol
import Foundation
import TestSupport
import Testing

@testable import CaptureCommands

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct GlobalOptionPlacementTests {
    static let placements: [([String], [String])] = [
        (["--socket", "/tmp/x.sock", "status"], ["status", "--socket", "/tmp/x.sock"]),
        (["--json", "status"], ["status", "--json"]),
        (
            ["--socket=/tmp/x.sock", "--json", "--utc", "logs", "-f"],
            ["logs", "--socket=/tmp/x.sock", "--json", "--utc", "-f"]
        ),
        (["--json", "start", "x", "--for", "1h"], ["start", "--json", "x", "--for", "1h"]),
        (["status", "--json"], ["status", "--json"]),
        (["--json"], ["--json"]),
        (["--socket"], ["--socket"]),
        (["--help"], ["--help"]),
        (["--json", "--help"], ["--json", "--help"]),
        (["--verbose", "status"], ["--verbose", "status"]),
        ([], []),
    ]

    @Test(arguments: placements)
    func globalOptionsMoveAfterTheSubcommand(input: [String], expected: [String]) {
        #expect(AudioCapCommand.arguments(input) == expected)
    }

    @Test func movedOptionsParse() throws {
        let command = try AudioCapCommand.parseAsRoot(
            AudioCapCommand.arguments(["--socket", "/tmp/a.sock", "--json", "--utc", "status"]))
        let status = try #require(command as? StatusCommand)
        #expect(status.options.socket == "/tmp/a.sock")
        #expect(status.options.json)
        #expect(status.options.utc)
        let version = try #require(
            try AudioCapCommand.parseAsRoot(AudioCapCommand.arguments(["--json", "version"])) as? VersionCommand)
        #expect(version.options.json)
        #expect(try AudioCapCommand.parseAsRoot(["reload", "--json"]) is ReloadCommand)
    }

    @Test func helpNamesTheGlobalOptionsAndExitCodes() {
        let help = AudioCapCommand.helpMessage(columns: 120)
        #expect(help.contains("Global options, before or after the command"))
        #expect(help.contains("--socket <path>"))
        #expect(help.contains("--utc"))
        #expect(help.contains("69  audiocapd is not running or not reachable; only then"))
        #expect(help.contains("no audio yet"))
        #expect(help.contains("reload"))
        #expect(help.contains("version"))
        let status = AudioCapCommand.helpMessage(for: StatusCommand.self, columns: 120)
        #expect(status.contains("--utc"))
    }
}

@Suite struct TimeArgumentTests {
    /// 2026-11-22T01:00:00Z, which is 02:00 in Berlin (CET, +01:00).
    static let now = Date(timeIntervalSince1970: 1_795_309_200)
    static let berlin = TimeZone(identifier: "Europe/Berlin")!

    func resolve(_ text: String) throws -> Double {
        try TimeArgument.parse(text).date(now: Self.now, timeZone: Self.berlin).timeIntervalSince1970
    }

    static let forms: [(String, Double)] = [
        ("now", 1_795_309_200),
        ("today", 1_795_302_000),  // 2026-11-22T00:00+01:00
        ("yesterday", 1_795_302_000 - 86_400),
        ("tomorrow", 1_795_302_000 + 86_400),
        ("-1h", 1_795_309_200 - 3_600),
        ("-30m", 1_795_309_200 - 1_800),
        ("5m", 1_795_309_200 - 300),
        ("1h30m", 1_795_309_200 - 5_400),
        ("+10m", 1_795_309_200 + 600),
        ("2026-11-22", 1_795_302_000),
        ("2026-11-22 01:00", 1_795_305_600),
        ("2026-11-22 01:00:30", 1_795_305_630),
        ("2026-11-22T01:00:30", 1_795_305_630),
        ("2026-11-22 01:00:00.5", 1_795_305_600.5),
        ("2026-11-22 01:00:00Z", 1_795_309_200),
        ("2026-11-22T01:00:00Z", 1_795_309_200),
        ("2026-11-22 01:00 UTC", 1_795_309_200),
        ("2026-11-22 01:00:00 UTC", 1_795_309_200),
        ("2026-11-22 02:00:00+01:00", 1_795_309_200),
        ("2026-11-22T02:00:00+01:00", 1_795_309_200),
        ("2026-11-22 02:00 +0100", 1_795_309_200),
        ("2026-11-21 20:00:00-05:00", 1_795_309_200),
        ("2026-11-22 UTC", 1_795_305_600),
        ("2026-11-22 01:00 Europe/Berlin", 1_795_305_600),
        ("2026-11-22T01:00:00.5Z", 1_795_309_200.5),
        ("1795309200", 1_795_309_200),
        ("@1795309200", 1_795_309_200),
    ]

    @Test(arguments: forms)
    func journalctlForms(text: String, epoch: Double) throws {
        #expect(try resolve(text) == epoch, "\(text)")
    }

    @Test func localFormsFollowTheZone() throws {
        let utc = TimeZone(identifier: "UTC")!
        let tokyo = TimeZone(identifier: "Asia/Tokyo")!
        let local = try TimeArgument.parse("2026-11-22 01:00")
        #expect(local.date(now: Self.now, timeZone: utc).timeIntervalSince1970 == 1_795_309_200)
        #expect(local.date(now: Self.now, timeZone: tokyo).timeIntervalSince1970 == 1_795_309_200 - 9 * 3_600)
        // Summer time: 2026-07-01 12:00 in Berlin is 10:00 UTC.
        #expect(
            try TimeArgument.parse("2026-07-01 12:00").date(now: Self.now, timeZone: Self.berlin)
                == (try TimeArgument.parse("2026-07-01 10:00Z")).date(now: Self.now))
        // "today" in Tokyo at 01:00 UTC is already 2026-11-22 10:00 there: midnight is 15:00 UTC the day before.
        #expect(
            TimeArgument.midnight(days: 0).date(now: Self.now, timeZone: tokyo).timeIntervalSince1970
                == 1_795_309_200 - 10 * 3_600)
    }

    @Test(arguments: [
        "2026-13-01", "2026-02-30", "2026-11-22 25:00", "2026-11-22 01:60", "10 minutes", "soon", "45",
        "2026-11-22 01:00 Mars/Olympus", "2026-11-22 01:00 +25:00", "22.11.2026", "-", "+", "@x",
    ])
    func otherTextIsRefusedNamingTheForms(text: String) {
        do {
            _ = try TimeArgument.parse(text)
            Issue.record("expected an error for \(text)")
        } catch {
            #expect("\(error)".contains("now, today, yesterday"), "\(error)")
        }
    }

    @Test func untilParsesOnLogsAndSegments() throws {
        let logs = try #require(
            try AudioCapCommand.parseAsRoot(["logs", "--since", "yesterday", "--until", "today"]) as? LogsCommand)
        #expect(logs.since == .midnight(days: -1))
        #expect(logs.until == .midnight(days: 0))
        let segments = try #require(
            try AudioCapCommand.parseAsRoot(["segments", "night", "--until", "-1h"]) as? SegmentsCommand)
        #expect(segments.until == .ago(seconds: 3_600))
        let dashed = try #require(try AudioCapCommand.parseAsRoot(["logs", "--since", "-30m", "-f"]) as? LogsCommand)
        #expect(dashed.since == .ago(seconds: 1_800))
        #expect(dashed.follow)
        do {
            _ = try AudioCapCommand.parseAsRoot(["logs", "-f", "--until", "now"])
            Issue.record("--until with --follow should be refused")
        } catch {
            #expect(AudioCapCommand.exitCode(for: error).rawValue == 64)
        }
    }
}

@Suite struct HumanOutputTests {
    static let berlin = TimeStyle(timeZone: TimeZone(identifier: "Europe/Berlin")!)

    @Test func timesAreLocalUnlessUTC() {
        #expect(TextFormat.time(1_795_309_323.9, Self.berlin) == "2026-11-22T02:02:03+01:00")
        #expect(TextFormat.time(1_795_309_323.9, .utc) == "2026-11-22T01:02:03Z")
        #expect(TextFormat.timeWithTenths(1_795_309_323.45, Self.berlin) == "2026-11-22T02:02:03.4+01:00")
        #expect(TextFormat.timeOfDay(1_795_309_323.45, Self.berlin) == "02:02:03.4")
        let summer = TimeStyle(timeZone: TimeZone(identifier: "Europe/Berlin")!)
        #expect(summer.time(1_782_900_000) == "2026-07-01T12:00:00+02:00")
        let india = TimeStyle(timeZone: TimeZone(identifier: "Asia/Kolkata")!)
        #expect(india.time(1_795_309_200) == "2026-11-22T06:30:00+05:30")
        #expect(["CET", "+01:00"].contains(Self.berlin.label(at: Date(timeIntervalSince1970: 1_795_309_200))))
        #expect(TimeStyle.utc.label(at: Date()) == "UTC")
    }

    @Test func printedLocalTimesParseBackToTheSameInstant() throws {
        let text = TextFormat.time(1_795_309_323, Self.berlin)
        #expect(try TimeArgument.parse(text).date(now: Date()).timeIntervalSince1970 == 1_795_309_323)
    }

    @Test func logLinesAndTablesUseTheChosenZone() {
        #expect(LogsCommand.render(Fixtures.event, times: Self.berlin).hasPrefix("2026-11-22T02:02:03+01:00 WARNING"))
        #expect(LogsCommand.render(Fixtures.event).hasPrefix("2026-11-22T01:02:03Z WARNING"))
        var segment = Fixtures.event
        segment.kind = "segment.closed"
        segment.fields = ["duration_seconds": .double(1.9999583333333333), "frames": .int(95_998)]
        #expect(LogsCommand.render(segment).hasSuffix("duration_seconds=\"2.0 s\" frames=95998"))
    }

    static let durations: [(Double, String)] = [
        (0.0, "0 s"), (0.34, "0.3 s"), (1.9999583333333333, "2.0 s"), (9.96, "10 s"), (42, "42 s"),
        (63, "1 min 3 s"), (725, "12 min 5 s"), (3_600, "1 h"), (15_120, "4 h 12 min"), (273_600, "3 d 4 h"),
        (90_000, "1 d 1 h"), (86_460, "1 d"), (-5, "0 s"), (.nan, "0 s"), (119.6, "2 min"),
    ]

    @Test(arguments: durations)
    func durationsRound(seconds: Double, text: String) {
        #expect(TextFormat.duration(seconds) == text)
    }

    @Test func eventNumbersRound() {
        #expect(TextFormat.field(1.9999583333333333, key: "duration_seconds") == "2.0 s")
        #expect(TextFormat.field(63.2, key: "gap_seconds") == "1 min 3 s")
        #expect(TextFormat.field(-71.23456, key: "dbfs") == "-71.235")
        #expect(TextFormat.field(-71.2, key: "dbfs") == "-71.2")
        #expect(TextFormat.field(2, key: "ratio") == "2.0")
        #expect(TextFormat.field(-.infinity, key: "dbfs") == "-inf")
    }

    @Test func reloadSaysWhatChanged() {
        let reply = ReloadResponse(
            configPath: "/etc/audiocap/audiocap.toml", reloaded: true, started: ["extra"], stopped: ["old"],
            restarted: ["main"], restartNeeded: true, restartNeededFor: ["queue", "source"])
        #expect(
            ReloadCommand.render(reply) == """
                reloaded /etc/audiocap/audiocap.toml
                  started: extra
                  stopped: old
                  restarted with new settings: main
                  changed [queue], [source] take effect when audiocapd restarts: `systemctl restart audiocapd`
                """)
        #expect(
            ReloadCommand.render(ReloadResponse(configPath: "/a.toml", reloaded: true))
                == "reloaded /a.toml\n  recordings unchanged")
        #expect(
            ReloadCommand.render(ReloadResponse(configPath: "/a.toml", reloaded: false, errors: ["line 3: bad"]))
                == "not reloaded: /a.toml has errors\n  line 3: bad")
    }

    @Test func versionJSONSaysNullForAMissingDaemon() throws {
        #expect(
            try GlobalOptions.json(VersionCommand.Versions(cli: "1.0.0"))
                == "{\n  \"cli\" : \"1.0.0\",\n  \"daemon\" : null,\n  \"daemon_pid\" : null\n}")
    }

    @Test func versionNamesBoth() {
        #expect(VersionCommand.render(.init(cli: "1.0.0"), socket: "/s") == "audiocap 1.0.0")
        #expect(
            VersionCommand.render(.init(cli: "1.0.0", daemon: "1.0.0", daemonPid: 42), socket: "/s")
                == "audiocap 1.0.0\naudiocapd 1.0.0 (pid 42, /s)")
        #expect(
            VersionCommand.render(.init(cli: "1.0.0", daemon: "0.9.0", daemonPid: 42), socket: "/s")
                .hasSuffix("; versions differ"))
    }

    @Test func startOfAConfiguredRecordingSaysSo() {
        var night = Fixtures.night
        night.kind = "continuous"
        #expect(StartCommand.render(night, now: Date()).hasPrefix("started night with its configured settings: "))
    }
}

@Suite struct ExitCodeRuleTests {
    @Test func sixtyNineOnlyWhenUnreachable() {
        let path = "/run/audiocap/control.sock"
        #expect(ClientError.connectionFailed(errno: ENOENT, socketPath: path).exitCode == 69)
        #expect(ClientError.connectionFailed(errno: ECONNREFUSED, socketPath: path).exitCode == 69)
        for status in [400, 404, 409, 413, 500, 503] {
            #expect(ClientError(code: .apiError, socketPath: path, status: status, message: "m").exitCode != 69)
        }
        #expect(ClientError(code: .apiError, socketPath: path, status: 503, message: "busy").exitCode == 75)
    }

    @Test func noAudioYetIsToldApartFromABusyDaemon() {
        let path = "/s"
        #expect(
            LevelsCommand.isNoAudioYet(
                ClientError(code: .apiError, socketPath: path, status: 503, message: "no audio yet: levels appear …")))
        #expect(
            !LevelsCommand.isNoAudioYet(
                ClientError(code: .apiError, socketPath: path, status: 503, message: "too many follow streams")))
        #expect(!LevelsCommand.isNoAudioYet(ClientError.connectionFailed(errno: ENOENT, socketPath: path)))
    }

    @Test func permissionHintNamesTheSocketsGroup() throws {
        let dir = NSTemporaryDirectory() + "audiocap-group-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socket = dir + "/control.sock"
        FileManager.default.createFile(atPath: socket, contents: nil)
        // Any group with a name will do; the test runs as root, so chown works.
        let gid: gid_t = getgrnam("daemon")?.pointee.gr_gid ?? getgid()
        _ = chown(socket, getuid(), gid)
        let name = try #require(getgrgid(gid).map { String(cString: $0.pointee.gr_name) })
        let error = ClientError.connectionFailed(errno: EACCES, socketPath: socket)
        #expect(error.exitCode == 77)
        #expect(error.description.contains("Join the `\(name)` group"), "\(error)")
        #expect(error.description.contains("usermod -aG \(name) $USER"))
        // A socket that cannot be seen: the directory's group.
        #expect(ClientError.owningGroup(of: dir + "/missing.sock") != nil)
        #expect(ClientError.owningGroup(of: "/nonexistent-\(getpid())/a/b.sock") == nil)
        #expect(
            ClientError.connectionFailed(errno: EACCES, socketPath: "/nonexistent-\(getpid())/a/b.sock").description
                .contains("Ask for access"))
    }
}

@Suite struct MeterWidthTests {
    func reading(channels: Int = 2, problems: Bool = true) -> LevelsResponse {
        var reading = LevelsResponse(
            time: 1_795_309_323.45, frame: 123_456_789, silent: true,
            channels: (0..<channels).map { _ in
                .init(peakDBFS: -0.1, rmsDBFS: -18.4, clipped: 3, clippedTotal: 3)
            })
        if problems {
            reading.problems = [
                .init(kind: "dc_offset", channel: 1, sinceFrame: 0), .init(kind: "flatline", channel: 2, sinceFrame: 0),
            ]
        }
        return reading
    }

    /// The lines of a frame without their escape sequences' effect on width.
    func lines(_ frame: String) -> [Substring] {
        frame.split(separator: "\n")
    }

    @Test(arguments: [50, 40, 60, 80, 120, 200, 20])
    func everyLineFitsTheTerminal(columns: Int) {
        for style in [Style.plain, Style(enabled: true)] {
            var screen = MeterScreen(meter: MeterLine(style: style), columns: columns)
            for _ in 0..<3 {
                for line in lines(screen.frame(reading())) {
                    #expect(TextFormat.visibleWidth(String(line)) < columns, "\(columns): \(line)")
                }
            }
        }
    }

    @Test func barsUseTheWidthThereIs() {
        #expect(MeterLine.width(columns: 50, labelWidth: 1) == 13)
        #expect(MeterLine.width(columns: 200, labelWidth: 1) == 48)
        #expect(MeterLine.width(columns: 20, labelWidth: 1) == 8)
        var screen = MeterScreen(meter: MeterLine(), columns: 50)
        let frame = screen.frame(reading(problems: false))
        #expect(frame.contains("1 [█████████▒▒|·] "), "\(frame)")
        // At 50 columns the meter lines are whole; the header drops its hint rather than be cut.
        #expect(frame.contains("-0.1 peak -18.4 rms dBFS  CLIP"))
        #expect(frame.contains("audiocapd levels  01:02:03.4 UTC  silent\n"))
        var wide = MeterScreen(meter: MeterLine(), columns: 60)
        #expect(
            wide.frame(reading(problems: false)).contains("audiocapd levels  01:02:03.4 UTC  frame 123456789  silent\n")
        )
    }

    @Test func resizeClearsAndRedrawsAtTheNewWidth() {
        var screen = MeterScreen(meter: MeterLine(), columns: 120)
        _ = screen.frame(reading())
        let same = screen.frame(reading())
        #expect(same.hasPrefix("\u{1B}[5F"))  // header, two channels, scale, health
        screen.resize(columns: 50)
        let resized = screen.frame(reading())
        #expect(resized.hasPrefix("\u{1B}[H\u{1B}[2J"))
        #expect(lines(resized).allSatisfy { TextFormat.visibleWidth(String($0)) < 50 })
        #expect(screen.frame(reading()).hasPrefix("\u{1B}[5F"))
        screen.startBelow()
        #expect(!screen.frame(reading()).hasPrefix("\u{1B}[" + "5F"))
    }

    @Test func cuttingKeepsEscapesAndResetsColor() {
        let style = Style(enabled: true)
        let line = style.red("abcdef") + "ghij"
        let cut = MeterScreen.cut(line, toWidth: 3)
        #expect(TextFormat.visibleWidth(cut) == 3)
        #expect(cut.hasPrefix("\u{1B}[31mabc"))
        #expect(cut.hasSuffix("\u{1B}[0m"))
        #expect(MeterScreen.cut("short", toWidth: 10) == "short")
    }

    @Test func columnsComeFromTheEnvironmentWhenNotATerminal() {
        #expect(Console.columns(environment: ["COLUMNS": "50"]) == 50)
        #expect(Console.columns(environment: ["COLUMNS": "x"]) == nil)
        #expect(Console.columns(environment: [:]) == nil)
    }
}
