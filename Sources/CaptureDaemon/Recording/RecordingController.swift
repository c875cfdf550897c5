// Starts and stops recordings while the capture runs: each is a SegmentWriter on its own queue and thread.
import CaptureCore
import CaptureProtocol
import Foundation
import Logging

/// Owns the running recordings. Continuous ones come from the configuration and run for the daemon's
/// life; on-demand ones are started and stopped through the control API and may stop by themselves
/// after a duration. Adding or removing one never disturbs the capture or the other consumers.
public actor RecordingController {
    public enum Kind: String, Sendable {
        case continuous
        case onDemand = "on-demand"
    }

    /// A recording with what the API shows about it.
    public struct Snapshot: Sendable {
        public var configuration: RecordingConfiguration
        public var kind: Kind
        public var status: RecordingStatus
        public var startedAt: Double
        public var stopsAt: Double?
        public var queue: ChunkChannel
        public var sampleRate: Int
        /// Bytes of one frame of the source's PCM (what a WAV file holds per frame).
        public var bytesPerFrame: Int
        /// The source the recording takes its audio from.
        public var source: String
        /// For a recording started in the past: how far before the request its first frame is (negative).
        public var fromSeconds: Double? = nil
        /// A note for the caller (the look-back buffer held less than asked for).
        public var message: String? = nil

        /// Seconds of audio in the file being written.
        public var currentFileSeconds: Double { Double(status.currentFrames) / Double(sampleRate) }
    }

    private struct Entry {
        var writer: SegmentWriter
        var thread: ConsumerThread
        var kind: Kind
        var startedAt: Double
        var stopsAt: Double?
        /// The capture whose fan-out feeds the recording and whose pool holds its chunks.
        var capture: SourceCapture
        /// Look-back chunks its queue has room for (started in the past).
        var replayChunks = 0

        var snapshot: Snapshot {
            Snapshot(
                configuration: writer.recording, kind: kind, status: writer.status, startedAt: startedAt,
                stopsAt: stopsAt, queue: thread.channel, sampleRate: capture.format.sampleRate,
                bytesPerFrame: capture.format.bytesPerFrame, source: capture.name)
        }
    }

    private struct Finished {
        var snapshot: RecordingStatus
        var configuration: RecordingConfiguration
        var kind: Kind
        var startedAt: Double
        var segments: [SegmentInfo]
    }

    /// The running captures by source name, and their order in the configuration.
    private var captures: [String: SourceCapture] = [:]
    private var sourceOrder: [String] = []
    private let events: EventLog
    private let logger: Logger
    private let storageRoot: String
    /// Most on-demand recordings running at once (`[control] max_recordings`).
    private let maxOnDemand: Int
    private let options: SegmentWriter.Options
    private var entries: [String: Entry] = [:]
    private var order: [String] = []
    private var finished: [String: Finished] = [:]
    /// The recordings of the configuration file, running or not: `start(name:)` starts a stopped one again
    /// with these settings, and `apply` replaces them on reload.
    private var configured: [String: RecordingConfiguration] = [:]

    /// `continuous` recordings must each name one of `captures` (or `""`: the first).
    public init(
        captures: [SourceCapture], events: EventLog,
        logger: Logger, storageRoot: String, continuous: [RecordingConfiguration],
        maxOnDemand: Int = ControlConfiguration().maxRecordings,
        options: SegmentWriter.Options = SegmentWriter.Options()
    ) {
        for capture in captures {
            self.captures[capture.name] = capture
            sourceOrder.append(capture.name)
        }
        self.events = events
        self.logger = logger
        self.storageRoot = storageRoot
        self.maxOnDemand = maxOnDemand
        self.options = options
        for recording in continuous {
            configured[recording.name] = recording
            guard let capture = captures.first(where: { recording.source.isEmpty || $0.name == recording.source })
            else {
                events.emit(
                    .error, "config.recording_without_source", "the recording's source is not configured",
                    recording: recording.name, ["recording.source": .string(recording.source)])
                continue
            }
            let entry = Self.makeEntry(
                recording, kind: .continuous, stopsAt: nil, capture: capture, logger: logger, options: options)
            entries[recording.name] = entry
            order.append(recording.name)
        }
    }

    private static func makeEntry(
        _ recording: RecordingConfiguration, kind: Kind, stopsAt: Double?, capture: SourceCapture, logger: Logger,
        options: SegmentWriter.Options, replayChunks: Int = 0
    ) -> Entry {
        var recording = recording
        recording.source = capture.name
        var options = options
        options.gapFill = capture.configuration.gapFill
        let format = capture.format
        let queueChunks = capture.queueChunks
        var logger = logger
        logger[metadataKey: "source.name"] = "\(capture.name)"
        let writer = SegmentWriter(
            recording: recording, format: format, events: capture.events, logger: logger, options: options)
        options.diskGuard?.register(
            recording.name, directory: recording.directory, deleteOldestWhenLow: recording.deleteOldestWhenLow)
        // The writer wakes once per `sync_seconds` (at most a second) and writes what waits: the audio is
        // in memory anyway, and each wake-up costs more than the writes.
        let wait = min(1, recording.syncSeconds)
        let channel = ChunkChannel(
            name: "rec-\(recording.name)", capacity: queueChunks + replayChunks,
            batch: ChunkChannel.batch(seconds: wait, chunkSeconds: capture.configuration.chunkSeconds),
            longestWait: 2 * wait)
        // The recording may hold its whole queue plus the chunk it is writing (and, started in the past,
        // the look-back chunks handed to it: new audio needs buffers while it writes those).
        capture.pool.reserve(queueChunks + 1 + replayChunks)
        // A stall the tests inject wraps the writer, so the writer itself carries no test code.
        let consumer: any ChunkConsumer =
            options.faults.writerStalls[recording.name].map {
                StallingConsumer(wrapping: writer, stall: $0, format: format, logger: logger)
            } ?? writer
        return Entry(
            writer: writer, thread: ConsumerThread(channel: channel, consumer: consumer), kind: kind,
            startedAt: Date().timeIntervalSince1970, stopsAt: stopsAt, capture: capture, replayChunks: replayChunks)
    }

    /// The capture a request names: `name`, or the only one when nil or empty.
    /// Throws `.invalid` for an unknown name, and for none when there are several.
    private func capture(named name: String?, recording: String) throws(RecordingError) -> SourceCapture {
        let names = sourceOrder.joined(separator: ", ")
        guard let name, !name.isEmpty else {
            guard sourceOrder.count == 1, let only = captures[sourceOrder[0]] else {
                throw RecordingError(
                    .invalid, recording: recording,
                    "this daemon records \(sourceOrder.count) sources (\(names)): say which one with --source NAME "
                        + "(\"source\" in the API)")
            }
            return only
        }
        guard let capture = captures[name] else {
            throw RecordingError(
                .invalid, recording: recording,
                "no source named \(InputValidation.printable(name)); the sources are \(names) (see `audiocap status`)")
        }
        return capture
    }

    /// Starts the threads of the continuous recordings and attaches them to the capture. Those in
    /// `audioEnds` were recording until that wall time before this daemon started: their first file
    /// records the gap since then. `sequences` holds the `{seq}` numbers the last run saved, a floor
    /// under what each writer finds on disk.
    public func startContinuous(audioEnds: [String: Double] = [:], sequences: [String: Int] = [:]) {
        for name in order {
            guard let entry = entries[name], entry.kind == .continuous else { continue }
            if let end = audioEnds[name] { entry.writer.expectGap(since: end) }
            if let number = sequences[name] { entry.writer.continueNumbering(after: number) }
            entry.thread.start()
            entry.capture.fanout.add(entry.thread.channel)
        }
    }

    public var snapshots: [Snapshot] {
        order.compactMap { entries[$0]?.snapshot }
    }

    /// Starts an on-demand recording, or a stopped recording of the configuration file again.
    ///
    /// A name from the configuration file starts that recording with its configured settings (kind
    /// continuous, numbering on after its last file); giving any other setting for it is `.invalid`, with a
    /// message that says to change the file and reload instead.
    ///
    /// Throws `.invalid` for a value that ``InputValidation`` refuses (name, directory, filename template
    /// and the paths it expands to, numbers out of range) and for a directory that overlaps a continuous
    /// recording's; `.conflict` when one of that name runs; `.limit` when `maxOnDemand` on-demand
    /// recordings already run (a state the caller can change by stopping one).
    public func start(_ request: OnDemandRequest) throws(RecordingError) -> Snapshot {
        let name = request.name
        do {
            try InputValidation.checkName(name)
        } catch {
            throw .invalid(error, recording: name, hint: "use a name like `interview-2`")
        }
        if entries[name] != nil {
            throw RecordingError(
                .conflict, recording: name,
                "a recording named '\(name)' is already running; stop it first (audiocap stop \(name)) or pick another name"
            )
        }
        if let recording = configured[name] {
            if let source = request.source, !source.isEmpty, !recording.source.isEmpty, source != recording.source {
                throw RecordingError(
                    .invalid, recording: name,
                    "'\(name)' is a recording of the configuration file and records source '\(recording.source)'; "
                        + "start it without --source, or change its [[recording]] and run audiocap reload")
            }
            guard !request.hasSettings else {
                throw RecordingError(
                    .invalid, recording: name,
                    "'\(name)' is a recording of the configuration file and starts with its configured settings: "
                        + "start it without options (audiocap start \(name)), or change its [[recording]] and run "
                        + "audiocap reload")
            }
            return try startConfigured(recording)
        }
        let capture = try capture(named: request.source, recording: name)
        if let from = request.fromSeconds, from > 0 {
            throw .invalid(
                InputError(
                    code: .outOfRange, field: "from_seconds", value: "\(from)",
                    message: "must be a negative number of seconds (how far back to start), e.g. -30"),
                recording: name)
        }
        let running = entries.values.filter { $0.kind == .onDemand }.count
        if running >= maxOnDemand {
            throw RecordingError(
                .limit, recording: name,
                maxOnDemand == 0
                    ? "on-demand recordings are turned off ([control] max_recordings = 0 in the daemon's configuration)"
                    : "\(running) on-demand recordings are running, the most [control] max_recordings allows; "
                        + "stop one first (audiocap stop NAME) or raise max_recordings and restart audiocapd")
        }
        var recording = RecordingConfiguration(
            name: name, directory: try resolveDirectory(request.directory, name: name))
        if let segmentSeconds = request.segmentSeconds {
            do {
                recording.segmentSeconds = try InputValidation.integer(
                    segmentSeconds, field: "segment_seconds", range: 1...86_400)
            } catch {
                throw .invalid(error, recording: name)
            }
        }
        if let align = request.align {
            recording.align = align
        }
        try Self.applyFile(format: request.format, filename: request.filename, to: &recording, capture: capture)
        var replayChunks = 0
        if let from = request.fromSeconds, from != 0 {
            guard from.isFinite, from < 0, from >= -SourceConfiguration.lookBackRange.upperBound else {
                throw .invalid(
                    InputError(
                        code: .outOfRange, field: "from_seconds", value: "\(from)",
                        message: "must be a negative number of seconds (how far back to start), e.g. -30"),
                    recording: name)
            }
            guard capture.configuration.lookBackSeconds > 0 else {
                throw RecordingError(
                    .conflict, recording: name,
                    "source '\(capture.name)' keeps no look-back audio (look_back_seconds = 0): start without --from, "
                        + "or set look_back_seconds in its [[source]] and restart audiocapd")
            }
            replayChunks = capture.fanout.lookBackChunks
        }
        var stopsAt: Double? = nil
        let durationSeconds = request.durationSeconds
        if let durationSeconds {
            do {
                let seconds = try InputValidation.number(
                    durationSeconds, field: "duration_seconds", allowed: "greater than 0 and at most a year (31622400)",
                    where: { $0 > 0 && $0 <= 366 * 86_400 })
                stopsAt = Date().timeIntervalSince1970 + seconds
            } catch {
                throw .invalid(error, recording: name)
            }
        }
        let entry = Self.makeEntry(
            recording, kind: .onDemand, stopsAt: stopsAt, capture: capture, logger: logger, options: options,
            replayChunks: replayChunks)
        if let durationSeconds {
            // Exact in frames: the writer closes its file at the last one, whatever the wall clock says.
            entry.writer.stopAfter(frames: Int64((durationSeconds * Double(capture.format.sampleRate)).rounded()))
        }
        entries[name] = entry
        order.append(name)
        finished[name] = nil
        entry.thread.start()
        var fields: [String: CaptureEvent.Value] = [
            "recording.directory": .string(recording.directory),
            "recording.segment_seconds": .int(Int64(recording.segmentSeconds)),
        ]
        if let durationSeconds { fields["recording.duration_seconds"] = .seconds(durationSeconds) }
        var snapshot = entry.snapshot
        if let from = request.fromSeconds, from < 0 {
            let requestTime = Date().timeIntervalSince1970
            let writer = entry.writer
            let replay = capture.fanout.add(entry.thread.channel, replayingFrom: requestTime + from) { frame in
                writer.start(atFrame: frame)
            }
            let achieved = replay.firstTime.map { min(0, $0 - requestTime) } ?? 0
            snapshot.fromSeconds = WireFormat.seconds(achieved)
            fields["recording.from_seconds"] = .seconds(achieved)
            if let frame = replay.firstFrame { fields["recording.first_frame"] = .int(frame) }
            if achieved > from + capture.configuration.chunkSeconds {
                let held = -achieved
                snapshot.message =
                    "asked to start \(Self.seconds(-from)) back, but source '\(capture.name)' held only "
                    + "\(Self.seconds(held)) of audio (look_back_seconds = \(Self.seconds(capture.configuration.lookBackSeconds))): "
                    + "the recording starts at the oldest frame held"
                capture.events.emit(
                    .warning, "lookback.short", "the look-back buffer held less audio than asked for", recording: name,
                    ["requested_seconds": .seconds(-from), "held_seconds": .seconds(held)])
            }
        } else {
            capture.fanout.add(entry.thread.channel)
        }
        capture.events.emit(.notice, "recording.started", "recording started", recording: name, fields)
        return snapshot
    }

    /// Writes one file of audio already captured, `request.fromSeconds` to `request.toSeconds` (0: now)
    /// relative to now, from the source's look-back buffer; frame-exact at both ends. Returns when the
    /// file is closed. Throws `.invalid` for a bad name, span, directory or template; `.conflict` when the
    /// source keeps no look-back audio (or none yet) or a recording of that name runs.
    public func clip(_ request: ClipRequest, format: RecordingFormat?) async throws(RecordingError) -> ClipResponse {
        let name = request.name
        do {
            try InputValidation.checkName(name)
        } catch {
            throw .invalid(error, recording: name, hint: "use a name like `owl-call`")
        }
        if entries[name] != nil {
            throw RecordingError(
                .conflict, recording: name,
                "a recording named '\(name)' is running; give the clip a name of its own")
        }
        let capture = try capture(named: request.source, recording: name)
        let from = request.fromSeconds
        let to = request.toSeconds ?? 0
        let oldest = -SourceConfiguration.lookBackRange.upperBound
        guard from.isFinite, to.isFinite, from < 0, to <= 0, from < to, from >= oldest else {
            throw RecordingError(
                .invalid, recording: name,
                "the span must lie within the last hour (the most look_back_seconds holds): --from before --to, "
                    + "both negative or now (e.g. --from -2m --to now); got from \(from) s to \(to) s")
        }
        guard capture.configuration.lookBackSeconds > 0 else {
            throw RecordingError(
                .conflict, recording: name,
                "source '\(capture.name)' keeps no look-back audio (look_back_seconds = 0): set look_back_seconds in "
                    + "its [[source]] and restart audiocapd")
        }
        var recording = RecordingConfiguration(
            name: name, directory: try resolveDirectory(request.directory, name: name))
        recording.segmentSeconds = 86_400
        recording.align = .samples
        recording.source = capture.name
        try Self.applyFile(format: format, filename: request.filename, to: &recording, capture: capture)
        let now = Date().timeIntervalSince1970
        // The reader lets up to half a second gather before it reads (fewer wake-ups): wait, at most 2 s,
        // until the audio up to the end asked for has arrived, so `--to now` means now.
        let deadline = SystemClock.monotonic() + 2
        while (capture.fanout.lookBackHeld().newestEnd?.time ?? .infinity) < now + to,
            SystemClock.monotonic() < deadline
        {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if entries[name] != nil {
            throw RecordingError(
                .conflict, recording: name,
                "a recording named '\(name)' is running; give the clip a name of its own")
        }
        let chunks = capture.fanout.lookBack(from: .min, to: .max)
        let rate = Double(capture.format.sampleRate)
        /// The capture frame at wall time `time`, within the held chunks (clamped to what they hold).
        func frame(at time: Double) -> (frame: Int64, time: Double)? {
            guard let first = chunks.first, let last = chunks.last else { return nil }
            if time <= first.startTime { return (first.firstFrame, first.startTime) }
            for chunk in chunks where chunk.startTime + Double(chunk.frameCount) / rate > time {
                let into = min(Int64(chunk.frameCount), max(0, Int64(((time - chunk.startTime) * rate).rounded())))
                return (chunk.firstFrame + into, chunk.startTime + Double(into) / rate)
            }
            return (last.firstFrame + Int64(last.frameCount), last.startTime + Double(last.frameCount) / rate)
        }
        guard let start = frame(at: now + from), let end = frame(at: now + to), end.frame > start.frame else {
            for chunk in chunks { chunk.release() }
            throw RecordingError(
                .conflict, recording: name,
                "source '\(capture.name)' holds no audio of that span yet (it keeps the last "
                    + "\(Self.seconds(capture.configuration.lookBackSeconds)); see `audiocap status`)")
        }
        var options = options
        options.gapFill = capture.configuration.gapFill
        var logger = logger
        logger[metadataKey: "source.name"] = "\(capture.name)"
        let writer = SegmentWriter(
            recording: recording, format: capture.format, events: capture.events, logger: logger, options: options)
        let done = Completion<Void>()
        let held = ChunkList(chunks: chunks)
        DedicatedThread.start(name: "ac-clip") {
            for chunk in held.chunks {
                let lower = Int(max(0, start.frame - chunk.firstFrame))
                let upper = Int(min(Int64(chunk.frameCount), end.frame - chunk.firstFrame))
                if lower < upper { writer.consume(chunk, frames: lower..<upper) }
                chunk.release()
            }
            writer.finish()
            done.complete(())
        }
        await done.value()
        guard let info = writer.segments().first else {
            throw RecordingError(
                .failed, recording: name,
                "the clip could not be written: \(writer.status.lastError ?? "no file was written") (see `audiocap logs`)"
            )
        }
        var message: String? = nil
        let achieved = start.time - now
        if achieved > from + capture.configuration.chunkSeconds {
            message =
                "asked for \(Self.seconds(-from)) back, but source '\(capture.name)' held only \(Self.seconds(-achieved)) "
                + "(look_back_seconds = \(Self.seconds(capture.configuration.lookBackSeconds))): the clip starts at the oldest frame held"
            capture.events.emit(
                .warning, "lookback.short", "the look-back buffer held less audio than asked for", recording: name,
                ["requested_seconds": .seconds(-from), "held_seconds": .seconds(-achieved)])
        }
        return ClipResponse(
            name: name, source: capture.name, path: info.path, frames: info.frames,
            sampleRate: capture.format.sampleRate, firstFrame: info.firstFrame, startTime: info.startTime,
            fromSeconds: achieved, toSeconds: end.time - now, gaps: info.gaps.count,
            gapFrames: info.gaps.reduce(0) { $0 + $1.frames }, message: message)
    }

    /// Gives `recording` the file format and filename template a request asked for (the format's default
    /// template when only the format is given), and checks that the files it names lie in its directory.
    /// Throws `.invalid` for FLAC from a float source, and for a template ``InputValidation`` refuses.
    private static func applyFile(
        format: RecordingFormat?, filename: String?, to recording: inout RecordingConfiguration,
        capture: SourceCapture
    ) throws(RecordingError) {
        let name = recording.name
        if let format {
            if format == .flac, capture.format.sampleFormat.isFloat {
                throw .invalid(
                    InputError(
                        code: .outOfRange, field: "format", value: "\"flac\"",
                        message:
                            "cannot be flac for a source that captures f32: FLAC holds integer samples only; use wav"),
                    recording: name)
            }
            recording.format = format
            recording.filename = RecordingConfiguration.defaultFilename(for: format)
        }
        do {
            if let filename {
                recording.filename = try InputValidation.filenameTemplate(filename, format: recording.format)
            }
            try InputValidation.checkTarget(
                directory: recording.directory,
                template: FilenameTemplate(recording.filename, timeZone: recording.timeZone),
                name: name)
        } catch {
            throw .invalid(error, recording: name)
        }
    }

    /// Chunks handed to the clip's thread, which releases them.
    private struct ChunkList: @unchecked Sendable {
        // @unchecked: the chunks are read-only once published, and only the clip's thread touches the list.
        let chunks: [ChunkBuffer]
    }

    /// `seconds` as a person reads it: "30 s", "2.5 s".
    static func seconds(_ seconds: Double) -> String {
        guard seconds.isFinite, abs(seconds) < 1e12 else { return "\(seconds) s" }
        let rounded = (seconds * 10).rounded() / 10
        return rounded == rounded.rounded() ? "\(Int(rounded)) s" : "\(rounded) s"
    }

    /// Starts the configured `recording` again after it was stopped, numbering its files on after the last.
    private func startConfigured(_ recording: RecordingConfiguration) throws(RecordingError) -> Snapshot {
        let name = recording.name
        let capture = try capture(named: recording.source, recording: name)
        let entry = Self.makeEntry(
            recording, kind: .continuous, stopsAt: nil, capture: capture, logger: logger, options: options)
        if let last = finished[name]?.snapshot.sequence { entry.writer.continueNumbering(after: last) }
        entries[name] = entry
        order.append(name)
        finished[name] = nil
        entry.thread.start()
        capture.fanout.add(entry.thread.channel)
        capture.events.emit(
            .notice, "recording.started", "recording started", recording: name,
            [
                "recording.directory": .string(recording.directory),
                "recording.segment_seconds": .int(Int64(recording.segmentSeconds)),
                "recording.configured": .bool(true),
            ])
        return entry.snapshot
    }

    /// Stops a recording: it writes what is queued, closes its file, and is removed. Returns its last
    /// status and the files it wrote.
    ///
    /// Throws `.notFound` when no recording of that name runs.
    public func stop(name: String, reason: String = "asked to stop") async throws(RecordingError) -> (
        Snapshot, [SegmentInfo]
    ) {
        guard let entry = entries[name] else {
            throw RecordingError(
                .notFound, recording: name, "no running recording named '\(name)'; see `audiocap recordings`")
        }
        entries[name] = nil
        order.removeAll { $0 == name }
        entry.capture.fanout.remove(entry.thread.channel)
        options.diskGuard?.unregister(name)
        return await retire(entry, name: name, reason: reason)
    }

    /// Waits for a recording taken off the fanout to write what it has queued and close its file, and
    /// reports it stopped.
    private func retire(_ entry: Entry, name: String, reason: String) async -> (Snapshot, [SegmentInfo]) {
        await entry.thread.done()
        entry.capture.pool.unreserve(entry.capture.queueChunks + 1 + entry.replayChunks)
        let segments = entry.writer.segments()
        let status = entry.writer.status
        finished[name] = Finished(
            snapshot: status, configuration: entry.writer.recording, kind: entry.kind, startedAt: entry.startedAt,
            segments: segments)
        if finished.count > 200, let oldest = finished.min(by: { $0.value.startedAt < $1.value.startedAt })?.key {
            finished[oldest] = nil
        }
        entry.capture.events.emit(
            .notice, "recording.stopped", "recording stopped", recording: name,
            [
                "reason": .string(reason), "segments": .int(Int64(segments.count)),
                "frames_written": .int(status.framesWritten), "dropped_frames": .int(status.droppedFrames),
            ])
        var snapshot = entry.snapshot
        snapshot.status = status
        return (snapshot, segments)
    }

    /// Makes the recordings match a reloaded configuration: `captures` are its sources (a changed source
    /// is a new capture), `wanted` its continuous recordings. Starts recordings new to the file, stops
    /// removed ones, restarts running ones whose settings or source changed. A configured recording that
    /// was stopped (`audiocap stop`) stays stopped, and starts with its new settings when asked to.
    /// On-demand recordings are left alone, except those whose source was removed or changed: they stop.
    public func apply(_ wanted: [RecordingConfiguration], captures: [SourceCapture]) async -> (
        started: [String], stopped: [String], restarted: [String]
    ) {
        var started: [String] = [], stopped: [String] = [], restarted: [String] = []
        self.captures = Dictionary(captures.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        sourceOrder = captures.map(\.name)
        for name in order {
            guard let entry = entries[name], entry.kind == .onDemand,
                self.captures[entry.capture.name] !== entry.capture
            else { continue }
            let gone = self.captures[entry.capture.name] == nil
            _ = try? await stop(
                name: name,
                reason: gone
                    ? "its source was removed from the configuration"
                    : "its source changed in the configuration; start it again")
            stopped.append(name)
        }
        let wantedNames = Set(wanted.map(\.name))
        let before = configured
        configured = Dictionary(wanted.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
        for name in order where entries[name]?.kind == .continuous && !wantedNames.contains(name) {
            _ = try? await stop(name: name, reason: "removed from the configuration")
            stopped.append(name)
        }
        for var recording in wanted {
            guard let capture = try? capture(named: recording.source, recording: recording.name) else {
                events.emit(
                    .error, "config.recording_without_source", "the recording's source is not configured",
                    recording: recording.name, ["recording.source": .string(recording.source)])
                continue
            }
            recording.source = capture.name
            if let old = entries[recording.name], old.writer.recording == recording, old.capture === capture {
                continue
            }
            if entries[recording.name] == nil, before[recording.name] != nil { continue }
            if let old = entries[recording.name], old.kind == .onDemand {
                // On-demand recordings are left alone: the configured one waits until that one stops.
                events.emit(
                    .error, "config.recording_conflict",
                    "an on-demand recording has this name; the configured one was not started",
                    recording: recording.name,
                    [
                        "recording.directory": .string(old.writer.recording.directory)
                    ])
                continue
            }
            let entry = Self.makeEntry(
                recording, kind: .continuous, stopsAt: nil, capture: capture, logger: logger, options: options)
            if let old = entries[recording.name] {
                entry.writer.continueNumbering(after: old.writer.status.sequence)
                entries[recording.name] = entry
                entry.thread.start()
                if old.capture === capture {
                    // The new writer takes over from the next chunk on: nothing lost, nothing written twice.
                    capture.fanout.replace(old.thread.channel, with: entry.thread.channel)
                } else {
                    // A new capture of its source: the old one has stopped (its queues are closed).
                    old.capture.fanout.remove(old.thread.channel)
                    capture.fanout.add(entry.thread.channel)
                }
                _ = await retire(old, name: recording.name, reason: "changed in the configuration")
                restarted.append(recording.name)
            } else {
                entries[recording.name] = entry
                order.append(recording.name)
                entry.thread.start()
                capture.fanout.add(entry.thread.channel)
                started.append(recording.name)
            }
        }
        return (started, stopped, restarted)
    }

    /// Closed segments of a running or recently stopped recording (from `since` on, when given).
    /// Throws `.notFound` for a name the controller does not know.
    public func segments(name: String, since: Double?) throws(RecordingError) -> [SegmentInfo] {
        if let entry = entries[name] { return entry.writer.segments(since: since) }
        if let done = finished[name] {
            return since.map { t in done.segments.filter { $0.startTime >= t } } ?? done.segments
        }
        throw RecordingError(.notFound, recording: name, "no recording named '\(name)'; see `audiocap recordings`")
    }

    /// How long past its `stops_at` an on-demand recording that has not yet received its duration's
    /// frames (the capture stalled or restarts) goes on before it is stopped short.
    static let durationGraceSeconds = 10.0

    /// Stops on-demand recordings whose duration is over: their writer took exactly the duration's frames
    /// (and closed the file at the last), or the capture stalled and `stops_at` is
    /// ``durationGraceSeconds`` past. Called every second by the daemon.
    /// Whether a recording has a duration (``stopExpired(now:)`` must look every second).
    public var hasDurations: Bool { entries.values.contains { $0.stopsAt != nil } }

    public func stopExpired(now: Double = Date().timeIntervalSince1970) async {
        let due = order.filter { name in
            guard let entry = entries[name], let stopsAt = entry.stopsAt else { return false }
            return entry.writer.reachedFrameLimit || now >= stopsAt + Self.durationGraceSeconds
        }
        for name in due {
            _ = try? await stop(name: name, reason: "duration reached")
        }
    }

    /// Waits for every recording's thread to finish (after the fanout closed every queue at shutdown).
    public func waitForAll() async {
        for name in order {
            await entries[name]?.thread.done()
        }
    }

    /// The directory for an on-demand recording: `root/NAME` by default; a given one (absolute, or
    /// relative to the root) must pass ``InputValidation/checkDirectory(_:field:)`` and resolve inside the
    /// root, symbolic links included. Either way it must not overlap (be, lie inside or contain) the
    /// directory of a continuous recording, whose files and retention it would mix with.
    /// Throws `.invalid` for any other directory.
    private func resolveDirectory(_ requested: String?, name: String) throws(RecordingError) -> String {
        let root = URL(fileURLWithPath: storageRoot).standardizedFileURL.path
        let path: String
        if let requested {
            do {
                try InputValidation.checkDirectory(requested)
            } catch {
                throw .invalid(error, recording: name)
            }
            guard !requested.split(separator: "/").contains("..") else {
                throw RecordingError(
                    .invalid, recording: name,
                    "directory must not contain '..': \(InputValidation.printable(requested))")
            }
            let absolute = requested.hasPrefix("/") ? requested : root + "/" + requested
            path = URL(fileURLWithPath: absolute).standardizedFileURL.path
        } else {
            path = root + "/" + name
        }
        let realRoot = Self.realPathOfExistingPrefix(root)
        let realPath = Self.realPathOfExistingPrefix(path)
        guard path == root || path.hasPrefix(root + "/"), realPath == realRoot || realPath.hasPrefix(realRoot + "/")
        else {
            throw RecordingError(
                .invalid, recording: name,
                "directory \(InputValidation.printable(requested ?? path)) is outside the recordings root \(root) ([storage] root)"
            )
        }
        for entry in entries.values where entry.kind == .continuous {
            let other = entry.writer.recording
            let otherPath = URL(fileURLWithPath: other.directory).standardizedFileURL.path
            if InputValidation.overlaps(path, otherPath)
                || InputValidation.overlaps(realPath, Self.realPathOfExistingPrefix(otherPath))
            {
                throw RecordingError(
                    .invalid, recording: name,
                    "directory \(InputValidation.printable(path)) overlaps \(otherPath), the directory of the configured recording "
                        + "'\(other.name)' (the same, inside it or containing it); give the on-demand recording a directory of its own"
                )
            }
        }
        do {
            try InputValidation.checkDirectory(path)
        } catch {
            throw .invalid(error, recording: name)
        }
        return path
    }

    /// The path with its longest existing prefix resolved through symbolic links.
    private static func realPathOfExistingPrefix(_ path: String) -> String {
        var existing = path
        var rest: [String] = []
        while !existing.isEmpty, existing != "/", !FileManager.default.fileExists(atPath: existing) {
            rest.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        let resolved = URL(fileURLWithPath: existing).resolvingSymlinksInPath().path
        return ([resolved] + rest).joined(separator: "/").replacing("//", with: "/")
    }
}
