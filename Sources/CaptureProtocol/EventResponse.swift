// GET /v1/events (and each line of ?follow=1)

/// One event of the daemon. Field values are strings, numbers or booleans.
public struct EventResponse: Codable, Sendable, Equatable {
    public enum Value: Codable, Sendable, Equatable, CustomStringConvertible {
        case string(String)
        case int(Int64)
        case double(Double)
        case bool(Bool)

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let i = try? c.decode(Int64.self) { self = .int(i) }
            else if let d = try? c.decode(Double.self) { self = .double(d) }
            else { self = .string(try c.decode(String.self)) }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .string(let s): try c.encode(s)
            case .int(let i): try c.encode(i)
            case .double(let d): try c.encode(d.isFinite ? d : (d < 0 ? -200 : 200))
            case .bool(let b): try c.encode(b)
            }
        }

        public var description: String {
            switch self {
            case .string(let s): s
            case .int(let i): String(i)
            case .double(let d): String(d)
            case .bool(let b): String(b)
            }
        }
    }

    /// Seconds since the epoch.
    public var time: Double
    /// `debug`, `info`, `notice`, `warning` or `error`.
    public var level: String
    /// Dotted kind, e.g. `segment.closed`.
    public var kind: String
    public var message: String
    public var recording: String?
    public var fields: [String: Value]

    public init(time: Double, level: String, kind: String, message: String, recording: String?, fields: [String: Value]) {
        self.time = time
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
