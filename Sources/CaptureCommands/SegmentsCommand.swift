// `audiocap segments`: the closed files of a recording.

import ArgumentParser
import CaptureClient
import CaptureCore
import CaptureProtocol
import Foundation

/// `audiocap segments NAME [--since WHEN] [--until WHEN] [--config PATH] [--json]`.
///
/// Reads the files: the directory and template come from the daemon when it runs and knows the
/// recording, from the configuration file otherwise (or when `--config` is given).
public struct SegmentsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "segments",
        abstract: "List the files of a recording, from the disk.",
        discussion: """
            Lists every file of a recording that is on disk, oldest first, whichever run of the daemon \
            wrote it: start and end time (local, or UTC with --utc), duration, frames, size, the gaps its sidecar records \
            (`?` for a file repaired after a crash, whose gaps are not known), the loudest peak, and the \
            path. A file being written, or left open by a crash, is marked `partial`. The times of a file \
            with no sidecar are estimated from its last write (marked `~`).

            Works with audiocapd stopped: the recording's directory and filename template are then read \
            from the configuration file (--config, default /etc/audiocap/audiocap.toml); an on-demand \
            recording is looked for in [storage] root/NAME. While audiocapd runs it says where the \
            recording's files are, unless --config is given.

            --since and --until (files that start at or before) take journalctl's forms: now, today, \
            yesterday, -1h, -30m, 5m, 2026-11-22, "2026-11-22 01:00[:00]" (local time, or with a zone: Z, \
            UTC, +01:00) or epoch seconds.

            Exits with 66 when there is no recording of that name.

            Examples:
              audiocap segments night
              audiocap segments night --since 1h
              audiocap segments night --since yesterday --until today
              audiocap segments night --config /etc/audiocap/audiocap.toml --json | jq -r '.segments[].path'
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

    @OptionGroup public var disk: DiskRecordOptions

    @OptionGroup public var options: GlobalOptions

    public init() {}

    public func validate() throws {
        try RecordingNameArgument.validate(name)
    }

    public func run() async throws {
        let now = Date()
        let since = self.since?.date(now: now).timeIntervalSince1970
        let location = try await locate()
        if location.directory.isEmpty {
            // The daemon knows the recording but it has written no file yet.
            if options.json {
                Console.line(
                    try GlobalOptions.json(ArchiveListing(recording: name, directory: "", segments: [], totalBytes: 0)))
            } else {
                Console.line("\(name): no files yet")
            }
            return
        }
        var listing = RecordingArchive.list(
            name: name, directory: location.directory, template: location.template, since: since)
        if let until = self.until?.date(now: now).timeIntervalSince1970 {
            listing.segments.removeAll { $0.startTime > until }
        }
        if listing.segments.isEmpty, since == nil, !FileManager.default.fileExists(atPath: location.directory) {
            Console.error(
                "no files of a recording named '\(name)': \(location.directory) does not exist; `audiocap recordings` lists the recordings"
            )
            throw ExitCode(66)
        }
        if options.json {
            Console.line(try GlobalOptions.json(listing))
        } else {
            Console.line(Self.render(listing, times: options.times))
        }
    }

    /// The recording's directory and template: from the daemon when it runs and has the recording,
    /// from the configuration file otherwise.
    private func locate() async throws -> RecordingLocation {
        if disk.config != nil { return RecordingLocation(name: name, configuration: try disk.load()) }
        let running: RecordingsResponse
        do throws(ClientError) {
            running = try await options.client.recordings()
        } catch {
            guard error.code == .unavailable else {
                Console.error(error.description)
                throw ExitCode(error.exitCode)
            }
            return RecordingLocation(name: name, configuration: try disk.load(after: error))
        }
        if let recording = running.recordings.first(where: { $0.name == name }) { return RecordingLocation(recording) }
        // Not running: a configured recording of the file, or an on-demand one the daemon remembers (its
        // files' folder), or a name nobody knows (66).
        if let configuration = try? ConfigurationLoader.load(path: disk.path),
            configuration.recordings.contains(where: { $0.name == name })
        {
            return RecordingLocation(name: name, configuration: configuration)
        }
        let known: SegmentsResponse
        do throws(ClientError) {
            known = try await options.client.segments(name: name)
        } catch {
            Console.error(error.description)
            throw ExitCode(error.exitCode)
        }
        if let first = known.segments.first {
            return RecordingLocation(directory: (first.path as NSString).deletingLastPathComponent, template: nil)
        }
        if let configuration = try? ConfigurationLoader.load(path: disk.path) {
            return RecordingLocation(name: name, configuration: configuration)
        }
        return RecordingLocation(directory: "", template: nil)
    }

    /// The table `audiocap segments` prints, and a total line.
    static func render(_ listing: ArchiveListing, times: TimeStyle = .utc) -> String {
        guard !listing.segments.isEmpty else { return "\(listing.recording): no files in \(listing.directory)" }
        var rows = [["START", "END", "DURATION", "FRAMES", "SIZE", "GAPS", "PEAK", "PATH"]]
        var seconds = 0.0
        for file in listing.segments {
            let mark = file.timesEstimated ? "~" : ""
            let peak = file.peakDBFS.max().map { TextFormat.dBFS($0) + " dBFS" } ?? "-"
            let gaps =
                !file.gapsKnown ? "?" : file.gaps == 0 ? "0" : "\(file.gaps) (\(TextFormat.duration(file.gapSeconds)))"
            let path = file.state == "closed" ? file.path : "\(file.path) (\(file.state))"
            rows.append([
                mark + TextFormat.time(file.startTime, times), mark + TextFormat.time(file.endTime, times),
                TextFormat.duration(file.durationSeconds), TextFormat.grouped(file.frames),
                TextFormat.bytes(file.bytes),
                gaps, peak, path,
            ])
            seconds += file.durationSeconds
        }
        let total =
            "\(TextFormat.count(listing.segments.count, "file")), \(TextFormat.duration(seconds)) of audio, \(TextFormat.bytes(listing.totalBytes)) on disk"
        return TextFormat.table(rows) + "\n" + total
    }
}
