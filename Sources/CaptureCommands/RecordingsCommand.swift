// `audiocap recordings`: the recordings the daemon runs, as a table.

import ArgumentParser
import CaptureClient
import CaptureCore
import CaptureProtocol
import Foundation

/// `audiocap recordings [--config PATH] [--json]`.
public struct RecordingsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "recordings",
        abstract: "List the recordings.",
        discussion: """
            Lists the recordings from the configuration file (kind `continuous`) and those started with \
            `audiocap start` (kind `on-demand`): state, length of the files, how they are cut, the file \
            being written, files closed so far and frames dropped. A recording is `blocked` while it cannot \
            write (disk full, directory gone); it retries and its last error is shown. DISK is what the \
            recording's files take on disk, every run's (`disk_bytes` in --json). SOURCE is the [[source]] \
            it records from, shown when a recording records from a source other than `main` (the one \
            source of a single [source] table).

            With audiocapd stopped, lists the recordings of the configuration file (--config, default \
            /etc/audiocap/audiocap.toml) with their disk use.

            Examples:
              audiocap recordings
              audiocap recordings --json | jq -r '.recordings[] | select(.state != "recording") | .name'
            """
    )

    @OptionGroup public var disk: DiskRecordOptions

    @OptionGroup public var options: GlobalOptions

    public init() {}

    public func run() async throws {
        var recordings: [RecordingResponse] = []
        var running = true
        do throws(ClientError) {
            recordings = try await options.client.recordings().recordings
        } catch {
            guard error.code == .unavailable else {
                Console.error(error.description)
                throw ExitCode(error.exitCode)
            }
            // The daemon is stopped: the configured recordings, as the files show them.
            recordings = Self.configured(try disk.load(after: error))
            running = false
        }
        var use: [String: UInt64] = [:]
        for recording in recordings {
            let location = RecordingLocation(recording)
            use[recording.name] = RecordingArchive.diskUse(
                name: recording.name, directory: location.directory, template: location.template)
        }
        if options.json {
            Console.line(try Self.json(recordings, diskBytes: use, daemonRunning: running))
        } else {
            if !running { Console.line("audiocapd is not running; the recordings of \(disk.path):") }
            Console.line(
                Self.render(recordings, now: Date(), style: Console.outputStyle, diskBytes: use, times: options.times))
        }
    }

    /// The continuous recordings of a configuration, stopped.
    static func configured(_ configuration: Configuration) -> [RecordingResponse] {
        configuration.recordings.map { recording in
            RecordingResponse(
                name: recording.name, kind: "continuous", state: "stopped", directory: recording.directory,
                segmentSeconds: recording.segmentSeconds, align: recording.align.rawValue, filename: recording.filename,
                currentFile: nil, currentFileSeconds: 0, segmentsClosed: 0, framesWritten: 0, bytesWritten: 0,
                droppedFrames: 0, gaps: 0, gapFrames: 0, silenceFrames: 0, lastError: nil, startedAt: 0, stopsAt: nil,
                source: configuration.source(named: recording.source)?.name, format: recording.format.rawValue)
        }
    }

    /// Whether a table of `recordings` needs a SOURCE column: when one records from a source other than
    /// `main`, the only source of a single `[source]` table.
    static func showsSource(_ recordings: [RecordingResponse]) -> Bool {
        recordings.contains { $0.source != nil && $0.source != "main" }
    }

    /// `{"recordings": [...]}` as the API writes it, each recording with `disk_bytes`, and
    /// `daemon_running`.
    static func json(_ recordings: [RecordingResponse], diskBytes: [String: UInt64], daemonRunning: Bool) throws
        -> String
    {
        let data = try ControlAPI.encoder().encode(RecordingsResponse(recordings: recordings))
        guard var object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let list = object["recordings"] as? [[String: Any]]
        else { return String(decoding: data, as: UTF8.self) }
        object["recordings"] = list.map { item in
            var item = item
            if let name = item["name"] as? String { item["disk_bytes"] = NSNumber(value: diskBytes[name] ?? 0) }
            return item
        }
        object["daemon_running"] = daemonRunning
        let out = try JSONSerialization.data(
            withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: out, as: UTF8.self)
    }

    /// The table `audiocap recordings` prints.
    static func render(
        _ recordings: [RecordingResponse], now: Date, style: Style = .plain, diskBytes: [String: UInt64]? = nil,
        times: TimeStyle = .utc, showSource: Bool? = nil
    ) -> String {
        guard !recordings.isEmpty else {
            return "no recordings; `audiocap start NAME` starts one"
        }
        let showSource = showSource ?? showsSource(recordings)
        // A FORMAT column once any recording writes something other than WAV.
        let showFormat = recordings.contains { ($0.format ?? "wav") != "wav" }
        var rows = [
            ["NAME"] + (showSource ? ["SOURCE"] : []) + [
                "KIND", "STATE", "SEGMENT", "ALIGN",
            ] + (showFormat ? ["FORMAT"] : []) + ["STARTED", "CURRENT FILE", "CLOSED", "DROPPED"]
        ]
        if diskBytes != nil { rows[0].append("DISK") }
        var notes: [String] = []
        for recording in recordings {
            var started = TextFormat.time(recording.startedAt, times)
            if let stopsAt = recording.stopsAt {
                started += " (stops in \(TextFormat.duration(stopsAt - now.timeIntervalSince1970)))"
            }
            var row = [recording.name] + (showSource ? [recording.source ?? "-"] : [])
            row += [
                recording.kind, style.state(recording.state),
                TextFormat.duration(Double(recording.segmentSeconds)), recording.align,
            ]
            if showFormat {
                row.append(
                    (recording.format ?? "wav")
                        + (recording.compressionRatio.map { " " + String(format: "%.1f:1", $0) } ?? ""))
            }
            row += [
                recording.startedAt > 0 ? started : "-", recording.currentFile ?? "-", String(recording.segmentsClosed),
                TextFormat.grouped(recording.droppedFrames),
            ]
            if let diskBytes { row.append(TextFormat.bytes(diskBytes[recording.name] ?? 0)) }
            rows.append(row)
            if let error = recording.lastError {
                notes.append("\(recording.name): \(style.red(error))")
            }
        }
        return ([TextFormat.table(rows)] + notes).joined(separator: "\n")
    }
}
