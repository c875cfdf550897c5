// Tests of the fixtures for several sources: the pattern's variants, two test microphones opened by one
// process, and the HTTP test stream that goes down and comes back.
import Foundation
import TestSupport
import Testing

private let hasFFmpeg = ProcessRunner.which("ffmpeg") != nil

extension EndToEnd {
    @Suite(.serialized)
    struct MultiSourceFixtureTests {
        // MARK: The pattern's variants

        @Test("each variant of the pattern checks bit-exact against itself and mismatches every other")
        func variantsAreTellableApart() {
            let offsets = [0, 11_111, 22_222, 33_333]
            for own in offsets {
                let data = TestPattern.data(channels: 2, frames: 100_000, startFrame: 4321, sineOffset: own)
                for other in offsets {
                    let report = PatternCheck.check(channels: 2, data: data, sineOffset: other)
                    if other == own {
                        #expect(report.bitExact, "offset \(own): \(report)")
                    } else {
                        #expect(
                            !report.bitExact && report.mismatchingFrames > 95_000,
                            "offset \(own) checked as \(other): \(report)")
                        #expect(report.discontinuities == 0, "the counter is the same in every variant")
                    }
                }
            }
            // One period loops seamlessly whatever the offset, and offset 0 is the pattern itself.
            let period = TestPattern.data(channels: 2, sineOffset: 22_222)
            #expect(PatternCheck.check(channels: 2, data: period + period + period, sineOffset: 22_222).bitExact)
            #expect(TestPattern.data(channels: 2, sineOffset: 0) == TestPattern.data(channels: 2))
            #expect(TestPattern.sample(channel: 0, frame: 5, sineOffset: 65_536 + 3) == TestPattern.sine[8])
        }

        @Test("a range of frames is checked on its own, across files, and cut at the end")
        func rangeCheck() throws {
            let directory = try TemporaryDirectory()
            // Two clean stretches with a break between them at frame 70,000 (the second starts again at 0).
            let first = TestPattern.data(channels: 2, frames: 70_000, startFrame: 9, sineOffset: 7)
            let second = TestPattern.data(channels: 2, frames: 50_000, sineOffset: 7)
            let joined = first + second
            let paths = [directory.file("1.raw"), directory.file("2.raw")]
            try joined.prefix(30_000 * 4).write(to: URL(fileURLWithPath: paths[0]))
            try joined.dropFirst(30_000 * 4).write(to: URL(fileURLWithPath: paths[1]))

            let whole = try PatternCheck.check(channels: 2, sineOffset: 7, files: paths)
            #expect(whole.discontinuities == 1 && whole.firstDiscontinuities.first?.frame == 70_000, "\(whole)")
            let before = try PatternCheck.check(channels: 2, sineOffset: 7, files: paths, frames: 0..<70_000)
            #expect(before.bitExact && before.frames == 70_000, "\(before)")
            let after = try PatternCheck.check(channels: 2, sineOffset: 7, files: paths, frames: 70_000..<1_000_000)
            // Frame 0 of this variant is not silent: its sine starts at 7.
            #expect(after.bitExact && after.frames == 50_000 && after.leadingSilence == 0, "\(after)")
            let across = try PatternCheck.check(channels: 2, sineOffset: 7, files: paths, frames: 20_000..<40_000)
            #expect(across.bitExact && across.frames == 20_000, "\(across)")
            let wrong = try PatternCheck.check(channels: 2, sineOffset: 8, files: paths, frames: 0..<70_000)
            #expect(!wrong.bitExact)
        }

        @Test("ffmpeg's generator makes the pattern's variants bit for bit", .enabled(if: hasFFmpeg, "needs ffmpeg"))
        func generatorMakesVariants() throws {
            for offset in [0, 33_333] {
                let result = try ProcessRunner.run(
                    "ffmpeg",
                    [
                        "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
                        patternGenerator(seconds: 2, sineOffset: offset), "-f", "s16le", "-",
                    ], timeout: 60)
                #expect(result.status == 0, "\(String(decoding: result.stderr, as: UTF8.self))")
                #expect(result.stdout == TestPattern.data(channels: 2, frames: 96_000, sineOffset: offset))
            }
        }

        // MARK: Two microphones in one process

        @Test(
            "two test microphones with their own names and variants are opened from one environment",
            .enabled(if: TestMic.isAvailable, Comment(rawValue: TestMic.unavailableReason ?? "")),
            .enabled(if: hasFFmpeg, "needs ffmpeg"))
        func twoMicsInOneEnvironment() throws {
            let left = try TestMic.start(deviceName: "mica", sineOffset: 11_111)
            defer { left.stop() }
            let right = try TestMic.start(deviceName: "micb", sineOffset: 22_222)
            defer { right.stop() }
            #expect(left.deviceName == "mica" && right.deviceName == "micb")
            let environment = TestMic.environment(for: [left, right])
            let configPath = try #require(environment["ALSA_CONFIG_PATH"])
            #expect(configPath.split(separator: ":").count == 3, "\(configPath)")
            #expect(configPath.hasPrefix("/usr/share/alsa/alsa.conf:"))

            // Both at once, as two sources of one daemon open them.
            let output = try TemporaryDirectory()
            let result = try ProcessRunner.run(
                "ffmpeg",
                [
                    "-nostdin", "-loglevel", "error",
                    "-f", "alsa", "-channels", "2", "-sample_rate", "48000", "-i", "mica",
                    "-f", "alsa", "-channels", "2", "-sample_rate", "48000", "-i", "micb",
                    "-map", "0:a", "-t", "1.5", "-f", "s16le", output.file("a.raw"),
                    "-map", "1:a", "-t", "1.5", "-f", "s16le", output.file("b.raw"),
                ],
                environment: environment, timeout: 30)
            #expect(result.status == 0, "\(String(decoding: result.stderr.suffix(2000), as: UTF8.self))")
            for (mic, file, other) in [(left, "a.raw", right), (right, "b.raw", left)] {
                let own = try PatternCheck.check(
                    channels: 2, sineOffset: mic.sineOffset, files: [output.file(file)])
                #expect(own.bitExact && own.frames > 60_000, "\(mic.deviceName): \(own)")
                let mixedUp = try PatternCheck.check(
                    channels: 2, sineOffset: other.sineOffset, files: [output.file(file)])
                #expect(!mixedUp.bitExact, "\(mic.deviceName) passes as \(other.deviceName): \(mixedUp)")
            }
            #expect(throws: TestMicError.self) { try TestMic.start(deviceName: "no-dashes") }
        }

        @Test(
            "a microphone stopped and started again in its directory is the same device with the same content",
            .enabled(if: TestMic.isAvailable, Comment(rawValue: TestMic.unavailableReason ?? "")),
            .enabled(if: hasFFmpeg, "needs ffmpeg"))
        func micUnpluggedAndBack() throws {
            let directory = try TemporaryDirectory(prefix: "testmic", in: "/tmp")
            defer { directory.remove() }
            let first = try TestMic.start(stateDirectory: directory.path, deviceName: "micb", sineOffset: 22_222)
            first.stop()
            let capture = {
                try ProcessRunner.run(
                    "ffmpeg",
                    [
                        "-nostdin", "-loglevel", "error", "-f", "alsa", "-channels", "2", "-sample_rate", "48000",
                        "-i", "micb", "-t", "0.5", "-f", "s16le", "-",
                    ],
                    environment: first.environment, timeout: 30)
            }
            // Unplugged: opening it fails at once.
            #expect(try capture().status != 0)
            let second = try TestMic.start(stateDirectory: directory.path, deviceName: "micb", sineOffset: 22_222)
            defer { second.stop() }
            #expect(second.alsaConfigPath == first.alsaConfigPath)
            let result = try capture()
            #expect(result.status == 0)
            let report = PatternCheck.check(channels: 2, data: result.stdout, sineOffset: 22_222)
            #expect(report.bitExact && report.frames > 20_000, "\(report)")
        }

        // MARK: The HTTP stream

        @Test(
            "the HTTP stream serves its variant to client after client, goes down, and comes back on its port",
            .enabled(if: HTTPStream.isAvailable, Comment(rawValue: HTTPStream.unavailableReason ?? "")))
        func httpStreamServesStopsAndRestarts() throws {
            let stream = try HTTPStream.start(sineOffset: 33_333)
            defer { stream.stop() }
            let secret = "s3cret-\(UInt32.random(in: 100_000...999_999))"
            let url = stream.url(user: "listener", password: secret)
            #expect(url == "http://listener:\(secret)@127.0.0.1:\(stream.port)/stream.wav")
            func fetch(seconds: String) throws -> (status: Int32, audio: Data, stderr: String) {
                let result = try ProcessRunner.run(
                    "ffmpeg",
                    ["-nostdin", "-loglevel", "error", "-i", url, "-t", seconds, "-f", "s16le", "-"], timeout: 30)
                return (result.status, result.stdout, String(decoding: result.stderr, as: UTF8.self))
            }
            // One client after another (the next once the server listens again), each from frame 0 of the
            // pattern: counter 0, and this variant's sine at 33,333.
            for client in 1...2 {
                #expect(stream.waitUntilListening())
                let (status, audio, stderr) = try fetch(seconds: "1.5")
                #expect(status == 0, "\(stderr)")
                let report = PatternCheck.check(channels: 2, data: audio, sineOffset: 33_333)
                #expect(report.bitExact && report.frames == 72_000, "\(report)")
                #expect(audio.prefix(4) == TestPattern.data(channels: 2, frames: 1, sineOffset: 33_333))
                #expect(waitUntil(timeout: 10) { stream.clientsServed == client }, "\(stream.log)")
            }
            // Down: refused at once.
            stream.takeDown()
            #expect(!stream.isListening)
            let refused = try fetch(seconds: "0.5")
            #expect(refused.status != 0 && refused.audio.isEmpty)
            #expect(refused.stderr.contains("Connection refused"), "\(refused.stderr)")
            // Back on the same port.
            try stream.bringUp()
            #expect(stream.isListening)
            let (status, audio, stderr) = try fetch(seconds: "1")
            #expect(status == 0, "\(stderr)")
            #expect(PatternCheck.check(channels: 2, data: audio, sineOffset: 33_333).bitExact)
            #expect(!stream.log.contains(secret), "the server never sees the password (it never asks)")
            // Two streams at once have their own ports.
            let other = try HTTPStream.start()
            defer { other.stop() }
            #expect(other.port != stream.port)
        }
    }
}
