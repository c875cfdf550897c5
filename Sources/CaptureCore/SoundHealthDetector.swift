// Decides, chunk by chunk and per channel, when audio is unusable though not silent: stuck samples, a DC
// offset, too much clipping.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A fault in one channel's audio that `SoundHealthDetector` watches for.
public enum SoundProblem: String, Sendable, CaseIterable, Codable {
    /// Every sample the same value: a stuck converter or a DC-stuck input, or exact zeros on a channel
    /// while another has sound (a dead channel). Zeros on every channel are digital zero, reported apart.
    case flatline
    /// The mean of the samples far from zero.
    case dcOffset = "dc_offset"
    /// Too large a share of the samples on a rail.
    case clipping

    /// The event kind reported when the problem begins; `_ended` is appended for its end.
    public var eventKind: String {
        switch self {
        case .flatline: "levels.flatline"
        case .dcOffset: "levels.dc_offset"
        case .clipping: "levels.clipping_rate"
        }
    }
}

/// The sound-health state of one channel, as status shows it.
public struct ChannelHealth: Sendable, Equatable, Codable {
    /// Where each problem in progress began (first frame), nil when it is not in progress.
    public var flatlineSince: Int64?
    public var dcOffsetSince: Int64?
    public var clippingSince: Int64?
    /// The mean sample over the DC-offset window, as a fraction of full scale; nil until the window is full.
    public var dcOffset: Double?
    /// The share of clipped samples over the clipping window; nil until the window is full.
    public var clippingRate: Double?

    public init() {}

    /// Where `problem` began, or nil when it is not in progress.
    public func since(_ problem: SoundProblem) -> Int64? {
        switch problem {
        case .flatline: flatlineSince
        case .dcOffset: dcOffsetSince
        case .clipping: clippingSince
        }
    }

    public func isActive(_ problem: SoundProblem) -> Bool { since(problem) != nil }

    mutating func set(_ problem: SoundProblem, since frame: Int64?) {
        switch problem {
        case .flatline: flatlineSince = frame
        case .dcOffset: dcOffsetSince = frame
        case .clipping: clippingSince = frame
        }
    }
}

/// A problem beginning or ending on one channel, reported by `SoundHealthDetector`.
public struct SoundHealthTransition: Sendable, Equatable {
    public enum Edge: Sendable, Equatable {
        case began
        case ended
    }

    public var problem: SoundProblem
    public var edge: Edge
    /// The channel's index, from 0.
    public var channel: Int
    /// `began`: the first frame of the problem (where the stuck run, or the window that showed it,
    /// started). `ended`: the first frame of the chunk at which it was found gone.
    public var atFrame: Int64
    /// How long the problem has lasted, from where it began to the end of the chunk that reported it
    /// (`began`) or to `atFrame` (`ended`).
    public var frames: Int64
    /// `flatline`: the stuck sample, as a fraction of full scale. `dcOffset`: the mean sample over the
    /// window, as a fraction of full scale (signed). `clipping`: the share of clipped samples over the window.
    public var value: Double

    public init(problem: SoundProblem, edge: Edge, channel: Int, atFrame: Int64, frames: Int64, value: Double) {
        self.problem = problem
        self.edge = edge
        self.channel = channel
        self.atFrame = atFrame
        self.frames = frames
        self.value = value
    }
}

/// Turns the per-channel levels of successive chunks into the begin and end of sound problems.
///
/// - **Flatline**: every sample of a channel equal to the same value (`minimum == maximum` over each
///   chunk, and the same value from chunk to chunk) for at least `flatlineSeconds`. It begins where the
///   run began; it ends at the first chunk that is not stuck at that value. Exact zeros count only while
///   another channel has sound (a dead channel); zeros on every channel are digital zero, reported apart.
/// - **DC offset**: |mean sample| over the last `dcOffsetSeconds` at or above `dcOffsetDBFS`. It begins
///   (at the window's first frame) when a full window reaches the threshold, and ends when the mean
///   falls more than 3 dB below it (`dcOffsetEndRatio`), so a mean hovering at the threshold does not flap.
/// - **Clipping**: clipped samples over the last `clippingSeconds` as a share of all samples, strictly
///   above `clippingRate`. It begins at the window's first frame and ends when the share falls strictly
///   below half the threshold (`clippingEndRatio`).
///
/// Windows are made of ten buckets of whole chunks and judged each time a bucket closes; see
/// `WindowedSums`. Chunks are expected in order; gaps are not counted. All storage is allocated in
/// `init`: `update` allocates nothing.
public struct SoundHealthDetector: Sendable {
    /// A DC offset ends when the mean falls below the threshold times this (3 dB below).
    public static let dcOffsetEndRatio = 0.707_945_784_384_137_9  // 10^(-3/20)
    /// Clipping ends when the rate falls below the threshold times this.
    public static let clippingEndRatio = 0.5

    public let channels: Int
    public let sampleRate: Int
    public let flatlineSeconds: Double
    public let dcOffsetDBFS: Double
    public let clippingRate: Double
    /// `dcOffsetDBFS` as a fraction of full scale.
    public let dcOffsetThreshold: Double

    private let flatlineFrames: Double
    /// Per channel: the value of the current constant run (NaN when none) and its first frame.
    private var stuckValue: [Double]
    private var stuckStart: [Int64]
    private var dcWindow: WindowedSums
    private var clipWindow: WindowedSums
    /// What status shows, per channel.
    public private(set) var health: [ChannelHealth]

    /// A detector for `channels` (≥ 1) channels at `sampleRate` (> 0). `flatlineSeconds`, `dcOffsetSeconds`
    /// and `clippingSeconds` must be finite and > 0; `clippingRate` > 0 and ≤ 1 (1 never reports).
    public init(
        channels: Int, sampleRate: Int, flatlineSeconds: Double, dcOffsetDBFS: Double, dcOffsetSeconds: Double,
        clippingRate: Double, clippingSeconds: Double
    ) {
        precondition(channels >= 1, "sound health needs at least one channel, got \(channels)")
        precondition(sampleRate > 0, "sample rate must be positive, got \(sampleRate)")
        for seconds in [flatlineSeconds, dcOffsetSeconds, clippingSeconds] {
            precondition(
                seconds > 0 && seconds.isFinite, "a window must be a finite number of seconds > 0, got \(seconds)")
        }
        precondition(clippingRate > 0 && clippingRate <= 1, "clipping rate must be > 0 and ≤ 1, got \(clippingRate)")
        self.channels = channels
        self.sampleRate = sampleRate
        self.flatlineSeconds = flatlineSeconds
        self.dcOffsetDBFS = dcOffsetDBFS
        self.clippingRate = clippingRate
        dcOffsetThreshold = pow(10, dcOffsetDBFS / 20)
        flatlineFrames = flatlineSeconds * Double(sampleRate)
        stuckValue = Array(repeating: .nan, count: channels)
        stuckStart = Array(repeating: 0, count: channels)
        dcWindow = WindowedSums(channels: channels, seconds: dcOffsetSeconds, sampleRate: sampleRate)
        clipWindow = WindowedSums(channels: channels, seconds: clippingSeconds, sampleRate: sampleRate)
        health = Array(repeating: ChannelHealth(), count: channels)
    }

    /// A detector with the thresholds of `[levels]`.
    public init(configuration: LevelsConfiguration, format: AudioFormat) {
        self.init(
            channels: format.channels, sampleRate: format.sampleRate, flatlineSeconds: configuration.flatlineSeconds,
            dcOffsetDBFS: configuration.dcOffsetDBFS, dcOffsetSeconds: configuration.dcOffsetSeconds,
            clippingRate: configuration.clippingRate, clippingSeconds: configuration.clippingSeconds)
    }

    /// Takes the levels of the chunk that starts at frame `atFrame` (`levels.channels` must be
    /// `channels`), and calls `report` once for each problem that begins or ends with it, in channel
    /// order, flatline before DC offset before clipping.
    public mutating func update(
        _ levels: LevelSnapshot, atFrame: Int64, report: (SoundHealthTransition) -> Void
    ) {
        precondition(levels.channels == channels, "expected \(channels) channels, got \(levels.channels)")
        let frames = levels.frames
        guard frames > 0 else { return }
        // Exact zeros on every channel are digital zero, reported apart; on some channels only, while
        // another has sound, they are a dead channel: a flatline at 0.
        var anySound = false
        for channel in 0..<channels where !(levels[channel].isConstant && levels[channel].minimum == 0) {
            anySound = true
        }
        for channel in 0..<channels {
            updateFlatline(
                levels[channel], channel: channel, frames: frames, atFrame: atFrame, anySound: anySound, report: report)
        }
        if dcWindow.add(frames: frames, atFrame: atFrame, figure: { levels[$0].sum }), dcWindow.isFull {
            let windowFrames = Double(dcWindow.windowFrames)
            for channel in 0..<channels {
                let mean = dcWindow.total(channel: channel) / windowFrames
                health[channel].dcOffset = mean
                let active = health[channel].isActive(.dcOffset)
                let reached =
                    active
                    ? abs(mean) >= dcOffsetThreshold * Self.dcOffsetEndRatio : abs(mean) >= dcOffsetThreshold
                judge(
                    .dcOffset, channel: channel, present: reached, value: mean, windowStart: dcWindow.windowFirstFrame,
                    chunkEnd: atFrame + frames, atFrame: atFrame, report: report)
            }
        }
        if clipWindow.add(frames: frames, atFrame: atFrame, figure: { Double(levels[$0].clipped) }), clipWindow.isFull {
            let windowFrames = Double(clipWindow.windowFrames)
            for channel in 0..<channels {
                let rate = clipWindow.total(channel: channel) / windowFrames
                health[channel].clippingRate = rate
                let active = health[channel].isActive(.clipping)
                let present = active ? !(rate < clippingRate * Self.clippingEndRatio) : rate > clippingRate
                judge(
                    .clipping, channel: channel, present: present, value: rate,
                    windowStart: clipWindow.windowFirstFrame,
                    chunkEnd: atFrame + frames, atFrame: atFrame, report: report)
            }
        }
    }

    private mutating func updateFlatline(
        _ levels: ChannelLevels, channel: Int, frames: Int64, atFrame: Int64, anySound: Bool,
        report: (SoundHealthTransition) -> Void
    ) {
        let stuck = levels.isConstant && (levels.minimum != 0 || anySound)
        if stuck && levels.minimum == stuckValue[channel] {
            // The run goes on.
        } else {
            if let since = health[channel].flatlineSince {
                health[channel].flatlineSince = nil
                report(
                    SoundHealthTransition(
                        problem: .flatline, edge: .ended, channel: channel, atFrame: atFrame, frames: atFrame - since,
                        value: stuckValue[channel]))
            }
            stuckValue[channel] = stuck ? levels.minimum : .nan
            stuckStart[channel] = atFrame
        }
        guard stuck, health[channel].flatlineSince == nil else { return }
        let runFrames = atFrame + frames - stuckStart[channel]
        guard Double(runFrames) >= flatlineFrames else { return }
        health[channel].flatlineSince = stuckStart[channel]
        report(
            SoundHealthTransition(
                problem: .flatline, edge: .began, channel: channel, atFrame: stuckStart[channel], frames: runFrames,
                value: levels.minimum))
    }

    /// Reports the begin or end of a windowed problem when `present` differs from its state.
    private mutating func judge(
        _ problem: SoundProblem, channel: Int, present: Bool, value: Double, windowStart first: Int64,
        chunkEnd: Int64, atFrame: Int64, report: (SoundHealthTransition) -> Void
    ) {
        let since = health[channel].since(problem)
        if present, since == nil {
            health[channel].set(problem, since: first)
            report(
                SoundHealthTransition(
                    problem: problem, edge: .began, channel: channel, atFrame: first, frames: chunkEnd - first,
                    value: value))
        } else if !present, let since {
            health[channel].set(problem, since: nil)
            report(
                SoundHealthTransition(
                    problem: problem, edge: .ended, channel: channel, atFrame: atFrame, frames: atFrame - since,
                    value: value))
        }
    }
}
