// What the daemon encodes with ControlAPI.encoder() the CLI must decode with ControlAPI.decoder().

import CaptureProtocol
import Foundation
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
