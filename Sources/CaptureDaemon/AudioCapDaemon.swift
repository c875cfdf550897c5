// The daemon as one service: the capture source, its consumers, and their orderly shutdown.
import CaptureCore
import Foundation
import Logging
import ServiceLifecycle

/// Wires the data path (ffmpeg → reader thread → per-consumer queues → level monitor and segment
/// writers) from a ``Configuration`` and runs it until graceful shutdown.
///
/// On shutdown ffmpeg is stopped first (SIGTERM, then SIGKILL), the reader publishes the last audio,
/// every queue is drained and every open segment closed with a correct header.
public final class AudioCapDaemon: Service, Sendable {
    public let configuration: Configuration
    public let events: EventLog
    public let counters = CaptureCounters()
    public let fanout = ChunkFanout()
    public let pool: ChunkPool
    public let source: CaptureSource
    public let levelMonitor: LevelMonitor
    public let writers: [SegmentWriter]
    private let consumers: [ConsumerThread]
    private let logger: Logger
    /// Monotonic time the daemon started.
    public let startedAt = SystemClock.monotonic()

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let events = EventLog(logger: logger)
        self.events = events
        let source = configuration.source
        let format = source.audioFormat
        let chunkBytes = source.chunkFrames * format.bytesPerFrame
        let queueChunks = max(2, Int((configuration.queue.seconds * 1000 / Double(source.chunkMilliseconds)).rounded(.up)))
        let pool = ChunkPool(chunkBytes: chunkBytes, initialCount: 2)
        self.pool = pool
        self.source = CaptureSource(
            configuration: source, pool: pool, fanout: fanout, counters: counters, events: events, logger: logger,
            stallSeconds: source.stallSeconds)

        levelMonitor = LevelMonitor(format: format, configuration: configuration.levels, events: events, logger: logger)
        let writers = configuration.recordings.map {
            SegmentWriter(recording: $0, format: format, events: events, logger: logger)
        }
        self.writers = writers
        var consumers = [ConsumerThread(channel: ChunkChannel(name: "levels", capacity: queueChunks), consumer: levelMonitor)]
        for writer in writers {
            consumers.append(ConsumerThread(channel: ChunkChannel(name: "rec-\(writer.recording.name)", capacity: queueChunks), consumer: writer))
        }
        self.consumers = consumers
        for consumer in consumers {
            // Each consumer can hold its whole queue plus the chunk it is working on.
            pool.grow(by: consumer.channel.capacity + 1)
            fanout.add(consumer.channel)
        }
    }

    public func run() async throws {
        repairPartialFiles()
        let format = configuration.source.audioFormat
        events.emit(.info, "daemon.started", "audiocapd started", [
            "version": .string(AudioCapVersion.string),
            "source.input_format": .string(configuration.source.inputFormat),
            "source.device": .string(configuration.source.device),
            "source.format": .string("\(format.sampleFormat.rawValue) \(format.sampleRate) Hz \(format.channels) ch"),
            "recordings": .string(configuration.recordings.map(\.name).joined(separator: ",")),
        ])
        for consumer in consumers { consumer.start() }
        let source = self.source
        await withGracefulShutdownHandler {
            await source.run()
        } onGracefulShutdown: {
            source.stop()
        }
        // ffmpeg is gone and the reader has published its last chunk: drain and close.
        fanout.closeAll()
        for consumer in consumers { await consumer.done() }
        events.emit(.info, "daemon.stopped", "audiocapd stopped", [
            "frames_captured": .int(counters.framesCaptured.load(ordering: .relaxed)),
        ])
    }

    /// Repairs `.partial` files left by a crash or power cut in every recording's directory.
    private func repairPartialFiles() {
        for recording in configuration.recordings {
            for result in PartialRepair.repairAll(under: recording.directory) {
                events.emit(.warning, "segment.repaired", "a file left open by a crash was repaired", recording: recording.name, [
                    "segment.path": .string(result.path),
                    "segment.original_path": .string(result.originalPath),
                    "segment.frames": .int(result.frames),
                    "repair.bytes_trimmed": .int(Int64(result.bytesTrimmed)),
                    "repair.action": .string("\(result.action)"),
                ])
            }
        }
    }
}
