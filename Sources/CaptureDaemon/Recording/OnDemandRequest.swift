// What a caller asks of the recording controller to start a recording, in domain types.
import CaptureCore

/// A request to start a recording: on demand, or a stopped recording of the configuration file again.
/// Only `name` is required; every other setting left nil takes its default (or, for a configured
/// recording, must be nil: it starts with its configured settings).
public struct OnDemandRequest: Sendable, Equatable {
    public var name: String
    /// Length of each file in seconds (1 to 86400).
    public var segmentSeconds: Int?
    /// strftime template with `{name}` and `{seq}`, relative to the directory.
    public var filename: String?
    /// Stop by itself after this many seconds (more than 0, at most a year); exact in frames.
    public var durationSeconds: Double?
    /// Absolute or relative to the recordings root, and inside it; default `ROOT/NAME`.
    public var directory: String?
    public var align: SegmentAlignment?
    /// The `[[source]]` to record; nil: the only source (an error when the daemon has several).
    public var source: String?
    /// The files' format; nil: WAV.
    public var format: RecordingFormat?
    /// Start this many seconds before now (negative), from the source's look-back buffer; nil: now.
    public var fromSeconds: Double?

    public init(
        name: String, segmentSeconds: Int? = nil, filename: String? = nil, durationSeconds: Double? = nil,
        directory: String? = nil, align: SegmentAlignment? = nil, source: String? = nil,
        format: RecordingFormat? = nil, fromSeconds: Double? = nil
    ) {
        self.fromSeconds = fromSeconds
        self.name = name
        self.format = format
        self.source = source
        self.segmentSeconds = segmentSeconds
        self.filename = filename
        self.durationSeconds = durationSeconds
        self.directory = directory
        self.align = align
    }

    /// Whether any setting besides the name is given.
    var hasSettings: Bool {
        segmentSeconds != nil || filename != nil || durationSeconds != nil || directory != nil || align != nil
            || format != nil || fromSeconds != nil
    }
}
