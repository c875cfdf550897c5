// Notices when the wall clock is stepped (NTP correcting it, an operator setting it) and says so.
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Compares the wall clock with the boot clock (`CLOCK_BOOTTIME`, which never jumps and keeps counting
/// through a suspend): their difference stays put while the wall clock runs normally, even while NTP
/// slews it (at most 0.5 ms a second), and jumps when it is stepped. Each step is a `clock.stepped`
/// event. For `holdSeconds` after a step, age-based retention pauses (a step forward would make good
/// files look old), and the writers cut clock-aligned files at the next boundary of the new time.
public final class ClockStepWatch: Sendable {
    private struct State {
        var offset: Double?
        var lastStep: Double?
        var steps = 0
    }
    private let state = Mutex(State())
    private let events: EventLog
    /// The smallest jump that counts as a step.
    public let threshold: Double
    /// How long after a step age-based deletion stays paused.
    public let holdSeconds: Double

    public init(events: EventLog, threshold: Double = 1, holdSeconds: Double = 900) {
        self.events = events
        self.threshold = threshold
        self.holdSeconds = holdSeconds
    }

    /// Seconds since boot, suspend included.
    public static func bootTime() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_BOOTTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// Compares the clocks now (call it every second or so); returns the step in seconds when the wall
    /// clock jumped since the last call, after emitting the event.
    @discardableResult
    func check(wall: Double = SystemClock.wall(), boot: Double = ClockStepWatch.bootTime()) -> Double? {
        let offset = wall - boot
        let step = state.withLock { state -> Double? in
            defer { state.offset = offset }
            guard let previous = state.offset, abs(offset - previous) >= threshold else { return nil }
            state.lastStep = boot
            state.steps += 1
            return offset - previous
        }
        guard let step else { return nil }
        events.emit(
            .warning, "clock.stepped",
            step > 0
                ? "the system clock jumped forward; file times before and after differ by the jump"
                : "the system clock jumped back; file times before and after differ by the jump",
            [
                "clock.step_seconds": .seconds(step),
                "retention.age_paused_seconds": .seconds(holdSeconds),
            ])
        return step
    }

    /// Steps seen since the daemon started.
    public var steps: Int { state.withLock { $0.steps } }

    /// False for `holdSeconds` after a step: deleting by age would trust a clock that just moved.
    public func ageDeletionAllowed(boot: Double = ClockStepWatch.bootTime()) -> Bool {
        state.withLock { state in state.lastStep.map { boot - $0 >= holdSeconds } ?? true }
    }
}
