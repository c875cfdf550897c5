// Watches the pipeline's health and tells systemd about it (READY, STATUS, WATCHDOG).
import CaptureCore
import Foundation

/// Decides, every tick, whether the pipeline is healthy and reports to systemd: `READY=1` once the first
/// audio has arrived (or the source is definitely unavailable), `STATUS=` whenever the summary changes,
/// and `WATCHDOG=1` at half the watchdog interval, only while healthy.
///
/// Healthy means: while ffmpeg runs, audio arrived within `stall_seconds` and no consumer dropped audio
/// since the last tick; while ffmpeg is starting or being restarted, the supervisor is at work and is
/// healthy too. Restarting the whole daemon cannot bring back an unplugged microphone, so that case must
/// not starve the watchdog (systemd would kill the daemon in a loop); a running ffmpeg that delivers
/// nothing, or consumers that keep dropping, do.
struct HealthMonitor {
    let notifier: SystemdNotifier
    let stallSeconds: Double
    private var ready = false
    private var lastStatus = ""
    private var lastPing = 0.0
    private var lastDrops: Int64 = 0

    init(notifier: SystemdNotifier, stallSeconds: Double) {
        self.notifier = notifier
        self.stallSeconds = stallSeconds
    }

    /// One observation of the daemon. Returns whether the pipeline is healthy.
    @discardableResult
    mutating func tick(
        phase: CaptureSource.Phase, lastAudio: Double?, drops: Int64, recordings: Int, blocked: Int,
        lastExit: String?, now: Double = SystemClock.monotonic()
    ) -> Bool {
        let flowing = lastAudio.map { now - $0 <= stallSeconds } ?? false
        let keepingUp = drops == lastDrops
        lastDrops = drops
        let healthy = phase == .running ? flowing && keepingUp : phase != .stopped
        var status: String
        if flowing {
            status = "recording: \(recordings) recording\(recordings == 1 ? "" : "s")"
            if blocked > 0 { status += ", \(blocked) blocked (write errors)" }
            if drops > 0 { status += ", \(drops) frames dropped so far" }
        } else if phase == .restarting {
            status = "no audio: ffmpeg is restarting" + (lastExit.map { " (last exit \($0))" } ?? "")
        } else {
            status = "waiting for audio"
        }
        if !ready, flowing || phase == .restarting {
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
