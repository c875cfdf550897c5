// The consumer that writes one recording: segmented WAV or FLAC files cut on the clock or every N frames.
import CaptureCore
import CaptureProtocol
import Foundation
import Logging
import Synchronization

/// Writes every chunk it receives into WAV or FLAC segments of one recording (its `format`; see
/// ``SegmentFileWriter``).
///
/// Files are written as `FINAL.wav.partial`, their header refreshed and data fdatasync'd every
/// `syncSeconds`, and renamed to `FINAL.wav` when closed. Cuts fall exactly on frames: no frame is lost
/// or repeated between consecutive files. Frames missing from the capture (this consumer's queue
/// overflowed) are counted in the segment that spans them and reported with their position.
/// When a write fails (disk full, I/O error) the file is closed with a valid header, the recording is
/// marked blocked, the audio that arrives meanwhile is counted as lost, and a new file is tried every
/// `retrySeconds`.
public final class SegmentWriter: ChunkConsumer, @unchecked Sendable {
    // @unchecked Sendable: all mutable state except `shared` is touched only on the consumer thread;
    // `shared` is a Mutex read by status.

    /// What every writer of the daemon shares.
    public struct Options: Sendable {
        /// What goes into a file in place of missing audio.
        public var gapFill: GapFill
        /// Pause between attempts to write again after a write error or while free space is low.
        public var retrySeconds: Double
        /// Keeps `[storage] min_free_bytes` free; nil: no floor.
        public var diskGuard: DiskSpaceGuard?
        /// Faults injected by the tests (none unless set).
        public var faults: FaultInjection
        /// Steps of the wall clock: age-based retention pauses right after one. Nil: never paused.
        public var clockSteps: ClockStepWatch?
        /// `[station]`, written into every file's metadata.
        public var station: StationConfiguration
        /// Files still waiting for an upload: retention skips them. Nil: none.
        public var holds: UploadHolds?

        public init(
            gapFill: GapFill = .none, retrySeconds: Double = 5, diskGuard: DiskSpaceGuard? = nil,
            faults: FaultInjection = FaultInjection(), clockSteps: ClockStepWatch? = nil,
            station: StationConfiguration = StationConfiguration(), holds: UploadHolds? = nil
        ) {
            self.holds = holds
            self.station = station
            self.clockSteps = clockSteps
            self.gapFill = gapFill
            self.retrySeconds = retrySeconds
            self.diskGuard = diskGuard
            self.faults = faults
        }
    }

    public let recording: RecordingConfiguration
    private let format: AudioFormat
    private let clock: SegmentClock
    private let template: FilenameTemplate
    private let usesSequence: Bool
    private let events: EventLog
    private let logger: Logger
    private let retrySeconds: Double
    private let gapFill: GapFill
    private let diskGuard: DiskSpaceGuard?
    private let clockSteps: ClockStepWatch?
    private let holds: UploadHolds?
    private let retention: RetentionSweep
    private let station: StationConfiguration
    /// The station id when `[station] id` is empty.
    private let hostName: String
    /// Zeros for `gap_fill = "silence"`, allocated once.
    private let zeros: UnsafeMutableRawBufferPointer
    /// Wall time the audio of this recording ended before the daemon started (its first file records
    /// the gap); nil once recorded or when unknown.
    private var previousAudioEnd: Double?
    /// Silence written in this segment for gaps that do not skip capture frames (restarts, xruns): moves
    /// `align = "samples"` cuts so a file holds `segment_seconds` of timeline.
    private var timelineShift: Int64 = 0
    /// Why the recording is blocked, to report each cause once rather than at every retry.
    private var blockedReason: String?

    private var file: (any SegmentFileWriter)?
    private var sequence = 0
    /// Whether the highest `{seq}` on disk has been read (at the first file this writer opens).
    private var numberingScanned = false
    private var segmentFirstFrame: Int64 = 0
    private var segmentStartTime: Double = 0
    private var segmentPath = ""
    private var segmentDropped: Int64 = 0
    private var segmentRestarts = 0
    /// Every discontinuity of the recording, where it belongs (``GapLedger``).
    private var ledger = GapLedger()
    private var segmentSilence: Int64 = 0
    /// Wall time just after the last frame received, to measure outages across ffmpeg restarts.
    private var lastChunkEnd: Double?
    private var nextBoundary: Double = 0
    private var levels: LevelMeter
    private var chunkLevels: LevelSnapshot
    private var segmentLevels: LevelSnapshot
    private var expectedFrame: Int64?
    private var lastSync = 0.0
    private var blockedUntil: Double?

    /// Capture frame where the recording ends by itself (``stopAfter(frames:)``), set by the first chunk.
    private var frameLimit: Int64?
    private var limitEnd: Int64?
    private let limitReached = Atomic<Bool>(false)
    /// Capture frame the recording starts at (``start(atFrame:)``); earlier frames are not its own.
    private var firstWantedFrame: Int64?
    /// The firing the next file closed holds (a trigger's clip).
    private var mark: ClipMark?
    /// The schedule's state from the last look, and the wall time it next changes (`.infinity`: never).
    private var scheduleOpen = true
    private var scheduleKnownUntil = -Double.infinity
    private var scheduleLooked = false

    private let shared: Mutex<RecordingStatus>
    /// Closed segments, oldest first (the newest `keptSegments`).
    private let closed = Mutex<[SegmentInfo]>([])
    public static let keptSegments = 2000

    public init(
        recording: RecordingConfiguration, format: AudioFormat, events: EventLog, logger: Logger,
        options: Options = Options()
    ) {
        self.recording = recording
        self.format = format
        self.clock = SegmentClock(
            segmentSeconds: recording.segmentSeconds, sampleRate: format.sampleRate, alignment: recording.align)
        self.template = FilenameTemplate(recording.filename, timeZone: recording.timeZone)
        self.usesSequence = recording.filename.contains("{seq}")
        self.events = events
        var logger = logger
        logger[metadataKey: "recording.name"] = .string(recording.name)
        self.logger = logger
        self.retrySeconds = options.retrySeconds
        self.gapFill = options.gapFill
        self.diskGuard = options.diskGuard
        self.clockSteps = options.clockSteps
        self.holds = options.holds
        self.station = options.station
        self.hostName = options.station.id.isEmpty ? StationConfiguration.machineHostName() : ""
        self.zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 64)
        zeros.initializeMemory(as: UInt8.self, repeating: 0)
        self.retention = RetentionSweep(
            directory: recording.directory, keepDays: recording.keepDays, maxBytes: recording.maxBytes)
        self.levels = LevelMeter(format: format)
        self.chunkLevels = LevelSnapshot(channels: format.channels)
        self.segmentLevels = LevelSnapshot(channels: format.channels)
        self.shared = Mutex(
            RecordingStatus(
                name: recording.name, state: .recording, directory: recording.directory, currentFile: nil,
                currentFrames: 0, segmentsClosed: 0, framesWritten: 0, bytesWritten: 0, droppedFrames: 0,
                lastError: nil, lastSegment: nil))
        // Outside its schedule from the start: status says so before the first audio arrives.
        if let schedule = recording.schedule, !schedule.state(at: SystemClock.wall()).isOn {
            shared.withLock { $0.state = .scheduledOff }
        }
    }

    deinit {
        zeros.deallocate()
    }

    public var status: RecordingStatus { shared.withLock { $0 } }

    /// The recording's audio ended at wall time `time` before this daemon started: its first file starts
    /// with a `daemon_restart` gap. Call before the consumer thread starts (it is read only there). A time
    /// that is not finite, or more than a year from now, is ignored (a damaged state file).
    public func expectGap(since time: Double) {
        guard time.isFinite, abs(Date().timeIntervalSince1970 - time) < 366 * 86_400 else { return }
        previousAudioEnd = time
    }

    /// `{seq}` goes on after `number` (the last one an earlier writer of this recording used). Call before
    /// the consumer thread starts.
    public func continueNumbering(after number: Int) {
        sequence = max(sequence, min(max(0, number), 999_999_000))
    }

    /// The recording ends after exactly `frames` capture frames, counted from the first chunk it
    /// receives: its file is closed at that frame and later audio is ignored (its controller then stops
    /// it; ``reachedFrameLimit``). Call before the consumer thread starts.
    public func stopAfter(frames: Int64) {
        frameLimit = max(1, frames)
    }

    /// The recording starts at capture frame `frame` (from the look-back buffer: `start --from`): the
    /// frames before it, in the chunks handed over with it, are not recorded and are not a gap. Call
    /// before the consumer thread starts.
    public func start(atFrame frame: Int64) {
        firstWantedFrame = frame
    }

    /// The next file to close holds `mark` in its sidecar (a trigger's clip). Consumer thread only.
    public func markClip(_ mark: ClipMark) {
        self.mark = mark
    }

    /// Closes the open file now (a trigger's clip has ended). Consumer thread only.
    public func closeFile() {
        closeSegment()
    }

    /// The frames given next need not follow those given before: a trigger hands over only its clips'
    /// frames, and what lies between two clips is neither audio of the recording nor a gap. Consumer
    /// thread only.
    public func forgetPosition() {
        expectedFrame = nil
        lastChunkEnd = nil
    }

    /// Whether every frame ``stopAfter(frames:)`` allows has been taken (and the file closed). Any thread.
    public var reachedFrameLimit: Bool { limitReached.load(ordering: .acquiring) }

    /// Closed segments whose first frame's wall time is at or after `since` (all when nil), oldest first.
    public func segments(since: Double? = nil) -> [SegmentInfo] {
        closed.withLock { list in since.map { t in list.filter { $0.startTime >= t } } ?? list }
    }

    public func consume(_ chunk: ChunkBuffer) {
        consume(chunk, frames: 0..<chunk.frameCount)
    }

    /// Takes the frames of `chunk` at offsets `range` (a trigger's clip starts and ends inside chunks).
    /// Consumer thread only.
    public func consume(_ chunk: ChunkBuffer, frames range: Range<Int>) {
        let upper = min(chunk.frameCount, range.upperBound)
        var lower = max(0, range.lowerBound)
        var frameCount = upper
        if let first = firstWantedFrame {
            // Started in the past: the first chunk handed over may begin before the frame asked for.
            let skip = first - chunk.firstFrame
            if skip >= Int64(frameCount) { return }
            if skip > 0 { lower = max(lower, Int(skip)) }
        }
        guard lower < frameCount else { return }
        // An on-demand duration: take exactly its frames, the last chunk cut at the frame.
        if let limit = frameLimit {
            let end = limitEnd ?? chunk.firstFrame + Int64(lower) + limit
            limitEnd = end
            frameCount = Int(max(Int64(lower), min(Int64(frameCount), end - chunk.firstFrame)))
            if frameCount == lower {
                reachFrameLimit()
                return
            }
        }
        let rate = Double(format.sampleRate)
        let firstFrame = chunk.firstFrame + Int64(lower)
        let startTime = chunk.startTime + Double(lower) / rate
        // Outside the schedule's windows nothing is a gap: the recording is not meant to be recording.
        let offSchedule = recording.schedule != nil && !scheduleIsOpen(at: startTime)
        if offSchedule {
            previousAudioEnd = nil
            expectedFrame = nil
            lastChunkEnd = nil
        }
        if let end = previousAudioEnd {
            // The first audio after the daemon started: the time since the last file's end is missing.
            previousAudioEnd = nil
            let frames = format.frames(seconds: min(366 * 86_400, max(0, startTime - end)))
            keep(
                SegmentGap(
                    kind: .daemonRestart, fileFrame: 0, captureFrame: firstFrame, time: end, frames: frames,
                    exact: false))
        }
        if let expected = expectedFrame, firstFrame > expected {
            noteDropped(from: expected, frames: firstFrame - expected, time: startTime)
        }
        expectedFrame = chunk.firstFrame + Int64(upper)
        // A restart or an xrun lies before the chunk's first frame: only where that frame is taken.
        if lower == 0 {
            if chunk.followsRestart, let end = lastChunkEnd {
                if file != nil { segmentRestarts += 1 }
                let outage = max(0, chunk.startTime - end)
                recordGap(
                    .ffmpegRestart, captureFrame: chunk.firstFrame, time: end,
                    frames: format.frames(seconds: outage), exact: false)
            }
            if chunk.xruns > 0, lastChunkEnd != nil, !(chunk.followsRestart && chunk.xrunLostSeconds == 0) {
                let lost = format.frames(seconds: chunk.xrunLostSeconds)
                recordGap(
                    .xrun, captureFrame: chunk.firstFrame, time: chunk.startTime - chunk.xrunLostSeconds,
                    frames: lost, exact: false)
            }
        }
        lastChunkEnd = chunk.startTime + Double(upper) / rate

        let bytesPerFrame = format.bytesPerFrame
        var offset = lower
        while offset < frameCount {
            let frame = chunk.firstFrame + Int64(offset)
            let time = chunk.startTime + Double(offset) / rate
            var windowFrames = Int64.max
            if recording.schedule != nil {
                guard scheduleIsOpen(at: time) else {
                    // Closed: skip to the frame where the next window opens (or the end of the chunk).
                    closeSegment()
                    offset += Int(min(Int64(frameCount - offset), framesUntil(scheduleKnownUntil, from: time)))
                    continue
                }
                windowFrames = framesUntil(scheduleKnownUntil, from: time)
            }
            if file == nil {
                guard openSegment(firstFrame: frame, time: time, chunk: chunk) else {
                    noteLost(frame: frame, frames: Int64(frameCount - offset), time: time)
                    return
                }
            }
            let remaining = framesLeftInSegment(at: frame, time: time)
            if remaining == 0 {
                closeSegment()
                continue
            }
            let count = Int(min(Int64(frameCount - offset), remaining, windowFrames))
            let slice = UnsafeRawBufferPointer(
                start: chunk.bytes + offset * bytesPerFrame, count: count * bytesPerFrame)
            // The whole chunk: its levels were measured once by the reader.
            let written = write(slice, levels: offset == 0 && count == chunk.frameCount ? chunk.levels : nil)
            guard written == count else {
                let rest = frameCount - offset - written
                noteLost(
                    frame: frame + Int64(written), frames: Int64(rest),
                    time: time + Double(written) / Double(format.sampleRate))
                return
            }
            offset += count
            if Int64(count) == remaining || Int64(count) == windowFrames { closeSegment() }
        }
        if let end = limitEnd, chunk.firstFrame + Int64(frameCount) >= end {
            reachFrameLimit()
            return
        }
        let now = SystemClock.monotonic()
        // Chunks come in batches of about `sync_seconds`: a little early is on time.
        if let file, now - lastSync >= 0.9 * recording.syncSeconds {
            lastSync = now
            file.setGaps(count: ledger.fileGaps.count, frames: ledger.fileGaps.reduce(0) { $0 + $1.frames })
            do {
                try file.sync()
            } catch {
                fail(error, during: "sync")
            }
            if self.file != nil, let diskGuard, case .low(let free) = diskGuard.check(directory: recording.directory) {
                pauseForSpace(freeBytes: free)
            }
        }
        if ledger.dropReportDue(now: now) { reportDropped(now: now) }
    }

    // MARK: - Schedule

    /// Whether the schedule has a window open at wall time `time`. Looks at the schedule only when its
    /// state may have changed (``scheduleKnownUntil``); reports each opening and closing as an event.
    private func scheduleIsOpen(at time: Double) -> Bool {
        guard let schedule = recording.schedule else { return true }
        guard time >= scheduleKnownUntil || !scheduleLooked else { return scheduleOpen }
        let (open, next) = schedule.state(at: time)
        scheduleKnownUntil = next ?? .infinity
        let changed = !scheduleLooked || open != scheduleOpen
        scheduleLooked = true
        scheduleOpen = open
        guard changed else { return open }
        let window = schedule.window(atOrAfter: time)
        var fields: [String: EventValue] = [:]
        if let window {
            fields["window.start_utc"] = .utc(window.start)
            fields["window.end_utc"] = .utc(window.end)
        }
        if open {
            events.emit(
                .notice, "recording.window_opened", "the recording's schedule window opened", recording: recording.name,
                fields)
        } else {
            closeSegment()
            shared.withLock { $0.state = .scheduledOff }
            events.emit(
                .notice, "recording.window_closed",
                window == nil
                    ? "outside the recording's schedule, and no window opens within 400 days"
                    : "outside the recording's schedule: no file is open until the next window",
                recording: recording.name, fields)
        }
        return open
    }

    /// Frames from wall time `time` until wall time `end` (rounded up; at least 1).
    private func framesUntil(_ end: Double, from time: Double) -> Int64 {
        guard end.isFinite else { return .max }
        return max(1, Int64(((end - time) * Double(format.sampleRate)).rounded(.up)))
    }

    private func reachFrameLimit() {
        closeSegment()
        limitReached.store(true, ordering: .releasing)
    }

    public func finish() {
        closeSegment()
        reportDropped()
        reportLost()
        attachPendingGapsToLastFile()
        shared.withLock {
            $0.state = .stopped; $0.currentFile = nil
        }
    }

    /// At the end, gaps that no later file can start with go into the last file's sidecar, after its
    /// last frame, so every gap of the recording is in some sidecar.
    private func attachPendingGapsToLastFile() {
        let pendingGaps = ledger.takePending()
        guard !pendingGaps.isEmpty else { return }
        guard var info = closed.withLock({ $0.last }), FileManager.default.fileExists(atPath: info.path) else {
            logger.warning(
                "gaps with no file to record them in: the recording has no file left",
                metadata: [
                    "gaps": "\(pendingGaps.count)", "gap_frames": "\(pendingGaps.reduce(0) { $0 + $1.frames })",
                ])
            return
        }
        info.gaps += pendingGaps.map { gap in
            var gap = gap
            gap.fileFrame = info.frames
            return gap
        }
        writeSidecar(info)
        closed.withLock { list in if !list.isEmpty { list[list.count - 1] = info } }
        shared.withLock { $0.lastSegment = info }
    }

    // MARK: - Segments

    /// Frames the open segment may still take, counting from `frame` at wall time `time`.
    private func framesLeftInSegment(at frame: Int64, time: Double) -> Int64 {
        switch clock.alignment {
        case .samples:
            return max(0, segmentFirstFrame + clock.framesPerSegment - frame - timelineShift)
        case .clock:
            if nextBoundary - time > Double(clock.segmentSeconds) + 1 {
                // The wall clock went back (a step, see ClockStepWatch): cut at the next boundary of the
                // new time rather than stretch this file until the old boundary comes round again.
                logger.notice(
                    "the clock went back: this file ends at the next boundary of the new time",
                    metadata: [
                        "segment.path": "\(segmentPath)", "segment.time": "\(WireFormat.utc(time))",
                    ])
                nextBoundary = clock.boundary(after: time)
            }
            return clock.framesBefore(boundary: nextBoundary, firstFrameTime: time)
        }
    }

    private func openSegment(firstFrame: Int64, time: Double, chunk: ChunkBuffer) -> Bool {
        let now = SystemClock.monotonic()
        if let until = blockedUntil, now < until { return false }
        if let diskGuard, case .low(let free) = diskGuard.check(directory: recording.directory) {
            pauseForSpace(freeBytes: free)
            return false
        }
        if usesSequence && !numberingScanned {
            // {seq} goes on after every number this recording's files on disk carry (earlier runs, a
            // reload, a stop and start, files repaired after a crash). Once, here on this writer's thread.
            numberingScanned = true
            if let highest = RecordingOnDisk.highestSequence(
                directory: recording.directory, template: template, name: recording.name)
            {
                continueNumbering(after: highest)
            }
        }
        sequence += 1
        // A segment opened at a boundary is named after the boundary (its first frame may be a few
        // microseconds either side of it).
        let chunkSeconds = Double(chunk.frameCount) / Double(format.sampleRate)
        let boundary = clock.boundary(atOrBefore: time)
        let nameTime = (clock.alignment == .clock && time - boundary < chunkSeconds) ? boundary : time
        var relative = template.expand(name: recording.name, sequence: sequence, time: nameTime)
        if usesSequence {
            // {seq} goes on after the files already there (an earlier run, a reload): a number is never
            // reused, and the files sort in recording order.
            var tries = 0
            while !WAVFileWriter.isFree(recording.directory + "/" + relative), tries < 1_000_000 {
                sequence += 1
                tries += 1
                relative = template.expand(name: recording.name, sequence: sequence, time: nameTime)
            }
        }
        var path = WAVFileWriter.uniquePath(for: recording.directory + "/" + relative)
        // A file of that name may appear between the check and the create: take the next free name.
        for attempt in 1...10 {
            do {
                file = try recording.makeSegmentFile(
                    path: path, format: format, startTime: time,
                    metadata: metadata(firstFrame: firstFrame, time: time, path: path))
                break
            } catch  where error.errno == EEXIST && error.operation == .create && attempt < 10 {
                path = WAVFileWriter.uniquePath(for: recording.directory + "/" + relative)
            } catch {
                fail(error, during: "create")
                return false
            }
        }
        if blockedUntil != nil {
            blockedUntil = nil
            blockedReason = nil
            events.emit(
                .notice, "recording.resumed", "recording resumed: a new file could be written",
                recording: recording.name,
                [
                    "segment.path": .string(path)
                ])
        }
        segmentFirstFrame = firstFrame
        segmentStartTime = time
        segmentPath = path
        segmentDropped = 0
        segmentRestarts = 0
        timelineShift = 0
        segmentSilence = 0
        if let lost = ledger.fileOpened() { reportLost(lost) }
        publishLedgerCounts()
        segmentLevels.reset()
        nextBoundary = clock.boundary(after: time)
        lastSync = now
        shared.withLock {
            $0.state = .recording
            $0.currentFile = path + ".partial"
            $0.currentFrames = 0
            $0.sequence = sequence
        }
        logger.debug("segment opened", metadata: ["segment.path": "\(path)", "segment.first_frame": "\(firstFrame)"])
        return true
    }

    /// Writes `slice` to the open file; returns the frames that reached it (all of them unless the write
    /// failed, in which case the recording is now blocked and the file closed).
    /// `levels`: those of the whole slice, when they are known already.
    private func write(_ slice: UnsafeRawBufferPointer, levels known: LevelSnapshot? = nil) -> Int {
        guard let file else { return 0 }
        let before = file.frames
        var failure: WAVWriteError? = nil
        do {
            try file.append(slice)
        } catch {
            failure = error
        }
        let written = Int(file.frames - before)
        if written > 0 {
            let bytes = written * format.bytesPerFrame
            if let known, known.frames == Int64(written), known.channels == format.channels {
                segmentLevels.accumulate(known)
            } else {
                levels.measure(UnsafeRawBufferPointer(rebasing: slice[..<bytes]), into: &chunkLevels)
                segmentLevels.accumulate(chunkLevels)
            }
            shared.withLock {
                $0.currentFrames += Int64(written)
                $0.framesWritten += Int64(written)
                $0.bytesWritten += UInt64(bytes)
            }
        }
        if let failure { fail(failure, during: "write") }
        return written
    }

    /// What the file opened at `path` says about itself (docs/metadata.md).
    private func metadata(firstFrame: Int64, time: Double, path: String) -> SegmentMetadata {
        SegmentMetadata(
            station: station, hostName: hostName, recording: recording.name, source: recording.source,
            format: format, firstFrame: firstFrame, startTime: time, timeZone: recording.timeZone,
            filename: String(path.split(separator: "/").last ?? ""))
    }

    private func closeSegment() {
        guard let file else { return }
        self.file = nil
        file.setGaps(count: ledger.fileGaps.count, frames: ledger.fileGaps.reduce(0) { $0 + $1.frames })
        let path: String
        do {
            path = try file.close()
        } catch {
            file.abandon()
            fail(error, during: "close")
            return
        }
        // After the close: a FLAC file's last block is written then (and a write error cuts the file).
        let (frames, bytes) = (file.frames, file.dataBytes)
        let info = SegmentInfo(
            recording: recording.name, path: path, sequence: sequence, firstFrame: segmentFirstFrame,
            frames: frames, durationSeconds: format.seconds(frames: frames), startTime: segmentStartTime,
            peakDBFS: (0..<format.channels).map { segmentLevels[$0].peakDBFS },
            rmsDBFS: (0..<format.channels).map { segmentLevels[$0].rmsDBFS },
            droppedFrames: segmentDropped, restarts: segmentRestarts, bytes: bytes, gaps: ledger.fileGaps,
            silenceFrames: segmentSilence, trigger: mark)
        mark = nil
        writeSidecar(info)
        applyRetention()
        shared.withLock {
            $0.segmentsClosed += 1
            $0.closedFrames += frames
            $0.closedFileBytes += bytes
            $0.currentFile = nil
            $0.currentFrames = 0
            $0.lastSegment = info
        }
        closed.withLock { list in
            list.append(info)
            if list.count > Self.keptSegments { list.removeFirst(list.count - Self.keptSegments) }
        }
        events.emit(
            .info, "segment.closed", "segment closed", recording: recording.name,
            [
                "segment.path": .string(path),
                "segment.first_frame": .int(info.firstFrame),
                "segment.frames": .int(frames),
                "segment.duration_seconds": .seconds(info.durationSeconds),
                "segment.start_time": .epoch(info.startTime),
                "segment.start_time_utc": .utc(info.startTime),
                "segment.peak_dbfs": .dbfs(info.peakDBFS),
                "segment.rms_dbfs": .dbfs(info.rmsDBFS),
                "segment.dropped_frames": .int(info.droppedFrames),
                "segment.restarts": .int(Int64(info.restarts)),
                "segment.gaps": .int(Int64(info.gaps.count)),
                "segment.gap_frames": .int(info.gaps.reduce(0) { $0 + $1.frames }),
                "segment.silence_frames": .int(info.silenceFrames),
                "segment.format": .string(recording.format.rawValue),
                "segment.compression_ratio": .double(compressionRatio(frames: frames, bytes: bytes)),
            ])
    }

    /// The audio's size as PCM over the file's (1 for WAV, about 2 for FLAC), to three decimals.
    private func compressionRatio(frames: Int64, bytes: UInt64) -> Double {
        guard bytes > 0 else { return 1 }
        return (Double(frames) * Double(format.bytesPerFrame) / Double(bytes) * 1000).rounded() / 1000
    }

    /// Writes `NAME.wav.json` next to the file: its timing, levels and gaps, for tools that index recordings.
    private func writeSidecar(_ info: SegmentInfo) {
        if let failure = SegmentSidecar(segment: info, format: format, source: recording.source).write() {
            logger.warning(
                "could not write the segment's sidecar file",
                metadata: [
                    "segment.path": "\(SegmentSidecar.path(for: info.path))", "error": "\(failure)",
                ])
        }
    }

    /// Deletes the oldest closed files beyond `keep_days` / `max_bytes`, each one an event.
    private func applyRetention() {
        guard retention.isEnabled else { return }
        // The clock may have been stepped since the last look (the housekeeping loop looks every
        // second): look now, before ages are trusted.
        clockSteps?.check()
        let allowed = clockSteps?.ageDeletionAllowed() ?? true
        for deletion in retention.run(
            now: Date(timeIntervalSince1970: SystemClock.wall()), ageDeletionAllowed: allowed, holds: holds)
        {
            events.emit(
                .info, "segment.deleted", "segment deleted by retention", recording: recording.name,
                [
                    "segment.path": .string(deletion.path), "segment.bytes": .int(deletion.bytes),
                    "reason": .string(deletion.reason),
                ])
        }
    }

    // MARK: - Gaps

    /// Adds a discontinuity to the ledger: counted in status and, when a file is open, kept with the
    /// file. With `gap_fill = "silence"` the gap's length of silence is written first (at most up to the
    /// end of the file, which is then closed).
    private func recordGap(_ kind: SegmentGap.Kind, captureFrame: Int64, time: Double, frames: Int64, exact: Bool) {
        // Between two files (or while blocked) the next file starts with it, not filled: that file starts
        // at the audio after the gap.
        guard
            keep(
                SegmentGap(
                    kind: kind, fileFrame: 0, captureFrame: captureFrame, time: time, frames: frames, exact: exact)),
            gapFill == .silence, frames > 0
        else { return }
        // A queue overflow skips capture frames: the silence takes their place. A restart or an xrun
        // does not: the silence moves the timeline of the file.
        let skipsCapture = kind == .queueOverflow
        let left = framesLeftInSegment(at: captureFrame, time: time)
        let wanted = min(frames, left)
        let filled = writeSilence(frames: wanted)
        if !skipsCapture { timelineShift += filled }
        if self.file != nil { ledger.setLastFilled(filled) }
        if self.file != nil, filled == left, frames >= left { closeSegment() }
    }

    /// Counts `gap` in status and keeps it in the open file's ledger at the file's current end, or, with no
    /// file open, for the next file (at its frame 0). Returns whether a file was open.
    @discardableResult
    private func keep(_ gap: SegmentGap) -> Bool {
        defer { publishLedgerCounts() }
        return ledger.record(gap, openFileFrames: file?.frames)
    }

    /// The ledger's counts, for status.
    private func publishLedgerCounts() {
        let (count, frames) = (ledger.count, ledger.frames)
        shared.withLock {
            $0.gaps = count; $0.gapFrames = frames
        }
    }

    /// Appends `frames` of silence to the open file for the last gap of the ledger; returns the frames
    /// written (fewer after a write error, which blocks the recording).
    private func writeSilence(frames: Int64) -> Int64 {
        guard let file, frames > 0 else { return 0 }
        let bytesPerFrame = format.bytesPerFrame
        let piece = Int64(zeros.count / bytesPerFrame)
        let before = file.frames
        var failure: WAVWriteError? = nil
        var remaining = frames
        while remaining > 0 {
            let count = Int(min(piece, remaining))
            do {
                try file.append(UnsafeRawBufferPointer(start: zeros.baseAddress, count: count * bytesPerFrame))
            } catch {
                failure = error
                break
            }
            remaining -= Int64(count)
        }
        let written = file.frames - before
        shared.withLock {
            $0.currentFrames += written
            $0.framesWritten += written
            $0.bytesWritten += UInt64(written) * UInt64(bytesPerFrame)
            $0.silenceFrames += written
        }
        segmentSilence += written
        if let failure {
            // The file is closed now: its ledger must say what silence it holds.
            ledger.setLastFilled(written)
            fail(failure, during: "write")
        }
        return written
    }

    // MARK: - Losses

    /// A queue overflow: in the ledger at once, exactly. The event is the first drop's, and while drops
    /// go on (a disk that stays slow) at most one every 10 s, summing those since the last, so a recording
    /// that is behind does not also flood the log.
    private func noteDropped(from frame: Int64, frames: Int64, time: Double) {
        if file != nil { segmentDropped += frames }
        shared.withLock { $0.droppedFrames += frames }
        recordGap(
            .queueOverflow, captureFrame: frame, time: time - format.seconds(frames: frames), frames: frames,
            exact: true)
        let now = SystemClock.monotonic()
        if ledger.noteDropped(frame: frame, frames: frames, time: time - format.seconds(frames: frames), now: now) {
            reportDropped(now: now)
        }
    }

    private func reportDropped(now: Double = SystemClock.monotonic()) {
        guard let report = ledger.takeDrops(now: now) else { return }
        events.emit(
            .warning, "recording.dropped", "audio dropped: this recording fell behind and its queue was full",
            recording: recording.name,
            [
                "drop.first_frame": .int(report.firstFrame),
                "drop.frames": .int(report.frames),
                "drop.seconds": .seconds(format.seconds(frames: report.frames)),
                "drop.time": .epoch(report.firstTime),
                "drop.time_utc": .utc(report.firstTime),
                "drop.gaps": .int(Int64(report.gaps)),
            ])
    }

    /// Counts audio that arrived while no file could be written; reported as one range when writing resumes.
    private func noteLost(frame: Int64, frames: Int64, time: Double) {
        guard frames > 0 else { return }
        shared.withLock { $0.droppedFrames += frames }
        ledger.noteLost(frame: frame, frames: frames, time: time)
    }

    /// Reports the audio lost while blocked; with a file open (writing resumed) it is also the first gap
    /// of that file.
    private func reportLost(_ taken: GapLedger.LostRange? = nil) {
        guard let lost = taken ?? ledger.takeLost(openFileFrames: file?.frames) else { return }
        publishLedgerCounts()
        events.emit(
            .error, "recording.lost", "audio could not be written and is lost", recording: recording.name,
            [
                "lost.first_frame": .int(lost.frame),
                "lost.frames": .int(lost.frames),
                "lost.seconds": .seconds(format.seconds(frames: lost.frames)),
                "lost.time": .epoch(lost.time),
                "lost.time_utc": .utc(lost.time),
            ])
    }

    /// Marks the recording blocked after a write error, reports it, and closes the open file with a
    /// valid header (what reached the disk stays playable). Writing is tried again after `retrySeconds`.
    private func fail(_ error: any Error, during operation: String) {
        let diskFull = (error as? WAVWriteError)?.isDiskFull ?? false
        let message = "\(error)"
        block(
            reason: diskFull ? "disk full" : message, message: message,
            event: diskFull ? "recording.disk_full" : "recording.write_failed",
            text: diskFull
                ? "disk full: recording is blocked until space is freed" : "could not write the recording; retrying",
            fields: ["error": .string(message), "operation": .string(operation)],
            closing: operation != "close")
    }

    /// Free space fell below `[storage] min_free_bytes` and nothing more may be deleted: pause.
    private func pauseForSpace(freeBytes: UInt64) {
        let floor = diskGuard?.minFreeBytes ?? 0
        block(
            reason: "low space",
            message:
                "free space \(freeBytes) bytes is below [storage] min_free_bytes \(floor): free space or allow deletion (delete_oldest_when_low)",
            event: "recording.low_space",
            text: "free space is below min_free_bytes: recording is paused until space is freed",
            fields: ["disk.free_bytes": .int(Int64(clamping: freeBytes)), "disk.min_free_bytes": .int(floor)],
            closing: true)
    }

    /// Blocks the recording for `retrySeconds`, closing the open file (unless it is the close that
    /// failed). The event is emitted when the cause is new, not again at every failed retry.
    private func block(
        reason: String, message: String, event: String, text: String, fields: [String: EventValue], closing: Bool
    ) {
        blockedUntil = SystemClock.monotonic() + retrySeconds
        shared.withLock {
            $0.state = .blocked
            $0.lastError = message
            $0.currentFile = nil
        }
        if blockedReason != reason {
            blockedReason = reason
            var fields = fields
            fields["segment.path"] = .string(segmentPath)
            fields["retry_seconds"] = .seconds(retrySeconds)
            events.emit(.error, event, text, recording: recording.name, fields)
        } else {
            logger.debug("still blocked", metadata: ["error": "\(message)"])
        }
        if closing { closeSegment() }
    }
}
