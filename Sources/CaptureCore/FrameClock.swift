// Maps frame positions to wall-clock time, smoothed so that pipe jitter doesn't move segment cuts.

/// A smoothed mapping from frame position to wall time: `time(frame) = offset + frame / rate`.
///
/// Each observation is the wall time at which a given frame count had arrived. Arrival times jitter by
/// tens of milliseconds (pipe and scheduler), so the offset follows them through an exponential average
/// with a time constant of `timeConstant` seconds of audio; a sound card running slightly fast or slow
/// shows up as a slow drift of the offset, which the average follows with a lag of well under a
/// millisecond (0.03 % drift × 10 s). A jump larger than `resetThreshold` (ffmpeg restarted, clock
/// stepped, unpaced input) restarts the mapping from the new observation.
public struct FrameClock: Sendable {
    public let sampleRate: Double
    public let timeConstant: Double
    public let resetThreshold: Double
    public private(set) var offset: Double?
    private var lastFrame: Int64 = 0

    public init(sampleRate: Int, timeConstant: Double = 10, resetThreshold: Double = 1) {
        self.sampleRate = Double(sampleRate)
        self.timeConstant = timeConstant
        self.resetThreshold = resetThreshold
    }

    /// Records that audio up to (not including) `frame` had arrived at wall time `time` (seconds since
    /// the epoch). Frames must not go backwards; a smaller frame than before restarts the mapping.
    public mutating func observe(frame: Int64, at time: Double) {
        let observed = time - Double(frame) / sampleRate
        defer { lastFrame = frame }
        guard let current = offset, frame >= lastFrame, abs(observed - current) < resetThreshold else {
            offset = observed
            return
        }
        let elapsed = Double(frame - lastFrame) / sampleRate
        let weight = min(1, elapsed / timeConstant)
        offset = current + weight * (observed - current)
    }

    /// Forgets the mapping (a new ffmpeg run starts a new timeline).
    public mutating func reset() {
        offset = nil
        lastFrame = 0
    }

    /// Wall time of `frame`, or nil before the first observation.
    public func time(ofFrame frame: Int64) -> Double? {
        offset.map { $0 + Double(frame) / sampleRate }
    }
}
