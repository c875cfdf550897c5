import CaptureCore
import Foundation
import Logging
import Testing
@testable import CaptureDaemon

@Suite struct ChunkQueueTests {
    func chunk(from pool: ChunkPool, firstFrame: Int64, frames: Int) -> ChunkBuffer {
        let c = pool.acquire()!
        c.firstFrame = firstFrame
        c.frameCount = frames
        c.byteCount = frames * 4
        return c
    }

    @Test func fullQueueDropsForThatConsumerOnlyAndCounts() {
        let pool = ChunkPool(chunkBytes: 64, initialCount: 16)
        let fanout = ChunkFanout()
        let slow = ChunkChannel(name: "slow", capacity: 2)
        let fast = ChunkChannel(name: "fast", capacity: 8)
        fanout.add(slow)
        fanout.add(fast)
        for i in 0..<5 {
            fanout.publish(chunk(from: pool, firstFrame: Int64(i * 16), frames: 16))
        }
        #expect(slow.depth == 2)
        #expect(slow.droppedFrames == 48)
        #expect(slow.droppedChunkCount == 3)
        #expect(fast.depth == 5)
        #expect(fast.droppedFrames == 0)
        // Buffers are shared: 5 published, held by the fast queue (2 also by the slow one).
        #expect(pool.available == 16 - 5)
        var seen: [Int64] = []
        fast.close()
        while let c = fast.take() { seen.append(c.firstFrame); c.release() }
        #expect(seen == [0, 16, 32, 48, 64])
        #expect(pool.available == 16 - 2)
        slow.close()
        while let c = slow.take() { c.release() }
        #expect(pool.available == 16)
        #expect(slow.take() == nil)
    }

    @Test func takeWaitsForAChunkFromAnotherThread() async {
        let pool = ChunkPool(chunkBytes: 64, initialCount: 4)
        let channel = ChunkChannel(name: "c", capacity: 4)
        let c = chunk(from: pool, firstFrame: 7, frames: 1)
        let thread = Thread {
            usleep(50_000)
            _ = channel.offer(c)
            channel.close()
        }
        thread.start()
        let first = channel.take()
        #expect(first?.firstFrame == 7)
        first?.release()
        #expect(channel.take() == nil)
    }

    @Test func steadyStateReusesBuffers() {
        let pool = ChunkPool(chunkBytes: 64, initialCount: 3)
        let fanout = ChunkFanout()
        let channel = ChunkChannel(name: "c", capacity: 2)
        fanout.add(channel)
        var addresses = Set<UnsafeMutableRawPointer>()
        for i in 0..<1000 {
            let c = chunk(from: pool, firstFrame: Int64(i), frames: 1)
            addresses.insert(c.bytes)
            fanout.publish(c)
            let taken = channel.take()!
            taken.release()
        }
        #expect(addresses.count == 1)
        #expect(pool.available == 3)
    }

    @Test func reservationsReuseBuffersOfRemovedConsumers() {
        let pool = ChunkPool(chunkBytes: 64, initialCount: 0)
        pool.reserve(2)
        pool.reserve(301)
        #expect(pool.count == 303)
        // A recording stops and another starts, a hundred times: the pool does not grow.
        for _ in 0..<100 {
            pool.unreserve(301)
            pool.reserve(301)
        }
        #expect(pool.count == 303)
        pool.reserve(301)
        #expect(pool.count == 604)
    }
}
