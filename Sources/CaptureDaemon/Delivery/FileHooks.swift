// The recordings' file hooks: `on_close` after each file closes, `on_upload` after each verified upload,
// each run on a thread of its own, a bounded number at once.
import CaptureCore
import CaptureProtocol
import Foundation
import Logging
import Synchronization

/// Runs each recording's `on_close` program after each of its files closes (event `segment.closed`) and
/// its `on_upload` program after each verified upload (event `upload.done`).
///
/// The argv template's elements are substituted one by one, never through a shell: `{path}`, `{sidecar}`,
/// `{recording}`, `{source}`, `{station}`, `{frames}`, `{start_utc}`, and for `on_upload` also
/// `{destination}` and `{key}`; other text, unknown placeholders included, stays as written.
///
/// The event log's listener only queues the run; a hook never delays a writer or a capture. At most
/// `hook_concurrency` hooks of one recording run at once; the others wait in a queue of ``queueLimit``
/// per recording, past which a hook is skipped (`hook.skipped`). Each run ends in `hook.finished` (exit
/// status 0) or `hook.failed` (another status, a signal, its timeout (`hook.timed_out`), or not started),
/// with the tail of its output.
public final class FileHooks: Sendable {
    /// Hooks of one recording that may wait for a turn; more are skipped.
    public let queueLimit: Int
    public let station: String
    private let recordings: [String: RecordingConfiguration]
    private let events: EventLog
    private let logger: Logger

    /// One run to make.
    struct Job: Sendable {
        var hook: String
        var recording: String
        var argv: [String]
        var timeout: Double
        var segmentPath: String
    }

    private struct State {
        var listener: Int?
        /// Runs per recording now.
        var running: [String: Int] = [:]
        var waiting: [String: [Job]] = [:]
        /// Admitted, not yet started by `run()`.
        var toStart: [Job] = []
        var skipped: [Job] = []
        /// Threads running a hook.
        var active = 0
        var stopping = false
        var allDone: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())
    /// Read by the hooks' threads: the daemon is stopping, kill what runs.
    private let stopping = Atomic(false)
    private let wake: AsyncStream<Void>
    private let wakeContinuation: AsyncStream<Void>.Continuation

    public init(
        recordings: [RecordingConfiguration], station: String, events: EventLog, logger: Logger, queueLimit: Int = 100
    ) {
        self.recordings = Dictionary(
            recordings.filter { !$0.onClose.isEmpty || !$0.onUpload.isEmpty }.map { ($0.name, $0) },
            uniquingKeysWith: { first, _ in first })
        self.station = station
        self.events = events
        self.logger = logger
        self.queueLimit = queueLimit
        (wake, wakeContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Whether any recording has a hook.
    public var isConfigured: Bool { !recordings.isEmpty }

    /// Starts listening to the event log: from here on hooks are queued; ``run()`` starts them.
    public func prepare() {
        guard isConfigured, state.withLock({ $0.listener == nil }) else { return }
        let token = events.addListener { [weak self] event in self?.hand(event) }
        state.withLock { $0.listener = token }
    }

    /// The listener: admits the event's hook, if any; never blocks.
    private func hand(_ event: CaptureEvent) {
        let hook: String
        switch event.kind {
        case "segment.closed": hook = "on_close"
        case "upload.done": hook = "on_upload"
        default: return
        }
        guard let name = event.recording, let recording = recordings[name] else { return }
        let template = hook == "on_close" ? recording.onClose : recording.onUpload
        guard !template.isEmpty else { return }
        let values = Self.values(of: event, recording: recording, station: station)
        let job = Job(
            hook: hook, recording: name, argv: Self.substitute(template, values), timeout: recording.hookTimeoutSeconds,
            segmentPath: values["path"] ?? "")
        state.withLock { state in
            guard !state.stopping else { return }
            if state.running[name, default: 0] < max(1, recording.hookConcurrency) {
                state.running[name, default: 0] += 1
                state.toStart.append(job)
            } else if state.waiting[name, default: []].count < queueLimit {
                state.waiting[name, default: []].append(job)
            } else {
                state.skipped.append(job)
            }
        }
        wakeContinuation.yield()
    }

    /// What the placeholders of a hook stand for, for `event`.
    static func values(of event: CaptureEvent, recording: RecordingConfiguration, station: String) -> [String: String] {
        let path = event.fields["segment.path"]?.description ?? ""
        var values = [
            "path": path,
            "sidecar": path.isEmpty ? "" : SegmentSidecar.path(for: path),
            "recording": recording.name,
            "source": event.source ?? recording.source,
            "station": event.station ?? station,
            "frames": event.fields["segment.frames"]?.description ?? "",
        ]
        if case .string(let utc) = event.fields["segment.start_time_utc"] {
            values["start_utc"] = utc
        } else if case .double(let start) = event.fields["segment.start_time"] {
            values["start_utc"] = WireFormat.utc(start)
        } else {
            values["start_utc"] = ""
        }
        if event.kind == "upload.done" {
            values["destination"] = event.fields["destination"]?.description ?? ""
            values["key"] = event.fields["upload.key"]?.description ?? ""
        }
        return values
    }

    /// `template` with each `{name}` in `values` replaced, element by element, in one pass (a value that
    /// contains braces is not substituted again); other text stays.
    static func substitute(_ template: [String], _ values: [String: String]) -> [String] {
        template.map { element in
            var result = ""
            var rest = element[...]
            while let open = rest.firstIndex(of: "{") {
                result += rest[..<open]
                guard let close = rest[open...].firstIndex(of: "}") else { break }
                let name = String(rest[rest.index(after: open)..<close])
                if let value = values[name] {
                    result += value
                    rest = rest[rest.index(after: close)...]
                } else {
                    result += "{"
                    rest = rest[rest.index(after: open)...]
                }
            }
            return result + rest
        }
    }

    /// Starts the admitted hooks until cancelled; then stops taking new ones, kills those still running
    /// (SIGTERM, then SIGKILL after ``HookCommand/killGraceSeconds``) and returns once every one is reaped.
    public func run() async {
        guard isConfigured else { return }
        prepare()
        wakeContinuation.yield()
        for await _ in wake {
            startAdmitted()
        }
        // Cancelled: nothing new starts, running hooks are told to end.
        stopping.store(true, ordering: .relaxed)
        let listener = state.withLock { state -> Int? in
            state.stopping = true
            state.waiting.removeAll()
            state.toStart.removeAll()
            return state.listener
        }
        if let listener { events.removeListener(listener) }
        await withCheckedContinuation { continuation in
            let done = state.withLock { state -> Bool in
                guard state.active > 0 else { return true }
                state.allDone = continuation
                return false
            }
            if done { continuation.resume() }
        }
    }

    private func startAdmitted() {
        let (jobs, skipped) = state.withLock { state -> ([Job], [Job]) in
            defer {
                state.toStart.removeAll()
                state.skipped.removeAll()
            }
            state.active += state.toStart.count
            return (state.toStart, state.skipped)
        }
        for job in skipped {
            events.emit(
                .warning, "hook.skipped", "too many hooks of this recording are waiting; this one is skipped",
                recording: job.recording,
                [
                    "hook": .string(job.hook), "hook.program": .string(job.argv.first ?? ""),
                    "segment.path": .string(job.segmentPath), "hook.queue_limit": .int(Int64(queueLimit)),
                ])
        }
        for job in jobs {
            DedicatedThread.start(name: "ac-hook") { [self] in execute(job) }
        }
    }

    /// On a hook's own thread: runs it, reports it, and hands its turn to the next waiting hook.
    private func execute(_ job: Job) {
        let result = HookCommand.run(job.argv, timeout: job.timeout) { [self] in
            stopping.load(ordering: .relaxed)
        }
        report(job, result)
        let resume = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.active -= 1
            if !state.stopping, var waiting = state.waiting[job.recording], !waiting.isEmpty {
                state.toStart.append(waiting.removeFirst())
                state.waiting[job.recording] = waiting
            } else {
                state.running[job.recording, default: 1] -= 1
            }
            guard state.active == 0, let done = state.allDone else { return nil }
            state.allDone = nil
            return done
        }
        wakeContinuation.yield()
        resume?.resume()
    }

    private func report(_ job: Job, _ result: HookResult) {
        var fields: [String: EventValue] = [
            "hook": .string(job.hook), "hook.program": .string(job.argv.first ?? ""),
            "hook.seconds": .seconds(result.seconds), "hook.output": .string(result.output),
            "segment.path": .string(job.segmentPath),
        ]
        switch result.ending {
        case .exited(0):
            fields["hook.exit_status"] = .int(0)
            events.emit(.info, "hook.finished", "a hook finished", recording: job.recording, fields)
            return
        case .exited(let status):
            fields["hook.exit_status"] = .int(Int64(status))
            fields["error"] = .string("the hook exited with status \(status); see hook.output")
        case .signaled(let signal):
            fields["hook.signal"] = .int(Int64(signal))
            fields["error"] = .string("the hook was ended by signal \(signal); see hook.output")
        case .timedOut:
            fields["hook.timed_out"] = .bool(true)
            fields["error"] = .string(
                "the hook ran longer than hook_timeout_seconds (\(WireFormat.number(job.timeout)) s) and was killed;"
                    + " make it faster or raise hook_timeout_seconds")
        case .stopped:
            fields["hook.stopped"] = .bool(true)
            fields["error"] = .string("the daemon stopped while the hook ran; it was killed")
        case .notStarted(let reason):
            fields["error"] = .string(reason + "; check the program's path and that it is executable")
        }
        events.emit(.warning, "hook.failed", "a hook failed", recording: job.recording, fields)
    }
}
