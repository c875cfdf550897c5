// A structured event of the daemon: what happened, how serious, and its data.
import CaptureProtocol
import Foundation
import Logging

/// Something the daemon reports: a segment closed, ffmpeg exited, silence began, audio was dropped.
/// Events are logged (message + metadata) and kept for the control API; their one JSON form is
/// ``response`` (``EventResponse``), in events.jsonl and the API alike.
public struct CaptureEvent: Sendable, Equatable {
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

    /// Old name of ``EventValue``, the one field value type; use `EventValue`. Kept only until the
    /// branches that still write `CaptureEvent.Value` (RecordingController) have merged.
    public typealias Value = EventValue

    /// Seconds since the epoch.
    public var time: Double
    public var level: Level
    /// Dotted kind, e.g. `segment.closed`, `ffmpeg.exited`, `silence.began`.
    public var kind: String
    /// A fixed sentence; the data is in `fields`.
    public var message: String
    public var recording: String?
    /// The source the event is about; set by a source's ``EventLog`` (``EventLog/forSource(_:)``).
    public var source: String?
    /// The station that emitted it; set by the ``EventLog``.
    public var station: String?
    public var fields: [String: EventValue]

    public init(
        time: Double = Date().timeIntervalSince1970, level: Level, kind: String, message: String,
        recording: String? = nil, fields: [String: EventValue] = [:], source: String? = nil
    ) {
        self.source = source
        self.time = time
        self.level = level
        self.kind = kind
        self.message = message
        self.recording = recording
        self.fields = fields
    }
}

extension CaptureEvent {
    /// The event as the API sends it and events.jsonl stores it.
    public var response: EventResponse {
        EventResponse(
            time: time, level: level.rawValue, kind: kind, message: message, recording: recording, fields: fields,
            source: source, station: station)
    }

    /// The event a stored or sent record describes; nil for a level this daemon does not know.
    public init?(_ response: EventResponse) {
        guard let level = Level(rawValue: response.level) else { return nil }
        self.init(
            time: response.time, level: level, kind: response.kind, message: response.message,
            recording: response.recording, fields: response.fields, source: response.source)
        station = response.station
    }
}
