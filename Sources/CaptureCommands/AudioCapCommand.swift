// The `audiocap` command line tool's root command.

import ArgumentParser
import CaptureCore

/// `audiocap`: the command line tool that goes with the `audiocapd` daemon. It holds no logic of its own; each
/// subcommand is a type in this module.
public struct AudioCapCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "audiocap",
        abstract: "Work with audiocapd, the daemon that records audio from a sound card into WAV segments.",
        discussion: """
            audiocapd runs ffmpeg to capture audio and writes one or more continuous recordings, cut into \
            WAV files of fixed length, as configured in /etc/audiocap/audiocap.toml. Recordings can also be \
            started and stopped on demand.

            The commands talk to audiocapd over its control socket, /run/audiocap/control.sock unless \
            --socket or $AUDIOCAP_SOCKET says otherwise. Using the socket takes membership of the socket's \
            group (`audiocap` by default, [control] group) or root.

            Global options, before or after the command (`audiocap --json status` is `audiocap status --json`):
              --socket <path>   audiocapd's control socket (default: $AUDIOCAP_SOCKET)
              --json            print the daemon's reply as JSON, as the API writes it
              --utc             show times in UTC instead of local time ($TZ)

            --from and --to (start, clip) reach into the recent past, the look-back buffer each source \
            keeps in memory (look_back_seconds, 30 s by default): -30s, -2m, -1m30s, or now.

            --since and --until take journalctl's forms: now, today, yesterday, -1h, -30m, 5m, 2026-11-22, \
            "2026-11-22 01:00", "2026-11-22 01:00:00", local time unless a zone follows (Z, UTC, +01:00).

            Exit codes (sysexits):
              0   success
              64  usage error: unknown option, bad value (EX_USAGE)
              65  the daemon refused the request as invalid (HTTP 4xx) (EX_DATAERR)
              66  no such recording or source (HTTP 404) (EX_NOINPUT)
              69  audiocapd is not running or not reachable; only then (EX_UNAVAILABLE)
              70  the daemon failed internally (HTTP 5xx) (EX_SOFTWARE)
              75  conflict (HTTP 409: already running; a source without look-back) or busy (HTTP 503) (EX_TEMPFAIL)
              76  the daemon's reply could not be read; versions differ? (EX_PROTOCOL)
              77  permission denied on the socket (EX_NOPERM)
              78  check-config, reload: the configuration file is invalid (EX_CONFIG)

            Nothing to show is not an error: `levels` before the first audio says "no audio yet", `logs` \
            with no matching events says "-- No entries --"; both exit 0.

            Examples:
              audiocap status
              audiocap levels --follow
              audiocap start interview --for 2h --segment 10m
              audiocap start interview --from -30s
              audiocap clip door --from -2m --to -10s
              audiocap triggers
              audiocap stop interview
              audiocap segments night --since 1h
              audiocap logs --follow --level warning --since today
              audiocap --socket /tmp/test.sock status
              audiocap uploads
              audiocap reload
              audiocap check-config /etc/audiocap/audiocap.toml
            """,
        version: AudioCapVersion.string,
        subcommands: [
            StatusCommand.self,
            StartCommand.self,
            StopCommand.self,
            ClipCommand.self,
            TriggersCommand.self,
            RecordingsCommand.self,
            SegmentsCommand.self,
            LevelsCommand.self,
            LogsCommand.self,
            UploadsCommand.self,
            ReloadCommand.self,
            CheckConfigCommand.self,
            VersionCommand.self,
        ]
    )

    public init() {}

    /// Runs the command line: moves global options given before the subcommand after it, then parses and runs.
    public static func main(arguments: [String]) async {
        await main(Self.arguments(arguments))
    }

    /// `arguments` (without the program name) with the global options (`--socket PATH`, `--socket=PATH`,
    /// `--json`, `--utc`) that stand before the subcommand moved to just after it, so `audiocap --json status`
    /// parses as `audiocap status --json`. Anything else, and every argument after `--`, is left as it is;
    /// without a subcommand nothing moves (`audiocap --help`).
    static func arguments(_ arguments: [String]) -> [String] {
        var moved: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = String(argument.split(separator: "=", maxSplits: 1).first ?? "")
            guard argument.hasPrefix("--"), argument != "--", let takesValue = GlobalOptions.names[name] else { break }
            moved.append(argument)
            if takesValue, !argument.contains("=") {
                guard index + 1 < arguments.count else { return arguments }
                moved.append(arguments[index + 1])
                index += 1
            }
            index += 1
        }
        guard !moved.isEmpty, index < arguments.count, !arguments[index].hasPrefix("-") else { return arguments }
        return [arguments[index]] + moved + arguments[(index + 1)...]
    }
}
