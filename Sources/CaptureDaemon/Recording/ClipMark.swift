// What fired a trigger's clip, kept with the clip's file.

/// The firing of a `[[trigger]]` that a clip holds: the capture frame of the first frame over the
/// threshold (its offset in the clip is that frame less the clip's first frame).
public struct ClipMark: Sendable, Codable, Equatable {
    public var trigger: String
    public var frame: Int64
    public var peakDBFS: Double
    /// Whether the clip continues one cut at `max_seconds` (then `frame` is its first frame).
    public var continues: Bool

    public init(trigger: String, frame: Int64, peakDBFS: Double, continues: Bool) {
        self.trigger = trigger
        self.frame = frame
        self.peakDBFS = peakDBFS
        self.continues = continues
    }
}
