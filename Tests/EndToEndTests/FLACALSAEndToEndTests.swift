// End to end: FLAC recordings on the real ALSA path, checked against WAV recordings of the same capture,
// the test pattern, and the bytes the exact file-backed microphone plays (s24 and s32).
import CaptureCore
import Foundation
import TestSupport
import Testing

extension EndToEnd {
    @Suite(.serialized, .enabled(if: FLACTool.isAvailable, "needs flac and metaflac (apt-get install flac)"))
    struct FLACALSAEndToEndTests {
        /// The paced test microphone into a FLAC recording beside a WAV recording: every FLAC file passes
        /// `flac -t`, declares its sidecar's frames, decodes to its WAV twin's audio, and joined they are
        /// the test pattern, unbroken.
        @Test(
            .enabled(
                if: TestMic.isAvailable,
                "the ALSA test microphone needs pulseaudio, pactl, pacat and libasound2-plugins"))
        func pacedMicrophoneIntoFLACBesideWAV() throws {
            try DaemonFixture.with(mic: true) { dir in
                try dir.writeConfig(
                    """
                    [source]
                    device = "testmic"
                    restart_delay_seconds = 0.2
                    [levels]
                    log_interval_seconds = 0
                    [control]
                    socket = ""
                    [storage]
                    root = "\(dir.path)/ondemand"
                    state = "\(dir.state)"
                    [[recording]]
                    name = "wav"
                    directory = "\(dir.path)/wav"
                    segment_seconds = 1
                    align = "samples"
                    filename = "{seq}"
                    [[recording]]
                    name = "flac"
                    directory = "\(dir.path)/flac"
                    segment_seconds = 1
                    align = "samples"
                    format = "flac"
                    filename = "{seq}"
                    """)
                let daemon = try dir.launch()
                #expect(
                    daemon.waitForLog("event=segment.closed recording.name=flac", count: 3, timeout: 20),
                    "\(daemon.log)")
                #expect(daemon.terminate().status == 0)
                #expect(partialFiles(under: dir.path).isEmpty)

                let joined = try decodeFLACBesideWAV(flac: dir.path + "/flac", wav: dir.path + "/wav", count: 3...)
                let report = PatternCheck.check(channels: 2, data: joined)
                #expect(report.bitExact, "\(report)")
                #expect(report.frames >= 3 * 48_000, "\(report)")
            }
        }

        /// s24 and s32 FLAC from the exact file-backed microphone (no resampling, no mixing: the bytes of a
        /// file, captured as 32-bit samples): decoded, the files are the WAV recordings' audio and the
        /// file the microphone plays, bit for bit (its top 24 bits for s24).
        @Test func s24AndS32FLACFromTheExactFileMicrophoneRoundTripBitExact() throws {
            try DaemonFixture.with { dir in
                let frames = 65_536
                let played = fullScaleSignal(frames: frames)
                let raw = dir.file("s32.raw")
                try played.write(to: URL(fileURLWithPath: raw))
                let mic = try TestMic.fileMic(stateDirectory: dir.file("filemic"), rawFile: raw)
                var config = ""
                for depth in ["s24", "s32"] {
                    config += SourceTable.alsa(depth, device: mic.deviceName, extra: "sample_format = \"\(depth)\"")
                }
                config += """
                    [levels]
                    log_interval_seconds = 0
                    [control]
                    socket = ""
                    [storage]
                    root = "\(dir.path)/ondemand"
                    state = "\(dir.state)"

                    """
                for depth in ["s24", "s32"] {
                    for format in ["wav", "flac"] {
                        config += """
                            [[recording]]
                            name = "\(depth)\(format)"
                            source = "\(depth)"
                            directory = "\(dir.path)/\(depth)\(format)"
                            segment_seconds = 1
                            align = "samples"
                            format = "\(format)"
                            filename = "{seq}"

                            """
                    }
                }
                try dir.writeConfig(config)
                let daemon = try dir.launch(environment: ["ALSA_CONFIG_PATH": mic.alsaConfigPath])
                // Two closed files of each recording hold the whole file the microphone plays (then junk).
                for name in ["s24wav", "s24flac", "s32wav", "s32flac"] {
                    #expect(
                        waitUntil(timeout: 20) {
                            daemon.lines(containing: "event=segment.closed").filter {
                                fields(of: $0)["recording.name"] == name
                            }.count >= 2
                        }, "\(daemon.log)")
                }
                #expect(daemon.terminate().status == 0)

                for depth in ["s24", "s32"] {
                    let flacs = flacFiles(under: dir.path + "/\(depth)flac")
                    let joined = try decodeFLACBesideWAV(
                        flac: dir.path + "/\(depth)flac", wav: dir.path + "/\(depth)wav", count: 2...)
                    let bits = depth == "s24" ? 24 : 32
                    if let first = flacs.first {
                        #expect(try FLACTool.metaflac(first, "--show-bps") == "\(bits)")
                    }
                    // ffmpeg captures 32 bits and keeps the top 24 for s24.
                    let expected = depth == "s32" ? played : topBytes(of: played, keeping: 3)
                    #expect(joined.count > expected.count, "\(depth): \(joined.count) bytes")
                    let difference = firstDifference(joined.prefix(expected.count), expected)
                    #expect(difference == nil, "\(depth) differs from what the mic played at byte \(difference ?? 0)")
                }
            }
        }
    }
}

/// Checks every closed FLAC file under `flac` against its twin (same name, `.wav`) under `wav`: both
/// recordings have the same files (`count` of them), each FLAC file passes `flac -t`, its `STREAMINFO`
/// total samples equal its sidecar's frames and its twin's, and `flac -d` gives the twin's audio byte for
/// byte. Returns the FLAC files' decoded audio, joined in order.
private func decodeFLACBesideWAV(flac: String, wav: String, count: PartialRangeFrom<Int>) throws -> Data {
    let flacs = flacFiles(under: flac)
    let wavs = wavFiles(under: wav)
    #expect(
        flacs.map { ($0 as NSString).lastPathComponent.replacing(".flac", with: "") }
            == wavs.map { ($0 as NSString).lastPathComponent.replacing(".wav", with: "") })
    #expect(count.contains(flacs.count), "\(flacs)")
    var joined = Data()
    for (flacFile, wavFile) in zip(flacs, wavs) {
        #expect(try FLACTool.test(flacFile) == nil)
        let frames = try flacSidecarFrames(flacFile)
        #expect(try FLACTool.metaflac(flacFile, "--show-total-samples") == "\(frames)", "\(flacFile)")
        #expect(frames == (try flacSidecarFrames(wavFile)), "\(flacFile)")
        let decoded = try FLACTool.decode(flacFile)
        let difference = firstDifference(decoded, try wavFileAudio(wavFile))
        #expect(difference == nil, "\(flacFile) differs from \(wavFile) at byte \(difference ?? 0)")
        joined.append(decoded)
    }
    return joined
}

/// The offset of the first byte where `a` and `b` differ (the shorter one's length when one is a prefix of
/// the other), or nil when they are equal. A Bool to expect on: swift-testing's diff of two failing
/// collections of this size takes minutes.
private func firstDifference(_ a: Data, _ b: Data) -> Int? {
    let x = [UInt8](a)
    let y = [UInt8](b)
    if x == y { return nil }
    return (0..<min(x.count, y.count)).first { x[$0] != y[$0] } ?? min(x.count, y.count)
}

/// The audio of a WAV file: its `data` chunk.
private func wavFileAudio(_ path: String) throws -> Data {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let parsed = try WAVHeader.parse(Array(bytes.prefix(65_536)))
    return Data(bytes[parsed.dataOffset..<parsed.dataOffset + Int(parsed.declaredDataSize)])
}

/// `segment.frames` of the sidecar beside `path`.
private func flacSidecarFrames(_ path: String) throws -> Int {
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path + ".json")))
    return try #require(((json as? [String: Any])?["segment"] as? [String: Any])?["frames"] as? Int)
}

/// `frames` of stereo s32le that use every bit: channel 0 a loud slow sine with noise in its low 12 bits
/// (LPC has something to predict), channel 1 noise over the whole range; the first two frames hold the
/// extremes.
private func fullScaleSignal(frames: Int) -> Data {
    var samples: [Int32] = []
    samples.reserveCapacity(frames * 2)
    var noise: UInt32 = 0x2468_ACE1
    for frame in 0..<frames {
        noise = noise &* 1_664_525 &+ 1_013_904_223
        let tone = Int64((sin(Double(frame) * 0.013) * 0.9 * Double(Int32.max)).rounded())
        samples.append(Int32(clamping: tone + Int64(noise >> 20)))
        noise = noise &* 1_664_525 &+ 1_013_904_223
        samples.append(Int32(bitPattern: noise))
    }
    samples[0] = .min
    samples[1] = .max
    samples[2] = .max
    samples[3] = .min
    var data = Data(capacity: samples.count * 4)
    for sample in samples {
        withUnsafeBytes(of: sample.littleEndian) { data.append(contentsOf: $0) }
    }
    return data
}

/// Each 4-byte little-endian sample of `data` cut to its `keeping` most significant bytes.
private func topBytes(of data: Data, keeping: Int) -> Data {
    var out = Data(capacity: data.count / 4 * keeping)
    let bytes = [UInt8](data)
    for start in stride(from: 0, to: bytes.count, by: 4) {
        out.append(contentsOf: bytes[(start + 4 - keeping)..<(start + 4)])
    }
    return out
}
