// The consumer of one `[[trigger]]`: listens to its source and writes a clip around each sound.
import CaptureCore
import CaptureProtocol
import Foundation
import Logging
import Synchronization

/// Runs a ``TriggerDetector`` over every chunk of its source and writes each clip it decides on through a
/// ``SegmentWriter`` (the trigger's own recording: one file per clip, sidecar, gaps from the same ledger,
/// `segment.closed`). It holds the newest chunks (references to the source's pool buffers) for
/// `pre_seconds` plus `hold_ms`, so a clip can begin before the sound that fired it.
public final class TriggerRecorder: ChunkConsumer, @unchecked Sendable {
    // @unchecked Sendable: everything but `shared` is touched only on the consumer thread; `shared` is a
    // Mutex read by status.

    /// What status shows of the trigger.
    public struct State: Sendable {
        public var clipOpen = false
        public var firings = 0
        public var clipsTotal = 0
        public var clipsToday = 0
        /// The local day `clipsToday` counts (days since the epoch in local time).
        public var day = 0
        public var lastFired: Double?
        public var lastPeakDBFS: Double?
        public var currentClip: String?
        public var lastClip: String?
        public var blocked = false
        public var stopped = false
    }

    public let configuration: TriggerConfiguration
    public let writer: SegmentWriter
    private let format: AudioFormat
    private let events: EventLog
    private var detector: TriggerDetector
    /// The held chunks, oldest at `head`, each with one reference of ours.
    private var ring: [ChunkBuffer?]
    private var head = 0
    private var count = 0
    /// Capture frame up to which the open clip has been handed to the writer.
    private var fedUpTo: Int64 = 0
    private var clipOpen = false
    /// Capture frame where the stream seen so far ends.
    private var streamEnd: Int64 = 0
    private let shared = Mutex(State())

    /// Chunks held to reach back `pre_seconds` from a firing decided `hold_ms` after its first frame.
    public static func heldChunks(_ configuration: TriggerConfiguration, chunkSeconds: Double) -> Int {
        Int(((configuration.preSeconds + configuration.holdMilliseconds / 1000) / chunkSeconds).rounded(.up)) + 2
    }

    public init(
        configuration: TriggerConfiguration, format: AudioFormat, chunkSeconds: Double, events: EventLog,
        logger: Logger, options: SegmentWriter.Options
    ) {
        self.configuration = configuration
        self.format = format
        self.events = events
        detector = TriggerDetector(configuration: configuration, format: format)
        var logger = logger
        logger[metadataKey: "trigger.name"] = "\(configuration.name)"
        writer = SegmentWriter(
            recording: configuration.clipRecording, format: format, events: events, logger: logger, options: options)
        ring = Array(repeating: nil, count: Self.heldChunks(configuration, chunkSeconds: chunkSeconds))
    }

    public var state: State { shared.withLock { $0 } }

    public func consume(_ chunk: ChunkBuffer) {
        hold(chunk)
        streamEnd = chunk.firstFrame + Int64(chunk.frameCount)
        detector.process(chunk.audio, firstFrame: chunk.firstFrame) { decision in
            handle(decision)
        }
        if clipOpen { feed(upTo: streamEnd) }
    }

    public func finish() {
        detector.end(at: streamEnd) { decision in handle(decision) }
        if clipOpen { closeClip(at: streamEnd, cut: false) }
        writer.finish()
        for index in ring.indices {
            ring[index]?.release()
            ring[index] = nil
        }
        shared.withLock {
            $0.stopped = true
            $0.clipOpen = false
            $0.currentClip = nil
        }
    }

    private func hold(_ chunk: ChunkBuffer) {
        guard !ring.isEmpty else { return }
        chunk.retain()
        if count == ring.count {
            ring[head]?.release()
            ring[head] = nil
            head = (head + 1) % ring.count
            count -= 1
        }
        ring[(head + count) % ring.count] = chunk
        count += 1
    }

    private func handle(_ decision: TriggerDetector.Decision) {
        switch decision {
        case .open(let clipStart, let triggerFrame, let peak, let continues):
            let oldest = count > 0 ? ring[head]?.firstFrame ?? clipStart : clipStart
            fedUpTo = max(clipStart, oldest)
            clipOpen = true
            writer.forgetPosition()
            writer.markClip(
                ClipMark(trigger: configuration.name, frame: triggerFrame, peakDBFS: peak, continues: continues))
            let now = SystemClock.wall()
            if !continues {
                let time = time(ofFrame: triggerFrame) ?? now
                shared.withLock {
                    $0.firings += 1
                    $0.lastFired = time
                    $0.lastPeakDBFS = peak
                    $0.clipOpen = true
                }
                events.emit(
                    .notice, "trigger.fired", "the trigger fired: a clip begins", recording: configuration.name,
                    [
                        "trigger.frame": .int(triggerFrame), "trigger.time_utc": .utc(time),
                        "peak_dbfs": .dbfs(peak), "clip.start_frame": .int(fedUpTo),
                    ])
            } else {
                shared.withLock { $0.clipOpen = true }
            }
        case .close(let clipEnd, let cut):
            guard clipOpen else { return }
            closeClip(at: clipEnd, cut: cut)
        }
    }

    /// Wall time of capture frame `frame`, from the held chunk that contains it.
    private func time(ofFrame frame: Int64) -> Double? {
        for index in 0..<count {
            guard let chunk = ring[(head + index) % ring.count] else { continue }
            let end = chunk.firstFrame + Int64(chunk.frameCount)
            if frame >= chunk.firstFrame && frame < end {
                return chunk.startTime + Double(frame - chunk.firstFrame) / Double(format.sampleRate)
            }
        }
        return nil
    }

    /// Hands the writer the held frames from ``fedUpTo`` to `end` (exclusive).
    private func feed(upTo end: Int64) {
        guard end > fedUpTo else { return }
        for index in 0..<count {
            guard let chunk = ring[(head + index) % ring.count] else { continue }
            let chunkEnd = chunk.firstFrame + Int64(chunk.frameCount)
            guard chunkEnd > fedUpTo, chunk.firstFrame < end else { continue }
            let lower = Int(max(0, fedUpTo - chunk.firstFrame))
            let upper = Int(min(Int64(chunk.frameCount), end - chunk.firstFrame))
            if lower < upper { writer.consume(chunk, frames: lower..<upper) }
        }
        fedUpTo = end
    }

    private func closeClip(at end: Int64, cut: Bool) {
        feed(upTo: end)
        clipOpen = false
        let closedBefore = writer.status.segmentsClosed
        writer.closeFile()
        let status = writer.status
        shared.withLock {
            $0.clipOpen = false
            $0.currentClip = nil
            $0.blocked = status.state == .blocked
        }
        guard status.segmentsClosed > closedBefore, let info = status.lastSegment else { return }
        let day = Self.localDay(SystemClock.wall())
        shared.withLock {
            if $0.day != day {
                $0.day = day
                $0.clipsToday = 0
            }
            $0.clipsToday += 1
            $0.clipsTotal += 1
            $0.lastClip = info.path
        }
        var fields: [String: EventValue] = [
            "segment.path": .string(info.path), "segment.frames": .int(info.frames),
            "segment.first_frame": .int(info.firstFrame), "segment.duration_seconds": .seconds(info.durationSeconds),
            "clip.cut": .bool(cut), "segment.gaps": .int(Int64(info.gaps.count)),
        ]
        if let mark = info.trigger {
            let offset = mark.frame - info.firstFrame
            fields["trigger.frame"] = .int(mark.frame)
            fields["trigger.offset_frames"] = .int(offset)
            fields["trigger.offset_seconds"] = .seconds(format.seconds(frames: offset))
            fields["clip.continues"] = .bool(mark.continues)
        }
        events.emit(.notice, "clip.closed", "a trigger's clip closed", recording: configuration.name, fields)
    }

    /// Days since the epoch in the local time zone (what "today" means to the station's operator).
    static func localDay(_ time: Double) -> Int {
        let offset = Double(TimeZone.current.secondsFromGMT(for: Date(timeIntervalSince1970: time)))
        return Int(((time + offset) / 86_400).rounded(.down))
    }
}
