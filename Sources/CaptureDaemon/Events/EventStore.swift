// The append-only event log on disk: JSON lines under [storage] state, rotated by size.
import CaptureProtocol
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Appends events to `DIR/events.jsonl`, one JSON object per line (the API's ``EventResponse``, the same
/// bytes `GET /v1/events` sends; docs/event.schema.json), and rotates the file when it passes
/// `maximumBytes` (`events.jsonl.1` … `.N`, oldest dropped). Reads the newest events back at start-up so
/// they survive a restart.
///
/// `append` never waits on the disk: it puts the event in a bounded queue that one thread of the store's
/// own (`ac-events`) writes out in order. When the queue is full the event is dropped and counted, and the
/// file gets an `events.dropped` line where the loss happened. Write errors are counted, never thrown:
/// the event log must not stop capture. ``flush()`` waits until everything appended before it is written.
public final class EventStore: Sendable {
    public let directory: String
    public let maximumBytes: Int
    public let keptFiles: Int
    /// Events that may wait for the writer thread; more are dropped.
    public let capacity: Int
    private let writer: Writer

    /// `beforeWrite` runs on the writer thread before each line is written (tests stall the disk with it).
    init(
        directory: String, maximumBytes: Int = 16 << 20, keptFiles: Int = 4, capacity: Int = 4096,
        beforeWrite: (@Sendable () -> Void)?
    ) {
        precondition(capacity > 0)
        self.directory = directory
        self.maximumBytes = maximumBytes
        self.keptFiles = keptFiles
        self.capacity = capacity
        let writer = Writer(
            path: directory + "/events.jsonl", directory: directory, maximumBytes: maximumBytes, keptFiles: keptFiles,
            capacity: capacity, beforeWrite: beforeWrite)
        self.writer = writer
        DedicatedThread.start(name: "ac-events") { writer.run() }
    }

    public convenience init(directory: String, maximumBytes: Int = 16 << 20, keptFiles: Int = 4, capacity: Int = 4096) {
        self.init(
            directory: directory, maximumBytes: maximumBytes, keptFiles: keptFiles, capacity: capacity, beforeWrite: nil
        )
    }

    /// The writer thread writes what is queued, closes the file and ends.
    deinit {
        writer.finish()
    }

    public var path: String { directory + "/events.jsonl" }

    /// Write failures so far (disk full, permissions).
    public var failures: Int { writer.failures.load(ordering: .relaxed) }

    /// Events dropped so far because the queue was full.
    public var dropped: Int { writer.dropped.load(ordering: .relaxed) }

    /// Queues one event for writing; false when the queue is full and the event was dropped. Any thread;
    /// never waits on the disk.
    @discardableResult
    public func append(_ event: CaptureEvent) -> Bool {
        writer.enqueue(event)
    }

    /// Returns once every event appended before the call is written (or has failed to be).
    public func flush() async {
        await withCheckedContinuation { continuation in
            writer.barrier { continuation.resume() }
        }
    }

    /// The newest `limit` events on disk (current file, then rotated ones as needed), oldest first.
    public func load(limit: Int) -> [CaptureEvent] {
        var events: [CaptureEvent] = []
        let decoder = ControlAPI.decoder()
        for index in 0...keptFiles {
            let file = index == 0 ? path : "\(path).\(index)"
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            let lines = data.split(separator: 0x0A)
            var batch: [CaptureEvent] = []
            for line in lines.suffix(limit - events.count) {
                if let record = try? decoder.decode(EventResponse.self, from: Data(line)),
                    let event = CaptureEvent(record)
                {
                    batch.append(event)
                }
            }
            events = batch + events
            if events.count >= limit { break }
        }
        return events
    }
}

extension EventStore {
    /// The queue and the thread that drains it. The file descriptor and size live on that thread only.
    private final class Writer: Sendable {
        enum Entry: Sendable {
            case event(CaptureEvent)
            /// Events dropped at this point of the stream.
            case dropped(Int)
            /// Runs when everything before it has been written.
            case barrier(@Sendable () -> Void)
        }
        private struct Queue {
            var entries: [Entry] = []
            var head = 0
            var events = 0
            var finishing = false
        }
        let path: String
        let directory: String
        let maximumBytes: Int
        let keptFiles: Int
        let capacity: Int
        let beforeWrite: (@Sendable () -> Void)?
        let failures = Atomic<Int>(0)
        let dropped = Atomic<Int>(0)
        private let queue = Mutex(Queue())
        // Mutex has no condition variable: a semaphore counts the wake-ups, as in ChunkChannel. Extra
        // wake-ups find the queue empty and wait again.
        private let wake = DispatchSemaphore(value: 0)

        init(
            path: String, directory: String, maximumBytes: Int, keptFiles: Int, capacity: Int,
            beforeWrite: (@Sendable () -> Void)?
        ) {
            self.path = path
            self.directory = directory
            self.maximumBytes = maximumBytes
            self.keptFiles = keptFiles
            self.capacity = capacity
            self.beforeWrite = beforeWrite
        }

        func enqueue(_ event: CaptureEvent) -> Bool {
            let queued = queue.withLock { queue -> Bool in
                if queue.events < capacity {
                    queue.entries.append(.event(event))
                    queue.events += 1
                    return true
                }
                // Full: one marker at the tail counts the run of dropped events.
                if case .dropped(let count) = queue.entries.last {
                    queue.entries[queue.entries.count - 1] = .dropped(count + 1)
                } else {
                    queue.entries.append(.dropped(1))
                }
                return false
            }
            if queued { wake.signal() } else { dropped.add(1, ordering: .relaxed) }
            return queued
        }

        func barrier(_ done: @escaping @Sendable () -> Void) {
            let queued = queue.withLock { queue -> Bool in
                guard !queue.finishing else { return false }
                queue.entries.append(.barrier(done))
                return true
            }
            if queued { wake.signal() } else { done() }
        }

        func finish() {
            queue.withLock { $0.finishing = true }
            wake.signal()
        }

        /// The writer thread: writes entries in order until finished and drained.
        func run() {
            var file = File()
            while true {
                wake.wait()
                while true {
                    let (entry, finished) = queue.withLock { queue -> (Entry?, Bool) in
                        guard queue.head < queue.entries.count else {
                            queue.entries.removeAll(keepingCapacity: true)
                            queue.head = 0
                            return (nil, queue.finishing)
                        }
                        let entry = queue.entries[queue.head]
                        queue.head += 1
                        if case .event = entry { queue.events -= 1 }
                        if queue.head > 64, queue.head * 2 > queue.entries.count {
                            queue.entries.removeFirst(queue.head)
                            queue.head = 0
                        }
                        return (entry, false)
                    }
                    guard let entry else {
                        if finished {
                            if file.fd >= 0 { close(file.fd) }
                            return
                        }
                        break
                    }
                    switch entry {
                    case .event(let event):
                        write(event, to: &file)
                    case .dropped(let count):
                        write(
                            CaptureEvent(
                                level: .warning, kind: "events.dropped",
                                message: "events were dropped because the event log on disk fell behind",
                                fields: ["events.dropped": .int(Int64(count))]),
                            to: &file)
                    case .barrier(let done):
                        done()
                    }
                }
            }
        }

        private struct File {
            var fd: Int32 = -1
            var size = 0
        }

        private func write(_ event: CaptureEvent, to file: inout File) {
            guard var line = try? ControlAPI.encoder().encode(event.response) else { return }
            line.append(0x0A)
            beforeWrite?()
            if file.fd < 0 { open(&file) }
            if file.fd >= 0, file.size + line.count > maximumBytes {
                rotate(&file)
            }
            guard file.fd >= 0 else {
                failures.add(1, ordering: .relaxed)
                return
            }
            let written = line.withUnsafeBytes { Glibc.write(file.fd, $0.baseAddress, $0.count) }
            if written == line.count {
                file.size += written
            } else {
                failures.add(1, ordering: .relaxed)
            }
        }

        private func open(_ file: inout File) {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            file.fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
            if file.fd >= 0 {
                var info = stat()
                file.size = fstat(file.fd, &info) == 0 ? Int(info.st_size) : 0
            }
        }

        private func rotate(_ file: inout File) {
            close(file.fd)
            file.fd = -1
            for index in stride(from: keptFiles, through: 1, by: -1) {
                let from = index == 1 ? path : "\(path).\(index - 1)"
                _ = rename(from, "\(path).\(index)")
            }
            open(&file)
        }
    }
}
