// What the commands print for fixture replies: status, recordings, segments, stop, start, logs.

import CaptureProtocol
import CaptureClient
import Foundation
import TestSupport
import Testing

@testable import CaptureCommands

@Suite struct OutputFormatTests {
    @Test func status() {
        let expected = """
            daemon:   audiocapd 0.1.0, pid 812, up 3 d 4 h
            source:   running  alsa hw:CARD=USB,DEV=0  48000 Hz, 2 channels, s16le  ffmpeg pid 815
                      13,132,800,000 frames (3 d 4 h), last audio 0.1 s ago, 0 xruns, 2 restarts
            levels:   1: peak -12.3 dBFS, RMS -18.4 dBFS
                      2: peak   0.0 dBFS, RMS  -9.5 dBFS, clipped 17 samples (now)
            queue:    depth 1, high-water 7 of 50 chunks of 100 ms (deepest: night)
            dropped:  0 frames
            disk:     1.23 TB free of 2.00 TB at /srv/audio, about 3 d 4 h left
            recordings:
              night  continuous  recording  2026-11-22/010200.wav (3.2 s)  143 segments  0 dropped  0 gaps
            """
        #expect(StatusCommand.render(Fixtures.status) == expected)
    }

    @Test func statusNamesSoundProblems() {
        var status = Fixtures.status
        status.levels?.problems = [.init(kind: "dc_offset", channel: 2, sinceFrame: 0)]
        #expect(
            StatusCommand.render(status).contains(
                "          2: peak   0.0 dBFS, RMS  -9.5 dBFS, clipped 17 samples (now)\n          health: DC offset on ch 2\n"
            ))
    }

    @Test func statusOfAStoppedSourceShowsWhy() {
        var status = Fixtures.status
        status.source.state = "restarting"
        status.source.ffmpegPID = nil
        status.source.secondsSinceLastAudio = 12
        status.source.nextStartInSeconds = 0.5
        status.source.lastErrorLines = ["hw:CARD=USB,DEV=0: No such device"]
        status.levels = nil
        status.disk = nil
        status.droppedFrames = 4_800
        status.queue.consumers[1].droppedFrames = 4_800
        status.recordings = [Fixtures.night, Fixtures.interview]
        let text = StatusCommand.render(status)
        #expect(text.contains("source:   restarting  alsa hw:CARD=USB,DEV=0  48000 Hz, 2 channels, s16le\n"))
        #expect(text.contains("last audio 12 s ago"))
        #expect(text.contains("last exit exited(1), next start in 0.5 s"))
        #expect(text.contains("ffmpeg: hw:CARD=USB,DEV=0: No such device"))
        #expect(text.contains("levels:   no reading yet"))
        #expect(text.contains("dropped:  4,800 frames (night 4,800)"))
        #expect(text.contains("disk:     unknown"))
        #expect(
            text.contains(
                "  interview  on-demand   blocked    -                              2 segments    4,800 dropped  0 gaps"
            ))
        #expect(text.hasSuffix("  interview: no space left on device"))
        #expect(!text.contains("\u{1B}"))
    }

    @Test func statusInColorOnlyWhenStyled() {
        #expect(StatusCommand.render(Fixtures.status, style: Style(enabled: true)).contains("\u{1B}[32mrunning"))
    }

    @Test func recordingsTable() {
        let now = Date(timeIntervalSince1970: 1_795_309_200)
        let expected = """
            NAME       KIND        STATE      SEGMENT  ALIGN    STARTED                                     CURRENT FILE           CLOSED  DROPPED
            night      continuous  recording  1 min    clock    2026-11-21T22:26:40Z                        2026-11-22/010200.wav  143     0
            interview  on-demand   blocked    10 min   samples  2026-11-22T00:40:00Z (stops in 1 h 40 min)  -                      2       4,800
            interview: no space left on device
            """
        #expect(RecordingsCommand.render([Fixtures.night, Fixtures.interview], now: now) == expected)
        #expect(RecordingsCommand.render([], now: now) == "no recordings; `audiocap start NAME` starts one")
    }

    @Test func segmentsTable() {
        let closed = ArchivedFile(
            state: "closed", recording: "night", path: "/srv/audio/night/2026-11-22/010000.wav", sequence: 141,
            firstFrame: 0, frames: 2_880_000, durationSeconds: 60, startTime: 1_795_309_200, endTime: 1_795_309_262,
            timesEstimated: false, peakDBFS: [-3.2, -1.5], rmsDBFS: [-20, -19], droppedFrames: 0, restarts: 0,
            bytes: 11_520_044, gaps: 1, gapSeconds: 2, gapsKnown: true)
        var repaired = closed
        repaired.path = "/srv/audio/night/2026-11-22/010100.wav"
        repaired.gapsKnown = false
        repaired.gaps = 0
        repaired.peakDBFS = []
        repaired.startTime += 70
        repaired.endTime += 70
        let expected = """
            START                 END                   DURATION  FRAMES     SIZE     GAPS       PEAK       PATH
            2026-11-22T01:00:00Z  2026-11-22T01:01:02Z  1 min     2,880,000  11.5 MB  1 (2.0 s)  -1.5 dBFS  /srv/audio/night/2026-11-22/010000.wav
            2026-11-22T01:01:10Z  2026-11-22T01:02:12Z  1 min     2,880,000  11.5 MB  ?          -          /srv/audio/night/2026-11-22/010100.wav
            2 files, 2 min of audio, 23.0 MB on disk
            """
        let listing = ArchiveListing(
            recording: "night", directory: "/srv/audio/night", segments: [closed, repaired], totalBytes: 23_040_200)
        #expect(SegmentsCommand.render(listing) == expected)
        #expect(
            SegmentsCommand.render(ArchiveListing(recording: "night", directory: "/d", segments: [], totalBytes: 0))
                == "night: no files in /d")
    }

    @Test func stopListsTheFiles() {
        var ended = Fixtures.interview
        ended.state = "stopped"
        let reply = StopRecordingResponse(recording: ended, files: [Fixtures.segment, Fixtures.segment])
        let expected = """
            stopped interview: 2 files, 2 min of audio, 4,800 frames dropped
            PATH                                    DURATION  FRAMES
            /srv/audio/night/2026-11-22/010000.wav  1 min     2,880,000
            /srv/audio/night/2026-11-22/010000.wav  1 min     2,880,000
            """
        #expect(StopCommand.render(reply) == expected)
    }

    @Test func startSummary() {
        let now = Date(timeIntervalSince1970: 1_795_308_000)
        let expected = """
            started interview: 10 min files, cut by sample count
              writing to /srv/audio/interview/{name}-{seq}.wav
              stops at 2026-11-22T02:40:00Z (in 2 h)
            """
        #expect(StartCommand.render(Fixtures.interview, now: now) == expected)
        #expect(StartCommand.render(Fixtures.night, now: now).hasSuffix("runs until `audiocap stop night`"))
    }

    @Test func logLine() {
        #expect(
            LogsCommand.render(Fixtures.event)
                == "2026-11-22T01:02:03Z WARNING silence.began recording=night Silence began channel=1 dbfs=-71.2 "
                + "note=\"left mic\"")
        var bare = Fixtures.event
        bare.recording = nil
        bare.fields = [:]
        bare.level = "info"
        #expect(LogsCommand.render(bare) == "2026-11-22T01:02:03Z INFO silence.began Silence began")
    }

    @Test(arguments: [
        (0.0, "0 s"), (0.34, "0.3 s"), (9.96, "10 s"), (42, "42 s"), (725, "12 min 5 s"), (3_600, "1 h"),
        (15_120, "4 h 12 min"), (273_600, "3 d 4 h"), (90_000, "1 d 1 h"), (86_460, "1 d"), (-5, "0 s"),
    ])
    func durations(seconds: Double, text: String) {
        #expect(TextFormat.duration(seconds) == text)
    }

    @Test func sizesAndNumbers() {
        #expect(TextFormat.bytes(512) == "512 B")
        #expect(TextFormat.bytes(1_500) == "1.50 kB")
        #expect(TextFormat.bytes(12_345_678) == "12.3 MB")
        #expect(TextFormat.bytes(999_000_000_000) == "999 GB")
        #expect(TextFormat.grouped(1_234_567) == "1,234,567")
        #expect(TextFormat.grouped(-1_000) == "-1,000")
        #expect(TextFormat.grouped(12) == "12")
        #expect(TextFormat.dBFS(-200) == "-inf")
        #expect(TextFormat.time(1_795_309_323.9) == "2026-11-22T01:02:03Z")
    }
}
