// `audiocap check-config`: loads a configuration file the way audiocapd would and summarizes it.

import ArgumentParser
import CaptureCore
import CaptureEnvironment
import CaptureProtocol
import Foundation

/// `audiocap check-config [PATH] [--json]`.
///
/// When the configuration can run, prints what it sets up (as text, or as JSON with `--json`), any warnings
/// to standard error, and exits 0. Otherwise prints every problem to standard error, one per line (and with
/// `--json` the document with `"valid": false` and the problems), and exits with 78 (`EX_CONFIG`).
public struct CheckConfigCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Check a configuration file and show what it sets up.",
        discussion: """
            Reads the file the way audiocapd does and reports every problem at once: unknown keys, values \
            of the wrong type, values out of range, recordings that would write the same files, uploads to \
            a [[destination]] that does not exist, hooks that are not absolute paths or use unknown \
            placeholders. Then checks \
            the machine: ffmpeg is found and runs, the control group exists, every folder can be created \
            and written (by the service user audiocap when it exists and this runs as root), and the ALSA \
            device is there (a warning only: it may be plugged in later). \
            Exits with 0 when the configuration can run (even with warnings) and 78 (EX_CONFIG) when it cannot.

            The summary shows the station id, each [[destination]] (its remote with any credential masked, \
            object key template, transfers, timeouts), each [[webhook]] (URL masked; a secret is never \
            shown, only whether one is set) and each recording's uploads, after_upload and hooks; --json \
            masks the same way (a secret shows as "***").

            Recording on cue: each source's look-back (look_back_seconds and the memory it takes), each \
            recording's schedule with its next window, and each [[trigger]] with every key: its source, \
            threshold_dbfs, hold_ms, channels, high_pass_hz, pre_seconds, post_seconds, max_seconds, \
            format, directory and filename (docs/triggers.md, docs/schedules.md).

            Examples:
              audiocap check-config
              audiocap check-config config/demo.toml
              audiocap check-config --json /etc/audiocap/audiocap.toml
            """
    )

    @Argument(help: "The configuration file.")
    public var path: String = ConfigurationLoader.defaultPath

    @Flag(help: "Print the configuration as JSON, with every default filled in, `valid`, `problems` and `warnings`.")
    public var json = false

    public init() {}

    public func run() throws {
        let outcome = Self.check(path: path, json: json, environment: EnvironmentCheck())
        if !outcome.output.isEmpty { print(outcome.output) }
        if !outcome.errors.isEmpty { FileHandle.standardError.write(Data((outcome.errors + "\n").utf8)) }
        if outcome.exitCode != 0 { throw ExitCode(outcome.exitCode) }
    }

    /// What `check-config` prints and how it exits.
    struct Outcome {
        /// Standard output: the summary or the JSON document (empty for a failed text check).
        var output: String
        /// Standard error: one line per problem and warning.
        var errors: String
        /// 0 when the configuration can run (warnings or not), 78 when it cannot.
        var exitCode: Int32
    }

    /// Loads the file at `path`, checks it against the machine with `environment`, and says what to print.
    static func check(path: String, json: Bool, environment: EnvironmentCheck) -> Outcome {
        var configuration: Configuration?
        var problems: [ConfigurationError.Problem] = []
        var loadError: ConfigurationError?
        var findings: [EnvironmentCheck.Finding] = []
        do {
            let loaded = try ConfigurationLoader.load(path: path)
            configuration = loaded
            findings = environment.check(loaded)
            // The line of each finding's key, or of its table when the key is a default.
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                let lines = ConfigurationLoader.keyLines(in: text)
                for index in findings.indices {
                    let key = findings[index].key
                    let table = key.split(separator: ".").first.map(String.init) ?? key
                    findings[index].line = lines[key] ?? lines[table]
                }
            }
        } catch {
            loadError = error
            problems = error.problems
        }
        let failures = findings.filter { $0.severity == .error }
        let warnings = findings.filter { $0.severity == .warning }
        let valid = loadError == nil && failures.isEmpty
        var errorLines: [String] = []
        if let loadError { errorLines.append(loadError.description) }
        errorLines += failures.map { "\(path): \($0)" }
        errorLines += warnings.map { "\(path): warning: \($0)" }
        let exitCode: Int32 = valid ? 0 : ConfigurationError.exitCode
        if json {
            var document: [String: Any] = ["path": path, "valid": valid]
            if let configuration {
                document.merge(ConfigurationJSON.object(configuration)) { current, _ in current }
            }
            document["problems"] =
                problems.map { problem -> [String: Any] in
                    var entry: [String: Any] = [
                        "key": problem.key, "message": problem.message, "text": problem.description,
                        "severity": "error",
                    ]
                    if let value = problem.value { entry["value"] = value }
                    if let line = problem.line { entry["line"] = line }
                    if let column = problem.column { entry["column"] = column }
                    if let table = problem.table { entry["table"] = table }
                    return entry
                } + failures.map(Self.entry)
            document["warnings"] = warnings.map(Self.entry)
            // Problems that stop the file from loading are on standard error too; warnings only in the JSON.
            return Outcome(
                output: ConfigurationJSON.text(document), errors: valid ? "" : errorLines.joined(separator: "\n"),
                exitCode: exitCode)
        }
        guard valid, let configuration else {
            return Outcome(output: "", errors: errorLines.joined(separator: "\n"), exitCode: exitCode)
        }
        return Outcome(
            output: summary(of: configuration, path: path), errors: errorLines.joined(separator: "\n"), exitCode: 0)
    }

    private static func entry(_ finding: EnvironmentCheck.Finding) -> [String: Any] {
        var entry: [String: Any] = [
            "key": finding.key, "value": finding.value, "message": finding.message, "text": finding.description,
            "severity": finding.severity.rawValue,
        ]
        if let table = finding.table { entry["table"] = table }
        if let line = finding.line { entry["line"] = line }
        return entry
    }

    /// The human-readable summary: sources, format, queue, levels, recordings and log level. Devices are
    /// shown with any password masked (``CredentialMask``).
    static func summary(
        of configuration: Configuration, path: String, now: Double = Date().timeIntervalSince1970
    ) -> String {
        var lines: [String] = []
        lines.append("\(path): valid")
        let several = configuration.sources.count > 1
        if several {
            lines.append("sources:     \(configuration.sources.count)")
            let width = configuration.sources.map(\.name.count).max() ?? 0
            let indent = String(repeating: " ", count: width + 4)
            for source in configuration.sources {
                let padding = String(repeating: " ", count: width - source.name.count)
                lines.append("  \(source.name)\(padding)  " + sourceText(source))
                lines.append(indent + formatText(source))
                lines.append(indent + restartText(source))
                lines.append(indent + "look-back: " + lookBackText(source))
                if let queue = source.queue { lines.append(indent + "queue: " + queueText(queue)) }
                if let levels = source.levels {
                    lines.append(indent + "levels: " + levelsText(levels))
                    lines.append(indent + "alarms: " + alarmsText(levels))
                }
            }
        } else {
            let source = configuration.source
            let name = source.name == SourceConfiguration.defaultName ? "" : source.name + "  "
            lines.append("source:      " + name + sourceText(source))
            lines.append("format:      " + formatText(source))
            lines.append("restart:     " + restartText(source))
            lines.append("look-back:   " + lookBackText(source))
        }
        let levels = several ? configuration.levels : configuration.levels(for: configuration.source)
        let queue = several ? configuration.queue : configuration.queue(for: configuration.source)
        lines.append("queue:       " + queueText(queue))
        lines.append("levels:      " + levelsText(levels))
        lines.append("alarms:      " + alarmsText(levels))
        if configuration.recordings.isEmpty {
            lines.append("recordings:  none (levels only)")
        } else {
            lines.append("recordings:  \(configuration.recordings.count)")
            let width = configuration.recordings.map(\.name.count).max() ?? 0
            for recording in configuration.recordings {
                let alignment = recording.align == .clock ? "cut on the clock" : "cut by sample count"
                let padding = String(repeating: " ", count: width - recording.name.count)
                let from =
                    several ? ", from \(configuration.source(named: recording.source)?.name ?? recording.source)" : ""
                lines.append(
                    "  \(recording.name)\(padding)  \(seconds(Double(recording.segmentSeconds))) segments, "
                        + "\(alignment), \(recording.timeZone.rawValue) times, "
                        + "synced every \(seconds(recording.syncSeconds))\(from)")
                let indent = String(repeating: " ", count: width + 4)
                lines.append(indent + joined(recording.directory, recording.filename))
                var retention: [String] = []
                if let days = recording.keepDays { retention.append("keeps \(number(days)) days") }
                if let bytes = recording.maxBytes { retention.append("keeps at most \(bytes) bytes") }
                if !retention.isEmpty { lines.append(indent + "retention: " + retention.joined(separator: ", ")) }
                if let schedule = recording.schedule {
                    lines.append(indent + "schedule: " + scheduleText(schedule, now: now))
                }
                if !recording.upload.isEmpty {
                    let after =
                        recording.afterUpload == .delete
                        ? "deleted once every destination holds a verified copy" : "kept (retention applies)"
                    lines.append(indent + "uploads to: \(recording.upload.joined(separator: ", ")); files \(after)")
                }
                if !recording.onClose.isEmpty { lines.append(indent + "on close: " + argvText(recording.onClose)) }
                if !recording.onUpload.isEmpty { lines.append(indent + "on upload: " + argvText(recording.onUpload)) }
                if !recording.onClose.isEmpty || !recording.onUpload.isEmpty {
                    lines.append(
                        indent + "hooks: at most \(recording.hookConcurrency) at once, "
                            + "killed after \(seconds(recording.hookTimeoutSeconds))")
                }
            }
        }
        let control = configuration.control
        lines.append(
            "control:     "
                + (control.socket.isEmpty
                    ? "off"
                    : "\(control.socket) (group \(control.group)), at most \(control.maxRecordings) on-demand recordings")
        )
        lines.append(
            "storage:     on-demand recordings under \(configuration.storage.root), state in \(configuration.storage.state)"
        )
        lines.append(
            "metrics:     "
                + (configuration.metrics.listen.isEmpty ? "off" : "http://\(configuration.metrics.listen)/metrics"))
        lines.append(
            "station:     \(configuration.station.resolvedID)"
                + (configuration.station.id.isEmpty ? " (the host name)" : ""))
        lines += triggerLines(configuration)
        lines += deliveryLines(configuration)
        lines.append("log level:   \(configuration.log.level.rawValue)")
        return lines.joined(separator: "\n")
    }

    /// The `[[trigger]]` lines of the summary: every key of each trigger.
    static func triggerLines(_ configuration: Configuration) -> [String] {
        guard !configuration.triggers.isEmpty else { return ["triggers:    none"] }
        var lines = ["triggers:    \(configuration.triggers.count)"]
        let width = configuration.triggers.map(\.name.count).max() ?? 0
        let indent = String(repeating: " ", count: width + 4)
        for trigger in configuration.triggers {
            let padding = String(repeating: " ", count: width - trigger.name.count)
            let source = configuration.source(named: trigger.source)?.name ?? trigger.source
            let channels =
                trigger.channels.isEmpty
                ? "all channels"
                : (trigger.channels.count == 1 ? "channel " : "channels ")
                    + trigger.channels.map(String.init).joined(separator: ", ")
            var level =
                "from \(source), over \(number(trigger.thresholdDBFS)) dBFS for \(number(trigger.holdMilliseconds)) ms "
                + "on \(channels)"
            if let hertz = trigger.highPassHz { level += ", after a \(number(hertz)) Hz high-pass" }
            lines.append("  \(trigger.name)\(padding)  " + level)
            lines.append(
                indent + "clips from \(seconds(trigger.preSeconds)) before to \(seconds(trigger.postSeconds)) after, "
                    + "at most \(seconds(trigger.maxSeconds)); "
                    + formatName(trigger.format, flacLevel: trigger.flacLevel)
                    + ", \(trigger.timeZone.rawValue) times")
            lines.append(indent + joined(trigger.directory, trigger.filename))
        }
        return lines
    }

    /// `wav`, `flac level 5`.
    private static func formatName(_ format: RecordingFormat, flacLevel: Int) -> String {
        format == .flac ? "flac level \(flacLevel)" : format.rawValue
    }

    /// `30 s, 5.76 MB of memory (11.5 MB a minute)`, or `off`: what a source's look-back holds and takes (its
    /// whole chunks).
    static func lookBackText(_ source: SourceConfiguration) -> String {
        guard source.lookBackChunks > 0 else { return "off (look_back_seconds = 0)" }
        let bytes = Int64(source.lookBackChunks) * Int64(source.chunkFrames) * Int64(source.audioFormat.bytesPerFrame)
        let perMinute = Int64(source.audioFormat.bytesPerSecond) * 60
        return
            "\(seconds(source.lookBackSeconds)), \(formatBytes(bytes)) of memory (\(formatBytes(perMinute)) a minute)"
    }

    /// The windows as written, then the next one from `now` when the schedule knows it.
    static func scheduleText(_ schedule: Schedule, now: Double) -> String {
        var text = schedule.text.joined(separator: ", ")
        if let window = schedule.window(atOrAfter: now) {
            let status = ScheduleStatus(windows: schedule.text, open: window.start <= now, window: window)
            text += "; now " + ScheduleText.describe(status, now: now, times: .utc)
        }
        return text
    }

    /// `11.5 MB`: bytes with SI units.
    private static func formatBytes(_ bytes: Int64) -> String {
        TextFormat.bytes(UInt64(max(0, bytes)))
    }

    /// The `[[destination]]` and `[[webhook]]` lines of the summary: remotes and URLs masked, secrets never shown.
    private static func deliveryLines(_ configuration: Configuration) -> [String] {
        var lines: [String] = []
        if configuration.destinations.isEmpty {
            lines.append("destinations: none")
        } else {
            lines.append("destinations: \(configuration.destinations.count)")
            let width = configuration.destinations.map(\.name.count).max() ?? 0
            let indent = String(repeating: " ", count: width + 4)
            for destination in configuration.destinations {
                let padding = String(repeating: " ", count: width - destination.name.count)
                lines.append(
                    "  \(destination.name)\(padding)  \(quoted(CredentialMask.masked(destination.remote))) "
                        + "via \(destination.rclone), config \(destination.rcloneConfig)")
                var limits =
                    "\(plural(destination.transfers, "transfer")) at once, "
                    + "each run killed after \(seconds(destination.timeoutSeconds))"
                if !destination.bwlimit.isEmpty { limits += ", bwlimit \(destination.bwlimit)" }
                lines.append(indent + "objects: " + destination.path)
                lines.append(indent + limits)
                lines.append(indent + "backlog warning after \(number(destination.backlogWarningHours)) h")
            }
        }
        if configuration.webhooks.isEmpty {
            lines.append("webhooks:    none")
        } else {
            lines.append("webhooks:    \(configuration.webhooks.count)")
            let width = configuration.webhooks.map(\.name.count).max() ?? 0
            for webhook in configuration.webhooks {
                let padding = String(repeating: " ", count: width - webhook.name.count)
                lines.append(
                    "  \(webhook.name)\(padding)  POST \(CredentialMask.masked(webhook.url)), events "
                        + webhook.events.joined(separator: " ") + ", "
                        + (webhook.secret.isEmpty ? "unsigned" : "signed (secret set)")
                        + ", timeout \(seconds(webhook.timeoutSeconds))")
            }
        }
        return lines
    }

    /// A hook's argv as a shell would show it: each argument quoted when it holds a space or a quote.
    private static func argvText(_ argv: [String]) -> String {
        argv.map { $0.contains(where: { $0 == " " || $0 == "\"" || $0 == "'" }) ? quoted($0) : $0 }
            .joined(separator: " ")
    }

    /// `alsa "hw:1" via ffmpeg, input options: ...`, the device masked.
    private static func sourceText(_ source: SourceConfiguration) -> String {
        var text = "\(source.inputFormat) \(quoted(CredentialMask.masked(source.device))) via \(source.ffmpeg)"
        if !source.inputOptions.isEmpty {
            text +=
                ", input options: "
                + CredentialMask(device: source.device).mask(source.inputOptions.joined(separator: " "))
        }
        if !source.outputOptions.isEmpty {
            text += ", output options: " + source.outputOptions.joined(separator: " ")
        }
        return text
    }

    private static func formatText(_ source: SourceConfiguration) -> String {
        let format = source.audioFormat
        return "\(format.sampleRate) Hz, \(plural(format.channels, "channel")), "
            + "\(format.sampleFormat.rawValue) (\(format.bytesPerSecond) bytes/s), "
            + "\(source.chunkMilliseconds) ms chunks"
    }

    private static func restartText(_ source: SourceConfiguration) -> String {
        "\(seconds(source.restartDelaySeconds)) after ffmpeg exits (doubling to 30 s); "
            + "stalled after \(seconds(source.stallSeconds)) without audio"
    }

    private static func queueText(_ queue: QueueConfiguration) -> String {
        "\(seconds(queue.seconds)) per consumer"
    }

    private static func levelsText(_ levels: LevelsConfiguration) -> String {
        let logging =
            levels.logIntervalSeconds > 0
            ? "logged every \(seconds(levels.logIntervalSeconds))" : "not logged periodically"
        return "\(logging); silence below \(number(levels.silenceDBFS)) dBFS for \(seconds(levels.silenceSeconds))"
    }

    private static func alarmsText(_ levels: LevelsConfiguration) -> String {
        "begin after \(seconds(levels.alarmHoldSeconds)), end after \(seconds(levels.alarmClearSeconds)) clear; "
            + "more than \(LevelsConfiguration.alarmFlapLimit) in \(seconds(LevelsConfiguration.alarmFlapWindowSeconds)) "
            + "are counted, not reported one by one"
    }

    private static func joined(_ directory: String, _ filename: String) -> String {
        directory.hasSuffix("/") ? directory + filename : directory + "/" + filename
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    private static func plural(_ count: Int, _ noun: String) -> String {
        count == 1 ? "1 \(noun)" : "\(count) \(noun)s"
    }

    private static func seconds(_ value: Double) -> String {
        number(value) + " s"
    }

    /// `30` rather than `30.0`; fractions as Swift prints them.
    private static func number(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 {
            return String(Int(value))
        }
        return String(value)
    }
}
