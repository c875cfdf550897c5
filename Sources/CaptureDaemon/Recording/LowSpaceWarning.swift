// Warns before the recordings' disk fills: when the time left at the current rate falls under a threshold.
import Synchronization

/// Raises `disk.low_space` when the free space above `[storage] min_free_bytes` would last less than
/// `warningHours` at the rate the running recordings write, and `disk.low_space_ended` once it would
/// last 20 % longer than that again (so it does not flap). Status shows the flag.
public final class LowSpaceWarning: Sendable {
    public let warningHours: Double
    private let events: EventLog
    private let low = Mutex(false)

    public init(warningHours: Double, events: EventLog) {
        self.warningHours = warningHours
        self.events = events
    }

    /// Whether the warning is raised now.
    public var isLow: Bool { low.withLock { $0 } }

    /// Takes a new estimate: seconds left (nil when nothing is recording), free bytes, and the path probed.
    public func update(secondsLeft: Double?, freeBytes: UInt64, path: String) {
        guard warningHours > 0 else { return }
        let threshold = warningHours * 3600
        let change: Bool? = low.withLock { low in
            if !low, let left = secondsLeft, left < threshold {
                low = true
                return true
            }
            if low, secondsLeft.map({ $0 > threshold * 1.2 }) ?? true {
                low = false
                return false
            }
            return nil
        }
        switch change {
        case true?:
            events.emit(
                .warning, "disk.low_space",
                "the recordings' disk fills up soon at the current rate: free space or lower retention",
                [
                    "disk.path": .string(path), "disk.free_bytes": .int(Int64(clamping: freeBytes)),
                    "disk.hours_left": .double(((secondsLeft ?? 0) / 3600 * 10).rounded() / 10),
                    "disk.warning_hours": .double(warningHours),
                ])
        case false?:
            events.emit(
                .notice, "disk.low_space_ended", "enough free space again",
                [
                    "disk.path": .string(path), "disk.free_bytes": .int(Int64(clamping: freeBytes)),
                ])
        case nil:
            break
        }
    }
}
