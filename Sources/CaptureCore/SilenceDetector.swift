// Decides, chunk by chunk, when a capture has gone silent and when sound comes back.

/// A change in silence reported by `SilenceDetector`.
public enum SilenceTransition: Sendable, Equatable {
    /// Silence has now lasted the minimum time; it started at frame `atFrame`.
    case began(atFrame: Int64)
    /// Sound came back at frame `atFrame`, after `silentFrames` frames of silence (counted from where
    /// the silence began).
    case ended(atFrame: Int64, silentFrames: Int64)
}

/// Turns a stream of chunk levels into `began` and `ended` events.
///
/// A chunk is silent when its level is strictly below `thresholdDBFS` (so `-infinity`, digital
/// silence, is silent, and NaN is not). Silence is reported once it has lasted `minimumSeconds`, with
/// the frame where it started; the end is reported only for silence that was reported, and only once.
/// Shorter silences are forgotten when sound returns.
public struct SilenceDetector: Sendable {
    public let thresholdDBFS: Double
    public let minimumSeconds: Double

    /// The first frame of the current run of silent chunks, or nil after a chunk with sound.
    public private(set) var silenceStart: Int64?
    /// Whether the current silence has lasted long enough to have been reported with `.began`.
    public private(set) var isSilent = false

    /// A detector for silence below `thresholdDBFS` lasting at least `minimumSeconds` (finite, ≥ 0).
    public init(thresholdDBFS: Double, minimumSeconds: Double) {
        precondition(
            minimumSeconds >= 0 && minimumSeconds.isFinite,
            "minimum silence must be a finite number of seconds ≥ 0, got \(minimumSeconds)"
        )
        self.thresholdDBFS = thresholdDBFS
        self.minimumSeconds = minimumSeconds
    }

    /// Takes the level of the chunk of `frames` frames that starts at frame `atFrame` (usually the
    /// loudest channel's RMS), and returns the transition it causes, if any. Chunks are expected in
    /// order; a gap between two chunks counts as part of the state the next chunk is in.
    public mutating func update(
        levelDBFS: Double, frames: Int64, sampleRate: Int, atFrame: Int64
    ) -> SilenceTransition? {
        precondition(sampleRate > 0, "sample rate must be positive, got \(sampleRate)")
        guard levelDBFS < thresholdDBFS else {
            defer {
                silenceStart = nil
                isSilent = false
            }
            guard isSilent, let start = silenceStart else { return nil }
            return .ended(atFrame: atFrame, silentFrames: atFrame - start)
        }
        let start = silenceStart ?? atFrame
        silenceStart = start
        guard !isSilent else { return nil }
        let silentFrames = atFrame + frames - start
        guard Double(silentFrames) >= minimumSeconds * Double(sampleRate) else { return nil }
        isSilent = true
        return .began(atFrame: start)
    }

    /// Forgets any silence in progress without reporting its end (for a new timeline, e.g. after a
    /// capture restart).
    public mutating func reset() {
        silenceStart = nil
        isSilent = false
    }
}
