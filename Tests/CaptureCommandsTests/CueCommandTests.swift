// Recording on cue in the CLI: `--from`/`--to` parsing, `clip`, `triggers`, and what `status`, `start` and
// `check-config` show of look-back, schedules and triggers.

import ArgumentParser
import CaptureClient
import CaptureCore
import CaptureProtocol
import Foundation
import TestSupport
import Testing

@testable import CaptureCommands

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct PastOffsetTests {
    static let forms: [(String, Double)] = [
        ("-30s", -30), ("-2m", -120), ("-1m30s", -90), ("-90", -90), ("-1h", -3_600), (" -5s ", -5), ("now", 0),
        ("NOW", 0), ("-0s", 0),
    ]

    @Test(arguments: forms)
    func pastForms(text: String, seconds: Double) throws {
        #expect(try PastOffset.parse(text).seconds == seconds, "\(text)")
    }

    @Test func zeroIsNow() throws {
        #expect(try PastOffset.parse("-0s") == .now)
        #expect(try PastOffset.parse("-2m") == .ago(seconds: 120))
    }

    @Test(arguments: ["30s", "+30s", "2m"])
    func aTimeAheadIsRefusedWithTheFormToWrite(text: String) {
        do {
            _ = try PastOffset.parse(text)
            Issue.record("expected an error for \(text)")
        } catch {
            let unsigned = text.hasPrefix("+") ? String(text.dropFirst()) : text
            #expect("\(error)".contains("write -\(unsigned)"), "\(error)")
        }
    }

    @Test(arguments: ["soon", "", "-", "-1.5s", "-10 m", "yesterday", "0"])
    func otherTextIsRefusedNamingTheForms(text: String) {
        do {
            _ = try PastOffset.parse(text)
            Issue.record("expected an error for \(text)")
        } catch {
            #expect("\(error)".contains("-30s, -2m, -1m30s"), "\(error)")
        }
    }
}

@Suite struct CueParsingTests {
    private func parse<Command: ParsableCommand>(_ arguments: [String], as type: Command.Type) throws -> Command {
        try #require(try AudioCapCommand.parseAsRoot(AudioCapCommand.arguments(arguments)) as? Command)
    }

    /// The message and exit code `audiocap` would print and exit with for `arguments`.
    private func failure(_ arguments: [String]) -> (message: String, code: Int32)? {
        do {
            _ = try AudioCapCommand.parseAsRoot(arguments)
            return nil
        } catch {
            return (AudioCapCommand.message(for: error), AudioCapCommand.exitCode(for: error).rawValue)
        }
    }

    @Test func startFromThePast() throws {
        #expect(try parse(["start", "x", "--from", "-30s"], as: StartCommand.self).request.fromSeconds == -30)
        #expect(try parse(["start", "x", "--from=-1m30s"], as: StartCommand.self).request.fromSeconds == -90)
        #expect(
            try parse(["start", "x", "--from", "-2m", "--for", "1h"], as: StartCommand.self).request.fromSeconds == -120
        )
        #expect(try parse(["start", "x", "--from", "now"], as: StartCommand.self).request.fromSeconds == nil)
        #expect(try parse(["start", "x"], as: StartCommand.self).request.fromSeconds == nil)
        let moved = try parse(["--json", "start", "x", "--from", "-20s"], as: StartCommand.self)
        #expect(moved.options.json)
        #expect(moved.request.fromSeconds == -20)
    }

    @Test func startSendsFromSecondsOnTheWire() throws {
        let request = try parse(["start", "x", "--from", "-30s"], as: StartCommand.self).request
        let body = String(decoding: try ControlAPI.encoder().encode(request), as: UTF8.self)
        #expect(body == #"{"from_seconds":-30,"name":"x"}"#)
        let none = try parse(["start", "x", "--from", "now"], as: StartCommand.self).request
        #expect(String(decoding: try ControlAPI.encoder().encode(none), as: UTF8.self) == #"{"name":"x"}"#)
    }

    @Test func startRefusesATimeAhead() throws {
        let refused = try #require(failure(["start", "x", "--from", "30s"]))
        #expect(refused.code == 64)
        #expect(refused.message.contains("-30s"), "\(refused.message)")
    }

    @Test func clipWithEveryOption() throws {
        let command = try parse(
            [
                "clip", "door", "--from", "-2m", "--to", "-10s", "--source", "cam", "--directory", "clips/door",
                "--filename", "{name}-%H%M%S.flac", "--format", "flac", "--json",
            ], as: ClipCommand.self)
        #expect(command.options.json)
        #expect(
            command.request
                == ClipRequest(
                    name: "door", fromSeconds: -120, toSeconds: -10, source: "cam", directory: "clips/door",
                    filename: "{name}-%H%M%S.flac", format: "flac"))
    }

    @Test func clipToNowLeavesToSecondsOut() throws {
        let command = try parse(["clip", "door", "--from", "-1m30s"], as: ClipCommand.self)
        #expect(command.request == ClipRequest(name: "door", fromSeconds: -90))
        let body = String(decoding: try ControlAPI.encoder().encode(command.request), as: UTF8.self)
        #expect(body == #"{"from_seconds":-90,"name":"door"}"#)
        let explicit = try parse(["clip", "door", "--from", "-1m", "--to", "now"], as: ClipCommand.self)
        #expect(explicit.request.toSeconds == nil)
    }

    static let refusedClips: [([String], String)] = [
        (["clip", "door"], "--from"),
        (["clip", "door", "--from", "now"], "--from must lie before now"),
        (["clip", "door", "--from", "-10s", "--to", "-2m"], "--from must lie before --to"),
        (["clip", "door", "--from", "-10s", "--to", "-10s"], "--from must lie before --to"),
        (["clip", "door", "--from", "-1m", "--to", "10s"], "write -10s"),
        (["clip", "door", "--from", "2m"], "write -2m"),
        (["clip", "../x", "--from", "-1m"], "not a valid clip name"),
        (["clip", "door", "--from", "-1m", "--source", "a b"], "not a valid source name"),
        (["clip", "door", "--from", "-1m", "--format", "mp3"], "mp3"),
    ]

    @Test(arguments: refusedClips)
    func clipRefusesBadSpansAndNames(arguments: [String], message: String) throws {
        let refused = try #require(failure(arguments), "\(arguments) parsed")
        #expect(refused.code == 64, "\(arguments)")
        #expect(refused.message.contains(message), "\(arguments): \(refused.message)")
    }

    @Test func triggersParses() throws {
        #expect(try !parse(["triggers"], as: TriggersCommand.self).options.json)
        #expect(try parse(["--json", "triggers"], as: TriggersCommand.self).options.json)
    }

    @Test func everyOptionOfTheNewCommandsIsInTheirHelpWithAnExample() {
        let clip = ClipCommand.helpMessage(columns: 200)
        for option in ["--from", "--to", "--source", "--directory", "--filename", "--format", "--json", "--socket"] {
            #expect(clip.contains(option), "clip --help lacks \(option)")
            #expect(
                clip.split(separator: "\n").contains { $0.contains("  audiocap clip") && $0.contains(option) }
                    || option == "--socket",
                "no example of clip \(option)")
        }
        let start = StartCommand.helpMessage(columns: 200)
        #expect(start.contains("--from <-duration>"))
        #expect(start.contains("audiocap start interview --from -30s"))
        let triggers = TriggersCommand.helpMessage(columns: 200)
        #expect(triggers.contains("Examples:\n  audiocap triggers"))
        #expect(triggers.contains("audiocap triggers --json"))
        let root = AudioCapCommand.helpMessage(columns: 200)
        for text in ["clip", "triggers", "audiocap start interview --from -30s", "audiocap clip door --from -2m"] {
            #expect(root.contains(text), "audiocap --help lacks \(text)")
        }
    }
}

@Suite struct CueOutputTests {
    /// 2026-11-22T01:00:00Z.
    static let now = 1_795_309_200.0
    static let berlin = TimeStyle(timeZone: TimeZone(identifier: "Europe/Berlin")!)

    static let bats = TriggerStatus(
        name: "bats", source: "main", state: "recording", thresholdDBFS: -30, highPassHz: 15_000,
        directory: "/srv/clips/bats", lastFired: now - 60, lastPeakDBFS: -12.34, clipsToday: 3, clipsTotal: 12,
        firings: 14, currentClip: "/srv/clips/bats/2026-11-22/bats-20261122T005857Z.wav",
        lastClip: "/srv/clips/bats/2026-11-22/bats-20261122T004000Z.wav", droppedFrames: 0)

    static let door = TriggerStatus(
        name: "door", source: "cam", state: "listening", thresholdDBFS: -20.5, highPassHz: nil,
        directory: "/srv/clips/door", lastFired: nil, lastPeakDBFS: nil, clipsToday: 0, clipsTotal: 0, firings: 0,
        currentClip: nil, lastClip: nil, droppedFrames: 4_800)

    @Test func triggersTable() {
        let expected = """
            NAME  SOURCE  STATE      THRESHOLD                       LAST FIRED                              CLIPS TODAY   CURRENT/LAST CLIP
            bats  main    recording  -30.0 dBFS, high-pass 15000 Hz  2026-11-22T00:59:00Z (peak -12.3 dBFS)  3 (12 total)  writing /srv/clips/bats/2026-11-22/bats-20261122T005857Z.wav
            door  cam     listening  -20.5 dBFS                      never                                   0 (0 total)   -
            door: 4,800 frames dropped (it fell behind; its clips have gaps)
            """
        #expect(TriggersCommand.render([Self.bats, Self.door]) == expected)
    }

    @Test func triggersShowLocalTimesAndTheLastClip() {
        var bats = Self.bats
        bats.currentClip = nil
        bats.state = "listening"
        let text = TriggersCommand.render([bats], times: Self.berlin)
        #expect(text.contains("2026-11-22T01:59:00+01:00 (peak -12.3 dBFS)"), "\(text)")
        #expect(text.hasSuffix("  /srv/clips/bats/2026-11-22/bats-20261122T004000Z.wav"), "\(text)")
        #expect(!text.contains("\u{1B}"))
        #expect(TriggersCommand.render([bats], style: Style(enabled: true)).contains("\u{1B}[32mlistening"))
    }

    @Test func noTriggersSaysHowToAddOne() {
        let text = TriggersCommand.render([])
        #expect(text.hasPrefix("no triggers configured: add a [[trigger]]"))
        #expect(text.contains("docs/triggers.md"))
    }

    @Test func aDaemonWithoutTriggersIsTooOld() {
        let old = ClientError(code: .apiError, socketPath: "/s", status: 404, message: "no such endpoint")
        let failure = TriggersCommand.failure(old)
        #expect(failure.exitCode == 76)
        #expect(failure.message.hasPrefix("audiocapd at /s does not report triggers"))
        let unreachable = TriggersCommand.failure(ClientError.connectionFailed(errno: ENOENT, socketPath: "/s"))
        #expect(unreachable.exitCode == 69)
    }

    @Test func triggersJSONIsTheAPIsReply() throws {
        let text = try GlobalOptions.json(TriggersResponse(triggers: [Self.bats]))
        let object = try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let trigger = try #require((object["triggers"] as? [[String: Any]])?.first)
        #expect(trigger["threshold_dbfs"] as? Double == -30)
        #expect(trigger["high_pass_hz"] as? Double == 15_000)
        #expect(trigger["last_fired_utc"] as? String == "2026-11-22T00:59:00.000Z")
        #expect(trigger["last_peak_dbfs"] as? Double == -12.3)
        #expect(trigger["clips_today"] as? Int == 3)
        #expect(trigger["current_clip"] as? String == Self.bats.currentClip)
    }

    static func clip(message: String? = nil, gaps: Int = 0, gapFrames: Int64 = 0) -> ClipResponse {
        ClipResponse(
            name: "door", source: "main", path: "/srv/audio/door/2026-11-22/door-20261122T005800Z.wav",
            frames: 5_280_000, sampleRate: 48_000, firstFrame: 1_000_000, startTime: now - 120, fromSeconds: -120,
            toSeconds: -10, gaps: gaps, gapFrames: gapFrames, message: message)
    }

    @Test func clipPrintsItsPathAlone() {
        let output = ClipCommand.render(Self.clip())
        #expect(output.path == "/srv/audio/door/2026-11-22/door-20261122T005800Z.wav")
        #expect(output.notes.isEmpty)
    }

    @Test func clipNotesAShortBufferAndGaps() {
        let message = "the look-back buffer held only 42.0 s; the clip starts there"
        let output = ClipCommand.render(Self.clip(message: message, gaps: 2, gapFrames: 24_000))
        #expect(output.path == Self.clip().path)
        #expect(
            output.notes == [
                "note: " + message,
                // 24,000 frames at 48 kHz are half a second.
                "note: the clip has 2 gaps (24,000 frames, about 0.5 s); "
                    + "/srv/audio/door/2026-11-22/door-20261122T005800Z.wav.json lists them",
            ])
    }

    @Test func clipJSONIsTheAPIsReply() throws {
        let text = try GlobalOptions.json(Self.clip(message: "held less"))
        let object = try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["path"] as? String == Self.clip().path)
        #expect(object["duration_seconds"] as? Double == 110)
        #expect(object["from_seconds"] as? Double == -120)
        #expect(object["to_seconds"] as? Double == -10)
        #expect(object["start_time_utc"] as? String == "2026-11-22T00:58:00.000Z")
        #expect(object["message"] as? String == "held less")
    }

    @Test func startInThePastSaysHowFarBackAndWhy() {
        var recording = Fixtures.interview
        recording.state = "recording"
        recording.fromSeconds = -20
        recording.message = "the look-back buffer held only 20.0 s of the 30 s asked for"
        let text = StartCommand.render(recording, now: Date(timeIntervalSince1970: Self.now))
        #expect(
            text.contains(
                "\n  began 20 s before the request, from the look-back buffer\n"
                    + "  note: the look-back buffer held only 20.0 s of the 30 s asked for\n"), "\(text)")
        #expect(!StartCommand.render(Fixtures.interview, now: Date()).contains("began"))
    }

    /// The fixture status with a look-back buffer, a scheduled recording and two triggers.
    static func status(lookBack: LookBackStatus?, schedule: ScheduleStatus?, triggers: [TriggerStatus]?)
        -> StatusResponse
    {
        var status = Fixtures.status
        status.source.lookBack = lookBack
        var night = Fixtures.night
        night.schedule = schedule
        if let schedule, !schedule.open {
            night.state = "scheduled_off"
            night.currentFile = nil
        }
        status.recordings = [night]
        status.triggers = triggers
        return status
    }

    @Test func statusShowsTheLookBack() {
        // 12 s of 48 kHz stereo s16 are 12 × 48000 × 2 × 2 = 2,304,000 bytes.
        let filling = LookBackStatus(seconds: 30, heldSeconds: 12, bytes: 2_304_000, oldest: Self.now - 12)
        let text = StatusCommand.render(Self.status(lookBack: filling, schedule: nil, triggers: nil), now: Self.now)
        #expect(text.contains("\nlook-back:  12 s of 30 s held, 2.30 MB\n"), "\(text)")
        let off = LookBackStatus(seconds: 0, heldSeconds: 0, bytes: 0, oldest: nil)
        #expect(
            StatusCommand.render(Self.status(lookBack: off, schedule: nil, triggers: nil), now: Self.now)
                .contains("\nlook-back:  off (look_back_seconds = 0)\n"))
        // A daemon from before look-back: no row.
        #expect(!StatusCommand.render(Fixtures.status).contains("look-back"))
    }

    @Test func statusShowsTheLookBackOfEachSource() {
        var status = Fixtures.status
        var mic = status.source
        mic.name = "mic"
        mic.lookBack = LookBackStatus(seconds: 300, heldSeconds: 300, bytes: 57_600_000, oldest: Self.now - 300)
        var hydro = status.source
        hydro.name = "hydro"
        hydro.lookBack = LookBackStatus(seconds: 0, heldSeconds: 0, bytes: 0, oldest: nil)
        status.source = mic
        status.sources = [mic, hydro]
        let text = StatusCommand.render(status, now: Self.now)
        // 300 s of 48 kHz stereo s16: 57.6 MB.
        #expect(text.contains("look-back:  5 min of 5 min held, 57.6 MB\n"), "\(text)")
        #expect(text.contains("look-back:  off (look_back_seconds = 0)\n"), "\(text)")
    }

    @Test func statusSaysWhenAScheduledRecordingRecordsNext() {
        // 2026-11-22 04:00 to 09:00 UTC, three hours after `now`.
        let off = ScheduleStatus(
            windows: ["04:00-09:00"], open: false, window: (Self.now + 3 * 3_600, Self.now + 8 * 3_600))
        let text = StatusCommand.render(Self.status(lookBack: nil, schedule: off, triggers: nil), now: Self.now)
        #expect(text.contains("  night  continuous  scheduled_off  -  143 segments"), "\(text)")
        #expect(text.hasSuffix("\n  night: scheduled off, next window 04:00–09:00 UTC (in 3 h)"), "\(text)")
        // In Berlin (+01:00 in November) the same window is 05:00–10:00.
        let local = StatusCommand.render(
            Self.status(lookBack: nil, schedule: off, triggers: nil), now: Self.now, times: Self.berlin)
        #expect(
            local.hasSuffix("night: scheduled off, next window 05:00–10:00 CET (in 3 h)")
                || local.hasSuffix("night: scheduled off, next window 05:00–10:00 +01:00 (in 3 h)"), "\(local)")

        let open = ScheduleStatus(windows: ["00:00-03:00"], open: true, window: (Self.now - 3_600, Self.now + 7_200))
        #expect(
            StatusCommand.render(Self.status(lookBack: nil, schedule: open, triggers: nil), now: Self.now)
                .hasSuffix("\n  night: in window until 03:00 UTC"))
    }

    static let windows: [(Double, Double, String)] = [
        // Tomorrow 04:00–09:00: the date is given.
        (now + 27 * 3_600, now + 32 * 3_600, "scheduled off, next window 2026-11-23 04:00–09:00 UTC (in 1 d 3 h)"),
        // 20:00 to the midnight after: 24:00.
        (now + 19 * 3_600, now + 23 * 3_600, "scheduled off, next window 20:00–24:00 UTC (in 19 h)"),
        // Past midnight: the end's date is given.
        (now + 21 * 3_600, now + 25 * 3_600, "scheduled off, next window 22:00–2026-11-23 02:00 UTC (in 21 h)"),
        // A duty cycle on seconds: the seconds are given.
        (now + 90, now + 150, "scheduled off, next window 01:01:30–01:02:30 UTC (in 1 min 30 s)"),
    ]

    @Test(arguments: windows)
    func windowsAreWrittenForPeople(start: Double, end: Double, text: String) {
        let schedule = ScheduleStatus(windows: ["x"], open: false, window: (start, end))
        #expect(ScheduleText.describe(schedule, now: Self.now, times: .utc) == text)
    }

    @Test func aScheduleWithoutAWindowSaysSo() {
        let never = ScheduleStatus(windows: ["sunrise..sunrise+1h"], open: false, window: nil)
        #expect(ScheduleText.describe(never, now: Self.now, times: .utc) == "scheduled off, no window within 400 days")
    }

    @Test func statusListsTheTriggers() {
        let text = StatusCommand.render(
            Self.status(lookBack: nil, schedule: nil, triggers: [Self.bats, Self.door]), now: Self.now)
        let expected = """
            triggers:
              bats  main  recording  -30.0 dBFS, high-pass 15000 Hz  fired 2026-11-22T00:59:00Z (peak -12.3 dBFS)  3 clips today  writing /srv/clips/bats/2026-11-22/bats-20261122T005857Z.wav
              door  cam   listening  -20.5 dBFS                      never fired                                   0 clips today  -
              door: 4,800 frames dropped (it fell behind; its clips have gaps)
            """
        #expect(text.hasSuffix("\n" + expected), "\(text)")
        #expect(!StatusCommand.render(Self.status(lookBack: nil, schedule: nil, triggers: [])).contains("triggers:"))
        #expect(!StatusCommand.render(Fixtures.status).contains("triggers:"))
    }

    @Test func statusJSONCarriesTheNewFieldsByTheirDocumentedNames() throws {
        let status = Self.status(
            lookBack: LookBackStatus(seconds: 30, heldSeconds: 30, bytes: 5_760_000, oldest: Self.now - 30),
            schedule: ScheduleStatus(
                windows: ["04:00-09:00"], open: false, window: (Self.now + 3 * 3_600, Self.now + 8 * 3_600)),
            triggers: [Self.bats])
        let text = try GlobalOptions.json(status)
        let object = try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let lookBack = try #require((object["source"] as? [String: Any])?["look_back"] as? [String: Any])
        #expect(lookBack["held_seconds"] as? Double == 30)
        #expect(lookBack["bytes"] as? Int == 5_760_000)
        #expect(lookBack["oldest_utc"] as? String == "2026-11-22T00:59:30.000Z")
        let recording = try #require((object["recordings"] as? [[String: Any]])?.first)
        #expect(recording["state"] as? String == "scheduled_off")
        let schedule = try #require(recording["schedule"] as? [String: Any])
        #expect(schedule["open"] as? Bool == false)
        #expect(schedule["window_start_utc"] as? String == "2026-11-22T04:00:00.000Z")
        #expect(schedule["window_end_utc"] as? String == "2026-11-22T09:00:00.000Z")
        #expect((object["triggers"] as? [[String: Any]])?.first?["name"] as? String == "bats")
    }
}

@Suite struct CueCheckConfigTests {
    @Test func theLookBackAndItsMemory() {
        var configuration = Configuration()
        let text = CheckConfigCommand.summary(of: configuration, path: "a.toml")
        // 30 s of 48 kHz stereo s16: 30 × 48000 × 2 × 2 = 5,760,000 bytes; a minute 11,520,000.
        #expect(text.contains("\nlook-back:   30 s, 5.76 MB of memory (11.5 MB a minute)\n"), "\(text)")
        configuration.source.lookBackSeconds = 0
        #expect(
            CheckConfigCommand.summary(of: configuration, path: "a.toml").contains(
                "\nlook-back:   off (look_back_seconds = 0)\n"))
        // A mono 16 kHz s24 source, 300 s: 300 × 16000 × 3 = 14,400,000 bytes; a minute 2,880,000.
        configuration.source.lookBackSeconds = 300
        configuration.source.sampleRate = 16_000
        configuration.source.channels = 1
        configuration.source.sampleFormat = .s24
        #expect(
            CheckConfigCommand.summary(of: configuration, path: "a.toml").contains(
                "\nlook-back:   300 s, 14.4 MB of memory (2.88 MB a minute)\n"))
    }

    @Test func eachSourceOfSeveralHasItsLookBack() {
        var configuration = Configuration()
        var second = configuration.source
        configuration.source.name = "mic"
        second.name = "hydro"
        second.lookBackSeconds = 0
        configuration.sources.append(second)
        let text = CheckConfigCommand.summary(of: configuration, path: "a.toml")
        // Below each source's name, indented past the longest name ("hydro") and two spaces more.
        #expect(text.contains("\n         look-back: 30 s, 5.76 MB of memory (11.5 MB a minute)\n"), "\(text)")
        #expect(text.contains("\n         look-back: off (look_back_seconds = 0)\n"), "\(text)")
    }

    @Test func triggersWithEveryKey() {
        var configuration = Configuration()
        var bats = TriggerConfiguration(name: "bats", directory: "/srv/clips/bats")
        bats.channels = [1]
        bats.highPassHz = 15_000
        var door = TriggerConfiguration(name: "door-knock", directory: "/srv/clips/door")
        door.thresholdDBFS = -20.5
        door.holdMilliseconds = 0
        door.preSeconds = 1.5
        door.postSeconds = 10
        door.maxSeconds = 120
        door.channels = [1, 2]
        door.format = .flac
        door.flacLevel = 8
        door.filename = "{name}-%H%M%S.flac"
        door.timeZone = .local
        configuration.triggers = [bats, door]
        let text = CheckConfigCommand.summary(of: configuration, path: "a.toml")
        let expected = """
            triggers:    2
              bats        from main, over -30 dBFS for 50 ms on channel 1, after a 15000 Hz high-pass
                          clips from 3 s before to 3 s after, at most 60 s; wav, utc times
                          /srv/clips/bats/%Y-%m-%d/{name}-%Y%m%dT%H%M%SZ.wav
              door-knock  from main, over -20.5 dBFS for 0 ms on channels 1, 2
                          clips from 1.5 s before to 10 s after, at most 120 s; flac level 8, local times
                          /srv/clips/door/{name}-%H%M%S.flac
            """
        #expect(text.contains(expected), "\(text)")
        #expect(CheckConfigCommand.summary(of: Configuration(), path: "a.toml").contains("\ntriggers:    none\n"))
    }

    @Test func aRecordingsSchedule() {
        var configuration = Configuration()
        var night = RecordingConfiguration(name: "night", directory: "/srv/night")
        let schedule = Schedule(text: ["04:00-09:00"])
        night.schedule = schedule
        configuration.recordings = [night]
        // 2026-11-22T01:00:00Z.
        let now = 1_795_309_200.0
        let text = CheckConfigCommand.summary(of: configuration, path: "a.toml", now: now)
        #expect(text.contains("\n         schedule: 04:00-09:00"), "\(text)")
        if schedule.window(atOrAfter: now) != nil {
            // Once the schedule computes windows: the next one opens at 04:00 UTC, three hours on.
            #expect(
                text.contains("schedule: 04:00-09:00; now scheduled off, next window 04:00–09:00 UTC (in 3 h)\n"),
                "\(text)")
        }
    }

    @Test func jsonShowsTheScheduleAsWrittenAndTheLookBackBytes() {
        var configuration = Configuration()
        var night = RecordingConfiguration(name: "night", directory: "/srv/night")
        night.schedule = Schedule(text: ["04:00-09:00", "sunset..sunset+2h"])
        configuration.recordings = [night]
        var bats = TriggerConfiguration(name: "bats", directory: "/srv/clips/bats")
        bats.holdMilliseconds = 20
        configuration.triggers = [bats]
        let object = ConfigurationJSON.object(configuration)
        let recording = (object["recordings"] as? [[String: Any]])?.first
        #expect(recording?["schedule"] as? [String] == ["04:00-09:00", "sunset..sunset+2h"])
        let source = object["source"] as? [String: Any]
        #expect(source?["look_back_seconds"] as? Double == 30)
        #expect(source?["look_back_bytes"] as? Int == 5_760_000)
        let trigger = (object["triggers"] as? [[String: Any]])?.first
        #expect(trigger?["hold_ms"] as? Double == 20)
        #expect(trigger?["threshold_dbfs"] as? Double == -30)
        #expect(trigger?["high_pass_hz"] is NSNull)
        #expect(trigger?["format"] as? String == "wav")
    }
}
