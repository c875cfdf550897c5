// One configured source and everything that is its own, from ffmpeg to the level monitor.
import CaptureCore
import CaptureProtocol
import Logging

/// One `[[source]]`: its ffmpeg under its own supervision and back-off, its reader thread, chunk pool
/// and fan-out, its frame numbering and frame clock, and its level monitor with the sound-health
/// detectors. The recordings it feeds attach to its ``fanout``. Nothing one capture does (an unplugged
/// device, a stalled stream, a restart loop) reaches another: they share no state but the event log.
public final class SourceCapture: Sendable {
    /// The source as configured, with its `[queue]` and `[levels]` resolved.
    public let configuration: SourceConfiguration
    public var name: String { configuration.name }
    public var format: AudioFormat { configuration.audioFormat }
    public let counters = CaptureCounters()
    public let fanout = ChunkFanout()
    public let pool: ChunkPool
    public let source: CaptureSource
    public let levelMonitor: LevelMonitor
    /// Chunks each consumer's queue holds.
    public let queueChunks: Int
    /// The daemon's event log as this source's view: every event carries the source's name.
    public let events: EventLog
    /// Hides the secrets of the device URL wherever it is shown.
    public let mask: CredentialMask
    private let levelThread: ConsumerThread
    private let finished = Completion<Void>()

    var levelQueue: ChunkChannel { levelThread.channel }

    /// `configuration` must have its `queue` and `levels` resolved (``Configuration/effectiveSources``).
    public init(configuration: SourceConfiguration, events: EventLog, logger: Logger) {
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "source.name"] = "\(configuration.name)"
        let events = events.forSource(configuration.name)
        self.events = events
        mask = CredentialMask(device: configuration.device)
        let format = configuration.audioFormat
        let queueChunks = Configuration.queueChunks(
            seconds: (configuration.queue ?? QueueConfiguration()).seconds,
            chunkMilliseconds: configuration.chunkMilliseconds)
        self.queueChunks = queueChunks
        // The reader holds one chunk while it fills it, and one spare.
        let pool = ChunkPool(chunkBytes: configuration.chunkFrames * format.bytesPerFrame, initialCount: 0)
        pool.reserve(2)
        self.pool = pool
        source = CaptureSource(
            configuration: configuration, pool: pool, fanout: fanout, counters: counters, events: events,
            logger: logger, stallSeconds: configuration.stallSeconds, mask: mask)
        levelMonitor = LevelMonitor(
            format: format, configuration: configuration.levels ?? LevelsConfiguration(), events: events,
            logger: logger)
        levelThread = ConsumerThread(
            channel: ChunkChannel(name: "levels-\(configuration.name)", capacity: queueChunks), consumer: levelMonitor)
        pool.reserve(queueChunks + 1)
    }

    /// The device as status, events and logs show it: with its secrets masked.
    public var shownDevice: String { mask.mask(configuration.device) }

    /// Starts the level monitor's thread, then runs ffmpeg until ``stop()``; then closes every queue of
    /// this source (its consumers write what they hold and finish) and waits for the level monitor.
    /// Call once.
    func run() async {
        levelThread.start()
        fanout.add(levelThread.channel)
        await source.run()
        fanout.closeAll()
        await levelThread.done()
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
