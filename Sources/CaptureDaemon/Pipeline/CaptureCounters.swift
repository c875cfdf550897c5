// Live counters of the capture, written by the reader thread and read by status and supervision.
import Synchronization

/// Counters shared between the reader thread and everything that reports on it. Lock-free.
public final class CaptureCounters: Sendable {
    /// Frames read off ffmpeg's pipe since the daemon started.
    public let framesCaptured = Atomic<Int64>(0)
    public let bytesRead = Atomic<Int64>(0)
    /// Frames thrown away because no chunk buffer was free (every consumer's queue full).
    public let framesLostNoBuffer = Atomic<Int64>(0)
    /// Frames a stream copy delivered in another format than configured (another rate, say): not recorded.
    public let framesRefused = Atomic<Int64>(0)
    /// Bytes of an incomplete frame left when a run ended.
    public let trailingBytesDiscarded = Atomic<Int64>(0)
    /// Monotonic time of the last byte read, as bit pattern of a Double (0 = never).
    private let lastAudioBits = Atomic<UInt64>(0)
    public let xruns = Atomic<Int64>(0)
    public let ffmpegStarts = Atomic<Int64>(0)
    /// Clients following this source's levels live: while there are any, the reader and the level monitor
    /// wake per chunk, so the meter moves at the chunk rate; else they let audio gather (fewer wake-ups).
    public let watchers = Atomic<Int>(0)

    public init() {}

    func markAudio(at monotonic: Double) {
        lastAudioBits.store(monotonic.bitPattern, ordering: .relaxed)
    }

    /// Monotonic time of the last audio, or nil if none arrived yet.
    public var lastAudioMonotonic: Double? {
        let bits = lastAudioBits.load(ordering: .relaxed)
        return bits == 0 ? nil : Double(bitPattern: bits)
    }
}
