// Keeps `levels -f` and `logs -f` going while audiocapd restarts, as `journalctl -f` does.

import CaptureClient
import Foundation
import Synchronization

/// Runs a follow stream again when the daemon goes away and comes back.
enum FollowAcrossRestarts {
    /// What a stream has shown so far, so a resumed stream carries on where the last one ended.
    final class Progress: Sendable {
        private let state = Mutex<(seen: Bool, lastTime: Double?)>((false, nil))

        /// Records that a value arrived, with its time when it has one.
        func saw(time: Double? = nil) {
            state.withLock { state in
                state.seen = true
                if let time { state.lastTime = max(state.lastTime ?? time, time) }
            }
        }

        var seenAny: Bool { state.withLock { $0.seen } }
        var lastTime: Double? { state.withLock { $0.lastTime } }
    }

    /// Runs `stream(client, resumed)` until it returns (the task was cancelled: Ctrl-C).
    ///
    /// When the daemon goes away after the stream was set up (the stream ended or broke, or anything arrived
    /// before the failure), says so on standard error, asks `GET /v1/status` every `poll` until the daemon
    /// answers, says it is back, and runs `stream` again with `resumed` true. A first connection that fails
    /// and every other error are thrown, so a daemon that is not running at all still exits 69.
    static func run(
        socketPath: String, progress: Progress, poll: Duration = .milliseconds(500),
        _ stream: (ControlClient, _ resumed: Bool) async throws -> Void
    ) async throws {
        let client = ControlClient(socketPath: socketPath)
        let probe = ControlClient(socketPath: socketPath, timeout: .seconds(2))
        var resumed = false
        while true {
            do {
                try await stream(client, resumed)
                return
            } catch let error as ClientError {
                guard error.code == .unavailable, resumed || error.lostConnection || progress.seenAny else {
                    throw error
                }
                if Task.isCancelled { return }
                Console.error("audiocapd went away (\(error.message)); waiting for it to come back…")
                while true {
                    try await Task.sleep(for: poll)
                    if let status = try? await probe.status() {
                        Console.error("audiocapd is back (pid \(status.pid)); resuming")
                        break
                    }
                }
                resumed = true
            }
        }
    }
}
