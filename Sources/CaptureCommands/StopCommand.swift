// `audiocap stop`: stops a recording and lists the files it wrote.

import ArgumentParser
import CaptureClient
import CaptureCore
import CaptureProtocol
import Foundation

/// `audiocap stop NAME [--json]`.
public struct StopCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop a recording and list the files it wrote.",
        discussion: """
            Closes the current file of the recording (its header is completed, so it is a valid WAV file) \
            and prints every file the recording wrote: path, duration and frames. A recording from the \
            configuration file starts again when audiocapd restarts; an on-demand one does not.

            With --json prints the daemon's reply: the recording as it ended and its files.

            Exits with 66 when there is no recording of that name.

            Examples:
              audiocap stop interview
              audiocap stop interview --json | jq -r '.files[].path'
            """
    )

    @Argument(help: "Name of the recording.")
    public var name: String

    @OptionGroup public var options: GlobalOptions

    public init() {}

    public func validate() throws {
        try RecordingNameArgument.validate(name)
    }

    public func run() async throws {
        let name = self.name
        let reply = try await options.withClient { try await $0.stop(name: name) }
        if options.json {
            Console.line(try GlobalOptions.json(reply))
        } else {
            Console.line(Self.render(reply))
        }
    }

    /// What `audiocap stop` prints: a summary line and one line per file.
    static func render(_ reply: StopRecordingResponse) -> String {
        let recording = reply.recording
        let total = reply.files.reduce(0.0) { $0 + $1.durationSeconds }
        var text =
            "stopped \(recording.name): \(TextFormat.count(reply.files.count, "file")), "
            + "\(TextFormat.duration(total)) of audio"
        if recording.droppedFrames > 0 {
            text += ", \(TextFormat.grouped(recording.droppedFrames)) frames dropped"
        }
        guard !reply.files.isEmpty else { return text }
        var rows = [["PATH", "DURATION", "FRAMES"]]
        for file in reply.files {
            rows.append([file.path, TextFormat.duration(file.durationSeconds), TextFormat.grouped(file.frames)])
        }
        return text + "\n" + TextFormat.table(rows)
    }
}
