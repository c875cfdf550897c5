// The daemon's event log on disk (`events.jsonl` and its rotated files), read without the daemon.
import CaptureProtocol
import Foundation

/// Reads `[storage] state/events.jsonl` and its rotated files (`events.jsonl.1` newest … `.N` oldest).
///
/// Lines are decoded leniently, so the format may grow: unknown keys are ignored, field values may be
/// any JSON (arrays and objects are shown as text), and the time may be epoch seconds or an RFC 3339
/// string. Lines that are not JSON objects with a kind are skipped. Blocking file I/O.
public enum EventLogFile {
    /// One event: as the API shows it, and the line as written.
    public struct Entry: Sendable {
        public var event: EventResponse
        public var line: String
    }

    /// Event levels, least severe first.
    public static let levels = ["debug", "info", "notice", "warning", "error"]

    /// The paths that hold the log in `stateDirectory`, oldest first (only those that exist).
    public static func paths(stateDirectory: String) -> [String] {
        let current = stateDirectory + "/events.jsonl"
        var rotated: [String] = []
        var index = 1
        while index < 1000, FileManager.default.fileExists(atPath: "\(current).\(index)") {
            rotated.append("\(current).\(index)")
            index += 1
        }
        let existing = FileManager.default.fileExists(atPath: current) ? [current] : []
        return rotated.reversed() + existing
    }

    /// The events at or after `since`, at `level` or more severe, of `recording`, oldest first; the
    /// newest `limit` of them when given.
    public static func read(
        stateDirectory: String, since: Double? = nil, level: String? = nil, recording: String? = nil, limit: Int? = nil,
        source: String? = nil
    ) -> [Entry] {
        let floor = level.flatMap { levels.firstIndex(of: $0) } ?? 0
        var entries: [Entry] = []
        for path in paths(stateDirectory: stateDirectory) {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            for line in data.split(separator: 0x0A) {
                guard let entry = decode(Data(line)) else { continue }
                if let since, entry.event.time < since { continue }
                if (levels.firstIndex(of: entry.event.level) ?? levels.count) < floor { continue }
                if let recording, entry.event.recording != recording { continue }
                if let source, entry.event.source != source { continue }
                entries.append(entry)
            }
        }
        if let limit, entries.count > limit { entries.removeFirst(entries.count - limit) }
        return entries
    }

    /// One line of the log, or nil when it is not an event.
    public static func decode(_ line: Data) -> Entry? {
        // A plain decoder on purpose: the line is read as untyped JSON (old lines have other fields), and
        // ControlAPI.decoder() would turn a string "inf" into a number.
        guard case .object(let object)? = try? JSONDecoder().decode(JSON.self, from: line),
            case .string(let kind)? = object["kind"]
        else { return nil }
        var time: Double?
        switch object["time"] {
        case .number(let seconds)?: time = seconds
        case .integer(let seconds)?: time = Double(seconds)
        case .string(let text)?: time = parseTime(text)
        default: break
        }
        if time == nil {
            // The epoch number may sit under another key beside an RFC 3339 `time`.
            for key in ["time_epoch", "epoch", "timestamp", "ts"] {
                if case .number(let seconds)? = object[key] {
                    time = seconds
                    break
                }
                if case .integer(let seconds)? = object[key] {
                    time = Double(seconds)
                    break
                }
            }
        }
        var fields: [String: EventValue] = [:]
        if case .object(let values)? = object["fields"] {
            for (key, value) in values { fields[key] = value.eventValue }
        }
        let event = EventResponse(
            time: time ?? 0, level: object["level"]?.text ?? "info", kind: kind, message: object["message"]?.text ?? "",
            recording: object["recording"]?.text, fields: fields)
        return Entry(event: event, line: String(decoding: line, as: UTF8.self))
    }

    static func parseTime(_ text: String) -> Double? {
        if let seconds = Double(text) { return seconds }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date.timeIntervalSince1970 }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)?.timeIntervalSince1970
    }

    /// Any JSON value.
    indirect enum JSON: Decodable {
        case null, bool(Bool), number(Double), integer(Int64), string(String), array([JSON]), object([String: JSON])

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() {
                self = .null
            } else if let b = try? c.decode(Bool.self) {
                self = .bool(b)
            } else if let i = try? c.decode(Int64.self) {
                self = .integer(i)
            } else if let d = try? c.decode(Double.self) {
                self = .number(d)
            } else if let s = try? c.decode(String.self) {
                self = .string(s)
            } else if let a = try? c.decode([JSON].self) {
                self = .array(a)
            } else {
                self = .object(try c.decode([String: JSON].self))
            }
        }

        var text: String? {
            switch self {
            case .null: nil
            case .bool(let b): String(b)
            case .number(let d): String(d)
            case .integer(let i): String(i)
            case .string(let s): s
            case .array(let items): items.map { $0.text ?? "null" }.joined(separator: ",")
            case .object(let members):
                members.keys.sorted().map { "\($0):\(members[$0]?.text ?? "null")" }.joined(separator: ",")
            }
        }

        var eventValue: EventValue {
            switch self {
            case .bool(let b): .bool(b)
            case .integer(let i): .int(i)
            case .number(let d): .double(d)
            default: .string(text ?? "null")
            }
        }
    }
}
