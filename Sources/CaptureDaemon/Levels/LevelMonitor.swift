// The consumer that meters the capture: latest levels, periodic level log, silence, clipping and sound-health events.
import CaptureCore
import CaptureProtocol
import Foundation
import Logging
import Synchronization

/// Measures every chunk: keeps the latest per-channel levels for status, logs the levels over each
/// `log_interval_seconds`, reports silence (loudest channel's RMS below `silence_dbfs` for
/// `silence_seconds`) when it begins and when sound returns, reports clipping once per interval, and
/// reports each sound problem of `SoundHealthDetector` (flatline, DC offset, clipping rate) when it
/// begins and ends, per channel.
///
/// Every alarm (silence, digital zero and the sound problems) passes an `AlarmGate`: it begins once its
/// condition has lasted `alarm_hold_seconds`, ends once it has been clear `alarm_clear_seconds`, and one that
/// keeps changing is reported as `KIND_repeated` with a count once per flap window. The events keep the
/// detectors' frames (where the condition began or ended); they are only emitted later. Status shows the
/// detectors' live state.
public final class LevelMonitor: ChunkConsumer, @unchecked Sendable {
    // @unchecked Sendable: the meters and detectors are touched only on the consumer thread; what status
    // reads is in `latest`, a Mutex.

    /// The newest levels, as status shows them.
    public struct Latest: Sendable, Codable, Equatable {
        public var time: Double
        public var frame: Int64
        public var peakDBFS: [Double]
        public var rmsDBFS: [Double]
        public var clippedSamples: [Int]
        public var silent: Bool
        /// Clipped samples since the daemon started, per channel.
        public var totalClipped: [Int64]
        /// Sound problems in progress and the windowed figures behind them, per channel.
        public var health: [ChannelHealth]
    }

    private let format: AudioFormat
    private let configuration: LevelsConfiguration
    private let events: EventLog
    private let logger: Logger
    private let meter: LevelMeter
    /// Where a chunk the reader did not measure is measured.
    private var measured: LevelSnapshot
    private var interval: LevelSnapshot
    private var intervalStart: Double?
    private var silence: SilenceDetector
    private var silenceGate: AlarmGate<SilenceTransition>
    private var digitalZeroGate: AlarmGate<SilenceTransition>
    /// One gate per channel and problem, at `channel * problems + problem`.
    private var healthGates: [AlarmGate<SoundHealthTransition>]
    /// Exact digital zero (the device delivers nothing at all), reported after 5 s: a different fault
    /// from quiet audio — a muted or dead input, not a quiet night.
    private var digitalZero = SilenceDetector(thresholdDBFS: -150, minimumSeconds: 5)
    private var silent = false
    private var health: SoundHealthDetector
    private var totalClipped: [Int64]
    private let latest: Mutex<Latest?>
    private var expectedFrame: Int64?

    public init(format: AudioFormat, configuration: LevelsConfiguration, events: EventLog, logger: Logger) {
        self.format = format
        self.configuration = configuration
        self.events = events
        self.logger = logger
        meter = LevelMeter(format: format)
        measured = LevelSnapshot(channels: format.channels)
        interval = LevelSnapshot(channels: format.channels)
        silence = SilenceDetector(
            thresholdDBFS: configuration.silenceDBFS, minimumSeconds: configuration.silenceSeconds)
        health = SoundHealthDetector(configuration: configuration, format: format)
        let rate = Double(format.sampleRate)
        func gate<Payload>() -> AlarmGate<Payload> {
            AlarmGate(
                holdFrames: Int64((configuration.alarmHoldSeconds * rate).rounded()),
                clearFrames: Int64((configuration.alarmClearSeconds * rate).rounded()),
                flapLimit: LevelsConfiguration.alarmFlapLimit,
                flapWindowFrames: Int64(LevelsConfiguration.alarmFlapWindowSeconds * rate))
        }
        silenceGate = gate()
        digitalZeroGate = gate()
        healthGates = Array(repeating: gate(), count: format.channels * SoundProblem.allCases.count)
        totalClipped = Array(repeating: 0, count: format.channels)
        latest = Mutex(nil)
    }

    /// The levels of the newest chunk, or nil before any audio.
    public var current: Latest? { latest.withLock { $0 } }

    public func consume(_ buffer: ChunkBuffer) {
        if let expected = expectedFrame, buffer.firstFrame > expected {
            events.emit(
                .warning, "levels.dropped",
                "the level monitor fell behind and skipped audio (recordings are not affected)",
                [
                    "drop.first_frame": .int(expected), "drop.frames": .int(buffer.firstFrame - expected),
                ])
        }
        expectedFrame = buffer.firstFrame + Int64(buffer.frameCount)
        // The reader measured the chunk once for every consumer (``ChunkBuffer/levels``). A local copy only:
        // holding the buffer's snapshot past this call would make the reader's next measurement copy it.
        let chunk: LevelSnapshot
        if let shared = buffer.levels, shared.frames == Int64(buffer.frameCount), shared.channels == format.channels {
            chunk = shared
        } else {
            meter.measure(buffer.audio, into: &measured)
            chunk = measured
        }
        interval.accumulate(chunk)
        let frames = Int64(buffer.frameCount)
        let now = buffer.firstFrame + frames
        switch silence.update(
            levelDBFS: chunk.loudestRMSDBFS, frames: frames, sampleRate: format.sampleRate, atFrame: buffer.firstFrame)
        {
        case .began(let frame)?: silenceGate.rawBegan(.began(atFrame: frame), since: frame)
        case .ended(let frame, let silentFrames)?:
            silenceGate.rawEnded(.ended(atFrame: frame, silentFrames: silentFrames), at: frame)
        case nil: break
        }
        silenceGate.advance(to: now) { reportSilence($0, chunkEnd: now) }
        switch digitalZero.update(
            levelDBFS: chunk.loudestRMSDBFS, frames: frames, sampleRate: format.sampleRate, atFrame: buffer.firstFrame)
        {
        case .began(let frame)?: digitalZeroGate.rawBegan(.began(atFrame: frame), since: frame)
        case .ended(let frame, let zeroFrames)?:
            digitalZeroGate.rawEnded(.ended(atFrame: frame, silentFrames: zeroFrames), at: frame)
        case nil: break
        }
        digitalZeroGate.advance(to: now) { reportDigitalZero($0) }
        health.update(chunk, atFrame: buffer.firstFrame) { transition in
            let index = Self.gateIndex(transition.problem, channel: transition.channel)
            switch transition.edge {
            case .began: healthGates[index].rawBegan(transition, since: transition.atFrame)
            case .ended: healthGates[index].rawEnded(transition, at: transition.atFrame)
            }
        }
        // Channel order, then flatline before DC offset before clipping, as the detector reports them.
        for index in healthGates.indices {
            healthGates[index].advance(to: now) { reportHealth($0) }
        }
        latest.withLock { latest in
            if latest == nil {
                latest = Latest(
                    time: 0, frame: 0, peakDBFS: Array(repeating: 0, count: format.channels),
                    rmsDBFS: Array(repeating: 0, count: format.channels),
                    clippedSamples: Array(repeating: 0, count: format.channels),
                    silent: false, totalClipped: totalClipped, health: health.health)
            }
            latest!.time = buffer.startTime
            latest!.frame = buffer.firstFrame
            latest!.silent = silent
            for c in 0..<format.channels {
                let levels = chunk[c]
                latest!.peakDBFS[c] = levels.peakDBFS
                latest!.rmsDBFS[c] = levels.rmsDBFS
                latest!.clippedSamples[c] = levels.clipped
                latest!.totalClipped[c] += Int64(levels.clipped)
                // Element by element: sharing the detector's array would make its next change copy it.
                latest!.health[c] = health.health[c]
            }
        }
        let clock = SystemClock.monotonic()
        if intervalStart == nil { intervalStart = clock }
        if configuration.logIntervalSeconds > 0, let start = intervalStart,
            clock - start >= configuration.logIntervalSeconds
        {
            logInterval()
            intervalStart = clock
        }
    }

    public func finish() {
        if interval.frames > 0, configuration.logIntervalSeconds > 0 { logInterval() }
    }

    private static func gateIndex(_ problem: SoundProblem, channel: Int) -> Int {
        let problemIndex: Int =
            switch problem {
            case .flatline: 0
            case .dcOffset: 1
            case .clipping: 2
            }
        return channel * SoundProblem.allCases.count + problemIndex
    }

    private func reportSilence(_ output: AlarmGateOutput<SilenceTransition>, chunkEnd: Int64) {
        switch output {
        case .began(.began(let frame)), .began(.ended(let frame, _)):
            silent = true
            events.emit(
                .warning, "silence.began", "silence: no channel above the threshold",
                [
                    "silence.first_frame": .int(frame),
                    "silence.threshold_dbfs": .dbfs(configuration.silenceDBFS),
                    "silence.seconds": .seconds(format.seconds(frames: chunkEnd - frame)),
                ])
        case .ended(let transition):
            silent = false
            let (frame, silentFrames): (Int64, Int64) =
                switch transition {
                case .ended(let frame, let frames): (frame, frames)
                case .began(let frame): (frame, 0)
                }
            events.emit(
                .info, "silence.ended", "sound is back after silence",
                [
                    "silence.end_frame": .int(frame),
                    "silence.seconds": .seconds(format.seconds(frames: silentFrames)),
                ])
        case .repeated(let count, let windowFrames, let active, _):
            silent = active
            emitRepeated(
                "silence.repeated", "silence began and ended repeatedly", "silence", count: count,
                windowFrames: windowFrames, active: active, fields: [:])
        }
    }

    private func reportDigitalZero(_ output: AlarmGateOutput<SilenceTransition>) {
        switch output {
        case .began(.began(let frame)), .began(.ended(let frame, _)):
            events.emit(
                .error, "levels.digital_zero",
                "the input delivers exact zeros: check the microphone, its cable and the mixer (alsamixer)",
                [
                    "zero.first_frame": .int(frame)
                ])
        case .ended(let transition):
            let (frame, zeroFrames): (Int64, Int64) =
                switch transition {
                case .ended(let frame, let frames): (frame, frames)
                case .began(let frame): (frame, 0)
                }
            events.emit(
                .notice, "levels.digital_zero_ended", "the input delivers audio again after exact zeros",
                [
                    "zero.end_frame": .int(frame), "zero.seconds": .seconds(format.seconds(frames: zeroFrames)),
                ])
        case .repeated(let count, let windowFrames, let active, _):
            emitRepeated(
                "levels.digital_zero_repeated", "exact zeros from the input began and ended repeatedly", "zero",
                count: count, windowFrames: windowFrames, active: active, fields: [:])
        }
    }

    private func reportHealth(_ output: AlarmGateOutput<SoundHealthTransition>) {
        switch output {
        case .began(let transition), .ended(let transition):
            report(transition)
        case .repeated(let count, let windowFrames, let active, let last):
            let (prefix, what) =
                switch last.problem {
                case .flatline: ("flatline", "a channel stuck at one sample value")
                case .dcOffset: ("dc_offset", "a DC offset")
                case .clipping: ("clipping", "frequent clipping")
                }
            emitRepeated(
                last.problem.eventKind + "_repeated", what + " began and ended repeatedly", prefix, count: count,
                windowFrames: windowFrames, active: active, fields: [prefix + ".channel": .int(Int64(last.channel + 1))]
            )
        }
    }

    /// The one event that stands for an alarm's begins and ends over a flap window.
    private func emitRepeated(
        _ kind: String, _ what: String, _ prefix: String, count: Int, windowFrames: Int64, active: Bool,
        fields: [String: EventValue]
    ) {
        let minutes = Int((format.seconds(frames: windowFrames) / 60).rounded())
        var fields = fields
        fields[prefix + ".repeated"] = .int(Int64(count))
        fields[prefix + ".window_seconds"] = .seconds(format.seconds(frames: windowFrames))
        fields[prefix + ".active"] = .bool(active)
        let now = active ? "it is in progress now" : "it is clear now"
        events.emit(
            .warning, kind,
            "\(what): repeated \(count) times in the last \(minutes) min; \(now)", fields)
    }

    /// Emits the event for a sound problem beginning or ending (only then are strings and dictionaries made).
    private func report(_ transition: SoundHealthTransition) {
        let seconds = EventValue.seconds(format.seconds(frames: transition.frames))
        var fields: [String: EventValue]
        let prefix: String
        switch transition.problem {
        case .flatline:
            prefix = "flatline"
            fields = [
                "flatline.value": .double(transition.value),
                "flatline.threshold_seconds": .seconds(configuration.flatlineSeconds),
            ]
        case .dcOffset:
            prefix = "dc_offset"
            fields = [
                "dc_offset.value": .double(transition.value),
                "dc_offset.dbfs": .dbfs(ChannelLevels.dbfs(amplitude: abs(transition.value))),
                "dc_offset.threshold_dbfs": .dbfs(configuration.dcOffsetDBFS),
            ]
        case .clipping:
            prefix = "clipping"
            fields = [
                "clipping.rate": .double(transition.value),
                "clipping.threshold_rate": .double(configuration.clippingRate),
            ]
        }
        fields[prefix + ".channel"] = .int(Int64(transition.channel + 1))
        fields[prefix + ".seconds"] = seconds
        fields[prefix + (transition.edge == .began ? ".first_frame" : ".end_frame")] = .int(transition.atFrame)
        let kind = transition.problem.eventKind + (transition.edge == .ended ? "_ended" : "")
        let message: String
        switch (transition.problem, transition.edge) {
        case (.flatline, .began):
            message = "a channel is stuck at one sample value: check the converter, the input and its cable"
        case (.flatline, .ended):
            message = "a channel is no longer stuck at one sample value"
        case (.dcOffset, .began):
            message = "a channel has a DC offset: check the input, its cable and phantom power"
        case (.dcOffset, .ended):
            message = "a channel no longer has a DC offset"
        case (.clipping, .began):
            message = "a channel clips often: lower the input gain (alsamixer) or the source's level"
        case (.clipping, .ended):
            message = "a channel no longer clips often"
        }
        events.emit(transition.edge == .began ? .warning : .notice, kind, message, fields)
    }

    private func logInterval() {
        // The log line prints the values an event would hold (WireFormat), as their text.
        let peaks = EventValue.dbfs(interval.map(\.peakDBFS))
        let rms = EventValue.dbfs(interval.map(\.rmsDBFS))
        logger.info(
            "levels",
            metadata: [
                "levels.peak_dbfs": "\(peaks)", "levels.rms_dbfs": "\(rms)",
                "levels.seconds": "\(EventValue.seconds(format.seconds(frames: interval.frames)))",
                "levels.clipped": "\(interval.clipped)",
            ])
        if interval.clipped > 0 {
            events.emit(
                .warning, "levels.clipping", "clipping: samples at full scale",
                [
                    "levels.clipped": .int(Int64(interval.clipped)),
                    "levels.peak_dbfs": peaks,
                ])
        }
        interval.reset()
    }
}
