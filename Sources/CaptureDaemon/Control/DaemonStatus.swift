// Translates the daemon's live state into the control API's status types.
import CaptureCore
import CaptureProtocol
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension AudioCapDaemon {
    /// Everything `GET /v1/status` reports, read now.
    func statusResponse() async -> StatusResponse {
        let snapshots = await recordings.snapshots
        let triggerStatuses = await triggers.statuses
        let triggerQueues = await triggers.queuesBySource
        let sources = captures.all.map {
            sourceStatus($0, snapshots: snapshots, triggerQueues: triggerQueues[$0.name] ?? [])
        }
        let consumers = sources.flatMap { $0.queue?.consumers ?? [] }
        let first =
            sources.first
            ?? SourceStatus(
                state: CaptureSource.Phase.stopped.rawValue, inputFormat: "", device: "", sampleRate: 0, channels: 0,
                sampleFormat: "", ffmpegPID: nil, restarts: 0, framesCaptured: 0, secondsSinceLastAudio: nil, xruns: 0,
                lastExit: nil, lastErrorLines: [], nextStartInSeconds: nil)
        return StatusResponse(
            version: AudioCapVersion.string,
            pid: getpid(),
            uptimeSeconds: WireFormat.seconds(Date().timeIntervalSince1970 - startedAt),
            source: first,
            queue: QueueStatus(
                chunkMilliseconds: first.queue?.chunkMilliseconds ?? configuration.source.chunkMilliseconds,
                depthChunks: consumers.map(\.depthChunks).max() ?? 0,
                highWaterChunks: consumers.map(\.highWaterChunks).max() ?? 0,
                consumers: consumers),
            droppedFrames: sources.reduce(Int64(0)) { $0 + $1.droppedFrames },
            levels: first.levels,
            disk: await diskStatus(snapshots),
            recordings: snapshots.map(Self.recordingResponse), clockSynchronized: clockCheck.isSynchronized,
            sources: sources, station: delivery.station,
            uploads: delivery.isConfigured ? await delivery.status() : nil,
            triggers: triggerStatuses.isEmpty ? nil : triggerStatuses)
    }

    /// One capture as status shows it, with its queues (its level monitor's and those of the recordings
    /// it feeds), the frames it lost, and its levels.
    private func sourceStatus(
        _ capture: SourceCapture, snapshots: [RecordingController.Snapshot], triggerQueues: [ChunkChannel]
    ) -> SourceStatus {
        let status = capture.source.status
        let counters = capture.counters
        let format = capture.format
        let fed = snapshots.filter { $0.source == capture.name }
        let consumers =
            [queueEntry(capture.levelQueue)] + fed.map { queueEntry($0.queue) } + triggerQueues.map(queueEntry)
        let last = counters.lastAudioMonotonic
        var response = SourceStatus(
            name: capture.name, state: status.phase.rawValue, inputFormat: capture.configuration.inputFormat,
            device: capture.shownDevice, sampleRate: format.sampleRate, channels: format.channels,
            sampleFormat: format.sampleFormat.rawValue, ffmpegPID: status.pid, restarts: status.restarts,
            framesCaptured: counters.framesCaptured.load(ordering: .relaxed),
            secondsSinceLastAudio: last.map { WireFormat.seconds(SystemClock.monotonic() - $0) },
            xruns: counters.xruns.load(ordering: .relaxed), lastExit: status.lastExit,
            lastErrorLines: status.lastErrorLines,
            nextStartInSeconds: status.nextStartInSeconds.map(WireFormat.seconds),
            queue: QueueStatus(
                chunkMilliseconds: capture.configuration.chunkMilliseconds,
                depthChunks: consumers.map(\.depthChunks).max() ?? 0,
                highWaterChunks: consumers.map(\.highWaterChunks).max() ?? 0, consumers: consumers),
            droppedFrames: capture.levelDrops + fed.reduce(Int64(0)) { $0 + $1.status.droppedFrames }
                + counters.framesLostNoBuffer.load(ordering: .relaxed)
                + counters.framesRefused.load(ordering: .relaxed),
            levels: capture.levelsResponse)
        response.lookBack = capture.lookBackStatus
        return response
    }

    func sourceNames() -> [String] { captures.all.map(\.name) }

    func followLevels(source: String?, _ started: Bool) {
        for capture in source.map({ captures.named($0).map { [$0] } ?? [] }) ?? captures.all {
            capture.followLevels(started)
        }
    }

    func levelsResponse(source: String?) -> LevelsResponse? {
        let capture = source.map { captures.named($0) } ?? captures.all.first
        return capture?.levelsResponse
    }

    private func queueEntry(_ channel: ChunkChannel) -> QueueStatus.Consumer {
        QueueStatus.Consumer(
            name: channel.name, depthChunks: channel.depth, highWaterChunks: channel.highWater,
            capacityChunks: channel.capacity, droppedFrames: channel.droppedFrames)
    }

    static func recordingResponse(_ snapshot: RecordingController.Snapshot) -> RecordingResponse {
        let status = snapshot.status
        var response = RecordingResponse(
            name: snapshot.configuration.name, kind: snapshot.kind.rawValue, state: status.state.rawValue,
            directory: snapshot.configuration.directory, segmentSeconds: snapshot.configuration.segmentSeconds,
            align: snapshot.configuration.align.rawValue, filename: snapshot.configuration.filename,
            currentFile: status.currentFile, currentFileSeconds: snapshot.currentFileSeconds,
            segmentsClosed: status.segmentsClosed, framesWritten: status.framesWritten,
            bytesWritten: status.bytesWritten,
            droppedFrames: status.droppedFrames, gaps: status.gaps, gapFrames: status.gapFrames,
            silenceFrames: status.silenceFrames, lastError: status.lastError, startedAt: snapshot.startedAt,
            stopsAt: snapshot.stopsAt, source: snapshot.source, format: snapshot.configuration.format.rawValue,
            compressionRatio: snapshot.configuration.format == .wav || status.closedFileBytes == 0
                ? nil : Double(status.closedFrames) * Double(snapshot.bytesPerFrame) / Double(status.closedFileBytes))
        response.fromSeconds = snapshot.fromSeconds
        response.message = snapshot.message
        if let schedule = snapshot.configuration.schedule {
            let now = SystemClock.wall()
            response.schedule = ScheduleStatus(
                windows: schedule.text, open: schedule.state(at: now).isOn, window: schedule.window(atOrAfter: now))
        }
        return response
    }

    static func segmentResponse(_ info: SegmentInfo) -> SegmentResponse {
        SegmentResponse(
            recording: info.recording, path: info.path, sequence: info.sequence, firstFrame: info.firstFrame,
            frames: info.frames, durationSeconds: info.durationSeconds, startTime: info.startTime,
            peakDBFS: info.peakDBFS, rmsDBFS: info.rmsDBFS,
            droppedFrames: info.droppedFrames, restarts: info.restarts, bytes: info.bytes)
    }

    /// The recordings' disk: free space, and how long it lasts at the rate the running recordings write.
    /// The free space is the last periodic check's (`measure`: measured now, on the blocking-work thread);
    /// measured now as well when no check has looked at that disk yet.
    func diskStatus(_ snapshots: [RecordingController.Snapshot], measure: Bool = false) async -> DiskStatus? {
        let active = snapshots.filter { $0.status.state != .stopped }
        let path = snapshots.first?.configuration.directory ?? configuration.storage.root
        var space = measure ? nil : lastDiskSpace.space(at: path)
        if space == nil {
            space = await BlockingWorker.shared.run { DiskSpaceGuard.space(at: path) }
            lastDiskSpace.remember(space, at: path)
        }
        guard let space else { return nil }
        let bytesPerSecond = active.reduce(0) { $0 + (captures.named($1.source)?.format.bytesPerSecond ?? 0) }
        return Self.disk(
            space: space, bytesPerSecond: Double(bytesPerSecond),
            minFreeBytes: configuration.storage.minFreeBytes, lowSpace: lowSpaceWarning.isLow)
    }

    /// Free space `space` (of the file system holding the first recording's directory, or their nearest
    /// existing parent), and how long it lasts above `minFreeBytes` at `bytesPerSecond`.
    static func disk(
        space: LastDiskSpace.Space, bytesPerSecond: Double, minFreeBytes: Int64 = 0, lowSpace: Bool = false
    ) -> DiskStatus {
        let usable = Double(space.free) - Double(minFreeBytes)
        return DiskStatus(
            path: space.probe, freeBytes: space.free, totalBytes: space.total,
            estimatedSecondsLeft: bytesPerSecond > 0 ? WireFormat.seconds(max(0, usable) / bytesPerSecond) : nil,
            minFreeBytes: minFreeBytes, lowSpace: lowSpace)
    }
}

/// The last free-space measurement and the path it was taken for; any thread.
final class LastDiskSpace: Sendable {
    typealias Space = (free: UInt64, total: UInt64, device: UInt64, probe: String)
    private struct Reading: Sendable {
        var path: String
        var space: Space
    }
    private let reading = Mutex<Reading?>(nil)

    /// The last measurement taken for `path`, if any.
    func space(at path: String) -> Space? {
        reading.withLock { $0?.path == path ? $0?.space : nil }
    }

    /// Keeps `space` as the measurement for `path` (nil: forgets the last one).
    func remember(_ space: Space?, at path: String) {
        reading.withLock { $0 = space.map { Reading(path: path, space: $0) } }
    }
}
