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
            --socket or $AUDIOCAP_SOCKET says otherwise. Using the socket takes membership of the `audiocap` \
            group (or root). Every command takes --json to print the daemon's reply as JSON.

            Exit codes (sysexits):
              0   success
              64  usage error: unknown option, bad value (EX_USAGE)
              65  the daemon refused the request as invalid (HTTP 4xx) (EX_DATAERR)
              66  no such recording (HTTP 404) (EX_NOINPUT)
              69  audiocapd is not running or not reachable (EX_UNAVAILABLE)
              70  the daemon failed internally (HTTP 5xx) (EX_SOFTWARE)
              75  conflict, e.g. the recording is already running (HTTP 409) (EX_TEMPFAIL)
              76  the daemon's reply could not be read; versions differ? (EX_PROTOCOL)
              77  permission denied on the socket (EX_NOPERM)
              78  check-config: the configuration file is invalid (EX_CONFIG)

            Examples:
              audiocap status
              audiocap levels --follow
              audiocap start interview --for 2h --segment 10m
              audiocap stop interview
              audiocap segments night --since 1h
              audiocap logs --follow --level warning
              audiocap check-config /etc/audiocap/audiocap.toml
            """,
        version: AudioCapVersion.string,
        subcommands: [
            StatusCommand.self,
            StartCommand.self,
            StopCommand.self,
            RecordingsCommand.self,
            SegmentsCommand.self,
            LevelsCommand.self,
            LogsCommand.self,
            CheckConfigCommand.self,
        ]
    )

    public init() {}
}
