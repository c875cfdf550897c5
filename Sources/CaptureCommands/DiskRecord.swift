// `--config` for the commands that read the record on disk, and where a recording's files are.

import ArgumentParser
import CaptureClient
import CaptureCore
import CaptureProtocol
import Foundation

/// `--config PATH`: the daemon's configuration file, read for `[storage]` and the recordings'
/// directories when the record is read from disk (the daemon stopped, or asked for with `--config`).
public struct DiskRecordOptions: ParsableArguments, Sendable {
    @Option(
        help: ArgumentHelp(
            "The daemon's configuration file, for the paths of the files on disk (default \(ConfigurationLoader.defaultPath)); given, the files are read even while audiocapd runs.",
            valueName: "path"))
    public var config: String?

    public init() {}

    /// The configuration path to read.
    var path: String { config ?? ConfigurationLoader.defaultPath }

    /// The configuration, or exit 78 with its problems on standard error and `fallback` (the reason the
    /// daemon could not be asked) before them.
    func load(after fallback: ClientError? = nil) throws -> Configuration {
        do {
            return try ConfigurationLoader.load(path: path)
        } catch {
            if let fallback { Console.error(fallback.description) }
            Console.error(
                "cannot read the record on disk without the configuration: \(error.description). Pass the daemon's file with --config PATH."
            )
            throw ExitCode(ConfigurationError.exitCode)
        }
    }
}

/// Where a recording's files are: its directory and the template that names them (nil when not known:
/// an on-demand recording that is not running).
struct RecordingLocation: Sendable {
    var directory: String
    var template: FilenameTemplate?

    /// A continuous recording of `configuration`, or an on-demand one at its default place
    /// (`[storage] root/NAME`, every WAV file there).
    init(name: String, configuration: Configuration) {
        if let recording = configuration.recordings.first(where: { $0.name == name }) {
            directory = recording.directory
            template = FilenameTemplate(recording.filename, timeZone: recording.timeZone)
        } else {
            directory = configuration.storage.root + "/" + name
            template = nil
        }
    }

    init(directory: String, template: FilenameTemplate?) {
        self.directory = directory
        self.template = template
    }

    /// A recording the daemon reports.
    init(_ recording: RecordingResponse) {
        directory = recording.directory
        template = FilenameTemplate(recording.filename)
    }
}
