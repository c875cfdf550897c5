// swift-log handler for the daemon: journald priority prefixes under systemd, readable lines otherwise.
import Foundation
import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Writes one line per message to standard error.
///
/// Under systemd (`JOURNAL_STREAM` set) each line starts with its syslog priority (`<3>` error,
/// `<4>` warning, `<5>` notice, `<6>` info, `<7>` debug) so journald files it right, and carries no
/// timestamp (journald adds its own). Otherwise lines start with an ISO 8601 UTC timestamp and the level.
/// Metadata follows the message as `key=value` pairs, sorted by key.
public struct DaemonLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public let label: String
    private let journal: Bool

    public init(label: String, level: Logger.Level, journal: Bool = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil) {
        self.label = label
        self.logLevel = level
        self.journal = journal
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        var line = ""
        if journal {
            line = "<\(Self.priority(event.level))>"
        } else {
            line = Timestamp.iso8601(Date().timeIntervalSince1970) + " " + event.level.rawValue.uppercased() + " "
        }
        line += event.message.description
        for key in all.keys.sorted() {
            line += " \(key)=\(Self.quoted("\(all[key]!)"))"
        }
        line += "\n"
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }

    static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    private static func quoted(_ value: String) -> String {
        if !value.isEmpty, !value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) { return value }
        return "\"" + value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n") + "\""
    }
}
