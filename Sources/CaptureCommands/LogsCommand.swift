// `audiocap logs`: the daemon's events, past and (with --follow) as they happen.

import ArgumentParser
import CaptureClient
import CaptureCore
import CaptureProtocol
import Foundation

/// `audiocap logs [-f] [--since WHEN] [--level L] [--recording NAME] [--limit N] [--config PATH] [--json]`.
///
/// Asks the daemon when it runs (it keeps the same events, loaded from the log at start); reads
/// `events.jsonl` and its rotated files under `[storage] state` when it does not, or when `--config` is
/// given.
public struct LogsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show the daemon's events: segments closed, silence, ffmpeg restarts, errors.",
        discussion: """
            Prints the daemon's events, oldest first, one per line:
              2026-11-22T01:02:03Z WARNING silence.began recording=night Silence began channel=1 dbfs=-71.2
            Times are UTC. With --json each event is one JSON object per line.

            With audiocapd stopped (or with --config PATH) the event log on disk is read: events.jsonl and \
            its rotated files under [storage] state of the configuration file (--config, default \
            /etc/audiocap/audiocap.toml), every run's events; --json then prints the lines as written.

            --since takes a duration back from now (90s, 10m, 2h, 1h30m, 1d), an ISO 8601 time \
            (2026-11-22T01:00:00Z) or epoch seconds (1795309200). --level shows that level and the more \
            severe ones: debug, info, notice, warning, error.

            With --follow, prints the matching recent events and then new ones as they happen, until \
            Ctrl-C (exit 0). The full log, with ffmpeg's own output, is in the journal: \
            `journalctl -u audiocapd`.

            Examples:
              audiocap logs
              audiocap logs --since 1h --level warning
              audiocap logs -f --recording night
              audiocap logs --since 2026-11-22T00:00:00Z --limit 100 --json | jq -r .kind
            """
    )

    /// Event levels, least severe first.
    public enum Level: String, ExpressibleByArgument, CaseIterable, Sendable {
        case debug, info, notice, warning, error
    }

    @Flag(name: [.short, .long], help: "Keep printing new events until Ctrl-C.")
    public var follow = false

    @Option(
        help: ArgumentHelp("Only events at or after this time.", valueName: "when"),
        transform: SinceArgument.parse)
    public var since: SinceArgument?

    @Option(help: "Only events at this level or more severe.")
    public var level: Level?

    @Option(help: ArgumentHelp("Only events of this recording.", valueName: "name"))
    public var recording: String?

    @Option(help: ArgumentHelp("At most this many events (the newest ones).", valueName: "n"))
    public var limit: Int?

    @OptionGroup public var disk: DiskRecordOptions

    @OptionGroup public var options: GlobalOptions

    public init() {}

    public func validate() throws {
        if follow, disk.config != nil {
            throw ValidationError("--follow shows events as the running daemon emits them; it cannot be used with --config")
        }
        if let recording, !InputValidation.isValidName(recording) {
            throw ValidationError("\(InputValidation.printable(recording)) is not a valid recording name; `audiocap recordings` lists them")
        }
        if let limit, limit < 1 {
            throw ValidationError("--limit must be at least 1")
        }
    }

    public func run() async throws {
        let since = self.since?.date(now: Date())
        let level = self.level?.rawValue
        let recording = self.recording
        let limit = self.limit
        let options = self.options
        if follow {
            try await Interruption.runUntilInterrupted {
                try await options.withClient { client in
                    try await client.followEvents(since: since, level: level, recording: recording, limit: limit) {
                        event in
                        Console.line(options.json ? event.json : Self.render(event.value))
                    }
                }
            }
            return
        }
        if disk.config != nil {
            try printFromDisk(since: since, after: nil)
            return
        }
        let reply: EventsResponse
        do throws(ClientError) {
            reply = try await options.client.events(since: since, level: level, recording: recording, limit: limit)
        } catch {
            guard error.code == .unavailable else {
                Console.error(error.description)
                throw ExitCode(error.exitCode)
            }
            try printFromDisk(since: since, after: error)
            return
        }
        guard !reply.events.isEmpty else { return }
        if options.json {
            let encoder = ControlAPI.encoder()
            let lines = try reply.events.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
            Console.line(lines.joined(separator: "\n"))
        } else {
            let style = Console.outputStyle
            Console.line(reply.events.map { Self.render($0, style: style) }.joined(separator: "\n"))
        }
    }

    /// Prints the matching events of the log on disk; `after` is why the daemon could not be asked.
    private func printFromDisk(since: Date?, after failure: ClientError?) throws {
        let configuration = try disk.load(after: failure)
        let entries = EventLogFile.read(
            stateDirectory: configuration.storage.state, since: since?.timeIntervalSince1970, level: level?.rawValue,
            recording: recording, limit: limit)
        guard !entries.isEmpty else { return }
        if options.json {
            Console.line(entries.map(\.line).joined(separator: "\n"))
        } else {
            let style = Console.outputStyle
            Console.line(entries.map { Self.render($0.event, style: style) }.joined(separator: "\n"))
        }
    }

    /// One event as one line: `TIME LEVEL kind recording=NAME message key=value ...`, fields sorted by key and
    /// quoted when they contain spaces, quotes or `=`.
    static func render(_ event: EventResponse, style: Style = .plain) -> String {
        var parts = [TextFormat.time(event.time)]
        let level = event.level.uppercased()
        switch event.level {
        case "error": parts.append(style.red(level))
        case "warning": parts.append(style.yellow(level))
        case "debug": parts.append(style.dim(level))
        default: parts.append(level)
        }
        parts.append(event.kind)
        if let recording = event.recording { parts.append("recording=\(quoted(recording))") }
        if !event.message.isEmpty { parts.append(event.message) }
        for key in event.fields.keys.sorted() {
            parts.append("\(key)=\(quoted(event.fields[key]!.description))")
        }
        return parts.joined(separator: " ")
    }

    private static func quoted(_ value: String) -> String {
        guard value.isEmpty || value.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\t" })
        else { return value }
        return "\"" + value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            + "\""
    }
}
