// POST /v1/recordings

/// Starts an on-demand recording. Only `name` is required; unknown fields are refused.
public struct StartRecordingRequest: Codable, Sendable, Equatable {
    public var name: String
    public var segmentSeconds: Int?
    /// strftime template with `{name}` and `{seq}`, relative to the directory.
    public var filename: String?
    /// Stop by itself after this many seconds.
    public var durationSeconds: Double?
    /// Must lie under the daemon's `[storage] root`; default `ROOT/NAME`.
    public var directory: String?
    /// `clock` (default) or `samples`.
    public var align: String?
    /// The `[[source]]` to record; may be left out when the daemon has one source.
    public var source: String?
    /// `wav` (default) or `flac`.
    public var format: String?
    /// Start this many seconds before the request (a negative number, e.g. -30), from the source's
    /// look-back buffer; nil or 0: now.
    public var fromSeconds: Double?

    public init(
        name: String, segmentSeconds: Int? = nil, filename: String? = nil, durationSeconds: Double? = nil,
        directory: String? = nil, align: String? = nil, source: String? = nil, format: String? = nil,
        fromSeconds: Double? = nil
    ) {
        self.fromSeconds = fromSeconds
        self.source = source
        self.format = format
        self.name = name
        self.segmentSeconds = segmentSeconds
        self.filename = filename
        self.durationSeconds = durationSeconds
        self.directory = directory
        self.align = align
    }

    enum CodingKeys: String, StrictFields {
        case name, segmentSeconds, filename, durationSeconds, directory, align, source, format, fromSeconds
    }

    public init(from decoder: any Decoder) throws {
        try CodingKeys.refuseUnknownFields(in: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        segmentSeconds = try container.decodeIfPresent(Int.self, forKey: .segmentSeconds)
        filename = try container.decodeIfPresent(String.self, forKey: .filename)
        durationSeconds = try container.decodeIfPresent(Double.self, forKey: .durationSeconds)
        directory = try container.decodeIfPresent(String.self, forKey: .directory)
        align = try container.decodeIfPresent(String.self, forKey: .align)
        source = try container.decodeIfPresent(String.self, forKey: .source)
        format = try container.decodeIfPresent(String.self, forKey: .format)
        fromSeconds = try container.decodeIfPresent(Double.self, forKey: .fromSeconds)
    }
}
