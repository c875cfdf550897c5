// What the daemon encodes with ControlAPI.encoder() the CLI must decode with ControlAPI.decoder().

import CaptureProtocol
import Foundation
import TestSupport
import Testing

@Suite struct ProtocolRoundTripTests {
    private func roundTrip<Value: Codable & Equatable>(_ value: Value) throws -> Value {
        try ControlAPI.decoder().decode(Value.self, from: ControlAPI.encoder().encode(value))
    }

    // `.convertToSnakeCase` writes `peakDBFS` as `peak_dbfs`, but `.convertFromSnakeCase` reads that back as
    // `peakDbfs`, which matches no property; the same for `ffmpegPID`. These pass once CaptureProtocol gives
    // those properties coding keys spelled `peakDbfs`, `rmsDbfs`, `ffmpegPid`.
    @Test func statusRoundTrips() throws {
        #expect(try roundTrip(Fixtures.status) == Fixtures.status)
    }

    @Test func levelsRoundTrip() throws {
        #expect(try roundTrip(Fixtures.status.levels!) == Fixtures.status.levels!)
    }

    @Test func soundHealthRoundTripsInSnakeCase() throws {
        let levels = LevelsResponse(
            time: 1, frame: 48_000, silent: false,
            channels: [
                .init(peakDBFS: -10, rmsDBFS: -13, clipped: 0, clippedTotal: 0),
                .init(
                    peakDBFS: -12, rmsDBFS: -12, clipped: 0, clippedTotal: 0, flatline: true, dcOffset: true,
                    clipping: false, dcOffsetDBFS: -12.04, clippingRate: 0),
            ],
            problems: [
                .init(kind: "flatline", channel: 2, sinceFrame: 0),
                .init(kind: "dc_offset", channel: 2, sinceFrame: 4800),
            ])
        #expect(try roundTrip(levels) == levels)
        let json = String(decoding: try ControlAPI.encoder().encode(levels), as: UTF8.self)
        #expect(json.contains(#""dc_offset":true"#))
        #expect(json.contains(#""dc_offset_dbfs":-12.04"#))
        #expect(json.contains(#""clipping_rate":0"#))
        #expect(json.contains(#"{"channel":2,"kind":"dc_offset","since_frame":4800}"#))
    }

    @Test func levelsFromAnOlderDaemonDecodeWithoutSoundHealth() throws {
        let json =
            #"{"time":1,"frame":2,"silent":true,"channels":[{"peak_dbfs":-3,"rms_dbfs":-6,"clipped":1,"clipped_total":5}]}"#
        let levels = try ControlAPI.decoder().decode(LevelsResponse.self, from: Data(json.utf8))
        #expect(levels.problems.isEmpty)
        #expect(levels.channels == [.init(peakDBFS: -3, rmsDBFS: -6, clipped: 1, clippedTotal: 5)])
    }

    @Test func segmentsRoundTrip() throws {
        let segments = SegmentsResponse(recording: "night", segments: [Fixtures.segment])
        #expect(try roundTrip(segments) == segments)
    }

    @Test func wireNamesAreSnakeCase() throws {
        let json = String(decoding: try ControlAPI.encoder().encode(Fixtures.status), as: UTF8.self)
        #expect(json.contains(#""peak_dbfs":"#))
        #expect(json.contains(#""ffmpeg_pid":815"#))
        #expect(json.contains(#""seconds_since_last_audio":0.1"#))
    }

    @Test func recordingsAndEventsRoundTrip() throws {
        let recordings = RecordingsResponse(recordings: [Fixtures.night, Fixtures.interview])
        #expect(try roundTrip(recordings) == recordings)
        let events = EventsResponse(events: [Fixtures.event])
        #expect(try roundTrip(events) == events)
    }
}
