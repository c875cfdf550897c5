// The dedicated thread that reads ffmpeg's stdout and cuts it into chunks.
import CSystemShims
import CaptureCore
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Reads one ffmpeg run's stdout on its own thread, cuts the bytes into frame-aligned chunks of
/// `chunkFrames`, stamps each with its frame position and wall time, and publishes it to the fanout.
///
/// It never waits for a consumer: a full consumer queue drops for that consumer only, and when no
/// buffer is free at all the audio read is counted in ``CaptureCounters/framesLostNoBuffer``.
/// A real-time source trickles in small writes (ffmpeg writes each ALSA packet, about 512 bytes, a few
/// hundred times a second); after a chunk the thread sleeps until half a second of audio should be
/// waiting (``idleWakeSeconds``; one chunk while someone follows the levels live, see
/// ``CaptureCounters/watchers``), at most while a quarter of the pipe fills, and then reads it as whole
/// chunks: it wakes twice a second rather than per packet, and ffmpeg never finds the pipe full. A fast
/// source has whole chunks waiting and is never paused. Each chunk's time comes from the front of the
/// audio (what was read plus what waits in the pipe), so reading in bursts does not move it.
/// The thread owns `fd` and closes it at end of stream.
public final class PipeReader: Sendable {
    public struct Configuration: Sendable {
        public var format: AudioFormat
        public var chunkFrames: Int
        public var run: Int
        /// Frame position of the first frame this run will deliver.
        public var firstFrame: Int64
        /// Set when ffmpeg copies the stream: the first chunk waits for its verdict, and a refused run's
        /// audio is counted in ``CaptureCounters/framesRefused`` and never published.
        var check: StreamCheck? = nil
        /// Called on the reader thread when the check refused the stream: why, and the frame position and
        /// wall time where the audio that is not recorded begins.
        var onRefused: (@Sendable (_ reason: String, _ frame: Int64, _ time: Double) -> Void)? = nil
        /// How much audio gathers in the pipe between wake-ups when nobody watches the levels live; at most
        /// ``PipeReader/idleWakeSeconds``. The capture gives a quarter of its queue when that is less, so
        /// one burst of chunks never fills a consumer's queue.
        var idleWakeSeconds = PipeReader.idleWakeSeconds

        public init(format: AudioFormat, chunkFrames: Int, run: Int, firstFrame: Int64) {
            self.format = format
            self.chunkFrames = chunkFrames
            self.run = run
            self.firstFrame = firstFrame
        }
    }

    /// What the run delivered, reported at end of stream.
    public struct Outcome: Sendable {
        public var frames: Int64
        public var framesLost: Int64
        public var readError: Int32?
        public var nextFrame: Int64
        public var clock: FrameClock
    }

    /// How much audio the reader lets gather in the pipe between wake-ups when nobody watches the levels
    /// live (it reads it as whole chunks at once): the timing of every chunk comes from the front of the
    /// audio, not from when it was read, so this costs nothing but half a second of delay to the consumers.
    static let idleWakeSeconds = 0.5

    private let fd: Int32
    private let configuration: Configuration
    private let pool: ChunkPool
    private let fanout: ChunkFanout
    private let counters: CaptureCounters
    private let finished = Completion<Outcome>()
    /// The smoothed frame clock, handed in at start and back in the outcome. Touched only by the thread.
    private let initialClock: FrameClock

    public init(
        fd: Int32, configuration: Configuration, clock: FrameClock, pool: ChunkPool, fanout: ChunkFanout,
        counters: CaptureCounters
    ) {
        self.fd = fd
        self.configuration = configuration
        self.initialClock = clock
        self.pool = pool
        self.fanout = fanout
        self.counters = counters
    }

    /// Starts the thread; `onFinish` is called on it at end of stream.
    public func start(onFinish: @escaping @Sendable (Outcome) -> Void) {
        DedicatedThread.start(name: "ac-reader") { [self] in
            let outcome = readLoop()
            finished.complete(outcome)
            onFinish(outcome)
        }
    }

    /// Waits until the stream ended (ffmpeg closed its stdout).
    public func outcome() async -> Outcome { await finished.value() }

    private func readLoop() -> Outcome {
        defer { close(fd) }
        let bytesPerFrame = configuration.format.bytesPerFrame
        let chunkBytes = configuration.chunkFrames * bytesPerFrame
        precondition(chunkBytes <= pool.chunkBytes)
        var clock = initialClock
        var nextFrame = configuration.firstFrame
        var delivered: Int64 = 0
        var lost: Int64 = 0
        var firstOfRun = configuration.run > 1
        // Reads land here when no pool buffer is free, so the pipe keeps draining.
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: chunkBytes, alignment: 64)
        defer { scratch.deallocate() }
        var chunk: ChunkBuffer? = nil
        var filled = 0
        var readError: Int32? = nil
        var latency = LatencyBaseline()
        let bytesPerSecond = Double(configuration.format.bytesPerSecond)
        let pipeBytes = max(4096, Int(audiocap_get_pipe_size(fd)))
        // Never sleep while more than a quarter of the pipe fills: ffmpeg must never find it full.
        let pipeLimit = Double(pipeBytes) / 4 / bytesPerSecond
        let chunkSeconds = Double(chunkBytes) / bytesPerSecond
        // Devices deliver in periods of a few to some tens of milliseconds: waiting this much past the
        // chunk's due time usually finds all of it there, so one read completes it.
        let periodMargin = min(0.02, 0.2 * Double(chunkBytes) / bytesPerSecond)
        let idleInterval = max(chunkSeconds, min(Self.idleWakeSeconds, configuration.idleWakeSeconds))
        var xrunsSeen = counters.xruns.load(ordering: .relaxed)
        let meter = LevelMeter(format: configuration.format)
        // A stream copy is checked once, before its first chunk is published; a refused one is not recorded.
        var checked = configuration.check == nil
        var refused = false
        let checkTimeout = max(1, min(5, 0.8 * Double(pipeBytes) / bytesPerSecond))

        /// `pipeBytes`: what waits in the pipe now (FIONREAD, -1 when unknown), asked once per chunk.
        func finishChunk(byteCount: Int, waitingInPipe pipeBytes: Int) {
            let frames = byteCount / bytesPerFrame
            guard frames > 0 else { return }
            if !checked, let check = configuration.check {
                checked = true
                if case .refused(let reason) = check.verdict(timeout: checkTimeout) {
                    refused = true
                    configuration.onRefused?(reason, nextFrame, SystemClock.wall())
                }
            }
            if refused {
                // Not the configured format: counted, never recorded as if it were.
                chunk?.release()
                chunk = nil
                lost += Int64(frames)
                counters.framesRefused.add(Int64(frames), ordering: .relaxed)
                return
            }
            let end = nextFrame + Int64(frames)
            let now = SystemClock.wall()
            // What has arrived by now is this chunk and what still waits in the pipe: the front of the
            // audio, whatever the reader's own sleeps (it reads in bursts), is what the clock follows.
            let front = end + Int64(max(0, pipeBytes) / bytesPerFrame)
            // How late this audio arrived; after an xrun the audio that follows is late by what was lost.
            let lateness = now - Double(front) / Double(configuration.format.sampleRate)
            let xruns = counters.xruns.load(ordering: .relaxed)
            var xrunLost = 0.0
            if xruns != xrunsSeen {
                xrunLost = latency.jump(to: lateness)
                // The timeline moved: map frames to time afresh from here.
                clock.reset()
            } else {
                latency.observe(lateness, audioSeconds: Double(frames) / Double(configuration.format.sampleRate))
            }
            clock.observe(frame: front, at: now)
            if let chunk {
                chunk.byteCount = frames * bytesPerFrame
                // Measured once here for every consumer that wants levels; a buffer from a pool that was
                // not told the channel count gets its snapshot the first time only.
                if chunk.levels?.channels != meter.format.channels {
                    chunk.levels = LevelSnapshot(channels: meter.format.channels)
                }
                meter.measure(chunk.audio, into: &chunk.levels!)
                chunk.frameCount = frames
                chunk.firstFrame = nextFrame
                chunk.startTime = clock.time(ofFrame: nextFrame) ?? SystemClock.wall()
                chunk.run = configuration.run
                chunk.followsRestart = firstOfRun
                chunk.xruns = Int(xruns - xrunsSeen)
                chunk.xrunLostSeconds = xrunLost
                firstOfRun = false
                fanout.publish(chunk)
            } else {
                lost += Int64(frames)
                counters.framesLostNoBuffer.add(Int64(frames), ordering: .relaxed)
            }
            xrunsSeen = xruns
            nextFrame = end
            delivered += Int64(frames)
            counters.framesCaptured.add(Int64(frames), ordering: .relaxed)
        }

        while true {
            if chunk == nil && filled == 0 { chunk = pool.acquire() }
            let target = chunk?.bytes ?? scratch
            // read(2) itself, not FileDescriptor.read: a failure there throws (and allocates), and EAGAIN
            // is retried here too; the steady state must stay one plain read into the pool's buffer.
            let n = read(fd, target + filled, chunkBytes - filled)
            if n > 0 {
                filled += n
                counters.bytesRead.add(Int64(n), ordering: .relaxed)
                counters.markAudio(at: SystemClock.monotonic())
                if filled == chunkBytes {
                    let waiting = Int(audiocap_pipe_available(fd))
                    finishChunk(byteCount: filled, waitingInPipe: waiting)
                    chunk = nil
                    filled = 0
                    // A real-time source has less than the next chunk waiting: sleep until the next wake's
                    // worth should be there (and a little more, for the device's period). Idle, that is half
                    // a second of audio, read as whole chunks in one go; while someone watches the levels
                    // live, one chunk. A fast source has it waiting and is never paused.
                    if waiting >= 0, waiting < chunkBytes {
                        let interval = counters.watchers.load(ordering: .relaxed) > 0 ? chunkSeconds : idleInterval
                        let pause = min(pipeLimit, interval - Double(waiting) / bytesPerSecond + periodMargin)
                        if pause >= 0.002 { usleep(UInt32(pause * 1_000_000)) }
                    }
                } else if n < chunkBytes / 8 {
                    let pause = min(pipeLimit, Double(chunkBytes - filled) / bytesPerSecond + periodMargin)
                    if pause >= 0.002 { usleep(UInt32(pause * 1_000_000)) }
                }
            } else if n == 0 {
                break
            } else {
                let code = errno
                if code == EINTR || code == EAGAIN { continue }
                readError = code
                break
            }
        }
        // End of stream: publish the whole frames that are left, count a torn frame.
        let tail = filled % bytesPerFrame
        finishChunk(byteCount: filled - tail, waitingInPipe: 0)
        if chunk != nil && filled - tail == 0 { chunk?.release() }
        if tail > 0 { counters.trailingBytesDiscarded.add(Int64(tail), ordering: .relaxed) }
        return Outcome(frames: delivered, framesLost: lost, readError: readError, nextFrame: nextFrame, clock: clock)
    }
}

/// The least latency seen from the sound card to the reader, which jitter only ever adds to. It may
/// creep up by 0.1 % of the audio's time, so a sound card slower than the system clock is followed.
struct LatencyBaseline {
    private var baseline: Double?
    private let creep = 0.001

    mutating func observe(_ lateness: Double, audioSeconds: Double) {
        guard let current = baseline else {
            baseline = lateness
            return
        }
        baseline = min(lateness, current + creep * audioSeconds)
    }

    /// The audio was interrupted: returns how much later than the baseline `lateness` is (the audio
    /// lost, at least 0), and starts the baseline again from it.
    mutating func jump(to lateness: Double) -> Double {
        defer { baseline = lateness }
        return max(0, lateness - (baseline ?? lateness))
    }
}
