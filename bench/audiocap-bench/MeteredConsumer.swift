// Wraps a pipeline consumer to time it, track its progress and count the allocations each chunk costs.
import CaptureDaemon
import Dispatch
import Synchronization

/// A ``ChunkConsumer`` around another one (or around nothing: a consumer that only lets its chunks be
/// released). Counts the allocations its thread makes inside the inner `consume`, per chunk, over a
/// window of chunk indices, and can take process-wide snapshots at the window's edges. Nothing in
/// `consume` allocates: the list of allocating chunks has its capacity reserved up front.
// @unchecked Sendable: every var is written only on the consumer thread; the benchmark reads them after
// `finished` was signalled (which orders those writes before the reads). `progress` is atomic.
final class MeteredConsumer: ChunkConsumer, @unchecked Sendable {
    struct AllocatingChunk: Codable {
        var consumer: String
        var chunk: Int
        var firstFrame: Int64
        var frames: Int
        var allocations: UInt64
        /// The chunk ends a segment or starts the next one (the writer closes and opens files there).
        var segmentBoundary: Bool
    }

    /// Snapshots taken when this consumer reaches the first and the last chunk of the window.
    struct WindowSnapshots {
        let start = ThreadAllocationSnapshot()
        let end = ThreadAllocationSnapshot()
        var startWall = 0.0
        var endWall = 0.0
        /// Record the stacks of allocations made by any thread during the window.
        var trace: Bool
    }

    /// Call stacks recorded per thread during the window.
    static let tracedPerThread = 128

    let name: String
    private let inner: (any ChunkConsumer)?
    private let window: Range<Int>
    private let framesPerSegment: Int64
    private let finished: DispatchSemaphore
    /// Frame position just after the last chunk consumed (the producer's flow control reads it).
    let progress = Atomic<Int64>(0)

    private(set) var snapshots: WindowSnapshots?
    private(set) var tid: Int32 = 0
    private(set) var chunks = 0
    private(set) var frames: Int64 = 0
    private(set) var allocations: UInt64 = 0
    private(set) var windowAllocations: UInt64 = 0
    private(set) var windowChunks = 0
    private(set) var allocatingChunks: [AllocatingChunk] = []
    private(set) var tracedStacks: Int32 = 0
    private(set) var cpuSeconds = 0.0
    private(set) var finishedAt = 0.0

    /// - Parameters:
    ///   - window: chunk indices (0 = the first chunk this consumer sees) whose allocations are counted.
    ///   - snapshots: take process-wide per-thread snapshots at the window's edges (one consumer only).
    init(
        name: String, inner: (any ChunkConsumer)?, window: Range<Int>, framesPerSegment: Int64,
        snapshots: WindowSnapshots?, finished: DispatchSemaphore
    ) {
        self.name = name
        self.inner = inner
        self.window = window
        self.framesPerSegment = framesPerSegment
        self.snapshots = snapshots
        self.finished = finished
        allocatingChunks.reserveCapacity(4096)
    }

    func consume(_ chunk: ChunkBuffer) {
        if tid == 0 { tid = AllocationCounter.tid }
        let index = chunks
        if index == window.lowerBound, snapshots != nil {
            snapshots!.startWall = Clocks.wall()
            snapshots!.start.take()
            if snapshots!.trace { AllocationTracer.start(limit: 256, perThread: Self.tracedPerThread) }
        }
        let before = AllocationCounter.thread
        inner?.consume(chunk)
        let delta = AllocationCounter.thread - before
        allocations += delta
        if window.contains(index) {
            windowAllocations += delta
            windowChunks += 1
            if delta > 0, allocatingChunks.count < allocatingChunks.capacity {
                let first = chunk.firstFrame
                let end = first + Int64(chunk.frameCount)
                let boundary =
                    first % framesPerSegment == 0 || first / framesPerSegment != (end - 1) / framesPerSegment
                    || end % framesPerSegment == 0
                allocatingChunks.append(
                    AllocatingChunk(
                        consumer: name, chunk: index, firstFrame: first, frames: chunk.frameCount, allocations: delta,
                        segmentBoundary: boundary))
            }
        }
        if index + 1 == window.upperBound, snapshots != nil {
            if snapshots!.trace { tracedStacks = AllocationTracer.stop() }
            snapshots!.end.take()
            snapshots!.endWall = Clocks.wall()
        }
        chunks += 1
        frames += Int64(chunk.frameCount)
        progress.store(chunk.firstFrame + Int64(chunk.frameCount), ordering: .releasing)
    }

    func finish() {
        inner?.finish()
        cpuSeconds = Clocks.threadCPU()
        finishedAt = Clocks.wall()
        finished.signal()
    }
}
