// ControlClient against the test server: requests sent, replies decoded, streams split, errors mapped.

import CaptureProtocol
import Foundation
import Synchronization
import TestSupport
import Testing

@testable import CaptureClient

@Suite struct ControlClientTests {
    private static func json<Value: Encodable>(_ value: Value) -> String {
        String(decoding: try! ControlAPI.encoder().encode(value), as: UTF8.self)
    }

    private static func error(_ status: Int, _ message: String) -> CannedReply {
        .json(status: status, body: json(ErrorResponse(status: status, message: message)))
    }

    @Test func statusIsDecoded() async throws {
        let received = Mutex<[ReceivedRequest]>([])
        try await withTestServer({ request in
            received.withLock { $0.append(request) }
            return .json(status: 200, body: Self.json(Fixtures.status))
        }) { path in
            let status = try await ControlClient(socketPath: path).status()
            #expect(status == Fixtures.status)
        }
        let request = try #require(received.withLock { $0.first })
        #expect(request.method == "GET")
        #expect(request.uri == "/v1/status")
        #expect(request.headers["host"] == "localhost")
    }

    @Test func startPostsTheRequestAndDecodesTheRecording() async throws {
        let received = Mutex<ReceivedRequest?>(nil)
        let request = StartRecordingRequest(name: "interview", segmentSeconds: 600, durationSeconds: 7_200)
        try await withTestServer({ got in
            received.withLock { $0 = got }
            return .json(status: 201, body: Self.json(Fixtures.interview))
        }) { path in
            let recording = try await ControlClient(socketPath: path).start(request)
            #expect(recording == Fixtures.interview)
        }
        let got = try #require(received.withLock { $0 })
        #expect(got.method == "POST")
        #expect(got.uri == "/v1/recordings")
        #expect(got.headers["content-type"] == "application/json")
        #expect(got.body == #"{"duration_seconds":7200,"name":"interview","segment_seconds":600}"#)
        #expect(try ControlAPI.decoder().decode(StartRecordingRequest.self, from: Data(got.body.utf8)) == request)
    }

    @Test func queriesCarryTheirParameters() async throws {
        let uris = Mutex<[String]>([])
        try await withTestServer({ request in
            uris.withLock { $0.append("\(request.method) \(request.uri)") }
            if request.uri.hasPrefix("/v1/events") {
                return .json(status: 200, body: Self.json(EventsResponse(events: [Fixtures.event])))
            } else if request.uri.hasPrefix("/v1/recordings/night/segments") {
                return .json(
                    status: 200, body: Self.json(SegmentsResponse(recording: "night", segments: [Fixtures.segment])))
            } else if request.method == "DELETE" {
                return .json(
                    status: 200,
                    body: Self.json(StopRecordingResponse(recording: Fixtures.night, files: [Fixtures.segment])))
            } else if request.uri == "/v1/levels" {
                return .json(status: 200, body: Self.json(Fixtures.status.levels!))
            }
            return .json(status: 200, body: Self.json(RecordingsResponse(recordings: [Fixtures.night])))
        }) { path in
            let client = ControlClient(socketPath: path)
            let since = Date(timeIntervalSince1970: 1_795_309_200.7)
            #expect(try await client.recordings().recordings == [Fixtures.night])
            #expect(try await client.segments(name: "night", since: since).segments == [Fixtures.segment])
            #expect(try await client.segments(name: "night").recording == "night")
            #expect(try await client.stop(name: "night").files == [Fixtures.segment])
            #expect(try await client.levels() == Fixtures.status.levels!)
            let events = try await client.events(since: since, level: "warning", recording: "night", limit: 5)
            #expect(events.events == [Fixtures.event])
            _ = try await client.events()
        }
        #expect(
            uris.withLock { $0 } == [
                "GET /v1/recordings",
                "GET /v1/recordings/night/segments?since=1795309200",
                "GET /v1/recordings/night/segments",
                "DELETE /v1/recordings/night",
                "GET /v1/levels",
                "GET /v1/events?since=1795309200&level=warning&recording=night&limit=5",
                "GET /v1/events",
            ])
    }

    @Test func notFoundCarriesTheServersMessage() async throws {
        let message = "no running recording named 'nope'; see `audiocap recordings`"
        try await withTestServer({ _ in Self.error(404, message) }) { path in
            do {
                _ = try await ControlClient(socketPath: path).stop(name: "nope")
                Issue.record("expected an error")
            } catch let error as ClientError {
                #expect(error.code == .apiError)
                #expect(error.status == 404)
                #expect(error.message == message)
                #expect(error.exitCode == 66)
                #expect(error.description == message + " (HTTP 404)")
            }
        }
    }

    @Test func conflictCarriesTheServersMessage() async throws {
        try await withTestServer({ _ in Self.error(409, "recording `night` is already running") }) { path in
            do {
                _ = try await ControlClient(socketPath: path).start(StartRecordingRequest(name: "night"))
                Issue.record("expected an error")
            } catch let error as ClientError {
                #expect(error.code == .apiError)
                #expect(error.status == 409)
                #expect(error.message == "recording `night` is already running")
                #expect(error.exitCode == 75)
                #expect(error.description == "recording `night` is already running (HTTP 409)")
            }
        }
    }

    @Test func errorWithoutAnErrorBodyUsesTheText() async throws {
        try await withTestServer({ _ in .json(status: 500, body: "boom") }) { path in
            do {
                _ = try await ControlClient(socketPath: path).status()
                Issue.record("expected an error")
            } catch let error as ClientError {
                #expect(error.message == "boom")
                #expect(error.exitCode == 70)
                #expect(error.description.contains("journalctl -u audiocapd"))
            }
        }
    }

    @Test func unreadableReplyIsABadReply() async throws {
        try await withTestServer({ _ in .json(status: 200, body: #"{"version":"9.9"}"#) }) { path in
            do {
                _ = try await ControlClient(socketPath: path).status()
                Issue.record("expected an error")
            } catch let error as ClientError {
                #expect(error.code == .badReply)
                #expect(error.exitCode == 76)
                #expect(error.message.contains("StatusResponse"))
                #expect(error.description.contains("audiocapd --version"))
            }
        }
    }

    @Test func missingSocketIsUnavailableWithTheSystemctlHint() async throws {
        let path = "/tmp/audiocap-cli-test-missing-\(getpid())/control.sock"
        do {
            _ = try await ControlClient(socketPath: path).status()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.exitCode == 69)
            #expect(
                error.description
                    == "cannot reach audiocapd at \(path): no such socket. Is the daemon running? Try "
                    + "`systemctl status audiocapd`, or pass --socket")
        }
    }

    @Test func pathThatIsNotASocketSaysSo() async throws {
        do {
            _ = try await ControlClient(socketPath: "/tmp").status()
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.message == "not a socket")
        }
    }

    @Test func errnoMapping() {
        let path = "/run/audiocap/control.sock"
        let denied = ClientError.connectionFailed(errno: EACCES, socketPath: path)
        #expect(denied.code == .permissionDenied)
        #expect(denied.exitCode == 77)
        // The hint names the group that owns the socket (or its directory); CLIConventionTests checks the name.
        #expect(
            denied.description.hasPrefix("cannot reach audiocapd at /run/audiocap/control.sock: permission denied. "))
        #expect(denied.description.hasSuffix("or run with sudo"))
        #expect(ClientError.connectionFailed(errno: EPERM, socketPath: path).code == .permissionDenied)
        let refused = ClientError.connectionFailed(errno: ECONNREFUSED, socketPath: path)
        #expect(refused.code == .unavailable)
        #expect(refused.description.contains("connection refused"))
        #expect(refused.description.hasSuffix("Try `systemctl status audiocapd`, or pass --socket"))
        #expect(ClientError.connectionFailed(errno: ENOENT, socketPath: path).message == "no such socket")
        #expect(ClientError.connectionFailed(errno: ETIMEDOUT, socketPath: path).exitCode == 69)
    }

    @Test func connectionClosedWithoutReplyIsUnavailable() async throws {
        try await withTestServer({ _ in .close }) { path in
            do {
                _ = try await ControlClient(socketPath: path).status()
                Issue.record("expected an error")
            } catch let error as ClientError {
                #expect(error.code == .unavailable)
                #expect(error.message == "it closed the connection before replying")
                #expect(error.description.hasPrefix("lost the connection to audiocapd at "))
            }
        }
    }

    @Test func silentDaemonTimesOut() async throws {
        try await withTestServer({ _ in .silence }) { path in
            let started = ContinuousClock.now
            do {
                _ = try await ControlClient(socketPath: path, timeout: .milliseconds(200)).status()
                Issue.record("expected an error")
            } catch let error as ClientError {
                #expect(error.code == .unavailable)
                #expect(error.message == "no reply within \(Duration.milliseconds(200))")
            }
            // The 200 ms given, not the 30 s default. Not a tighter bound: at the start of a full run the
            // end-to-end suites' blocking waits hold this process's shared threads for up to ~20 s, and the
            // client's timer waits for a thread like everything else (CI measured 12.3 s once).
            #expect(ContinuousClock.now - started < .seconds(29))
        }
    }

    // MARK: - Streams

    private static func reading(_ frame: Int64) -> LevelsResponse {
        LevelsResponse(
            time: 1_795_309_200 + Double(frame) / 48_000, frame: frame, silent: false,
            channels: [.init(peakDBFS: -6, rmsDBFS: -12, clipped: 0, clippedTotal: 0)])
    }

    @Test func followLevelsSplitsLinesAcrossChunksUntilCancelled() async throws {
        let lines = [Self.reading(4_800), Self.reading(9_600), Self.reading(14_400)].map { Self.json($0) }
        // One chunk with a line and a half, the rest of that line, an empty line, the last line with \r\n.
        let cut = lines[1].index(lines[1].startIndex, offsetBy: 10)
        let chunks: [String] = [
            lines[0] + "\n" + String(lines[1][..<cut]), String(lines[1][cut...]) + "\n", "\n", lines[2] + "\r\n",
        ]
        let uri = Mutex<String>("")
        try await withTestServer({ request in
            uri.withLock { $0 = request.uri }
            return .stream(chunks: chunks, end: false)
        }) { path in
            var received: [ControlClient.Streamed<LevelsResponse>] = []
            // Returns normally once its own task is cancelled, the way Ctrl-C ends `audiocap levels -f`.
            try await ControlClient(socketPath: path).followLevels(intervalMilliseconds: 250) { reading in
                received.append(reading)
                if received.count == 3 { withUnsafeCurrentTask { $0?.cancel() } }
            }
            #expect(received.map(\.value.frame) == [4_800, 9_600, 14_400])
            #expect(received.map(\.json) == lines)
        }
        #expect(uri.withLock { $0 } == "/v1/levels?follow=1&interval_ms=250")
    }

    @Test func levelsOfOneSourceAndAnUnknownOne() async throws {
        let uris = Mutex<[String]>([])
        var hydro = Self.reading(4_800)
        hydro.source = "hydro"
        let reading = hydro
        try await withTestServer({ request in
            uris.withLock { $0.append(request.uri) }
            if request.uri.contains("source=nope") {
                return Self.error(404, "no source named 'nope'; `audiocap status` lists the sources")
            }
            if request.uri.contains("follow=1") {
                return .stream(chunks: [Self.json(reading) + "\n"], end: false)
            }
            return .json(status: 200, body: Self.json(reading))
        }) { path in
            let client = ControlClient(socketPath: path)
            #expect(try await client.levels(source: "hydro").source == "hydro")
            do throws(ClientError) {
                _ = try await client.levels(source: "nope")
                Issue.record("an unknown source should fail")
            } catch {
                #expect(error.status == 404)
                #expect(error.exitCode == 66)
                #expect(error.description.hasPrefix("no source named 'nope'"))
            }
            try await client.followLevels(intervalMilliseconds: 100, source: "hydro") { streamed in
                #expect(streamed.value.source == "hydro")
                withUnsafeCurrentTask { $0?.cancel() }
            }
        }
        #expect(
            uris.withLock { $0 } == [
                "/v1/levels?source=hydro", "/v1/levels?source=nope", "/v1/levels?follow=1&interval_ms=100&source=hydro",
            ])
    }

    @Test func streamThatEndsIsReported() async throws {
        let lines = [Self.json(Fixtures.event), Self.json(Fixtures.event)]
        let uri = Mutex<String>("")
        try await withTestServer({ request in
            uri.withLock { $0 = request.uri }
            return .stream(chunks: lines.map { $0 + "\n" }, end: true)
        }) { path in
            var count = 0
            do {
                try await ControlClient(socketPath: path).followEvents(level: "warning", recording: "night") { event in
                    #expect(event.value == Fixtures.event)
                    count += 1
                }
                Issue.record("expected an error")
            } catch let error as ClientError {
                #expect(error.code == .unavailable)
                #expect(error.message == "it ended the stream")
                #expect(error.exitCode == 69)
                #expect(
                    error.description
                        == "lost the connection to audiocapd at \(path): it ended the stream. Has it stopped? Try "
                        + "`systemctl status audiocapd`")
            }
            #expect(count == 2)
        }
        #expect(uri.withLock { $0 } == "/v1/events?level=warning&recording=night&follow=1")
    }

    @Test func streamCutOffIsReportedAsEnded() async throws {
        let line = Self.json(Self.reading(4_800)) + "\n"
        try await withTestServer({ _ in .streamThenClose(chunks: [line]) }) { path in
            var count = 0
            do {
                try await ControlClient(socketPath: path).followLevels { _ in count += 1 }
                Issue.record("expected an error")
            } catch let error as ClientError {
                #expect(error.code == .unavailable)
                #expect(error.message == "it ended the stream")
            }
            #expect(count == 1)
        }
    }

    @Test func streamRefusedWithAnError() async throws {
        try await withTestServer({ _ in Self.error(400, "unknown level `loud`") }) { path in
            do {
                try await ControlClient(socketPath: path).followEvents(level: "loud") { _ in }
                Issue.record("expected an error")
            } catch let error as ClientError {
                #expect(error.status == 400)
                #expect(error.message == "unknown level `loud`")
                #expect(error.exitCode == 65)
            }
        }
    }

    @Test func streamWithABadLineIsABadReply() async throws {
        try await withTestServer({ _ in .stream(chunks: ["{\"frame\": 1}\n"], end: false) }) { path in
            do {
                try await ControlClient(socketPath: path).followLevels { _ in }
                Issue.record("expected an error")
            } catch let error as ClientError {
                #expect(error.code == .badReply)
                #expect(error.message.contains("LevelsResponse"))
            }
        }
    }

    @Test func lineSplitter() {
        var splitter = LineSplitter()
        var part = ByteBufferHelper.buffer("a\nbc")
        splitter.append(&part)
        #expect(splitter.next().map { String(decoding: $0, as: UTF8.self) } == "a")
        #expect(splitter.next() == nil)
        part = ByteBufferHelper.buffer("d\r\n  \n\ne\n")
        splitter.append(&part)
        #expect(splitter.next().map { String(decoding: $0, as: UTF8.self) } == "bcd")
        #expect(splitter.next().map { String(decoding: $0, as: UTF8.self) } == "e")
        #expect(splitter.next() == nil)
    }
}
