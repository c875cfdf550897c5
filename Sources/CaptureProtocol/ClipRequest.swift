// POST /v1/clips

/// Writes one file of audio already captured, from the source's look-back buffer. Only `name` and
/// `from_seconds` are required; unknown fields are refused.
public struct ClipRequest: Codable, Sendable, Equatable {
    /// Names the clip's file (`{name}` in the template) and its default directory, `ROOT/NAME`.
    public var name: String
    /// Start, in seconds relative to the request: negative (e.g. -120).
    public var fromSeconds: Double
    /// End, in seconds relative to the request: at most 0 (now, the default).
    public var toSeconds: Double?
    /// The `[[source]]`; may be left out when the daemon has one source.
    public var source: String?
    /// Must lie under the daemon's `[storage] root`; default `ROOT/NAME`.
    public var directory: String?
    /// strftime template with `{name}`, relative to the directory.
    public var filename: String?
    /// `wav` (default) or `flac`.
    public var format: String?

    public init(
        name: String, fromSeconds: Double, toSeconds: Double? = nil, source: String? = nil,
        directory: String? = nil, filename: String? = nil, format: String? = nil
    ) {
        self.name = name
        self.fromSeconds = fromSeconds
        self.toSeconds = toSeconds
        self.source = source
        self.directory = directory
        self.filename = filename
        self.format = format
    }

    enum CodingKeys: String, StrictFields {
        case name, fromSeconds, toSeconds, source, directory, filename, format
    }

    public init(from decoder: any Decoder) throws {
        try CodingKeys.refuseUnknownFields(in: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        fromSeconds = try container.decode(Double.self, forKey: .fromSeconds)
        toSeconds = try container.decodeIfPresent(Double.self, forKey: .toSeconds)
        source = try container.decodeIfPresent(String.self, forKey: .source)
        directory = try container.decodeIfPresent(String.self, forKey: .directory)
        filename = try container.decodeIfPresent(String.self, forKey: .filename)
        format = try container.decodeIfPresent(String.self, forKey: .format)
    }
}

/// The file a clip request wrote.
public struct ClipResponse: Codable, Sendable, Equatable {
    public var name: String
    public var source: String
    /// The clip's file (its sidecar is `PATH.json`).
    public var path: String
    public var frames: Int64
    public var durationSeconds: Double
    /// Capture frame of the clip's first frame.
    public var firstFrame: Int64
    /// Wall time of the first frame.
    public var startTime: Double
    public var startTimeUTC: String?
    /// Where the clip starts and ends relative to the request, in seconds; `from_seconds` is later than
    /// asked when the look-back buffer held less.
    public var fromSeconds: Double
    public var toSeconds: Double
    /// Gaps inside the clip (from the recording ledger), and their frames.
    public var gaps: Int
    public var gapFrames: Int64
    /// A note for the caller, e.g. that the look-back buffer held less than was asked for.
    public var message: String?

    enum CodingKeys: String, CodingKey {
        case name, source, path, frames, durationSeconds, firstFrame, startTime, startTimeUTC = "startTimeUtc"
        case fromSeconds, toSeconds, gaps, gapFrames, message
    }

    public init(
        name: String, source: String, path: String, frames: Int64, sampleRate: Int, firstFrame: Int64,
        startTime: Double, fromSeconds: Double, toSeconds: Double, gaps: Int, gapFrames: Int64, message: String?
    ) {
        self.name = name
        self.source = source
        self.path = path
        self.frames = frames
        self.durationSeconds = WireFormat.seconds(Double(frames) / Double(max(1, sampleRate)))
        self.firstFrame = firstFrame
        self.startTime = WireFormat.epoch(startTime)
        self.startTimeUTC = WireFormat.utc(startTime)
        self.fromSeconds = WireFormat.seconds(fromSeconds)
        self.toSeconds = WireFormat.seconds(toSeconds)
        self.gaps = gaps
        self.gapFrames = gapFrames
        self.message = message
    }
}
