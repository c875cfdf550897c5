// The writer's bext and GUANO chunks: refreshed at each sync and at close, kept by crash repair, read by
// ffprobe (an independent reader).

import CaptureCore
import Foundation
import TestSupport
import Logging
import Testing

@testable import CaptureDaemon

#if canImport(Glibc)
    import Glibc
#endif

@Suite("WAV metadata")
struct WAVMetadataTests {
    let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)

    func metadata(filename: String) -> SegmentMetadata {
        var station = StationConfiguration()
        station.id = "garden-01"
        station.make = "Acme"
        return SegmentMetadata(
            station: station, hostName: "box", recording: "birds", source: "main", format: format,
            firstFrame: 4_800, startTime: 1_796_155_206.25, timeZone: .utc, filename: filename)
    }

    /// The GUANO fields of a file, by key (values trimmed).
    func guano(_ path: String) throws -> [String: String] {
        let bytes = try WAVTestFiles.read(path, limit: 16_384)
        let parsed = try WAVHeader.parse(bytes)
        let chunk = try #require(parsed.chunk("guan"))
        var fields: [String: String] = [:]
        for line in GuanoChunk.text(ofPayload: bytes[chunk.offset..<chunk.offset + chunk.size]).split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return fields
    }

    @Test("sync refreshes Length and the gaps in place; close writes the final ones; the header keeps its length")
    func refreshedInPlace() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let path = directory.file("rec.wav")
        let writer = try WAVFileWriter(finalPath: path, format: format, metadata: metadata(filename: "rec.wav"))
        let header = WAVHeader(format: format, metadataSize: WAVFileWriter.metadataSize)
        #expect(try guano(path + ".partial")["Length"] == "0.000000")

        let samples = WAVTestFiles.samples(format: format, frames: 24_000)
        try samples.withUnsafeBytes { try writer.append($0) }
        writer.setGaps(count: 1, frames: 480)
        try writer.sync()
        var fields = try guano(path + ".partial")
        #expect(fields["Length"] == "0.500000")
        #expect(fields["audiocap|Gaps"] == "1" && fields["audiocap|Gap Frames"] == "480")
        #expect(
            try WAVHeader.parse(WAVTestFiles.read(path + ".partial", limit: 16_384)).dataOffset == header.headerSize)

        try samples.withUnsafeBytes { try writer.append($0) }
        writer.setGaps(count: 2, frames: 960)
        let final = try writer.close()
        fields = try guano(final)
        #expect(fields["Length"] == "1.000000")
        #expect(fields["audiocap|Gaps"] == "2" && fields["audiocap|Gap Frames"] == "960")
        #expect(fields["GUANO|Version"] == "1.0" && fields["Make"] == "Acme")
        let contents = try WAVTestFiles.read(final)
        #expect(contents.count == header.headerSize + 2 * samples.count)
        #expect(Array(contents[header.headerSize...]) == samples + samples)
    }

    @Test("a .wav.partial with metadata cut mid-write repairs: every whole frame, bext kept, GUANO Length set")
    func crashRepair() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let synced = WAVTestFiles.samples(format: format, frames: 1000)
        let unsynced = WAVTestFiles.samples(format: format, frames: 500, startFrame: 1000)
        let writer = try WAVFileWriter(
            finalPath: directory.file("live/rec.wav"), format: format, metadata: metadata(filename: "rec.wav"))
        try synced.withUnsafeBytes { try writer.append($0) }
        writer.setGaps(count: 1, frames: 7)
        try writer.sync()
        try unsynced.withUnsafeBytes { try writer.append($0) }
        try unsynced[0..<3].withUnsafeBytes { try writer.append($0) }  // cut in the middle of a frame
        let crashed = directory.file("crashed/rec.wav.partial")
        try FileManager.default.createDirectory(atPath: directory.file("crashed"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: directory.file("live/rec.wav.partial"), toPath: crashed)
        writer.abandon()
        let before = try WAVTestFiles.read(crashed, limit: 16_384)
        #expect(try guano(crashed)["Length"] == String(format: "%.6f", 1000.0 / 48_000))

        let result = PartialRepair.repair(path: crashed)
        #expect(result.action == .repaired, "\(result)")
        #expect(result.frames == 1500 && result.bytesTrimmed == 3)
        let repaired = try WAVTestFiles.read(result.path)
        let parsed = try WAVHeader.parse(repaired)
        #expect(parsed.declaredFrames == 1500)
        #expect(Array(repaired[parsed.dataOffset...]) == synced + unsynced)
        let bext = try #require(parsed.chunk("bext"))
        #expect(repaired[bext.offset..<bext.offset + bext.size] == before[bext.offset..<bext.offset + bext.size])
        let fields = try guano(result.path)
        #expect(fields["Length"] == "0.031250")
        #expect(fields["audiocap|Gaps"] == "1", "the gaps as of the last sync")
    }

    @Test(
        "ffprobe reads the bext: time_reference / rate is the first frame's UTC time of day",
        .enabled(if: ProcessRunner.which("ffprobe") != nil, "ffprobe is not installed"))
    func ffprobeReadsBext() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let writer = try WAVFileWriter(
            finalPath: directory.file("rec.wav"), format: format, metadata: metadata(filename: "rec.wav"))
        try WAVTestFiles.samples(format: format, frames: 4800).withUnsafeBytes { try writer.append($0) }
        let path = try writer.close()
        let run = try ProcessRunner.run("ffprobe", ["-v", "error", "-show_format", "-of", "json", path])
        #expect(run.status == 0, "\(String(decoding: run.stderr, as: UTF8.self))")
        let json = try JSONSerialization.jsonObject(with: run.stdout) as? [String: Any]
        let tags = try #require((json?["format"] as? [String: Any])?["tags"] as? [String: String], "\(json ?? [:])")
        #expect(tags["time_reference"] == String(72_006 * 48_000 + 12_000))
        // ffmpeg names Originator `encoded_by`, Description `comment`, OriginationDate/Time `date`/`creation_time`.
        #expect(tags["encoded_by"] == "audiocap")
        #expect(tags["date"] == "2026-12-01" && tags["creation_time"] == "20:00:06")
        #expect(tags["comment"]?.contains("station garden-01, recording birds") == true)
        #expect(tags["coding_history"]?.hasPrefix("A=PCM,F=48000,W=16,M=stereo") == true)
        let stream = try ProcessRunner.run(
            "ffprobe", ["-v", "error", "-show_entries", "stream=duration_ts", "-of", "csv=p=0", path])
        #expect(
            String(decoding: stream.stdout, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) == "4800")
    }

    @Test("a file over 4 GiB (sparse) with metadata is repaired as RF64, keeps its chunks, and ffprobe reads it")
    func rf64() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        let path = directory.file("big.wav")
        let writer = try WAVFileWriter(finalPath: path, format: format, metadata: metadata(filename: "big.wav"))
        let header = WAVHeader(format: format, metadataSize: WAVFileWriter.metadataSize)
        // The file as a crash would leave it after 4 GiB of audio (sparse: no 4 GiB written here).
        let audio: UInt64 = (4 << 30) + 4 * 1000
        guard truncate(path + ".partial", off_t(UInt64(header.headerSize) + audio)) == 0 else {
            Issue.record("cannot make a sparse file here")
            return
        }
        writer.abandon()
        let result = PartialRepair.repair(path: path + ".partial")
        #expect(result.action == .repaired, "\(result)")
        let parsed = try WAVHeader.parse(WAVTestFiles.read(result.path, limit: 16_384))
        #expect(parsed.isRF64)
        #expect(parsed.declaredDataSize == audio)
        #expect(parsed.chunks.map(\.id) == ["ds64", "fmt ", "bext", "guan", "data"])
        let length = try #require(Double(try guano(result.path)["Length"] ?? ""))
        #expect(abs(length - Double(audio / 4) / 48_000) < 1e-5)
        if ProcessRunner.which("ffprobe") != nil {
            // An independent reader takes the size from ds64 past the metadata chunks.
            #expect(try WAVTestFiles.ffprobe(result.path).durationTS == Int(audio / 4))
        }
    }

    @Test("a [station] change waits for a restart: reload lists it")
    func stationNeedsRestart() {
        let current = Configuration()
        var next = current
        next.station.id = "elsewhere"
        #expect(AudioCapDaemon.sectionsNeedingRestart(from: current, to: next) == ["station"])
    }

    @Test("a segment writer's file names the station and recording and counts the gaps its sidecar lists")
    func segmentWriterFile() throws {
        let directory = try WAVTestFiles.makeDirectory()
        defer { directory.remove() }
        var recording = RecordingConfiguration(name: "t", directory: directory.path)
        recording.segmentSeconds = 60
        recording.align = .samples
        recording.filename = "{seq}.wav"
        recording.source = "main"
        var station = StationConfiguration()
        station.id = "garden-01"
        station.serial = "SN-42"
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let writer = SegmentWriter(
            recording: recording, format: format, events: events, logger: Logger(label: "test"),
            options: SegmentWriter.Options(station: station))
        let frames = 4800
        let pattern = TestPattern.data(channels: 2, frames: frames * 10)
        let pool = ChunkPool(chunkBytes: frames * 4, initialCount: 2)
        // Chunks 0 to 9 but 3: one gap of 4800 frames (the queue overflowed).
        for index in [0, 1, 2, 4, 5, 6, 7, 8, 9] {
            let chunk = try #require(pool.acquire())
            pattern.withUnsafeBytes { bytes in
                chunk.bytes.copyMemory(from: bytes.baseAddress! + index * frames * 4, byteCount: frames * 4)
            }
            chunk.byteCount = frames * 4
            chunk.frameCount = frames
            chunk.firstFrame = Int64(index * frames)
            chunk.startTime = 1_796_155_206.25 + Double(index * frames) / 48_000
            writer.consume(chunk)
            chunk.release()
        }
        writer.finish()
        let segment = try #require(writer.segments().first)
        #expect(segment.gaps.count == 1)
        let fields = try guano(segment.path)
        #expect(fields["audiocap|Station"] == "garden-01" && fields["Serial"] == "SN-42")
        #expect(fields["audiocap|Recording"] == "t" && fields["audiocap|Source"] == "main")
        #expect(fields["audiocap|First Frame"] == "0")
        #expect(fields["Original Filename"] == "000001.wav")
        #expect(fields["Timestamp"] == "2026-12-01T20:00:06.250000+00:00")
        #expect(fields["Length"] == "0.900000")
        #expect(fields["audiocap|Gaps"] == String(segment.gaps.count))
        #expect(fields["audiocap|Gap Frames"] == String(segment.gaps.reduce(0) { $0 + $1.frames }))
        #expect(fields["audiocap|Gap Frames"] == "4800")
    }
}
