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

    // MARK: - Several sources

    /// A status as a daemon from before several sources sent it: no `sources`, no `name`, no per-source queue.
    static let singleSourceStatus = #"""
        {"version":"0.1.0","pid":812,"uptime_seconds":10,
         "source":{"state":"running","input_format":"alsa","device":"default","sample_rate":48000,"channels":2,
           "sample_format":"s16le","ffmpeg_pid":815,"restarts":0,"frames_captured":480000,
           "seconds_since_last_audio":0.1,"xruns":0,"last_exit":null,"last_error_lines":[],
           "next_start_in_seconds":null},
         "queue":{"chunk_milliseconds":100,"depth_chunks":0,"high_water_chunks":1,"consumers":[]},
         "dropped_frames":0,"levels":null,"disk":null,
         "recordings":[{"name":"night","kind":"continuous","state":"recording","directory":"/srv/audio/night",
           "segment_seconds":60,"align":"clock","filename":"{name}.wav","current_file":null,
           "current_file_seconds":0,"segments_closed":0,"frames_written":0,"bytes_written":0,"dropped_frames":0,"gaps":0,"gap_frames":0,"silence_frames":0,
           "last_error":null,"started_at":1}]}
        """#

    @Test func statusFromASingleSourceDaemonDecodesAsItsOneSource() throws {
        let status = try ControlAPI.decoder().decode(StatusResponse.self, from: Data(Self.singleSourceStatus.utf8))
        #expect(status.source.name == "main")
        #expect(status.sources == [status.source])
        #expect(status.source.queue == nil)
        #expect(status.source.droppedFrames == 0)
        #expect(status.recordings[0].source == nil)
    }

    @Test func severalSourcesRoundTripInSnakeCase() throws {
        var status = Fixtures.status
        var second = status.source
        second.name = "hydro"
        second.device = "rtsp://cam:***@10.0.0.9/audio"
        second.queue = status.queue
        second.droppedFrames = 1_600
        second.levels = LevelsResponse(
            source: "hydro", time: 1, frame: 2, silent: true,
            channels: [.init(peakDBFS: -70, rmsDBFS: -80, clipped: 0, clippedTotal: 0)])
        status.sources = [status.source, second]
        status.recordings[0].source = "hydro"
        #expect(try roundTrip(status) == status)
        let json = String(decoding: try ControlAPI.encoder().encode(status), as: UTF8.self)
        #expect(json.contains(#""sources":[{"#))
        #expect(json.contains(#""name":"hydro""#))
        #expect(json.contains(#""dropped_frames":1600"#))
        #expect(!json.contains("droppedFrames"))
        #expect(!json.contains("inputFormat"))
    }

    @Test func requestsReadingsAndEventsCarryTheirSource() throws {
        let request = StartRecordingRequest(name: "whales", source: "hydro")
        #expect(try roundTrip(request) == request)
        #expect(
            String(decoding: try ControlAPI.encoder().encode(request), as: UTF8.self).contains(#""source":"hydro""#))
        let old = try ControlAPI.decoder().decode(StartRecordingRequest.self, from: Data(#"{"name":"x"}"#.utf8))
        #expect(old.source == nil)
        let event = EventResponse(
            time: 1, level: "info", kind: "ffmpeg.started", message: "ffmpeg started", recording: nil, fields: [:],
            source: "hydro")
        #expect(try roundTrip(event) == event)
        #expect(try roundTrip(Fixtures.event).source == nil)
        let reading = LevelsResponse(
            source: "hydro", time: 1, frame: 2, silent: false,
            channels: [.init(peakDBFS: -3, rmsDBFS: -6, clipped: 0, clippedTotal: 0)])
        #expect(try roundTrip(reading) == reading)
        let oldReading = try ControlAPI.decoder().decode(
            LevelsResponse.self,
            from: Data(
                #"{"time":1,"frame":2,"silent":true,"channels":[{"peak_dbfs":-3,"rms_dbfs":-6,"clipped":1,"clipped_total":5}]}"#
                    .utf8))
        #expect(oldReading.source == nil)
    }
}
