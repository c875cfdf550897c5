// `audiocap clip`: writes one file of audio already captured, from a source's look-back buffer.

import ArgumentParser
import CaptureClient
import CaptureCore
import CaptureProtocol
import Foundation

/// `audiocap clip NAME --from -2m [--to -10s|now] [--source S] [--directory DIR] [--filename T]
/// [--format wav|flac] [--json]`.
public struct ClipCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "clip",
        abstract: "Write one file of audio already captured, from the look-back buffer, and print its path.",
        discussion: """
            Takes the span from --from to --to (both before now) out of the source's look-back buffer, the \
            newest look_back_seconds of audio audiocapd keeps in memory (30 s by default, set per [source]), \
            writes it as one file and prints the file's path. Its sidecar PATH.json lists its gaps, from \
            the same ledger as the recordings'; a clip with gaps says so on standard error.

            Times are written with a leading dash, back from the moment the daemon gets the request: -30s, \
            -2m, -1m30s, -90 (seconds); --to also takes `now`, the default. When the buffer holds less than \
            --from asks for, the clip starts at its oldest frame and a note on standard error says how much \
            it holds.

            NAME names the file ({name} in --filename) and its default folder, ROOT/NAME under the \
            daemon's [storage] root; --directory must lie under that root. --filename is a strftime \
            template with {name}, its time fields the clip's first frame (default: as for on-demand \
            recordings). \
            --source names the [[source]] (needed when audiocapd has several).

            With --json prints the daemon's reply: path, frames, duration_seconds, first_frame, \
            start_time, from_seconds and to_seconds as written (from_seconds later than asked when the \
            buffer held less), gaps, gap_frames and message.

            Exits with 65 when the daemon refuses the span or an option, 66 when it has no such source, \
            and 75 when that source keeps no look-back (look_back_seconds = 0).

            Examples:
              audiocap clip door --from -2m
              audiocap clip door --from -2m --to -10s
              audiocap clip whales --source hydrophone --from -5m --format flac
              audiocap clip take-3 --from -1m30s --directory takes --filename '{name}.wav'
              ffplay "$(audiocap clip check --from -10s)"
              audiocap clip door --from -1m --json | jq -r .path
            """
    )

    @Argument(help: "Name of the clip: letters, digits, '.', '_' and '-', at most 64.")
    public var name: String

    @Option(
        parsing: .unconditional,  // `--from -2m`: the value starts with a dash
        help: ArgumentHelp("Where the clip starts, before now: -30s, -2m, -1m30s.", valueName: "-duration"),
        transform: PastOffset.parse)
    public var from: PastOffset

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Where the clip ends: -10s, or now (default).", valueName: "-duration|now"),
        transform: PastOffset.parse)
    public var to: PastOffset = .now

    @Option(
        help: ArgumentHelp(
            "The source to take it from; needed when audiocapd has several (default: its only one).",
            valueName: "name"))
    public var source: String?

    @Option(
        help: ArgumentHelp(
            "Where the file goes; must lie under the daemon's storage root (default: ROOT/NAME).",
            valueName: "dir"))
    public var directory: String?

    @Option(
        help: ArgumentHelp(
            "File name template, relative to the directory: strftime fields plus {name}.", valueName: "template"))
    public var filename: String?

    @Option(
        help: ArgumentHelp(
            "File format: wav (default) or flac (lossless, about half the size; not for an f32 source).",
            valueName: "wav|flac"))
    public var format: StartCommand.FileFormat?

    @OptionGroup public var options: GlobalOptions

    public init() {}

    public func validate() throws {
        guard InputValidation.isValidName(name) else {
            throw ValidationError(
                "\(InputValidation.printable(name)) is not a valid clip name: use 1 to 64 letters, digits, '.', '_' "
                    + "or '-' (not '.' alone, no '..')")
        }
        if let source { try SourceNameArgument.validate(source) }
        guard from != .now else {
            throw ValidationError("--from must lie before now, e.g. --from -30s")
        }
        guard from.seconds < to.seconds else {
            throw ValidationError(
                "--from must lie before --to (\(Self.offset(from)) is not before \(Self.offset(to))), "
                    + "e.g. --from -2m --to -10s")
        }
    }

    var request: ClipRequest {
        ClipRequest(
            name: name, fromSeconds: from.seconds, toSeconds: to == .now ? nil : to.seconds, source: source,
            directory: directory, filename: filename, format: format?.rawValue)
    }

    public func run() async throws {
        let request = self.request
        let clip = try await options.withClient { try await $0.clip(request) }
        if options.json {
            Console.line(try GlobalOptions.json(clip))
            return
        }
        let output = Self.render(clip)
        Console.line(output.path)
        for note in output.notes { Console.error(note) }
    }

    /// What `audiocap clip` prints: the path for standard output, and notes for standard error (the buffer
    /// held less than asked; the clip has gaps).
    static func render(_ clip: ClipResponse) -> (path: String, notes: [String]) {
        var notes: [String] = []
        if let message = clip.message { notes.append("note: " + message) }
        if clip.gaps > 0 {
            let seconds = clip.durationSeconds * Double(clip.gapFrames) / Double(max(1, clip.frames))
            notes.append(
                "note: the clip has \(TextFormat.count(clip.gaps, "gap")) (\(TextFormat.grouped(clip.gapFrames)) frames, "
                    + "about \(TextFormat.duration(seconds))); \(clip.path).json lists them")
        }
        return (clip.path, notes)
    }

    /// `-2m`, `now`: an offset as the user writes it.
    static func offset(_ offset: PastOffset) -> String {
        switch offset {
        case .now: return "now"
        case .ago(let seconds): return "-\(seconds)s"
        }
    }
}
