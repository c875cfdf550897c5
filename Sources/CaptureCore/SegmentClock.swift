// Where segment boundaries fall: on the wall clock, or every N frames.

/// Decides where a recording's segments end.
///
/// With `.clock` alignment boundaries are the multiples of `segmentSeconds` since the Unix epoch (UTC):
/// 60 s segments start at :00 of every minute, 3600 s segments on the hour. The cut falls on the first
/// frame whose wall time is at or past the boundary. A segment that starts within half a frame of a
/// boundary counts as starting on it, so a start exactly on a boundary gives a full first segment.
/// With `.samples` alignment every segment holds exactly `segmentSeconds × sampleRate` frames.
public struct SegmentClock: Sendable, Equatable {
    public let segmentSeconds: Int
    public let sampleRate: Int
    public let alignment: SegmentAlignment

    public init(segmentSeconds: Int, sampleRate: Int, alignment: SegmentAlignment) {
        precondition(segmentSeconds > 0 && sampleRate > 0)
        self.segmentSeconds = segmentSeconds
        self.sampleRate = sampleRate
        self.alignment = alignment
    }

    public var framesPerSegment: Int64 { Int64(segmentSeconds) * Int64(sampleRate) }

    private var halfFrame: Double { 0.5 / Double(sampleRate) }

    /// The boundary at or before `time`: the nominal start of the clock segment holding `time`.
    public func boundary(atOrBefore time: Double) -> Double {
        let s = Double(segmentSeconds)
        return (((time + halfFrame) / s).rounded(.down)) * s
    }

    /// The first clock boundary strictly after the segment that holds `time`.
    public func boundary(after time: Double) -> Double {
        boundary(atOrBefore: time) + Double(segmentSeconds)
    }

    /// Whether a segment starting at `time` starts on a boundary (within half a frame).
    public func isOnBoundary(_ time: Double) -> Bool {
        abs(time - boundary(atOrBefore: time)) <= halfFrame
    }

    /// For a run of frames whose first frame has wall time `firstFrameTime`, the number of frames that
    /// come before `boundary` (0 when the first frame is already at or past it).
    public func framesBefore(boundary: Double, firstFrameTime: Double) -> Int64 {
        // A millionth of a frame of tolerance absorbs floating-point error in the times.
        let gap = (boundary - firstFrameTime) * Double(sampleRate) - 1e-6
        if gap <= 0 { return 0 }
        return Int64(gap.rounded(.up))
    }
}
