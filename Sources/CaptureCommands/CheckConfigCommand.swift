// `audiocap check-config`: loads a configuration file the way audiocapd would and summarizes it.

import ArgumentParser
import CaptureCore
import Foundation

/// `audiocap check-config [PATH] [--json]`.
///
/// On success prints what the file sets up (as text, or as JSON with `--json`) and exits 0. On failure prints
/// every problem to standard error, one per line, and exits with 78 (`EX_CONFIG`).
public struct CheckConfigCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a configuration file and show what it sets up.",
        discussion: """
            Reads the file the way audiocapd does and reports every problem at once: unknown keys, values \
            of the wrong type, values out of range, recordings that would write the same files. \
            Exits with 0 when the file is good and 78 (EX_CONFIG) when it is not.

            Examples:
              audiocap check-config
              audiocap check-config config/demo.toml
              audiocap check-config --json /etc/audiocap/audiocap.toml
            """
    )

    @Argument(help: "The configuration file.")
    public var path: String = ConfigurationLoader.defaultPath

    @Flag(help: "Print the configuration as JSON, with every default filled in.")
    public var json = false

    public init() {}

    public func run() throws {
        let configuration: Configuration
        do {
            configuration = try ConfigurationLoader.load(path: path)
        } catch {
            FileHandle.standardError.write(Data((error.description + "\n").utf8))
            throw ExitCode(ConfigurationError.exitCode)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            let data = try encoder.encode(ConfigurationSummary(path: path, configuration: configuration))
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(Self.summary(of: configuration, path: path))
        }
    }

    /// The human-readable summary: source, format, queue, levels, recordings and log level.
    static func summary(of configuration: Configuration, path: String) -> String {
        let source = configuration.source
        let format = source.audioFormat
        let levels = configuration.levels
        var lines: [String] = []
        lines.append("\(path): valid")
        var sourceLine = "source:      \(source.inputFormat) \(quoted(source.device)) via \(source.ffmpeg)"
        if !source.inputOptions.isEmpty {
            sourceLine += ", input options: " + source.inputOptions.joined(separator: " ")
        }
        if !source.outputOptions.isEmpty {
            sourceLine += ", output options: " + source.outputOptions.joined(separator: " ")
        }
        lines.append(sourceLine)
        lines.append(
            "format:      \(format.sampleRate) Hz, \(plural(format.channels, "channel")), "
                + "\(format.sampleFormat.rawValue) (\(format.bytesPerSecond) bytes/s), "
                + "\(source.chunkMilliseconds) ms chunks")
        lines.append(
            "restart:     \(seconds(source.restartDelaySeconds)) after ffmpeg exits (doubling to 30 s); "
                + "stalled after \(seconds(source.stallSeconds)) without audio")
        lines.append("queue:       \(seconds(configuration.queue.seconds)) per consumer")
        let levelLogging =
            levels.logIntervalSeconds > 0
            ? "logged every \(seconds(levels.logIntervalSeconds))" : "not logged periodically"
        lines.append(
            "levels:      \(levelLogging); silence below \(number(levels.silenceDBFS)) dBFS "
                + "for \(seconds(levels.silenceSeconds))")
        if configuration.recordings.isEmpty {
            lines.append("recordings:  none (levels only)")
        } else {
            lines.append("recordings:  \(configuration.recordings.count)")
            let width = configuration.recordings.map(\.name.count).max() ?? 0
            for recording in configuration.recordings {
                let alignment = recording.align == .clock ? "cut on the clock" : "cut by sample count"
                let padding = String(repeating: " ", count: width - recording.name.count)
                lines.append(
                    "  \(recording.name)\(padding)  \(seconds(Double(recording.segmentSeconds))) segments, "
                        + "\(alignment), \(recording.timeZone.rawValue) times, "
                        + "synced every \(seconds(recording.syncSeconds))")
                let indent = String(repeating: " ", count: width + 4)
                lines.append(indent + joined(recording.directory, recording.filename))
                var retention: [String] = []
                if let days = recording.keepDays { retention.append("keeps \(number(days)) days") }
                if let bytes = recording.maxBytes { retention.append("keeps at most \(bytes) bytes") }
                if !retention.isEmpty { lines.append(indent + "retention: " + retention.joined(separator: ", ")) }
            }
        }
        let control = configuration.control
        lines.append(
            "control:     "
                + (control.socket.isEmpty
                    ? "off" : "\(control.socket) (group \(control.group)), at most \(control.maxRecordings) on-demand recordings"))
        lines.append("storage:     on-demand recordings under \(configuration.storage.root), state in \(configuration.storage.state)")
        lines.append("metrics:     " + (configuration.metrics.listen.isEmpty ? "off" : "http://\(configuration.metrics.listen)/metrics"))
        lines.append("log level:   \(configuration.log.level.rawValue)")
        return lines.joined(separator: "\n")
    }

    private static func joined(_ directory: String, _ filename: String) -> String {
        directory.hasSuffix("/") ? directory + filename : directory + "/" + filename
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    private static func plural(_ count: Int, _ noun: String) -> String {
        count == 1 ? "1 \(noun)" : "\(count) \(noun)s"
    }

    private static func seconds(_ value: Double) -> String {
        number(value) + " s"
    }

    /// `30` rather than `30.0`; fractions as Swift prints them.
    private static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 {
            return String(Int(value))
        }
        return String(value)
    }
}

/// The JSON form of a loaded configuration: the TOML's keys, every default filled in, plus derived values.
private struct ConfigurationSummary: Encodable {
    struct Source: Encodable {
        var ffmpeg: String
        var inputFormat: String
        var device: String
        var inputOptions: [String]
        var outputOptions: [String]
        var sampleRate: Int
        var channels: Int
        var sampleFormat: String
        var chunkMs: Int
        var chunkFrames: Int
        var bytesPerSecond: Int
        var restartDelaySeconds: Double
        var stallSeconds: Double
    }

    struct Queue: Encodable {
        var seconds: Double
    }

    struct Levels: Encodable {
        var logIntervalSeconds: Double
        var silenceDbfs: Double
        var silenceSeconds: Double
    }

    struct Recording: Encodable {
        var name: String
        var directory: String
        var segmentSeconds: Int
        var align: String
        var filename: String
        var timeZone: String
        var syncSeconds: Double
        var keepDays: Double?
        var maxBytes: Int64?
    }

    struct Control: Encodable {
        var socket: String
        var group: String
        var maxRecordings: Int
    }

    struct Storage: Encodable {
        var root: String
        var state: String
    }

    struct Metrics: Encodable {
        var listen: String
    }

    struct Log: Encodable {
        var level: String
    }

    var path: String
    var valid = true
    var source: Source
    var queue: Queue
    var levels: Levels
    var recordings: [Recording]
    var control: Control
    var storage: Storage
    var metrics: Metrics
    var log: Log

    init(path: String, configuration: Configuration) {
        self.path = path
        let source = configuration.source
        self.source = Source(
            ffmpeg: source.ffmpeg,
            inputFormat: source.inputFormat,
            device: source.device,
            inputOptions: source.inputOptions,
            outputOptions: source.outputOptions,
            sampleRate: source.sampleRate,
            channels: source.channels,
            sampleFormat: source.sampleFormat.rawValue,
            chunkMs: source.chunkMilliseconds,
            chunkFrames: source.chunkFrames,
            bytesPerSecond: source.audioFormat.bytesPerSecond,
            restartDelaySeconds: source.restartDelaySeconds,
            stallSeconds: source.stallSeconds
        )
        self.queue = Queue(seconds: configuration.queue.seconds)
        self.levels = Levels(
            logIntervalSeconds: configuration.levels.logIntervalSeconds,
            silenceDbfs: configuration.levels.silenceDBFS,
            silenceSeconds: configuration.levels.silenceSeconds
        )
        self.recordings = configuration.recordings.map { recording in
            Recording(
                name: recording.name,
                directory: recording.directory,
                segmentSeconds: recording.segmentSeconds,
                align: recording.align.rawValue,
                filename: recording.filename,
                timeZone: recording.timeZone.rawValue,
                syncSeconds: recording.syncSeconds,
                keepDays: recording.keepDays,
                maxBytes: recording.maxBytes
            )
        }
        self.control = Control(
            socket: configuration.control.socket, group: configuration.control.group,
            maxRecordings: configuration.control.maxRecordings)
        self.storage = Storage(root: configuration.storage.root, state: configuration.storage.state)
        self.metrics = Metrics(listen: configuration.metrics.listen)
        self.log = Log(level: configuration.log.level.rawValue)
    }
}
