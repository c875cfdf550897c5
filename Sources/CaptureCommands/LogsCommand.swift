// `audiocap logs`: the daemon's events, past and (with --follow) as they happen.

import ArgumentParser
import CaptureClient
import CaptureCore
import CaptureProtocol
import Foundation

/// `audiocap logs [-f] [--since WHEN] [--until WHEN] [--level L] [--recording NAME] [--source NAME] [--limit N] [--config PATH] [--json]`.
///
/// Asks the daemon when it runs (it keeps the same events, loaded from the log at start); reads
/// `events.jsonl` and its rotated files under `[storage] state` when it does not, or when `--config` is
/// given.
public struct LogsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Show the daemon's events: segments closed, silence, ffmpeg restarts, errors.",
        discussion: """
            Prints the events audiocapd keeps in memory, oldest first, one per line:
              2026-11-22T02:02:03+01:00 WARNING silence.began source=mic recording=night Silence began channel=1 dbfs=-71.2
            source= names the capture source the event is about (its ffmpeg, its levels, a recording it \
            feeds); events of the daemon itself have none.
            Times are local ($TZ), or UTC with --utc. With --json each event is one JSON object per line, \
            as the API writes it. When no event matches, says "-- No entries --" (on standard error with \
            --json) and exits 0; --recording with a name the daemon does not know exits 66.

            With audiocapd stopped (or with --config PATH) the event log on disk is read: events.jsonl and \
            its rotated files under [storage] state of the configuration file (--config, default \
            /etc/audiocap/audiocap.toml), every run's events; --json then prints the lines as written.

            --since and --until take journalctl's forms: now, today, yesterday, -1h, -30m, 5m, 2026-11-22, \
            "2026-11-22 01:00[:00]" (local time, or with a zone: Z, UTC, +01:00) or epoch seconds. \
            --level shows that level and the more severe ones: debug, info, notice, warning, error.

            With --follow, prints the matching recent events and then new ones as they happen, until \
            Ctrl-C (exit 0). When audiocapd restarts it says so on standard error, waits for it to come \
            back and carries on. The full log, with ffmpeg's own output, is in the journal: \
            `journalctl -u audiocapd`.

            Examples:
              audiocap logs
              audiocap logs --since 1h --level warning
              audiocap logs --since yesterday --until today
              audiocap logs --since "2026-11-22 01:00" --utc
              audiocap logs -f --recording night
              audiocap logs --source hydrophone --level warning
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
        parsing: .unconditional,  // `--since -1h`: the value may start with a dash
        help: ArgumentHelp("Only events at or after this time.", valueName: "when"),
        transform: SinceArgument.parse)
    public var since: SinceArgument?

    @Option(
        parsing: .unconditional,
        help: ArgumentHelp("Only events at or before this time.", valueName: "when"),
        transform: TimeArgument.parse)
    public var until: TimeArgument?

    @Option(help: "Only events at this level or more severe.")
    public var level: Level?

    @Option(help: ArgumentHelp("Only events of this recording.", valueName: "name"))
    public var recording: String?

    @Option(
        help: ArgumentHelp(
            "Only events about this source: its ffmpeg, its levels, the recordings it feeds.", valueName: "name"))
    public var source: String?

    @Option(help: ArgumentHelp("At most this many events (the newest ones).", valueName: "n"))
    public var limit: Int?

    @OptionGroup public var disk: DiskRecordOptions

    @OptionGroup public var options: GlobalOptions

    public init() {}

    public func validate() throws {
        if follow, disk.config != nil {
            throw ValidationError(
                "--follow shows events as the running daemon emits them; it cannot be used with --config")
        }
        if let recording { try RecordingNameArgument.validate(recording) }
        if let source { try SourceNameArgument.validate(source) }
        if let limit, limit < 1 {
            throw ValidationError("--limit must be at least 1")
        }
        if until != nil, follow {
            throw ValidationError("--until cannot be combined with --follow")
        }
    }

    public func run() async throws {
        let now = Date()
        let since = self.since?.date(now: now)
        let until = self.until?.date(now: now)
        let level = self.level?.rawValue
        let recording = self.recording
        let source = self.source
        let limit = self.limit
        let options = self.options
        if follow {
            let progress = FollowAcrossRestarts.Progress()
            try await Interruption.runUntilInterrupted {
                let times = options.times
                try await options.withClient { _ in
                    try await FollowAcrossRestarts.run(socketPath: options.socket, progress: progress) {
                        client, resumed in
                        // A resumed stream starts after the last event shown (or, with none, when the command
                        // started: everything before was already looked at).
                        let last = progress.lastTime
                        let resumeFrom = (last ?? now.timeIntervalSince1970).rounded(.down)
                        let resumeSince = resumed ? Date(timeIntervalSince1970: resumeFrom) : since
                        try await client.followEvents(
                            since: resumeSince, level: level, recording: recording,
                            limit: resumed ? 100_000 : limit, source: source
                        ) { event in
                            if resumed, let last, event.value.time <= last { return }
                            progress.saw(time: event.value.time)
                            Console.line(options.json ? event.json : Self.render(event.value, times: times))
                        }
                    }
                }
            }
            return
        }
        if disk.config != nil {
            try printFromDisk(since: since, until: until, after: nil)
            return
        }
        let reply: EventsResponse
        do throws(ClientError) {
            // --until filters here (the API has no such parameter), so --limit counts after it.
            reply = try await options.client.events(
                since: since, level: level, recording: recording, limit: until == nil ? limit : 100_000,
                source: source)
        } catch {
            guard error.code == .unavailable else {
                Console.error(error.description)
                throw ExitCode(error.exitCode)
            }
            try printFromDisk(since: since, until: until, after: error)
            return
        }
        var events = reply.events
        if let until {
            events = Array(events.filter { $0.time <= until.timeIntervalSince1970 }.suffix(limit ?? 100))
        }
        guard !events.isEmpty else {
            if let recording {
                // An unknown name matches nothing; say that rather than "no entries" (exit 66, like segments).
                _ = try await options.withClient { try await $0.segments(name: recording) }
            }
            if options.json { Console.error("-- No entries --") } else { Console.line("-- No entries --") }
            return
        }
        if options.json {
            let encoder = ControlAPI.encoder()
            let lines = try events.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
            Console.line(lines.joined(separator: "\n"))
        } else {
            let style = Console.outputStyle
            let times = options.times
            Console.line(events.map { Self.render($0, style: style, times: times) }.joined(separator: "\n"))
        }
    }

    /// Prints the matching events of the log on disk; `after` is why the daemon could not be asked.
    private func printFromDisk(since: Date?, until: Date?, after failure: ClientError?) throws {
        let configuration = try disk.load(after: failure)
        var entries = EventLogFile.read(
            stateDirectory: configuration.storage.state, since: since?.timeIntervalSince1970, level: level?.rawValue,
            recording: recording, limit: until == nil ? limit : nil, source: source)
        if let until {
            entries = Array(entries.filter { $0.event.time <= until.timeIntervalSince1970 }.suffix(limit ?? 100))
        }
        guard !entries.isEmpty else {
            if options.json { Console.error("-- No entries --") } else { Console.line("-- No entries --") }
            return
        }
        if options.json {
            Console.line(entries.map(\.line).joined(separator: "\n"))
        } else {
            let style = Console.outputStyle
            let times = options.times
            Console.line(entries.map { Self.render($0.event, style: style, times: times) }.joined(separator: "\n"))
        }
    }

    /// One event as one line: `TIME LEVEL kind source=NAME recording=NAME message key=value ...`, fields sorted by key and
    /// quoted when they contain spaces, quotes or `=`.
    static func render(_ event: EventResponse, style: Style = .plain, times: TimeStyle = .utc) -> String {
        var parts = [TextFormat.time(event.time, times)]
        let level = event.level.uppercased()
        switch event.level {
        case "error": parts.append(style.red(level))
        case "warning": parts.append(style.yellow(level))
        case "debug": parts.append(style.dim(level))
        default: parts.append(level)
        }
        parts.append(event.kind)
        if let source = event.source { parts.append("source=\(quoted(source))") }
        if let recording = event.recording { parts.append("recording=\(quoted(recording))") }
        if !event.message.isEmpty { parts.append(event.message) }
        for key in event.fields.keys.sorted() {
            let text: String
            switch event.fields[key] {
            case .double(let value): text = TextFormat.field(value, key: key)
            case let value?: text = value.description
            case nil: continue
            }
            parts.append("\(key)=\(quoted(text))")
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
