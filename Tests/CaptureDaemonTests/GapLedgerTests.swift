import CaptureCore
import Foundation
import Logging
import TestSupport
import Testing
@testable import CaptureDaemon
import Synchronization

/// The gap ledger of the segment writer: every kind of discontinuity is recorded where it happened,
/// and `gap_fill = "silence"` writes the gap's length of silence without breaking cuts.
@Suite struct GapLedgerTests {
    let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)
    static let chunkFrames = 4800

    /// One chunk to feed: which pattern frames it holds and when they were captured.
    struct Chunk {
        var firstFrame: Int64
        var startTime: Double
        var followsRestart = false
        var xruns = 0
        var xrunLostSeconds = 0.0
    }

    struct Outcome {
        var files: [String]
        var segments: [SegmentInfo]
        var status: RecordingStatus
        var events: [CaptureEvent]
    }

    func run(
        _ recording: RecordingConfiguration, _ chunks: [Chunk], options: SegmentWriter.Options = .init(),
        before: (SegmentWriter) -> Void = { _ in }, beforeChunk: (Int) -> Void = { _ in }
    ) -> Outcome {
        let frames = Int(chunks.map(\.firstFrame).max()!) + Self.chunkFrames
        let pattern = TestPattern.data(channels: 2, frames: frames)
        let pool = ChunkPool(chunkBytes: Self.chunkFrames * 4, initialCount: 2)
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let writer = SegmentWriter(
            recording: recording, format: format, events: events, logger: Logger(label: "test"), options: options)
        before(writer)
        for (index, spec) in chunks.enumerated() {
            beforeChunk(index)
            let c = pool.acquire()!
            pattern.withUnsafeBytes { bytes in
                c.bytes.copyMemory(from: bytes.baseAddress! + Int(spec.firstFrame) * 4, byteCount: Self.chunkFrames * 4)
            }
            c.byteCount = Self.chunkFrames * 4
            c.frameCount = Self.chunkFrames
            c.firstFrame = spec.firstFrame
            c.startTime = spec.startTime
            c.followsRestart = spec.followsRestart
            c.xruns = spec.xruns
            c.xrunLostSeconds = spec.xrunLostSeconds
            writer.consume(c)
            c.release()
        }
        writer.finish()
        let segments = writer.segments()
        return Outcome(files: segments.map(\.path), segments: segments, status: writer.status, events: events.recent)
    }

    /// Chunks `range` of a contiguous capture starting at `start`, shifted in time by `delay`.
    func chunks(_ range: Range<Int>, start: Double, delay: Double = 0) -> [Chunk] {
        range.map { i in
            Chunk(
                firstFrame: Int64(i * Self.chunkFrames),
                startTime: start + delay + Double(i * Self.chunkFrames) / 48_000)
        }
    }

    /// `count` chunks from `start`; ffmpeg restarts before chunk `after`, whose audio comes `outage` seconds
    /// later than it would have (the capture frames go on).
    func restarted(after: Int, of count: Int, outage: Double) -> [Chunk] {
        var following = chunks(after..<count, start: start, delay: outage)
        following[0].followsRestart = true
        return chunks(0..<after, start: start) + following
    }

    func recording(_ dir: TemporaryDirectory, seconds: Int, align: SegmentAlignment) -> RecordingConfiguration {
        var recording = RecordingConfiguration(name: "t", directory: dir.path)
        recording.segmentSeconds = seconds
        recording.align = align
        recording.filename = "{seq}.wav"
        return recording
    }

    /// The audio frames of a WAV file written by the writer (16-bit stereo), as (left, right) pairs.
    func samples(_ path: String) throws -> [Int16] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let header = WAVHeader(format: format, metadataSize: WAVFileWriter.metadataSize).headerSize
        return data.dropFirst(header).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
    }

    // A boundary of the 2 s clock grid, so clock-aligned files start on it.
    let start = 1_795_307_400.0

    @Test func aQueueOverflowIsFilledWithSilenceInPlaceOfTheMissingChunk() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var input = chunks(0..<20, start: start)
        input.remove(at: 7)
        let out = run(recording(dir, seconds: 1, align: .samples), input, options: .init(gapFill: .silence))
        // Samples alignment with the gap filled: every file holds exactly 1 s, the silence where chunk 7 was.
        #expect(try out.files.map { try samples($0).count / 2 } == [48_000, 48_000])
        let first = try samples(out.files[0])
        let pattern = TestPattern.data(channels: 2, frames: 96_000).withUnsafeBytes {
            Array($0.bindMemory(to: Int16.self))
        }
        let gapStart = 7 * Self.chunkFrames * 2, gapEnd = 8 * Self.chunkFrames * 2
        #expect(Array(first[..<gapStart]) == Array(pattern[..<gapStart]))
        #expect(first[gapStart..<gapEnd].allSatisfy { $0 == 0 })
        #expect(Array(first[gapEnd...]) == Array(pattern[gapEnd..<96_000]))
        let gap = try #require(out.segments[0].gaps.first)
        #expect(
            gap
                == SegmentGap(
                    kind: .queueOverflow, fileFrame: 33_600, captureFrame: 33_600, time: start + 0.7, frames: 4800,
                    exact: true, filledFrames: 4800))
        #expect(out.segments[0].silenceFrames == 4800)
        #expect(out.status.gaps == 1 && out.status.gapFrames == 4800 && out.status.silenceFrames == 4800)
        #expect(out.status.droppedFrames == 4800)
        #expect(out.status.framesWritten == 96_000)
    }

    @Test func aRestartWithoutFillIsRecordedAndTheAudioJoined() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // 1 s of audio, ffmpeg restarts, 0.5 s pass, the capture frames go on.
        let input = restarted(after: 10, of: 30, outage: 0.5)
        let out = run(recording(dir, seconds: 2, align: .clock), input)
        let gaps = out.segments.flatMap(\.gaps)
        #expect(
            gaps == [
                SegmentGap(
                    kind: .ffmpegRestart, fileFrame: 48_000, captureFrame: 48_000, time: start + 1, frames: 24_000,
                    exact: false)
            ])
        #expect(out.segments[0].restarts == 1)
        // The audio on either side is joined: the files are the pattern, bit for bit.
        let report = try PatternCheck.check(channels: 2, files: out.files)
        #expect(report.bitExact, "\(report)")
        #expect(report.frames == 30 * Self.chunkFrames)
        // The first file still ends on the clock: 1 s before the restart and 0.5 s after it.
        #expect(try samples(out.files[0]).count / 2 == 72_000)
    }

    @Test func aRestartFilledWithSilenceKeepsTheFileTrueToTheClock() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let input = restarted(after: 10, of: 30, outage: 0.5)
        let out = run(recording(dir, seconds: 2, align: .clock), input, options: .init(gapFill: .silence))
        // 2 s of timeline: 1 s of audio, 0.5 s of silence, 0.5 s of audio.
        let first = try samples(out.files[0])
        #expect(first.count / 2 == 96_000)
        #expect(first[96_000..<144_000].allSatisfy { $0 == 0 })
        #expect(out.segments[0].gaps.first?.filledFrames == 24_000)
        // Capture frames: every one is in a file; the files hold the silence on top.
        let total = try out.files.map { try samples($0).count / 2 }.reduce(0, +)
        #expect(total == 30 * Self.chunkFrames + 24_000)
        #expect(out.status.framesWritten == Int64(total))
        #expect(out.status.silenceFrames == 24_000)
    }

    @Test func silenceNeverRunsPastTheEndOfTheFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // 1 s of audio, then a 5 s outage: only the 1 s left of the 2 s file is filled.
        let input = restarted(after: 10, of: 20, outage: 5)
        let out = run(recording(dir, seconds: 2, align: .clock), input, options: .init(gapFill: .silence))
        #expect(out.segments.count == 2)
        #expect(try samples(out.files[0]).count / 2 == 96_000)
        #expect(out.segments[0].gaps.first?.frames == 240_000)
        #expect(out.segments[0].gaps.first?.filledFrames == 48_000)
        // The next file begins with the audio after the outage, at its real time.
        #expect(out.segments[1].startTime == start + 6)
        #expect(out.segments[1].frames == 48_000)
    }

    @Test func aDropRightAfterACutGoesAtTheStartOfTheNextFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        // 1 s files of ten chunks: chunk 10, the first of the second file, is dropped. Between the two
        // files no file is open; the gap is the second file's first entry, and the ledger still adds up.
        var input = chunks(0..<30, start: start)
        input.remove(at: 10)
        for fill in [GapFill.none, .silence] {
            let out = run(recording(dir, seconds: 1, align: .samples), input, options: .init(gapFill: fill))
            let gaps = out.segments.map(\.gaps)
            #expect(gaps[0].isEmpty)
            #expect(
                gaps[1] == [
                    SegmentGap(
                        kind: .queueOverflow, fileFrame: 0, captureFrame: 48_000, time: start + 1, frames: 4800,
                        exact: true)
                ])
            let inFiles = out.segments.map(\.frames).reduce(0, +)
            let silence = out.segments.map(\.silenceFrames).reduce(0, +)
            #expect(inFiles - silence + 4800 == 30 * 4800)
            try FileManager.default.removeItem(atPath: dir.path)
        }
    }

    @Test func gapsWhileBlockedAtTheEndGoIntoTheLastFilesSidecar() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        // Plenty of room for the first file; then none, so the second cannot open and the recording
        // stops while paused. Chunk 15 is dropped meanwhile.
        let free = Mutex<UInt64>(1 << 40)
        let guardian = DiskSpaceGuard(minFreeBytes: 1 << 30, events: events) { _ in
            (free.withLock { $0 }, 1 << 41, 1, "/")
        }
        var input = chunks(0..<20, start: start)
        input.remove(at: 15)
        let out = run(
            recording(dir, seconds: 1, align: .samples), input, options: .init(diskGuard: guardian),
            beforeChunk: { index in
                if index == 10 { free.withLock { $0 = 0 } }
            })
        #expect(out.segments.count == 1)
        #expect(out.status.state == .stopped)
        // In the last file's ledger, after its last frame: what could not be written and the drop.
        let gaps = try #require(out.segments.last?.gaps)
        #expect(gaps.map(\.kind) == [.queueOverflow, .notWritten])
        #expect(gaps.allSatisfy { $0.fileFrame == 48_000 && $0.exact })
        let gapFrames: Int64 = gaps.map(\.frames).reduce(0, +)
        #expect(48_000 + gapFrames == 96_000)
        let sidecar = try String(contentsOfFile: out.files[0] + ".json", encoding: .utf8)
        #expect(sidecar.contains("\"kind\" : \"not_written\""))
        #expect(sidecar.contains("\"kind\" : \"queue_overflow\""))
    }

    @Test func dropsWhileBehindAreEachInTheLedgerButSummedInTheEvents() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var input = chunks(0..<12, start: start)
        input.remove(at: 9)
        input.remove(at: 6)
        input.remove(at: 3)
        let out = run(recording(dir, seconds: 60, align: .samples), input)
        #expect(out.segments.flatMap(\.gaps).map(\.captureFrame) == [14_400, 28_800, 43_200])
        // The first drop at once; the two after it within 10 s in one event when the recording ends.
        let dropped = out.events.filter { $0.kind == "recording.dropped" }
        #expect(dropped.map { $0.fields["drop.gaps"] } == [.int(1), .int(2)])
        #expect(dropped.map { $0.fields["drop.frames"] } == [.int(4800), .int(9600)])
        #expect(dropped.map { $0.fields["drop.first_frame"] } == [.int(14_400), .int(28_800)])
    }

    @Test func anXrunIsRecordedWithItsEstimate() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var input = chunks(0..<10, start: start)
        var after = chunks(10..<20, start: start, delay: 0.2)
        after[0].xruns = 1
        after[0].xrunLostSeconds = 0.2
        input += after
        let out = run(recording(dir, seconds: 60, align: .samples), input)
        let gaps = out.segments.flatMap(\.gaps)
        #expect(gaps.count == 1)
        #expect(gaps.first?.kind == .xrun)
        #expect(gaps.first?.frames == 9600)
        #expect(gaps.first?.fileFrame == 48_000)
        #expect(gaps.first?.exact == false)
    }

    @Test func theFirstFileAfterADaemonRestartRecordsTheTimeTheDaemonWasDown() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let out = run(
            recording(dir, seconds: 60, align: .samples), chunks(0..<5, start: start),
            before: { writer in
                writer.expectGap(since: start - 30)
            })
        #expect(
            out.segments.first?.gaps == [
                SegmentGap(
                    kind: .daemonRestart, fileFrame: 0, captureFrame: 0, time: start - 30, frames: 30 * 48_000,
                    exact: false)
            ])
        // The sidecar carries it too.
        let sidecar = try String(contentsOfFile: out.files[0] + ".json", encoding: .utf8)
        #expect(sidecar.contains("\"kind\" : \"daemon_restart\""))
        #expect(sidecar.contains("\"frames\" : 1440000"))
    }

    @Test func belowTheFreeSpaceFloorTheOldestDeletableFilesGoThenRecordingPauses() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let old = dir.file("old")
        try FileManager.default.createDirectory(atPath: old, withIntermediateDirectories: true)
        for (i, name) in ["a.wav", "b.wav"].enumerated() {
            let path = old + "/" + name
            FileManager.default.createFile(atPath: path, contents: Data(count: 1000))
            try FileManager.default.setAttributes(
                [.modificationDate: Date(timeIntervalSince1970: 1_000_000 + Double(i))], ofItemAtPath: path)
        }
        FileManager.default.createFile(atPath: old + "/c.wav.partial", contents: Data(count: 10))
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        // A floor no disk can meet: everything deletable goes, oldest first, and the writer pauses.
        let guardian = DiskSpaceGuard(minFreeBytes: Int64.max / 2, events: events)
        guardian.register("old", directory: old, deleteOldestWhenLow: true)
        guardian.register("keep", directory: dir.path, deleteOldestWhenLow: false)
        guard case .low = guardian.check(directory: dir.path) else {
            Issue.record("expected low space")
            return
        }
        let deleted = events.recent.filter { $0.kind == "segment.deleted" }.compactMap { event -> String? in
            if case .string(let path) = event.fields["segment.path"] { return (path as NSString).lastPathComponent }
            return nil
        }
        #expect(deleted == ["a.wav", "b.wav"])
        #expect(FileManager.default.fileExists(atPath: old + "/c.wav.partial"))

        let out = run(
            recording(dir, seconds: 60, align: .samples), chunks(0..<5, start: start),
            options: .init(diskGuard: guardian))
        #expect(out.files.isEmpty)
        #expect(out.status.state == .stopped)
        #expect(out.status.droppedFrames == 5 * Int64(Self.chunkFrames))
        #expect(out.status.lastError?.contains("min_free_bytes") == true)
        // Reported once, not at every retry; what could not be written is one lost range.
        #expect(out.events.filter { $0.kind == "recording.low_space" }.count == 1)
        let lost = out.events.filter { $0.kind == "recording.lost" }
        #expect(lost.count == 1)
        #expect(lost.first?.fields["lost.frames"] == .int(5 * Int64(Self.chunkFrames)))

        // A floor of 1 byte is met: nothing is deleted and the recording writes.
        let roomy = DiskSpaceGuard(minFreeBytes: 1, events: events)
        #expect(roomy.check(directory: dir.path) == .ok)
    }
}

@Suite struct ClockCheckTests {
    @Test func anUnsynchronisedClockIsReportedOnceAndItsRecoveryToo() {
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let answers = Mutex<[Int32]>([0, 0, 1, 1, -1])
        let check = ClockCheck(events: events) { answers.withLock { $0.removeFirst() } }
        check.check()
        #expect(check.isSynchronized == false)
        check.check()
        check.check()
        #expect(check.isSynchronized == true)
        check.check()
        check.check()
        #expect(check.isSynchronized == nil)
        #expect(events.recent.map(\.kind) == ["clock.unsynchronized", "clock.synchronized"])
    }
}
