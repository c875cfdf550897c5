// Warns when the system clock is not synchronised: file names and times would be wrong.
import CSystemShims
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Asks the kernel whether an NTP client (systemd-timesyncd, chrony, ntpd) keeps the clock synchronised,
/// and raises `clock.unsynchronized` when it does not (a Raspberry Pi without a real-time clock starts in
/// the past until the network is up), `clock.synchronized` when it becomes so. Status shows the state.
public final class ClockCheck: Sendable {
    private let events: EventLog
    private let state = Mutex<Bool?>(nil)
    private let probe: @Sendable () -> Int32

    public init(events: EventLog, probe: @escaping @Sendable () -> Int32 = ClockCheck.kernelOrTimesyncd) {
        self.events = events
        self.probe = probe
    }

    /// The kernel's answer (`adjtimex`), or, where the service may not ask (systemd's `ProtectClock=`
    /// forbids even reading it), whether systemd-timesyncd has marked the clock synchronised
    /// (`/run/systemd/timesync/synchronized`); -1 when neither can tell.
    public static let kernelOrTimesyncd: @Sendable () -> Int32 = {
        let kernel = audiocap_clock_synchronized()
        if kernel >= 0 { return kernel }
        return access("/run/systemd/timesync/synchronized", F_OK) == 0 ? 1 : -1
    }

    /// True or false once checked; nil when the kernel cannot say.
    public var isSynchronized: Bool? { state.withLock { $0 } }

    /// Checks again; an event marks each change (and an unsynchronised clock at the first check).
    public func check() {
        let answer = probe()
        let now: Bool? = answer < 0 ? nil : answer == 1
        let before = state.withLock { state -> Bool? in
            defer { state = now }
            return state
        }
        guard let now, now != before else { return }
        if !now {
            events.emit(
                .warning, "clock.unsynchronized",
                "the system clock is not synchronised: file names and times may be wrong; enable systemd-timesyncd or chrony",
                [:])
        } else if before == false {
            events.emit(.notice, "clock.synchronized", "the system clock is synchronised now", [:])
        }
    }
}
