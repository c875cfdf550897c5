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
    private var ready = false
    private var lastStatus = ""
    private var lastPing = -Double.infinity
    /// Since when ffmpeg has been running without any audio (nil: audio arrived, or not running).
    private var runningSince: Double?
    private var levelsTaken: Int64 = 0
    private var levelsProgress: Double?

    init(notifier: SystemdNotifier, stallSeconds: Double) {
        self.notifier = notifier
        self.stallSeconds = stallSeconds
        // The supervisor restarts a silent ffmpeg after stall_seconds; give it that twice, plus the time
        // to start a new one, before deciding that it is not acting.
        self.stuckAfter = 2 * stallSeconds + 10
    }

    /// One observation of the daemon. Returns whether the daemon is making progress (and so pinged).
    @discardableResult
    mutating func tick(_ observation: Observation, now: Double = SystemClock.monotonic()) -> Bool {
        let flowing = observation.lastAudio.map { now - $0 <= stallSeconds } ?? false
        let captureStuck: Bool
        if observation.phase == .running {
            let since = max(observation.lastAudio ?? -.infinity, runningSince ?? now)
            runningSince = runningSince ?? now
            captureStuck = now - since > stuckAfter
        } else {
            runningSince = nil
            captureStuck = false
        }
        if observation.levelsTaken != levelsTaken || observation.levelsWaiting == 0 {
            levelsTaken = observation.levelsTaken
            levelsProgress = now
        }
        let levelsStuck = now - (levelsProgress ?? now) > stuckAfter
        let healthy = observation.phase != .stopped && !captureStuck && !levelsStuck

        var status: String
        let recordings = observation.recordings
        if flowing {
            status = "recording: \(recordings) recording\(recordings == 1 ? "" : "s")"
            if observation.blocked > 0 { status += ", \(observation.blocked) blocked (see audiocap status)" }
            if observation.drops > 0 { status += ", \(observation.drops) frames dropped so far" }
        } else if observation.phase == .restarting {
            status = "no audio: ffmpeg is restarting" + (observation.lastExit.map { " (last exit \($0))" } ?? "")
        } else {
            status = "waiting for audio"
        }
        if levelsStuck { status += "; the level monitor is stuck" }
        if captureStuck { status += "; the capture is stuck" }
        if !ready, flowing || observation.phase == .restarting {
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
