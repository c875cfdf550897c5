// The record read from disk: the event log decoded leniently, a recording's files listed from their sidecars.
import CaptureClient
import CaptureCore
import Foundation
import TestSupport
import Testing

@Suite struct RecordOnDiskTests {
    @Test("event lines of either format decode: epoch or RFC 3339 time, peaks as strings or arrays, unknown keys")
    func lenientEvents() throws {
        let old =
            #"{"fields":{"segment.peak_dbfs":"-3.0,-4.5","segment.frames":96000},"kind":"segment.closed","level":"info","message":"segment closed","recording":"r","time":1795309200.5}"#
        let new =
            #"{"fields":{"segment.peak_dbfs":[-3.0,-4.5],"segment.start_time":"2026-11-22T01:00:00Z","nested":{"a":1}},"kind":"segment.closed","level":"info","message":"segment closed","recording":"r","time":1795309200.5,"time_utc":"2026-11-22T01:00:00.5Z","future":[1,2]}"#
        let rfc =
            #"{"fields":{},"kind":"daemon.started","level":"info","message":"audiocapd started","time":"2026-11-22T01:00:00.5Z","time_epoch":1795309200.5}"#
        let a = try #require(EventLogFile.decode(Data(old.utf8)))
        let b = try #require(EventLogFile.decode(Data(new.utf8)))
        let c = try #require(EventLogFile.decode(Data(rfc.utf8)))
        #expect(a.event.time == 1_795_309_200.5 && b.event.time == 1_795_309_200.5 && c.event.time == 1_795_309_200.5)
        #expect(a.event.fields["segment.peak_dbfs"]?.description == "-3.0,-4.5")
        #expect(b.event.fields["segment.peak_dbfs"]?.description == "-3,-4.5")
        #expect(a.event.fields["segment.frames"] == .int(96000))
        #expect(c.event.recording == nil && c.event.kind == "daemon.started")
        #expect(EventLogFile.decode(Data("not json".utf8)) == nil)
        #expect(EventLogFile.decode(Data(#"{"time":1}"#.utf8)) == nil)
    }

    @Test("rotated files are read oldest first; filters by time, level, recording and limit")
    func rotatedLog() throws {
        let dir = try TemporaryDirectory(prefix: "audiocap-log")
        func line(_ time: Int, _ level: String, _ recording: String?) -> String {
            let r = recording.map { #","recording":"\#($0)""# } ?? ""
            return #"{"fields":{},"kind":"k\#(time)","level":"\#(level)","message":"m"\#(r),"time":\#(time)}"#
        }
        try (line(1, "info", "a") + "\n" + line(2, "warning", nil) + "\n").write(
            toFile: dir.file("events.jsonl.2"), atomically: true, encoding: .utf8)
        try (line(3, "error", "b") + "\ngarbage\n").write(
            toFile: dir.file("events.jsonl.1"), atomically: true, encoding: .utf8)
        try (line(4, "info", "a") + "\n").write(toFile: dir.file("events.jsonl"), atomically: true, encoding: .utf8)
        #expect(EventLogFile.read(stateDirectory: dir.path).map(\.event.kind) == ["k1", "k2", "k3", "k4"])
        #expect(EventLogFile.read(stateDirectory: dir.path, since: 2).map(\.event.kind) == ["k2", "k3", "k4"])
        #expect(EventLogFile.read(stateDirectory: dir.path, level: "warning").map(\.event.kind) == ["k2", "k3"])
        #expect(EventLogFile.read(stateDirectory: dir.path, recording: "a").map(\.event.kind) == ["k1", "k4"])
        #expect(EventLogFile.read(stateDirectory: dir.path, limit: 2).map(\.event.kind) == ["k3", "k4"])
        #expect(EventLogFile.read(stateDirectory: dir.path + "/missing").isEmpty)
    }

    @Test("every file of a recording is listed: closed with its sidecar, repaired (gaps unknown), partial")
    func listing() throws {
        let dir = try TemporaryDirectory(prefix: "audiocap-archive")
        let template = FilenameTemplate("%Y-%m-%d/{name}-{seq}.wav")
        let format = AudioFormat(sampleRate: 1000, channels: 1, sampleFormat: .s16)
        let header = WAVHeader(format: format)
        func wav(_ relative: String, frames: Int) throws {
            let path = dir.file(relative)
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let data = Data(header.bytes(dataBytes: UInt64(frames * 2)) + [UInt8](repeating: 0, count: frames * 2))
            FileManager.default.createFile(atPath: path, contents: data)
        }
        try wav("2026-11-21/r-000001.wav", frames: 2000)
        try
            #"{"sample_rate":1000,"segment":{"start_time":1795309200,"frames":2000,"duration_seconds":2,"peak_dbfs":[-6.0],"gaps":[{"file_frame":1000,"frames":500,"kind":"xrun"}]}}"#
            .write(toFile: dir.file("2026-11-21/r-000001.wav.json"), atomically: true, encoding: .utf8)
        try wav("2026-11-22/r-000002.wav", frames: 1000)
        try #"{"gaps_known":false,"sample_rate":1000,"segment":{"start_time":1795309300,"frames":1000,"gaps":[]}}"#
            .write(toFile: dir.file("2026-11-22/r-000002.wav.json"), atomically: true, encoding: .utf8)
        try wav("2026-11-22/r-000003.wav.partial", frames: 300)
        try wav("2026-11-22/other-000009.wav", frames: 10)
        let listing = RecordingArchive.list(name: "r", directory: dir.path, template: template)
        #expect(listing.segments.map(\.sequence) == [1, 2, 3], "\(listing)")
        let first = listing.segments[0]
        #expect(first.frames == 2000 && first.gaps == 1 && first.gapsKnown && first.endTime == 1_795_309_202.5)
        #expect(first.peakDBFS == [-6.0])
        #expect(!listing.segments[1].gapsKnown && listing.segments[1].state == "closed")
        #expect(
            listing.segments[2].state == "partial" && listing.segments[2].frames == 300
                && listing.segments[2].timesEstimated)
        #expect(listing.totalBytes > 3300 * 2)
        #expect(
            RecordingArchive.list(name: "r", directory: dir.path, template: template, since: 1_795_309_250).segments
                .count == 2)
    }
}
