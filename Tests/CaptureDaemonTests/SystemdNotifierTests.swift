import Foundation
import Testing
@testable import CaptureDaemon

#if canImport(Glibc)
    import Glibc
#endif

/// A datagram socket standing in for systemd's notify socket.
final class NotifyListener {
    let path: String
    let fd: Int32

    init() {
        path = "/tmp/audiocap-notify-\(UUID().uuidString.prefix(8)).sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// Messages received so far (waits up to 200 ms for each).
    func drain() -> [String] {
        var messages: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            messages.append(String(decoding: buffer[..<n], as: UTF8.self))
        }
        return messages
    }
}

@Suite struct SystemdNotifierTests {
    @Test func readyOnFirstAudioStatusOnChangeWatchdogOnlyWhileHealthy() {
        let listener = NotifyListener()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "2000000"])
        #expect(notifier.watchdogInterval == 1)
        var health = HealthMonitor(notifier: notifier, stallSeconds: 5)
        #expect(health.stuckAfter == 20)
        func observe(
            _ phase: CaptureSource.Phase = .running, audio: Double?, drops: Int64 = 0, blocked: Int = 0,
            taken: Int64 = 0, waiting: Int = 0, exit: String? = nil, at now: Double
        ) -> Bool {
            health.tick(
                HealthMonitor.Observation(
                    phase: phase, lastAudio: audio, levelsTaken: taken, levelsWaiting: waiting, drops: drops,
                    recordings: 1, blocked: blocked, lastExit: exit), now: now)
        }
        // No audio yet: a status, not ready; ffmpeg has only just started, so not stuck either.
        #expect(observe(audio: nil, at: 100))
        #expect(listener.drain() == ["STATUS=waiting for audio", "WATCHDOG=1"])
        // Audio flows: READY with a status, and a watchdog ping.
        #expect(observe(audio: 101, at: 101.5))
        let first = listener.drain()
        #expect(first.first == "READY=1\nSTATUS=recording: 1 recording")
        #expect(first.contains("WATCHDOG=1"))
        // Same state within the interval: nothing.
        #expect(observe(audio: 101.6, at: 101.7))
        #expect(listener.drain().isEmpty)
        // Drops and a blocked recording (disk full): reported, but the daemon is handling them, so the
        // pings go on (a restart would only lose the healthy recordings' audio).
        #expect(observe(audio: 102.9, drops: 4800, blocked: 1, taken: 5, at: 103))
        #expect(
            listener.drain() == [
                "STATUS=recording: 1 recording, 1 blocked (see audiocap status), 4800 frames dropped so far",
                "WATCHDOG=1",
            ])
        // ffmpeg runs but delivers nothing: the supervisor restarts it after stall_seconds, so it is not
        // stuck yet...
        #expect(observe(audio: 103, drops: 4800, taken: 5, at: 110))
        #expect(listener.drain() == ["STATUS=waiting for audio", "WATCHDOG=1"])
        // ...but when the supervisor does not act for stuckAfter seconds, the pings stop.
        #expect(!observe(audio: 103, drops: 4800, taken: 5, at: 124))
        #expect(listener.drain() == ["STATUS=waiting for audio; the capture is stuck"])
        // The supervisor is restarting ffmpeg (e.g. the device is unplugged): still alive, so pings go on.
        #expect(observe(.restarting, audio: 103, drops: 4800, taken: 5, exit: "exited(1)", at: 126))
        #expect(listener.drain() == ["STATUS=no audio: ffmpeg is restarting (last exit exited(1))", "WATCHDOG=1"])
    }

    @Test func aLevelMonitorThatTakesNothingWhileChunksWaitIsStuck() {
        let listener = NotifyListener()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "2000000"])
        var health = HealthMonitor(notifier: notifier, stallSeconds: 5)
        func observe(taken: Int64, waiting: Int, at now: Double) -> Bool {
            health.tick(
                HealthMonitor.Observation(
                    phase: .running, lastAudio: now, levelsTaken: taken, levelsWaiting: waiting, recordings: 1),
                now: now)
        }
        #expect(observe(taken: 10, waiting: 0, at: 100))
        // Idle with an empty queue for a long time: fine.
        #expect(observe(taken: 10, waiting: 0, at: 200))
        // Chunks wait, the thread takes some: fine.
        #expect(observe(taken: 10, waiting: 3, at: 210))
        #expect(observe(taken: 12, waiting: 3, at: 225))
        // Chunks wait and nothing is taken for more than stuckAfter: stuck.
        #expect(observe(taken: 12, waiting: 40, at: 240))
        #expect(!observe(taken: 12, waiting: 80, at: 246))
        #expect(listener.drain().last == "STATUS=recording: 1 recording; the level monitor is stuck")
    }

    @Test func withSeveralSourcesOneDownSourceIsNamedAndOnlyAStuckOneStopsThePings() {
        let listener = NotifyListener()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.path, "WATCHDOG_USEC": "2000000"])
        var health = HealthMonitor(notifier: notifier, stallSeconds: 5)
        func observe(
            _ cameraPhase: CaptureSource.Phase, cameraAudio: Double?, exit: String? = nil, at now: Double
        ) -> Bool {
            health.tick(
                [
                    ("mic", HealthMonitor.Observation(phase: .running, lastAudio: now, recordings: 2)),
                    (
                        "camera",
                        HealthMonitor.Observation(
                            phase: cameraPhase, lastAudio: cameraAudio, recordings: 1, lastExit: exit)
                    ),
                ], now: now)
        }
        // One source flows, the other has not delivered yet: not ready, and the status says which waits.
        #expect(observe(.running, cameraAudio: nil, at: 100))
        #expect(listener.drain() == ["STATUS=recording: 3 recordings; camera: waiting for audio", "WATCHDOG=1"])
        // Both flow: ready.
        #expect(observe(.running, cameraAudio: 101, at: 101))
        #expect(listener.drain().first == "READY=1\nSTATUS=recording: 3 recordings")
        // The camera's stream is down and its supervisor retries: named, and the pings go on (the mic's
        // recordings are healthy; a restart of the daemon would only lose their audio).
        #expect(observe(.restarting, cameraAudio: 101, exit: "exited(1)", at: 110))
        #expect(
            listener.drain() == [
                "STATUS=recording: 3 recordings; camera: no audio: ffmpeg is restarting (last exit exited(1))",
                "WATCHDOG=1",
            ])
        // The camera's ffmpeg "runs" without audio and its supervisor does nothing for stuckAfter: stuck.
        #expect(observe(.running, cameraAudio: 101, at: 111))
        #expect(!observe(.running, cameraAudio: 101, at: 132))
        #expect(
            listener.drain().last
                == "STATUS=recording: 3 recordings; camera: waiting for audio; the capture of source camera is stuck")
    }

    @Test func abstractSocketNamesAndNoSocket() {
        #expect(!SystemdNotifier(environment: [:]).notify("READY=1"))
        #expect(SystemdNotifier(environment: [:]).watchdogInterval == nil)
    }
}
