// The control API's harness in-process against a fake service: every route, every status and JSON error body.
import CaptureCore
import CaptureProtocol
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@testable import CaptureDaemon

/// A ``ControlService`` whose answers the test sets, and which records what the routes asked of it.
final class FakeControlService: ControlService {
    struct State {
        var levels: LevelsResponse?
        /// The sources after the first, with their readings.
        var otherSources: [(name: String, levels: LevelsResponse?)] = []
        var recordings: [RecordingResponse] = []
        var startResult: Result<RecordingResponse, RecordingError> = .success(Fixture.recording)
        var stopResult: Result<StopRecordingResponse, RecordingError> = .success(
            StopRecordingResponse(recording: Fixture.recording, files: [Fixture.segment]))
        var segmentsResult: Result<[SegmentResponse], RecordingError> = .success([Fixture.segment])
        var reloadResult: AudioCapDaemon.ReloadResult?
        var uploads = UploadsResponse(station: "station-1", destinations: [], webhooks: [])
        var started: [OnDemandRequest] = []
        var stopped: [String] = []
        var segmentQueries: [(name: String, since: Double?)] = []
        var clips: [ClipRequest] = []
    }

    let state = Mutex(State())
    let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))

    func set(_ change: (inout State) -> Void) { state.withLock { change(&$0) } }
    var recorded: State { state.withLock { $0 } }

    func statusResponse() async -> StatusResponse { Fixture.status }
    func uploadsResponse() async -> UploadsResponse { state.withLock { $0.uploads } }
    func sourceNames() -> [String] { ["main"] + state.withLock { $0.otherSources.map(\.name) } }
    func levelsResponse(source: String?) -> LevelsResponse? {
        state.withLock { state in
            guard let source, source != "main" else { return state.levels }
            return state.otherSources.first { $0.name == source }?.levels
        }
    }
    func runningRecordings() async -> [RecordingResponse] { state.withLock { $0.recordings } }

    func startRecording(_ request: OnDemandRequest) async throws(RecordingError) -> RecordingResponse {
        try state.withLock { state in
            state.started.append(request)
            return state.startResult
        }.get()
    }

    func stopRecording(named name: String) async throws(RecordingError) -> StopRecordingResponse {
        try state.withLock { state in
            state.stopped.append(name)
            return state.stopResult
        }.get()
    }

    func segments(of name: String, since: Double?) async throws(RecordingError) -> [SegmentResponse] {
        try state.withLock { state in
            state.segmentQueries.append((name, since))
            return state.segmentsResult
        }.get()
    }

    func reload() async -> AudioCapDaemon.ReloadResult? { state.withLock { $0.reloadResult } }
    func clip(_ request: ClipRequest, format: RecordingFormat?) async throws(RecordingError) -> ClipResponse {
        state.withLock { $0.clips.append(request) }
        guard request.fromSeconds > -100 else {
            throw RecordingError(.conflict, recording: request.name, "no look-back audio that old in the fake")
        }
        return ClipResponse(
            name: request.name, source: "main", path: "/r/\(request.name)/c.wav", frames: 48_000, sampleRate: 48_000,
            firstFrame: 7, startTime: 1_800_000_000, fromSeconds: request.fromSeconds,
            toSeconds: request.toSeconds ?? 0, gaps: 0, gapFrames: 0, message: nil)
    }
    func triggersResponse() async -> TriggersResponse { TriggersResponse(triggers: []) }
}

/// Values the fake answers with.
enum Fixture {
    static let recording = RecordingResponse(
        name: "interview", kind: "on-demand", state: "recording", directory: "/srv/audio/interview", segmentSeconds: 60,
        align: "clock", filename: "{seq}.wav", currentFile: "/srv/audio/interview/1.wav", currentFileSeconds: 1.5,
        segmentsClosed: 0, framesWritten: 72_000, bytesWritten: 288_000, droppedFrames: 0, lastError: nil,
        startedAt: 1_700_000_000, stopsAt: nil)
    static let segment = SegmentResponse(
        recording: "interview", path: "/srv/audio/interview/1.wav", sequence: 1, firstFrame: 0, frames: 48_000,
        durationSeconds: 1, startTime: 1_700_000_000, peakDBFS: [-6], rmsDBFS: [-20], droppedFrames: 0, restarts: 0,
        bytes: 192_044)
    static let levels = LevelsResponse(
        source: "main", time: 1_700_000_000, frame: 4800, silent: false,
        channels: [LevelsResponse.Channel(peakDBFS: -6, rmsDBFS: -20, clipped: 0, clippedTotal: 0)])
    static let status = StatusResponse(
        version: "test", pid: 42, uptimeSeconds: 3,
        source: SourceStatus(
            state: "running", inputFormat: "lavfi", device: "sine", sampleRate: 48_000, channels: 1,
            sampleFormat: "s16le", ffmpegPID: 43, restarts: 0, framesCaptured: 96_000, secondsSinceLastAudio: 0.1,
            xruns: 0, lastExit: nil, lastErrorLines: [], nextStartInSeconds: nil),
        queue: QueueStatus(chunkMilliseconds: 100, depthChunks: 0, highWaterChunks: 1, consumers: []),
        droppedFrames: 0, levels: nil, disk: nil, recordings: [recording])
}

@Suite struct ControlRoutesTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Runs `test` with a client of the control API's router (middleware included) over `service`.
    func withClient(
        _ service: FakeControlService, followStreams: FollowStreams = FollowStreams(),
        _ test: @escaping @Sendable (any TestClientProtocol) async throws -> Void
    ) async throws {
        let router = ControlRoutes.router(service: service, logger: Self.logger, followStreams: followStreams)
        try await Application(router: router, logger: Self.logger).test(.router) { client in try await test(client) }
    }

    static func decode<T: Decodable>(_ type: T.Type, _ response: TestResponse) throws -> T {
        try ControlAPI.decoder().decode(type, from: Data(buffer: response.body))
    }

    /// Checks a JSON error reply: status, content type, the body's status and message, and the body's exact bytes.
    static func expectError(
        _ response: TestResponse, _ status: Int, _ message: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        #expect(response.status.code == status, "\(String(buffer: response.body))", sourceLocation: sourceLocation)
        #expect(response.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
        let body = try decode(ErrorResponse.self, response)
        #expect(body.error.status == status, sourceLocation: sourceLocation)
        if let message {
            #expect(body.error.message == message, sourceLocation: sourceLocation)
            let exact = try ControlAPI.encoder().encode(ErrorResponse(status: status, message: message)) + [0x0A]
            #expect(
                String(buffer: response.body) == String(decoding: exact, as: UTF8.self), sourceLocation: sourceLocation)
        } else {
            #expect(!body.error.message.isEmpty, sourceLocation: sourceLocation)
        }
    }

    static func body(_ json: String) -> ByteBuffer { ByteBuffer(string: json) }

    // MARK: - Routes

    @Test func clipsAreCreatedAndTheirRefusalsMapped() async throws {
        let service = FakeControlService()
        try await withClient(service) { client in
            try await client.execute(
                uri: "/v1/clips", method: .post, body: Self.body(#"{"name":"owl","from_seconds":-20,"to_seconds":-5}"#)
            ) { response in
                #expect(response.status == .ok)
                let clip = try Self.decode(ClipResponse.self, response)
                #expect(clip.path == "/r/owl/c.wav")
                #expect(clip.fromSeconds == -20)
                #expect(clip.toSeconds == -5)
            }
            try await client.execute(
                uri: "/v1/clips", method: .post, body: Self.body(#"{"name":"owl","from_seconds":-200}"#)
            ) { response in
                try Self.expectError(response, 409, "no look-back audio that old in the fake")
            }
            try await client.execute(
                uri: "/v1/clips", method: .post, body: Self.body(#"{"name":"owl","from":-2}"#)
            ) { response in
                try Self.expectError(response, 400)
                #expect(String(buffer: response.body).contains("from_seconds"))
            }
            try await client.execute(
                uri: "/v1/clips", method: .post,
                body: Self.body(#"{"name":"owl","from_seconds":-2,"format":"mp3"}"#)
            ) { response in
                try Self.expectError(response, 400, "format must be \"wav\" or \"flac\", got \"mp3\"")
            }
            try await client.execute(uri: "/v1/triggers", method: .get) { response in
                #expect(response.status == .ok)
                let triggers = try Self.decode(TriggersResponse.self, response)
                #expect(triggers.triggers.isEmpty)
            }
        }
        #expect(service.recorded.clips.map(\.fromSeconds) == [-20, -200])
    }

    @Test func statusIsTheServicesStatus() async throws {
        try await withClient(FakeControlService()) { client in
            try await client.execute(uri: "/v1/status", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                let status = try Self.decode(StatusResponse.self, response)
                #expect(status == Fixture.status)
                #expect(String(buffer: response.body).hasSuffix("}\n"))
            }
        }
    }

    @Test func recordingsListsTheRunningOnes() async throws {
        let service = FakeControlService()
        service.set { $0.recordings = [Fixture.recording] }
        try await withClient(service) { client in
            try await client.execute(uri: "/v1/recordings", method: .get) { response in
                #expect(response.status == .ok)
                let recordings = try Self.decode(RecordingsResponse.self, response).recordings
                #expect(recordings == [Fixture.recording])
            }
        }
    }

    @Test func startDecodesTheBodyIntoADomainRequestAndAnswers201() async throws {
        let service = FakeControlService()
        try await withClient(service) { client in
            let json = """
                {"name":"interview","segment_seconds":60,"filename":"{seq}.wav","duration_seconds":2.5,\
                "directory":"talks","align":"samples","format":"flac"}
                """
            try await client.execute(uri: "/v1/recordings", method: .post, body: Self.body(json)) { response in
                #expect(response.status == .created)
                let recording = try Self.decode(RecordingResponse.self, response)
                #expect(recording == Fixture.recording)
            }
            try await client.execute(uri: "/v1/recordings", method: .post, body: Self.body(#"{"name":"bare"}"#)) {
                response in
                #expect(response.status == .created)
            }
        }
        #expect(
            service.recorded.started == [
                OnDemandRequest(
                    name: "interview", segmentSeconds: 60, filename: "{seq}.wav", durationSeconds: 2.5,
                    directory: "talks",
                    align: .samples, format: .flac),
                OnDemandRequest(name: "bare"),
            ])
    }

    @Test func stopAnswersTheRecordingAndItsFiles() async throws {
        let service = FakeControlService()
        try await withClient(service) { client in
            try await client.execute(uri: "/v1/recordings/interview", method: .delete) { response in
                #expect(response.status == .ok)
                let reply = try Self.decode(StopRecordingResponse.self, response)
                #expect(reply.recording == Fixture.recording)
                #expect(reply.files == [Fixture.segment])
            }
        }
        #expect(service.recorded.stopped == ["interview"])
    }

    @Test func segmentsAnswersWithTheNameAndPassesSince() async throws {
        let service = FakeControlService()
        try await withClient(service) { client in
            try await client.execute(uri: "/v1/recordings/interview/segments?since=1700000000.5", method: .get) {
                response in
                #expect(response.status == .ok)
                let reply = try Self.decode(SegmentsResponse.self, response)
                #expect(reply.recording == "interview")
                #expect(reply.segments == [Fixture.segment])
            }
            try await client.execute(uri: "/v1/recordings/interview/segments", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
        let queries = service.recorded.segmentQueries
        #expect(queries.map(\.name) == ["interview", "interview"])
        #expect(queries.map(\.since) == [1_700_000_000.5, nil])
    }

    @Test func levelsAnswersTheNewestReadingOr503BeforeAudio() async throws {
        let service = FakeControlService()
        try await withClient(service) { client in
            try await client.execute(uri: "/v1/levels", method: .get) { response in
                try Self.expectError(
                    response, 503, "no audio yet: levels appear once ffmpeg delivers audio (see `audiocap status`)")
            }
            service.set { $0.levels = Fixture.levels }
            try await client.execute(uri: "/v1/levels", method: .get) { response in
                #expect(response.status == .ok)
                let levels = try Self.decode(LevelsResponse.self, response)
                #expect(levels == Fixture.levels)
            }
        }
    }

    @Test func levelsOfOneSourceByNameAnd404ForAnUnknownOne() async throws {
        let service = FakeControlService()
        let hydrophone = {
            var levels = Fixture.levels
            levels.source = "hydrophone"
            levels.frame = 9600
            return levels
        }()
        service.set {
            $0.levels = Fixture.levels
            $0.otherSources = [("hydrophone", hydrophone)]
        }
        try await withClient(service) { client in
            try await client.execute(uri: "/v1/levels?source=hydrophone", method: .get) { response in
                #expect(response.status == .ok)
                let levels = try Self.decode(LevelsResponse.self, response)
                #expect(levels == hydrophone)
            }
            try await client.execute(uri: "/v1/levels?source=nope", method: .get) { response in
                try Self.expectError(response, 404, "no source named \"nope\"; the sources are main, hydrophone")
            }
            try await client.execute(uri: "/v1/levels?follow=1&source=nope", method: .get) { response in
                try Self.expectError(response, 404, "no source named \"nope\"; the sources are main, hydrophone")
            }
        }
        // Following without a source streams every source's readings, each line naming its source.
        let stream = try await followLines(service, "/v1/levels?follow=1&interval_ms=20", count: 2)
        let lines = try stream.lines.map { try ControlAPI.decoder().decode(LevelsResponse.self, from: Data($0.utf8)) }
        #expect(lines == [Fixture.levels, hydrophone])
        let one = try await followLines(service, "/v1/levels?follow=1&interval_ms=20&source=hydrophone", count: 1)
        #expect(
            try one.lines.map { try ControlAPI.decoder().decode(LevelsResponse.self, from: Data($0.utf8)) } == [
                hydrophone
            ])
    }

    @Test func eventsFiltersTheRecentWindow() async throws {
        let service = FakeControlService()
        service.events.emit(CaptureEvent(time: 100, level: .info, kind: "a.one", message: "one"))
        service.events.emit(CaptureEvent(time: 200, level: .warning, kind: "b.two", message: "two", recording: "night"))
        service.events.emit(CaptureEvent(time: 300, level: .error, kind: "c.three", message: "three"))
        service.events.forSource("roof").emit(CaptureEvent(time: 400, level: .info, kind: "d.four", message: "four"))
        try await withClient(service) { client in
            func kinds(_ query: String) async throws -> [String] {
                try await client.execute(uri: "/v1/events" + query, method: .get) { response in
                    #expect(response.status == .ok)
                    return try Self.decode(EventsResponse.self, response).events.map(\.kind)
                }
            }
            let all = try await kinds("")
            #expect(all == ["a.one", "b.two", "c.three", "d.four"])
            let warnings = try await kinds("?level=warning")
            #expect(warnings == ["b.two", "c.three"])
            let later = try await kinds("?since=150")
            #expect(later == ["b.two", "c.three", "d.four"])
            let newest = try await kinds("?limit=1")
            #expect(newest == ["d.four"])
            let night = try await kinds("?recording=night")
            #expect(night == ["b.two"])
            let roof = try await kinds("?source=roof")
            #expect(roof == ["d.four"])
            let gone = try await kinds("?source=removed-by-a-reload")
            #expect(gone.isEmpty)
        }
    }

    @Test func reloadAnswersWhatItDidOr409WithoutAConfigurationFile() async throws {
        let service = FakeControlService()
        try await withClient(service) { client in
            try await client.execute(uri: "/v1/reload", method: .post) { response in
                try Self.expectError(
                    response, 409,
                    "audiocapd runs without a configuration file, so there is nothing to reload; start it with --config FILE"
                )
            }
            service.set {
                $0.reloadResult = AudioCapDaemon.ReloadResult(
                    configPath: "/etc/audiocap.toml", started: ["new"], stopped: ["old"], restarted: ["changed"],
                    restartNeededFor: ["source"])
            }
            try await client.execute(uri: "/v1/reload", method: .post) { response in
                #expect(response.status == .ok)
                let reply = try Self.decode(ReloadResponse.self, response)
                #expect(reply.configPath == "/etc/audiocap.toml")
                #expect(reply.reloaded)
                #expect(reply.started == ["new"] && reply.stopped == ["old"] && reply.restarted == ["changed"])
                #expect(reply.restartNeeded && reply.restartNeededFor == ["source"])
                #expect(reply.errors == [])
            }
            service.set {
                $0.reloadResult = AudioCapDaemon.ReloadResult(configPath: "/etc/audiocap.toml", errors: ["line 3: bad"])
            }
            try await client.execute(uri: "/v1/reload", method: .post) { response in
                #expect(response.status == .ok)
                let reply = try Self.decode(ReloadResponse.self, response)
                #expect(!reply.reloaded && reply.errors == ["line 3: bad"] && !reply.restartNeeded)
            }
        }
    }

    // MARK: - The service's refusals

    @Test(arguments: [
        (RecordingError.Code.invalid, 400), (.notFound, 404), (.conflict, 409), (.limit, 409),
    ])
    func eachRefusalOfTheServiceMapsToItsStatusWithItsMessage(code: RecordingError.Code, status: Int) async throws {
        let error = RecordingError(code, recording: "interview", "refused (\(code)); do something else")
        let service = FakeControlService()
        service.set {
            $0.startResult = .failure(error)
            $0.stopResult = .failure(error)
            $0.segmentsResult = .failure(error)
        }
        try await withClient(service) { client in
            try await client.execute(uri: "/v1/recordings", method: .post, body: Self.body(#"{"name":"interview"}"#)) {
                try Self.expectError($0, status, error.message)
            }
            try await client.execute(uri: "/v1/recordings/interview", method: .delete) {
                try Self.expectError($0, status, error.message)
            }
            try await client.execute(uri: "/v1/recordings/interview/segments", method: .get) {
                try Self.expectError($0, status, error.message)
            }
        }
    }

    @Test func theRealControllersRefusalsKeepTheirStatusesAndMessages() {
        let invalid = InputError(code: .invalidName, field: "name", value: "\"a/b\"", message: "must be …")
        #expect(
            ControlError(RecordingError.invalid(invalid, recording: "a/b", hint: "use a name like `interview-2`"))
                .message
                == "name \"a/b\" must be …; use a name like `interview-2`")
        #expect(ControlError(RecordingError.invalid(invalid, recording: "a/b")).status == 400)
        #expect(ControlError.status(for: .invalid) == 400)
        #expect(ControlError.status(for: .notFound) == 404)
        #expect(ControlError.status(for: .conflict) == 409)
        #expect(ControlError.status(for: .limit) == 409)
    }

    // MARK: - The harness's own refusals

    @Test(arguments: [
        (#"not json"#, "invalid request body: not valid JSON"),
        (#"{"segment_seconds":60}"#, "invalid request body: field `name` is required"),
        (
            #"{"name":"a","segment_seconds":"60"}"#,
            "invalid request body: field `segmentSeconds` has the wrong type (expected Int)"
        ),  // the coding path as today
        (#"{"name":null}"#, "invalid request body: field `name` is null"),
        (#"{"name":"a","align":"beat"}"#, #"align must be "clock" or "samples", got "beat""#),
        (#"{"name":"a","format":"mp3"}"#, #"format must be "wav" or "flac", got "mp3""#),
    ])
    func aBadStartBodyIs400AndNeverReachesTheService(body: String, message: String) async throws {
        let service = FakeControlService()
        try await withClient(service) { client in
            try await client.execute(uri: "/v1/recordings", method: .post, body: Self.body(body)) {
                try Self.expectError($0, 400, message)
            }
        }
        #expect(service.recorded.started.isEmpty)
    }

    @Test func anUnknownFieldIs400NamingTheAllowedOnes() async throws {
        try await withClient(FakeControlService()) { client in
            try await client.execute(uri: "/v1/recordings", method: .post, body: Self.body(#"{"name":"a","colour":1}"#))
            {
                try Self.expectError($0, 400)
                let message = try Self.decode(ErrorResponse.self, $0).error.message
                #expect(message.hasPrefix("invalid request body: unknown field `colour`"), "\(message)")
            }
        }
    }

    @Test func aBodyLargerThanTheLimitIs413() async throws {
        let big = ByteBuffer(repeating: UInt8(ascii: " "), count: ControlAPI.maximumBodyBytes + 1)
        try await withClient(FakeControlService()) { client in
            try await client.execute(uri: "/v1/recordings", method: .post, body: big) {
                try Self.expectError($0, 413, "request body is larger than \(ControlAPI.maximumBodyBytes) bytes")
            }
        }
    }

    @Test(arguments: [
        ("/v1/recordings/..", HTTPRequest.Method.delete), ("/v1/recordings/a%20b", .delete),
        ("/v1/recordings/..%2Fetc/segments", .get),
    ])
    func aBadNameInThePathIs400(uri: String, method: HTTPRequest.Method) async throws {
        let service = FakeControlService()
        try await withClient(service) { client in
            try await client.execute(uri: uri, method: method) { response in
                // Either the name rule refuses it (400), or the router finds no such path (404): never the service.
                #expect([400, 404].contains(response.status.code), "\(uri): \(String(buffer: response.body))")
                try Self.expectError(response, response.status.code)
            }
        }
        #expect(service.recorded.stopped.isEmpty && service.recorded.segmentQueries.isEmpty)
    }

    @Test func aNameThatBreaksTheRuleIs400WithTheRulesSentence() async throws {
        try await withClient(FakeControlService()) { client in
            try await client.execute(uri: "/v1/recordings/a%24b", method: .delete) { response in
                try Self.expectError(response, 400)
                let message = try Self.decode(ErrorResponse.self, response).error.message
                #expect(message.hasPrefix("name "), "\(message)")
            }
        }
    }

    @Test(arguments: [
        ("/v1/events?since=-1", "since \"-1\" must be seconds since the epoch, from 0 to 10000000000"),
        ("/v1/events?limit=0", nil), ("/v1/events?limit=1e19", nil), ("/v1/events?limit=2.5", nil),
        ("/v1/events?level=loud", "level must be one of debug, info, notice, warning, error; got \"loud\""),
        ("/v1/events?recording=a%2Fb", nil), ("/v1/events?source=..", nil),
        ("/v1/recordings/interview/segments?since=nan", nil),
        ("/v1/levels?follow=1&interval_ms=5", nil), ("/v1/levels?follow=1&interval_ms=abc", nil),
    ])
    func aBadQueryParameterIs400(uri: String, message: String?) async throws {
        let service = FakeControlService()
        try await withClient(service) { client in
            try await client.execute(uri: uri, method: .get) { try Self.expectError($0, 400, message) }
        }
        #expect(service.recorded.segmentQueries.isEmpty)
    }

    @Test(arguments: [
        ("/v1/nothing", HTTPRequest.Method.get), ("/v1/status", .post), ("/v1/reload", .get), ("/", .get),
    ])
    func anUnknownEndpointIs404(uri: String, method: HTTPRequest.Method) async throws {
        try await withClient(FakeControlService()) { client in
            try await client.execute(uri: uri, method: method) {
                try Self.expectError(
                    $0, 404, "no such endpoint: \(method) \(uri); see the API table in the README")
            }
        }
    }

    @Test func followStreamsBeyondTheLimitAre503() async throws {
        let service = FakeControlService()
        service.set { $0.levels = Fixture.levels }
        let message =
            "too many follow streams: audiocapd serves at most 0 at once "
            + "(`audiocap logs --follow`, `audiocap levels --follow`); end one and try again"
        try await withClient(service, followStreams: FollowStreams(maximum: 0)) { client in
            try await client.execute(uri: "/v1/events?follow=1", method: .get) {
                try Self.expectError($0, 503, message)
            }
            try await client.execute(uri: "/v1/levels?follow=1", method: .get) {
                try Self.expectError($0, 503, message)
            }
        }
    }

    // MARK: - Follow streams

    /// Stops a follow stream once it has written `wanted` non-empty lines, keeping them.
    struct FirstLines: ResponseBodyWriter {
        struct Enough: Error {}
        /// What was written so far: the lines, and the start of a line not yet ended.
        final class Written: Sendable {
            let state = Mutex((lines: [String](), pending: ""))
            var lines: [String] { state.withLock { $0.lines } }
        }
        let wanted: Int
        let written = Written()

        mutating func write(_ buffer: ByteBuffer) async throws {
            let text = String(buffer: buffer)
            let done = written.state.withLock { state in
                state.pending += text
                while let newline = state.pending.firstIndex(of: "\n") {
                    let line = String(state.pending[..<newline])
                    state.pending.removeSubrange(...newline)
                    if !line.isEmpty { state.lines.append(line) }
                }
                return state.lines.count >= wanted
            }
            if done { throw Enough() }
        }

        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }

    /// The first `count` lines a follow stream at `uri` writes, with its status and content type.
    func followLines(_ service: FakeControlService, _ uri: String, count: Int) async throws -> (
        status: HTTPResponse.Status, contentType: String?, lines: [String]
    ) {
        let responder = ControlRoutes.router(service: service, logger: Self.logger).buildResponder()
        let request = Request(
            head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: uri),
            body: RequestBody(buffer: ByteBuffer()))
        let context = ControlContext(source: .init(channel: NIOAsyncTestingChannel(), logger: Self.logger))
        let response = try await responder.respond(to: request, context: context)
        let writer = FirstLines(wanted: count)
        await #expect(throws: FirstLines.Enough.self) { try await response.body.write(writer) }
        return (response.status, response.headers[.contentType], writer.written.lines)
    }

    @Test func followingEventsWritesTheRecentMatchesAsNDJSONThenTheNewOnes() async throws {
        let service = FakeControlService()
        service.events.emit(CaptureEvent(time: 100, level: .debug, kind: "a.quiet", message: "quiet"))
        service.events.emit(CaptureEvent(time: 200, level: .notice, kind: "b.loud", message: "loud"))
        let emitter = Task {
            // Emitted while the stream runs (the listener may not be there yet: emit until the stream ends).
            for _ in 0..<200 {
                try await Task.sleep(for: .milliseconds(20))
                service.events.emit(CaptureEvent(level: .warning, kind: "c.new", message: "new"))
            }
        }
        defer { emitter.cancel() }
        let stream = try await followLines(service, "/v1/events?follow=1&level=info", count: 2)
        #expect(stream.status == .ok)
        #expect(stream.contentType == "application/x-ndjson")
        let events = try stream.lines.map { try ControlAPI.decoder().decode(EventResponse.self, from: Data($0.utf8)) }
        #expect(events.map(\.kind) == ["b.loud", "c.new"])
    }

    @Test func followingLevelsWritesTheNewestReadingAsNDJSON() async throws {
        let service = FakeControlService()
        service.set { $0.levels = Fixture.levels }
        let stream = try await followLines(service, "/v1/levels?follow=1&interval_ms=20", count: 1)
        #expect(stream.status == .ok)
        #expect(stream.contentType == "application/x-ndjson")
        #expect(
            try stream.lines.map { try ControlAPI.decoder().decode(LevelsResponse.self, from: Data($0.utf8)) } == [
                Fixture.levels
            ])
    }

    @Test func aFollowStreamFreesItsSlotWhenItEnds() async throws {
        let service = FakeControlService()
        service.set { $0.levels = Fixture.levels }
        let streams = FollowStreams(maximum: 1)
        let responder = ControlRoutes.router(service: service, logger: Self.logger, followStreams: streams)
            .buildResponder()
        for _ in 0..<3 {
            let request = Request(
                head: HTTPRequest(
                    method: .get, scheme: "http", authority: "localhost", path: "/v1/levels?follow=1&interval_ms=20"),
                body: RequestBody(buffer: ByteBuffer()))
            let context = ControlContext(source: .init(channel: NIOAsyncTestingChannel(), logger: Self.logger))
            let response = try await responder.respond(to: request, context: context)
            #expect(response.status == .ok)
            #expect(streams.count == 1)
            await #expect(throws: FirstLines.Enough.self) { try await response.body.write(FirstLines(wanted: 1)) }
            #expect(streams.count == 0)
        }
    }
}
