// FLACFileWriter and the repair of `.flac.partial` files, checked with libFLAC's decoder and the flac and
// metaflac tools.

import CaptureCore
import Foundation
import TestSupport
import Testing

@testable import CaptureDaemon

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite(
    "FLACFileWriter",
    .enabled(
        if: ProcessRunner.which("flac") != nil && ProcessRunner.which("metaflac") != nil, "needs flac and metaflac"))
struct FLACFileWriterTests {
    static let formats: [AudioFormat] = [SampleFormat.s16, .s24, .s32].flatMap { sampleFormat in
        [1, 2].map { AudioFormat(sampleRate: 48_000, channels: $0, sampleFormat: sampleFormat) }
    }

    @Test("s16, s24 and s32 round-trip bit-exact through libFLAC and flac -d; STREAMINFO is exact", arguments: formats)
    func roundTrip(format: AudioFormat) throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let frames = 20_000
        let samples = FLACTestFiles.signal(format: format, frames: frames)
        let path = directory.file("round.flac")
        let writer = try FLACFileWriter(
            finalPath: path, format: format, level: 5, tags: .init(recording: "main", startTime: 1_780_000_000.5))
        // Uneven pieces, as chunks arrive.
        var offset = 0
        var pieces = [1, 333, 4096, 7, 10_000].makeIterator()
        let bytesPerFrame = format.bytesPerFrame
        while offset < frames {
            let count = min(pieces.next() ?? 1500, frames - offset)
            try samples[offset * bytesPerFrame..<(offset + count) * bytesPerFrame].withUnsafeBytes {
                try writer.append($0)
            }
            offset += count
        }
        #expect(writer.frames == Int64(frames))
        try writer.sync()
        let closed = try writer.close()
        #expect(closed == path)
        #expect(!WAVFileWriter.exists(path + ".partial"))

        // libFLAC's own decoder.
        let scan = try FLACTestFiles.scan(path)
        #expect(scan.format == format)
        #expect(scan.frames == Int64(frames))
        #expect(scan.audio == samples)
        #expect(scan.declaredFrames == UInt64(frames))
        #expect(scan.declaredMD5 == scan.md5)
        // The flac and metaflac tools.
        #expect(try FLACTestFiles.test(path))
        #expect(try FLACTestFiles.decode(path) == samples)
        #expect(try FLACTestFiles.metaflac(path, "--show-total-samples") == "\(frames)")
        #expect(try FLACTestFiles.metaflac(path, "--show-bps") == "\(format.sampleFormat.bitsPerSample)")
        #expect(try FLACTestFiles.metaflac(path, "--show-md5sum") == FLACTestFiles.md5sum(samples))
        var md5 = MD5()
        md5.update(samples)
        #expect(try FLACTestFiles.hex(md5.finalize()) == FLACTestFiles.md5sum(samples))
    }

    @Test("the Vorbis comments say the encoder, the first frame's time and sample, and the recording")
    func vorbisComments() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)
        let path = directory.file("tags.flac")
        // 2026-06-01T12:00:00.250Z: 43 200.25 s after midnight.
        let writer = try FLACFileWriter(
            finalPath: path, format: format, tags: .init(recording: "archive", startTime: 1_780_315_200.25))
        try FLACTestFiles.signal(format: format, frames: 100).withUnsafeBytes { try writer.append($0) }
        try writer.close()
        let tags = try FLACTestFiles.metaflac(path, "--export-tags-to=-").split(separator: "\n").map(String.init)
        #expect(tags.contains("ENCODER=audiocap"))
        #expect(tags.contains("DATE=2026-06-01T12:00:00.250Z"))
        #expect(tags.contains("TIME_REFERENCE=\(43_200 * 48_000 + 12_000)"))
        #expect(tags.contains("AUDIOCAP_RECORDING=archive"))
    }

    @Test("the Vorbis comments carry the GUANO fields under their GUANO names, all but Length and the gaps")
    func vorbisCommentsCarryGuanoFields() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s24)
        let path = directory.file("guano.flac")
        var station = StationConfiguration()
        station.id = "garden-01"
        station.latitude = 52.5
        station.longitude = -1.25
        station.elevation = 120
        station.make = "Acme"
        station.model = "Field 2"
        station.serial = "SN42"
        station.note = "hedge\nnorth side"
        var metadata = SegmentMetadata(
            station: station, hostName: "box", recording: "birds", source: "main", format: format,
            firstFrame: 4_800, startTime: 1_796_155_206.25, timeZone: .utc, filename: "guano.flac")
        // What the file holds at close is not in the comments: they are written before the audio.
        metadata.frames = 100
        metadata.gaps = 1
        metadata.gapFrames = 10
        let writer = try FLACFileWriter(finalPath: path, format: format, tags: .init(metadata))
        try FLACTestFiles.signal(format: format, frames: 100).withUnsafeBytes { try writer.append($0) }
        try writer.close()
        let tags = try FLACTestFiles.metaflac(path, "--export-tags-to=-").split(separator: "\n").map(String.init)
        let expected = [
            "GUANO|Version=1.0",
            "Timestamp=2026-12-01T20:00:06.250000+00:00",
            "Samplerate=48000",
            "Make=Acme",
            "Model=Field 2",
            "Serial=SN42",
            "Loc Position=52.5 -1.25",
            "Loc Elevation=120.0",
            "Original Filename=guano.flac",
            "Note=hedge\\nnorth side",
            "audiocap|Version=\(AudioCapVersion.string)",
            "audiocap|Station=garden-01",
            "audiocap|Recording=birds",
            "audiocap|Source=main",
            "audiocap|First Frame=4800",
        ]
        // After audiocap's own, in GUANO's order.
        #expect(Array(tags.suffix(expected.count)) == expected, "\(tags)")
        #expect(tags.contains("AUDIOCAP_STATION=garden-01") && tags.contains("AUDIOCAP_FIRST_FRAME=4800"))
        #expect(tags.contains("TIME_REFERENCE=\(metadata.timeReference)"), "\(tags)")
        for key in ["Length", "audiocap|Gaps", "audiocap|Gap Frames"] {
            #expect(!tags.contains { $0.hasPrefix(key + "=") }, "\(key) in \(tags)")
        }
        #expect(try FLACTestFiles.test(path))
    }

    @Test("an empty file closes as a valid FLAC stream of 0 samples")
    func emptyFile() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let path = directory.file("empty.flac")
        let writer = try FLACFileWriter(
            finalPath: path, format: AudioFormat(sampleRate: 8000, channels: 1, sampleFormat: .s16),
            tags: .init(recording: "r", startTime: 0))
        try writer.close()
        #expect(try FLACTestFiles.test(path))
        #expect(try FLACTestFiles.metaflac(path, "--show-total-samples") == "0")
    }

    @Test("f32 is refused with a reason")
    func floatRefused() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        #expect(throws: WAVWriteError.self) {
            _ = try FLACFileWriter(
                finalPath: directory.file("f.flac"),
                format: AudioFormat(sampleRate: 8000, channels: 1, sampleFormat: .f32),
                tags: .init(recording: "r", startTime: 0))
        }
    }

    @Test(
        "a full disk: append throws isDiskFull, close cuts the file to its whole frames and finishes it",
        .enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
    func diskFull() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let mountPoint = directory.file("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mount = try ProcessRunner.run("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mountPoint])
        try #require(mount.status == 0, "cannot mount tmpfs: \(String(decoding: mount.stderr, as: UTF8.self))")
        defer { _ = try? ProcessRunner.run("umount", ["-l", mountPoint]) }

        let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s24)
        // Noise-like audio hardly compresses: 256 KiB fill up within a second of it.
        let samples = WAVTestFiles.samples(format: format, frames: 48_000 * 4)
        let path = mountPoint + "/full.flac"
        let writer = try FLACFileWriter(finalPath: path, format: format, tags: .init(recording: "r", startTime: 0))
        var failure: WAVWriteError?
        let piece = 4800 * format.bytesPerFrame
        var offset = 0
        while offset < samples.count {
            do {
                try samples[offset..<min(samples.count, offset + piece)].withUnsafeBytes { try writer.append($0) }
            } catch {
                failure = error as? WAVWriteError ?? WAVWriteError(operation: .write, path: path, errno: EIO)
                break
            }
            offset += piece
        }
        let error = try #require(failure, "the disk never filled up")
        #expect(error.isDiskFull, "\(error)")
        let closed = try writer.close()
        #expect(closed == path)
        #expect(!WAVFileWriter.exists(path + ".partial"))
        #expect(writer.frames > 0 && writer.frames % 4096 == 0, "\(writer.frames)")
        #expect(try FLACTestFiles.test(path))
        #expect(try FLACTestFiles.metaflac(path, "--show-total-samples") == "\(writer.frames)")
        #expect(try FLACTestFiles.decode(path) == Array(samples.prefix(Int(writer.frames) * format.bytesPerFrame)))
    }

    // MARK: - Repair

    @Test(
        "a .flac.partial cut mid-frame is cut to its last whole frame, its STREAMINFO filled in",
        arguments: [
            SampleFormat.s16, .s24, .s32,
        ])
    func repairCutMidFrame(sampleFormat: SampleFormat) throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: sampleFormat)
        let path = directory.file("2026/crash.flac")
        let samples = FLACTestFiles.signal(format: format, frames: 30_000)
        let writer = try FLACFileWriter(finalPath: path, format: format, tags: .init(recording: "r", startTime: 0))
        try samples.withUnsafeBytes { try writer.append($0) }
        try writer.sync()
        let written = writer.dataBytes
        writer.abandon()
        // A crash in the middle of a frame's write.
        #expect(truncate(path + ".partial", off_t(written - 100)) == 0)

        let results = PartialRepair.repairAll(under: directory.path)
        try #require(results.count == 1)
        let result = results[0]
        #expect(result.action == .repaired)
        #expect(result.path == path)
        #expect(result.format == format)
        #expect(result.bytesTrimmed > 0)
        // libFLAC wrote seven blocks of 4096 frames (the rest waits for a full block); the seventh is cut.
        #expect(result.frames == 6 * 4096)
        #expect(try FLACTestFiles.test(path))
        #expect(try FLACTestFiles.metaflac(path, "--show-total-samples") == "\(result.frames)")
        let decoded = try FLACTestFiles.decode(path)
        let sameAudio = decoded == Array(samples.prefix(Int(result.frames) * format.bytesPerFrame))
        #expect(sameAudio, "the decoded audio differs from what was written")
        #expect(try FLACTestFiles.metaflac(path, "--show-md5sum") == FLACTestFiles.md5sum(decoded))
        #expect(UInt64(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int) == result.bytes)
    }

    @Test("an empty .flac.partial is removed; one that is not FLAC is kept as .damaged")
    func repairEmptyAndNotFLAC() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let empty = directory.file("empty.flac.partial")
        let garbage = directory.file("garbage.flac.partial")
        #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
        #expect(FileManager.default.createFile(atPath: garbage, contents: Data("RIFF not a flac stream".utf8)))

        let results = PartialRepair.repairAll(under: directory.path)
        try #require(results.count == 2)
        #expect(results[0].originalPath == empty)
        #expect(results[0].action == .removedEmpty)
        #expect(!WAVFileWriter.exists(empty))
        #expect(results[1].originalPath == garbage)
        guard case .markedDamaged(let reason) = results[1].action else {
            Issue.record("not marked damaged: \(results[1].action)")
            return
        }
        #expect(reason.contains("FLAC"))
        #expect(results[1].path == directory.file("garbage.flac.damaged"))
        #expect(try WAVTestFiles.read(results[1].path) == Array("RIFF not a flac stream".utf8))
    }

    @Test("a .flac.partial with its header but no whole frame is removed: it held no audio")
    func repairHeaderOnly() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let format = AudioFormat(sampleRate: 48_000, channels: 1, sampleFormat: .s16)
        let path = directory.file("head.flac")
        let writer = try FLACFileWriter(finalPath: path, format: format, tags: .init(recording: "r", startTime: 0))
        try FLACTestFiles.signal(format: format, frames: 100).withUnsafeBytes { try writer.append($0) }
        writer.abandon()
        let result = PartialRepair.repair(path: path + ".partial")
        #expect(result.action == .removedEmpty)
        #expect(!WAVFileWriter.exists(path + ".partial"))
        #expect(!WAVFileWriter.exists(path))
    }
}

@Suite("MD5")
struct MD5Tests {
    @Test("RFC 1321's test vectors, whole and in pieces")
    func vectors() {
        let cases = [
            ("", "d41d8cd98f00b204e9800998ecf8427e"),
            ("abc", "900150983cd24fb0d6963f7d28e17f72"),
            ("message digest", "f96b697d7cb7938d525a2f31aaf161d0"),
            (
                "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
                "57edf4a22be3c955ac49da2e2107b67a"
            ),
        ]
        for (text, expected) in cases {
            var whole = MD5()
            whole.update(Array(text.utf8))
            #expect(FLACTestFiles.hex(whole.finalize()) == expected)
            var pieces = MD5()
            for byte in text.utf8 { pieces.update([byte]) }
            #expect(FLACTestFiles.hex(pieces.finalize()) == expected)
        }
    }
}

/// Reading FLAC files back with libFLAC and with the flac tools.
enum FLACTestFiles {
    /// A signal that compresses somewhat (a slow sine plus a little deterministic noise), full-scale
    /// for the sample format so every bit of the depth is used.
    static func signal(format: AudioFormat, frames: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(frames * format.bytesPerFrame)
        let bits = format.sampleFormat.bitsPerSample
        let peak = Double((Int64(1) << (bits - 1)) - 1)
        var noise: UInt32 = 0x1234_5678
        for frame in 0..<frames {
            for channel in 0..<format.channels {
                noise = noise &* 1_664_525 &+ 1_013_904_223
                let tone = sin(Double(frame) * 0.02 * Double(channel + 1)) * 0.6 * peak
                let jitter = Double(Int32(bitPattern: noise) >> 24) * (peak / 2048)
                let value = Int64((tone + jitter).rounded())
                for index in 0..<format.sampleFormat.bytesPerSample {
                    bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index)))
                }
            }
        }
        // The extremes too.
        if frames > 2 {
            let width = format.sampleFormat.bytesPerSample
            for index in 0..<width { bytes[index] = index == width - 1 ? 0x80 : 0x00 }
            for index in 0..<width { bytes[width + index] = index == width - 1 ? 0x7F : 0xFF }
        }
        return bytes
    }

    static func scan(_ path: String) throws -> FLACFileScan {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        return try FLACFileScan.scan(fd: fd, keepAudio: true)
    }

    /// Whether `flac -t` finds the file sound.
    static func test(_ path: String) throws -> Bool {
        let result = try ProcessRunner.run("flac", ["-t", "-s", path], timeout: 60)
        if result.status != 0 { Issue.record("flac -t: \(String(decoding: result.stderr, as: UTF8.self))") }
        return result.status == 0
    }

    /// The audio as `flac -d` decodes it: raw, signed, little-endian.
    static func decode(_ path: String) throws -> [UInt8] {
        let result = try ProcessRunner.run(
            "flac", ["-d", "-s", "-c", "--force-raw-format", "--endian=little", "--sign=signed", path], timeout: 60)
        try #require(result.status == 0, "flac -d: \(String(decoding: result.stderr, as: UTF8.self))")
        return [UInt8](result.stdout)
    }

    /// What `metaflac OPTION FILE` prints, trimmed.
    static func metaflac(_ path: String, _ option: String) throws -> String {
        let result = try ProcessRunner.run("metaflac", [option, path], timeout: 20)
        try #require(result.status == 0, "metaflac: \(String(decoding: result.stderr, as: UTF8.self))")
        return String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The MD5 of `bytes` as `md5sum` computes it.
    static func md5sum(_ bytes: [UInt8]) throws -> String {
        let directory = try TemporaryDirectory(prefix: "audiocap-md5")
        defer { directory.remove() }
        let path = directory.file("audio.raw")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let result = try ProcessRunner.run("md5sum", [path], timeout: 20)
        try #require(result.status == 0)
        return String(String(decoding: result.stdout, as: UTF8.self).prefix(32))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }
}
