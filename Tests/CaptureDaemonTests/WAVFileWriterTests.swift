// WAVFileWriter: files every format checked by ffprobe, soxi and ffmpeg; sync, close, naming, errors.

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

@Suite("WAVFileWriter")
struct WAVFileWriterTests {
    static let formats: [AudioFormat] = SampleFormat.allCases.flatMap { sampleFormat in
        [1, 2, 6].map { AudioFormat(sampleRate: 44_100, channels: $0, sampleFormat: sampleFormat) }
    }

    @Test("every format makes a file that ffprobe, soxi and ffmpeg read back exactly", arguments: formats)
    func formatMatrix(format: AudioFormat) throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let frames = 1000
        let samples = WAVTestFiles.samples(format: format, frames: frames)
        let path = directory.file("matrix.wav")

        let writer = try WAVFileWriter(finalPath: path, format: format)
        // Uneven pieces, some splitting frames, as a pipe might deliver them.
        var offset = 0
        var pieces = [5, 333, 1, 4096, 2].makeIterator()
        while offset < samples.count {
            let size = min(pieces.next() ?? 777, samples.count - offset)
            try samples[offset..<offset + size].withUnsafeBytes { try writer.append($0) }
            offset += size
        }
        #expect(writer.frames == Int64(frames))
        #expect(writer.dataBytes == UInt64(samples.count))
        let closed = try writer.close()
        #expect(closed == path)
        #expect(!WAVFileWriter.exists(path + ".partial"))

        let header = WAVHeader(format: format)
        let contents = try WAVTestFiles.read(path)
        #expect(UInt64(contents.count) == header.fileSize(dataBytes: UInt64(samples.count)))
        let parsed = try WAVHeader.parse(contents)
        #expect(parsed.format == format)
        #expect(parsed.declaredDataSize == UInt64(samples.count))
        #expect(Array(contents[header.headerSize..<header.headerSize + samples.count]) == samples)

        let probe = try WAVTestFiles.ffprobe(path)
        #expect(probe.codecName == format.sampleFormat.ffmpegCodec)
        #expect(probe.channels == format.channels)
        #expect(probe.sampleRate == format.sampleRate)
        #expect(probe.durationTS == frames)
        #expect(try WAVTestFiles.soxiSamples(path) == frames)
        #expect(try WAVTestFiles.ffmpegDecode(path, as: format.sampleFormat) == samples)
    }

    @Test("s16 stereo decodes to the same bytes with ffmpeg -f s16le")
    func s16RoundTrip() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)
        let samples = WAVTestFiles.samples(format: format, frames: 4800)
        let writer = try WAVFileWriter(finalPath: directory.file("a.wav"), format: format)
        try samples.withUnsafeBytes { try writer.append($0) }
        let path = try writer.close()
        #expect(try WAVTestFiles.ffmpegDecode(path, as: .s16) == samples)
    }

    @Test("sync rewrites the header in place; unsynced audio is not declared yet")
    func syncRewritesHeader() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)
        let path = directory.file("sync.wav")
        let writer = try WAVFileWriter(finalPath: path, format: format)
        #expect(try WAVHeader.parse(WAVTestFiles.read(path + ".partial")).declaredDataSize == 0)

        try WAVTestFiles.samples(format: format, frames: 100).withUnsafeBytes { try writer.append($0) }
        try writer.sync()
        try WAVTestFiles.samples(format: format, frames: 50).withUnsafeBytes { try writer.append($0) }
        #expect(writer.frames == 150)

        let partial = try WAVTestFiles.read(path + ".partial")
        #expect(partial.count == 80 + 150 * 4)
        #expect(try WAVHeader.parse(partial).declaredFrames == 100)
        #expect(try WAVTestFiles.soxiSamples(path + ".partial") == 100)
        #expect(try WAVTestFiles.ffprobe(path + ".partial").durationTS == 100)

        try writer.sync()
        #expect(try WAVHeader.parse(WAVTestFiles.read(path + ".partial")).declaredFrames == 150)
        try writer.close()
        #expect(try WAVTestFiles.soxiSamples(path) == 150)
    }

    @Test("a trailing partial frame is dropped at close")
    func partialFrameAtClose() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s24)
        let samples = WAVTestFiles.samples(format: format, frames: 11)
        let writer = try WAVFileWriter(finalPath: directory.file("cut.wav"), format: format)
        try samples.withUnsafeBytes { try writer.append($0) }
        try samples[0..<4].withUnsafeBytes { try writer.append($0) }
        #expect(writer.frames == 11)
        let path = try writer.close()
        let contents = try WAVTestFiles.read(path)
        #expect(contents.count == 104 + samples.count)
        #expect(try WAVTestFiles.soxiSamples(path) == 11)
        #expect(try WAVTestFiles.ffmpegDecode(path, as: .s24) == samples)
    }

    @Test("odd-sized audio gets the RIFF pad byte")
    func padByte() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let format = AudioFormat(sampleRate: 8_000, channels: 1, sampleFormat: .s24)
        let samples = WAVTestFiles.samples(format: format, frames: 3)
        let writer = try WAVFileWriter(finalPath: directory.file("odd.wav"), format: format)
        try samples.withUnsafeBytes { try writer.append($0) }
        let path = try writer.close()
        let contents = try WAVTestFiles.read(path)
        #expect(contents.count == 104 + 9 + 1)
        #expect(contents.last == 0)
        #expect(try WAVHeader.parse(contents).declaredRIFFSize == UInt64(contents.count - 8))
        #expect(try WAVTestFiles.soxiSamples(path) == 3)
        #expect(try WAVTestFiles.ffprobe(path).durationTS == 3)
        #expect(try WAVTestFiles.ffmpegDecode(path, as: .s24) == samples)
    }

    @Test("creates missing directories; file 0644, directories 0755 (less the umask)")
    func createsDirectories() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let format = AudioFormat(sampleRate: 48_000, channels: 1, sampleFormat: .s16)
        let path = directory.file("2026/01/02/deep.wav")
        let writer = try WAVFileWriter(finalPath: path, format: format)
        let mask = currentUmask()
        #expect(mode(of: directory.file("2026")) == 0o755 & ~mask)
        #expect(mode(of: directory.file("2026/01/02")) == 0o755 & ~mask)
        #expect(mode(of: path + ".partial") == 0o644 & ~mask)
        try writer.close()
        #expect(mode(of: path) == 0o644 & ~mask)
    }

    @Test("refuses to replace an existing .partial file")
    func refusesToClobber() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let path = directory.file("taken.wav")
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: path + ".partial"))
        let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)
        let error = #expect(throws: WAVWriteError.self) {
            _ = try WAVFileWriter(finalPath: path, format: format)
        }
        #expect(error?.operation == .create)
        #expect(error?.errno == EEXIST)
        #expect(error?.path == path + ".partial")
        #expect(try WAVTestFiles.read(path + ".partial") == Array("keep me".utf8))
    }

    @Test("close does not replace a file that took the final name meanwhile")
    func closeNeverOverwrites() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)
        let path = directory.file("x.wav")
        let writer = try WAVFileWriter(finalPath: path, format: format)
        try WAVTestFiles.samples(format: format, frames: 10).withUnsafeBytes { try writer.append($0) }
        try Data("other".utf8).write(to: URL(fileURLWithPath: path))
        let closed = try writer.close()
        #expect(closed == directory.file("x-1.wav"))
        #expect(try WAVTestFiles.read(path) == Array("other".utf8))
        #expect(try WAVTestFiles.soxiSamples(closed) == 10)
        #expect(!WAVFileWriter.exists(path + ".partial"))
    }

    @Test("abandon leaves a valid .partial; a closed writer refuses more work")
    func abandonAndClosed() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .f32)
        let path = directory.file("gone.wav")
        let writer = try WAVFileWriter(finalPath: path, format: format)
        let samples = WAVTestFiles.samples(format: format, frames: 20)
        try samples.withUnsafeBytes { try writer.append($0) }
        writer.abandon()
        #expect(!WAVFileWriter.exists(path))
        #expect(try WAVTestFiles.soxiSamples(path + ".partial") == 20)

        let error = #expect(throws: WAVWriteError.self) {
            try samples.withUnsafeBytes { try writer.append($0) }
        }
        #expect(error?.errno == EBADF)
        #expect(throws: WAVWriteError.self) { try writer.close() }
        writer.abandon()  // idempotent
    }

    @Test("uniquePath never returns an existing name")
    func uniquePath() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let desired = directory.file("rec.wav")
        #expect(WAVFileWriter.uniquePath(for: desired) == desired)

        try Data().write(to: URL(fileURLWithPath: desired))
        #expect(WAVFileWriter.uniquePath(for: desired) == directory.file("rec-1.wav"))

        try Data().write(to: URL(fileURLWithPath: directory.file("rec-1.wav.partial")))
        #expect(WAVFileWriter.uniquePath(for: desired) == directory.file("rec-2.wav"))

        try Data().write(to: URL(fileURLWithPath: directory.file("rec-2.wav")))
        #expect(WAVFileWriter.uniquePath(for: desired) == directory.file("rec-3.wav"))

        // Only the .partial exists: still taken.
        let other = directory.file("other.wav")
        try Data().write(to: URL(fileURLWithPath: other + ".partial"))
        #expect(WAVFileWriter.uniquePath(for: other) == directory.file("other-1.wav"))

        // Without a .wav extension the number goes at the end.
        let plain = directory.file("noext")
        try Data().write(to: URL(fileURLWithPath: plain))
        #expect(WAVFileWriter.uniquePath(for: plain) == directory.file("noext-1"))

        // A dangling symbolic link counts as taken.
        let link = directory.file("link.wav")
        #expect(symlink(directory.file("nowhere"), link) == 0)
        #expect(WAVFileWriter.uniquePath(for: link) == directory.file("link-1.wav"))
    }

    @Test("WAVWriteError: disk full mapping and a readable description")
    func writeErrors() {
        let full = WAVWriteError(operation: .write, path: "/rec/a.wav.partial", errno: ENOSPC)
        #expect(full.isDiskFull)
        #expect(WAVWriteError(operation: .sync, path: "/rec/a.wav.partial", errno: EDQUOT).isDiskFull)
        #expect(!WAVWriteError(operation: .write, path: "/rec/a.wav.partial", errno: EIO).isDiskFull)
        #expect(!WAVWriteError(operation: .create, path: "/rec/a.wav.partial", errno: EACCES).isDiskFull)
        #expect(full.description.hasPrefix("Could not write audio to /rec/a.wav.partial: "))
        #expect(full.description.contains("errno \(ENOSPC)"))
        #expect(full.description.contains("free space"))
        let custom = WAVWriteError(operation: .rename, path: "/p", errno: EXDEV, message: "across devices.")
        #expect(custom.description == "Could not rename /p: across devices.")
    }

    private func mode(of path: String) -> mode_t {
        var info = stat()
        guard lstat(path, &info) == 0 else { return 0 }
        return info.st_mode & 0o7777
    }

    /// The process's umask, read without changing it (Linux /proc); 022 when unknown.
    private func currentUmask() -> mode_t {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        for line in status.split(separator: "\n") where line.hasPrefix("Umask:") {
            let value = line.dropFirst("Umask:".count).trimmingCharacters(in: .whitespaces)
            if let mask = mode_t(value, radix: 8) { return mask }
        }
        return 0o022
    }
}

/// Test data and the independent readers (ffprobe, soxi, ffmpeg) shared by the writer and repair tests.
enum WAVTestFiles {
    struct Probe {
        var codecName: String?
        var channels: Int?
        var sampleRate: Int?
        var durationTS: Int?
    }

    /// A fresh directory under the system's temporary directory, named with a UUID.
    static func makeDirectory() throws -> TemporaryDirectory {
        try TemporaryDirectory(prefix: "audiocap-wav-\(UUID().uuidString)")
    }

    /// `frames` frames of a deterministic signal that differs per channel and frame (no NaNs).
    static func samples(format: AudioFormat, frames: Int, startFrame: Int = 0) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(frames * format.bytesPerFrame)
        for frame in startFrame..<startFrame + frames {
            for channel in 0..<format.channels {
                let n = frame &* 7919 &+ channel &* 104_729
                switch format.sampleFormat {
                case .s16:
                    appendLittleEndian(UInt16(truncatingIfNeeded: n), count: 2, to: &bytes)
                case .s24:
                    appendLittleEndian(UInt32(truncatingIfNeeded: n &* 257), count: 3, to: &bytes)
                case .s32:
                    appendLittleEndian(UInt32(truncatingIfNeeded: n &* 65_537 &+ 12_345), count: 4, to: &bytes)
                case .f32:
                    let value = Float(sin(Double(frame) * 0.031 + Double(channel))) * 0.75
                    appendLittleEndian(value.bitPattern, count: 4, to: &bytes)
                }
            }
        }
        return bytes
    }

    /// The file's bytes, or its first `limit` bytes.
    static func read(_ path: String, limit: Int? = nil) throws -> [UInt8] {
        guard let limit else { return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        return [UInt8](try handle.read(upToCount: limit) ?? Data())
    }

    static func ffprobe(_ path: String) throws -> Probe {
        let result = try ProcessRunner.run(
            "ffprobe", ["-v", "error", "-show_streams", "-of", "json", path], timeout: 20)
        try #require(result.status == 0, "ffprobe: \(String(decoding: result.stderr, as: UTF8.self))")
        let json = try JSONSerialization.jsonObject(with: result.stdout) as? [String: Any]
        let stream = try #require((json?["streams"] as? [[String: Any]])?.first)
        return Probe(
            codecName: stream["codec_name"] as? String,
            channels: stream["channels"] as? Int,
            sampleRate: (stream["sample_rate"] as? String).flatMap { Int($0) },
            durationTS: stream["duration_ts"] as? Int)
    }

    /// The sample count (frames) soxi reads from the header.
    static func soxiSamples(_ path: String) throws -> Int? {
        let result = try ProcessRunner.run("soxi", ["-s", path], timeout: 20)
        try #require(result.status == 0, "soxi: \(String(decoding: result.stderr, as: UTF8.self))")
        return Int(String(decoding: result.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The audio as ffmpeg decodes it, re-encoded as raw `sampleFormat`.
    static func ffmpegDecode(_ path: String, as sampleFormat: SampleFormat) throws -> [UInt8] {
        let result = try ProcessRunner.run(
            "ffmpeg", ["-nostdin", "-v", "error", "-i", path, "-f", sampleFormat.ffmpegMuxer, "-"], timeout: 20)
        try #require(result.status == 0, "ffmpeg: \(String(decoding: result.stderr, as: UTF8.self))")
        return [UInt8](result.stdout)
    }

    private static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, count: Int, to bytes: inout [UInt8]) {
        for index in 0..<count { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }
}
