// A structured event of the daemon: what happened, how serious, and its data.
import Foundation
import Logging

/// Something the daemon reports: a segment closed, ffmpeg exited, silence began, audio was dropped.
/// Events are logged (message + metadata) and kept for the control API.
public struct CaptureEvent: Sendable, Codable, Equatable {
    public enum Level: String, Sendable, Codable, CaseIterable, Comparable {
        case debug, info, notice, warning, error

        public var loggerLevel: Logger.Level {
            switch self {
            case .debug: .debug
            case .info: .info
            case .notice: .notice
            case .warning: .warning
            case .error: .error
            }
        }

        private var rank: Int { Self.allCases.firstIndex(of: self)! }
        public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
    }

    /// A field value: events carry numbers and strings only, so they map to JSON and log metadata as is.
    public enum Value: Sendable, Codable, Equatable, CustomStringConvertible {
        case string(String)
        case int(Int64)
        case double(Double)
        case bool(Bool)

        public var description: String {
            switch self {
            case .string(let s): s
            case .int(let i): String(i)
            case .double(let d): d.isFinite ? String(format: "%.3f", d) : (d < 0 ? "-inf" : "inf")
            case .bool(let b): String(b)
            }
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let i = try? c.decode(Int64.self) { self = .int(i) }
            else if let d = try? c.decode(Double.self) { self = .double(d) }
            else { self = .string(try c.decode(String.self)) }
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .string(let s): try c.encode(s)
            case .int(let i): try c.encode(i)
            case .double(let d): try c.encode(d.isFinite ? d : (d < 0 ? -999 : 999))
            case .bool(let b): try c.encode(b)
            }
        }
    }

    /// Seconds since the epoch.
    public var time: Double
    public var level: Level
    /// Dotted kind, e.g. `segment.closed`, `ffmpeg.exited`, `silence.began`.
    public var kind: String
    /// A fixed sentence; the data is in `fields`.
    public var message: String
    public var recording: String?
    public var fields: [String: Value]

    public init(
        time: Double = Date().timeIntervalSince1970, level: Level, kind: String, message: String,
        recording: String? = nil, fields: [String: Value] = [:]
    ) {
        self.time = time
        self.level = level
        self.kind = kind
        self.message = message
        self.recording = recording
        self.fields = fields
    }
}
