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
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
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
        // No audio yet: a status, not ready.
        let idle = health.tick(phase: .running, lastAudio: nil, drops: 0, recordings: 1, blocked: 0, lastExit: nil, now: 100)
        #expect(!idle)
        #expect(listener.drain() == ["STATUS=waiting for audio"])
        // Audio flows: READY with a status, and a watchdog ping.
        let flowing = health.tick(phase: .running, lastAudio: 100, drops: 0, recordings: 1, blocked: 0, lastExit: nil, now: 100.5)
        #expect(flowing)
        let first = listener.drain()
        #expect(first.first == "READY=1\nSTATUS=recording: 1 recording")
        #expect(first.contains("WATCHDOG=1"))
        // Same state within the interval: nothing.
        health.tick(phase: .running, lastAudio: 100.6, drops: 0, recordings: 1, blocked: 0, lastExit: nil, now: 100.7)
        #expect(listener.drain().isEmpty)
        // Drops: unhealthy, no ping, and the status says so.
        let dropping = health.tick(phase: .running, lastAudio: 101.9, drops: 4800, recordings: 1, blocked: 0, lastExit: nil, now: 102)
        #expect(!dropping)
        #expect(listener.drain() == ["STATUS=recording: 1 recording, 4800 frames dropped so far"])
        // ffmpeg runs but delivers nothing: no ping.
        let stalled = health.tick(phase: .running, lastAudio: 102, drops: 4800, recordings: 1, blocked: 0, lastExit: nil, now: 110)
        #expect(!stalled)
        #expect(listener.drain() == ["STATUS=waiting for audio"])
        // The supervisor is restarting ffmpeg (e.g. the device is unplugged): still alive, so pings go on.
        let restarting = health.tick(phase: .restarting, lastAudio: 102, drops: 4800, recordings: 1, blocked: 0, lastExit: "exited(1)", now: 112)
        #expect(restarting)
        #expect(listener.drain() == ["STATUS=no audio: ffmpeg is restarting (last exit exited(1))", "WATCHDOG=1"])
    }

    @Test func abstractSocketNamesAndNoSocket() {
        #expect(!SystemdNotifier(environment: [:]).notify("READY=1"))
        #expect(SystemdNotifier(environment: [:]).watchdogInterval == nil)
    }
}
