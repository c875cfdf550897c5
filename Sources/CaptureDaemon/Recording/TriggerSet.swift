// The running triggers, one consumer each on its source; a reload replaces those that changed.
import CaptureCore
import CaptureProtocol
import Logging

/// Owns the ``TriggerRecorder``s of the configuration's `[[trigger]]`s, each on its own thread and queue
/// attached to its source's fan-out, like a recording.
public actor TriggerSet {
    private struct Entry {
        var recorder: TriggerRecorder
        var thread: ConsumerThread
        var capture: SourceCapture
        var reserved: Int
    }
    private var entries: [String: Entry] = [:]
    private var order: [String] = []
    private let events: EventLog
    private let logger: Logger
    private let options: SegmentWriter.Options

    public init(events: EventLog, logger: Logger, options: SegmentWriter.Options) {
        self.events = events
        self.logger = logger
        self.options = options
    }

    /// Starts `triggers` on `captures` (each on the capture its `source` names, or the first).
    public func start(_ triggers: [TriggerConfiguration], captures: [SourceCapture]) {
        for trigger in triggers { add(trigger, captures: captures) }
    }

    private func add(_ trigger: TriggerConfiguration, captures: [SourceCapture]) {
        guard let capture = captures.first(where: { trigger.source.isEmpty || $0.name == trigger.source }) else {
            events.emit(
                .error, "config.trigger_without_source", "the trigger's source is not configured",
                recording: trigger.name, ["trigger.source": .string(trigger.source)])
            return
        }
        var trigger = trigger
        trigger.source = capture.name
        var options = options
        options.gapFill = .none
        var logger = logger
        logger[metadataKey: "source.name"] = "\(capture.name)"
        let recorder = TriggerRecorder(
            configuration: trigger, format: capture.format, chunkSeconds: capture.configuration.chunkSeconds,
            events: capture.events, logger: logger, options: options)
        let held = TriggerRecorder.heldChunks(trigger, chunkSeconds: capture.configuration.chunkSeconds)
        let reserved = capture.queueChunks + 1 + held
        capture.pool.reserve(reserved)
        options.diskGuard?.register(trigger.name, directory: trigger.directory, deleteOldestWhenLow: false)
        let thread = ConsumerThread(
            channel: ChunkChannel(
                name: "trig-\(trigger.name)", capacity: capture.queueChunks,
                batch: ChunkChannel.batch(seconds: 0.25, chunkSeconds: capture.configuration.chunkSeconds),
                longestWait: 0.5),
            consumer: recorder)
        entries[trigger.name] = Entry(recorder: recorder, thread: thread, capture: capture, reserved: reserved)
        if !order.contains(trigger.name) { order.append(trigger.name) }
        thread.start()
        capture.fanout.add(thread.channel)
    }

    private func remove(_ name: String) async {
        guard let entry = entries.removeValue(forKey: name) else { return }
        entry.capture.fanout.remove(entry.thread.channel)
        await entry.thread.done()
        entry.capture.pool.unreserve(entry.reserved)
        options.diskGuard?.unregister(name)
    }

    /// Makes the running triggers match a reloaded configuration: starts new ones, stops removed ones, and
    /// restarts those whose settings or source capture changed (an open clip is closed first).
    public func apply(_ triggers: [TriggerConfiguration], captures: [SourceCapture]) async -> (
        started: [String], stopped: [String], restarted: [String]
    ) {
        var started: [String] = [], stopped: [String] = [], restarted: [String] = []
        let wanted = Set(triggers.map(\.name))
        for name in order where !wanted.contains(name) {
            await remove(name)
            stopped.append(name)
        }
        order.removeAll { !wanted.contains($0) }
        for trigger in triggers {
            let capture = captures.first { trigger.source.isEmpty || $0.name == trigger.source }
            if let entry = entries[trigger.name] {
                var resolved = trigger
                resolved.source = capture?.name ?? trigger.source
                if entry.recorder.configuration == resolved, entry.capture === capture { continue }
                await remove(trigger.name)
                add(trigger, captures: captures)
                restarted.append(trigger.name)
            } else {
                add(trigger, captures: captures)
                started.append(trigger.name)
            }
        }
        return (started, stopped, restarted)
    }

    /// Waits for every trigger's thread to finish (after the fan-outs closed their queues at shutdown).
    public func waitForAll() async {
        for name in order { await entries[name]?.thread.done() }
    }

    /// Every trigger as status shows it, in the configuration's order.
    public var statuses: [TriggerStatus] {
        order.compactMap { name in
            guard let entry = entries[name] else { return nil }
            let state = entry.recorder.state
            let configuration = entry.recorder.configuration
            let writer = entry.recorder.writer.status
            let shown =
                state.stopped
                ? "stopped" : state.clipOpen ? "recording" : writer.state == .blocked ? "blocked" : "listening"
            let today = TriggerRecorder.localDay(SystemClock.wall()) == state.day ? state.clipsToday : 0
            return TriggerStatus(
                name: name, source: entry.capture.name, state: shown, thresholdDBFS: configuration.thresholdDBFS,
                highPassHz: configuration.highPassHz, directory: configuration.directory, lastFired: state.lastFired,
                lastPeakDBFS: state.lastPeakDBFS, clipsToday: today, clipsTotal: state.clipsTotal,
                firings: state.firings, currentClip: writer.currentFile, lastClip: state.lastClip,
                droppedFrames: entry.thread.channel.droppedFrames + writer.droppedFrames)
        }
    }

    /// The triggers' queues by the name of the source that feeds them, for status.
    public var queuesBySource: [String: [ChunkChannel]] {
        Dictionary(grouping: order.compactMap { entries[$0] }, by: \.capture.name).mapValues {
            $0.map(\.thread.channel)
        }
    }
}
