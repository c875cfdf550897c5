// Runs the daemon's real data path (PipeReader → ChunkPool/ChunkFanout → ChunkChannel → ConsumerThread →
// LevelMonitor and SegmentWriter) against a fast producer, and measures throughput, drops and allocations.
import CaptureCore
import CaptureDaemon
import Foundation
import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

enum PipelineBenchmark {
    enum Pacing: String, Codable {
        /// The producer writes as fast as it can and never waits: the daemon drops what it cannot keep.
        case freeRunning = "free-running"
        /// The producer waits while the slowest consumer is far behind: the fastest loss-free rate.
        case flowControlled = "flow-controlled"
    }

    enum Consumers: String, Codable {
        /// A LevelMonitor and one SegmentWriter, as the daemon runs them.
        case levelsAndWriter = "levels+wav"
        /// Two consumers that only let go of their chunks: the reader and fanout alone.
        case trivial = "reader+fanout"
    }

    struct Setup {
        var chunkMilliseconds = 100
        var audioSeconds = 7200.0
        var pacing = Pacing.flowControlled
        var consumers = Consumers.levelsAndWriter
        var queueSeconds = 30.0
        var signal = TestSignal.music
        /// `periodFrames` frames of `signal` (see `TestSignal.samples`), generated once for all runs.
        var samples: [Int16] = []
        var baseDirectory = "/dev/shm"
        /// Chunk indices whose allocations are counted (per consumer; 0 = first chunk).
        var allocationWindow: Range<Int> = 0..<0
        var traceAllocations = false
        var format = RecordingFormat.wav
    }

    struct ConsumerResult: Codable {
        var name: String
        var framesConsumed: Int64
        var droppedFrames: Int64
        var droppedChunks: Int64
        var queueCapacity: Int
        var queueHighWater: Int
        var cpuSeconds: Double
        /// Audio seconds per CPU second of this consumer's thread.
        var realTime: Double
        var allocations: UInt64
    }

    struct ThreadAllocations: Codable {
        var thread: String
        var allocations: UInt64
    }

    struct AllocationResult: Codable {
        /// First and last chunk index of the window (per consumer).
        var firstChunk: Int
        var chunks: Int
        /// Whole process, between the snapshots taken at the window's edges.
        var processAllocations: UInt64
        var processPerChunk: Double
        var perThread: [ThreadAllocations]
        /// Inside each consumer's `consume`, counted exactly on its thread over the window.
        var consumerAllocations: [ThreadAllocations]
        var allocatingChunks: [MeteredConsumer.AllocatingChunk]
        var sites: [AllocationSite]
    }

    struct Result: Codable {
        var consumers: Consumers
        var pacing: Pacing
        var signal: String
        var chunkMilliseconds: Int
        var queueSeconds: Double
        var audioSeconds: Double
        var bytes: Int64
        var wallSeconds: Double
        /// Bytes read (10^6 per MB) per wall second, first write to consumers finished.
        var megabytesPerSecond: Double
        var realTime: Double
        var processCPUSeconds: Double
        var producerCPUSeconds: Double
        var readerCPUSeconds: Double
        /// Process CPU minus the producer's: what the daemon's side cost.
        var daemonCPUSeconds: Double
        var producerWaits: Int64
        var framesProduced: Int64
        var framesRead: Int64
        var framesLostNoBuffer: Int64
        var framesWritten: Int64?
        var segmentsClosed: Int?
        var consumerResults: [ConsumerResult]
        var allocations: AllocationResult?
        var error: String?
    }

    /// Frames of the looped signal: 2^19 (10.9 s), a multiple of the pattern's period of 65536.
    static let periodFrames = 1 << 19
    static let pipeBytes = 1 << 20
    static let pieceBytes = 64 << 10
    static let segmentSeconds = 600

    /// Audio long enough that the reader reaches end of stream only after every consumer has passed
    /// `window`: the window then holds steady-state chunks only, not the end-of-stream teardown.
    static func audioSeconds(covering window: Range<Int>, _ setup: Setup) -> Double {
        let chunkBytes = 48 * setup.chunkMilliseconds * TestSignal.channels * 2
        let queueChunks = Int((setup.queueSeconds * 1000 / Double(setup.chunkMilliseconds)).rounded(.up))
        let inFlight = queueChunks + (pipeBytes + pieceBytes) / chunkBytes + 2
        return Double(window.upperBound + inFlight + 50) * Double(setup.chunkMilliseconds) / 1000
    }

    static func run(_ setup: Setup) -> Result {
        let format = AudioFormat(sampleRate: TestSignal.sampleRate, channels: TestSignal.channels, sampleFormat: .s16)
        var source = SourceConfiguration()
        source.chunkMilliseconds = setup.chunkMilliseconds
        let chunkFrames = source.chunkFrames
        let chunkBytes = chunkFrames * format.bytesPerFrame
        let totalFrames = format.frames(seconds: setup.audioSeconds)
        let totalBytes = totalFrames * Int64(format.bytesPerFrame)
        let framesPerSegment = Int64(segmentSeconds * format.sampleRate)

        // The signal: one period followed by a copy of its first piece.
        let samples = setup.samples.isEmpty ? setup.signal.samples(frames: periodFrames) : setup.samples
        precondition(samples.count == periodFrames * format.channels)
        let periodBytes = periodFrames * format.bytesPerFrame
        let signal = UnsafeMutableRawBufferPointer.allocate(byteCount: periodBytes + pieceBytes, alignment: 64)
        defer { signal.deallocate() }
        samples.withUnsafeBytes { bytes in
            signal.copyMemory(from: bytes)
            UnsafeMutableRawBufferPointer(rebasing: signal[periodBytes...]).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: bytes[..<pieceBytes]))
        }

        var template = Array("\(setup.baseDirectory)/audiocap-bench-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else {
            return failed(
                setup, "could not create a directory under \(setup.baseDirectory): \(String(cString: strerror(errno)))")
        }
        let directory = String(cString: made)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return failed(setup, "pipe: \(String(cString: strerror(errno)))") }
        // F_SETPIPE_SZ (Linux): hidden behind _GNU_SOURCE in Swift's Glibc module.
        let setPipeSize: Int32 = 1031
        _ = fcntl(fds[1], setPipeSize, Int32(pipeBytes))

        let logger = Logger(label: "audiocap-bench", factory: { _ in SwiftLogNoOpLogHandler() })
        let events = EventLog(logger: logger)
        let pool = ChunkPool(chunkBytes: chunkBytes, initialCount: 2)
        // As the daemon runs by default: the fan-out keeps the source's look-back (30 s at this format).
        source.sampleRate = format.sampleRate
        source.channels = format.channels
        source.sampleFormat = format.sampleFormat
        source.lookBackSeconds = SourceConfiguration.defaultLookBackSeconds(for: format)
        let fanout = ChunkFanout(lookBackChunks: source.lookBackChunks, sampleRate: format.sampleRate)
        pool.grow(by: source.lookBackChunks)
        let counters = CaptureCounters()
        let queueChunks = max(2, Int((setup.queueSeconds * 1000 / Double(setup.chunkMilliseconds)).rounded(.up)))

        var recording = RecordingConfiguration(name: "bench", directory: directory)
        recording.segmentSeconds = segmentSeconds
        recording.align = .samples
        recording.syncSeconds = 1
        recording.format = setup.format
        let writer = SegmentWriter(recording: recording, format: format, events: events, logger: logger)
        let inners: [(String, (any ChunkConsumer)?)]
        switch setup.consumers {
        case .levelsAndWriter:
            inners = [
                (
                    "levels",
                    LevelMonitor(format: format, configuration: LevelsConfiguration(), events: events, logger: logger)
                ),
                ("wav", writer),
                // A trigger that listens (high-pass filter and level on every sample, its pre_seconds held)
                // but never fires: its steady cost per chunk.
                (
                    "trigger",
                    {
                        var trigger = TriggerConfiguration(name: "bench-trigger", directory: directory + "/clips")
                        trigger.thresholdDBFS = 0
                        trigger.highPassHz = 1000
                        return TriggerRecorder(
                            configuration: trigger, format: format,
                            chunkSeconds: Double(setup.chunkMilliseconds) / 1000, events: events, logger: logger,
                            options: SegmentWriter.Options())
                    }()
                ),
            ]
        case .trivial:
            inners = [("release-1", nil), ("release-2", nil)]
        }
        let finished = DispatchSemaphore(value: 0)
        var consumers: [MeteredConsumer] = []
        var threads: [ConsumerThread] = []
        for (index, (name, inner)) in inners.enumerated() {
            let snapshots =
                index == 0 && !setup.allocationWindow.isEmpty
                ? MeteredConsumer.WindowSnapshots(trace: setup.traceAllocations) : nil
            let consumer = MeteredConsumer(
                name: name, inner: inner, window: setup.allocationWindow, framesPerSegment: framesPerSegment,
                snapshots: snapshots, finished: finished)
            let channel = ChunkChannel(name: name, capacity: queueChunks)
            let held = (inner as? TriggerRecorder).map {
                TriggerRecorder.heldChunks($0.configuration, chunkSeconds: Double(setup.chunkMilliseconds) / 1000)
            }
            pool.grow(by: channel.capacity + 1 + (held ?? 0))
            fanout.add(channel)
            consumers.append(consumer)
            threads.append(ConsumerThread(channel: channel, consumer: consumer))
        }
        for thread in threads { thread.start() }

        let readerInfo = Mutex<(tid: Int32, cpu: Double, outcome: PipeReader.Outcome?)>((0, 0, nil))
        let reader = PipeReader(
            fd: fds[0], configuration: .init(format: format, chunkFrames: chunkFrames, run: 1, firstFrame: 0),
            clock: FrameClock(sampleRate: format.sampleRate), pool: pool, fanout: fanout, counters: counters)
        // Lag allowed before the flow-controlled producer waits: the pipe, a chunk being filled, and
        // half of a consumer's queue, so that no queue ever overflows.
        let lagFrames = Int64((pipeBytes + pieceBytes) / format.bytesPerFrame + chunkFrames * (1 + queueChunks / 2))
        let producer = Producer(
            fd: fds[1], signal: UnsafeRawBufferPointer(signal), periodBytes: periodBytes, totalBytes: totalBytes,
            pieceBytes: pieceBytes, bytesPerFrame: format.bytesPerFrame,
            flowControl: setup.pacing == .flowControlled ? (consumers, lagFrames) : nil)

        let cpuBefore = Clocks.processCPU()
        reader.start { outcome in
            let cpu = Clocks.threadCPU()
            let tid = AllocationCounter.tid
            readerInfo.withLock { $0 = (tid, cpu, outcome) }
            fanout.closeAll()
        }
        producer.start()
        producer.wait()
        for _ in consumers { finished.wait() }
        let cpuAfter = Clocks.processCPU()
        let endedAt = consumers.map(\.finishedAt).max() ?? producer.endedAt
        let wall = endedAt - producer.startedAt
        let info = readerInfo.withLock { $0 }

        var consumerResults: [ConsumerResult] = []
        for (consumer, thread) in zip(consumers, threads) {
            consumerResults.append(
                ConsumerResult(
                    name: consumer.name, framesConsumed: consumer.frames, droppedFrames: thread.channel.droppedFrames,
                    droppedChunks: thread.channel.droppedChunkCount, queueCapacity: thread.channel.capacity,
                    queueHighWater: thread.channel.highWater, cpuSeconds: consumer.cpuSeconds,
                    realTime: format.seconds(frames: consumer.frames) / max(consumer.cpuSeconds, 1e-9),
                    allocations: consumer.allocations))
        }
        let audioSeconds = format.seconds(frames: producer.bytesWritten / Int64(format.bytesPerFrame))
        var result = Result(
            consumers: setup.consumers, pacing: setup.pacing, signal: setup.signal.rawValue,
            chunkMilliseconds: setup.chunkMilliseconds, queueSeconds: setup.queueSeconds, audioSeconds: audioSeconds,
            bytes: producer.bytesWritten, wallSeconds: wall,
            megabytesPerSecond: Double(producer.bytesWritten) / wall / 1e6, realTime: audioSeconds / wall,
            processCPUSeconds: cpuAfter - cpuBefore, producerCPUSeconds: producer.cpuSeconds,
            readerCPUSeconds: info.cpu, daemonCPUSeconds: cpuAfter - cpuBefore - producer.cpuSeconds,
            producerWaits: producer.waits, framesProduced: producer.bytesWritten / Int64(format.bytesPerFrame),
            framesRead: counters.framesCaptured.load(ordering: .relaxed),
            framesLostNoBuffer: counters.framesLostNoBuffer.load(ordering: .relaxed),
            framesWritten: setup.consumers == .levelsAndWriter ? writer.status.framesWritten : nil,
            segmentsClosed: setup.consumers == .levelsAndWriter ? writer.status.segmentsClosed : nil,
            consumerResults: consumerResults, allocations: nil,
            error: producer.writeError.map { "write to the pipe failed: \(String(cString: strerror($0)))" })

        if let snapshots = consumers.first?.snapshots, !setup.allocationWindow.isEmpty,
            consumers.allSatisfy({ $0.windowChunks == setup.allocationWindow.count })
        {
            var names: [Int32: String] = [:]
            names[AllocationCounter.tid] = "main"
            names[producer.tid] = "producer"
            names[info.tid] = "reader"
            for consumer in consumers { names[consumer.tid] = "consumer \(consumer.name)" }
            let perThread = snapshots.end.increase(since: snapshots.start).map {
                ThreadAllocations(thread: names[$0.tid] ?? "thread \($0.tid)", allocations: $0.allocations)
            }
            let processAllocations = snapshots.end.processTotal - snapshots.start.processTotal
            let tracedStacks = consumers.first?.tracedStacks ?? 0
            result.allocations = AllocationResult(
                firstChunk: setup.allocationWindow.lowerBound, chunks: setup.allocationWindow.count,
                processAllocations: processAllocations,
                processPerChunk: Double(processAllocations) / Double(setup.allocationWindow.count),
                perThread: perThread,
                consumerAllocations: consumers.map {
                    ThreadAllocations(thread: $0.name, allocations: $0.windowAllocations)
                },
                allocatingChunks: consumers.flatMap(\.allocatingChunks),
                sites: setup.traceAllocations && tracedStacks > 0
                    ? AllocationTracer.resolve(recorded: tracedStacks, threadNames: names) : [])
        } else if !setup.allocationWindow.isEmpty {
            result.error = "the run ended before the allocation window (chunks \(setup.allocationWindow)) was complete"
        }
        return result
    }

    private static func failed(_ setup: Setup, _ message: String) -> Result {
        Result(
            consumers: setup.consumers, pacing: setup.pacing, signal: setup.signal.rawValue,
            chunkMilliseconds: setup.chunkMilliseconds, queueSeconds: setup.queueSeconds, audioSeconds: 0, bytes: 0,
            wallSeconds: 0, megabytesPerSecond: 0, realTime: 0, processCPUSeconds: 0, producerCPUSeconds: 0,
            readerCPUSeconds: 0, daemonCPUSeconds: 0, producerWaits: 0, framesProduced: 0, framesRead: 0,
            framesLostNoBuffer: 0, framesWritten: nil, segmentsClosed: nil, consumerResults: [], allocations: nil,
            error: message)
    }
}
