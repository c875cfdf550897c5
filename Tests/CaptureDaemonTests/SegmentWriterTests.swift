import CaptureCore
import Foundation
import Logging
import TestSupport
import Testing
@testable import CaptureDaemon

/// Feeds the segment writer synthetic chunks of the stereo test pattern and checks the files.
@Suite struct SegmentWriterTests {
    let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)

    func run(
        recording: RecordingConfiguration, chunks: Int, chunkFrames: Int, startTime: Double,
        rate: Double = 48_000, skip: Set<Int> = []
    ) -> (files: [String], events: [CaptureEvent]) {
        let pattern = TestPattern.data(channels: 2, frames: chunks * chunkFrames)
        let pool = ChunkPool(chunkBytes: chunkFrames * 4, initialCount: 2)
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let writer = SegmentWriter(recording: recording, format: format, events: events, logger: Logger(label: "test"))
        for i in 0..<chunks where !skip.contains(i) {
            let c = pool.acquire()!
            pattern.withUnsafeBytes { bytes in
                c.bytes.copyMemory(from: bytes.baseAddress! + i * chunkFrames * 4, byteCount: chunkFrames * 4)
            }
            c.byteCount = chunkFrames * 4
            c.frameCount = chunkFrames
            c.firstFrame = Int64(i * chunkFrames)
            c.startTime = startTime + Double(i * chunkFrames) / rate
            writer.consume(c)
            c.release()
        }
        writer.finish()
        let closed = events.recent.filter { $0.kind == "segment.closed" }
        let files = closed.compactMap { event -> String? in
            if case .string(let path) = event.fields["segment.path"] { return path }
            return nil
        }
        return (files, events.recent)
    }

    func frames(of path: String) throws -> Int {
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        return (size - WAVHeader(format: format, metadataSize: WAVFileWriter.metadataSize).headerSize) / 4
    }

    @Test func samplesAlignmentCutsExactlyAndJoinsBitExact() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var recording = RecordingConfiguration(name: "t", directory: dir.path)
        recording.segmentSeconds = 1
        recording.align = .samples
        recording.filename = "{seq}.wav"
        // 3.5 s in odd-sized chunks (1234 frames) so cuts fall inside chunks.
        let (files, _) = run(recording: recording, chunks: 137, chunkFrames: 1234, startTime: 1_000_000.3)
        #expect(files.count == 4)
        let sizes = try files.map { try frames(of: $0) }
        #expect(Array(sizes.prefix(3)) == [48_000, 48_000, 48_000])
        #expect(sizes.reduce(0, +) == 137 * 1234)
        let report = try PatternCheck.check(channels: 2, files: files)
        #expect(report.bitExact, "\(report)")
        #expect(report.frames == 137 * 1234)
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: dir.path).filter {
            $0.hasSuffix(".partial")
        }
        #expect(leftovers.isEmpty)
    }

    @Test func clockAlignmentCutsOnTheBoundaryFrame() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var recording = RecordingConfiguration(name: "t", directory: dir.path)
        recording.segmentSeconds = 2
        recording.filename = "%H%M%S.wav"
        // Start 0.75 s before a 2 s boundary: the first file is short, then 2 s files, frame-exact.
        let start = 1_795_307_400.0 - 0.75
        let (files, _) = run(recording: recording, chunks: 60, chunkFrames: 4800, startTime: start)
        let names = files.map { ($0 as NSString).lastPathComponent }
        #expect(names == ["002959.wav", "003000.wav", "003002.wav", "003004.wav"])
        let sizes = try files.map { try frames(of: $0) }
        #expect(sizes == [36_000, 96_000, 96_000, 60 * 4800 - 36_000 - 192_000])
        let report = try PatternCheck.check(channels: 2, files: files)
        #expect(report.bitExact, "\(report)")
    }

    @Test func startingExactlyOnABoundaryGivesAFullFirstFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var recording = RecordingConfiguration(name: "t", directory: dir.path)
        recording.segmentSeconds = 1
        recording.filename = "%H%M%S.wav"
        let (files, _) = run(recording: recording, chunks: 25, chunkFrames: 4800, startTime: 1_795_307_400.0)
        #expect(try files.map { try frames(of: $0) } == [48_000, 48_000, 24_000])
    }

    @Test func droppedChunksAreCountedInTheSegmentWithTheirPosition() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var recording = RecordingConfiguration(name: "t", directory: dir.path)
        recording.segmentSeconds = 10
        recording.align = .samples
        let (files, events) = run(
            recording: recording, chunks: 20, chunkFrames: 4800, startTime: 1_000_000, skip: [5, 6])
        #expect(files.count == 1)
        let drop = try #require(events.first { $0.kind == "recording.dropped" })
        #expect(drop.fields["drop.first_frame"] == .int(24_000))
        #expect(drop.fields["drop.frames"] == .int(9600))
        let closed = try #require(events.first { $0.kind == "segment.closed" })
        #expect(closed.fields["segment.dropped_frames"] == .int(9600))
        #expect(closed.fields["segment.frames"] == .int(18 * 4800))
        let report = try PatternCheck.check(channels: 2, files: files)
        #expect(report.discontinuities == 1)
        #expect(report.firstDiscontinuities.first?.frame == 24_000)
        // The sidecar locates the gap in the file.
        let sidecar =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: files[0] + ".json")))
            as! [String: Any]
        let segment = sidecar["segment"] as! [String: Any]
        let gaps = segment["gaps"] as! [[String: Any]]
        #expect(gaps.count == 1)
        #expect(gaps.first?["file_frame"] as? Int == 24_000)
        #expect(gaps.first?["frames"] as? Int == 9600)
        #expect(gaps.first?["kind"] as? String == "queue_overflow")
        #expect(gaps.first?["exact"] as? Bool == true)
        #expect(sidecar["sample_rate"] as? Int == 48_000)
    }

    @Test func neverOverwritesAnExistingFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var recording = RecordingConfiguration(name: "t", directory: dir.path)
        recording.segmentSeconds = 60
        recording.filename = "same.wav"
        try Data("keep".utf8).write(to: URL(fileURLWithPath: dir.path + "/same.wav"))
        let (files, _) = run(recording: recording, chunks: 2, chunkFrames: 4800, startTime: 1_000_000)
        #expect(files.count == 1)
        #expect(files[0] != dir.path + "/same.wav")
        #expect(try String(contentsOfFile: dir.path + "/same.wav", encoding: .utf8) == "keep")
    }

    @Test func sequenceNumbersGoOnAfterTheFilesOfAnEarlierRun() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var recording = RecordingConfiguration(name: "t", directory: dir.path)
        recording.segmentSeconds = 1
        recording.align = .samples
        recording.filename = "{name}-{seq}.wav"
        let (first, _) = run(recording: recording, chunks: 20, chunkFrames: 4800, startTime: 1_000_000)
        // A file the earlier run left open (repaired to its .wav name later) also keeps its number.
        FileManager.default.createFile(atPath: dir.path + "/t-000003.wav.partial", contents: Data())
        // The daemon starts again (or the recording is reloaded): numbering goes on, never reusing one.
        let (second, _) = run(recording: recording, chunks: 20, chunkFrames: 4800, startTime: 1_000_010)
        #expect(first.map { ($0 as NSString).lastPathComponent } == ["t-000001.wav", "t-000002.wav"])
        #expect(second.map { ($0 as NSString).lastPathComponent } == ["t-000004.wav", "t-000005.wav"])
    }
}

@Suite struct RetentionSweepTests {
    @Test func deletesByAgeThenBySizeOldestFirstAndNeverPartials() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let now = Date()
        func make(_ name: String, bytes: Int, ageDays: Double) throws {
            let path = dir.file(name)
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(count: bytes).write(to: URL(fileURLWithPath: path))
            try FileManager.default.setAttributes(
                [.modificationDate: now.addingTimeInterval(-ageDays * 86_400)], ofItemAtPath: path)
        }
        try make("a/old.wav", bytes: 100, ageDays: 10)
        try Data("{}".utf8).write(to: URL(fileURLWithPath: dir.file("a/old.wav.json")))
        try make("a/mid.wav", bytes: 100, ageDays: 3)
        try make("b/new.wav", bytes: 100, ageDays: 2)
        try make("b/newest.wav", bytes: 100, ageDays: 1)
        try make("b/open.wav.partial", bytes: 1000, ageDays: 20)
        let sweep = RetentionSweep(directory: dir.path, keepDays: 7, maxBytes: 250)
        let deleted = sweep.run(now: now)
        #expect(deleted.map { ($0.path as NSString).lastPathComponent } == ["old.wav", "mid.wav"])
        #expect(deleted.map(\.reason) == ["older than keep_days", "over max_bytes"])
        #expect(!FileManager.default.fileExists(atPath: dir.file("a/old.wav.json")))
        #expect(FileManager.default.fileExists(atPath: dir.file("b/open.wav.partial")))
        #expect(FileManager.default.fileExists(atPath: dir.file("b/newest.wav")))
        #expect(RetentionSweep(directory: dir.path, keepDays: nil, maxBytes: nil).run().isEmpty)
    }
}
