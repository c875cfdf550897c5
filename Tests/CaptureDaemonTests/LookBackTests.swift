import CaptureCore
import Foundation
import Logging
import TestSupport
import Testing
@testable import CaptureDaemon

/// The look-back buffer in the fan-out, and the writer's frame-exact starts and clip ranges, on chunks of
/// the stereo test pattern.
@Suite struct LookBackTests {
    let format = AudioFormat(sampleRate: 48_000, channels: 2, sampleFormat: .s16)
    let chunkFrames = 4800
    let startTime = 1_800_000_000.0

    /// The bytes of a WAV file's `data` chunk.
    static func audio(ofWAV path: String) throws -> Data {
        let file = try Data(contentsOf: URL(fileURLWithPath: path))
        var offset = 12
        while offset + 8 <= file.count {
            let id = String(decoding: file[offset..<offset + 4], as: UTF8.self)
            let size = file[offset + 4..<offset + 8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
            if id == "data" { return file[offset + 8..<min(file.count, offset + 8 + size)] }
            offset += 8 + size + (size & 1)
        }
        return Data()
    }

    func publish(_ count: Int, from first: Int = 0, pool: ChunkPool, fanout: ChunkFanout) {
        let pattern = TestPattern.data(channels: 2, frames: count * chunkFrames, startFrame: first * chunkFrames)
        for i in 0..<count {
            let c = pool.acquire()!
            pattern.withUnsafeBytes { bytes in
                c.bytes.copyMemory(from: bytes.baseAddress! + i * chunkFrames * 4, byteCount: chunkFrames * 4)
            }
            c.byteCount = chunkFrames * 4
            c.frameCount = chunkFrames
            c.firstFrame = Int64((first + i) * chunkFrames)
            c.startTime = startTime + Double((first + i) * chunkFrames) / 48_000
            fanout.publish(c)
        }
    }

    @Test func keepsTheNewestChunksAndGivesEvictedBuffersBack() {
        let pool = ChunkPool(chunkBytes: chunkFrames * 4, initialCount: 0)
        pool.reserve(2 + 5)
        let fanout = ChunkFanout(lookBackChunks: 5, sampleRate: 48_000)
        publish(12, pool: pool, fanout: fanout)
        let held = fanout.lookBackHeld()
        #expect(held.frames == Int64(5 * chunkFrames))
        #expect(held.bytes == 5 * chunkFrames * 4)
        #expect(held.oldest?.frame == Int64(7 * chunkFrames))
        #expect(held.newestEnd?.frame == Int64(12 * chunkFrames))
        // 12 chunks went through 7 buffers: only the 5 held are in use.
        #expect(pool.count == 7)
        #expect(pool.available == 2)
        fanout.closeAll()
        #expect(pool.available == 7)
        #expect(fanout.lookBackHeld().frames == 0)
    }

    @Test func aReplayedChannelGetsThePastThenTheLiveChunksWithNothingLostOrRepeated() {
        let pool = ChunkPool(chunkBytes: chunkFrames * 4, initialCount: 0)
        pool.reserve(2 + 10 + 20)
        let fanout = ChunkFanout(lookBackChunks: 10, sampleRate: 48_000)
        publish(15, pool: pool, fanout: fanout)
        let channel = ChunkChannel(name: "past", capacity: 10 + 10)
        // 0.35 s before the end of chunk 14: inside chunk 11 (11.0 .. 12.0 × 0.1 s), 0.05 s in.
        let asked = startTime + 1.5 - 0.35
        var startFrame: Int64? = nil
        let replay = fanout.add(channel, replayingFrom: asked) { startFrame = $0 }
        #expect(startFrame == Int64(11 * chunkFrames + 2400))
        #expect(replay.firstFrame == startFrame)
        #expect(replay.chunks == 4)
        publish(3, from: 15, pool: pool, fanout: fanout)
        channel.close()
        var firsts: [Int64] = []
        while let c = channel.take() {
            firsts.append(c.firstFrame)
            c.release()
        }
        #expect(firsts == (11..<18).map { Int64($0 * chunkFrames) })
        fanout.closeAll()
        #expect(pool.available == pool.count)
    }

    @Test func askingForMoreThanIsHeldStartsAtTheOldestFrame() {
        let pool = ChunkPool(chunkBytes: chunkFrames * 4, initialCount: 0)
        pool.reserve(2 + 3 + 6)
        let fanout = ChunkFanout(lookBackChunks: 3, sampleRate: 48_000)
        publish(6, pool: pool, fanout: fanout)
        let channel = ChunkChannel(name: "past", capacity: 6)
        var startFrame: Int64? = nil
        let replay = fanout.add(channel, replayingFrom: startTime - 60) { startFrame = $0 }
        #expect(startFrame == Int64(3 * chunkFrames))
        #expect(replay.chunks == 3)
        channel.close()
        while let c = channel.take() { c.release() }
        fanout.closeAll()
    }

    /// A writer started at a frame inside the first replayed chunk writes exactly the frames from there
    /// on: the file is the pattern from that frame, bit for bit.
    @Test func aWriterStartedInsideAChunkBeginsAtThatFrameExactly() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var recording = RecordingConfiguration(name: "past", directory: dir.path)
        recording.segmentSeconds = 3600
        recording.align = .samples
        recording.filename = "{seq}.wav"
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let writer = SegmentWriter(recording: recording, format: format, events: events, logger: Logger(label: "t"))
        let pool = ChunkPool(chunkBytes: chunkFrames * 4, initialCount: 0)
        pool.reserve(2 + 10 + 20)
        let fanout = ChunkFanout(lookBackChunks: 10, sampleRate: 48_000)
        publish(10, pool: pool, fanout: fanout)
        let channel = ChunkChannel(name: "past", capacity: 20)
        _ = fanout.add(channel, replayingFrom: startTime + 0.3337) { writer.start(atFrame: $0) }
        publish(5, from: 10, pool: pool, fanout: fanout)
        channel.close()
        while let c = channel.take() {
            writer.consume(c)
            c.release()
        }
        writer.finish()
        fanout.closeAll()
        let segments = writer.segments()
        #expect(segments.count == 1)
        let first = Int64((0.3337 * 48_000).rounded())
        #expect(segments[0].firstFrame == first)
        #expect(segments[0].frames == Int64(15 * chunkFrames) - first)
        #expect(segments[0].gaps.isEmpty)
        let audio = try Self.audio(ofWAV: segments[0].path)
        #expect(audio == TestPattern.data(channels: 2, frames: 15 * chunkFrames - Int(first), startFrame: Int(first)))
    }

    /// A trigger's writer takes only its clips' frames: each clip is one file of exactly its span, the
    /// time between clips is no gap, and the sidecar says where the firing is in the clip.
    @Test func clipRangesMakeOneFileEachWithTheirMarkAndNoGapBetween() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        var trigger = TriggerConfiguration(name: "owl", directory: dir.path)
        trigger.filename = "{seq}.wav"
        let events = EventLog(logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
        let writer = SegmentWriter(
            recording: trigger.clipRecording, format: format, events: events, logger: Logger(label: "t"))
        let pool = ChunkPool(chunkBytes: chunkFrames * 4, initialCount: 0)
        pool.reserve(2 + 20)
        let fanout = ChunkFanout(lookBackChunks: 20, sampleRate: 48_000)
        publish(20, pool: pool, fanout: fanout)
        let chunks = fanout.lookBack(from: 0, to: .max)
        // Clip 1: frames 1000 ..< 15000 (fired at 6000); clip 2: 40000 ..< 52345 (fired at 45000).
        for (span, fired) in [(Int64(1000)..<15000, Int64(6000)), (40000..<52345, 45000)] {
            writer.forgetPosition()
            writer.markClip(ClipMark(trigger: "owl", frame: fired, peakDBFS: -12, continues: false))
            for c in chunks {
                let lower = Int(max(0, span.lowerBound - c.firstFrame))
                let upper = Int(min(Int64(c.frameCount), span.upperBound - c.firstFrame))
                if lower < upper { writer.consume(c, frames: lower..<upper) }
            }
            writer.closeFile()
        }
        for c in chunks { c.release() }
        writer.finish()
        fanout.closeAll()
        let segments = writer.segments()
        #expect(segments.map(\.firstFrame) == [1000, 40000])
        #expect(segments.map(\.frames) == [14000, 12345])
        #expect(segments.allSatisfy { $0.gaps.isEmpty })
        #expect(writer.status.gaps == 0)
        #expect(segments.map { $0.trigger.map { $0.frame - 0 } } == [6000, 45000])
        for segment in segments {
            let audio = try Self.audio(ofWAV: segment.path)
            #expect(
                audio
                    == TestPattern.data(
                        channels: 2, frames: Int(segment.frames), startFrame: Int(segment.firstFrame)))
            let sidecar =
                try JSONSerialization.jsonObject(
                    with: Data(contentsOf: URL(fileURLWithPath: segment.path + ".json"))) as! [String: Any]
            let mark = sidecar["trigger"] as! [String: Any]
            #expect(mark["offset_frames"] as? Int == Int(segment.trigger!.frame - segment.firstFrame))
            #expect(mark["name"] as? String == "owl")
        }
    }
}
