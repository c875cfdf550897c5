// Decides where a trigger's clips begin and end, frame by frame.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The level detector of one `[[trigger]]`: fed every frame of its source in order, it says where each
/// clip begins and ends. Pure: no I/O, and `process` allocates nothing.
///
/// How it decides (frames are capture frames; `pre`, `post`, `max` and `hold` are the configuration's
/// seconds and milliseconds in frames, rounded to the nearest frame):
/// - **Level.** Each frame's level is the largest |sample| over the listened `channels` (all when the
///   configuration lists none), as a fraction of full scale (the integer formats' negative rail is -1),
///   after the optional high-pass filter (``HighPassFilter``, 4th-order Butterworth at `highPassHz`). A
///   frame is *over* when its level is strictly greater than `10^(thresholdDBFS/20)`.
/// - **Firing.** The first frame over the threshold, `first`, starts a candidate. It fires at the first
///   frame over the threshold at least `hold` frames after `first`, provided no run of frames under the
///   threshold between them lasted ``dipFrames`` (10 ms) or longer (a tone's zero crossings are not
///   silences); with `hold_ms = 0` it fires at `first` itself. Firing decides
///   `.open(clipStart: max(first - pre, streamStart), triggerFrame: first, peakDBFS:, continues: false)`,
///   where `streamStart` is the first frame fed (frame 0 for a capture fed from its start) and `peakDBFS`
///   the peak level from `first` to the firing frame.
/// - **Extending and closing.** While a clip is open every frame over the threshold is its last sound,
///   `last`. Once `max(post, dipFrames)` frames in a row stay under the threshold, the clip closes:
///   `.close(clipEnd: last + 1 + post, cut: false)`. A sound that begins less than `post` frames after the
///   last one (or within `dipFrames`) extends the same clip; one that begins later starts a new candidate,
///   whose clip may begin (by `pre`) before the previous clip ended.
/// - **Cutting.** A clip that reaches `max` frames from its `clipStart`, at frame `C = clipStart + max`,
///   and would still go on (`last + 1 + post > C`: a sound within its last `post` frames) is cut:
///   `.close(clipEnd: C, cut: true)`, then `.open(clipStart: C, triggerFrame: C, peakDBFS:, continues: true)`
///   with the peak level since the sound's first frame over the threshold (never -infinity, even
///   for a continuation that holds only `post`). A clip whose end falls at or before `C` closes there
///   as usual (`cut: false`), and nothing continues.
/// - **Holes.** A `firstFrame` later than the frame after the previous chunk's last means frames were
///   lost: they count as time passing under the threshold (a clip can close or be cut within them).
///   Frames already seen (a `firstFrame` earlier than expected) are skipped.
/// - **Warm-up.** With a high-pass filter, the filter starts (and starts again after a hole) as if the
///   first sample had always been there, and the first ``warmUpFrames`` frames (4 / `highPassHz`
///   seconds) are filtered but not compared with the threshold, so neither a sound already going on when
///   the stream starts nor a step at a hole fires through the filter's transient.
///
/// Decisions come out in the order of their frames. A decision is made while the frame it is decided
/// on is processed: an `.open` at the firing frame (its `clipStart` lies up to ``historyFrames`` before
/// it, so the caller must hold that much audio), a `.close` at or after frame `clipEnd - 1` (so the
/// caller has been given every frame of the clip by the time it hears of the close).
public struct TriggerDetector: Sendable {
    public enum Decision: Sendable, Equatable {
        /// A clip begins at capture frame `clipStart`. `triggerFrame` is the first frame over the
        /// threshold (for a clip that continues one cut at `max_seconds`: `clipStart`), `peakDBFS` the
        /// peak of the filtered signal that fired, `continues` whether it continues a cut clip.
        case open(clipStart: Int64, triggerFrame: Int64, peakDBFS: Double, continues: Bool)
        /// The open clip ends before capture frame `clipEnd` (exclusive); `cut` when it reached
        /// `max_seconds` (a clip that continues opens at the same frame).
        case close(clipEnd: Int64, cut: Bool)
    }

    public let configuration: TriggerConfiguration
    public let format: AudioFormat

    /// The level a frame must exceed, as a fraction of full scale.
    public let thresholdAmplitude: Double
    /// `hold_ms`, `pre_seconds`, `post_seconds` and `max_seconds` in frames.
    public let holdFrames: Int64
    public let preFrames: Int64
    public let postFrames: Int64
    public let maxFrames: Int64
    /// The longest run of frames under the threshold that still counts as the same sound (10 ms): a
    /// candidate is dropped, and an open clip can close, only after a run this long.
    public let dipFrames: Int64
    /// Frames at the start of the stream, and after each hole, that are not compared with the
    /// threshold while the high-pass filter settles (0 without one).
    public let warmUpFrames: Int64
    /// How far before the frame it is decided on an `.open` can begin: `pre + hold` plus the dips a
    /// held sound may have. A caller that keeps this many frames of audio before the frame being
    /// processed has every frame of every clip.
    public var historyFrames: Int64 { preFrames + holdFrames + dipFrames }

    /// Listened channels, 0-based, allocated once.
    private let listened: [Int]
    private var filter: HighPassFilter?

    private enum Phase {
        /// Nothing over the threshold recently.
        case idle
        /// A sound is over the threshold but has not lasted `hold` yet.
        case pending
        /// A clip is open.
        case open
    }

    private var phase = Phase.idle
    /// The first frame fed since the start (or since `end`); nil before the first.
    private var streamStart: Int64?
    /// The frame after the last one processed; nil before the first chunk.
    private var nextFrame: Int64?
    /// Frames before this one are not compared with the threshold (the filter settles).
    private var listenFrom: Int64 = 0
    /// The candidate's first frame over the threshold (pending).
    private var firstOver: Int64 = 0
    /// The last frame over the threshold (pending and open).
    private var lastOver: Int64 = 0
    /// The open clip's first frame.
    private var clipStart: Int64 = 0
    /// The candidate's peak (pending); since the firing, over the clip and its continuations (open).
    private var peak = 0.0

    public init(configuration: TriggerConfiguration, format: AudioFormat) {
        self.configuration = configuration
        self.format = format
        thresholdAmplitude = Self.amplitude(dbfs: configuration.thresholdDBFS)
        holdFrames = format.frames(seconds: configuration.holdMilliseconds / 1000)
        preFrames = format.frames(seconds: configuration.preSeconds)
        postFrames = format.frames(seconds: configuration.postSeconds)
        maxFrames = max(1, format.frames(seconds: configuration.maxSeconds))
        dipFrames = max(1, format.frames(seconds: 0.010))
        let channels = configuration.channels.filter { (1...format.channels).contains($0) }.map { $0 - 1 }
        listened = channels.isEmpty ? Array(0..<format.channels) : channels
        if let cutoff = configuration.highPassHz, cutoff > 0, cutoff < Double(format.sampleRate) / 2 {
            let filter = HighPassFilter(cutoffHz: cutoff, sampleRate: format.sampleRate, channels: listened.count)
            warmUpFrames = Int64(filter.settlingFrames)
            self.filter = filter
        } else {
            warmUpFrames = 0
            filter = nil
        }
    }

    /// `10^(dbfs/20)`.
    static func amplitude(dbfs: Double) -> Double {
        pow(10, dbfs / 20)
    }

    /// Feeds `audio` (whole interleaved frames of `format`), whose first frame is capture frame
    /// `firstFrame`; calls `decide` for each decision, in frame order. Frames are counted by position:
    /// a `firstFrame` after a hole continues as if the frames between had passed.
    public mutating func process(
        _ audio: UnsafeRawBufferPointer, firstFrame: Int64, _ decide: (Decision) -> Void
    ) {
        let frames = audio.count / format.bytesPerFrame
        guard frames > 0, let base = audio.baseAddress else { return }
        var skip = 0
        var start = firstFrame
        if let next = nextFrame {
            if firstFrame < next {
                skip = Int(min(Int64(frames), next - firstFrame))
                start = next
            } else if firstFrame > next {
                settle(through: firstFrame - 1, decide)
                startListening(at: firstFrame)
            }
        } else {
            streamStart = firstFrame
            startListening(at: firstFrame)
        }
        guard skip < frames else { return }
        let pointer = base + skip * format.bytesPerFrame
        let count = frames - skip
        switch format.sampleFormat {
        case .s16: scan(S16.self, pointer, frames: count, firstFrame: start, decide)
        case .s24: scan(S24.self, pointer, frames: count, firstFrame: start, decide)
        case .s32: scan(S32.self, pointer, frames: count, firstFrame: start, decide)
        case .f32: scan(F32.self, pointer, frames: count, firstFrame: start, decide)
        }
        nextFrame = start + Int64(count)
        settle(through: start + Int64(count) - 1, decide)
    }

    /// The capture ended at `frame` (exclusive): an open clip closes there (or earlier, at its own end),
    /// a candidate that has not fired is dropped, and the next chunk starts a new stream (its first frame
    /// is the earliest a clip can begin, and the filter warms up again).
    public mutating func end(at frame: Int64, _ decide: (Decision) -> Void) {
        if frame > 0 { settle(through: frame - 1, decide) }
        if phase == .open {
            decide(.close(clipEnd: min(lastOver + 1 + postFrames, max(frame, clipStart + 1)), cut: false))
        }
        phase = .idle
        nextFrame = nil
        streamStart = nil
    }

    // MARK: Frames

    /// The filter starts over at `frame` (the first sample it sees becomes its resting input) and the
    /// threshold is not listened to until it has settled.
    private mutating func startListening(at frame: Int64) {
        listenFrom = frame + warmUpFrames
        needsFilterReset = filter != nil
    }

    private var needsFilterReset = false

    /// Measures `frames` frames from `base`, the first being capture frame `firstFrame`.
    private mutating func scan<Sample: TriggerSample>(
        _: Sample.Type, _ base: UnsafeRawPointer, frames: Int, firstFrame: Int64, _ decide: (Decision) -> Void
    ) {
        let stride = format.bytesPerFrame
        let threshold = thresholdAmplitude
        let listened = self.listened
        listened.withUnsafeBufferPointer { listened in
            var pointer = base
            if needsFilterReset, filter != nil {
                for (index, channel) in listened.enumerated() {
                    filter?.reset(channel: index, to: Sample.value(pointer + channel * Sample.bytes))
                }
                needsFilterReset = false
            }
            for offset in 0..<frames {
                var level = 0.0
                if filter != nil {
                    for index in 0..<listened.count {
                        let sample = Sample.value(pointer + listened[index] * Sample.bytes)
                        level = max(level, abs(filter!.process(sample, channel: index)))
                    }
                } else {
                    for channel in listened {
                        level = max(level, abs(Sample.value(pointer + channel * Sample.bytes)))
                    }
                }
                let frame = firstFrame + Int64(offset)
                if level > threshold, frame >= listenFrom {
                    over(at: frame, level: level, decide)
                }
                pointer += stride
            }
        }
    }

    /// Frame `frame` is over the threshold at `level`.
    private mutating func over(at frame: Int64, level: Double, _ decide: (Decision) -> Void) {
        settle(through: frame - 1, decide)
        switch phase {
        case .idle:
            phase = .pending
            firstOver = frame
            peak = level
        case .pending:
            peak = max(peak, level)
        case .open:
            peak = max(peak, level)
        }
        lastOver = frame
        if phase == .pending, frame - firstOver >= holdFrames {
            phase = .open
            clipStart = max(firstOver - preFrames, streamStart ?? 0)
            decide(
                .open(
                    clipStart: clipStart, triggerFrame: firstOver, peakDBFS: ChannelLevels.dbfs(amplitude: peak),
                    continues: false))
        }
        // A clip whose pre reaches back further than max is cut at once.
        if phase == .open { settle(through: frame, decide) }
    }

    /// Makes the decisions due on frames up to `frame` (inclusive), none of them after `lastOver`
    /// being over the threshold.
    private mutating func settle(through frame: Int64, _ decide: (Decision) -> Void) {
        while true {
            switch phase {
            case .idle:
                return
            case .pending:
                if frame - lastOver >= dipFrames { phase = .idle }
                return
            case .open:
                let closeAt = lastOver + max(postFrames, dipFrames)
                let cutAt = clipStart + maxFrames - 1
                let end = lastOver + 1 + postFrames
                if closeAt <= cutAt || end <= cutAt + 1 {
                    guard min(closeAt, cutAt) <= frame else { return }
                    decide(.close(clipEnd: end, cut: false))
                    phase = .idle
                    return
                }
                guard cutAt <= frame else { return }
                let cut = cutAt + 1
                decide(.close(clipEnd: cut, cut: true))
                decide(
                    .open(
                        clipStart: cut, triggerFrame: cut, peakDBFS: ChannelLevels.dbfs(amplitude: peak),
                        continues: true))
                clipStart = cut
            }
        }
    }
}

/// How the detector reads one sample of a format, as a fraction of full scale.
protocol TriggerSample {
    static var bytes: Int { get }
    static func value(_ pointer: UnsafeRawPointer) -> Double
}

extension TriggerSample where Self: WideIntegerSample {
    @inline(__always)
    static func value(_ pointer: UnsafeRawPointer) -> Double { Double(load(pointer)) / fullScale }
}

extension S24: TriggerSample {}
extension S32: TriggerSample {}

/// s16, read as `LevelMeter` reads it.
enum S16: TriggerSample {
    static var bytes: Int { 2 }
    @inline(__always)
    static func value(_ pointer: UnsafeRawPointer) -> Double {
        Double(Int16(littleEndian: pointer.loadUnaligned(as: Int16.self))) / 32768
    }
}

/// f32, read as `LevelMeter` reads it (NaN counts as 0).
enum F32: TriggerSample {
    static var bytes: Int { 4 }
    @inline(__always)
    static func value(_ pointer: UnsafeRawPointer) -> Double {
        let sample = Float(bitPattern: UInt32(littleEndian: pointer.loadUnaligned(as: UInt32.self)))
        return sample.isNaN ? 0 : Double(sample)
    }
}
