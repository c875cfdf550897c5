// ControlClient's calls for recording on cue: POST /v1/clips and GET /v1/triggers against the test server.

import CaptureProtocol
import Foundation
import Synchronization
import Testing

@testable import CaptureClient

@Suite struct CueClientTests {
    private static func json<Value: Encodable>(_ value: Value) -> String {
        String(decoding: try! ControlAPI.encoder().encode(value), as: UTF8.self)
    }

    static let clip = ClipResponse(
        name: "door", source: "main", path: "/srv/audio/door/2026-11-22/door-20261122T005800Z.wav",
        frames: 5_280_000, sampleRate: 48_000, firstFrame: 1_000_000, startTime: 1_795_309_080, fromSeconds: -120,
        toSeconds: -10, gaps: 0, gapFrames: 0, message: nil)

    @Test func clipPostsTheSpanAndDecodesTheFile() async throws {
        let received = Mutex<ReceivedRequest?>(nil)
        let request = ClipRequest(name: "door", fromSeconds: -120, toSeconds: -10, source: "cam", format: "flac")
        try await withTestServer({ got in
            received.withLock { $0 = got }
            return .json(status: 200, body: Self.json(Self.clip))
        }) { path in
            let clip = try await ControlClient(socketPath: path).clip(request)
            #expect(clip == Self.clip)
        }
        let got = try #require(received.withLock { $0 })
        #expect(got.method == "POST")
        #expect(got.uri == "/v1/clips")
        #expect(got.headers["content-type"] == "application/json")
        #expect(got.body == #"{"format":"flac","from_seconds":-120,"name":"door","source":"cam","to_seconds":-10}"#)
        #expect(try ControlAPI.decoder().decode(ClipRequest.self, from: Data(got.body.utf8)) == request)
    }

    @Test func aClipWaitsLongerThanOtherCalls() {
        #expect(ControlClient.clipTimeout >= .seconds(300))
    }

    @Test(arguments: [
        (409, "source `main` keeps no look-back (look_back_seconds = 0); set it in [source] and restart", 75),
        (400, "from_seconds must be negative, e.g. -30", 65),
        (404, "no source named `nope`; `audiocap status` lists them", 66),
    ])
    func clipRefusalsKeepTheDaemonsWordsAndExitCode(status: Int, message: String, exitCode: Int32) async throws {
        try await withTestServer({ _ in
            .json(status: status, body: Self.json(ErrorResponse(status: status, message: message)))
        }) { path in
            do {
                _ = try await ControlClient(socketPath: path).clip(ClipRequest(name: "door", fromSeconds: -30))
                Issue.record("expected an error")
            } catch let error as ClientError {
                #expect(error.status == status)
                #expect(error.message == message)
                #expect(error.exitCode == exitCode)
            }
        }
    }

    @Test func triggersAreDecoded() async throws {
        let reply = TriggersResponse(triggers: [
            TriggerStatus(
                name: "bats", source: "main", state: "listening", thresholdDBFS: -30, highPassHz: 15_000,
                directory: "/srv/clips/bats", lastFired: 1_795_309_140, lastPeakDBFS: -12.3, clipsToday: 3,
                clipsTotal: 12, firings: 14, currentClip: nil, lastClip: "/srv/clips/bats/a.wav", droppedFrames: 0)
        ])
        let uri = Mutex<String?>(nil)
        try await withTestServer({ got in
            uri.withLock { $0 = "\(got.method) \(got.uri)" }
            return .json(status: 200, body: Self.json(reply))
        }) { path in
            let triggers = try await ControlClient(socketPath: path).triggers()
            #expect(triggers == reply)
        }
        #expect(uri.withLock { $0 } == "GET /v1/triggers")
    }

    @Test func aDaemonWithoutTriggersAnswers404() async throws {
        try await withTestServer({ _ in
            .json(status: 404, body: Self.json(ErrorResponse(status: 404, message: "no such endpoint")))
        }) { path in
            do {
                _ = try await ControlClient(socketPath: path).triggers()
                Issue.record("expected an error")
            } catch let error as ClientError {
                #expect(error.code == .apiError)
                #expect(error.status == 404)
            }
        }
    }
}
