// The daemon as one service: the captures, their consumers, the control API, and their orderly shutdown.
import CaptureCore
import CaptureProtocol
import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// Wires one data path per source (ffmpeg → reader thread → per-consumer queues → level monitor and
/// segment writers; a ``SourceCapture``) from a ``Configuration`` and runs them, with the control API,
/// until graceful shutdown.
///
/// On shutdown the control API stops first, then every ffmpeg (SIGTERM, then SIGKILL), the readers
/// publish the last audio, every queue is drained and every open segment closed with a correct header.
public final class AudioCapDaemon: Service, Sendable {
    public let configuration: Configuration
    public let events: EventLog
    /// The running captures, one per source, in the configuration's order (a reload may change them).
    public let captures: CaptureSet
    public let recordings: RecordingController
    /// The `[[trigger]]`s, each writing clips around the sounds of its source.
    public let triggers: TriggerSet
    /// Uploads, webhooks and file hooks (docs/fleet.md).
    public let delivery: Delivery
    /// Keeps `[storage] min_free_bytes` free for every writer.
    public let diskGuard: DiskSpaceGuard
    let lowSpaceWarning: LowSpaceWarning
    let clockCheck: ClockCheck
    /// Steps of the wall clock (checked every second): an event, and age-based retention pauses.
    public let clockSteps: ClockStepWatch
    /// The free space the last disk check measured, which status reports without waiting on the disk.
    let lastDiskSpace = LastDiskSpace()
    /// Captures for the run loop to run: those of the configuration, then those a reload adds.
    private let captureStarts: AsyncStream<SourceCapture>
    private let captureStartsInput: AsyncStream<SourceCapture>.Continuation
    private let logger: Logger
    /// Wall time the daemon started.
    public let startedAt = Date().timeIntervalSince1970

    /// Where the configuration came from, for SIGHUP reloads (nil: no reloading).
    public let configurationPath: String?
    private let workingDirectory = FileManager.default.currentDirectoryPath
    /// Whether a reload is being applied (one at a time).
    private let reloading = Mutex(false)

    public init(configuration: Configuration, configurationPath: String? = nil, logger: Logger) {
        self.configuration = configuration
        self.configurationPath = configurationPath
        self.logger = logger
        let events = EventLog(
            logger: logger, store: EventStore(directory: configuration.storage.state),
            station: configuration.station.resolvedID)
        self.events = events
        let captures = configuration.effectiveSources.map {
            SourceCapture(configuration: $0, events: events, logger: logger)
        }
        self.captures = CaptureSet(captures)
        (captureStarts, captureStartsInput) = AsyncStream.makeStream(of: SourceCapture.self)
        delivery = Delivery(configuration: configuration, events: events, logger: logger)
        diskGuard = DiskSpaceGuard(
            minFreeBytes: configuration.storage.minFreeBytes, events: events, holds: delivery.holds)
        lowSpaceWarning = LowSpaceWarning(warningHours: configuration.storage.lowSpaceWarningHours, events: events)
        clockCheck = ClockCheck(events: events)
        let clockSteps = ClockStepWatch(events: events)
        self.clockSteps = clockSteps
        let options = SegmentWriter.Options(
            gapFill: configuration.source.gapFill, diskGuard: diskGuard, faults: FaultInjection.fromEnvironment(),
            clockSteps: clockSteps, station: configuration.station, holds: delivery.holds)
        recordings = RecordingController(
            captures: captures, events: events, logger: logger, storageRoot: configuration.storage.root,
            continuous: configuration.recordings,
            maxOnDemand: configuration.control.maxRecordings,
            options: options)
        triggers = TriggerSet(events: events, logger: logger, options: options)
    }

    public func run() async throws {
        // File-system work: on the blocking-work thread, not on Swift's shared executor.
        let previousRun = await BlockingWorker.shared.run { [self] in readPreviousRun() }
        let previous = previousRun.state
        var startFields: [String: EventValue] = [:]
        if let previous {
            let end = previousRun.audioEnds.values.max() ?? previous.lastAudioEnd
            startFields["previous.audio_end"] = .epoch(end)
            startFields["previous.audio_end_utc"] = .utc(end)
            startFields["previous.clean_stop"] = .bool(previous.clean)
        }
        events.emit(
            .info, "daemon.started", "audiocapd started",
            startFields.merging([
                "version": .string(AudioCapVersion.string),
                "pid": .int(Int64(getpid())),
                "sources": .string(
                    captures.all.map { capture in
                        let format = capture.format
                        return "\(capture.name) (\(capture.configuration.inputFormat) \(capture.shownDevice), "
                            + "\(format.sampleFormat.rawValue) \(format.sampleRate) Hz \(format.channels) ch)"
                    }.joined(separator: "; ")),
                "recordings": .string(configuration.recordings.map(\.name).joined(separator: ",")),
            ]) { $1 })
        clockCheck.check()
        clockSteps.check()
        for capture in captures.all {
            captureStartsInput.yield(capture)
        }
        await recordings.startContinuous(audioEnds: previousRun.audioEnds, sequences: previous?.sequences ?? [:])
        await triggers.start(configuration.triggers, captures: captures.all)

        let control: ControlServer? =
            configuration.control.socket.isEmpty
            ? nil : ControlServer(daemon: self, configuration: configuration.control, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            if let control {
                group.addTask { try await control.run() }
            }
            if let address = configuration.metrics.address {
                let metrics = MetricsServer(daemon: self, host: address.host, port: address.port, logger: logger)
                group.addTask { try await metrics.run() }
            }
            group.addTask { [self] in
                await housekeeping()
            }
            group.addTask { [delivery] in
                await delivery.run()
            }
            if configurationPath != nil {
                group.addTask { [self] in
                    for await _ in await UnixSignalsSequence(trapping: .sighup) {
                        await reload()
                    }
                }
            }
            let notifier = SystemdNotifier()
            let (starts, captures) = (captureStarts, self.captures)
            await withGracefulShutdownHandler {
                // Each capture runs in a child task of its own, for as long as it is configured.
                await withDiscardingTaskGroup { runs in
                    for await capture in starts {
                        runs.addTask { await capture.run() }
                    }
                }
            } onGracefulShutdown: { [captureStartsInput] in
                notifier.notify("STOPPING=1\nSTATUS=stopping: closing segments")
                captures.stopAll()
                captureStartsInput.finish()
            }
            group.cancelAll()
            try? await group.waitForAll()
        }
        // Every ffmpeg is gone, each reader has published its last chunk and every queue is closed:
        // the recordings write what they hold and close their files.
        await recordings.waitForAll()
        await triggers.waitForAll()
        await saveCaptureState(clean: true)
        events.emit(
            .info, "daemon.stopped", "audiocapd stopped",
            [
                "frames_captured": .int(
                    captures.all.reduce(Int64(0)) { $0 + $1.counters.framesCaptured.load(ordering: .relaxed) })
            ])
        // Every event, daemon.stopped included, is in events.jsonl before the daemon exits.
        await events.flush()
    }

    /// What the last run left: its saved state and, per continuous recording, where its audio on disk ends.
    struct PreviousRun: Sendable {
        var state: CaptureStateFile?
        var audioEnds: [String: Double]
    }

    /// Start-up work on the disk (blocking; on the start-up thread): reads `capture.json`, repairs the
    /// files a crash left open, measures where each recording's audio on disk ends, and marks the state
    /// unclean until the next orderly shutdown (so a crash after a clean stop is not taken for one).
    private func readPreviousRun() -> PreviousRun {
        var previous: CaptureStateFile?
        do {
            previous = try CaptureStateFile.read(stateDirectory: configuration.storage.state)
        } catch {
            events.emit(
                .warning, "state.damaged", "the saved capture state is damaged and ignored",
                [
                    "state.path": .string(error.path), "error": .string(error.description),
                ])
        }
        let partials = repairPartialFiles()
        // Files closed or repaired while the daemon was down join the outbox before any new file closes.
        delivery.prepare()
        var closed: [String: Double] = [:]
        for recording in configuration.recordings {
            closed[recording.name] = RecordingOnDisk.newestClosedEnd(
                directory: recording.directory,
                template: FilenameTemplate(recording.filename, timeZone: recording.timeZone),
                name: recording.name)
        }
        let ends = RestartGap.audioEnds(
            names: configuration.recordings.map(\.name), state: previous, repaired: partials, closed: closed)
        let names = configuration.recordings.map(\.name)
        let unclean = CaptureStateFile(
            lastAudioEnd: ends.values.max() ?? previous?.lastAudioEnd ?? Date().timeIntervalSince1970,
            recordings: Array(Set(names).union(previous?.recordings ?? [])).sorted(), clean: false,
            sequences: previous?.sequences)
        if !unclean.write(stateDirectory: configuration.storage.state) {
            logger.warning(
                "could not save the capture state",
                metadata: ["path": "\(CaptureStateFile.path(inStateDirectory: configuration.storage.state))"])
        }
        return PreviousRun(state: previous, audioEnds: ends)
    }

    /// SIGHUP and `POST /v1/reload`: reads the configuration again and applies its sources and recordings.
    /// A source new to the file starts, a removed one stops (with the recordings it fed), a changed one
    /// (its `[[source]]`, or the `[queue]`/`[levels]` it inherits) restarts; the others are not touched.
    /// Recordings: new ones start, removed ones stop, running ones whose settings or source changed
    /// restart. A configured recording stopped with `audiocap stop` stays stopped. A file with errors is
    /// refused and the running configuration stays. Other changes need a restart, and say so.
    ///
    /// Returns what it did; nil when the daemon was started without a configuration file.
    @discardableResult
    func reload() async -> ReloadResult? {
        guard let configurationPath else { return nil }
        guard
            reloading.withLock({ busy in
                !busy
                    ? {
                        busy = true; return true
                    }() : false
            })
        else {
            return ReloadResult(
                configPath: configurationPath, errors: ["a reload is already in progress; try again when it is done"])
        }
        defer { reloading.withLock { $0 = false } }
        let next: Configuration
        do {
            let workingDirectory = self.workingDirectory
            next = try await BlockingWorker.shared.run(throwing: {
                try ConfigurationLoader.load(path: configurationPath).resolvingRelativePaths(against: workingDirectory)
            })
        } catch {
            events.emit(
                .error, "config.reload_failed", "the new configuration has errors; the running one stays",
                [
                    "config.path": .string(configurationPath), "error": .string("\(error)"),
                ])
            return ReloadResult(configPath: configurationPath, errors: ["\(error)"])
        }
        let sourceChanges = await applySources(next)
        var applied = await recordings.apply(next.recordings, captures: sourceChanges.captures)
        let triggersApplied = await triggers.apply(next.triggers, captures: sourceChanges.captures)
        applied.started += triggersApplied.started
        applied.stopped += triggersApplied.stopped
        applied.restarted += triggersApplied.restarted
        for capture in sourceChanges.new {
            if case .terminated = captureStartsInput.yield(capture) {
                // Shutting down: run it to its end here, so its queues close and its recordings finish.
                capture.stop()
                await capture.run()
            }
        }
        let waiting = Self.sectionsNeedingRestart(from: configuration, to: next)
        let needsRestart = !waiting.isEmpty
        events.emit(
            needsRestart ? .warning : .notice, "config.reloaded",
            needsRestart
                ? "recordings reloaded; other changed settings take effect at the next restart"
                : "configuration reloaded",
            [
                "config.path": .string(configurationPath),
                "recordings.started": .string(applied.started.joined(separator: ",")),
                "recordings.stopped": .string(applied.stopped.joined(separator: ",")),
                "recordings.restarted": .string(applied.restarted.joined(separator: ",")),
                "sources.started": .string(sourceChanges.started.joined(separator: ",")),
                "sources.stopped": .string(sourceChanges.stopped.joined(separator: ",")),
                "sources.restarted": .string(sourceChanges.restarted.joined(separator: ",")),
                "sources.levels_changed": .string(sourceChanges.levelsChanged.joined(separator: ",")),
                "restart_needed_for": .string(waiting.joined(separator: ",")),
            ])
        return ReloadResult(
            configPath: configurationPath, started: applied.started, stopped: applied.stopped,
            restarted: applied.restarted, restartNeededFor: waiting, sourcesStarted: sourceChanges.started,
            sourcesStopped: sourceChanges.stopped, sourcesRestarted: sourceChanges.restarted,
            sourcesLevelsChanged: sourceChanges.levelsChanged)
    }

    /// What a reload did to the captures.
    private struct SourceChanges {
        /// The captures of the new configuration, in its order; `new` are those not yet started.
        var captures: [SourceCapture]
        var new: [SourceCapture]
        var started: [String] = []
        var stopped: [String] = []
        var restarted: [String] = []
        /// Sources whose `[levels]` alone changed: their level monitor was replaced, their capture kept.
        var levelsChanged: [String] = []
    }

    /// Stops the captures of sources removed or changed in `next` (waiting until their queues are closed)
    /// and makes new ones for the sources added or changed; the others carry on untouched.
    private func applySources(_ next: Configuration) async -> SourceChanges {
        let current = captures.all
        let wanted = next.effectiveSources
        var changes = SourceChanges(captures: [], new: [])
        for capture in current where !wanted.contains(capture.configuration) {
            // Only its [levels] changed: a new level monitor, and the capture carries on.
            if let source = wanted.first(where: { $0.name == capture.name }),
                source
                    == {
                        var running = capture.configuration; running.levels = source.levels; return running
                    }()
            {
                await capture.applyLevels(source.levels ?? next.levels)
                changes.levelsChanged.append(capture.name)
                continue
            }
            capture.stop()
            await capture.done()
            if wanted.contains(where: { $0.name == capture.name }) {
                changes.restarted.append(capture.name)
            } else {
                changes.stopped.append(capture.name)
            }
        }
        for source in wanted {
            if let running = current.first(where: { $0.name == source.name && $0.configuration == source }) {
                changes.captures.append(running)
            } else {
                let capture = SourceCapture(configuration: source, events: events, logger: logger)
                changes.captures.append(capture)
                changes.new.append(capture)
                if !current.contains(where: { $0.name == source.name }) { changes.started.append(source.name) }
            }
        }
        captures.replace(with: changes.captures)
        return changes
    }

    /// What ``reload()`` did: the recordings it started, stopped and restarted and the sections whose changes
    /// wait for a restart, or the errors that kept it from applying the file (then nothing changed).
    struct ReloadResult: Sendable, Equatable {
        var configPath: String
        var started: [String] = []
        var stopped: [String] = []
        var restarted: [String] = []
        var restartNeededFor: [String] = []
        var errors: [String] = []
        var sourcesStarted: [String] = []
        var sourcesStopped: [String] = []
        var sourcesRestarted: [String] = []
        var sourcesLevelsChanged: [String] = []
        var reloaded: Bool { errors.isEmpty }
    }

    /// The sections a reload does not apply (all but the sources, `[queue]`, `[levels]` and the
    /// recordings) that differ between the running configuration and `next`, and `delivery` when a
    /// recording's `upload`, `after_upload`, `on_close` or `on_upload` differs (wired at start).
    static func sectionsNeedingRestart(from current: Configuration, to next: Configuration) -> [String] {
        var sections: [String] = []
        if current.log != next.log { sections.append("log") }
        if current.control != next.control { sections.append("control") }
        if current.storage != next.storage { sections.append("storage") }
        if current.metrics != next.metrics { sections.append("metrics") }
        // The writers take [station] when they start: a change reaches the files after a restart.
        if current.station != next.station { sections.append("station") }
        // Uploads and webhooks take their tables when the daemon starts.
        if current.destinations != next.destinations { sections.append("destination") }
        if current.webhooks != next.webhooks { sections.append("webhook") }
        // A recording's uploads and hooks are wired when the daemon starts, not when the recording does.
        if deliveryKeys(of: current) != deliveryKeys(of: next) { sections.append("delivery") }
        var rest = next
        rest.sources = current.sources
        rest.queue = current.queue
        rest.levels = current.levels
        rest.log = current.log
        rest.control = current.control
        rest.storage = current.storage
        rest.metrics = current.metrics
        rest.station = current.station
        rest.destinations = current.destinations
        rest.webhooks = current.webhooks
        rest.recordings = current.recordings
        rest.triggers = current.triggers
        if rest != current { sections.append("other") }
        return sections
    }

    /// What a recording sets for delivery, for the recordings that set any of it.
    private struct DeliveryKeys: Equatable {
        var upload: [String]
        var afterUpload: AfterUpload
        var onClose: [String]
        var onUpload: [String]
    }

    /// The delivery keys of `configuration`'s recordings that upload or run hooks, by recording name.
    private static func deliveryKeys(of configuration: Configuration) -> [String: DeliveryKeys] {
        var keys: [String: DeliveryKeys] = [:]
        for recording in configuration.recordings
        where !recording.upload.isEmpty || !recording.onClose.isEmpty || !recording.onUpload.isEmpty {
            keys[recording.name] = DeliveryKeys(
                upload: recording.upload, afterUpload: recording.afterUpload, onClose: recording.onClose,
                onUpload: recording.onUpload)
        }
        return keys
    }

    /// Every second while it matters (before every source is ready, and while an on-demand recording has
    /// a duration), else every 5 s: stops on-demand recordings whose duration is over, looks for clock
    /// steps, and reports health to systemd (the watchdog wants a ping every 15 s). Every 10 s: checks the
    /// disk's time left. Every 30 s: saves where the audio has got to (``CaptureStateFile``: a hint for the
    /// gap after a crash, which the repaired files' own times refine). Every minute: checks
    /// that the clock is synchronised. Nothing here needs to wake the daemon more often than that.
    private func housekeeping() async {
        var health = HealthMonitor(
            notifier: SystemdNotifier(), stallSeconds: configuration.sources.map(\.stallSeconds).max() ?? 5)
        var savedAudio: Double? = nil
        var interval = 1.0
        let started = SystemClock.monotonic()
        var lastSave = started
        var lastDiskCheck = started
        var lastClockCheck = started
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(interval))
            await recordings.stopExpired()
            clockSteps.check()
            let now = SystemClock.monotonic()
            if now - lastSave >= 29.9 {
                lastSave = now
                let last = captures.lastAudioMonotonic
                if last != nil, last != savedAudio {
                    savedAudio = last
                    await saveCaptureState(clean: false)
                }
            }
            if now - lastDiskCheck >= 9.9 {
                lastDiskCheck = now
                await checkDiskSpace()
            }
            if now - lastClockCheck >= 59.9 {
                lastClockCheck = now
                clockCheck.check()
            }
            let snapshots = await recordings.snapshots
            health.tick(
                captures.all.map { capture in
                    let status = capture.source.status
                    let fed = snapshots.filter { $0.source == capture.name }
                    let levels = capture.levelQueue
                    let drops = levels.droppedFrames + fed.reduce(Int64(0)) { $0 + $1.status.droppedFrames }
                    return (
                        capture.name,
                        HealthMonitor.Observation(
                            phase: status.phase, lastAudio: capture.counters.lastAudioMonotonic,
                            levelsTaken: levels.takenChunkCount, levelsWaiting: levels.depth, drops: drops,
                            recordings: fed.count, blocked: fed.filter { $0.status.state == .blocked }.count,
                            lastExit: status.lastExit)
                    )
                })
            let durations = await recordings.hasDurations
            // Pings go out when half the watchdog's time has passed: looking every quarter of it at most
            // keeps them well inside it, whatever WatchdogSec a drop-in sets.
            let watchdog = health.notifier.watchdogInterval.map { max(1, $0 / 2) } ?? 5
            interval = !health.ready || durations ? 1 : min(5, watchdog)
        }
    }

    /// Writes `capture.json`: the wall time the audio has reached and the continuous recordings.
    private func saveCaptureState(clean: Bool) async {
        guard let last = captures.lastAudioMonotonic else { return }
        let end = Date().timeIntervalSince1970 - (SystemClock.monotonic() - last)
        let continuous = await recordings.snapshots.filter { $0.kind == .continuous }
        let state = CaptureStateFile(
            lastAudioEnd: end, recordings: continuous.map(\.configuration.name), clean: clean,
            sequences: Dictionary(
                continuous.map { ($0.configuration.name, $0.status.sequence) }, uniquingKeysWith: { max($0, $1) }))
        let directory = configuration.storage.state
        if !(await BlockingWorker.shared.run { state.write(stateDirectory: directory) }) {
            logger.warning(
                "could not save the capture state",
                metadata: ["path": "\(CaptureStateFile.path(inStateDirectory: configuration.storage.state))"])
        }
    }

    /// Measures the free space (refreshing what status reports) and raises or clears the low-space
    /// warning from it and the running recordings' rate.
    private func checkDiskSpace() async {
        let snapshots = await recordings.snapshots
        guard let disk = await diskStatus(snapshots, measure: true) else { return }
        lowSpaceWarning.update(secondsLeft: disk.estimatedSecondsLeft, freeBytes: disk.freeBytes, path: disk.path)
    }

    /// Repairs `.partial` files left by a crash or power cut in every recording's and trigger's directory
    /// and under the on-demand root. Returns, per continuous recording that had one, the latest time such
    /// a file was written.
    private func repairPartialFiles() -> [String: Double] {
        var latest: [String: Double] = [:]
        var directories = configuration.recordings.map { ($0.directory, Optional($0.name), true) }
        // A trigger's clip open at a crash is a partial file too.
        directories += configuration.triggers.map { ($0.directory, Optional($0.name), false) }
        directories.append((configuration.storage.root, nil, false))
        var seen = Set<String>()
        let notifier = SystemdNotifier()
        for (directory, name, continuous) in directories where seen.insert(directory).inserted {
            // A large archive takes a while to walk: ask systemd for more start-up time as we go, so a
            // slow disk never turns the repair into a start timeout and a restart loop.
            notifier.notify("EXTEND_TIMEOUT_USEC=60000000\nSTATUS=repairing files left open in \(directory)")
            for result in PartialRepair.repairAll(under: directory) {
                if let modified = result.lastModified, let name, continuous {
                    latest[name] = max(latest[name] ?? modified, modified)
                }
                writeRepairedSidecar(result, recording: name)
                events.emit(
                    .warning, "segment.repaired", "a file left open by a crash was repaired", recording: name,
                    [
                        "segment.path": .string(result.path),
                        "segment.original_path": .string(result.originalPath),
                        "segment.frames": .int(result.frames),
                        "repair.bytes_trimmed": .int(Int64(result.bytesTrimmed)),
                        "repair.action": .string("\(result.action)"),
                    ])
            }
        }
        return latest
    }

    /// Gives a repaired file the sidecar its writer could not write: its frames, format and an estimated
    /// start (its last write less its duration), with `gaps_known: false` (the ledger of the run that
    /// wrote it died with that run). Keeps a sidecar that is already there.
    ///
    /// A continuous recording's repaired file that starts well after the end of the file before it on
    /// disk was the first file of a run that died before closing it: the `daemon_restart` gap that run
    /// had put in front of it is measured again (from that end to its start, an estimate) and kept.
    private func writeRepairedSidecar(_ result: RepairResult, recording: String?) {
        guard case .repaired = result.action, let format = result.format,
            !FileManager.default.fileExists(atPath: SegmentSidecar.path(for: result.path))
        else { return }
        let duration = Double(result.frames) / Double(format.sampleRate)
        let end = result.lastModified ?? Date().timeIntervalSince1970
        let start = end - duration
        var gaps: [SegmentGap] = []
        if let recording, let configured = configuration.recordings.first(where: { $0.name == recording }),
            let before = RestartGap.restartBeforeRepaired(
                start: start,
                earlierEnds: RecordingOnDisk.closedEnds(
                    directory: configured.directory,
                    template: FilenameTemplate(configured.filename, timeZone: configured.timeZone), name: recording))
        {
            gaps.append(
                SegmentGap(
                    kind: .daemonRestart, fileFrame: 0, captureFrame: 0, time: before,
                    frames: format.frames(seconds: start - before), exact: false))
        }
        let info = SegmentInfo(
            recording: recording ?? "", path: result.path, sequence: 0, firstFrame: 0, frames: result.frames,
            durationSeconds: duration, startTime: start, peakDBFS: [], rmsDBFS: [], droppedFrames: 0,
            restarts: 0, bytes: result.bytes, gaps: gaps)
        if let failure = SegmentSidecar(
            segment: info, format: format, gapsKnown: false,
            source: recording.flatMap { name in configuration.recordings.first { $0.name == name } }
                .flatMap { configuration.source(named: $0.source)?.name }
        ).write() {
            logger.warning(
                "could not write the repaired file's sidecar",
                metadata: ["segment.path": "\(result.path)", "error": "\(failure)"])
        }
    }
}
