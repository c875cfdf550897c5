// Tests of the test fixtures themselves: the pattern, its checker, and the two ALSA test microphones.

import Foundation
import TestSupport
import Testing

private let hasPython = ProcessRunner.which("python3") != nil
private let hasFFmpeg = ProcessRunner.which("ffmpeg") != nil

extension EndToEnd {
    @Suite(.serialized)
    struct TestMicTests {
        // MARK: The pattern

        @Test(
            "TestPattern's bytes are pattern.py's", .enabled(if: hasPython, "needs python3"),
            arguments: [(1, 65536), (2, 65536), (2, 70001)])
        func patternMatchesPatternPy(channels: Int, frames: Int) throws {
            let directory = try TemporaryDirectory()
            let path = directory.file("pattern.raw")
            let script = TestMic.fixtureDirectory + "/pattern.py"
            let result = try ProcessRunner.run("python3", [script, path, String(channels), String(frames)])
            #expect(result.status == 0, "\(String(decoding: result.stderr, as: UTF8.self))")
            let python = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(python.count == frames * 2 * channels)
            #expect(python == TestPattern.data(channels: channels, frames: frames))
        }

        @Test("the pattern's first frames are the documented values")
        func patternValues() {
            #expect(TestPattern.sine.count == 65536)
            #expect(TestPattern.sine.max() == 3277 && TestPattern.sine.min() == -3277)
            #expect(TestPattern.sample(channel: 0, frame: 0) == 0)
            #expect(TestPattern.sample(channel: 1, frame: 40000) == Int16(truncatingIfNeeded: 40000))
            #expect(TestPattern.sample(channel: 1, frame: 65536 + 7) == 7)
            let shifted = TestPattern.data(channels: 2, frames: 10, startFrame: 65530)
            #expect(
                shifted == TestPattern.data(channels: 2, frames: 6, startFrame: 65530)
                    + TestPattern.data(channels: 2, frames: 4))
        }

        // MARK: The checker

        @Test("pieces split at odd frames, as raw, lying WAV, RF64 and .partial files, join bit-exact")
        func checkJoinsFiles() throws {
            let directory = try TemporaryDirectory()
            let silence = Data(count: 1000 * 4)
            let audio = silence + TestPattern.data(channels: 2, frames: 200_000, startFrame: 5000)
            let cuts = [0, 12_345 * 4, 77_777 * 4, 150_001 * 4, audio.count]
            let pieces = (0..<4).map { audio[cuts[$0]..<cuts[$0 + 1]] }
            let files = [
                (directory.file("1.raw"), pieces[0]),
                // Declares 100 bytes of data, holds 65432 frames more.
                (directory.file("2.wav"), wavHeader(channels: 2, declaredData: 100) + pieces[1]),
                // RF64 with ds64, fact and an odd-sized LIST chunk, a crash-left size, half a frame at the end.
                (
                    directory.file("3.wav.partial"),
                    wavHeader(channels: 2, declaredData: 0xFFFF_FFFF, rf64: true, extraChunks: true) + pieces[2]
                        + Data([0x12, 0x34])
                ),
                (directory.file("4.raw"), pieces[3]),
            ]
            for (path, data) in files { try data.write(to: URL(fileURLWithPath: path)) }

            let report = try PatternCheck.check(channels: 2, files: files.map(\.0))
            #expect(report.bitExact, "\(report)")
            #expect(report.frames == 201_000)
            #expect(report.leadingSilence == 1000)
            #expect(report.discontinuities == 0 && report.mismatchingFrames == 0 && report.firstBadFrame == nil)
            #expect(report.description.hasSuffix("first_bad_frame=none bit_exact=yes"))
        }

        @Test("a removed block is one discontinuity at the right frame, with its length as the jump")
        func checkFindsRemovedBlock() {
            let pattern = TestPattern.data(channels: 2, frames: 200_000)
            let report = PatternCheck.check(
                channels: 2, data: pattern[0..<100_000 * 4] + pattern[(100_480 * 4)...])
            #expect(!report.bitExact)
            #expect(report.frames == 199_520)
            #expect(report.discontinuities == 1)
            #expect(report.firstDiscontinuities == [.init(frame: 100_000, jump: 480)])
            #expect(report.mismatchingFrames == 0)
            #expect(report.firstBadFrame == 100_000)
            #expect(report.description.contains("discontinuities=1 at=[100000:+480]"))
        }

        @Test("a repeated block is a negative jump; an altered sample is one mismatching frame")
        func checkFindsRepeatAndAlteredSample() {
            let pattern = TestPattern.data(channels: 2, frames: 200_000, startFrame: 300)
            let repeated = PatternCheck.check(
                channels: 2, data: pattern[0..<50_100 * 4] + pattern[(50_000 * 4)...])
            #expect(repeated.frames == 200_100)
            #expect(repeated.firstDiscontinuities == [.init(frame: 50_100, jump: -100)])
            #expect(repeated.mismatchingFrames == 0 && !repeated.bitExact)

            var altered = pattern
            altered[1234 * 4] ^= 1
            let report = PatternCheck.check(channels: 2, data: altered)
            #expect(report.discontinuities == 0)
            #expect(report.mismatchingFrames == 1)
            #expect(report.firstBadFrame == 1234)
            #expect(!report.bitExact)
            #expect(report.description.contains("mismatching_frames=1 first_bad_frame=1234 bit_exact=NO"))
        }

        @Test("silence inserted in the middle breaks the counter where it starts and where it ends")
        func checkFindsInsertedSilence() {
            let pattern = TestPattern.data(channels: 2, frames: 200_000)
            let report = PatternCheck.check(
                channels: 2, data: pattern[0..<70_000 * 4] + Data(count: 1000 * 4) + pattern[(70_000 * 4)...])
            #expect(!report.bitExact)
            #expect(report.leadingSilence == 1)  // frame 0 of the pattern is all zeros
            #expect(report.firstBadFrame == 70_000)
            #expect(report.firstDiscontinuities.first == .init(frame: 70_000, jump: -4464))
            // Entering, 999 silent frames that each repeat counter 0, and leaving.
            #expect(report.discontinuities == 1001)
        }

        @Test("mono locks its phase from the first 32 samples and finds a removed block")
        func checkMono() {
            let pattern = TestPattern.data(channels: 1, frames: 150_000, startFrame: 12_345)
            let clean = PatternCheck.check(channels: 1, data: Data(count: 2 * 77) + pattern)
            #expect(clean.bitExact, "\(clean)")
            #expect(clean.leadingSilence == 77 && clean.frames == 150_077)

            let cut = PatternCheck.check(channels: 1, data: pattern[0..<100_000 * 2] + pattern[(101_001 * 2)...])
            #expect(!cut.bitExact)
            #expect(cut.firstBadFrame == 100_000)
            #expect(cut.mismatchingFrames > 40_000)

            let short = PatternCheck.check(channels: 1, data: pattern[0..<20 * 2])
            #expect(!short.phaseLocked && !short.bitExact)
            let silent = PatternCheck.check(channels: 1, data: Data(count: 4000))
            #expect(silent.allSilent && !silent.bitExact && silent.frames == 2000)
        }

        @Test("feeding in pieces that split frames gives the same report as feeding at once")
        func checkStreams() {
            let pattern = TestPattern.data(channels: 2, frames: 20_000, startFrame: 9)
            var damaged = pattern[0..<5000 * 4] + pattern[(5003 * 4)...]
            damaged[12_000 * 4 + 1] ^= 0x40
            var check = PatternCheck(channels: 2)
            var offset = damaged.startIndex
            var size = 1
            while offset < damaged.endIndex {
                let end = min(offset + size, damaged.endIndex)
                check.feed(damaged[offset..<end])
                offset = end
                size = size % 13 + 2
            }
            #expect(check.report == PatternCheck.check(channels: 2, data: damaged))
            #expect(check.report.firstDiscontinuities == [.init(frame: 5000, jump: 3)])
            #expect(check.report.mismatchingFrames == 1)
        }

        @Test("a WAV of the wrong format or without a data chunk is an error, not a report")
        func checkRejectsWrongWAV() throws {
            let directory = try TemporaryDirectory()
            let mono = directory.file("mono.wav")
            try (wavHeader(channels: 1, declaredData: 8) + Data(count: 8)).write(to: URL(fileURLWithPath: mono))
            #expect(throws: PatternCheckError.self) { try PatternCheck.check(channels: 2, files: [mono]) }
            let truncated = directory.file("truncated.wav")
            try wavHeader(channels: 2, declaredData: 8).prefix(40).write(to: URL(fileURLWithPath: truncated))
            #expect(throws: PatternCheckError.self) { try PatternCheck.check(channels: 2, files: [truncated]) }
        }

        @Test("ten minutes of stereo are checked in a few seconds")
        func checkIsFast() throws {
            let directory = try TemporaryDirectory()
            let path = directory.file("ten-minutes.raw")
            let period = TestPattern.data(channels: 2)
            #expect(FileManager.default.createFile(atPath: path, contents: nil))
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            for _ in 0..<440 { try handle.write(contentsOf: period) }  // 28,835,840 frames: 10 min 0.7 s
            try handle.close()

            let clock = ContinuousClock()
            var report: PatternReport?
            let elapsed = try clock.measure { report = try PatternCheck.check(channels: 2, files: [path]) }
            print("PatternCheck: \(report?.frames ?? 0) stereo frames in \(elapsed)")
            #expect(report?.bitExact == true)
            #expect(report?.frames == 440 * 65536)
            #expect(elapsed < .seconds(5))
        }

        // MARK: The microphones

        // Not `-t 1`: ffmpeg stamps ALSA input with the wall clock, and reads this unpaced device one frame
        // per packet, so a second holds anywhere from 25,000 frames (loaded machine) to 125,000.
        @Test("filemic delivers the pattern bit-exact through ffmpeg", .enabled(if: hasFFmpeg, "needs ffmpeg"))
        func fileMicDeliversPattern() throws {
            let directory = try TemporaryDirectory()
            let mic = try TestMic.fileMic(stateDirectory: directory.path, rawFile: nil, channels: 2)
            #expect(mic.deviceName == "filemic")
            let result = try ProcessRunner.run(
                "ffmpeg",
                [
                    "-nostdin", "-f", "alsa", "-channels", "2", "-sample_rate", "48000", "-i", mic.deviceName,
                    "-fs", "192000", "-f", "s16le", "-",
                ],
                environment: TestMic.environment(alsaConfigPath: mic.alsaConfigPath), timeout: 60)
            #expect(result.status == 0, "\(String(decoding: result.stderr.suffix(2000), as: UTF8.self))")
            #expect(result.stdout.count >= 48_000 * 4)
            let report = PatternCheck.check(channels: 2, data: result.stdout.prefix(48_000 * 4))
            #expect(report.bitExact, "\(report)")
            #expect(report.frames == 48_000 && report.leadingSilence == 1)
        }

        @Test(
            "testmic delivers the pattern bit-exact in real time, and stop() ends its server",
            .enabled(if: TestMic.isAvailable, Comment(rawValue: TestMic.unavailableReason ?? "")),
            .enabled(if: hasFFmpeg, "needs ffmpeg"))
        func pacedMicDeliversPattern() throws {
            let mic = try TestMic.start()
            let state = mic.stateDirectory
            print("TestMic: started in \(String(format: "%.2f", mic.startupSeconds)) s (\(state))")
            #expect(!processes(mentioning: state).isEmpty)

            let output = try TemporaryDirectory()
            let path = output.file("out.raw")
            let began = Date()
            let result = try ProcessRunner.run(
                "ffmpeg",
                [
                    "-nostdin", "-f", "alsa", "-channels", "2", "-sample_rate", "48000", "-i", mic.deviceName,
                    "-t", "3", "-f", "s16le", path,
                ],
                environment: mic.environment, timeout: 30)
            let wall = Date().timeIntervalSince(began)
            #expect(result.status == 0, "\(String(decoding: result.stderr.suffix(2000), as: UTF8.self))")
            let report = try PatternCheck.check(channels: 2, files: [path])
            print("TestMic: 3 s capture took \(String(format: "%.2f", wall)) s: \(report)")
            #expect(report.bitExact, "\(report)")
            let bytes = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
            #expect(abs(bytes - 576_000) <= 57_600, "captured \(bytes) bytes for 3 s")

            mic.stop()
            #expect(processes(mentioning: state).isEmpty, "\(processes(mentioning: state))")
            #expect(!FileManager.default.fileExists(atPath: state))
            mic.stop()  // idempotent
        }

        @Test(
            "start() recovers a state directory whose server was killed, and two mics run side by side",
            .enabled(if: TestMic.isAvailable, Comment(rawValue: TestMic.unavailableReason ?? "")),
            .enabled(if: hasFFmpeg, "needs ffmpeg"))
        func pacedMicRecoversStaleState() throws {
            let directory = try TemporaryDirectory(prefix: "testmic-stale", in: "/tmp")
            let first = try TestMic.start(stateDirectory: directory.path)
            let pid = try String(contentsOfFile: directory.file("run/pulse.pid"), encoding: .utf8)
            let killed = try ProcessRunner.run(
                "/bin/kill", ["-KILL", pid.trimmingCharacters(in: .whitespacesAndNewlines)])
            #expect(killed.status == 0)
            // The dead server leaves its pid file and socket behind.
            #expect(FileManager.default.fileExists(atPath: directory.file("run/native")))

            let second = try TestMic.start(stateDirectory: directory.path)
            let other = try TestMic.start()
            #expect(other.stateDirectory != second.stateDirectory)
            for mic in [second, other] {
                let result = try ProcessRunner.run(
                    "ffmpeg",
                    [
                        "-nostdin", "-loglevel", "error", "-f", "alsa", "-channels", "2", "-sample_rate", "48000",
                        "-i", mic.deviceName, "-t", "1", "-f", "s16le", "-",
                    ],
                    environment: mic.environment, timeout: 30)
                let report = PatternCheck.check(channels: 2, data: result.stdout)
                #expect(report.bitExact && report.frames > 40_000, "\(report)")
            }
            first.stop()
            second.stop()
            other.stop()
            #expect(processes(mentioning: directory.path).isEmpty)
            #expect(FileManager.default.fileExists(atPath: directory.path), "a caller's directory is kept")
        }
    }
}

/// Processes whose command line mentions `text`, as "pid: command line".
private func processes(mentioning text: String) -> [String] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.filter { $0.allSatisfy(\.isNumber) }.compactMap { pid in
        guard let raw = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        let line = String(decoding: raw.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
        return line.contains(text) ? "\(pid): \(line)" : nil
    }
}

/// A WAV header for 16-bit 48 kHz PCM declaring `declaredData` bytes of audio, written independently of
/// CaptureCore's WAVHeader so the checker is not tested against the code it checks.
private func wavHeader(channels: Int, declaredData: UInt32, rf64: Bool = false, extraChunks: Bool = false) -> Data {
    func le32(_ value: UInt32) -> Data { withUnsafeBytes(of: value.littleEndian) { Data($0) } }
    func le16(_ value: UInt16) -> Data { withUnsafeBytes(of: value.littleEndian) { Data($0) } }
    func chunk(_ id: String, _ payload: Data) -> Data {
        Data(id.utf8) + le32(UInt32(payload.count)) + payload + (payload.count % 2 == 1 ? Data([0]) : Data())
    }
    let blockAlign = UInt16(2 * channels)
    var body = Data("WAVE".utf8)
    body += chunk(rf64 ? "ds64" : "JUNK", Data(count: 28))
    body += chunk(
        "fmt ",
        le16(1) + le16(UInt16(channels)) + le32(48_000) + le32(48_000 * UInt32(blockAlign)) + le16(blockAlign)
            + le16(16))
    if extraChunks {
        body += chunk("fact", le32(0))
        body += chunk("LIST", Data("INFOx".utf8))
    }
    body += Data("data".utf8) + le32(declaredData)
    return Data((rf64 ? "RF64" : "RIFF").utf8) + le32(rf64 ? 0xFFFF_FFFF : UInt32(body.count) &+ declaredData) + body
}
