// The `audiocap` command line tool's root command.

import ArgumentParser
import CaptureCore

/// `audiocap`: the command line tool that goes with the `audiocapd` daemon. It holds no logic of its own; each
/// subcommand is a type in this module.
public struct AudioCapCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "audiocap",
        abstract: "Work with audiocapd, the daemon that records audio from a sound card into WAV segments.",
        discussion: """
            audiocapd runs ffmpeg to capture audio and writes one or more continuous recordings, cut into \
            WAV files of fixed length, as configured in /etc/audiocap/audiocap.toml.

            Examples:
              audiocap check-config
              audiocap check-config config/demo.toml
              audiocap check-config --json /etc/audiocap/audiocap.toml
            """,
        version: AudioCapVersion.string,
        subcommands: [CheckConfigCommand.self]
    )

    public init() {}
}
