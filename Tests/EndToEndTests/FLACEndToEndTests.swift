// End to end: FLAC segments beside WAV segments of the same capture, and a FLAC file repaired after SIGKILL.
import CaptureCore
import CaptureProtocol
import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Closed FLAC files under `directory`, sorted by path.
func flacFiles(under directory: String) -> [String] {
    let all = (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String]) ?? []
    return all.filter { $0.hasSuffix(".flac") }.sorted().map { directory + "/" + $0 }
}

/// The flac and metaflac tools, independent readers of the files.
enum FLACTool {
    static var isAvailable: Bool { ProcessRunner.which("flac") != nil && ProcessRunner.which("metaflac") != nil }

    /// Whether `flac -t` passes; the tool's complaint otherwise.
    static func test(_ path: String) throws -> String? {
        let result = try ProcessRunner.run("flac", ["-t", "-s", path], timeout: 60)
        return result.status == 0 ? nil : "flac -t \(path): \(String(decoding: result.stderr, as: UTF8.self))"
    }

    /// The audio as `flac -d` decodes it: raw, signed, little-endian.
    static func decode(_ path: String) throws -> Data {
        let result = try ProcessRunner.run(
            "flac", ["-d", "-s", "-c", "--force-raw-format", "--endian=little", "--sign=signed", path], timeout: 60)
        try #require(result.status == 0, "flac -d \(path): \(String(decoding: result.stderr, as: UTF8.self))")
        return result.stdout
    }

    static func metaflac(_ path: String, _ option: String) throws -> String {
        let result = try ProcessRunner.run("metaflac", [option, path], timeout: 20)
        try #require(result.status == 0, "metaflac: \(String(decoding: result.stderr, as: UTF8.self))")
        return String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The MD5 `md5sum` computes for `data`.
    static func md5sum(_ data: Data, in directory: String) throws -> String {
        let path = directory + "/md5-input.raw"
        try data.write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        let result = try ProcessRunner.run("md5sum", [path], timeout: 20)
        return String(String(decoding: result.stdout, as: UTF8.self).prefix(32))
    }
}

/// The audio of a WAV file (its `data` chunk to the end of the file).
private func wavAudio(_ path: String) throws -> Data {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let parsed = try WAVHeader.parse(Array(bytes.prefix(65_536)))
    return Data(bytes[parsed.dataOffset..<parsed.dataOffset + Int(parsed.declaredDataSize)])
}

/// `segment.frames` of the sidecar beside `path`.
private func sidecarFrames(_ path: String) throws -> Int {
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path + ".json")))
    return try #require(((json as? [String: Any])?["segment"] as? [String: Any])?["frames"] as? Int)
}

extension EndToEnd {
    @Suite(.serialized, .enabled(if: FLACTool.isAvailable, "needs flac and metaflac (apt-get install flac)"))
    struct FLACEndToEndTests {
        /// One capture, two recordings: WAV and FLAC, cut at the same frames. Every FLAC file passes
        /// `flac -t`, decodes to exactly its WAV twin's audio, and declares the sidecar's frames.
        @Test func flacBesideWAVDecodesToTheSameAudio() throws {
            try DaemonFixture.with { dir in
                try dir.writeConfig(
                    """
                    [source]
                    input_format = "lavfi"
                    device = '\(patternGenerator(seconds: 5))'
                    restart_delay_seconds = 60
                    [levels]
                    log_interval_seconds = 0
                    [control]
                    socket = ""
                    [storage]
                    root = "\(dir.path)/ondemand"
                    state = "\(dir.path)/state"
                    [[recording]]
                    name = "wav"
                    directory = "\(dir.path)/wav"
                    segment_seconds = 2
                    align = "samples"
                    filename = "{seq}"
                    [[recording]]
                    name = "flac"
                    directory = "\(dir.path)/flac"
                    segment_seconds = 2
                    align = "samples"
                    format = "flac"
                    flac_level = 5
                    filename = "{seq}"
                    """)
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("ffmpeg exited on its own"), "\(daemon.log)")
                #expect(daemon.terminate().status == 0)

                let wavs = wavFiles(under: dir.path + "/wav")
                let flacs = flacFiles(under: dir.path + "/flac")
                #expect(
                    wavs.map { ($0 as NSString).lastPathComponent.replacing(".wav", with: "") }
                        == flacs.map { ($0 as NSString).lastPathComponent.replacing(".flac", with: "") })
                #expect(flacs.count == 3, "\(flacs)")
                #expect(partialFiles(under: dir.path).isEmpty)
                var joined = Data()
                for (wav, flac) in zip(wavs, flacs) {
                    #expect(try FLACTool.test(flac) == nil)
                    let decoded = try FLACTool.decode(flac)
                    // A Bool, not `#expect(a == b)`: on failure the macro would print two files' bytes.
                    let sameAudio = decoded == (try wavAudio(wav))
                    #expect(sameAudio, "\(flac) differs from \(wav)")
                    #expect(try FLACTool.metaflac(flac, "--show-total-samples") == "\(try sidecarFrames(flac))")
                    #expect(try sidecarFrames(flac) == (try sidecarFrames(wav)))
                    #expect(try FLACTool.metaflac(flac, "--show-md5sum") == FLACTool.md5sum(decoded, in: dir.path))
                    joined.append(decoded)
                }
                let report = PatternCheck.check(channels: 2, data: joined)
                #expect(report.bitExact, "\(report)")
                #expect(report.frames == 240_000)
                let tags = try FLACTool.metaflac(flacs[0], "--export-tags-to=-")
                #expect(tags.contains("ENCODER=audiocap") && tags.contains("AUDIOCAP_RECORDING=flac"), "\(tags)")
                #expect(tags.contains("AUDIOCAP_FIRST_FRAME=0") && tags.contains("AUDIOCAP_STATION="), "\(tags)")
                // The GUANO fields too, under their GUANO names; Length is known only at close, so it is not there.
                #expect(tags.contains("GUANO|Version=1.0\nTimestamp=") && tags.contains("Samplerate=48000"), "\(tags)")
                #expect(tags.contains("audiocap|Recording=flac") && !tags.contains("Length="), "\(tags)")
                let closed = daemon.lines(containing: "event=segment.closed").filter {
                    $0.contains("recording.name=flac")
                }
                #expect(closed.count == 3)
                #expect(closed.allSatisfy { $0.contains("segment.format=flac") }, "\(closed)")
                // The pattern (a sine and a counter) compresses: the files are smaller than PCM.
                let ratios = closed.compactMap { fields(of: $0)["segment.compression_ratio"].flatMap(Double.init) }
                #expect(ratios.count == 3 && ratios.allSatisfy { $0 > 1 }, "\(ratios)")
            }
        }

        /// SIGKILL while a FLAC file is open: at the next start it is cut to its last whole frame, its
        /// STREAMINFO filled in, and renamed; it passes `flac -t` and holds the pattern, unbroken.
        @Test func aFLACFileLeftBySIGKILLIsRepairedAtTheNextStart() throws {
            try DaemonFixture.with { dir in
                try dir.writeConfig(
                    """
                    [source]
                    input_format = "lavfi"
                    device = '\(patternGenerator(seconds: 600))'
                    input_options = ["-re"]
                    [levels]
                    log_interval_seconds = 0
                    [control]
                    socket = "\(dir.socket)"
                    [storage]
                    root = "\(dir.path)/ondemand"
                    state = "\(dir.path)/state"
                    [[recording]]
                    name = "r"
                    directory = "\(dir.path)/r"
                    segment_seconds = 3600
                    align = "samples"
                    format = "flac"
                    filename = "{seq}"
                    sync_seconds = 0.5
                    """)
                let daemon = try dir.launch()
                #expect(daemon.waitForLog("ffmpeg started"), "\(daemon.log)")
                // Some seconds of the pattern are on disk as FLAC.
                #expect(waitForAudio(under: dir.path + "/r", bytes: 60_000, timeout: 20), "\(daemon.log)")
                daemon.kill9()
                let partial = try #require(partialFiles(under: dir.path + "/r").first)
                #expect(partial.hasSuffix(".flac.partial"))
                let synced = partialBytes(under: dir.path + "/r")

                let second = try dir.launch()
                #expect(second.waitForLog("event=segment.repaired"), "\(second.log)")
                // An on-demand recording may be FLAC too: exactly 1 s of frames.
                #expect(second.waitForLog("control API listening"), "\(second.log)")
                let start = try dir.cli(["start", "od", "--format", "flac", "--for", "1s"])
                #expect(start.status == 0, "\(start.err)")
                #expect(
                    waitUntil(timeout: 15) {
                        second.lines(containing: "event=recording.stopped").contains {
                            $0.contains("recording.name=od")
                        }
                    }, "\(second.log)")
                // Status and the table show the format and how much smaller than PCM its closed files are.
                #expect(try dir.cli(["start", "od2", "--format", "flac", "--segment", "1s"]).status == 0)
                var listed: RecordingResponse?
                #expect(
                    waitUntil(timeout: 15) {
                        let out = (try? dir.cli(["recordings", "--json"]))?.out ?? ""
                        let reply = try? ControlAPI.decoder().decode(RecordingsResponse.self, from: Data(out.utf8))
                        listed = reply?.recordings.first { $0.name == "od2" }
                        return (listed?.segmentsClosed ?? 0) >= 1
                    }, "\(second.log)")
                #expect(listed?.format == "flac")
                #expect((listed?.compressionRatio ?? 0) > 1, "\(String(describing: listed))")
                let table = try dir.cli(["recordings"])
                #expect(table.out.contains("FORMAT") && table.out.contains("flac "), "\(table.out)")
                #expect(second.terminate().status == 0)
                // One file, or two when the second crossed a minute (on-demand segments are clock-aligned).
                let onDemand = flacFiles(under: dir.path + "/ondemand/od")
                #expect((1...2).contains(onDemand.count), "\(onDemand)")
                var onDemandFrames = 0
                for file in onDemand {
                    #expect(try FLACTool.test(file) == nil)
                    onDemandFrames += Int(try FLACTool.metaflac(file, "--show-total-samples")) ?? 0
                }
                #expect(onDemandFrames == 48000, "\(onDemand)")
                let repairedLine = try #require(second.lines(containing: "event=segment.repaired").first)
                let repaired = try #require(fields(of: repairedLine)["segment.path"])
                #expect(repaired == String(partial.dropLast(".partial".count)))
                #expect(try FLACTool.test(repaired) == nil)
                let decoded = try FLACTool.decode(repaired)
                let frames = decoded.count / 4
                #expect(try FLACTool.metaflac(repaired, "--show-total-samples") == "\(frames)")
                #expect(try FLACTool.metaflac(repaired, "--show-md5sum") == FLACTool.md5sum(decoded, in: dir.path))
                // Everything that was on disk at the kill but the last partial frame: at most a block short.
                let size = try #require(try FileManager.default.attributesOfItem(atPath: repaired)[.size] as? Int)
                #expect(size <= synced && size > synced - 20_000, "\(size) of \(synced) bytes")
                #expect(frames > 24_000, "\(frames) frames")
                let report = PatternCheck.check(channels: 2, data: decoded)
                #expect(report.bitExact, "\(report)")
                #expect(report.frames == frames)
                // The sidecar a repaired file gets says how many frames it holds.
                #expect(try sidecarFrames(repaired) == frames)
            }
        }
    }
}
