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

/// `audiocap levels [--follow] [--interval D] [--json]`.
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

            With --follow the meter is redrawn in place while standard output is a terminal, as wide as \
            the terminal (redrawn when it is resized); when it is a pipe or a file, each reading is one line \
            instead. With --json each reading is printed as the daemon sends it, one JSON object per line. \
            When audiocapd restarts it says so on standard error, waits for it and carries on. Ctrl-C ends \
            it (exit 0). Times are local ($TZ), or UTC with --utc.

            Before ffmpeg has delivered any audio there are no levels: it says "no audio yet" and exits 0.

            Examples:
              audiocap levels
              audiocap levels --follow
              audiocap levels --follow --interval 500
              audiocap levels --follow --json | jq -c '[.channels[].peak_dbfs]'
            """
    )

    @Flag(name: [.short, .long], help: "Keep showing new readings until Ctrl-C.")
    public var follow = false

    @Option(help: ArgumentHelp("Milliseconds between readings with --follow.", valueName: "ms"))
    public var interval = 100

    @OptionGroup public var options: GlobalOptions

    public init() {}

    public func validate() throws {
        guard (20...60_000).contains(interval) else {
            throw ValidationError("--interval must be from 20 to 60000 milliseconds")
        }
    }

    public func run() async throws {
        if follow {
            try await runFollowing()
            return
        }
        let reading: LevelsResponse
        do {
            reading = try await options.client.levels()
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

    /// Whether `error` is the daemon's 503 for a capture that has not delivered audio yet (as opposed to a
    /// 503 for a busy daemon), told apart by the message the daemon starts it with.
    static func isNoAudioYet(_ error: ClientError) -> Bool {
        error.code == .apiError && error.status == 503 && error.message.hasPrefix("no audio yet")
    }

    /// One reading as meter lines, for `audiocap levels` without --follow.
    static func render(_ reading: LevelsResponse, style: Style = .plain, times: TimeStyle = .utc) -> String {
        let meter = MeterLine(style: style)
        let labelWidth = String(reading.channels.count).count
        var lines = [
            "levels at \(TextFormat.timeWithTenths(reading.time, times))" + (reading.silent ? "  silent" : "")
        ]
        for (index, channel) in reading.channels.enumerated() {
            let label = String(index + 1)
            lines.append(
                meter.render(
                    label: String(repeating: " ", count: labelWidth - label.count) + label,
                    peak: channel.peakDBFS, rms: channel.rmsDBFS, hold: channel.peakDBFS,
                    clip: channel.clipped > 0))
        }
        lines.append(meter.scale(labelWidth: labelWidth))
        if let problems = SoundHealthText.problems(reading) { lines.append(style.red("health: " + problems)) }
        return lines.joined(separator: "\n")
    }

    private func runFollowing() async throws {
        let options = self.options
        let interval = self.interval
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
                        try await client.followLevels(intervalMilliseconds: interval) { reading in
                            progress.saw()
                            if options.json {
                                Console.line(reading.json)
                            } else if terminal {
                                if resized.take() {
                                    screen.resize(columns: Console.columns)
                                }
                                Console.write(screen.frame(reading.value))
                            } else {
                                Console.line(MeterScreen.plainLine(reading.value, times: times))
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
