// swift-log handler for the daemon: native journald entries under systemd, readable lines otherwise.
import CaptureProtocol
import Foundation
import Logging
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Sends each message to journald with its metadata as fields, or writes it to standard error as a line.
///
/// - ``Output/journal(_:)``: one journal entry per message with `MESSAGE`, `PRIORITY`,
///   `SYSLOG_IDENTIFIER`, `AUDIOCAP_LOGGER` (the logger's label), `CODE_FILE`, `CODE_LINE`, `CODE_FUNC`,
///   and each metadata key as a field of its own (`recording.name` → `RECORDING_NAME`, see
///   ``JournalWriter``). An entry journald does not take (too large, journald gone) is written to
///   standard error as in ``Output/journalStream``.
/// - ``Output/journalStream``: standard error is connected to journald; each line starts with its syslog
///   priority (`<3>` error, `<4>` warning, `<5>` notice, `<6>` info, `<7>` debug) and carries no timestamp.
/// - ``Output/console``: lines start with an ISO 8601 UTC timestamp and the level.
///
/// On standard error, metadata follows the message as `key=value` pairs, sorted by key.
public struct DaemonLogHandler: LogHandler {
    /// Where messages go.
    public enum Output: Sendable {
        case console
        case journalStream
        case journal(JournalWriter)

        /// `.journal` when standard error is connected to journald (`JOURNAL_STREAM` matches it) and
        /// journald's socket at `socketPath` accepts entries; `.journalStream` when only the first
        /// holds; `.console` otherwise.
        public static func detect(
            environment: [String: String] = ProcessInfo.processInfo.environment,
            socketPath: String = JournalWriter.defaultSocketPath
        ) -> Output {
            guard JournalWriter.isJournalStream(environment["JOURNAL_STREAM"], fd: 2) else { return .console }
            if let writer = JournalWriter(socketPath: socketPath) { return .journal(writer) }
            return .journalStream
        }
    }

    public static let syslogIdentifier = "audiocapd"

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public let label: String
    private let output: Output

    public init(label: String, level: Logger.Level, output: Output) {
        self.label = label
        self.logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        switch output {
        case .journal(let writer):
            if writer.send(journalFields(event, all)) { return }
            writeLine(event, all, journal: true)
        case .journalStream:
            writeLine(event, all, journal: true)
        case .console:
            writeLine(event, all, journal: false)
        }
    }

    /// The journal entry for `event`: the fixed fields, then the metadata sorted by key.
    func journalFields(_ event: LogEvent, _ metadata: Logger.Metadata) -> [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = [
            ("MESSAGE", event.message.description),
            ("PRIORITY", String(Self.priority(event.level))),
            ("SYSLOG_IDENTIFIER", Self.syslogIdentifier),
            ("AUDIOCAP_LOGGER", label),
            ("CODE_FILE", event.file),
            ("CODE_LINE", String(event.line)),
            ("CODE_FUNC", event.function),
        ]
        for key in metadata.keys.sorted() {
            fields.append((JournalWriter.fieldName(key), "\(metadata[key]!)"))
        }
        return fields
    }

    private func writeLine(_ event: LogEvent, _ metadata: Logger.Metadata, journal: Bool) {
        var line = ""
        if journal {
            line = "<\(Self.priority(event.level))>"
        } else {
            line = WireFormat.utc(Date().timeIntervalSince1970) + " " + event.level.rawValue.uppercased() + " "
        }
        line += event.message.description
        for key in metadata.keys.sorted() {
            line += " \(key)=\(Self.quoted("\(metadata[key]!)"))"
        }
        line += "\n"
        _ = Array(line.utf8).withUnsafeBytes { FileDescriptor.standardError.writeAllOrErrno($0) }
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
        if !value.isEmpty, !value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) {
            return value
        }
        return "\"" + value.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"").replacing("\n", with: "\\n")
            + "\""
    }
}
