// The one data format: WireFormat's rules, and sidecars and events checked against docs/*.schema.json.
import CaptureCore
import CaptureProtocol
import Foundation
import Logging
import TestSupport
import Testing

@testable import CaptureDaemon

@Suite struct DataFormatTests {
    let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)

    @Test func numbersAndTimesFollowOneRule() throws {
        #expect(WireFormat.seconds(95_998.0 / 48_000) == 1.999958)
        #expect(WireFormat.number(WireFormat.seconds(95_998.0 / 48_000)) == "1.999958")
        #expect(WireFormat.number(2) == "2")
        #expect(WireFormat.dbfs(-.infinity) == -200)
        #expect(WireFormat.dbfs(.nan) == -200)
        #expect(WireFormat.dbfs(-20.0004) == -20)
        #expect(WireFormat.dbfs(-26.0206) == -26.02)
        #expect(WireFormat.utc(1_795_307_411.1234) == "2026-11-22T00:30:11.123Z")
        #expect(WireFormat.utc(1_795_307_411.9996) == "2026-11-22T00:30:12.000Z")
        #expect(WireFormat.utc(.nan) == "1970-01-01T00:00:00.000Z")
        // The text of a value (log lines, journald) is its JSON text; a list joins with commas.
        let peaks = EventValue.dbfs([-20.0001, -.infinity])
        #expect(peaks.description == "-20,-200")
        #expect(String(decoding: try ControlAPI.encoder().encode(peaks), as: UTF8.self) == "[-20,-200]")
        let duration = EventValue.seconds(95_998.0 / 48_000)
        #expect(String(decoding: try ControlAPI.encoder().encode(duration), as: UTF8.self) == duration.description)
        // events.jsonl and the API: one type, one encoding.
        let event = CaptureEvent(
            time: 1_795_307_411.1234567, level: .info, kind: "segment.closed", message: "m", fields: ["x": peaks])
        let json = String(decoding: try ControlAPI.encoder().encode(event.response), as: UTF8.self)
        #expect(json.contains(#""time":1795307411.123457"#), "\(json)")
        #expect(json.contains(#""time_utc":"2026-11-22T00:30:11.123Z""#), "\(json)")
        let back = try ControlAPI.decoder().decode(EventResponse.self, from: Data(json.utf8))
        #expect(back.fields["x"] == peaks)
    }

    /// A sidecar and the events of a writer fed silence, then the test pattern across a dropped chunk,
    /// checked against the published schemas.
    @Test(.enabled(if: SchemaCheck.isAvailable, "jsonschema is not installed: run `sh scripts/install-test-python.sh`"))
    func writerOutputMatchesTheSchemas() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var recording = RecordingConfiguration(name: "t", directory: dir.path + "/out")
        recording.segmentSeconds = 1
        recording.align = .samples
        recording.filename = "{seq}.wav"
        let store = EventStore(directory: dir.path + "/state")
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }), store: store)
        let writer = SegmentWriter(recording: recording, format: format, events: events, logger: Logger(label: "test"))
        let chunkFrames = 1234
        let pattern = TestPattern.data(channels: 2, frames: 80 * chunkFrames)
        let pool = ChunkPool(chunkBytes: chunkFrames * 4, initialCount: 2)
        for i in 0..<80 where i != 50 {
            let c = try #require(pool.acquire())
            if i < 40 {
                c.bytes.initializeMemory(as: UInt8.self, repeating: 0, count: chunkFrames * 4)
            } else {
                pattern.withUnsafeBytes {
                    c.bytes.copyMemory(from: $0.baseAddress! + i * chunkFrames * 4, byteCount: chunkFrames * 4)
                }
            }
            c.byteCount = chunkFrames * 4
            c.frameCount = chunkFrames
            c.firstFrame = Int64(i * chunkFrames)
            c.startTime = 1_795_307_400.3 + Double(i * chunkFrames) / 48_000
            writer.consume(c)
            c.release()
        }
        writer.finish()
        events.emit(
            .info, "test.durations", "a sample of every value type",
            [
                "a.seconds": .seconds(1.0 / 3), "a.time": .epoch(1_795_307_400.25),
                "a.time_utc": .utc(1_795_307_400.25),
                "a.peak_dbfs": .dbfs([-3, -.infinity]), "a.flag": .bool(true), "a.count": .int(3),
                "a.text": .string("x"),
            ])
        await events.flush()
        let sidecars = try FileManager.default.contentsOfDirectory(atPath: dir.path + "/out").filter {
            $0.hasSuffix(".json")
        }
        .sorted().map { dir.path + "/out/" + $0 }
        #expect(sidecars.count == 3)
        let sidecarCheck = try SchemaCheck.validate(sidecars, against: SchemaCheck.schema("sidecar.schema.json"))
        #expect(sidecarCheck.isValid, "\(sidecarCheck)")
        let eventCheck = try SchemaCheck.validate([store.path], against: SchemaCheck.schema("event.schema.json"))
        #expect(eventCheck.isValid, "\(eventCheck)")
        #expect(eventCheck.documents >= 4)

        // The first file is digital silence: -200, not -inf or a string; its duration is frames / rate.
        let first = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sidecars[0])))
                as? [String: Any])
        let segment = try #require(first["segment"] as? [String: Any])
        #expect(segment["peak_dbfs"] as? [Double] == [-200, -200])
        #expect(segment["duration_seconds"] as? Double == 1)
        #expect(segment["start_time_utc"] as? String == "2026-11-22T00:30:00.300Z")
        let second = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: sidecars[1])))
                as? [String: Any])
        let gaps = try #require((second["segment"] as? [String: Any])?["gaps"] as? [[String: Any]])
        #expect(gaps.count == 1)
        #expect(gaps.first?["time_utc"] is String)
        // The segment.closed event holds the sidecar's values under the same names.
        let closed = try #require(store.load(limit: 100).first { $0.kind == "segment.closed" })
        #expect(closed.fields["segment.peak_dbfs"] == .list([.double(-200), .double(-200)]))
        #expect(closed.fields["segment.start_time_utc"] == .string("2026-11-22T00:30:00.300Z"))
    }

    /// The schemas have teeth: the formats before this change do not pass.
    @Test(.enabled(if: SchemaCheck.isAvailable, "jsonschema is not installed: run `sh scripts/install-test-python.sh`"))
    func theOldFormatsAreRefused() throws {
        let oldEvent =
            #"{"fields":{"segment.peak_dbfs":"-20.00,-inf"},"kind":"segment.closed","level":"info","message":"segment closed","time":1795307400.1}"#
        let events = try SchemaCheck.validate(
            json: Data(oldEvent.utf8), against: SchemaCheck.schema("event.schema.json"))
        #expect(!events.isValid)
        #expect(events.failures.contains { $0.message.contains("time_utc") }, "\(events)")
        #expect(
            events.failures.contains { $0.message.contains("segment.peak_dbfs") || $0.message.contains("-20.00,-inf") },
            "\(events)")
        let oldSidecar = #"""
            {"channels":2,"sample_format":"s16","sample_rate":48000,"start_time_utc":"2026-11-22T00:30:00.300Z",
             "segment":{"recording":"t","path":"/r/1.wav","sequence":1,"first_frame":0,"frames":95998,
             "duration_seconds":1.9999583333333333,"start_time":1795307400.3,"peak_dbfs":["-inf",-20],"rms_dbfs":[-200,-23],
             "dropped_frames":0,"restarts":0,"bytes":383992,"gaps":[],"silence_frames":0}}
            """#
        let sidecar = try SchemaCheck.validate(
            json: Data(oldSidecar.utf8), against: SchemaCheck.schema("sidecar.schema.json"))
        #expect(!sidecar.isValid)
        #expect(sidecar.failures.contains { $0.message.contains("start_time_utc") }, "\(sidecar)")
        #expect(sidecar.failures.contains { $0.message.contains("-inf") }, "\(sidecar)")
    }

    /// Clients and files of before the change keep working: bodies without the `_utc` fields decode, and
    /// an events.jsonl line of the old format is still read back at start.
    @Test func earlierBodiesAndEventLinesStillRead() throws {
        let decoder = ControlAPI.decoder()
        let event = try decoder.decode(
            EventResponse.self, from: Data(#"{"time":1,"level":"info","kind":"a.b","message":"m","fields":{}}"#.utf8))
        #expect(event.timeUTC == nil)
        let segment = try decoder.decode(
            SegmentResponse.self,
            from: Data(
                #"{"recording":"r","path":"/p.wav","sequence":1,"first_frame":0,"frames":1,"duration_seconds":1,"start_time":5,"peak_dbfs":[-200],"rms_dbfs":[-200],"dropped_frames":0,"restarts":0,"bytes":2}"#
                    .utf8))
        #expect(segment.startTimeUTC == nil)
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let old =
            #"{"fields":{"segment.peak_dbfs":"-20.00,-inf","x":-999},"kind":"segment.closed","level":"info","message":"segment closed","recording":"r","time":1795307400.1}"#
        try Data((old + "\n").utf8).write(to: URL(fileURLWithPath: dir.file("events.jsonl")))
        let loaded = EventStore(directory: dir.path).load(limit: 10)
        #expect(loaded.count == 1)
        #expect(loaded.first?.fields["segment.peak_dbfs"] == .string("-20.00,-inf"))
        #expect(loaded.first?.response.timeUTC == "2026-11-22T00:30:00.100Z")
    }

    /// `--for 2s`: exactly 96000 frames, the last chunk cut at the frame, whatever the chunk size.
    @Test(arguments: [1234, 4800, 96_000, 100_000])
    func aDurationEndsAtItsFrame(chunkFrames: Int) throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var recording = RecordingConfiguration(name: "t", directory: dir.path)
        recording.segmentSeconds = 1
        recording.align = .samples
        recording.filename = "{seq}.wav"
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let writer = SegmentWriter(recording: recording, format: format, events: events, logger: Logger(label: "test"))
        writer.stopAfter(frames: 96_000)
        let pool = ChunkPool(chunkBytes: chunkFrames * 4, initialCount: 2)
        let start: Int64 = 777
        for i in 0..<(200_000 / chunkFrames + 1) {
            let c = try #require(pool.acquire())
            c.bytes.initializeMemory(as: UInt8.self, repeating: 1, count: chunkFrames * 4)
            c.byteCount = chunkFrames * 4
            c.frameCount = chunkFrames
            c.firstFrame = start + Int64(i * chunkFrames)
            c.startTime = 1_795_307_400 + Double(i * chunkFrames) / 48_000
            writer.consume(c)
            c.release()
            if Int64((i + 1) * chunkFrames) >= 96_000 { #expect(writer.reachedFrameLimit) }
        }
        #expect(writer.reachedFrameLimit)
        writer.finish()
        let segments = writer.segments()
        #expect(segments.map(\.frames) == [48_000, 48_000])
        #expect(segments.first?.firstFrame == start)
        #expect(writer.status.framesWritten == 96_000)
    }
}
