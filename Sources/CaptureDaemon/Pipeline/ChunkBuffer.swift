// One reusable buffer of interleaved PCM frames, handed from the reader thread to every consumer.
import CaptureCore
import Synchronization

/// A chunk of frame-aligned PCM bytes taken from a ``ChunkPool``.
///
/// The reader thread fills it and sets its fields, then publishes it; from then on it is read-only until
/// the last consumer releases it and it returns to the pool.
// @unchecked Sendable: the mutable fields are written only by the reader thread before the chunk is
// published (the queue's lock orders those writes before any consumer's reads) and not again until
// every reference is released and the pool hands the buffer out anew.
public final class ChunkBuffer: @unchecked Sendable {
    public let bytes: UnsafeMutableRawPointer
    public let capacity: Int
    /// Bytes of audio in the buffer (whole frames).
    public internal(set) var byteCount = 0
    /// Position of the first frame since the daemon started (frames are counted across ffmpeg runs).
    public internal(set) var firstFrame: Int64 = 0
    /// Number of frames held.
    public internal(set) var frameCount = 0
    /// Wall time (seconds since the epoch) of the first frame, from the smoothed frame clock.
    public internal(set) var startTime: Double = 0
    /// Which ffmpeg run produced the chunk (starts at 1, grows at each restart).
    public internal(set) var run = 0
    /// Set on the first chunk of a run after the first: the audio before it ended at a restart.
    public internal(set) var followsRestart = false
    /// xruns ffmpeg reported since the previous chunk (0 almost always).
    public internal(set) var xruns = 0
    /// With `xruns`: the audio they lost, estimated from how much later than before this chunk arrived.
    public internal(set) var xrunLostSeconds = 0.0

    /// Per-channel levels of the whole chunk, measured once by the reader for every consumer (the level
    /// monitor, each writer's per-file peak and RMS); nil when the reader did not measure it.
    public internal(set) var levels: LevelSnapshot?

    let references = Atomic<Int>(0)
    unowned let pool: ChunkPool

    init(bytes: UnsafeMutableRawPointer, capacity: Int, pool: ChunkPool) {
        self.bytes = bytes
        self.capacity = capacity
        self.pool = pool
    }

    /// The audio bytes.
    public var audio: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: bytes, count: byteCount) }

    func retain(_ count: Int = 1) {
        references.add(count, ordering: .relaxed)
    }

    /// Gives up one reference; the last one returns the buffer to its pool.
    public func release() {
        if references.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            pool.recycle(self)
        }
    }
}
