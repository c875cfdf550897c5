// Where events go: the log, and a recent window in memory for status and the control API.
import CaptureProtocol
import Logging
import Synchronization

/// Receives ``CaptureEvent``s from any thread, logs each one, and keeps the most recent ones.
///
/// A source's view (``forSource(_:)``) shares the log, the store and the listeners, and marks every
/// event emitted through it with the source's name.
public final class EventLog: Sendable {
    private let logger: Logger
    private let capacity: Int
    private let store: EventStore?
    /// The name events emitted through this view carry (nil: the daemon's own log).
    public let source: String?
    /// The station id every event carries (nil: none).
    public let station: String?
    private struct State {
        var recent: [CaptureEvent] = []
        var listeners: [Int: @Sendable (CaptureEvent) -> Void] = [:]
        var nextListener = 0
        /// The store refused the last event (its queue was full); said once per run of drops.
        var storeBehind = false
    }

    /// Events go to `logger`, to `store` when given (the newest `capacity` of which are loaded back
    /// at start), and to a window of the newest `capacity` in memory.
    public init(logger: Logger, capacity: Int = 2000, store: EventStore? = nil, station: String? = nil) {
        self.logger = logger
        self.station = station
        self.capacity = capacity
        self.store = store
        source = nil
        shared = Shared()
        if let store {
            let previous = store.load(limit: capacity)
            shared.state.withLock { $0.recent = previous }
        }
    }

    /// The state every view of one log shares.
    private final class Shared: Sendable {
        let state = Mutex(State())
    }
    private let shared: Shared

    private init(viewOf log: EventLog, source: String) {
        logger = log.logger
        capacity = log.capacity
        store = log.store
        station = log.station
        shared = log.shared
        self.source = source
    }

    /// The same log, with every event emitted through it marked as about source `name`.
    public func forSource(_ name: String) -> EventLog {
        EventLog(viewOf: self, source: name)
    }

    /// Logs `event` at its level with its fields as metadata and records it. Not for the reader thread.
    public func emit(_ event: CaptureEvent) {
        var event = event
        if event.source == nil { event.source = source }
        if event.station == nil { event.station = station }
        var metadata: Logger.Metadata = ["event": .string(event.kind)]
        if let recording = event.recording { metadata["recording.name"] = .string(recording) }
        if let source = event.source { metadata["source.name"] = .string(source) }
        if let station = event.station { metadata["station.id"] = .string(station) }
        for (key, value) in event.fields { metadata[key] = .string(value.description) }
        logger.log(level: event.level.loggerLevel, "\(event.message)", metadata: metadata)
        let stored = store?.append(event) ?? true
        let (listeners, firstDrop) = shared.state.withLock { state -> ([@Sendable (CaptureEvent) -> Void], Bool) in
            let firstDrop = !stored && !state.storeBehind
            state.storeBehind = !stored
            state.recent.append(event)
            if state.recent.count > capacity { state.recent.removeFirst(state.recent.count - capacity) }
            return (Array(state.listeners.values), firstDrop)
        }
        if firstDrop {
            logger.warning(
                "the event log on disk fell behind; events are dropped from events.jsonl until it catches up",
                metadata: ["events.path": .string(store?.path ?? "")])
        }
        for listener in listeners { listener(event) }
    }

    public func emit(
        _ level: CaptureEvent.Level, _ kind: String, _ message: String, recording: String? = nil,
        _ fields: [String: EventValue] = [:]
    ) {
        emit(CaptureEvent(level: level, kind: kind, message: message, recording: recording, fields: fields))
    }

    /// Returns once every event emitted before the call is in the store's file (at once without a store).
    public func flush() async {
        await store?.flush()
    }

    /// Events the store dropped because its queue was full (0 without a store).
    public var droppedFromStore: Int { store?.dropped ?? 0 }

    /// The events kept in memory, oldest first.
    public var recent: [CaptureEvent] { shared.state.withLock { $0.recent } }

    /// Calls `listener` for every later event until the returned token is passed to `removeListener`.
    public func addListener(_ listener: @escaping @Sendable (CaptureEvent) -> Void) -> Int {
        shared.state.withLock { state in
            state.nextListener += 1
            state.listeners[state.nextListener] = listener
            return state.nextListener
        }
    }

    public func removeListener(_ token: Int) {
        _ = shared.state.withLock { $0.listeners.removeValue(forKey: token) }
    }
}
