// The append-only event log on disk: JSON lines under [storage] state, rotated by size.
import CaptureProtocol
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Appends events to `DIR/events.jsonl`, one JSON object per line (the API's ``EventResponse``, the same
/// bytes `GET /v1/events` sends; docs/event.schema.json), and rotates the file when it passes
/// `maximumBytes` (`events.jsonl.1` … `.N`, oldest dropped). Reads the newest events back at start-up so
/// they survive a restart. Write errors are counted, never thrown: the event log must not stop capture.
public final class EventStore: Sendable {
    public let directory: String
    public let maximumBytes: Int
    public let keptFiles: Int
    private struct State {
        var fd: Int32 = -1
        var size = 0
        var failures = 0
    }
    private let state = Mutex(State())

    public init(directory: String, maximumBytes: Int = 16 << 20, keptFiles: Int = 4) {
        self.directory = directory
        self.maximumBytes = maximumBytes
        self.keptFiles = keptFiles
    }

    deinit {
        state.withLock { if $0.fd >= 0 { close($0.fd) } }
    }

    public var path: String { directory + "/events.jsonl" }

    /// Write failures so far (disk full, permissions).
    public var failures: Int { state.withLock { $0.failures } }

    /// Appends one event. Any thread.
    public func append(_ event: CaptureEvent) {
        guard var line = try? ControlAPI.encoder().encode(event.response) else { return }
        line.append(0x0A)
        state.withLock { state in
            if state.fd < 0 { open(&state) }
            if state.fd >= 0, state.size + line.count > maximumBytes {
                rotate(&state)
            }
            guard state.fd >= 0 else {
                state.failures += 1
                return
            }
            let written = line.withUnsafeBytes { write(state.fd, $0.baseAddress, $0.count) }
            if written == line.count {
                state.size += written
            } else {
                state.failures += 1
            }
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
                if let record = try? decoder.decode(EventResponse.self, from: Data(line)), let event = CaptureEvent(record) {
                    batch.append(event)
                }
            }
            events = batch + events
            if events.count >= limit { break }
        }
        return events
    }

    private func open(_ state: inout State) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        state.fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        if state.fd >= 0 {
            var info = stat()
            state.size = fstat(state.fd, &info) == 0 ? Int(info.st_size) : 0
        }
    }

    private func rotate(_ state: inout State) {
        close(state.fd)
        state.fd = -1
        for index in stride(from: keptFiles, through: 1, by: -1) {
            let from = index == 1 ? path : "\(path).\(index - 1)"
            _ = rename(from, "\(path).\(index)")
        }
        open(&state)
    }
}
