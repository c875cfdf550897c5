// One configured source and everything that is its own, from ffmpeg to the level monitor.
import CaptureCore
import CaptureProtocol
import Logging
import Synchronization

/// One `[[source]]`: its ffmpeg under its own supervision and back-off, its reader thread, chunk pool
/// and fan-out, its frame numbering and frame clock, and its level monitor with the sound-health
/// detectors. The recordings it feeds attach to its ``fanout``. Nothing one capture does (an unplugged
/// device, a stalled stream, a restart loop) reaches another: they share no state but the event log.
public final class SourceCapture: Sendable {
    /// The source as configured, with its `[queue]` and `[levels]` resolved (a reload may change its
    /// `levels`: ``applyLevels(_:)``).
    public var configuration: SourceConfiguration { levels.withLock { $0.configuration } }
    public var name: String { configuration.name }
    public var format: AudioFormat { configuration.audioFormat }
    public let counters = CaptureCounters()
    public let fanout: ChunkFanout
    public let pool: ChunkPool
    public let source: CaptureSource
    public var levelMonitor: LevelMonitor { levels.withLock { $0.monitor } }
    /// Chunks each consumer's queue holds.
    public let queueChunks: Int
    /// The daemon's event log as this source's view: every event carries the source's name.
    public let events: EventLog
    /// Hides the secrets of the device URL wherever it is shown.
    public let mask: CredentialMask
    /// The level monitor and its thread, which a reload of `[levels]` replaces while audio flows.
    private struct Levels {
        var configuration: SourceConfiguration
        var monitor: LevelMonitor
        var thread: ConsumerThread
        /// Whether ``run()`` has started the thread, and whether it has closed the queues (ffmpeg is done).
        var running = false
        var closed = false
        /// Frames the level monitors replaced so far dropped.
        var retiredDrops: Int64 = 0
    }
    private let levels: Mutex<Levels>
    private let logger: Logger
    private let finished = Completion<Void>()

    var levelQueue: ChunkChannel { levels.withLock { $0.thread.channel } }

    /// Frames the level monitors' queues dropped, the replaced ones' included.
    var levelDrops: Int64 { levels.withLock { $0.retiredDrops + $0.thread.channel.droppedFrames } }

    /// `configuration` must have its `queue` and `levels` resolved (``Configuration/effectiveSources``).
    public init(configuration: SourceConfiguration, events: EventLog, logger: Logger) {
        var logger = logger
        logger[metadataKey: "source.name"] = "\(configuration.name)"
        self.logger = logger
        let events = events.forSource(configuration.name)
        self.events = events
        mask = CredentialMask(device: configuration.device)
        let format = configuration.audioFormat
        let queueChunks = Configuration.queueChunks(
            seconds: (configuration.queue ?? QueueConfiguration()).seconds,
            chunkMilliseconds: configuration.chunkMilliseconds)
        self.queueChunks = queueChunks
        fanout = ChunkFanout(lookBackChunks: configuration.lookBackChunks, sampleRate: format.sampleRate)
        // The reader holds one chunk while it fills it, and one spare.
        let pool = ChunkPool(
            chunkBytes: configuration.chunkFrames * format.bytesPerFrame, initialCount: 0, channels: format.channels)
        pool.reserve(2)
        self.pool = pool
        source = CaptureSource(
            configuration: configuration, pool: pool, fanout: fanout, counters: counters, events: events,
            logger: logger, stallSeconds: configuration.stallSeconds, mask: mask)
        let (monitor, thread) = Self.levelMonitor(
            configuration, events: events, logger: logger, queueChunks: queueChunks)
        levels = Mutex(Levels(configuration: configuration, monitor: monitor, thread: thread))
        pool.reserve(queueChunks + 1)
        // The look-back buffer holds its chunks besides every consumer's queue.
        pool.reserve(configuration.lookBackChunks)
    }

    /// The look-back buffer as status shows it.
    var lookBackStatus: LookBackStatus {
        let held = fanout.lookBackHeld()
        return LookBackStatus(
            seconds: configuration.lookBackSeconds, heldSeconds: format.seconds(frames: held.frames),
            bytes: Int64(held.bytes), oldest: held.oldest?.time)
    }

    /// The level monitor's batch: about a third of a second of chunks (it wakes three times a second, and
    /// every chunk is still measured), or every chunk while a client follows the levels live.
    private static func levelBatch(_ configuration: SourceConfiguration, watched: Bool) -> Int {
        watched ? 1 : ChunkChannel.batch(seconds: 0.3, chunkSeconds: configuration.chunkSeconds)
    }

    /// A client started (`true`) or stopped following this source's levels live: while any does, the reader
    /// and the level monitor wake per chunk, so the meter moves at the chunk rate.
    func followLevels(_ started: Bool) {
        var now = counters.watchers.add(started ? 1 : -1, ordering: .relaxed).newValue
        if now < 0 {
            // A follower that began on the capture a reload replaced: this one never counted it.
            counters.watchers.store(0, ordering: .relaxed)
            now = 0
        }
        let watching = now > 0
        levelQueue.setBatch(Self.levelBatch(configuration, watched: watching))
    }

    private static func levelMonitor(
        _ configuration: SourceConfiguration, events: EventLog, logger: Logger, queueChunks: Int,
        watched: Bool = false
    ) -> (LevelMonitor, ConsumerThread) {
        let monitor = LevelMonitor(
            format: configuration.audioFormat, configuration: configuration.levels ?? LevelsConfiguration(),
            events: events, logger: logger)
        let thread = ConsumerThread(
            channel: ChunkChannel(
                name: "levels-\(configuration.name)", capacity: queueChunks,
                batch: levelBatch(configuration, watched: watched), longestWait: 0.6),
            consumer: monitor)
        return (monitor, thread)
    }

    /// Puts a level monitor with `levels` in place of the running one, without stopping the capture: the
    /// new one takes every chunk from the next on (its alarms start afresh); the old one finishes what
    /// it holds. A reload that changes only a source's `[levels]` does this.
    func applyLevels(_ levels: LevelsConfiguration) async {
        var configuration = self.configuration
        configuration.levels = levels
        let (monitor, thread) = Self.levelMonitor(
            configuration, events: events, logger: logger, queueChunks: queueChunks,
            watched: counters.watchers.load(ordering: .relaxed) > 0)
        let old = self.levels.withLock { state -> (thread: ConsumerThread, running: Bool)? in
            // Stopping: the queues are closed, and nothing is left to measure.
            guard !state.closed else { return nil }
            let old = (state.thread, state.running)
            if state.running {
                thread.start()
                fanout.replace(state.thread.channel, with: thread.channel)
                state.retiredDrops += state.thread.channel.droppedFrames
            }
            state.configuration = configuration
            state.monitor = monitor
            state.thread = thread
            return old
        }
        if let old, old.running { await old.thread.done() }
    }

    /// The device as status, events and logs show it: with its secrets masked.
    public var shownDevice: String { mask.mask(configuration.device) }

    /// Starts the level monitor's thread, then runs ffmpeg until ``stop()``; then closes every queue of
    /// this source (its consumers write what they hold and finish) and waits for the level monitor.
    /// Call once.
    func run() async {
        levels.withLock { state in
            state.running = true
            state.thread.start()
            fanout.add(state.thread.channel)
        }
        await source.run()
        let thread = levels.withLock { state in
            state.closed = true
            return state.thread
        }
        fanout.closeAll()
        await thread.done()
        finished.complete(())
    }

    /// Asks ffmpeg to stop; ``run()`` returns once its last audio is published. Any thread.
    func stop() {
        source.stop()
    }

    /// Waits until ``run()`` has returned.
    func done() async {
        await finished.value()
    }

    /// The newest level reading as the API shows it; nil before the first audio.
    var levelsResponse: LevelsResponse? {
        guard let latest = levelMonitor.current else { return nil }
        let channels = latest.peakDBFS.indices.map { c in
            let health = latest.health[c]
            return LevelsResponse.Channel(
                peakDBFS: latest.peakDBFS[c], rmsDBFS: latest.rmsDBFS[c],
                clipped: latest.clippedSamples[c], clippedTotal: latest.totalClipped[c],
                flatline: health.isActive(.flatline), dcOffset: health.isActive(.dcOffset),
                clipping: health.isActive(.clipping),
                dcOffsetDBFS: health.dcOffset.map { ChannelLevels.dbfs(amplitude: abs($0)) },
                clippingRate: health.clippingRate)
        }
        var problems: [LevelsResponse.Problem] = []
        for (c, health) in latest.health.enumerated() {
            for problem in SoundProblem.allCases {
                if let since = health.since(problem) {
                    problems.append(LevelsResponse.Problem(kind: problem.rawValue, channel: c + 1, sinceFrame: since))
                }
            }
        }
        return LevelsResponse(
            source: name, time: latest.time, frame: latest.frame, silent: latest.silent, channels: channels,
            problems: problems)
    }
}
