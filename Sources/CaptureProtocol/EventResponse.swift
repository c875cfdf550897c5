// GET /v1/events (and each line of ?follow=1); also each line of the daemon's events.jsonl.

/// One event of the daemon, as the API sends it and as `events.jsonl` stores it (docs/event.schema.json).
public struct EventResponse: Codable, Sendable, Equatable {
    /// Old name of ``EventValue``, the one field value type; use `EventValue`. Kept only until the
    /// branches that still write `EventResponse.Value` (the end-to-end tests) have merged.
    public typealias Value = EventValue

    /// Seconds since the epoch, to the microsecond.
    public var time: Double
    /// `time` as RFC 3339 UTC (`2026-12-01T15:30:00.123Z`); nil only from daemons before it was added.
    public var timeUTC: String?
    /// `debug`, `info`, `notice`, `warning` or `error`.
    public var level: String
    /// Dotted kind, e.g. `segment.closed`.
    public var kind: String
    public var message: String
    public var recording: String?
    /// The source the event is about (its ffmpeg, levels, or a recording it feeds); nil for the
    /// daemon's own events and from daemons before several sources.
    public var source: String?
    /// The station that emitted it (`[station] id`, or the host name); nil from daemons before it was added.
    public var station: String?
    public var fields: [String: EventValue]

    // "UTC" would round-trip through snake_case as "Utc"; name the key so the wire says `time_utc`.
    enum CodingKeys: String, CodingKey {
        case time
        case timeUTC = "timeUtc"
        case level, kind, message, recording, source, station, fields
    }

    public init(
        time: Double, level: String, kind: String, message: String, recording: String?, fields: [String: EventValue],
        source: String? = nil, station: String? = nil
    ) {
        self.source = source
        self.station = station
        self.time = WireFormat.epoch(time)
        self.timeUTC = WireFormat.utc(time)
        self.level = level
        self.kind = kind
        self.message = message
        self.recording = recording
        self.fields = fields
    }
}

/// GET /v1/events
public struct EventsResponse: Codable, Sendable, Equatable {
    public var events: [EventResponse]
    public init(events: [EventResponse]) { self.events = events }
}
