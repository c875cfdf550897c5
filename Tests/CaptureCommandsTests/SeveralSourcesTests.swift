// What the commands print and send when audiocapd has several sources, and that one source looks as before.

import CaptureCore
import CaptureProtocol
import Foundation
import TestSupport
import Testing

@testable import CaptureCommands

@Suite struct SeveralSourcesTests {
    /// A mono hydrophone on a network stream whose URL carries a password (masked, as the daemon sends it).
    static let hydrophone = SourceStatus(
        name: "hydro", state: "restarting", inputFormat: "rtsp", device: "rtsp://cam:***@10.0.0.9/audio",
        sampleRate: 16_000, channels: 1, sampleFormat: "s16le", ffmpegPID: nil, restarts: 4, framesCaptured: 160_000,
        secondsSinceLastAudio: 7, xruns: 0, lastExit: "exited(1)", lastErrorLines: ["Connection refused"],
        nextStartInSeconds: 2,
        queue: QueueStatus(
            chunkMilliseconds: 100, depthChunks: 0, highWaterChunks: 3,
            consumers: [
                .init(name: "levels", depthChunks: 0, highWaterChunks: 1, capacityChunks: 50, droppedFrames: 0),
                .init(name: "whales", depthChunks: 0, highWaterChunks: 3, capacityChunks: 50, droppedFrames: 1_600),
            ]),
        droppedFrames: 1_600,
        levels: LevelsResponse(
            source: "hydro", time: 1_795_309_323.2, frame: 160_000, silent: true,
            channels: [.init(peakDBFS: -70, rmsDBFS: -80, clipped: 0, clippedTotal: 0)]))

    /// `Fixtures.status` with a second source, `hydro`, and a recording of it.
    static var twoSources: StatusResponse {
        var status = Fixtures.status
        var mic = status.source
        mic.name = "mic"
        mic.queue = status.queue
        mic.levels = status.levels
        mic.levels?.source = "mic"
        status.source = mic
        status.sources = [mic, hydrophone]
        var night = Fixtures.night
        night.source = "mic"
        var whales = Fixtures.interview
        whales.name = "whales"
        whales.source = "hydro"
        whales.gaps = 1
        whales.gapFrames = 8_000
        status.recordings = [night, whales]
        return status
    }

    @Test func oneSourceLooksAsBefore() {
        var status = Fixtures.status
        status.source.name = "main"
        status.sources = [status.source]
        status.recordings[0].source = "main"
        #expect(StatusCommand.render(status) == StatusCommand.render(Fixtures.status))
        #expect(!StatusCommand.render(status).contains("main"))
    }

    @Test func statusShowsOneBlockPerSource() {
        let text = StatusCommand.render(Self.twoSources)
        let expected = """
            daemon:   audiocapd 0.1.0, pid 812, up 3 d 4 h
            source:   mic  running  alsa hw:CARD=USB,DEV=0  48000 Hz, 2 channels, s16le  ffmpeg pid 815
                      13,132,800,000 frames (3 d 4 h), last audio 0.1 s ago, 0 xruns, 2 restarts
            levels:   1: peak -12.3 dBFS, RMS -18.4 dBFS
                      2: peak   0.0 dBFS, RMS  -9.5 dBFS, clipped 17 samples (now)
            queue:    depth 1, high-water 7 of 50 chunks of 100 ms (deepest: night)
            dropped:  0 frames
            source:   hydro  restarting  rtsp rtsp://cam:***@10.0.0.9/audio  16000 Hz, 1 channel, s16le
                      160,000 frames (10 s), last audio 7.0 s ago, 0 xruns, 4 restarts
                      last exit exited(1), next start in 2.0 s
                      ffmpeg: Connection refused
            levels:   1: peak -70.0 dBFS, RMS -80.0 dBFS
                      silent
            queue:    depth 0, high-water 3 of 50 chunks of 100 ms (deepest: whales)
            dropped:  1,600 frames (whales 1,600)
            disk:     1.23 TB free of 2.00 TB at /srv/audio, about 3 d 4 h left
            recordings:
              night   mic    continuous  recording  2026-11-22/010200.wav (3.2 s)  143 segments  0 dropped      0 gaps
              whales  hydro  on-demand   blocked    -                              2 segments    4,800 dropped  1 gap (0.5 s)
              whales: no space left on device
            """
        #expect(text == expected)
    }

    @Test func statusMasksAPasswordADaemonLeftIn() {
        var status = Self.twoSources
        status.sources[1].device = "rtsp://cam:hunter2@10.0.0.9/audio"
        let text = StatusCommand.render(status)
        #expect(!text.contains("hunter2"))
        #expect(text.contains("rtsp rtsp://cam:***@10.0.0.9/audio  16000 Hz"))
    }

    @Test func recordingsTableHasASourceColumnWhenNeeded() {
        let now = Date(timeIntervalSince1970: 1_795_309_200)
        let recordings = Self.twoSources.recordings
        let text = RecordingsCommand.render(recordings, now: now)
        #expect(text.hasPrefix("NAME    SOURCE  KIND"))
        #expect(text.contains("\nwhales  hydro   on-demand"))
        var main = [Fixtures.night]
        main[0].source = "main"
        #expect(!RecordingsCommand.render(main, now: now).contains("SOURCE"))
    }

    @Test func levelsRowsAreLabelledBySource() {
        let status = Self.twoSources
        let text = LevelsCommand.render(status.sources.map { ($0.name, $0.levels) })
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == "levels at 2026-11-22T01:02:03.4Z")
        #expect(lines[1].hasPrefix("mic   1 ["))
        #expect(lines[2].hasPrefix("mic   2 ["))
        #expect(lines[3].hasPrefix("hydro 1 ["))
        #expect(lines[3].hasSuffix("-70.0 peak -80.0 rms dBFS"))
        #expect(lines[4].hasPrefix("         -60"))  // the scale, under the bars
        #expect(lines[5] == "hydro: silent")
        #expect(lines.count == 6)
        // A source without audio yet says so on its own row.
        let waiting = LevelsCommand.render([("mic", status.sources[0].levels), ("hydro", nil)])
        #expect(waiting.contains("\nhydro   no audio yet\n"))
        // One source: channels numbered as before, no name.
        #expect(LevelsCommand.render(status.sources[0].levels!).contains("\n1 ["))
    }

    @Test func followScreenKeepsOneGroupPerSource() {
        var screen = MeterScreen(meter: MeterLine(width: 12), sources: ["mic", "hydro"])
        var mic = Fixtures.status.levels!
        mic.source = "mic"
        let first = screen.frame(mic)
        #expect(first.contains("mic   1 ["))
        #expect(!first.contains("hydro"))
        let second = screen.frame(Self.hydrophone.levels!)
        #expect(second.hasPrefix("\u{1B}[4F"))  // the first frame had 4 lines: header, 2 channels, scale
        let lines = second.split(separator: "\n").map { $0.replacingOccurrences(of: "\u{1B}[2K", with: "") }
        #expect(lines.count == 7)  // header, mic 1, mic 2, hydro 1, scale, "hydro: silent", then ESC[J
        #expect(lines[0].hasSuffix("audiocapd levels  01:02:03.2 UTC  (Ctrl-C to quit)"))
        #expect(lines[1].hasPrefix("mic   1 ["))
        #expect(lines[3].hasPrefix("hydro 1 ["))
        #expect(lines[4].hasPrefix("         -60"))
        #expect(lines[5] == "hydro: silent")
        #expect(
            MeterScreen.plainLine(Self.hydrophone.levels!, source: "hydro")
                == "2026-11-22T01:02:03.2Z  hydro  1: peak -70.0 rms -80.0  silent")
    }

    @Test func startSendsTheSource() throws {
        let command = try StartCommand.parseAsRoot(["whales", "--source", "hydro", "--for", "30m"]) as? StartCommand
        let request = try #require(command?.request)
        #expect(request.source == "hydro")
        let json = String(decoding: try ControlAPI.encoder().encode(request), as: UTF8.self)
        #expect(json.contains(#""source":"hydro""#))
        #expect(json.contains(#""duration_seconds":1800"#))
        let plain = try StartCommand.parseAsRoot(["whales"]) as? StartCommand
        #expect(plain?.request.source == nil)
        #expect(!String(decoding: try ControlAPI.encoder().encode(plain!.request), as: UTF8.self).contains("source"))
        #expect(throws: (any Error).self) { try StartCommand.parseAsRoot(["whales", "--source", "a b"]) }
        #expect(StartCommand.helpMessage().contains("--source <name>"))
        var whales = Fixtures.interview
        whales.source = "hydro"
        #expect(StartCommand.render(whales, now: Date()).hasPrefix("started interview from hydro: 10 min files"))
    }

    @Test func levelsTakesASource() throws {
        let command = try LevelsCommand.parseAsRoot(["--source", "hydro", "--follow"]) as? LevelsCommand
        #expect(command?.source == "hydro")
        #expect(throws: (any Error).self) { try LevelsCommand.parseAsRoot(["--source", ""]) }
    }

    @Test func reloadNamesTheSourcesItTouched() {
        let reply = ReloadResponse(
            configPath: "/a.toml", reloaded: true, started: ["whales"], sourcesStarted: ["hydro"],
            sourcesStopped: ["old"], sourcesRestarted: ["mic"])
        #expect(
            ReloadCommand.render(reply) == """
                reloaded /a.toml
                  sources started: hydro
                  sources stopped: old
                  sources restarted with new settings: mic
                  started: whales
                """)
    }

    @Test func logLineNamesTheSource() {
        var event = Fixtures.event
        event.source = "hydro"
        #expect(
            LogsCommand.render(event).hasPrefix(
                "2026-11-22T01:02:03Z WARNING silence.began source=hydro recording=night"))
    }

    @Test func checkConfigShowsEachSourceWithItsPasswordMasked() {
        var configuration = Configuration()
        var mic = SourceConfiguration(name: "mic")
        mic.device = "plug:mysnoop"
        var cam = SourceConfiguration(name: "cam")
        cam.inputFormat = "rtsp"
        cam.device = "rtsp://admin:hunter2@192.168.1.20:554/stream1"
        cam.sampleRate = 16_000
        cam.channels = 1
        configuration.sources = [mic, cam]
        var night = RecordingConfiguration(name: "night", directory: "/srv/audio/night")
        night.source = "mic"
        var door = RecordingConfiguration(name: "door", directory: "/srv/audio/door")
        door.source = "cam"
        configuration.recordings = [night, door]
        let text = CheckConfigCommand.summary(of: configuration, path: "a.toml")
        #expect(!text.contains("hunter2"))
        #expect(text.contains("sources:     2\n"))
        #expect(text.contains("\n  mic  alsa \"plug:mysnoop\" via ffmpeg\n"))
        #expect(text.contains("\n  cam  rtsp \"rtsp://admin:***@192.168.1.20:554/stream1\" via ffmpeg\n"))
        #expect(text.contains("       16000 Hz, 1 channel, s16 (32000 bytes/s)"))
        #expect(text.contains(", from mic\n"))
        #expect(text.contains(", from cam\n"))
        let document = ConfigurationJSON.text(ConfigurationJSON.object(configuration))
        #expect(!document.contains("hunter2"))
        let sources = ConfigurationJSON.object(configuration)["sources"] as? [[String: Any]]
        #expect(sources?.map { $0["name"] as? String } == ["mic", "cam"])
        #expect(sources?[1]["chunk_frames"] as? Int == 1_600)
        // One source: as before, without a name.
        let one = CheckConfigCommand.summary(of: Configuration(), path: "a.toml")
        #expect(one.contains("\nsource:      alsa \"default\" via ffmpeg"))
        #expect(!one.contains("from main"))
    }
}
