// End to end: the control API and the `audiocap` CLI against a daemon capturing from the ALSA test mic.
import CaptureProtocol
import Foundation
import Synchronization
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

extension EndToEnd {
    @Suite(
        .serialized,
        .enabled(
            if: TestMic.isAvailable, "the ALSA test microphone needs pulseaudio, pactl, pacat and libasound2-plugins"))
    struct ControlEndToEndTests {
        /// Runs `audiocap ARGS` against `socket`; returns exit status, stdout and stderr.
        func cli(_ socket: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
            var environment = ProcessInfo.processInfo.environment
            environment["AUDIOCAP_SOCKET"] = socket
            let result = try ProcessRunner.run(Binaries.audiocap, args, environment: environment, timeout: 30)
            return (
                result.status, String(decoding: result.stdout, as: UTF8.self),
                String(decoding: result.stderr, as: UTF8.self)
            )
        }

        func status(_ socket: String) throws -> StatusResponse {
            let result = try cli(socket, ["status", "--json"])
            #expect(result.status == 0, "\(result.err)")
            return try ControlAPI.decoder().decode(StatusResponse.self, from: Data(result.out.utf8))
        }

        @Test func startStopStatusLogsAndBadClientsWhileContinuousCaptureStaysBitExact() throws {
            try DaemonFixture.with(
                mic: true,
                config: { dir in
                    """
                    [source]
                    device = "testmic"
                    [levels]
                    log_interval_seconds = 0
                    [control]
                    socket = "\(dir.socket)"
                    [storage]
                    root = "\(dir.path)/ondemand"
                    state = "\(dir.path)/state"
                    [[recording]]
                    name = "main"
                    directory = "\(dir.path)/main"
                    segment_seconds = 2
                    align = "samples"
                    filename = "{seq}.wav"
                    """
                }
            ) { dir in
                let daemon = dir.daemon
                let socket = dir.socket
                #expect(daemon.waitForLog("control API listening"), "\(daemon.log)")
                #expect(daemon.waitForLog("ffmpeg started"))
                #expect(waitUntil(timeout: 10) { ((try? status(socket))?.source.framesCaptured ?? 0) > 0 })

                // The socket is 0660.
                var info = stat()
                #expect(stat(socket, &info) == 0)
                #expect(info.st_mode & 0o777 == 0o660)

                // Frames captured grow at the sample rate.
                let first = try status(socket)
                let t0 = Date()
                usleep(2_000_000)
                let second = try status(socket)
                let rate =
                    Double(second.source.framesCaptured - first.source.framesCaptured) / Date().timeIntervalSince(t0)
                #expect(abs(rate - 48_000) < 48_000 * 0.1, "frames grow at \(rate)/s")
                #expect(second.source.state == "running")
                #expect(second.source.ffmpegPID != nil)
                #expect(second.recordings.map(\.name) == ["main"])
                #expect(second.levels?.channels.first.map { abs($0.peakDBFS - -20) < 0.05 } == true)

                // Start an on-demand recording next to the continuous one.
                let started = try cli(socket, ["start", "od", "--segment", "1s"])
                #expect(started.status == 0, "\(started.err)")
                let again = try cli(socket, ["start", "od"])
                #expect(again.status != 0)
                #expect(again.err.contains("already running"))

                // Misbehaving clients while both record: garbage byte by byte, bad requests, 100 at once.
                let garbage = Thread {
                    let fd = RawSocket.connect(socket)
                    for byte in Array("GARBAGE \u{01}\u{02} / NOT-HTTP\r\n\r\n{{{{".utf8) {
                        _ = RawSocket.send(fd, [byte])
                        usleep(20_000)
                    }
                    _ = RawSocket.readAll(fd, timeout: 2)
                    close(fd)
                }
                garbage.start()
                let badRequests: [(String, String, [UInt8], Int)] = [
                    ("POST", "/v1/recordings", Array("{not json".utf8), 400),
                    ("POST", "/v1/recordings", Array(#"{"name":"x","colour":"red"}"#.utf8), 400),
                    ("POST", "/v1/recordings", Array(#"{"name":5}"#.utf8), 400),
                    ("POST", "/v1/recordings", Array(#"{"name":"a/b"}"#.utf8), 400),
                    ("POST", "/v1/recordings", Array(#"{"name":".."}"#.utf8), 400),
                    ("POST", "/v1/recordings", Array(#"{"name":"x","directory":"/etc"}"#.utf8), 400),
                    ("POST", "/v1/recordings", Array(#"{"name":"x","directory":"../../etc"}"#.utf8), 400),
                    ("POST", "/v1/recordings", Array(#"{"name":"x","segment_seconds":0}"#.utf8), 400),
                    ("POST", "/v1/recordings", Array(repeating: 0x20, count: 70_000), 413),
                    ("DELETE", "/v1/recordings/nosuch", [], 404),
                    ("GET", "/v1/nowhere", [], 404),
                    ("GET", "/v1/events?level=loud", [], 400),
                ]
                for (method, target, body, expected) in badRequests {
                    let reply = RawSocket.request(socket, method: method, target: target, body: body)
                    #expect(RawSocket.status(of: reply) == expected, "\(method) \(target): \(reply.prefix(300))")
                    let error = try? ControlAPI.decoder().decode(
                        ErrorResponse.self, from: Data(RawSocket.body(of: reply).utf8))
                    #expect(
                        error?.error.status == expected, "\(method) \(target) gives a JSON error: \(reply.suffix(200))")
                    #expect(error.map { !$0.error.message.isEmpty } == true)
                }
                let okCount = Mutex(0)
                DispatchQueue.concurrentPerform(iterations: 100) { _ in
                    let reply = RawSocket.request(socket, method: "GET", target: "/v1/status", timeout: 20)
                    if RawSocket.status(of: reply) == 200 { okCount.withLock { $0 += 1 } }
                }
                #expect(okCount.withLock { $0 } == 100)
                // A client that disconnects in the middle of a stream.
                let follower = RawSocket.connect(socket)
                _ = RawSocket.send(follower, Array("GET /v1/levels?follow=1 HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                usleep(300_000)
                close(follower)

                // Let the on-demand recording close two whole segments before stopping it.
                #expect(
                    waitUntil(timeout: 10) {
                        ((try? status(socket))?.recordings.first { $0.name == "od" }?.segmentsClosed ?? 0) >= 2
                    })
                let stopped = try cli(socket, ["stop", "od", "--json"])
                #expect(stopped.status == 0, "\(stopped.err)")
                let reply = try ControlAPI.decoder().decode(StopRecordingResponse.self, from: Data(stopped.out.utf8))
                let files = reply.files.map(\.path)
                #expect(files.count >= 3)
                // Clock-aligned 1 s segments: every file but the first and last holds about one second.
                #expect(reply.files.dropFirst().dropLast().allSatisfy { abs($0.frames - 48_000) <= 4800 })
                let onDemand = try PatternCheck.check(channels: 2, files: files)
                #expect(onDemand.bitExact, "\(onDemand)")
                #expect(Int64(onDemand.frames) == reply.recording.framesWritten)
                #expect(reply.files.reduce(0) { $0 + $1.frames } == reply.recording.framesWritten)
                #expect(try cli(socket, ["stop", "od"]).status != 0)

                // Logs: the recording's events, filtered.
                let logs = try cli(socket, ["logs", "--json", "--recording", "od"])
                #expect(logs.status == 0, "\(logs.err)")
                let kinds = logs.out.split(separator: "\n").compactMap {
                    try? ControlAPI.decoder().decode(EventResponse.self, from: Data($0.utf8))
                }.map(\.kind)
                #expect(kinds.contains("recording.started"))
                #expect(kinds.contains("recording.stopped"))
                #expect(kinds.contains("segment.closed"))
                let warnings = try cli(socket, ["logs", "--json", "--level", "warning"])
                let levels = warnings.out.split(separator: "\n").compactMap {
                    try? ControlAPI.decoder().decode(EventResponse.self, from: Data($0.utf8))
                }.map(\.level)
                #expect(levels.allSatisfy { $0 == "warning" || $0 == "error" })

                // Nothing the clients did cost any audio.
                let last = try status(socket)
                #expect(last.droppedFrames == 0)
                #expect(last.queue.consumers.allSatisfy { $0.droppedFrames == 0 })
                garbage.cancel()
                #expect(daemon.terminate().status == 0)
                let main = wavFiles(under: dir.path + "/main")
                let continuous = try PatternCheck.check(channels: 2, files: main)
                #expect(continuous.bitExact, "\(continuous)")
                #expect(main.dropLast().allSatisfy { ffprobeFrames($0) == 96_000 })
            }
        }

        @Test func anUnreachableDaemonGivesTheSocketAndTheFix() throws {
            try DaemonFixture.with { dir in
                let result = try dir.cli(["status"], socket: dir.file("none.sock"))
                #expect(result.status == 69)
                #expect(result.err.contains(dir.file("none.sock")))
                #expect(result.err.contains("systemctl status audiocapd"))
            }
        }
    }
}
