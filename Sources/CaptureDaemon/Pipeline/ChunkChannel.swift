// A bounded queue of chunks for one consumer; offering never blocks, taking does.
import Dispatch
import Synchronization

/// The queue between the reader thread and one consumer.
///
/// `offer` never waits: when the queue is full the chunk is refused and counted as dropped for this
/// consumer only. `take` blocks the consumer's own thread until a chunk arrives or the channel is closed.
public final class ChunkChannel: Sendable {
    public let name: String
    public let capacity: Int

    private struct Ring {
        var slots: [ChunkBuffer?]
        var head = 0
        var count = 0
        var closed = false
        var highWater = 0
    }
    private let ring: Mutex<Ring>
    private let items = DispatchSemaphore(value: 0)
    private let dropped = Atomic<Int64>(0)
    private let droppedChunks = Atomic<Int64>(0)
    private let takenChunks = Atomic<Int64>(0)

    public init(name: String, capacity: Int) {
        precondition(capacity > 0)
        self.name = name
        self.capacity = capacity
        self.ring = Mutex(Ring(slots: Array(repeating: nil, count: capacity)))
    }

    /// Queues `chunk` (taking over one reference) unless the queue is full or closed; returns whether it
    /// was queued. A refused chunk's reference stays with the caller.
    public func offer(_ chunk: ChunkBuffer) -> Bool {
        let queued = ring.withLock { ring -> Bool in
            guard !ring.closed, ring.count < capacity else { return false }
            ring.slots[(ring.head + ring.count) % capacity] = chunk
            ring.count += 1
            if ring.count > ring.highWater { ring.highWater = ring.count }
            return true
        }
        if queued {
            items.signal()
        } else {
            dropped.add(Int64(chunk.frameCount), ordering: .relaxed)
            droppedChunks.add(1, ordering: .relaxed)
        }
        return queued
    }

    /// The next chunk (the caller owns one reference and must release it), or nil once the channel is
    /// closed and drained. Blocks: call only from the consumer's own thread.
    public func take() -> ChunkBuffer? {
        items.wait()
        return ring.withLock { ring -> ChunkBuffer? in
            if ring.count > 0 {
                let chunk = ring.slots[ring.head]
                ring.slots[ring.head] = nil
                ring.head = (ring.head + 1) % capacity
                ring.count -= 1
                takenChunks.add(1, ordering: .relaxed)
                return chunk
            }
            // Closed and empty: leave a wake-up for any later call.
            items.signal()
            return nil
        }
    }

    /// Stops accepting chunks; `take` returns what is queued, then nil.
    public func close() {
        let wasOpen = ring.withLock { ring -> Bool in
            defer { ring.closed = true }
            return !ring.closed
        }
        if wasOpen { items.signal() }
    }

    /// Chunks waiting now.
    public var depth: Int { ring.withLock { $0.count } }
    /// The most chunks ever waiting at once.
    public var highWater: Int { ring.withLock { $0.highWater } }
    /// Frames refused because the queue was full.
    public var droppedFrames: Int64 { dropped.load(ordering: .relaxed) }
    public var droppedChunkCount: Int64 { droppedChunks.load(ordering: .relaxed) }
    /// Chunks the consumer has taken so far: its progress, for the health check.
    public var takenChunkCount: Int64 { takenChunks.load(ordering: .relaxed) }
}
