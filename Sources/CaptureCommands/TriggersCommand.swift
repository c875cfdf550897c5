// `audiocap triggers`: each level trigger, whether it is writing a clip, when it last fired and its clips.

import ArgumentParser
import CaptureClient
import CaptureProtocol
import Foundation

/// `audiocap triggers [--json]`: one row per `[[trigger]]`.
public struct TriggersCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "triggers",
        abstract: "Show the level triggers: state, last firing, clips today.",
        discussion: """
            One row per [[trigger]] of the configuration (docs/triggers.md): its NAME, the SOURCE it \
            listens to, its STATE (listening; recording while a clip is open; blocked when its clips \
            cannot be written; stopped with its source), the THRESHOLD a sound must rise over (and the \
            high-pass filter applied before the level is measured), when it LAST FIRED with the peak of \
            that sound, the CLIPS closed TODAY (since local midnight) and since the daemon started, and \
            the CURRENT clip being written or else the LAST one closed. Frames a trigger lost because it \
            fell behind are listed below the table.

            --json prints the reply as the API writes it (GET /v1/triggers), times in seconds since the \
            epoch.

            A daemon without triggers says so and how to add one; that is not an error (exit 0). Exits with \
            69 when the daemon cannot be reached and 76 when it is too old to report triggers.

            Examples:
              audiocap triggers
              audiocap triggers --json | jq -r '.triggers[] | "\\(.name) \\(.clips_today)"'
              audiocap logs --recording bats --since today   # its firings and clips
              watch -n 5 audiocap triggers
            """
    )

    @OptionGroup public var options: GlobalOptions

    public init() {}

    public func run() async throws {
        let reply: TriggersResponse
        do {
            reply = try await options.client.triggers()
        } catch {
            let failure = Self.failure(error)
            Console.error(failure.message)
            throw ExitCode(failure.exitCode)
        }
        if options.json {
            Console.line(try GlobalOptions.json(reply))
        } else {
            Console.line(Self.render(reply.triggers, times: options.times, style: Console.outputStyle))
        }
    }

    /// What `audiocap triggers` prints to standard error for `error`, and its exit code: a 404 means a
    /// daemon from before triggers (76, `EX_PROTOCOL`); anything else is reported as every command reports
    /// it.
    static func failure(_ error: ClientError) -> (message: String, exitCode: Int32) {
        if error.code == .apiError, error.status == 404 {
            return (
                "audiocapd at \(error.socketPath) does not report triggers (it is older than this audiocap). "
                    + "Update audiocapd and restart it: `systemctl restart audiocapd`",
                ClientError.ExitCodes.protocolError
            )
        }
        return (error.description, error.exitCode)
    }

    /// What `audiocap triggers` prints when no trigger is configured.
    static let nothingConfigured = """
        no triggers configured: add a [[trigger]] (name, source, threshold_dbfs) to \
        /etc/audiocap/audiocap.toml, check it with `audiocap check-config`, then \
        `systemctl restart audiocapd` (see docs/triggers.md)
        """

    /// The table `audiocap triggers` prints for `triggers`, with the notes below it.
    static func render(_ triggers: [TriggerStatus], times: TimeStyle = .utc, style: Style = .plain) -> String {
        guard !triggers.isEmpty else { return nothingConfigured }
        let rows =
            [["NAME", "SOURCE", "STATE", "THRESHOLD", "LAST FIRED", "CLIPS TODAY", "CURRENT/LAST CLIP"]]
            + triggers.map { row($0, times: times, style: style) }
        return ([TextFormat.table(rows)] + notes(triggers, style: style)).joined(separator: "\n")
    }

    /// One trigger's cells, in the order of the table's columns.
    static func row(_ trigger: TriggerStatus, times: TimeStyle, style: Style) -> [String] {
        [
            trigger.name, trigger.source, style.state(trigger.state), threshold(trigger),
            lastFired(trigger, times: times), "\(trigger.clipsToday) (\(trigger.clipsTotal) total)", clip(trigger),
        ]
    }

    /// `-30.0 dBFS`, with `, high-pass 2000 Hz` when a high-pass filter comes first.
    static func threshold(_ trigger: TriggerStatus) -> String {
        var text = "\(TextFormat.dBFS(trigger.thresholdDBFS)) dBFS"
        if let hertz = trigger.highPassHz { text += ", high-pass \(number(hertz)) Hz" }
        return text
    }

    /// `2026-11-22T01:02:03Z (peak -12.3 dBFS)`; `never` before the first firing.
    static func lastFired(_ trigger: TriggerStatus, times: TimeStyle) -> String {
        guard let time = trigger.lastFired else { return "never" }
        var text = TextFormat.time(time, times)
        if let peak = trigger.lastPeakDBFS { text += " (peak \(TextFormat.dBFS(peak)) dBFS)" }
        return text
    }

    /// `writing PATH` while a clip is open, else the last clip's path, else `-`.
    static func clip(_ trigger: TriggerStatus) -> String {
        if let current = trigger.currentClip { return "writing " + current }
        return trigger.lastClip ?? "-"
    }

    /// The lines below the table: frames a trigger lost.
    static func notes(_ triggers: [TriggerStatus], style: Style) -> [String] {
        triggers.filter { $0.droppedFrames > 0 }.map { trigger in
            "\(trigger.name): "
                + style.red(
                    "\(TextFormat.grouped(trigger.droppedFrames)) frames dropped (it fell behind; its clips have gaps)")
        }
    }

    /// `2000`, `62.5`: a number without a needless `.0`.
    private static func number(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(value)
    }
}
