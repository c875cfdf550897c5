// `audiocap levels`: the input levels per channel, once or as a live meter.

import ArgumentParser
import CaptureClient
import CaptureProtocol
import Foundation
import Synchronization
import UnixSignals

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `audiocap levels [--source NAME] [--follow] [--interval D] [--json]`.
public struct LevelsCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "levels",
        abstract: "Show the input levels, once or as a live meter.",
        discussion: """
            Shows peak and RMS level per channel in dBFS, from the newest chunk of audio (100 ms by default). \
            The bar runs from -60 to 0 dBFS: solid up to the RMS level, shaded up to the peak, with a \
            marker holding the highest peak for 2 seconds; CLIP marks samples at full scale in the last 2 \
            seconds. Digital silence shows as -inf. A "health:" line names the sound problems in progress: \
            a flatline (a channel stuck at one sample value), a DC offset, frequent clipping.

            When audiocapd has several sources, every source is shown, one meter row per channel, each \
            row labelled with its source's name ("mic 1", "mic 2", "cam 1"); --source NAME shows that one \
            alone. A name the daemon does not have exits 66. With several sources and --json (without \
            --follow), each source's reading is one JSON object per line, with its `source`.

            With --follow the meter is redrawn in place while standard output is a terminal, as wide as \
            the terminal (redrawn when it is resized); when it is a pipe or a file, each reading is one line \
            instead. With --json each reading is printed as the daemon sends it, one JSON object per line. \
            When audiocapd restarts it says so on standard error, waits for it and carries on. Ctrl-C ends \
            it (exit 0). Times are local ($TZ), or UTC with --utc.

            Before ffmpeg has delivered any audio there are no levels: it says "no audio yet" and exits 0.

            Examples:
              audiocap levels
              audiocap levels --follow
              audiocap levels --source mic
              audiocap levels --follow --interval 500
              audiocap levels --follow --json | jq -c '[.channels[].peak_dbfs]'
            """
    )

    @Flag(name: [.short, .long], help: "Keep showing new readings until Ctrl-C.")
    public var follow = false

    @Option(help: ArgumentHelp("Milliseconds between readings with --follow.", valueName: "ms"))
    public var interval = 100

    @Option(help: ArgumentHelp("Only this source (default: every source).", valueName: "name"))
    public var source: String?

    @OptionGroup public var options: GlobalOptions

    public init() {}

    public func validate() throws {
        guard (20...60_000).contains(interval) else {
            throw ValidationError("--interval must be from 20 to 60000 milliseconds")
        }
        if let source { try SourceNameArgument.validate(source) }
    }

    public func run() async throws {
        if follow {
            try await runFollowing()
            return
        }
        if source == nil {
            // Several sources: every source's newest reading, as the status has them.
            let status = try await options.withClient { try await $0.status() }
            if status.sources.count > 1 {
                try await printAll(status.sources)
                return
            }
        }
        let reading: LevelsResponse
        do {
            reading = try await options.client.levels(source: source)
        } catch let error where Self.isNoAudioYet(error) {
            let text = "no audio yet: ffmpeg has not delivered any audio (`audiocap status` shows why)"
            if options.json { Console.error(text) } else { Console.line(text) }
            return
        } catch {
            Console.error(error.description)
            throw ExitCode(error.exitCode)
        }
        if options.json {
            Console.line(try GlobalOptions.json(reading))
        } else {
            Console.line(Self.render(reading, style: Console.outputStyle, times: options.times))
        }
    }

    /// Prints the newest reading of each of several sources: a JSON line each with --json, the meter
    /// otherwise. A source whose status has no reading is asked for one (`GET /v1/levels?source=`); one
    /// that has delivered no audio yet says so.
    private func printAll(_ sources: [SourceStatus]) async throws {
        var readings: [(name: String, reading: LevelsResponse?)] = []
        for source in sources {
            var reading = source.levels
            if reading == nil {
                do {
                    reading = try await options.client.levels(source: source.name)
                } catch let error where Self.isNoAudioYet(error) || error.status == 404 {
                    reading = nil
                } catch {
                    Console.error(error.description)
                    throw ExitCode(error.exitCode)
                }
            }
            readings.append((source.name, reading.map { Self.named($0, source.name) }))
        }
        if options.json {
            let encoder = ControlAPI.encoder()
            for (name, reading) in readings {
                guard let reading else {
                    Console.error("\(name): no audio yet")
                    continue
                }
                Console.line(String(decoding: try encoder.encode(reading), as: UTF8.self))
            }
        } else {
            Console.line(Self.render(readings, style: Console.outputStyle, times: options.times))
        }
    }

    private static func named(_ reading: LevelsResponse, _ name: String) -> LevelsResponse {
        var reading = reading
        reading.source = name
        return reading
    }

    /// Whether `error` is the daemon's 503 for a capture that has not delivered audio yet (as opposed to a
    /// 503 for a busy daemon), told apart by the message the daemon starts it with.
    static func isNoAudioYet(_ error: ClientError) -> Bool {
        error.code == .apiError && error.status == 503 && error.message.hasPrefix("no audio yet")
    }

    /// One reading as meter lines, for `audiocap levels` without --follow.
    static func render(_ reading: LevelsResponse, style: Style = .plain, times: TimeStyle = .utc) -> String {
        render([(reading.source ?? "", reading)], style: style, times: times)
    }

    /// The newest reading of each source as meter lines, for `audiocap levels` without --follow: with one
    /// source its channels numbered from 1; with several, each row labelled with its source's name and a
    /// source without a reading shown as "no audio yet".
    static func render(
        _ sources: [(name: String, reading: LevelsResponse?)], style: Style = .plain, times: TimeStyle = .utc
    ) -> String {
        let meter = MeterLine(style: style)
        let labelled = sources.count > 1
        let readings = sources.compactMap(\.reading)
        let labelWidth = labelWidth(readings, names: sources.map(\.name), labelled: labelled)
        var header = "levels at \(TextFormat.timeWithTenths(readings.map(\.time).max() ?? 0, times))"
        if !labelled, let only = readings.first, only.silent { header += "  silent" }
        var lines = [header]
        var notes: [String] = []
        for (name, reading) in sources {
            guard let reading else {
                lines.append(pad(name, labelWidth) + " " + style.yellow("no audio yet"))
                continue
            }
            lines += meterLines(
                reading, source: labelled ? name : nil, labelWidth: labelWidth, meter: meter, holds: nil)
            if labelled {
                notes += Self.notes(reading, source: name, style: style)
            } else if let problems = SoundHealthText.problems(reading) {
                notes.append(style.red("health: " + problems))
            }
        }
        lines.append(meter.scale(labelWidth: labelWidth))
        return (lines + notes).joined(separator: "\n")
    }

    /// The width of the labels before the bars: the channel number (`2`, ` 12`) and, when `labelled`, the
    /// source's name before it, padded to the longest (`mic  1`, `cam2 1`).
    static func labelWidth(_ readings: [LevelsResponse], names: [String]? = nil, labelled: Bool) -> Int {
        let digits = String(readings.map(\.channels.count).max() ?? 1).count
        guard labelled else { return digits }
        let nameWidth = (names ?? readings.map { $0.source ?? "" }).map(\.count).max() ?? 0
        return nameWidth + 1 + digits
    }

    /// One meter line per channel of `reading`, labelled `source channel` when `source` is given, with the
    /// held peaks and clip marks of `holds` (the reading's own peaks when nil).
    static func meterLines(
        _ reading: LevelsResponse, source: String?, labelWidth: Int, meter: MeterLine,
        holds: [(hold: Double, clip: Bool)]?
    ) -> [String] {
        reading.channels.enumerated().map { index, channel in
            let number = String(index + 1)
            let label: String
            if let source {
                let digits = max(number.count, labelWidth - source.count - 1)
                let nameWidth = labelWidth - digits - 1
                label = pad(source, nameWidth) + " " + String(repeating: " ", count: digits - number.count) + number
            } else {
                label = String(repeating: " ", count: max(0, labelWidth - number.count)) + number
            }
            let held = holds.flatMap { index < $0.count ? $0[index] : nil }
            return meter.render(
                label: label, peak: channel.peakDBFS, rms: channel.rmsDBFS, hold: held?.hold ?? channel.peakDBFS,
                clip: held?.clip ?? (channel.clipped > 0))
        }
    }

    /// What a labelled meter says under the scale about one source: `mic: silent`, `mic: health: ...`.
    static func notes(_ reading: LevelsResponse, source: String, style: Style) -> [String] {
        var notes: [String] = []
        if reading.silent { notes.append("\(source): " + style.yellow("silent")) }
        if let problems = SoundHealthText.problems(reading) {
            notes.append("\(source): " + style.red("health: " + problems))
        }
        return notes
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }

    private func runFollowing() async throws {
        let options = self.options
        let interval = self.interval
        let only = self.source
        let terminal = Console.outputIsTerminal && !options.json
        let style = Console.outputStyle
        let times = options.times
        let resized = ResizeFlag()
        if terminal { Console.write(MeterScreen.begin) }
        defer { if terminal { Console.write(MeterScreen.end) } }
        try await Interruption.runUntilInterrupted {
            try await withThrowingTaskGroup(of: Void.self) { group in
                if terminal {
                    group.addTask {
                        for await _ in await UnixSignalsSequence(trapping: .sigwinch) { resized.set() }
                    }
                }
                defer { group.cancelAll() }
                var screen = MeterScreen(meter: MeterLine(style: style), columns: Console.columns, times: times)
                let progress = FollowAcrossRestarts.Progress()
                try await options.withClient { _ in
                    try await FollowAcrossRestarts.run(socketPath: options.socket, progress: progress) {
                        client, resumed in
                        if resumed { screen.startBelow() }
                        // The sources' names, so their groups keep the configuration's order and are labelled
                        // from the first frame on.
                        let names = only == nil ? try await client.status().sources.map(\.name) : []
                        if names.count > 1 { screen.sources = names }
                        let labelled = names.count > 1
                        try await client.followLevels(intervalMilliseconds: interval, source: only) { reading in
                            progress.saw()
                            if options.json {
                                Console.line(reading.json)
                            } else if terminal {
                                if resized.take() {
                                    screen.resize(columns: Console.columns)
                                }
                                Console.write(screen.frame(reading.value))
                            } else {
                                Console.line(
                                    MeterScreen.plainLine(
                                        reading.value, times: times, source: labelled ? reading.value.source : nil))
                            }
                        }
                    }
                }
            }
        }
    }
}
/// Set on SIGWINCH, taken by the next frame of the meter.
private final class ResizeFlag: Sendable {
    private let flag = Mutex(false)

    func set() { flag.withLock { $0 = true } }

    /// Whether the terminal was resized since the last call.
    func take() -> Bool {
        flag.withLock { value in
            defer { value = false }
            return value
        }
    }
}
