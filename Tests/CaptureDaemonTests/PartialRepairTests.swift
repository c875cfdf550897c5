// PartialRepair: crash leftovers become complete WAV files; nothing with audio is ever deleted.

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

@Suite("PartialRepair")
struct PartialRepairTests {
    let stereo16 = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)

    /// The crash-safety contract end to end: sync, write more, crash, repair, nothing lost.
    @Test("a crash after a sync: readable before repair, every frame back after it")
    func crashAfterSync() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let format = stereo16
        let synced = WAVTestFiles.samples(format: format, frames: 1000)
        let unsynced = WAVTestFiles.samples(format: format, frames: 500, startFrame: 1000)

        let writer = try WAVFileWriter(finalPath: directory.file("live/rec.wav"), format: format)
        try synced.withUnsafeBytes { try writer.append($0) }
        try writer.sync()
        try unsynced.withUnsafeBytes { try writer.append($0) }
        try unsynced[0..<3].withUnsafeBytes { try writer.append($0) }  // a partial frame
        // The crash: the file as it is on disk now, without the writer closing or abandoning it.
        let crashed = directory.file("crashed/rec.wav.partial")
        try FileManager.default.createDirectory(
            atPath: directory.file("crashed"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: directory.file("live/rec.wav.partial"), toPath: crashed)
        writer.abandon()

        // Before repair the file is valid and shows what was synced.
        #expect(try WAVTestFiles.soxiSamples(crashed) == 1000)
        #expect(try WAVTestFiles.ffprobe(crashed).durationTS == 1000)

        let found = PartialRepair.repairAll(under: directory.file("crashed"))
        // The result says when the file was last written; the comparison below is about the rest.
        #expect(found.allSatisfy { ($0.lastModified ?? 0) > Date().timeIntervalSince1970 - 600 })
        let results = withoutTimes(found)
        let expectedPath = directory.file("crashed/rec.wav")
        var expected = RepairResult(
            path: expectedPath, originalPath: crashed, frames: 1500, bytesTrimmed: 3, action: .repaired)
        expected.format = stereo16
        expected.bytes = 80 + 1500 * 4
        #expect(results == [expected])
        #expect(!WAVFileWriter.exists(crashed))
        let contents = try WAVTestFiles.read(expectedPath)
        #expect(contents.count == 80 + 1500 * 4)
        #expect(Array(contents[80...]) == synced + unsynced)
        #expect(try WAVTestFiles.soxiSamples(expectedPath) == 1500)
        #expect(try WAVTestFiles.ffprobe(expectedPath).durationTS == 1500)
        #expect(try WAVTestFiles.ffmpegDecode(expectedPath, as: .s16) == synced + unsynced)
    }

    @Test(
        "a crash before the first sync keeps all the audio (s24, f32, s32)",
        arguments: [
            AudioFormat(sampleRate: 44_100, channels: 1, sampleFormat: .s24),
            AudioFormat(sampleRate: 48_000, channels: 6, sampleFormat: .f32),
            AudioFormat(sampleRate: 96_000, channels: 2, sampleFormat: .s32),
        ])
    func crashBeforeFirstSync(format: AudioFormat) throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let samples = WAVTestFiles.samples(format: format, frames: 301)
        let path = directory.file("a.wav.partial")
        let header = WAVHeader(format: format)
        try Data(header.bytes(dataBytes: 0) + samples + [1]).write(to: URL(fileURLWithPath: path))

        let result = PartialRepair.repair(path: path)
        #expect(result.action == .repaired)
        #expect(result.path == directory.file("a.wav"))
        #expect(result.frames == 301)
        #expect(result.bytesTrimmed == 1)
        let contents = try WAVTestFiles.read(result.path)
        #expect(UInt64(contents.count) == header.fileSize(dataBytes: UInt64(samples.count)))
        #expect(Array(contents[header.headerSize..<header.headerSize + samples.count]) == samples)
        #expect(try WAVTestFiles.soxiSamples(result.path) == 301)
        let probe = try WAVTestFiles.ffprobe(result.path)
        #expect(probe.durationTS == 301)
        #expect(probe.codecName == format.sampleFormat.ffmpegCodec)
    }

    @Test("a header that declares more than the file holds (power cut) is corrected from the length")
    func headerClaimsTooMuch() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let samples = WAVTestFiles.samples(format: stereo16, frames: 600)
        let path = directory.file("b.wav.partial")
        try Data(WAVHeader(format: stereo16).bytes(dataBytes: 1000 * 4) + samples)
            .write(to: URL(fileURLWithPath: path))
        let result = PartialRepair.repair(path: path)
        #expect(result.action == .repaired)
        #expect(result.frames == 600)
        #expect(try WAVHeader.parse(WAVTestFiles.read(result.path)).declaredFrames == 600)
    }

    @Test("files without audio are removed; a header cut short is kept as damaged")
    func removesEmpty() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let header = WAVHeader(format: stereo16).bytes(dataBytes: 0)
        let cases: [(String, [UInt8])] = [
            ("zero.wav.partial", []),
            ("header-only.wav.partial", header),
            ("half-frame.wav.partial", header + [1, 2]),
        ]
        for (name, bytes) in cases {
            try Data(bytes).write(to: URL(fileURLWithPath: directory.file(name)))
        }
        // It starts RIFF....WAVE but cannot be parsed: its bytes are kept for whoever can make sense of them.
        try Data(header[0..<40]).write(to: URL(fileURLWithPath: directory.file("cut-header.wav.partial")))
        let results = withoutTimes(PartialRepair.repairAll(under: directory.path))
        #expect(results.count == 4)
        for result in results where !result.originalPath.hasSuffix("cut-header.wav.partial") {
            #expect(result.action == .removedEmpty, "\(result)")
            #expect(result.frames == 0)
            #expect(!WAVFileWriter.exists(result.originalPath))
        }
        let cut = try #require(results.first { $0.originalPath.hasSuffix("cut-header.wav.partial") })
        guard case .markedDamaged = cut.action else {
            Issue.record("a cut header was \(cut.action), not kept as damaged")
            return
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["cut-header.wav.damaged"])
        #expect(FileManager.default.contents(atPath: directory.file("cut-header.wav.damaged")) == Data(header[0..<40]))
    }

    @Test("an unreadable header is renamed to .wav.damaged, never deleted")
    func marksDamaged() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let garbage = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let path = directory.file("junk.wav.partial")
        try Data(garbage).write(to: URL(fileURLWithPath: path))
        // A .damaged file of that name exists already: the new one gets a number.
        try Data("older".utf8).write(to: URL(fileURLWithPath: directory.file("junk.wav.damaged")))

        let result = PartialRepair.repair(path: path)
        guard case .markedDamaged(let reason) = result.action else {
            Issue.record("expected markedDamaged, got \(result)")
            return
        }
        #expect(reason.contains("RIFF"))
        #expect(result.path == directory.file("junk-1.wav.damaged"))
        #expect(try WAVTestFiles.read(result.path) == garbage)
        #expect(try WAVTestFiles.read(directory.file("junk.wav.damaged")) == Array("older".utf8))
        #expect(!WAVFileWriter.exists(path))
    }

    @Test("a taken final name is never overwritten")
    func finalNameTaken() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let samples = WAVTestFiles.samples(format: stereo16, frames: 10)
        try Data(WAVHeader(format: stereo16).bytes(dataBytes: 0) + samples)
            .write(to: URL(fileURLWithPath: directory.file("c.wav.partial")))
        try Data("finished earlier".utf8).write(to: URL(fileURLWithPath: directory.file("c.wav")))

        let result = PartialRepair.repair(path: directory.file("c.wav.partial"))
        #expect(result.action == .repaired)
        #expect(result.path == directory.file("c-1.wav"))
        #expect(try WAVTestFiles.read(directory.file("c.wav")) == Array("finished earlier".utf8))
        #expect(try WAVTestFiles.soxiSamples(result.path) == 10)
    }

    @Test("a crash between link and unlink in close: the .partial name is dropped")
    func bothNames() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let writer = try WAVFileWriter(finalPath: directory.file("d.wav"), format: stereo16)
        try WAVTestFiles.samples(format: stereo16, frames: 25).withUnsafeBytes { try writer.append($0) }
        let final = try writer.close()
        #expect(link(final, final + ".partial") == 0)

        let results = withoutTimes(PartialRepair.repairAll(under: directory.path))
        #expect(
            results == [
                RepairResult(
                    path: final, originalPath: final + ".partial", frames: 25, bytesTrimmed: 0,
                    action: .alreadyRenamed)
            ])
        #expect(!WAVFileWriter.exists(final + ".partial"))
        #expect(try WAVTestFiles.soxiSamples(final) == 25)
    }

    @Test("repairAll walks subdirectories, only touches .wav.partial and .flac.partial files, and sorts its results")
    func walksTree() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let file = WAVHeader(format: stereo16).bytes(dataBytes: 0) + WAVTestFiles.samples(format: stereo16, frames: 5)
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: directory.file("2026/01/02"), withIntermediateDirectories: true)
        for name in ["2026/01/02/z.wav.partial", "2026/a.wav.partial", "m.wav.partial"] {
            try Data(file).write(to: URL(fileURLWithPath: directory.file(name)))
        }
        for name in ["done.wav", "notes.partial", "2026/01/x.mp3.partial"] {
            try Data("leave".utf8).write(to: URL(fileURLWithPath: directory.file(name)))
        }

        let results = withoutTimes(PartialRepair.repairAll(under: directory.path))
        #expect(
            results.map(\.originalPath) == [
                directory.file("2026/01/02/z.wav.partial"), directory.file("2026/a.wav.partial"),
                directory.file("m.wav.partial"),
            ])
        #expect(results.allSatisfy { $0.action == .repaired && $0.frames == 5 })
        for name in ["done.wav", "notes.partial", "2026/01/x.mp3.partial"] {
            #expect(try WAVTestFiles.read(directory.file(name)) == Array("leave".utf8))
        }
        #expect(PartialRepair.repairAll(under: directory.file("missing")).isEmpty)
        #expect(PartialRepair.repairAll(under: directory.path).isEmpty)
    }

    /// A sparse 5 GiB leftover: the repaired header must be RF64. Skipped where sparse files are not
    /// possible. Checked with ffprobe only: SoX 14.4.2 reads an RF64 file to its end (seconds for 5 GiB).
    @Test("a leftover past 4 GiB gets an RF64 header")
    func rf64Repair() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let header = WAVHeader(format: stereo16)
        let path = directory.file("big.wav.partial")
        try Data(header.bytes(dataBytes: 0)).write(to: URL(fileURLWithPath: path))
        let audio: UInt64 = 5 << 30
        guard truncate(path, off_t(UInt64(header.headerSize) + audio + 2)) == 0 else { return }

        let result = PartialRepair.repair(path: path)
        #expect(result.action == .repaired)
        #expect(result.frames == Int64(audio / 4))
        #expect(result.bytesTrimmed == 2)
        let parsed = try WAVHeader.parse(WAVTestFiles.read(result.path, limit: 4096))
        #expect(parsed.isRF64)
        #expect(parsed.declaredDataSize == audio)
        #expect(try WAVTestFiles.ffprobe(result.path).durationTS == Int(audio / 4))
    }
}

/// Repair results without their `lastModified`, which depends on when the test ran.
func withoutTimes(_ results: [RepairResult]) -> [RepairResult] {
    results.map { result in
        var result = result
        result.lastModified = nil
        return result
    }
}
