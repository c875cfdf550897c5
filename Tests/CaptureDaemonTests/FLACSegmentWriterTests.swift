// SegmentWriter with `format = "flac"`: the same cuts as WAV, `.flac` names and sidecars, and the files
// found again by retention and by the restart bookkeeping.

import CaptureCore
import Foundation
import Logging
import TestSupport
import Testing

@testable import CaptureDaemon

@Suite(.enabled(if: ProcessRunner.which("flac") != nil, "needs flac"))
struct FLACSegmentWriterTests {
    let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)

    @Test func clockCutsMatchWAVAndTheFilesAreFoundAgain() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var recording = RecordingConfiguration(name: "t", directory: dir.path)
        recording.segmentSeconds = 2
        recording.format = .flac
        recording.filename = RecordingConfiguration.defaultFilename(for: .flac)
        // 0.75 s before a 2 s boundary: a short file, then 2 s files, frame-exact.
        let start = 1_795_307_400.0 - 0.75
        let chunkFrames = 4800
        let chunks = 60
        let pattern = TestPattern.data(channels: 2, frames: chunks * chunkFrames)
        let pool = ChunkPool(chunkBytes: chunkFrames * 4, initialCount: 2)
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let writer = SegmentWriter(recording: recording, format: format, events: events, logger: Logger(label: "test"))
        for index in 0..<chunks {
            let chunk = pool.acquire()!
            pattern.withUnsafeBytes { bytes in
                chunk.bytes.copyMemory(
                    from: bytes.baseAddress! + index * chunkFrames * 4, byteCount: chunkFrames * 4)
            }
            chunk.byteCount = chunkFrames * 4
            chunk.frameCount = chunkFrames
            chunk.firstFrame = Int64(index * chunkFrames)
            chunk.startTime = start + Double(index * chunkFrames) / 48_000
            writer.consume(chunk)
            chunk.release()
        }
        writer.finish()

        let files = writer.segments().map(\.path)
        #expect(
            files.map { ($0 as NSString).lastPathComponent } == [
                "t-20261122T002959Z.flac", "t-20261122T003000Z.flac", "t-20261122T003002Z.flac",
                "t-20261122T003004Z.flac",
            ])
        var joined = Data()
        for (file, info) in zip(files, writer.segments()) {
            #expect(FileManager.default.fileExists(atPath: file + ".json"))
            let decoded = try FLACTestFiles.decode(file)
            #expect(decoded.count == Int(info.frames) * 4)
            #expect(try FLACTestFiles.metaflac(file, "--show-total-samples") == "\(info.frames)")
            #expect(info.bytes == UInt64(try FileManager.default.attributesOfItem(atPath: file)[.size] as! Int))
            joined.append(contentsOf: decoded)
        }
        let expectedFrames: [Int64] = [36_000, 96_000, 96_000, 60 * 4800 - 36_000 - 192_000]
        #expect(writer.segments().map(\.frames) == expectedFrames)
        #expect(joined == pattern)
        let closed = events.recent.filter { $0.kind == "segment.closed" }
        #expect(closed.allSatisfy { $0.fields["segment.format"] == .string("flac") })

        // Retention and the restart bookkeeping see the closed FLAC files.
        #expect(RetentionSweep.closedFiles(in: dir.path).map(\.path) == files)
        let end = RecordingOnDisk.newestClosedEnd(
            directory: dir.path, template: FilenameTemplate(recording.filename, timeZone: .utc), name: "t")
        #expect(abs((end ?? 0) - (start + 60 * 0.1)) < 0.001, "\(String(describing: end))")
    }
}
