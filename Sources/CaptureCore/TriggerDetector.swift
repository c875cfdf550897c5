// Decides where a trigger's clips begin and end, frame by frame. (Filled in by the triggers work.)

/// The level detector of one `[[trigger]]`: fed every frame of its source in order, it says where each
/// clip begins (`preSeconds` before the first frame over the threshold) and ends (`postSeconds` after the
/// last), cutting at `maxSeconds`. Pure: no I/O, no allocation per call.
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

    public init(configuration: TriggerConfiguration, format: AudioFormat) {
        self.configuration = configuration
        self.format = format
    }

    /// Feeds `audio` (whole interleaved frames of `format`), whose first frame is capture frame
    /// `firstFrame`; calls `decide` for each decision, in frame order. Frames are counted by position:
    /// a `firstFrame` after a hole continues as if the frames between had passed.
    public mutating func process(
        _ audio: UnsafeRawBufferPointer, firstFrame: Int64, _ decide: (Decision) -> Void
    ) {
    }

    /// The capture ended at `frame` (exclusive): an open clip closes there.
    public mutating func end(at frame: Int64, _ decide: (Decision) -> Void) {
    }
}
