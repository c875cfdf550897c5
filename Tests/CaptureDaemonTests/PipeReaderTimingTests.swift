// The reader's chunk times against the times their audio was written, and the batched queues' wake-ups.
import CaptureCore
import Foundation
import Synchronization
import Testing
@testable import CaptureDaemon

#if canImport(Glibc)
    import Glibc
#endif

/// Runs `body` on a thread of its own and waits for it without holding one of Swift's few shared threads
/// (these tests block for seconds: on two cores that would stall every other suite running meanwhile).
private func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        Thread { continuation.resume(returning: body()) }.start()
    }
}

@Suite(.serialized) struct PipeReaderTimingTests {
    /// A writer thread plays 8 kHz mono s16 into a pipe at real time, 10 ms per write, and notes when it
    /// wrote each chunk's first frame. The reader sleeps half a second between wake-ups and reads what
    /// gathered as whole chunks; each chunk's time must still be when its audio arrived (within the
    /// writer's 10 ms pieces and scheduling), not when the reader got round to it.
    @Test func chunkTimesFollowTheAudioNotTheReadersSleeps() async throws {
        let (times, truth, levelsMeasured) = await onOwnThread { Self.recordPacedPipe() }
        #expect(levelsMeasured, "the reader measured every chunk once for all consumers")
        #expect(times.count == truth.count && times.count >= 25)
        // The clock starts from the first observation and then averages: skip the first second.
        let errors = zip(times, truth).dropFirst(10).map { abs($0 - $1) }
        let worst = errors.max() ?? .infinity
        print("pipe-reader-timing chunks=\(times.count) worst_error_ms=\(String(format: "%.1f", worst * 1000))")
        // Read at the reader's wake-ups instead, the times would be up to half a second late.
        #expect(worst < 0.06, "chunk times off by up to \(worst) s")
    }

    /// The chunks' start times, the times their first frames were written, and whether every chunk
    /// carried its levels.
    private static func recordPacedPipe() -> ([Double], [Double], Bool) {
        let rate = 8000
        let format = AudioFormat(sampleRate: rate, channels: 1, sampleFormat: .s16)
        let chunkFrames = 800
        let seconds = 3.0
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0)
        let pool = ChunkPool(chunkBytes: chunkFrames * 2, initialCount: 64, channels: 1)
        let fanout = ChunkFanout()
        let channel = ChunkChannel(name: "t", capacity: 64)
        fanout.add(channel)
        let counters = CaptureCounters()
        let reader = PipeReader(
            fd: fds[0],
            configuration: .init(format: format, chunkFrames: chunkFrames, run: 1, firstFrame: 0),
            clock: FrameClock(sampleRate: rate), pool: pool, fanout: fanout, counters: counters)
        reader.start { _ in channel.close() }
        // The writer: 80 frames every 10 ms, paced on the wall clock; the time of every 800th frame.
        let written = Mutex<[Double]>([])
        let writeEnd = fds[1]
        let writer = Thread {
            let piece = [Int16](repeating: 1000, count: 80)
            let start = SystemClock.wall()
            var frame = 0
            while Double(frame) < seconds * Double(rate) {
                let due = start + Double(frame) / Double(rate)
                let wait = due - SystemClock.wall()
                if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
                if frame % chunkFrames == 0 { written.withLock { $0.append(SystemClock.wall()) } }
                _ = piece.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
                frame += 80
            }
            close(writeEnd)
        }
        writer.start()
        var times: [Double] = []
        var levelsMeasured = true
        while let chunk = channel.take() {
            times.append(chunk.startTime)
            levelsMeasured = levelsMeasured && chunk.levels?.frames == Int64(chunk.frameCount)
            chunk.release()
        }
        return (times, written.withLock { $0 }, levelsMeasured)
    }

    @Test func aBatchedConsumerWakesPerBatchAtTheLongestWaitOrWhenTheBatchShrinks() async throws {
        let report = await onOwnThread { Self.exerciseBatches() }
        #expect(report.shortWait >= 0.25 && report.shortWait < 3, "waited \(report.shortWait) s")
        #expect(report.shortSeen == [0, 16])
        #expect(report.batchWait < 10 && report.batchSeen == [0, 16, 32])
        #expect(report.shrinkWait < 10 && report.shrinkSeen == [48])
        #expect(report.closedReturnsFalse)
    }

    private struct BatchReport: Sendable {
        var shortWait = 0.0
        var shortSeen: [Int64] = []
        var batchWait = 0.0
        var batchSeen: [Int64] = []
        var shrinkWait = 0.0
        var shrinkSeen: [Int64] = []
        var closedReturnsFalse = false
    }

    private static func exerciseBatches() -> BatchReport {
        var report = BatchReport()
        let pool = ChunkPool(chunkBytes: 64, initialCount: 16)
        @Sendable func chunk(_ first: Int64) -> ChunkBuffer {
            let c = pool.acquire()!
            c.firstFrame = first
            c.frameCount = 16
            c.byteCount = 64
            return c
        }
        func drain(_ channel: ChunkChannel) -> [Int64] {
            var seen: [Int64] = []
            while let c = channel.poll() {
                seen.append(c.firstFrame)
                c.release()
            }
            return seen
        }
        // Two chunks of a batch of three: the consumer sleeps until the longest wait, then takes both.
        let short = ChunkChannel(name: "short", capacity: 8, batch: 3, longestWait: 0.3)
        _ = short.offer(chunk(0))
        _ = short.offer(chunk(16))
        var start = SystemClock.monotonic()
        _ = short.awaitChunks()
        report.shortWait = SystemClock.monotonic() - start
        report.shortSeen = drain(short)

        // The third chunk of a batch, from another thread, wakes it long before the longest wait.
        let long = ChunkChannel(name: "long", capacity: 8, batch: 3, longestWait: 20)
        let offers = Thread {
            for i in 0..<3 {
                usleep(20_000)
                _ = long.offer(chunk(Int64(i) * 16))
            }
        }
        start = SystemClock.monotonic()
        offers.start()
        _ = long.awaitChunks()
        report.batchWait = SystemClock.monotonic() - start
        report.batchSeen = drain(long)

        // One chunk waits; a client starts following the levels (batch 1): the consumer wakes for it.
        _ = long.offer(chunk(48))
        let shrink = Thread {
            usleep(50_000)
            long.setBatch(1)
        }
        start = SystemClock.monotonic()
        shrink.start()
        _ = long.awaitChunks()
        report.shrinkWait = SystemClock.monotonic() - start
        report.shrinkSeen = drain(long)

        // Closed and drained: false at once.
        long.close()
        report.closedReturnsFalse = !long.awaitChunks()
        return report
    }

    @Test func httpDatesAreIMFFixdate() {
        #expect(QuietApplicationRunner.httpDate(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(QuietApplicationRunner.httpDate(1_796_188_800) == "Wed, 02 Dec 2026 05:20:00 GMT")
    }
}
