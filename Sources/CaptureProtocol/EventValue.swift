// The value of an event field, the same in events.jsonl, the API, log lines and journald fields.

/// A field of an event: a string, an integer, a number, a boolean, or a list of them (per-channel
/// levels). Build levels, durations and times with ``dbfs(_:)``, ``seconds(_:)`` and ``utc(_:)`` so
/// they follow ``WireFormat``.
///
/// In JSON each is the JSON value of that type; a number that is not finite is written as `null`
/// (the constructors below never make one). In text (log lines, journald) each prints as that JSON
/// text, a list as its elements joined by commas (`-20,-26.02`), a string as itself.
public enum EventValue: Sendable, Codable, Equatable, CustomStringConvertible {
    case string(String)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case list([EventValue])

    /// A level in dBFS, per ``WireFormat/dbfs(_:)``.
    public static func dbfs(_ value: Double) -> EventValue { .double(WireFormat.dbfs(value)) }

    /// Per-channel levels in dBFS, channel 1 first.
    public static func dbfs(_ values: [Double]) -> EventValue { .list(values.map { .dbfs($0) }) }

    /// A duration in seconds, rounded to the microsecond.
    public static func seconds(_ value: Double) -> EventValue { .double(WireFormat.seconds(value)) }

    /// A time as seconds since the epoch (for a field named like `time`), rounded to the microsecond.
    public static func epoch(_ value: Double) -> EventValue { .double(WireFormat.epoch(value)) }

    /// A time as RFC 3339 UTC text (for the field beside it named `…_utc`).
    public static func utc(_ epochSeconds: Double) -> EventValue { .string(WireFormat.utc(epochSeconds)) }

    /// Equal when their JSON is: a number is the same whether it came as an integer or not (`-20`
    /// decodes as `.int(-20)`).
    public static func == (a: EventValue, b: EventValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): x == y
        case (.bool(let x), .bool(let y)): x == y
        case (.int(let x), .int(let y)): x == y
        case (.double(let x), .double(let y)): x == y
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): Double(x) == y
        case (.list(let x), .list(let y)): x == y
        default: false
        }
    }

    public var description: String {
        switch self {
        case .string(let s): s
        case .int(let i): String(i)
        case .double(let d): WireFormat.number(d)
        case .bool(let b): String(b)
        case .list(let values): values.map(\.description).joined(separator: ",")
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .double(.nan)
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else {
            self = .list(try c.decode([EventValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .int(let i): try c.encode(i)
        case .double(let d): if d.isFinite { try c.encode(d) } else { try c.encodeNil() }
        case .bool(let b): try c.encode(b)
        case .list(let values): try c.encode(values)
        }
    }
}
