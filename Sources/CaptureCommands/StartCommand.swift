// `audiocap start`: starts an on-demand recording.

import ArgumentParser
import CaptureClient
import CaptureCore
import CaptureProtocol
import Foundation

/// `audiocap start NAME [--from -30s] [--source S] [--segment D] [--for D] [--filename T] [--directory DIR]
/// [--align clock|samples] [--format wav|flac]`.
public struct StartCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start an on-demand recording, or a stopped recording of the configuration file.",
        discussion: """
            Starts a recording next to the ones in the configuration file, from the audio of one of the \
            daemon's sources (see --source). It runs \
            until `audiocap stop NAME`, until the time given with --for has passed, or until the daemon \
            stops; on-demand recordings do not survive a restart of audiocapd.

            NAME of a configured recording that was stopped starts it again with its configured settings \
            (its files numbered on after the last); it takes no options (change the file and run \
            `audiocap reload` instead; exit 65 otherwise).

            --source names the [[source]] to record from (`audiocap status` lists them). It may be left \
            out when audiocapd has one source; with several it is needed. Without it there, or with a \
            name the daemon does not have, the daemon refuses the request (exit 65).

            --from starts the recording in the past: its first file begins that long before the request, \
            taken from the source's look-back buffer (look_back_seconds in [source], 30 s by default), and \
            the rest follows live with no seam. Write it with a leading dash: -30s, -2m, -1m30s; `now` (the \
            default) starts at the request. When the buffer holds less than asked, the recording starts at \
            its oldest frame and says so. A source without look-back (look_back_seconds = 0) is refused \
            (exit 75).

            Durations are written as 90s, 10m, 2h, 1h30m, 1d or 45 (seconds).

            Exits with 75 when a recording of that name is already running (or [control] max_recordings \
            on-demand recordings are), and 65 when the daemon refuses \
            an option (for example a directory outside its storage root).

            Examples:
              audiocap start interview
              audiocap start interview --from -30s   # begin 30 seconds ago
              audiocap start night          # a configured recording, stopped earlier
              audiocap start interview --for 2h --segment 10m
              audiocap start whales --source hydrophone --for 30m
              audiocap start session-3 --directory sessions/3 --filename '%Y%m%d-%H%M%S-{seq}.wav'
              audiocap start test --segment 30s --align samples --json
              audiocap start birds --format flac --for 1h
            """
    )

    /// How segment boundaries are placed.
    public enum Alignment: String, ExpressibleByArgument, CaseIterable, Sendable {
        case clock, samples
    }

    @Argument(help: "Name of the recording: letters, digits, '.', '_' and '-', at most 64.")
    public var name: String

    @Option(
        help: ArgumentHelp(
            "The source to record from; needed when audiocapd has several (default: its only one).",
            valueName: "name"))
    public var source: String?

    @Option(
        parsing: .unconditional,  // `--from -30s`: the value starts with a dash
        help: ArgumentHelp(
            "Start this long before now, from the look-back buffer: -30s, -2m, -1m30s (default: now).",
            valueName: "-duration"),
        transform: PastOffset.parse)
    public var from: PastOffset?

    @Option(
        name: .customLong("segment"),
        help: ArgumentHelp("Length of each file (default: the daemon's, usually 60s).", valueName: "duration"),
        transform: DurationParser.seconds)
    public var segmentSeconds: Int?

    @Option(
        name: .customLong("for"),
        help: ArgumentHelp("Stop by itself after this long (default: run until stopped).", valueName: "duration"),
        transform: DurationParser.seconds)
    public var durationSeconds: Int?

    @Option(
        help: ArgumentHelp(
            "File name template, relative to the directory: strftime fields plus {name} and {seq}.",
            valueName: "template"))
    public var filename: String?

    @Option(
        help: ArgumentHelp(
            "Where the files go; must lie under the daemon's storage root (default: ROOT/NAME).",
            valueName: "dir"))
    public var directory: String?

    @Option(
        help: ArgumentHelp(
            "Cut files on the wall clock (clock: at 00, 01, ... minutes) or every N samples from the start "
                + "(samples)."))
    public var align: Alignment?

    @Option(
        help: ArgumentHelp(
            "File format: wav (default) or flac (lossless, about half the size; not for an f32 source).",
            valueName: "wav|flac"))
    public var format: FileFormat?

    /// The files' format.
    public enum FileFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
        case wav, flac
    }

    @OptionGroup public var options: GlobalOptions

    public init() {}

    public func validate() throws {
        guard InputValidation.isValidName(name) else {
            throw ValidationError(
                "\(InputValidation.printable(name)) is not a valid recording name: use 1 to 64 letters, digits, '.', '_' or '-' "
                    + "(not '.' alone, no '..')")
        }
        if let source { try SourceNameArgument.validate(source) }
        if let segmentSeconds, segmentSeconds < 1 {
            throw ValidationError("--segment must be at least 1s")
        }
        if let durationSeconds, durationSeconds < 1 {
            throw ValidationError("--for must be at least 1s")
        }
    }

    var request: StartRecordingRequest {
        StartRecordingRequest(
            name: name, segmentSeconds: segmentSeconds, filename: filename,
            durationSeconds: durationSeconds.map(Double.init), directory: directory, align: align?.rawValue,
            source: source, format: format?.rawValue, fromSeconds: from.flatMap { $0 == .now ? nil : $0.seconds })
    }

    public func run() async throws {
        let request = self.request
        let recording = try await options.withClient { try await $0.start(request) }
        if options.json {
            Console.line(try GlobalOptions.json(recording))
        } else {
            Console.line(Self.render(recording, now: Date(), times: options.times))
        }
    }

    /// What `audiocap start` prints for the started recording.
    static func render(_ recording: RecordingResponse, now: Date, times: TimeStyle = .utc) -> String {
        let alignment = recording.align == "samples" ? "by sample count" : "on the clock"
        let configured = recording.kind == "continuous" ? " with its configured settings" : ""
        let from = recording.source.map { " from \($0)" } ?? ""
        var lines = [
            "started \(recording.name)\(configured)\(from): "
                + "\(TextFormat.duration(Double(recording.segmentSeconds))) files, cut \(alignment)"
        ]
        if let fromSeconds = recording.fromSeconds, fromSeconds < 0 {
            lines.append("  began \(TextFormat.duration(-fromSeconds)) before the request, from the look-back buffer")
        }
        if let message = recording.message { lines.append("  note: \(message)") }
        lines.append("  writing to \(join(recording.directory, recording.filename))")
        if let current = recording.currentFile { lines.append("  current file \(current)") }
        if let stopsAt = recording.stopsAt {
            lines.append(
                "  stops at \(TextFormat.time(stopsAt, times)) (in \(TextFormat.duration(stopsAt - now.timeIntervalSince1970)))"
            )
        } else {
            lines.append("  runs until `audiocap stop \(recording.name)`")
        }
        return lines.joined(separator: "\n")
    }

    private static func join(_ directory: String, _ filename: String) -> String {
        directory.hasSuffix("/") ? directory + filename : directory + "/" + filename
    }
}
