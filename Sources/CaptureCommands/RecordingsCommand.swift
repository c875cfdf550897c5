// `audiocap recordings`: the recordings the daemon runs, as a table.

import ArgumentParser
import CaptureClient
import CaptureProtocol
import Foundation

/// `audiocap recordings [--json]`.
public struct RecordingsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "recordings",
        abstract: "List the recordings.",
        discussion: """
            Lists the recordings from the configuration file (kind `continuous`) and those started with \
            `audiocap start` (kind `on-demand`): state, length of the files, how they are cut, the file \
            being written, files closed so far and frames dropped. A recording is `blocked` while it cannot \
            write (disk full, directory gone); it retries and its last error is shown.

            Examples:
              audiocap recordings
              audiocap recordings --json | jq -r '.recordings[] | select(.state != "recording") | .name'
            """
    )

    @OptionGroup public var options: GlobalOptions

    public init() {}

    public func run() async throws {
        let reply = try await options.withClient { try await $0.recordings() }
        if options.json {
            Console.line(try GlobalOptions.json(reply))
        } else {
            Console.line(
                Self.render(reply.recordings, now: Date(), style: Console.outputStyle, times: options.times))
        }
    }

    /// The table `audiocap recordings` prints.
    static func render(
        _ recordings: [RecordingResponse], now: Date, style: Style = .plain, times: TimeStyle = .utc
    ) -> String {
        guard !recordings.isEmpty else {
            return "no recordings; `audiocap start NAME` starts one"
        }
        var rows = [["NAME", "KIND", "STATE", "SEGMENT", "ALIGN", "STARTED", "CURRENT FILE", "CLOSED", "DROPPED"]]
        var notes: [String] = []
        for recording in recordings {
            var started = TextFormat.time(recording.startedAt, times)
            if let stopsAt = recording.stopsAt {
                started += " (stops in \(TextFormat.duration(stopsAt - now.timeIntervalSince1970)))"
            }
            rows.append([
                recording.name, recording.kind, style.state(recording.state),
                TextFormat.duration(Double(recording.segmentSeconds)), recording.align, started,
                recording.currentFile ?? "-", String(recording.segmentsClosed),
                TextFormat.grouped(recording.droppedFrames),
            ])
            if let error = recording.lastError {
                notes.append("\(recording.name): \(style.red(error))")
            }
        }
        return ([TextFormat.table(rows)] + notes).joined(separator: "\n")
    }
}
