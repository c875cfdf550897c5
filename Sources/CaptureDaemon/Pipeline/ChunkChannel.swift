// A bounded queue of chunks for one consumer; offering never blocks, taking does.
import Dispatch
import Synchronization

/// The queue between the reader thread and one consumer.
///
/// `offer` never waits: when the queue is full the chunk is refused and counted as dropped for this
/// consumer only. The consumer's thread sleeps in ``awaitChunks()`` and drains with ``poll()``.
///
/// A consumer that need not see each chunk at once (a file writer, the level meter) sets `batch`: it is
/// woken when `batch` chunks are waiting, or at the latest `longestWait` seconds after it went to sleep,
/// so it wakes once per batch instead of once per chunk (each wake-up costs a context switch).
public final class ChunkChannel: Sendable {
    public let name: String
    public let capacity: Int
    /// Chunks that wake the consumer (1: every chunk); ``setBatch(_:)`` changes it while chunks flow.
    public var batch: Int { batchSize.load(ordering: .relaxed) }
    private let batchSize: Atomic<Int>
    /// With `batch` > 1: the longest a chunk waits before the consumer is woken anyway, in seconds.
    public let longestWait: Double

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

    public init(name: String, capacity: Int, batch: Int = 1, longestWait: Double = 1) {
        precondition(capacity > 0)
        self.name = name
        self.capacity = capacity
        // At most half the queue: the consumer must wake while the rest still has room for what arrives.
        self.batchSize = Atomic(Self.clamp(batch, capacity: capacity))
        self.longestWait = max(0.001, longestWait)
        self.ring = Mutex(Ring(slots: Array(repeating: nil, count: capacity)))
    }

    private static func clamp(_ batch: Int, capacity: Int) -> Int {
        min(max(1, batch), max(1, capacity / 2))
    }

    /// The batch for a consumer that may wait `seconds` for its chunks of `chunkSeconds` each (at least 1).
    public static func batch(seconds: Double, chunkSeconds: Double) -> Int {
        guard chunkSeconds > 0, seconds.isFinite else { return 1 }
        return max(1, Int((seconds / chunkSeconds + 1e-9).rounded(.down)))
    }

    /// Queues `chunk` (taking over one reference) unless the queue is full or closed; returns whether it
    /// was queued. A refused chunk's reference stays with the caller.
    /// Wakes the consumer every `batch` chunks from now on (the level monitor goes to every chunk while a
    /// client follows the levels live); wakes it at once when that many wait already.
    public func setBatch(_ batch: Int) {
        let batch = Self.clamp(batch, capacity: capacity)
        batchSize.store(batch, ordering: .relaxed)
        if ring.withLock({ $0.count >= batch }) { items.signal() }
    }

    public func offer(_ chunk: ChunkBuffer) -> Bool {
        let batch = self.batch
        let (queued, wake) = ring.withLock { ring -> (Bool, Bool) in
            guard !ring.closed, ring.count < capacity else { return (false, false) }
            ring.slots[(ring.head + ring.count) % capacity] = chunk
            ring.count += 1
            if ring.count > ring.highWater { ring.highWater = ring.count }
            // The consumer drains everything each time it wakes: one wake-up when the batch is complete.
            return (true, ring.count == batch)
        }
        if wake { items.signal() }
        if !queued {
            dropped.add(Int64(chunk.frameCount), ordering: .relaxed)
            droppedChunks.add(1, ordering: .relaxed)
        }
        return queued
    }

    /// Sleeps until `batch` chunks wait, `longestWait` has passed (with a batch), or the channel is closed;
    /// returns false once it is closed and drained. Consumer thread only; then take the chunks with
    /// ``poll()`` until it returns nil.
    public func awaitChunks() -> Bool {
        let batch = self.batch
        let ready = ring.withLock { $0.count >= batch || ($0.closed && $0.count == 0) }
        if !ready {
            if batch == 1 {
                items.wait()
            } else {
                _ = items.wait(timeout: .now() + longestWait)
            }
        }
        return ring.withLock { $0.count > 0 || !$0.closed }
    }

    /// The oldest waiting chunk (the caller owns one reference and must release it), or nil when none
    /// waits. Never blocks.
    public func poll() -> ChunkBuffer? {
        ring.withLock { ring -> ChunkBuffer? in
            guard ring.count > 0 else { return nil }
            let chunk = ring.slots[ring.head]
            ring.slots[ring.head] = nil
            ring.head = (ring.head + 1) % capacity
            ring.count -= 1
            takenChunks.add(1, ordering: .relaxed)
            return chunk
        }
    }

    /// The next chunk, waiting for one (the caller owns one reference and must release it), or nil once
    /// the channel is closed and drained. Consumer thread only.
    public func take() -> ChunkBuffer? {
        while true {
            if let chunk = poll() { return chunk }
            guard awaitChunks() else { return nil }
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
