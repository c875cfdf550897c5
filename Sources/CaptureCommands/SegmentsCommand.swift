// `audiocap segments`: the closed files of a recording.

import ArgumentParser
import CaptureClient
import CaptureCore
import CaptureProtocol
import Foundation

/// `audiocap segments NAME [--since WHEN] [--until WHEN] [--json]`.
public struct SegmentsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "segments",
        abstract: "List the files a recording has closed.",
        discussion: """
            Lists the closed files of a recording, oldest first: start time (local, or UTC with --utc), \
            duration, frames, the \
            loudest peak over the channels, frames dropped and ffmpeg restarts inside the file, and the path. \
            The file being written is not listed; `audiocap recordings` shows it.

            --since and --until (files that start at or before) take journalctl's forms: now, today, \
            yesterday, -1h, -30m, 5m, 2026-11-22, "2026-11-22 01:00[:00]" (local time, or with a zone: Z, \
            UTC, +01:00) or epoch seconds.

            Exits with 66 when there is no recording of that name.

            Examples:
              audiocap segments night
              audiocap segments night --since 1h
              audiocap segments night --since yesterday --until today
              audiocap segments night --since 2026-11-22T01:00:00Z --json | jq -r '.segments[].path'
            """
    )

    @Argument(help: "Name of the recording.")
    public var name: String

    @Option(
        parsing: .unconditional,  // `--since -1h`: the value may start with a dash
        help: ArgumentHelp("Only files that start at or after this time.", valueName: "when"),
        transform: SinceArgument.parse)
    public var since: SinceArgument?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Only files that start at or before this time.", valueName: "when"),
        transform: TimeArgument.parse)
    public var until: TimeArgument?

    @OptionGroup public var options: GlobalOptions

    public init() {}

    public func validate() throws {
        guard InputValidation.isValidName(name) else {
            throw ValidationError("\(InputValidation.printable(name)) is not a valid recording name; `audiocap recordings` lists them")
        }
    }

    public func run() async throws {
        let name = self.name
        let now = Date()
        let since = self.since?.date(now: now)
        var reply = try await options.withClient { try await $0.segments(name: name, since: since) }
        if let until = self.until?.date(now: now) {
            reply.segments.removeAll { $0.startTime > until.timeIntervalSince1970 }
        }
        if options.json {
            Console.line(try GlobalOptions.json(reply))
        } else {
            Console.line(Self.render(reply, times: options.times))
        }
    }

    /// The table `audiocap segments` prints.
    static func render(_ reply: SegmentsResponse, times: TimeStyle = .utc) -> String {
        guard !reply.segments.isEmpty else { return "\(reply.recording): no closed files" }
        var rows = [["START", "DURATION", "FRAMES", "PEAK", "DROPPED", "RESTARTS", "PATH"]]
        for segment in reply.segments {
            let peak = segment.peakDBFS.max().map { TextFormat.dBFS($0) + " dBFS" } ?? "-"
            rows.append([
                TextFormat.time(segment.startTime, times), TextFormat.duration(segment.durationSeconds),
                TextFormat.grouped(segment.frames), peak, TextFormat.grouped(segment.droppedFrames),
                String(segment.restarts), segment.path,
            ])
        }
        return TextFormat.table(rows)
    }
}
