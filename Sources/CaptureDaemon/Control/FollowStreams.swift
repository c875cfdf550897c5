// The follow streams (`?follow=1`) open on the control socket: at most a few at once, each with a heartbeat.
import Synchronization

/// Hands out at most `maximum` slots for follow streams at once.
final class FollowStreams: Sendable {
    /// Follow streams the control socket serves at once: a few terminals and scripts, well under the
    /// connection limit so one-shot calls always find a connection.
    static let controlMaximum = 16
    /// A follow stream writes at least this often (an empty line when it has nothing to say), so a client
    /// that vanished is noticed within one interval: the write fails and the stream and its connection end.
    static let heartbeat: Duration = .seconds(5)
    /// The heartbeat line. Clients skip empty lines of an NDJSON stream; `jq` and the CLI always have.
    static let heartbeatLine: [UInt8] = [0x0A]

    let maximum: Int
    private let open = Mutex(0)

    init(maximum: Int = FollowStreams.controlMaximum) {
        self.maximum = maximum
    }

    /// Streams open now.
    var count: Int { open.withLock { $0 } }

    /// A slot for one stream, or nil when all `maximum` are taken. The slot is free again after
    /// `release()` or, at the latest, when the slot is deinitialised (a response never written).
    func acquire() -> Slot? {
        let granted = open.withLock { open -> Bool in
            guard open < maximum else { return false }
            open += 1
            return true
        }
        return granted ? Slot(owner: self) : nil
    }

    fileprivate func free() {
        open.withLock { $0 -= 1 }
    }

    /// One stream's claim on a slot.
    final class Slot: Sendable {
        private let owner: FollowStreams
        private let held = Mutex(true)

        fileprivate init(owner: FollowStreams) { self.owner = owner }

        /// Frees the slot; later calls do nothing.
        func release() {
            if held.withLock({ held in
                defer { held = false }
                return held
            }) {
                owner.free()
            }
        }

        deinit { release() }
    }
}
