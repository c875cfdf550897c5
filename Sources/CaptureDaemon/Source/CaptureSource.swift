// Runs ffmpeg against the configured input, feeds its stdout to the reader thread, restarts it when it dies.
import CSystemShims
import CaptureCore
import CaptureEnvironment
import CaptureProtocol
import Foundation
import Logging
import Subprocess
import Synchronization
import SystemPackage

#if canImport(Glibc)
    import Glibc
#endif

/// Supervises ffmpeg: starts it with the configured argument vector, hands its stdout to a
/// ``PipeReader`` and its stderr to a ``StderrMonitor``, reports how each run ended, and starts it again
/// after a pause that doubles from `restartDelaySeconds` up to 30 s (with jitter) and resets once a run
/// has delivered 30 s of audio. A run that delivers no bytes for `stallSeconds` is killed and restarted.
public final class CaptureSource: Sendable {
    public enum Phase: String, Sendable, Codable {
        case starting, running, restarting, stopped
    }

    /// A snapshot for status reports.
    public struct Status: Sendable, Codable {
        public var phase: Phase
        public var pid: Int32?
        public var run: Int
        public var restarts: Int
        public var lastExit: String?
        public var lastErrorLines: [String]
        public var nextStartInSeconds: Double?
    }

    enum Signal: Sendable {
        case ended(run: Int)
        /// The run's stream copy is not the configured format (``StreamCheck``).
        case refused(run: Int, reason: String, frame: Int64, time: Double)
        case stop
        case tick
    }

    private let configuration: SourceConfiguration
    private let pool: ChunkPool
    private let fanout: ChunkFanout
    public let counters: CaptureCounters
    private let events: EventLog
    private let logger: Logger
    private let stallSeconds: Double
    /// Hides the device URL's secrets in events, logs and ffmpeg's error lines.
    private let mask: CredentialMask
    private let maximumDelay = 30.0
    private let healthyRunSeconds = 30.0
    private let signals = SignalQueue<Signal>()

    private struct State {
        var status = Status(
            phase: .starting, pid: nil, run: 0, restarts: 0, lastExit: nil, lastErrorLines: [], nextStartInSeconds: nil)
        var stopping = false
        var nextStart: Double? = nil
        var nextFrame: Int64 = 0
        var clock: FrameClock
        /// Set once a stream copy was refused: from then on ffmpeg converts to the configured format.
        var convert = false
        /// Set once ffmpeg said it has no `setts` filter (before 4.4): from then on it runs without.
        var plainTimestamps = false
    }
    private let state: Mutex<State>

    public init(
        configuration: SourceConfiguration, pool: ChunkPool, fanout: ChunkFanout, counters: CaptureCounters,
        events: EventLog, logger: Logger, stallSeconds: Double = 5, mask: CredentialMask? = nil
    ) {
        self.mask = mask ?? CredentialMask(device: configuration.device)
        self.configuration = configuration
        self.pool = pool
        self.fanout = fanout
        self.counters = counters
        self.events = events
        self.logger = logger
        self.stallSeconds = stallSeconds
        state = Mutex(State(clock: FrameClock(sampleRate: configuration.sampleRate)))
    }

    public var status: Status {
        state.withLock { state in
            var status = state.status
            if let next = state.nextStart { status.nextStartInSeconds = max(0, next - SystemClock.monotonic()) }
            return status
        }
    }

    /// The device with its secrets masked.
    private var shownDevice: String { mask.mask(configuration.device) }

    /// Asks the supervision loop to stop ffmpeg (SIGTERM, then SIGKILL after 3 s) and return. Any thread.
    public func stop() {
        state.withLock { $0.stopping = true }
        signals.post(.stop)
    }

    private var stopping: Bool { state.withLock { $0.stopping } }

    /// Runs ffmpeg until ``stop()``; returns once the last run has ended and its audio is published.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            let signals = self.signals
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(self.nextTickDelay()))
                    signals.post(.tick)
                }
            }
            await supervise()
            group.cancelAll()
        }
        state.withLock {
            $0.status.phase = .stopped; $0.status.pid = nil; $0.nextStart = nil
        }
    }

    /// When the supervision loop should look again: while audio flows, just after a stall would be due
    /// (`stallSeconds` after the last audio), so a healthy capture wakes it every few seconds rather than
    /// four times a second; else (ffmpeg starting, no audio yet, a restart pending) in 250 ms.
    private func nextTickDelay() -> Double {
        let phase = state.withLock { $0.status.phase }
        let now = SystemClock.monotonic()
        guard phase == .running, let last = counters.lastAudioMonotonic else { return 0.25 }
        return min(30, max(0.25, last + stallSeconds - now + 0.05))
    }

    private func supervise() async {
        var failures = 0
        while !stopping {
            let (delivered, refused) = await runOnce()
            if stopping { break }
            // A refused stream copy: start again at once, converting; not a failure of the device.
            if refused { continue }
            if Double(delivered) >= healthyRunSeconds * Double(configuration.sampleRate) { failures = 0 }
            let base = configuration.restartDelaySeconds * pow(2, Double(failures))
            let delay = min(maximumDelay, base) * Double.random(in: 0.8...1.2)
            failures += 1
            let until = SystemClock.monotonic() + delay
            state.withLock {
                $0.status.phase = .restarting
                $0.status.restarts += 1
                $0.nextStart = until
            }
            events.emit(
                .notice, "ffmpeg.restart_scheduled", "ffmpeg will be started again",
                [
                    "delay_seconds": .seconds(delay), "attempt": .int(Int64(failures)),
                ])
            // The ticker may be asleep until a stall would have been due: this pause has its own alarm.
            await withTaskGroup(of: Void.self) { group in
                let signals = self.signals
                group.addTask {
                    try? await Task.sleep(for: .seconds(delay))
                    signals.post(.tick)
                }
                while SystemClock.monotonic() < until, !stopping {
                    if case .stop = await signals.next() { break }
                }
                group.cancelAll()
            }
            state.withLock { $0.nextStart = nil }
        }
    }

    /// One ffmpeg run. Returns the frames it delivered, and whether its stream copy was refused.
    private func runOnce() async -> (frames: Int64, refused: Bool) {
        let (run, firstFrame, clock, convert, renumber) = state.withLock {
            state -> (Int, Int64, FrameClock, Bool, Bool) in
            state.status.run += 1
            state.status.phase = .starting
            var clock = state.clock
            clock.reset()
            return (state.status.run, state.nextFrame, clock, state.convert, !state.plainTimestamps)
        }
        var device = configuration.device
        if configuration.inputFormat == "alsa" {
            let named = configuration.device
            switch await BlockingWorker.shared.run({ DeviceResolver().resolve(named) }) {
            case .device(let name):
                if name != configuration.device {
                    events.emit(
                        .info, "source.device_resolved", "device link resolved to its current ALSA card",
                        [
                            "source.device": .string(shownDevice), "alsa.device": .string(name),
                        ])
                }
                device = name
            case .missing(let message):
                let available = await BlockingWorker.shared.run {
                    ALSAProbe.ask()?.devices.joined(separator: ", ") ?? "unknown (ALSA did not answer)"
                }
                events.emit(
                    .error, "source.device_unavailable", "the capture device is not there; retrying",
                    [
                        "source.device": .string(shownDevice), "error": .string(message),
                        "alsa.capture_devices": .string(available),
                    ])
            }
        }
        let command = FFmpegCommand(source: configuration)
        let copy = command.copiesStream && !convert
        let arguments = command.arguments(device: device, convert: convert, renumber: renumber)
        var output: [Int32] = [-1, -1]
        var errors: [Int32] = [-1, -1]
        guard audiocap_pipe_cloexec(&output) == 0 else {
            events.emit(.error, "ffmpeg.failed", "could not create a pipe for ffmpeg", ["errno": .int(Int64(errno))])
            return (0, false)
        }
        guard audiocap_pipe_cloexec(&errors) == 0 else {
            close(output[0]); close(output[1])
            events.emit(.error, "ffmpeg.failed", "could not create a pipe for ffmpeg", ["errno": .int(Int64(errno))])
            return (0, false)
        }
        // A larger pipe holds more than a second of audio if the reader is ever descheduled.
        _ = audiocap_set_pipe_size(output[0], 1 << 20)

        let signals = self.signals
        let check = copy ? StreamCheck(format: configuration.audioFormat) : nil
        var readerConfiguration = PipeReader.Configuration(
            format: configuration.audioFormat, chunkFrames: configuration.chunkFrames, run: run, firstFrame: firstFrame)
        readerConfiguration.check = check
        readerConfiguration.idleWakeSeconds = min(
            PipeReader.idleWakeSeconds, (configuration.queue ?? QueueConfiguration()).seconds / 4)
        readerConfiguration.onRefused = { reason, frame, time in
            signals.post(.refused(run: run, reason: reason, frame: frame, time: time))
        }
        let reader = PipeReader(
            fd: output[0], configuration: readerConfiguration, clock: clock, pool: pool, fanout: fanout,
            counters: counters)
        reader.start { _ in signals.post(.ended(run: run)) }
        let monitor = StderrMonitor(fd: errors[0], logger: logger, counters: counters, mask: mask, check: check)
        monitor.start()

        let executable: Executable =
            configuration.ffmpeg.contains("/") ? .path(FilePath(configuration.ffmpeg)) : .name(configuration.ffmpeg)
        let startedAt = SystemClock.monotonic()
        let tornBefore = counters.trailingBytesDiscarded.load(ordering: .relaxed)
        let refusedBefore = counters.framesRefused.load(ordering: .relaxed)
        var termination: String
        var stalled = false
        var refused = false
        // The run failed for a reason the next one avoids (no `setts`): start again at once.
        var again = false
        do {
            let result = try await Subprocess.run(
                executable,
                arguments: Arguments(arguments),
                environment: .inherit,
                input: .none,
                output: .fileDescriptor(FileDescriptor(rawValue: output[1]), closeAfterSpawningProcess: false),
                error: .fileDescriptor(FileDescriptor(rawValue: errors[1]), closeAfterSpawningProcess: false)
            ) { execution in
                // The child has its copies; closing ours lets the reader see end of stream when it exits.
                close(output[1])
                close(errors[1])
                let pid = execution.processIdentifier.value
                counters.ffmpegStarts.add(1, ordering: .relaxed)
                state.withLock {
                    $0.status.pid = pid; $0.status.phase = .running
                }
                events.emit(
                    .info, "ffmpeg.started", "ffmpeg started",
                    [
                        "ffmpeg.pid": .int(Int64(pid)), "ffmpeg.run": .int(Int64(run)),
                        "source.device": .string(shownDevice), "ffmpeg.stream_copy": .bool(copy),
                    ])
                logger.debug(
                    "ffmpeg arguments", metadata: ["ffmpeg.arguments": "\(mask.mask(arguments.joined(separator: " ")))"]
                )
                var tornDown = false
                while true {
                    switch await signals.next() {
                    case .ended(let ended) where ended == run:
                        return
                    case .refused(let refusedRun, let reason, let frame, let time) where refusedRun == run:
                        refused = true
                        state.withLock { $0.convert = true }
                        events.emit(
                            .warning, "ffmpeg.stream_copy_refused",
                            "the device does not deliver the configured format; ffmpeg starts again and converts",
                            [
                                "reason": .string(reason), "ffmpeg.pid": .int(Int64(pid)),
                                "drop.first_frame": .int(frame), "drop.time": .epoch(time), "drop.time_utc": .utc(time),
                            ])
                        if !tornDown {
                            tornDown = true
                            await execution.teardown(using: [.gracefulShutDown(allowedDurationToNextStep: .seconds(2))])
                        }
                    case .ended, .refused:
                        continue
                    case .stop:
                        if !tornDown {
                            tornDown = true
                            await execution.teardown(using: [.gracefulShutDown(allowedDurationToNextStep: .seconds(3))])
                        }
                    case .tick:
                        let last = counters.lastAudioMonotonic ?? startedAt
                        let now = SystemClock.monotonic()
                        if !tornDown, now - max(last, startedAt) > stallSeconds {
                            tornDown = true
                            stalled = true
                            events.emit(
                                .warning, "ffmpeg.stalled", "no audio from ffmpeg; stopping it to start again",
                                [
                                    "stall_seconds": .seconds(now - max(last, startedAt)),
                                    "ffmpeg.pid": .int(Int64(pid)),
                                ])
                            await execution.teardown(using: [.gracefulShutDown(allowedDurationToNextStep: .seconds(2))])
                        }
                    }
                }
            }
            termination = result.terminationStatus.description
        } catch {
            // Not started: our copies of the write ends are still open; closing them ends the reader.
            close(output[1])
            close(errors[1])
            termination = mask.mask("could not start: \(error)")
            while true {
                if case .ended(let ended) = await signals.next(), ended == run { break }
            }
        }
        await monitor.done()
        let outcome = await reader.outcome()
        let tail = monitor.tail
        if renumber, monitor.missingFilter, outcome.frames == 0, !stopping {
            // An ffmpeg older than 4.4: no `setts`. Start again at once without it (its only loss is a few
            // harmless error lines a second about timestamps).
            state.withLock { $0.plainTimestamps = true }
            events.emit(
                .notice, "ffmpeg.timestamp_filter_unavailable",
                "this ffmpeg has no setts filter (it came with ffmpeg 4.4); starting it again without",
                ["ffmpeg.stderr_tail": .string(tail.suffix(3).joined(separator: " | "))])
            again = true
        }
        state.withLock {
            $0.nextFrame = outcome.nextFrame
            $0.clock = outcome.clock
            $0.status.pid = nil
            $0.status.lastExit = termination
            $0.status.lastErrorLines = tail
        }
        let seconds = configuration.audioFormat.seconds(frames: outcome.frames)
        var fields: [String: EventValue] = [
            "ffmpeg.status": .string(termination), "ffmpeg.run": .int(Int64(run)),
            "frames": .int(outcome.frames), "audio_seconds": .seconds(seconds),
            "ffmpeg.stderr_tail": .string(tail.suffix(5).joined(separator: " | ")),
        ]
        if stalled { fields["stalled"] = .bool(true) }
        let refusedFrames = counters.framesRefused.load(ordering: .relaxed) - refusedBefore
        if refusedFrames > 0 {
            // The audio of a refused stream copy: not recorded, counted (and in status's dropped frames).
            fields["refused_frames"] = .int(refusedFrames)
            fields["refused_seconds"] = .seconds(configuration.audioFormat.seconds(frames: refusedFrames))
        }
        let torn = counters.trailingBytesDiscarded.load(ordering: .relaxed) - tornBefore
        if torn > 0 { fields["torn_frame_bytes_discarded"] = .int(torn) }
        if stopping {
            events.emit(.info, "ffmpeg.exited", "ffmpeg stopped", fields)
        } else if refused {
            events.emit(.notice, "ffmpeg.exited", "ffmpeg stopped to convert the stream", fields)
        } else {
            events.emit(.warning, "ffmpeg.exited", "ffmpeg exited on its own", fields)
            if configuration.inputFormat == "alsa", outcome.frames == 0, !again {
                await reportDevice(tail: tail)
            }
        }
        return (outcome.frames, refused || again)
    }

    /// After ALSA capture failed to start: says which devices exist.
    private func reportDevice(tail: [String]) async {
        let device = configuration.device
        // ALSA opens the card's control device: blocking, so on the blocking-work thread.
        let answer = await BlockingWorker.shared.run { ALSAProbe.ask(opening: device) }
        let names = answer?.devices.joined(separator: ", ") ?? "unknown (ALSA did not answer)"
        let openError = answer?.openError
        events.emit(
            .error, "source.device_unavailable", "the ALSA capture device could not be opened; check [source] device",
            [
                "source.device": .string(shownDevice),
                "alsa.error": .string(openError ?? tail.last ?? "unknown"),
                "alsa.capture_devices": .string(names.isEmpty ? "none" : names),
            ])
    }
}
