// Watches the daemon's own progress and tells systemd about it (READY, STATUS, WATCHDOG).
import CaptureCore
import Foundation

/// Decides, every tick, whether the daemon itself is making progress and reports to systemd: `READY=1`
/// once the first audio has arrived (or the source is being restarted), `STATUS=` whenever the summary
/// changes, and `WATCHDOG=1` at half the watchdog interval, only while the daemon is not stuck.
///
/// Stuck means that something the daemon runs stopped advancing, which a restart of the process can
/// fix:
/// - the control loop (this tick is called from it: when it stops, so do the pings);
/// - the capture: ffmpeg is said to run but no audio has arrived for `stuckAfter` seconds, although
///   the supervisor should have restarted it after `stall_seconds` (so the supervisor is not acting);
/// - the level monitor's thread: chunks wait in its queue and it has taken none for `stuckAfter`
///   seconds (it does no blocking I/O, so nothing but a hang explains that).
///
/// Faults the daemon handles are *not* stuck, because restarting the process would only lose the
/// audio of the healthy recordings: a recording blocked by a full disk, low space or write errors, a
/// writer stalled on a slow or dead disk (its queue overflows and the loss is counted and reported), a
/// missing device (the supervisor retries), consumers that drop. They show in the status line, events
/// and metrics instead.
struct HealthMonitor {
    /// What the daemon looks like at one tick.
    struct Observation {
        var phase: CaptureSource.Phase
        /// Monotonic time the last audio arrived; nil before the first.
        var lastAudio: Double?
        /// Chunks the level monitor's thread has taken so far, and how many wait in its queue.
        var levelsTaken: Int64 = 0
        var levelsWaiting: Int = 0
        /// Frames dropped so far by every consumer (for the status line only).
        var drops: Int64 = 0
        var recordings: Int
        /// Recordings blocked by write errors or low space, and recordings whose writer is behind.
        var blocked: Int = 0
        var lastExit: String? = nil
    }

    let notifier: SystemdNotifier
    let stallSeconds: Double
    /// Seconds without progress after which a part counts as stuck.
    let stuckAfter: Double
    /// Whether READY=1 was sent (every source delivered audio or is being restarted).
    private(set) var ready = false
    private var lastStatus = ""
    private var lastPing = -Double.infinity
    /// Per source: since when ffmpeg has been running without audio, and the level monitor's progress.
    private struct Progress {
        var runningSince: Double?
        var levelsTaken: Int64 = 0
        var levelsProgress: Double?
    }
    private var progress: [String: Progress] = [:]

    /// `stallSeconds`: the largest `stall_seconds` of the sources.
    init(notifier: SystemdNotifier, stallSeconds: Double) {
        self.notifier = notifier
        self.stallSeconds = stallSeconds
        // The supervisor restarts a silent ffmpeg after stall_seconds; give it that twice, plus the time
        // to start a new one, before deciding that it is not acting.
        self.stuckAfter = 2 * stallSeconds + 10
    }

    /// One observation of a daemon with one source. Returns whether it is making progress (and so pinged).
    @discardableResult
    mutating func tick(_ observation: Observation, now: Double = SystemClock.monotonic()) -> Bool {
        tick([(SourceConfiguration.defaultName, observation)], now: now)
    }

    /// One observation of every source, by name. Returns whether the daemon is making progress (and so
    /// pinged): no source's capture or level monitor is stuck. Ready once every source has delivered
    /// audio or is being restarted.
    @discardableResult
    mutating func tick(_ sources: [(name: String, observation: Observation)], now: Double = SystemClock.monotonic())
        -> Bool
    {
        var healthy = !sources.isEmpty
        var allStarted = true
        var anyFlowing = false
        var problems: [String] = []
        var waiting: [String] = []
        let several = sources.count > 1
        progress = progress.filter { entry in sources.contains { $0.name == entry.key } }
        for (name, observation) in sources {
            var state = progress[name] ?? Progress()
            let flowing = observation.lastAudio.map { now - $0 <= stallSeconds } ?? false
            let captureStuck: Bool
            if observation.phase == .running {
                let since = max(observation.lastAudio ?? -.infinity, state.runningSince ?? now)
                state.runningSince = state.runningSince ?? now
                captureStuck = now - since > stuckAfter
            } else {
                state.runningSince = nil
                captureStuck = false
            }
            if observation.levelsTaken != state.levelsTaken || observation.levelsWaiting == 0 {
                state.levelsTaken = observation.levelsTaken
                state.levelsProgress = now
            }
            let levelsStuck = now - (state.levelsProgress ?? now) > stuckAfter
            progress[name] = state
            healthy = healthy && observation.phase != .stopped && !captureStuck && !levelsStuck
            anyFlowing = anyFlowing || flowing
            allStarted = allStarted && (flowing || observation.phase == .restarting)
            let label = several ? " of source \(name)" : ""
            if levelsStuck { problems.append("the level monitor\(label) is stuck") }
            if captureStuck { problems.append("the capture\(label) is stuck") }
            if !flowing {
                let prefix = several ? "\(name): " : ""
                waiting.append(
                    observation.phase == .restarting
                        ? prefix + "no audio: ffmpeg is restarting"
                            + (observation.lastExit.map { " (last exit \($0))" } ?? "")
                        : prefix + "waiting for audio")
            }
        }
        var status: String
        let recordings = sources.reduce(0) { $0 + $1.observation.recordings }
        let blocked = sources.reduce(0) { $0 + $1.observation.blocked }
        let drops = sources.reduce(Int64(0)) { $0 + $1.observation.drops }
        if anyFlowing {
            status = "recording: \(recordings) recording\(recordings == 1 ? "" : "s")"
            if blocked > 0 { status += ", \(blocked) blocked (see audiocap status)" }
            if drops > 0 { status += ", \(drops) frames dropped so far" }
            if !waiting.isEmpty { status += "; " + waiting.joined(separator: "; ") }
        } else {
            status = waiting.isEmpty ? "waiting for audio" : waiting.joined(separator: "; ")
        }
        for problem in problems { status += "; " + problem }
        if !ready, allStarted, !sources.isEmpty {
            ready = true
            notifier.notify("READY=1\nSTATUS=\(status)")
            lastStatus = status
        } else if status != lastStatus {
            notifier.notify("STATUS=\(status)")
            lastStatus = status
        }
        if healthy, let interval = notifier.watchdogInterval, now - lastPing >= interval {
            notifier.notify("WATCHDOG=1")
            lastPing = now
        }
        return healthy
    }
}
