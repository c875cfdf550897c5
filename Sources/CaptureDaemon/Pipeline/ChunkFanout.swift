// Hands every chunk to every consumer's queue, and keeps the newest chunks for the look-back buffer.
import Synchronization

/// The set of consumer queues the reader publishes to. Consumers come and go while capture runs.
///
/// With a look-back depth, the newest `lookBackChunks` chunks stay referenced after their consumers are
/// done with them (their buffers are part of the pool, reserved by the capture), so a recording can start
/// in the past (``add(_:replayingFrom:)``) and a clip can be cut from audio already captured
/// (``lookBack(from:to:)``).
public final class ChunkFanout: Sendable {
    private struct State {
        var channels: [ChunkChannel] = []
        /// The look-back ring: oldest at `head`.
        var ring: [ChunkBuffer?]
        var head = 0
        var count = 0
        var heldFrames: Int64 = 0
        var heldBytes = 0
    }
    private let state: Mutex<State>
    /// Chunks the look-back buffer holds at most (0: off).
    public let lookBackChunks: Int
    /// Frames per second of the chunks (to know where a chunk's audio ends in time).
    private let rate: Double

    public init(lookBackChunks: Int = 0, sampleRate: Int = 48_000) {
        self.lookBackChunks = max(0, lookBackChunks)
        rate = Double(max(1, sampleRate))
        state = Mutex(State(ring: Array(repeating: nil, count: max(0, lookBackChunks))))
    }

    public func add(_ channel: ChunkChannel) {
        state.withLock { $0.channels.append(channel) }
    }

    /// What ``add(_:replayingFrom:)`` handed over from the look-back buffer.
    public struct Replay: Sendable {
        /// Capture frame and wall time where the recording starts (the frame at the time asked for, or the
        /// oldest held); nil when the buffer was empty.
        public var firstFrame: Int64?
        public var firstTime: Double?
        /// Chunks handed over.
        public var chunks: Int
    }

    /// Adds `channel` after queueing, in one step with the publishing, the look-back chunks whose audio
    /// ends after wall time `time` (all held, when the buffer does not reach back that far): the channel
    /// then takes every later chunk, so the past and the live audio join with nothing lost or repeated.
    /// The channel must have room for the look-back chunks besides its own queue. `startingAt` is called
    /// with the frame at `time` (or the oldest held) before any chunk is queued, so the consumer knows
    /// where to begin inside the first chunk before it takes it.
    public func add(
        _ channel: ChunkChannel, replayingFrom time: Double, startingAt: (_ frame: Int64) -> Void
    ) -> Replay {
        let rate = self.rate
        return state.withLock { state in
            var replay = Replay(firstFrame: nil, firstTime: nil, chunks: 0)
            for index in 0..<state.count {
                guard let chunk = state.ring[(state.head + index) % state.ring.count] else { continue }
                let end = chunk.startTime + Double(chunk.frameCount) / rate
                guard end > time else { continue }
                if replay.firstFrame == nil {
                    let into = min(
                        Int64(chunk.frameCount - 1), max(0, Int64(((time - chunk.startTime) * rate).rounded())))
                    replay.firstFrame = chunk.firstFrame + into
                    replay.firstTime = chunk.startTime + Double(into) / rate
                    startingAt(chunk.firstFrame + into)
                }
                chunk.retain()
                if channel.offer(chunk) {
                    replay.chunks += 1
                } else {
                    chunk.release()
                }
            }
            state.channels.append(channel)
            return replay
        }
    }

    /// The look-back chunks that hold audio of capture frames `from..<to`, each with one reference the
    /// caller must release. Oldest first.
    public func lookBack(from: Int64, to: Int64) -> [ChunkBuffer] {
        state.withLock { state in
            var chunks: [ChunkBuffer] = []
            for index in 0..<state.count {
                guard let chunk = state.ring[(state.head + index) % state.ring.count] else { continue }
                guard chunk.firstFrame + Int64(chunk.frameCount) > from, chunk.firstFrame < to else { continue }
                chunk.retain()
                chunks.append(chunk)
            }
            return chunks
        }
    }

    /// What the look-back buffer holds now: frames, bytes, and the oldest and newest chunk's times.
    public func lookBackHeld() -> (
        frames: Int64, bytes: Int, oldest: (frame: Int64, time: Double)?, newestEnd: (frame: Int64, time: Double)?
    ) {
        let rate = self.rate
        return state.withLock { state in
            guard state.count > 0, let oldest = state.ring[state.head],
                let newest = state.ring[(state.head + state.count - 1) % state.ring.count]
            else { return (0, 0, nil, nil) }
            let newestEnd = (
                newest.firstFrame + Int64(newest.frameCount),
                newest.startTime + Double(newest.frameCount) / rate
            )
            return (state.heldFrames, state.heldBytes, (oldest.firstFrame, oldest.startTime), newestEnd)
        }
    }

    /// Removes and closes `channel`; its consumer drains what is queued and then finishes.
    public func remove(_ channel: ChunkChannel) {
        state.withLock { $0.channels.removeAll { $0 === channel } }
        channel.close()
    }

    /// Puts `new` in the place of `old` in one step, then closes `old`: every chunk goes to exactly one of
    /// them (a recording whose configuration changed hands over without losing or repeating audio).
    public func replace(_ old: ChunkChannel, with new: ChunkChannel) {
        state.withLock { state in
            state.channels.removeAll { $0 === old }
            state.channels.append(new)
        }
        old.close()
    }

    /// Closes every channel (shutdown) and lets go of the look-back buffer.
    public func closeAll() {
        let (all, held) = state.withLock { state -> ([ChunkChannel], [ChunkBuffer]) in
            defer {
                state.channels.removeAll()
                for index in state.ring.indices { state.ring[index] = nil }
                state.head = 0
                state.count = 0
                state.heldFrames = 0
                state.heldBytes = 0
            }
            return (state.channels, state.ring.compactMap { $0 })
        }
        for channel in all { channel.close() }
        for chunk in held { chunk.release() }
    }

    /// Offers `chunk` to every queue, keeps it in the look-back buffer, and gives up the caller's
    /// reference. Never blocks on a consumer.
    public func publish(_ chunk: ChunkBuffer) {
        let evicted = state.withLock { state -> ChunkBuffer? in
            for channel in state.channels {
                chunk.retain()
                if !channel.offer(chunk) { chunk.release() }
            }
            guard !state.ring.isEmpty else { return nil }
            chunk.retain()
            var evicted: ChunkBuffer? = nil
            if state.count == state.ring.count {
                evicted = state.ring[state.head]
                state.ring[state.head] = nil
                state.head = (state.head + 1) % state.ring.count
                state.count -= 1
                if let evicted {
                    state.heldFrames -= Int64(evicted.frameCount)
                    state.heldBytes -= evicted.byteCount
                }
            }
            state.ring[(state.head + state.count) % state.ring.count] = chunk
            state.count += 1
            state.heldFrames += Int64(chunk.frameCount)
            state.heldBytes += chunk.byteCount
            return evicted
        }
        evicted?.release()
        chunk.release()
    }
}
