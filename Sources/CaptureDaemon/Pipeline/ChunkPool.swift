// Preallocated chunk buffers, so the steady state allocates nothing per chunk.
import CaptureCore
import Synchronization

/// A pool of equally sized ``ChunkBuffer``s. Buffers are handed out last-in first-out so that a pipeline
/// that keeps up touches only a few of them and the rest stay unresident.
public final class ChunkPool: Sendable {
    public let chunkBytes: Int
    private struct State {
        var all: [ChunkBuffer] = []
        var free: [ChunkBuffer] = []
        /// Slab addresses (as integers: raw pointers are not Sendable), freed at deinit.
        var slabs: [UInt] = []
        /// Buffers promised to the consumers that exist now (see `reserve`).
        var reserved = 0
    }
    private let state = Mutex(State())

    /// Channels of the audio: each buffer gets its level snapshot when it is made, not on the reader's
    /// first use (0: the reader makes it).
    public let channels: Int

    public init(chunkBytes: Int, initialCount: Int, channels: Int = 0) {
        self.chunkBytes = chunkBytes
        self.channels = channels
        grow(by: initialCount)
    }

    deinit {
        state.withLock { state in
            for slab in state.slabs { UnsafeMutableRawPointer(bitPattern: slab)?.deallocate() }
        }
    }

    /// Number of buffers owned by the pool.
    public var count: Int { state.withLock { $0.all.count } }
    /// Number of buffers not in use.
    public var available: Int { state.withLock { $0.free.count } }

    /// Adds `count` buffers (one allocation for all of them). Call when a consumer is added, never per chunk.
    public func grow(by count: Int) {
        guard count > 0 else { return }
        let slab = UnsafeMutableRawPointer.allocate(byteCount: chunkBytes * count, alignment: 64)
        let channels = self.channels
        let buffers = (0..<count).map { index in
            let buffer = ChunkBuffer(bytes: slab + index * chunkBytes, capacity: chunkBytes, pool: self)
            if channels > 0 { buffer.levels = LevelSnapshot(channels: channels) }
            return buffer
        }
        state.withLock { state in
            state.slabs.append(UInt(bitPattern: slab))
            state.all.append(contentsOf: buffers)
            state.free.reserveCapacity(state.all.count)
            state.free.append(contentsOf: buffers.reversed())
        }
    }

    /// Promises `count` more buffers to a new consumer, growing the pool only when the promises exceed
    /// what it owns: buffers of consumers that were removed (`unreserve`) are reused, so starting and
    /// stopping recordings over and over does not grow memory.
    public func reserve(_ count: Int) {
        let missing = state.withLock { state -> Int in
            state.reserved += count
            return max(0, state.reserved - state.all.count)
        }
        grow(by: missing)
    }

    /// Returns the promise of a consumer that is gone.
    public func unreserve(_ count: Int) {
        state.withLock { $0.reserved = max(0, $0.reserved - count) }
    }

    /// A free buffer holding one reference, or nil when every buffer is in use.
    public func acquire() -> ChunkBuffer? {
        let buffer = state.withLock { $0.free.popLast() }
        buffer?.references.store(1, ordering: .relaxed)
        buffer?.byteCount = 0
        buffer?.frameCount = 0
        return buffer
    }

    func recycle(_ buffer: ChunkBuffer) {
        state.withLock { $0.free.append(buffer) }
    }
}
