// `audiocap status`: what the daemon is doing, in a screenful.

import ArgumentParser
import CaptureClient
import CaptureCore
import CaptureProtocol
import Foundation

/// `audiocap status [--json]`: each source with its levels, queue and drops; disk and recordings.
public struct StatusCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show what audiocapd is doing.",
        discussion: """
            Shows each capture source (its name, state, device or URL with any password masked, format, \
            ffmpeg's pid, restarts, frames captured, time since the last audio, xruns), its newest levels \
            per channel, the queues between the capture and the writers and the frames it dropped; then \
            free disk space with the time it lasts at the current rate, one line per upload destination \
            and webhook when any is configured (files or events pending, the oldest, the last error; \
            `audiocap uploads` has the details), and one line per recording (with its source when there \
            are several). The station id heads it when the daemon reports one.

            Recording on cue (docs/triggers.md, docs/schedules.md): each source's look-back buffer, the \
            audio kept in memory for `start --from` and `clip` (held and configured seconds, and the \
            memory it takes; "off" with look_back_seconds = 0); for a recording with a schedule, \
            "scheduled off, next window 04:00-09:00 UTC" or "in window until 09:00 UTC" below the \
            recordings (state scheduled_off while outside its windows: no file open, and no gap); and one \
            line per [[trigger]] when any is configured (state, threshold, last firing, clips today, the \
            clip being written or the last one; `audiocap triggers` has the same as a table).

            Exits with 69 when the daemon cannot be reached and 77 when the socket's permissions keep you out.

            Examples:
              audiocap status
              audiocap status --json | jq .source.state
              audiocap status --json | jq -r '.sources[] | "\\(.name) \\(.state)"'
              audiocap status --json | jq '.sources[] | {name, look_back}'
              audiocap status --socket /tmp/audiocap-test/control.sock
            """
    )

    @OptionGroup public var options: GlobalOptions

    public init() {}

    public func run() async throws {
        let status = try await options.withClient { try await $0.status() }
        if options.json {
            Console.line(try GlobalOptions.json(status))
        } else {
            Console.line(Self.render(status, style: Console.outputStyle, times: options.times))
        }
    }

    /// The text `audiocap status` prints for `status`: one block per source (with one source, the top-level
    /// `source`, `levels`, `queue` and `dropped_frames`, as before several sources), disk, clock and the
    /// recordings.
    static func render(
        _ status: StatusResponse, style: Style = .plain, now: Double = Date().timeIntervalSince1970,
        times: TimeStyle = .utc
    ) -> String {
        var rows: [[String]] = []
        func row(_ label: String, _ value: String) { rows.append([label.isEmpty ? "" : label + ":", value]) }

        row("daemon", "audiocapd \(status.version), pid \(status.pid), up \(TextFormat.duration(status.uptimeSeconds))")
        if let station = status.station { row("station", station) }

        let several = status.sources.count > 1
        if several {
            for source in status.sources {
                sourceRows(
                    source, named: true, levels: source.levels, queue: source.queue,
                    droppedFrames: source.droppedFrames, style: style, row: row)
            }
        } else {
            sourceRows(
                status.source, named: status.source.name != "main", levels: status.levels,
                queue: status.queue, droppedFrames: status.droppedFrames, style: style, row: row)
        }

        if let disk = status.disk {
            var diskLine =
                "\(TextFormat.bytes(disk.freeBytes)) free of \(TextFormat.bytes(disk.totalBytes)) at \(disk.path)"
            if let left = disk.estimatedSecondsLeft {
                let text = "about \(TextFormat.duration(left)) left"
                diskLine += ", " + (left < 86_400 || disk.lowSpace ? style.yellow(text) : text)
            }
            if disk.minFreeBytes > 0 { diskLine += " (keeping \(TextFormat.bytes(UInt64(disk.minFreeBytes))) free)" }
            if disk.lowSpace { diskLine += " " + style.yellow("LOW SPACE") }
            row("disk", diskLine)
        } else {
            row("disk", "unknown")
        }
        if status.clockSynchronized == false {
            row(
                "clock",
                style.yellow("NOT synchronised: file names and times may be wrong (enable systemd-timesyncd or chrony)")
            )
        }

        if let uploads = status.uploads {
            uploadRows(uploads, now: now, style: style, row: row)
        }

        var text = TextFormat.table(rows)
        if status.recordings.isEmpty {
            text += "\nrecordings: none"
        } else {
            var rates: [String: Int] = [:]
            for source in status.sources { rates[source.name] = source.sampleRate }
            text +=
                "\nrecordings:\n"
                + recordingsTable(
                    status.recordings, sampleRate: status.source.sampleRate, style: style, indent: "  ",
                    sourceRates: several || RecordingsCommand.showsSource(status.recordings) ? rates : nil,
                    now: now, times: times)
        }
        if let triggers = status.triggers, !triggers.isEmpty {
            text += "\ntriggers:\n" + triggersTable(triggers, style: style, indent: "  ", times: times)
        }
        return text
    }

    /// One line per trigger: name, source, state, threshold, last firing, clips today, the clip being written
    /// (or the last one); then the frames any trigger dropped.
    static func triggersTable(_ triggers: [TriggerStatus], style: Style, indent: String, times: TimeStyle) -> String {
        let rows = triggers.map { trigger in
            [
                indent + trigger.name, trigger.source, style.state(trigger.state),
                TriggersCommand.threshold(trigger),
                trigger.lastFired == nil ? "never fired" : "fired " + TriggersCommand.lastFired(trigger, times: times),
                TextFormat.count(trigger.clipsToday, "clip") + " today", TriggersCommand.clip(trigger),
            ]
        }
        let notes = TriggersCommand.notes(triggers, style: style).map { indent + $0 }
        return ([TextFormat.table(rows)] + notes).joined(separator: "\n")
    }

    /// The look-back row of a source: `30 s of 30 s held, 11.5 MB`, or `off`.
    static func lookBackText(_ lookBack: LookBackStatus) -> String {
        guard lookBack.seconds > 0 else { return "off (look_back_seconds = 0)" }
        return "\(TextFormat.duration(lookBack.heldSeconds)) of \(TextFormat.duration(lookBack.seconds)) held, "
            + TextFormat.bytes(UInt64(max(0, lookBack.bytes)))
    }

    /// One line per destination (pending files and bytes, the oldest, the last error while it is newer than
    /// the last success) and per webhook; the details are in `audiocap uploads`.
    private static func uploadRows(
        _ uploads: UploadsResponse, now: Double, style: Style, row: (String, String) -> Void
    ) {
        var first = true
        func line(_ text: String) {
            row(first ? "uploads" : "", text)
            first = false
        }
        for destination in uploads.destinations {
            var text =
                "\(destination.name): \(TextFormat.count(destination.pendingFiles, "file")) "
                + "(\(TextFormat.bytes(UInt64(max(0, destination.pendingBytes))))) pending"
            if let oldest = destination.oldestPendingTime {
                text += ", oldest \(UploadsCommand.age(oldest, now: now))"
            }
            if destination.conflicts > 0 {
                text += ", " + style.red(TextFormat.count(destination.conflicts, "conflict"))
            }
            if let error = destination.lastError, (destination.lastErrorTime ?? 0) >= (destination.lastSuccessTime ?? 0)
            {
                text +=
                    ", " + style.red("last error: " + (error.split(separator: "\n").first.map(String.init) ?? error))
            }
            line(text)
        }
        for webhook in uploads.webhooks {
            var text = "\(webhook.name) (webhook): \(TextFormat.count(webhook.pendingEvents, "event")) pending"
            if let oldest = webhook.oldestPendingTime { text += ", oldest \(UploadsCommand.age(oldest, now: now))" }
            if let error = webhook.lastError, (webhook.lastErrorTime ?? 0) >= (webhook.lastSuccessTime ?? 0) {
                text +=
                    ", " + style.red("last error: " + (error.split(separator: "\n").first.map(String.init) ?? error))
            }
            line(text)
        }
    }

    /// The rows of one source: its state, device (masked again, in case a daemon did not) and format, its audio, why it is not running, its levels,
    /// its queues and what it dropped. `named` puts the source's name first.
    private static func sourceRows(
        _ source: SourceStatus, named: Bool, levels: LevelsResponse?, queue: QueueStatus?, droppedFrames: Int64,
        style: Style, row: (String, String) -> Void
    ) {
        var sourceLine =
            (named ? style.bold(source.name) + "  " : "")
            + "\(style.state(source.state))  \(source.inputFormat) \(CredentialMask.masked(source.device))  "
            + "\(source.sampleRate) Hz, \(TextFormat.count(source.channels, "channel")), \(source.sampleFormat)"
        if let pid = source.ffmpegPID { sourceLine += "  ffmpeg pid \(pid)" }
        row("source", sourceLine)
        let captured = Double(source.framesCaptured) / Double(max(1, source.sampleRate))
        var audioLine =
            "\(TextFormat.grouped(source.framesCaptured)) frames (\(TextFormat.duration(captured))), "
        if let since = source.secondsSinceLastAudio {
            let text = "last audio \(TextFormat.duration(since)) ago"
            audioLine += since >= 2 ? style.yellow(text) : text
        } else {
            audioLine += style.yellow("no audio yet")
        }
        audioLine += ", \(TextFormat.count(Int(source.xruns), "xrun"))"
        audioLine += ", \(TextFormat.count(source.restarts, "restart"))"
        row("", audioLine)
        if source.state != "running" {
            var detail: [String] = []
            if let exit = source.lastExit { detail.append("last exit \(exit)") }
            if let next = source.nextStartInSeconds { detail.append("next start in \(TextFormat.duration(next))") }
            if !detail.isEmpty { row("", detail.joined(separator: ", ")) }
            for line in source.lastErrorLines.suffix(3) { row("", style.dim("ffmpeg: " + line)) }
        }

        if let levels, !levels.channels.isEmpty {
            for (index, channel) in levels.channels.enumerated() {
                var text =
                    "\(index + 1): peak \(MeterLine.number(channel.peakDBFS)) dBFS, "
                    + "RMS \(MeterLine.number(channel.rmsDBFS)) dBFS"
                if channel.clippedTotal > 0 {
                    let clip = "clipped \(TextFormat.grouped(channel.clippedTotal)) samples"
                    text += ", " + (channel.clipped > 0 ? style.red(clip + " (now)") : clip)
                }
                row(index == 0 ? "levels" : "", text)
            }
            if levels.silent { row("", style.yellow("silent")) }
            if let problems = SoundHealthText.problems(levels) { row("", style.red("health: " + problems)) }
        } else {
            row("levels", "no reading yet")
        }

        if let queue {
            let capacity = queue.consumers.map(\.capacityChunks).max()
            var queueLine = "depth \(queue.depthChunks), high-water \(queue.highWaterChunks)"
            if let capacity { queueLine += " of \(capacity)" }
            queueLine += " chunks of \(queue.chunkMilliseconds) ms"
            let busiest = queue.consumers.max { $0.highWaterChunks < $1.highWaterChunks }
            if let busiest, queue.consumers.count > 1 { queueLine += " (deepest: \(busiest.name))" }
            row("queue", queueLine)
        }
        if let lookBack = source.lookBack { row("look-back", lookBackText(lookBack)) }

        var dropLine = "\(TextFormat.grouped(droppedFrames)) frames"
        let dropping: [QueueStatus.Consumer] = (queue?.consumers ?? []).filter { $0.droppedFrames > 0 }
        if !dropping.isEmpty {
            dropLine +=
                " ("
                + dropping.map { "\($0.name) \(TextFormat.grouped($0.droppedFrames))" }
                .joined(separator: ", ") + ")"
        }
        row("dropped", droppedFrames > 0 ? style.red(dropLine) : dropLine)
    }

    /// One line per recording: name, kind, state, current file, segments closed, frames dropped, gaps. With
    /// `sourceRates` (several sources: each source's sample rate by name) the recording's source follows its
    /// name. Below them, a line per recording with a schedule (its window at `now`, in `times`) and per error.
    static func recordingsTable(
        _ recordings: [RecordingResponse], sampleRate: Int, style: Style, indent: String,
        sourceRates: [String: Int]? = nil, now: Double = Date().timeIntervalSince1970, times: TimeStyle = .utc
    ) -> String {
        var rows: [[String]] = []
        var errors: [String] = []
        var schedules: [String] = []
        for recording in recordings {
            let current = recording.currentFile.map { "\($0) (\(TextFormat.duration(recording.currentFileSeconds)))" }
            let sampleRate = recording.source.flatMap { sourceRates?[$0] } ?? sampleRate
            rows.append(
                [indent + recording.name] + (sourceRates == nil ? [] : [recording.source ?? "-"]) + [
                    recording.kind, style.state(recording.state),
                    current ?? "-", TextFormat.count(recording.segmentsClosed, "segment"),
                    recording.droppedFrames > 0
                        ? style.red("\(TextFormat.grouped(recording.droppedFrames)) dropped") : "0 dropped",
                    recording.gaps > 0
                        ? style.yellow(
                            TextFormat.count(recording.gaps, "gap")
                                + " (\(TextFormat.duration(Double(recording.gapFrames) / Double(max(1, sampleRate)))))")
                        : "0 gaps",
                ])
            if let schedule = recording.schedule {
                schedules.append(
                    "\(indent)\(recording.name): \(ScheduleText.describe(schedule, now: now, times: times))")
            }
            if let error = recording.lastError {
                errors.append("\(indent)\(recording.name): \(style.red(error))")
            }
        }
        return ([TextFormat.table(rows)] + schedules + errors).joined(separator: "\n")
    }
}
